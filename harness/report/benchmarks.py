"""Which task is which benchmark: display label, column order, file-name slug."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (canonical id, label, task-name aliases after dropping a "profit_" prefix) in the paper's column order.
_PAPER = (
    ("gsm8k", "GSM8K", ("gsm8k",)),
    ("math500", "MATH-500", ("math500", "math_500")),
    ("aime24", "AIME'24", ("aime24", "aime2024", "aime_2024")),
    ("gpqa_diamond", "GPQA-D", ("gpqa_diamond", "gpqa_d", "gpqad")),
    ("ifeval", "IFEval", ("ifeval",)),
)
PAPER_IDS = tuple(b[0] for b in _PAPER)


@dataclass(frozen=True, order=True)
class Benchmark:
    """One table column. Columns are keyed by task name, so two variants of a benchmark never merge."""

    order: int  # paper benchmarks first in the paper's order, then the others by task name
    task: str
    id: str  # canonical id for a paper benchmark, else a slug of the task name; used in file names
    label: str

    @property
    def in_paper(self) -> bool:
        return self.id in PAPER_IDS


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "task"


def benchmark_of(task_name: str) -> Benchmark:
    short = task_name[len("profit_"):] if task_name.startswith("profit_") else task_name
    for order, (bid, label, aliases) in enumerate(_PAPER):
        if short.lower() in aliases:
            return Benchmark(order, task_name, bid, label)
    return Benchmark(len(_PAPER), task_name, slug(short), short)
