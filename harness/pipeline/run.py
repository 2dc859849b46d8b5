"""Run a pipeline: bases -> training runs -> evaluations -> token analysis -> report, resumable at any point.

Every stage is idempotent: a complete checkpoint of the same config is not retrained (a partial one resumes from its
last saved state), a stored evaluation record is a cache hit, and the analysis and report are redone only when
their inputs changed. So a killed pipeline is resumed by running the same command again, and a second run with
nothing changed does no work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
import subprocess
import time
from pathlib import Path

import yaml
from tqdm import tqdm

from harness.store import Store
from profit_core.errors import UserError
from profit_core.folders import claim
from profit_core.formats import base_build, run_manifest
from profit_core.model_folder import ModelFolderError, check_model_folder
from training.api import inspect_output, is_complete, last_checkpoint
from training.config import ConfigError

from .config import PipelineConfig, PipelineConfigError
from .plan import TrainJob, base_folders, training_jobs

log = logging.getLogger("profit.pipeline")


def _status(job: TrainJob) -> str:
    if is_complete(job.out, job.config):
        return "done"
    return "partial" if last_checkpoint(job.out) is not None else "todo"


def validate(cfg: PipelineConfig) -> tuple[dict[str, Path], list[TrainJob]]:
    """Everything that can be checked before any work, checked; nothing is written.

    Base model folders, every training config (data, fields), every run folder (refused when it holds something
    else, such as another config's run), the task names and limits, the store, the runs and report folders.
    """
    bases = base_folders(cfg)
    for name, folder in bases.items():
        if not _is_testbed(cfg, name):
            try:
                check_model_folder(folder)
            except ModelFolderError as err:
                raise PipelineConfigError(f"base model {name}: {err}") from None
    jobs = training_jobs(cfg, bases)
    for job in jobs:
        try:
            built = not _is_testbed(cfg, job.base) or (bases[job.base] / "config.json").exists()
            job.config.check_runnable(model=built)  # the run builds the testbed base first
            if not is_complete(job.out, job.config):
                inspect_output(job.config, job.out, resume=True)
        except ConfigError as err:
            raise PipelineConfigError(f"training {job.name}: {err}") from None
    if cfg.eval.tasks:
        from harness.evaluate.tasks import TaskCatalog

        try:
            TaskCatalog().expand([t.name for t in cfg.eval.tasks])
        except UserError as err:
            raise PipelineConfigError(f"`eval.tasks`: {err}") from None
    Store(cfg.store).check()
    claim(cfg.runs_dir, "runs", what="runs folder", allow=Path.is_dir, create=False)
    from harness.report.api import REPORT_ENTRIES

    claim(cfg.report_dir, "report", REPORT_ENTRIES, what="report folder", allow=Path.is_dir, create=False)
    return bases, jobs


def describe(cfg: PipelineConfig) -> list[str]:
    """The work list, for --dry-run: one line per item with its state."""
    bases, jobs = validate(cfg)
    lines = [f"pipeline {cfg.name}: {len(bases)} base model(s), {len(jobs)} training run(s), "
             f"{len(cfg.eval.tasks)} task entr(ies)"]
    for name, folder in bases.items():
        state = "ready" if (folder / "config.json").is_file() else "to build" if _is_testbed(cfg, name) else "MISSING"
        lines.append(f"  base   {name:<24} {state:<9} {folder}")
    for job in jobs:
        lines.append(f"  train  {job.name:<40} {_status(job):<8} {job.out}")
    targets = (len(bases) if cfg.eval.include_base else 0) + len(jobs)
    for task in cfg.eval.tasks:
        limit = f"limit {task.limit}" if task.limit else "all docs"
        lines.append(f"  eval   {task.name:<24} {limit:<10} x {targets} checkpoint(s) "
                     f"({cfg.eval.backend}, {cfg.eval.sampling}; stored records are reused)")
    if cfg.token_analysis:
        lines.append("  analyse the testbed base's token probabilities and what each run trained on")
    lines.append(f"  report {cfg.report_dir}")
    return lines


def _is_testbed(cfg: PipelineConfig, name: str) -> bool:
    return any(b.name == name and b.builtin == "testbed" for b in cfg.base_models)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


class _State:
    """Input digests of the last analysis and report, so an unchanged pipeline does not redo them."""

    def __init__(self, store: Store):
        self.store = store
        self.data = store.pipeline_state()

    def fresh(self, stage: str, digest: str, outputs: list[Path]) -> bool:
        return self.data.get(stage) == digest and all(p.exists() for p in outputs)

    def mark(self, stage: str, digest: str) -> None:
        self.data[stage] = digest
        self.store.put_pipeline_state(self.data)


def run(cfg: PipelineConfig, *, progress: bool = True) -> dict:
    """Run every stage; returns a summary (what was done and skipped, wall times)."""
    from testbed import build_base
    from training.api import train

    started = time.perf_counter()
    if progress:  # one progress view: the stages' own bars and per-step logs stay quiet
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        logging.getLogger("profit.train").setLevel(logging.WARNING)
    bases, jobs = validate(cfg)
    claim(cfg.runs_dir, "runs", what="runs folder", allow=Path.is_dir)
    summary = {"trained": [], "skipped": [], "timings": {}}
    total = len(bases) + len(jobs) + 3
    bar = tqdm(total=total, desc=cfg.name, unit="step", disable=not progress, dynamic_ncols=True)

    def advance(what: str) -> None:
        bar.set_postfix_str(what[-60:], refresh=False)
        bar.update(1)

    t0 = time.perf_counter()
    for name, folder in bases.items():
        if _is_testbed(cfg, name):
            built = build_base(progress=progress)
            assert built == folder, f"testbed base built in {built}, expected {folder}"
        advance(f"base {name}")
    summary["timings"]["bases_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for job in jobs:
        if is_complete(job.out, job.config):
            summary["skipped"].append(job.name)
        else:
            bar.set_description_str(f"{cfg.name}: train {job.name}")
            t_run = time.perf_counter()
            if cfg.launcher:
                _launch(cfg, job)
            else:
                train(job.config, resume=True, progress=False)
            summary["trained"].append(job.name)
            bar.write(_trained_line(job, time.perf_counter() - t_run))
        advance(f"train {job.name}")
    summary["timings"]["train_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bar.set_description_str(f"{cfg.name}: evaluate")
    checkpoints = ([bases[b] for b in bases] if cfg.eval.include_base else []) + [j.out for j in jobs]
    summary["records"] = _evaluate(cfg, checkpoints)
    summary["timings"]["eval_s"] = time.perf_counter() - t0
    advance("evaluate")

    state = _State(Store(cfg.store))
    t0 = time.perf_counter()
    if cfg.token_analysis:
        _analyse(cfg, bases, jobs, state)
    summary["timings"]["analysis_s"] = time.perf_counter() - t0
    advance("token analysis")

    t0 = time.perf_counter()
    bar.set_description_str(f"{cfg.name}: report")
    summary["report"] = _report(cfg, state)
    summary["timings"]["report_s"] = time.perf_counter() - t0
    advance("report")
    bar.close()
    summary["timings"]["total_s"] = time.perf_counter() - started
    return summary


def _trained_line(job: TrainJob, seconds: float) -> str:
    run = run_manifest.read_or_none(job.out) or {}
    kept = (run.get("kept_fraction") or {}).get("mean")
    kept_text = f", kept {kept:.0%} of tokens" if isinstance(kept, float) else ""
    return f"trained {job.name} in {seconds:.0f} s ({run.get('steps', '?')} steps{kept_text})"


def _launch(cfg: PipelineConfig, job: TrainJob) -> None:
    """One training under the user's launcher (accelerate, torchrun): its own processes, GPUs freed afterwards."""
    folder = Path(cfg.runs_dir) / ".configs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.name.replace('/', '__')}.yaml"
    path.write_text(yaml.safe_dump(job.config.to_dict(), sort_keys=True))
    command = [*shlex.split(cfg.launcher), "-m", "training.cli", "--config", str(path), "--resume"]
    log.info("launching: %s", " ".join(command))
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"training {job.name} failed (exit {done.returncode}): {' '.join(command)}")


