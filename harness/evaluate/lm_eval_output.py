"""`profit eval --output-path DIR`: lm-eval's own result files beside the store, written by lm-eval's
EvaluationTracker, for lm-eval's tooling (and anything else that reads `lm_eval --output_path --log_samples`).

Layout, as lm-eval writes it (one model folder per checkpoint, named as lm-eval names `pretrained=<path>`):

    DIR/<model name, sanitized>/results_<date>.json            every task of this call for that checkpoint
    DIR/<model name, sanitized>/samples_<task>_<date>.jsonl    one line per scored document, per task

Everything is written from the store after the evaluation (computed and cached records alike), so a record
computed yesterday is exported exactly as a fresh one: the record keeps lm-eval's aggregated results (`lm_eval`,
less the machine's environment dump, paths made relative to the store) and the store's samples keep what lm-eval
logs per document. A record whose samples are not in the store (samples/ is never committed) gets its results but
no samples file; a record written before this harness kept `lm_eval` is skipped with a note. `<date>` is derived
from the records (their newest `created`, and which ones they are), so exporting the same records again writes
nothing new; each file appears at once, complete (a staging folder, then a rename).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from profit_core.errors import UserError
from profit_core.folders import FolderError, claim

log = logging.getLogger("profit.eval")

KIND = "lm-eval"
# lm-eval's name of the model type each backend runs (its `--model`).
LM_EVAL_MODEL = {"vllm": "vllm", "vllm-server": "local-completions", "hf": "hf"}
# The results sections that hold one entry per task; the rest describe the run.
PER_TASK = ("results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples")
# What a record keeps of lm-eval's results: all but the per-document samples (in the store's samples file) and the
# machine's full environment dump (the record has `hardware` and `versions`).
NOT_KEPT = ("samples", "pretty_env_info")
# Tasks whose documents must never be published: their samples files are written, with a warning.
UNPUBLISHED = ("profit_gpqa",)


def check_folder(out: str | Path, store_root: str | Path, create: bool = False) -> Path:
    """The output folder, claimed as an lm-eval output folder (profit_core/folders.py): missing, empty, or
    holding only model folders (what lm-eval writes). Never inside the store, whose folder holds only its own."""
    out = Path(out)
    root = Path(store_root).resolve()
    if out.resolve() == root or root in out.resolve().parents:
        raise UserError(f"--output-path {out} is inside the results store {store_root}; choose a folder beside it "
                        "(e.g. results/lm_eval)")
    try:
        return claim(out, KIND, what="lm-eval output folder", allow=Path.is_dir, create=create)
    except FolderError as err:
        raise UserError(str(err)) from None


def kept_results(results: dict) -> dict:
    """What a record keeps of simple_evaluate's result (plain JSON; paths are made relative by the caller)."""
    from lm_eval.utils import handle_non_serializable

    kept = {k: v for k, v in results.items() if k not in NOT_KEPT}
    return json.loads(json.dumps(kept, default=handle_non_serializable, ensure_ascii=False))


def stored_sample_fields(sample: dict, responses: list) -> dict:
    """The fields of lm-eval's logged sample that the store's sample line does not hold already (see
    `lm_eval_sample`); raw `resps` only when they are not the one request's responses."""
    from lm_eval.utils import handle_non_serializable

    def plain(value):
        return json.loads(json.dumps(value, default=handle_non_serializable, ensure_ascii=False))

    out = {"doc": plain(sample["doc"]), "arguments": plain(sample["arguments"]), "filter": sample.get("filter"),
           "metric_names": list(sample.get("metrics", [])), "doc_hash": sample.get("doc_hash"),
           "prompt_hash": sample.get("prompt_hash"), "target_hash": sample.get("target_hash")}
    resps = plain(sample["resps"])
    if resps != [plain(responses)]:
        out["resps"] = resps
    return out


def lm_eval_sample(line: dict) -> dict | None:
    """One line of the store's samples file as lm-eval logged it (before its tracker writes it); None for a line
    written before the store kept lm-eval's fields."""
    if "doc" not in line or "arguments" not in line:
        return None
    metrics = line.get("metrics") or {}
    names = line.get("metric_names") or list(metrics)
    sample = {"doc_id": line["doc_id"], "doc": line["doc"], "target": line.get("target"),
              "arguments": line["arguments"], "resps": line.get("resps", [line.get("responses", [])]),
              "filtered_resps": line.get("filtered"), "filter": line.get("filter"), "metrics": names,
              "doc_hash": line.get("doc_hash"), "prompt_hash": line.get("prompt_hash"),
              "target_hash": line.get("target_hash")}
    sample.update({m: metrics[m] for m in names if m in metrics})
    return sample


def model_name(ckpt) -> str:
    """The name lm-eval would give the model: its hub id, else its path (relative to here when under it)."""
    if ckpt.hub_id:
        return ckpt.hub_id
    try:
        return ckpt.path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(ckpt.path)


def write(out: Path, pairs: Sequence[tuple], store) -> list[Path]:
    """Write lm-eval's files for every (WorkItem, record) pair, grouped by checkpoint; returns the files written."""
    by_ckpt: dict = {}
    for item, record in pairs:
        if record is not None:
            by_ckpt.setdefault(item.ckpt, []).append((item, record))
    written: list[Path] = []
    for ckpt, mine in by_ckpt.items():
        written += _write_checkpoint(Path(out), ckpt, mine, store)
    return written


def _samples(store, key: str) -> list[dict] | None:
    try:
        lines = store.read_samples(key)
    except FileNotFoundError:
        return None
    samples = [lm_eval_sample(line) for line in lines]
    return None if any(s is None for s in samples) else samples


