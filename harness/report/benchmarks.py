"""Which task is which table column: labels and the paper's column order come from the task registry
(tasks/registry.py); a task it does not know keeps its own name and follows, by name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.registry import TASKS

_ORDER = {name: i for i, name in enumerate(TASKS)}
PAPER_IDS = tuple(spec.id for spec in TASKS.values() if spec.in_paper)


@dataclass(frozen=True, order=True)
class Benchmark:
    """One table column. Columns are keyed by task name, so two variants of a benchmark never merge."""

    order: int  # the registry's order (the paper's five first, as in its Table 1), then other tasks by name
    task: str
    id: str  # short id (the name without `profit_`, slugged); used in file names and CSV columns
    label: str
    in_paper: bool = False


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "task"


def benchmark_of(task_name: str) -> Benchmark:
    spec = TASKS.get(task_name)
    if spec is not None:
        return Benchmark(_ORDER[task_name], task_name, spec.id, spec.label, spec.in_paper)
    short = task_name.removeprefix("profit_")
    return Benchmark(len(_ORDER), task_name, slug(short), short)
