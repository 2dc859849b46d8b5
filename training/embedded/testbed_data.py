"""Write the profit_testbed task's data files (deterministic: the same spec gives the same bytes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .splits import TestbedSpec, references, sft_examples

TASK_DIR = Path(__file__).resolve().parents[2] / "tasks" / "profit_testbed"
DATA_DIR = TASK_DIR / "data"
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
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, text in data_files(spec).items():
        (folder / name).write_text(text, encoding="utf-8")
        written[name] = hashlib.sha256(text.encode()).hexdigest()
    return written
