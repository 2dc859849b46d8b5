"""The profit_testbed task's data files, generated here (deterministic: the same spec gives the same bytes) and
committed in tasks/profit_testbed/data; the task reads them, it never imports this package."""

from __future__ import annotations

import json
from pathlib import Path

from profit_core.files import atomic_write, sha256_text
from tasks.registry import TASKS_DIR

from .splits import TestbedSpec, references, sft_examples

DATA_DIR = TASKS_DIR / "profit_testbed" / "data"
SFT_SEED = 0


def _row(r) -> dict:
    return {"question": r.question, "answer": r.answer, "steps": r.steps, "solution": r.solution,
            "char_labels": r.char_labels}


def data_files(spec: TestbedSpec | None = None) -> dict[str, str]:
    """File name -> content of every data file."""
    spec = spec or TestbedSpec()
    files = {}
    for split in ("test", "retention"):
        refs = references(spec, split)
        rows = [_row(r) for r in refs]
        files[f"{split}.jsonl"] = "".join(json.dumps(row) + "\n" for row in rows)
    sft = sft_examples(spec, SFT_SEED)
    files["sft_train.jsonl"] = "".join(json.dumps({"messages": r.messages()}) + "\n" for r in sft)
    files["sft_train_labels.jsonl"] = "".join(json.dumps({"char_labels": r.char_labels}) + "\n" for r in sft)
    return files


def write_testbed_data(folder: Path = DATA_DIR, spec: TestbedSpec | None = None) -> dict[str, str]:
    """Write the files; returns name -> sha256 of what was written."""
    written = {}
    for name, text in data_files(spec).items():
        atomic_write(folder / name, text)
        written[name] = sha256_text(text)
    return written
