"""The profit_testbed task's data files, generated here (deterministic: the same spec gives the same bytes) and
committed in tasks/profit_testbed/data; the task reads them, it never imports this package.

    test.jsonl, retention.jsonl, dev.jsonl      the held-out splits (lm-eval tasks), shared by every variant
    sft_train.jsonl, sft_train_labels.jsonl     the default variant's SFT data and its ground-truth labels
    <variant>/sft_train.jsonl, ..._labels.jsonl every other variant's (variants.py)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from profit_core.files import atomic_write, sha256_text
from tasks.registry import TASKS_DIR

from .splits import SPLITS, TestbedSpec, references, sft_examples
from .variants import DEFAULT, VARIANTS

DATA_DIR = TASKS_DIR / "profit_testbed" / "data"
SFT_SEED = 0


def sft_name(variant: str) -> str:
    """The SFT data file of `variant`, relative to the data folder (its labels file sits beside it)."""
    return "sft_train.jsonl" if variant == DEFAULT else f"{variant}/sft_train.jsonl"


def labels_path(data: str | Path) -> Path:
    """The ground-truth labels of a data file `X.jsonl`: `X_labels.jsonl` beside it, one `{"char_labels": "..."}`
    per row, one character per character of the row's answer."""
    data = Path(data)
    return data.with_name(f"{data.stem}_labels.jsonl")


def variant_of(path: str | Path) -> str | None:
    """The variant whose committed SFT data file `path` is; None for any other file."""
    path = Path(path).resolve()
    return next((v for v in VARIANTS if (DATA_DIR / sft_name(v)).resolve() == path), None)


def _row(r) -> dict:
    return {"question": r.question, "answer": r.answer, "steps": r.steps, "solution": r.solution,
            "char_labels": r.char_labels}


def data_files(spec: TestbedSpec | None = None) -> dict[str, str]:
    """Path relative to the data folder -> content, for every data file. The held-out splits are rendered in the
    default variant (their references matter only to the token analysis: the tasks score the answer alone)."""
    spec = spec or TestbedSpec()
    files = {}
    for split in SPLITS:
        rows = [_row(r) for r in references(replace(spec, variant=DEFAULT), split)]
        files[f"{split}.jsonl"] = "".join(json.dumps(row) + "\n" for row in rows)
    for variant in VARIANTS:
        sft = sft_examples(replace(spec, variant=variant), SFT_SEED)
        name = sft_name(variant)
        files[name] = "".join(json.dumps({"messages": r.messages()}) + "\n" for r in sft)
        files[labels_path(name).as_posix()] = "".join(
            json.dumps({"char_labels": r.char_labels}) + "\n" for r in sft)
    return files


def stale_files(folder: Path = DATA_DIR, spec: TestbedSpec | None = None) -> list[str]:
    """The data files that are missing from `folder` or differ from what the generator writes."""
    return [name for name, text in data_files(spec).items()
            if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text]


def write_testbed_data(folder: Path = DATA_DIR, spec: TestbedSpec | None = None) -> dict[str, str]:
    """Write the files; returns name -> sha256 of what was written."""
    written = {}
    for name, text in data_files(spec).items():
        atomic_write(folder / name, text)
        written[name] = sha256_text(text)
    return written