def _merge(headers: list[dict]) -> dict:
    merged = copy.deepcopy(headers[0])
    for header in headers[1:]:
        for section in PER_TASK:
            merged.setdefault(section, {}).update(copy.deepcopy(header.get(section) or {}))
    limits = {json.dumps((h.get("config") or {}).get("limit")) for h in headers}
    if len(limits) > 1 and isinstance(merged.get("config"), dict):
        merged["config"]["limit"] = None  # the tasks were cut differently: n-samples says how, per task
    dates = [h["date"] for h in headers if isinstance(h.get("date"), (int, float))]
    if dates:
        merged["date"] = min(dates)
    return merged


def _describe_model(merged: dict, ckpt, name: str, backend: str, store_root: Path) -> None:
    """`config.model` / `config.model_args` as `lm_eval --model M --model_args ...` records them (the record holds
    the in-process model object's view), and each task's config_source as a path on this machine again."""
    config = merged.setdefault("config", {})
    config["model"] = LM_EVAL_MODEL.get(backend, backend)
    if ckpt.is_adapter:
        adapter_arg = "peft" if backend == "hf" else "lora_local_path"
        config["model_args"] = {"pretrained": model_name(ckpt.base), adapter_arg: name}
    else:
        config["model_args"] = {"pretrained": name}
    for task_config in (merged.get("configs") or {}).values():
        meta = task_config.get("metadata") if isinstance(task_config, dict) else None
        source = meta.get("config_source") if isinstance(meta, dict) else None
        if isinstance(source, str) and not Path(source).is_absolute() and (Path(store_root) / source).exists():
            meta["config_source"] = str((Path(store_root) / source).resolve())


def _date_id(records: list[dict], with_samples: list[str], name: str) -> str:
    """lm-eval's `<date>` of the files (ISO time with `-` for `:`): the newest record's creation time, and six
    digits that tell apart different sets of records (and of samples) exported for one model."""
    newest = max(str(r.get("created") or "") for r in records).removesuffix("Z").replace(":", "-")
    which = json.dumps([name, sorted(r["key"] for r in records), sorted(with_samples)])
    return f"{newest or '1970-01-01T00-00-00'}.{int(hashlib.sha256(which.encode()).hexdigest(), 16) % 10**6:06d}"


def _write_checkpoint(out: Path, ckpt, mine: list[tuple], store) -> list[Path]:
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.utils import sanitize_model_name

    name = model_name(ckpt)
    headers, records, samples = [], [], {}
    for item, record in mine:
        task = item.info.name
        header = record.get("lm_eval")
        if not isinstance(header, dict):
            log.warning("%s / %s: record %s was written before the store kept lm-eval's results; not in %s "
                        "(delete records/%s.json to recompute it)", ckpt.label, task, record["key"], out,
                        record["key"])
            continue
        headers.append(header)
        records.append(record)
        found = _samples(store, record["key"])
        if found is None:
            log.warning("%s / %s: its samples are not in the store (samples/%s.jsonl.gz missing or written before "
                        "the store kept lm-eval's fields); results written without samples_%s_*.jsonl",
                        ckpt.label, task, record["key"], task)
        else:
            samples[task] = found
    if not headers:
        return []
    date_id = _date_id(records, list(samples), name)
    folder = out / sanitize_model_name(name)
    results_file = folder / f"results_{date_id}.json"
    if results_file.is_file():
        log.info("%s: lm-eval results already in %s", ckpt.label, results_file)
        return []
    merged = _merge(headers)
    first = records[0]
    backend = str(first.get("backend"))
    _describe_model(merged, ckpt, name, backend, store.root)
    apply_chat_template = bool(first["sampling"].get("apply_chat_template"))
    staging = Path(tempfile.mkdtemp(prefix=".lm-eval-", suffix=".tmp", dir=out))
    try:
        tracker = EvaluationTracker(output_path=str(staging))
        config = tracker.general_config_tracker
        config.log_experiment_args(
            model_source=LM_EVAL_MODEL.get(backend, backend),
            model_args={"pretrained": name}, system_instruction=None,
            chat_template=ckpt.chat_template if apply_chat_template else None,
            fewshot_as_multiturn=apply_chat_template)
        # total_evaluation_time_seconds: the records' own evaluation time, not the time this export took.
        config.start_time = time.perf_counter() - sum(r.get("timings", {}).get("total_s", 0.0) for r in records)
        tracker.save_results_aggregated(results=merged, samples=samples or None)
        for task in merged.get("configs", {}):
            if task in samples:
                tracker.save_results_samples(task_name=task, samples=samples[task])
        made = staging / sanitize_model_name(name)
        stamp = getattr(tracker, "date_id", None)
        results = made / f"results_{stamp}.json"
        if stamp is None or not results.is_file():  # the tracker logs its own errors as warnings and goes on
            raise UserError(f"lm-eval could not write its results for {ckpt.label} into {out} (see the warning "
                            "above)")
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for task in samples:
            target = folder / f"samples_{task}_{date_id}.jsonl"
            os.replace(made / f"samples_{task}_{stamp}.jsonl", target)
            written.append(target)
            if task.startswith(UNPUBLISHED):
                log.warning("%s holds the questions of %s in clear text: never commit or publish it", target, task)
        os.replace(results, results_file)  # last: a results file is there only with its samples
        written.append(results_file)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("%s: lm-eval results and %d samples file(s) in %s", ckpt.label, len(written) - 1, folder)
    return written
