"""lm-eval's result for one (checkpoint, task) -> the store record of docs/formats.md and its samples."""

from __future__ import annotations

import json
import math
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__ as HARNESS_VERSION
from harness.evaluate.lm_eval_output import kept_results, stored_sample_fields
from harness.store import SCHEMA
from profit_core.versions import versions

PACKAGES = ("vllm", "lm_eval", "torch", "transformers")
# The run manifest's fields that hold paths: a record keeps them relative to the store, so it holds no machine path.
RUN_PATHS = (("base_model",), ("data", "path"), ("config", "model"), ("config", "data"), ("config", "output_dir"),
             ("config", "chat_template"))


def plain(value):
    """numpy scalars and tuples -> JSON types."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _caches() -> list[tuple[str, Path]]:
    """Folders that live in a user's home, outside any project: named, never spelled out."""
    from huggingface_hub.constants import HF_HUB_CACHE

    from testbed import cache_root

    return [("$PROFIT_CACHE", cache_root()), ("$HF_HUB_CACHE", Path(HF_HUB_CACHE))]


def relative(path: str | Path, root: Path) -> str:
    """What a record may hold of a machine's folders, in POSIX form: a path inside the project's cache (the builtin
    bases) or the Hugging Face cache as `$PROFIT_CACHE/...` / `$HF_HUB_CACHE/...` (a relative path to a home folder
    would carry the user's name), any other path relative to `root` (the store)."""
    resolved = Path(path).resolve()
    for name, cache in _caches():
        cache = cache.resolve()
        if resolved == cache or cache in resolved.parents:
            inside = resolved.relative_to(cache).as_posix()
            return name if inside == "." else f"{name}/{inside}"
    return Path(os.path.relpath(resolved, root.resolve())).as_posix()


def portable_run(run: dict | None, root: Path) -> dict | None:
    """The run manifest with every path in it made relative to the store."""
    if run is None:
        return None
    run = json.loads(json.dumps(run))
    for keys in RUN_PATHS:
        holder = run
        for key in keys[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        value = holder.get(keys[-1]) if isinstance(holder, dict) else None
        if isinstance(value, str) and value and os.path.isabs(value):
            holder[keys[-1]] = relative(value, root)
    return run


def portable_paths(value, root: Path):
    """`value` with every string that is an absolute path on this machine made relative to `root` (lm-eval's
    results name the model folder and each task's YAML file)."""
    if isinstance(value, dict):
        return {k: portable_paths(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [portable_paths(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/") and "\n" not in value and len(value) < 4096:
        try:
            if Path(value).exists():
                return relative(value, root)
        except OSError:
            pass
    return value


def hardware() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return {"cpu": cpu, "gpu": gpu, "cores": len(os.sched_getaffinity(0))}


def metrics_of(task_result: dict, primary: str) -> dict:
    """{"acc": {"value", "stderr"}, ...}; metrics of other filters than the primary's keep their ",filter"."""
    primary_filter = primary.split(",", 1)[1]
    out = {}
    for key, value in task_result.items():
        if "," not in key or "_stderr," in key:
            continue
        metric, filt = key.split(",", 1)
        stderr = task_result.get(f"{metric}_stderr,{filt}")
        stderr = float(stderr) if isinstance(stderr, (int, float)) or hasattr(stderr, "item") else None
        name = metric if filt == primary_filter else key
        out[name] = {"value": float(value), "stderr": stderr if stderr is None or math.isfinite(stderr) else None}
    return out


def repeat_scores(task, sample: dict, metric: str, repeats: int) -> list[float]:
    """The primary metric of each repeat of one doc. Tasks that average repeats inside process_results (all profit_*
    tasks) are asked once more per response; single-response filters (take_first) have one score."""
    filtered = sample["filtered_resps"]
    # An identity filter keeps the repeats together: [[r1, ..., rK]]; a per-response filter gives [r1, ..., rK].
    if isinstance(filtered, list) and len(filtered) == 1 and isinstance(filtered[0], list):
        filtered = filtered[0]
    if repeats > 1 and isinstance(filtered, list) and len(filtered) == repeats:
        return [float(task.process_results(sample["doc"], [[r]])[metric]) for r in filtered]
    return [float(sample[metric])]


def truncation(samples: list[dict], max_gen_toks: int) -> dict | None:
    """Share of responses cut at max_gen_toks, for tasks that do not report `truncated` themselves."""
    from tasks._profit_common.truncation import is_truncated

    flags = [is_truncated(r, max_gen_toks) for s in samples for r in _responses(s)]
    if not flags or None in flags:
        return None
    p = sum(flags) / len(flags)
    return {"value": p, "stderr": math.sqrt(p * (1 - p) / len(flags))}


def _responses(sample: dict) -> list[str]:
    """Every generated text of a doc: `resps` holds one list per request, with one entry per repeat."""
    return [x for r in sample["resps"] for x in (r if isinstance(r, (list, tuple)) else [r])]


def build(*, key: str, ckpt, task, info, sampling: dict, seed: int, backend: str, limit, results: dict,
          timings: dict, generated_tokens: int, store_root: Path) -> tuple[dict, list[dict]]:
    name = info.name
    metric = info.primary_metric.split(",", 1)[0]
    samples = sorted(results["samples"][name], key=lambda s: s["doc_id"])
    metrics = metrics_of(results["results"][name], info.primary_metric)
    if "truncated" not in metrics and (t := truncation(samples, sampling["max_gen_toks"])) is not None:
        metrics["truncated"] = t
    scores = [repeat_scores(task, s, metric, sampling["repeats"]) for s in samples]
    model = {"path": relative(ckpt.path, store_root), "content_hash": ckpt.content_hash, "label": ckpt.label,
             "run": portable_run(ckpt.run, store_root)}
    if ckpt.base is not None:  # a LoRA adapter, scored on this base without a merged copy
        model["base"] = {"path": relative(ckpt.base.path, store_root), "content_hash": ckpt.base.content_hash,
                         "label": ckpt.base.label}
    record = {
        "schema": SCHEMA,
        "key": key,
        "model": model,
        "task": {"name": name, "version": plain(info.version), "n_docs": len(task.eval_docs), "limit": limit,
                 "n_scored": len(samples)},
        "sampling": sampling,
        "seed": seed,
        "backend": backend,
        "harness_version": HARNESS_VERSION,
        "metrics": metrics,
        "primary_metric": metric,
        "per_doc": {"doc_ids": [int(s["doc_id"]) for s in samples], "scores": scores},
        "chat_template_sha256": ckpt.chat_template_sha256 if sampling["apply_chat_template"] else None,
        "versions": versions(PACKAGES),
        "hardware": hardware(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "generated_tokens": generated_tokens,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # lm-eval's own aggregated results, for `profit eval --output-path` (harness/evaluate/lm_eval_output.py).
        "lm_eval": portable_paths(kept_results(results), store_root),
    }
    stored = [
        {"doc_id": int(s["doc_id"]), "prompt": plain(s["arguments"][0][0]), "target": plain(s["target"]),
         "responses": plain(_responses(s)), "filtered": plain(s["filtered_resps"]),
         "scores": score, "metrics": {m: plain(s[m]) for m in s.get("metrics", []) if m in s},
         **stored_sample_fields(s, _responses(s))}
        for s, score in zip(samples, scores)
    ]
    return record, stored
