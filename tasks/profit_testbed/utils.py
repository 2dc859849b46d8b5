"""lm-eval hooks of the profit_testbed tasks: the local data files and the wording-free scorer."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_INT = re.compile(r"-?\d+")


def extract_answer(response: str) -> int | None:
    """The last integer of the response: every reference ends with its answer, whatever its wording."""
    found = _INT.findall(response)
    return int(found[-1]) if found else None


def process_results(doc: dict, results: list[str]) -> dict[str, int]:
    return {"acc": int(extract_answer(results[0]) == int(doc["answer"]))}


def _load(name: str):
    import datasets

    path = DATA / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; regenerate it with `profit testbed data`")
    return datasets.load_dataset("json", data_files={"test": str(path)})


def load_test(**kwargs):
    return _load("test")


def load_retention(**kwargs):
    return _load("retention")


def load_dev(**kwargs):
    return _load("dev")
