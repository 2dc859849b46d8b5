"""`train_log.jsonl`: one JSON object per logging step of a training run (step, loss, lr, kept_fraction, ...).

One tolerant reader for every use: a run killed mid-write leaves a partial last line, which is dropped, never fatal.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "train_log.jsonl"


def path_of(folder: str | Path) -> Path:
    return Path(folder) / NAME


def read(path: str | Path) -> tuple[list[dict], int]:
    """(entries in order, number of unreadable lines skipped); a missing file is an empty log."""
    path = Path(path)
    if not path.is_file():
        return [], 0
    entries, bad = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(entry, dict) and isinstance(entry.get("step"), (int, float)) and not isinstance(
                entry.get("step"), bool):
            entries.append(entry)
        else:
            bad += 1
    return entries, bad


def append(path: str | Path, entry: dict) -> None:
    """One line, flushed at once, so a killed run keeps every step it logged."""
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def truncate(path: str | Path, last_step: int) -> None:
    """On resume: keep the steps up to the saved state; the resumed run logs the later ones again."""
    entries, _ = read(path)
    Path(path).write_text("".join(json.dumps(e) + "\n" for e in entries if e["step"] <= last_step), encoding="utf-8")