def _evaluate(cfg: PipelineConfig, checkpoints: list[Path]) -> int:
    from harness.evaluate.api import evaluate

    settings = {t.name: {k: v for k, v in (("limit", t.limit), ("max_gen_toks", t.max_gen_toks)) if v is not None}
                for t in cfg.eval.tasks}
    records = evaluate(
        checkpoints, [t.name for t in cfg.eval.tasks], sampling=cfg.eval.sampling, backend=cfg.eval.backend,
        store=Path(cfg.store), seed=cfg.eval.seed, engine_kwargs=cfg.eval.engine or None, task_settings=settings,
    )
    return len(records)


def _analyse(cfg: PipelineConfig, bases: dict[str, Path], jobs: list[TrainJob], state: _State) -> None:
    from testbed import analysis

    testbeds = {n: f for n, f in bases.items() if _is_testbed(cfg, n)}
    runs = [job.out for job in jobs if job.base in testbeds]
    inputs = _digest({"bases": {n: base_build.read(f) for n, f in testbeds.items()},
                      "runs": [run_manifest.read(run)["config_hash"] for run in runs]})
    if not testbeds or state.fresh("token_analysis", inputs, [state.store.token_analysis_path]):
        return
    state.store.put_token_analysis(analysis(testbeds, runs))
    state.mark("token_analysis", inputs)


def _report(cfg: PipelineConfig, state: _State) -> list[str]:
    from harness.report.api import build_report

    store = state.store
    inputs = sorted(p.name for p in store.records.glob("*.json")) if store.records.is_dir() else []
    analysis = store.token_analysis_path
    digest = _digest({"records": inputs, "analysis": analysis.read_text() if analysis.is_file() else None})
    out = Path(cfg.report_dir)
    if state.fresh("report", digest, [out / "leaderboard.md"]):
        return []
    report = build_report(store.root, out)
    state.mark("report", digest)
    return [str(p) for p in getattr(report, "files", [])]
