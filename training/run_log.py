"""The per-step log `train_log.jsonl` in the run folder, and the summary the manifest takes from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

from transformers import TrainerCallback

LOG_NAME = "train_log.jsonl"


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
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_log(path: Path, last_step: int) -> None:
    """On resume: drop the lines of steps after the checkpoint, which the resumed run logs again."""
    kept = [r for r in read_log(path) if r["step"] <= last_step]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


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
