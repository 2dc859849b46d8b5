"""`<run>/token_weights.jsonl` (one file per rank: `token_weights.rank<r>.jsonl` beyond rank 0): every supervised
token of every optimizer step with the probability p and the weight the loss gave it. Written by `profit train`
when `token_log` is on; the testbed reads it for the share of core and trivial tokens a method actually trained on.

One line per optimizer step: {"step": s, "row": [...], "token": [...], "p": [...], "weight": [...]}; `row` is the
data file's row (0-based, blank lines not counted), `token` the token's index in that example's input_ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from . import train_log

PREFIX = "token_weights"


def path_of(folder: str | Path, rank: int = 0) -> Path:
    return Path(folder) / (f"{PREFIX}.jsonl" if rank == 0 else f"{PREFIX}.rank{rank}.jsonl")


def append(path: str | Path, step: int, rows: list[int], tokens: list[int], p: list[float],
           weights: list[float]) -> None:
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "row": rows, "token": tokens,
                                 "p": [round(x, 6) for x in p], "weight": [round(x, 6) for x in weights]}) + "\n")


def truncate(path: str | Path, last_step: int) -> None:
    """On resume: the same rule as the train log (the resumed run logs the later steps again)."""
    train_log.truncate(path, last_step)


def read(folder: str | Path) -> Iterator[dict]:
    """Every step entry of every rank's file (a partial last line of a killed run is dropped)."""
    for path in sorted(Path(folder).glob(f"{PREFIX}*.jsonl")):
        yield from train_log.read(path)[0]
