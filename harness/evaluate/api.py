"""`evaluate(checkpoints, tasks, ...)`: fill the store with one record per (checkpoint, task), computing only what
is missing, and return the records.

Order of work: validate every checkpoint and task first (bad input fails before any engine starts), drop what the
store already has (cache hits) and what belongs to other shards, then run checkpoints grouped by engine group so a
vLLM engine starts once per architecture. Each (checkpoint, task) is claimed in the store before it runs; items
another live worker holds are waited for at the end (and taken over if that worker dies).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import __version__ as HARNESS_VERSION
from harness.evaluate import lm_eval_output
from harness.evaluate import record as records
from harness.evaluate import sampling as presets
from harness.evaluate.backends import Backend, check_backend, make_backend
from harness.evaluate.checkpoint import Checkpoint
from harness.evaluate.engine import EngineSettings, lora_rank_bound
from harness.evaluate.tasks import TaskCatalog, TaskInfo, configure
from harness.store import Store, record_key
from profit_core.errors import UserError
from profit_core.formats import train_log
from profit_core.offline import go_offline

log = logging.getLogger("profit.eval")

__all__ = ["evaluate", "plan", "parse_shard", "check_limit"]

WAIT_POLL_S = 2.0


@dataclass
class WorkItem:
    ckpt: Checkpoint
    info: TaskInfo
    sampling: dict
    key: str

    @property
    def shard_hash(self) -> int:
        """Stable across machines and runs: depends only on the model content and the task name."""
        return int(hashlib.sha256(f"{self.ckpt.content_hash}:{self.info.name}".encode()).hexdigest()[:16], 16)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'i/N' with 0 <= i < N."""
    if text is None:
        return None
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise UserError(f"shard must look like i/N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise UserError(f"shard {text!r}: need 0 <= i < N")
    return i, n


def check_limit(limit, where: str = "limit") -> int | float | None:
    """None (every doc), a whole number of docs >= 1, or a fraction in (0, 1); anything else is refused."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise UserError(f"{where} must be a number of docs or a fraction in (0, 1), got {limit!r}")
    if 0 < limit < 1:
        return float(limit)
    if limit >= 1 and float(limit).is_integer():
        return int(limit)
    raise UserError(f"{where} must be a whole number of docs >= 1 or a fraction in (0, 1), got {limit!r}")


def plan(checkpoints: Sequence[str | Path], tasks: Sequence[str], *, sampling: str = "greedy", seed: int = 1234,
         limit: int | float | None = None, shard: str | tuple[int, int] | None = None,
         include_paths: Sequence[str | Path] = (), max_gen_toks: int | None = None, repeats: int | None = None,
         apply_chat_template: bool = True, task_settings: dict[str, dict] | None = None,
         engine: EngineSettings | None = None, base: str | Path | None = None) -> tuple[list[WorkItem], TaskCatalog]:
    """The work list of this shard, validated; nothing is run.

    checkpoints: model folders, hub ids (`org/name`, see profit_core/hub.py) or PEFT adapter folders; `base` is
    the base model of the adapters among them (default: each adapter's own base_model_name_or_path).
    task_settings: per requested task or group name, `limit` / `max_gen_toks` overriding the call-wide values, so
    one call (one engine start) can score a full task and a small slice of another.
    engine: the engine settings (their length bound and prompt allowance). A task whose generation limit does not
    fit a model (AIME'24's 32,768 new tokens on a 4,096-position model) is cut to what fits, and the record says so
    in `sampling.max_gen_toks_cut` (part of its key, so a cut run never passes for the full one).
    """
    engine = engine or EngineSettings()
    if not checkpoints:
        raise UserError("no checkpoint to evaluate; give at least one model folder")
    if not tasks:
        raise UserError("no task to run; name at least one (e.g. --tasks profit_paper5)")
    limit = check_limit(limit)
    task_settings = task_settings or {}
    for name, own in task_settings.items():
        check_limit(own.get("limit"), f"limit of {name}")
    ckpts = [Checkpoint.open(p, base=base) for p in checkpoints]
    if base is not None and not any(c.is_adapter for c in ckpts):
        raise UserError(f"--base {base}: none of the checkpoints is a PEFT adapter folder (adapter_config.json), "
                        "so there is nothing to apply to a base model")
    catalog = TaskCatalog(list(include_paths))
    unknown = sorted(set(task_settings) - set(tasks))
    if unknown:
        raise UserError(f"task_settings name tasks that are not requested: {', '.join(unknown)}")
    infos: dict[str, tuple[TaskInfo, dict]] = {}
    for requested in tasks:
        for name in catalog.expand([requested]):
            infos.setdefault(name, (catalog.info(name), task_settings.get(requested, {})))
    shard = parse_shard(shard) if isinstance(shard, str) or shard is None else shard
    items = []
    for ckpt in ckpts:
        for info, own in infos.values():
            s = presets.resolve(sampling, task_repeats=info.repeats, task_max_gen_toks=info.max_gen_toks,
                                max_gen_toks=own.get("max_gen_toks", max_gen_toks), repeats=repeats,
                                apply_chat_template=apply_chat_template)
            # `limit` is part of the sampling description: a 10-doc smoke run must never pass for the full task.
            s["limit"] = own.get("limit", limit)
            room = engine.generation_room(ckpt.max_positions)
            if room is not None and s["max_gen_toks"] > room:
                s["max_gen_toks_cut"] = {"requested": s["max_gen_toks"],
                                         "engine_tokens": engine.length_limit(ckpt.max_positions),
                                         "prompt_tokens": engine.prompt_tokens}
                s["max_gen_toks"] = room
            key = record_key(model_hash=ckpt.content_hash, task=info.name, task_version=info.version,
                             sampling=s, seed=seed, harness_version=HARNESS_VERSION)
            items.append(WorkItem(ckpt, info, s, key))
    if shard is not None:
        i, n = shard
        items = [it for it in items if it.shard_hash % n == i]
    return items, catalog


def evaluate(checkpoints: Sequence[str | Path], tasks: Sequence[str], *, sampling: str = "greedy",
             backend: str = "vllm", store: str | Path = Path("results/store"), limit: int | float | None = None,
             seed: int = 1234, shard: str | tuple[int, int] | None = None, engine_kwargs: dict | None = None,
             include_paths: Sequence[str | Path] = (), max_gen_toks: int | None = None, repeats: int | None = None,
             apply_chat_template: bool = True, port: int | None = None,
             task_settings: dict[str, dict] | None = None, base: str | Path | None = None,
             output_path: str | Path | None = None) -> list[dict]:
    """Records for every (checkpoint, task) of this shard, computing the missing ones. See the module docstring.

    output_path: also write lm-eval's own results and samples files there, for every record of this call, cached
    or computed (harness/evaluate/lm_eval_output.py)."""
    go_offline()
    engine = EngineSettings.from_kwargs(engine_kwargs)
    items, catalog = plan(checkpoints, tasks, sampling=sampling, seed=seed, limit=limit, shard=shard,
                          include_paths=include_paths, max_gen_toks=max_gen_toks, repeats=repeats,
                          apply_chat_template=apply_chat_template, task_settings=task_settings, engine=engine,
                          base=base)
    check_backend(backend, [it.ckpt for it in items])
    settings_for = group_settings(items, engine, lora=backend != "hf")
    if output_path is not None:
        lm_eval_output.check_folder(output_path, store)
    db = Store(store).check(create=True)  # a bad store path fails now, not after the evaluation ran
    todo = [it for it in items if not db.has(it.key)]
    log.info("%d work items in this shard: %d stored, %d to run", len(items), len(items) - len(todo), len(todo))
    # Grouping by engine group, then checkpoint, keeps one engine per architecture and one weight load per checkpoint.
    order = {g: i for i, g in enumerate(dict.fromkeys(it.ckpt.engine_group for it in todo))}
    # Within a group, a base model's adapters follow it: its weights stay in the engine while they run.
    todo.sort(key=lambda it: (order[it.ckpt.engine_group], str(it.ckpt.weights_path), it.ckpt.is_adapter,
                              str(it.ckpt.path)))
    if todo:
        with make_backend(backend, settings_for, seed, port=port) as be:
            deferred = [it for it in todo if not _run_claimed(be, catalog, db, it, seed)]
            _finish_deferred(be, catalog, db, deferred, seed)
    records = [db.get(it.key) for it in items]
    if output_path is not None:
        lm_eval_output.check_folder(output_path, store, create=True)
        lm_eval_output.write(Path(output_path), list(zip(items, records)), db)
    return records


def group_settings(items: list[WorkItem], engine: EngineSettings,
                   lora: bool = True) -> Callable[[Checkpoint], EngineSettings]:
    """The resolved engine settings of each engine group (checked now, before any engine starts): its length is
    what its longest generation needs, within its models' positions; with LoRA adapters in it (and `lora`, for the
    vLLM backends) LoRA is on, its max_lora_rank covering their ranks."""
    by_group: dict[str, EngineSettings] = {}
    for group in dict.fromkeys(it.ckpt.engine_group for it in items):
        mine = [it for it in items if it.ckpt.engine_group == group]
        positions = min((it.ckpt.max_positions for it in mine if it.ckpt.max_positions), default=None)
        by_group[group] = engine.resolved(longest_generation=max(it.sampling["max_gen_toks"] for it in mine),
                                          model_limit=positions)
        ranks = [it.ckpt.lora_rank for it in mine if it.ckpt.is_adapter]
        if lora and ranks:
            by_group[group].max_lora_rank = lora_rank_bound(max(ranks))
    return lambda ckpt: by_group[ckpt.engine_group]


def _run_claimed(be: Backend, catalog: TaskCatalog, db: Store, it: WorkItem, seed: int) -> bool:
    """Run the item if this process wins its claim (or it got stored meanwhile); False if another worker holds it."""
    with db.claim(it.key) as mine:
        if not mine:
            return False
        if not db.has(it.key):
            _run(be, catalog, db, it, seed)
    return True


def _finish_deferred(be: Backend, catalog: TaskCatalog, db: Store, deferred: list[WorkItem], seed: int) -> None:
    """Wait for items other workers hold; when one's holder dies its lock frees and we compute it ourselves."""
    while deferred:
        deferred = [it for it in deferred if not db.has(it.key) and not _run_claimed(be, catalog, db, it, seed)]
        if deferred:
            log.info("waiting for %d item(s) another worker is computing", len(deferred))
            time.sleep(WAIT_POLL_S)


def _quiet_git_probe() -> None:
    """lm-eval runs `git describe` in the working folder at every evaluation and lets git print "fatal: not a git
    repository" outside a checkout; ask git the same question with its stderr kept out of the user's terminal."""
    import lm_eval.evaluator

    def git_commit_hash() -> str | None:
        try:
            done = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() or None if done.returncode == 0 else None

    lm_eval.evaluator.get_git_commit_hash = git_commit_hash


def _run(be: Backend, catalog: TaskCatalog, db: Store, it: WorkItem, seed: int) -> None:
    import lm_eval

    from tasks.registry import apply_scoring_env

    _quiet_git_probe()
    t0 = time.perf_counter()
    log.info("%s / %s: %s", it.ckpt.label, it.info.name, it.key)
    lm = be.model_for(it.ckpt)
    apply_scoring_env(tokenizer=it.ckpt.tokenizer_path)
    task = catalog.load(it.info.name)
    configure(task, it.sampling, presets.generation_kwargs(it.sampling))
    counter = _GenerationCounter(lm, it.ckpt.tokenizer_path)
    t_eval = time.perf_counter()
    try:
        with be.guard():
            results = lm_eval.simple_evaluate(
                model=lm, tasks=[task], task_manager=catalog.manager, limit=it.sampling["limit"], log_samples=True,
                apply_chat_template=it.sampling["apply_chat_template"],
                fewshot_as_multiturn=it.sampling["apply_chat_template"], bootstrap_iters=1000,
                random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed,
            )
    finally:
        counter.detach()
    total = time.perf_counter() - t0
    eval_s = time.perf_counter() - t_eval
    timings = {"engine_start_s": be.last_start_s, "weights_load_s": be.last_load_s, "generate_s": counter.seconds,
               "score_s": max(eval_s - counter.seconds, 0.0), "total_s": total}
    record, samples = records.build(key=it.key, ckpt=it.ckpt, task=task, info=it.info, sampling=it.sampling,
                                    seed=seed, backend=be.name, limit=it.sampling["limit"], results=results,
                                    timings=timings, generated_tokens=counter.tokens, store_root=db.root)
    entries, _ = train_log.read(train_log.path_of(it.ckpt.path))
    if entries:  # the report draws training curves from the store alone, never from the run folders
        db.put_train_log(it.ckpt.content_hash, entries)
    db.put(record, samples)
    log.info("%s / %s: %s = %.4f (%.1f s)", it.ckpt.label, it.info.name, record["primary_metric"],
             record["metrics"][record["primary_metric"]]["value"], total)


class _GenerationCounter:
    """Times the model's generate_until and counts the tokens it returned (for tokens/s), without changing it."""

    def __init__(self, lm, tokenizer_path: Path):
        from transformers import AutoTokenizer

        self.lm, self.seconds, self.tokens = lm, 0.0, 0
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path), local_files_only=True)
        inner = lm.generate_until

        def generate_until(requests, *args, **kwargs):
            t0 = time.perf_counter()
            out = inner(requests, *args, **kwargs)
            self.seconds += time.perf_counter() - t0
            self.tokens += sum(len(self.tokenizer(str(o), add_special_tokens=False)["input_ids"]) for o in out)
            return out

        lm.generate_until = generate_until

    def detach(self) -> None:
        self.lm.__dict__.pop("generate_until", None)
