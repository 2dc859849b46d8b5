"""Load a task's bundled data by absolute path (from the caller's `__file__`), checked against its SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def verified_bytes(path: Path) -> bytes:
    """The file's bytes, after checking them against the `SHA256SUMS` beside it (a clear error beats a wrong score)."""
    sums_file = path.parent / "SHA256SUMS"
    if not path.is_file():
        raise FileNotFoundError(f"benchmark data missing: {path} (it ships with the repository's tasks/ folder)")
    sums = dict(reversed(line.split(maxsplit=1)) for line in sums_file.read_text().splitlines() if line.strip())
    data = path.read_bytes()
    expected = sums.get(path.name)
    if expected is None:
        raise ValueError(f"{path.name} is not listed in {sums_file}")
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"{path} does not match its sha256 in {sums_file}: the benchmark data was modified")
    return data


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in verified_bytes(path).decode("utf-8").splitlines() if line.strip()]


def test_split(rows: list[dict]):
    """lm-eval's `custom_dataset` contract: a mapping of split name -> Dataset (kept in memory, never cached)."""
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
