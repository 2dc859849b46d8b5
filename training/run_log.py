"""Writing the per-step log `train_log.jsonl` (profit_core/formats/train_log.py) and the summary the manifest takes
from it."""

from __future__ import annotations

import math
from pathlib import Path

from transformers import TrainerCallback

from profit_core.formats import train_log


class JsonlLogCallback(TrainerCallback):
    """One JSON object per logging step (main process only), flushed at once so a killed run keeps its log."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_step_end(self, args, state, control, **kwargs):
        # Log the last step too, so the manifest's totals cover the whole run whatever logging_steps is.
        if state.global_step >= state.max_steps:
            control.should_log = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs or "train_runtime" in logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        record["lr"] = record.pop("learning_rate", None)
        # NaN (e.g. p_kept_mean when nothing was kept) is not JSON; null is.
        record = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
        train_log.append(self.path, record)


def summarize(records: list[dict]) -> dict:
    """Kept-fraction summary, token-weighted mean p of kept / masked tokens, totals; for profit_run.json."""

    def finite(values):
        return [v for v in values if v is not None and not math.isnan(v)]

    records = [r for r in records if r.get("kept_fraction") is not None]
    kept = finite(r.get("kept_fraction") for r in records)
    sup = sum(r.get("supervised_tokens", 0) for r in records)
    n_kept = sum(r.get("supervised_tokens", 0) * (r.get("kept_fraction") or 0.0) for r in records)

    def weighted(key, weight):
        pairs = [(r[key], weight(r)) for r in records if r.get(key) is not None]
        total = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / total if total else None

    return {
        "kept_fraction": {"mean": n_kept / sup if sup else None, "first": kept[0] if kept else None,
                          "last": kept[-1] if kept else None},
        "p_kept_mean": weighted("p_kept_mean", lambda r: r["supervised_tokens"] * r["kept_fraction"]),
        "p_masked_mean": weighted("p_masked_mean", lambda r: r["supervised_tokens"] * (1 - r["kept_fraction"])),
        "train_tokens": sum(r.get("tokens", 0) for r in records),
        "supervised_tokens": sup,
        "train_time_s": sum(r.get("window_s", 0.0) for r in records),
    }
