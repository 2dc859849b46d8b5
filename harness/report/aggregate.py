"""Pool the store's results into leaderboard rows: cells per benchmark, the average, Δ against SFT."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from harness.report.benchmarks import Benchmark, slug
from harness.report.rows import RowKey
from harness.report.store import Result


@dataclass(frozen=True)
class Cell:
    """A pooled score (fraction). stderr is across replicates when n >= 2, else the record's item-level one."""

    mean: float
    stderr: float | None
    n: int
    across_seeds: bool


@dataclass
class Row:
    key: RowKey
    results: dict[str, list[Result]]  # by task name
    cells: dict[str, Cell]
    seeds: int
    kept_fraction: float | None
    avg: Cell | None = None
    delta: Cell | None = None  # Avg minus the reference SFT row's Avg
    ref: RowKey | None = None  # the SFT row this row is compared with


@dataclass
class Table:
    benches: list[Benchmark]
    avg_benches: list[Benchmark]
    avg_label: str
    rows: list[Row]
    preset: str
    notes: list[str] = field(default_factory=list)

    @property
    def paper_avg(self) -> bool:
        """True when Avg is the paper's: the mean of its five benchmarks."""
        return len(self.avg_benches) == 5 and all(b.in_paper for b in self.avg_benches)

    def slug(self, bench: Benchmark) -> str:
        """File and CSV-column name of a benchmark; the task name's when two tasks are the same benchmark."""
        return bench.id if sum(b.id == bench.id for b in self.benches) == 1 else slug(bench.task)


def select(results: list[Result], preset: str | None) -> tuple[list[Result], str, list[str]]:
    """One sampling preset, one record per (model, task, eval seed): the table must compare like with like."""
    notes = []
    counts = Counter(r.preset for r in results)
    if preset is None:
        preset = min(counts, key=lambda p: (-counts[p], p)) if counts else ""
        if len(counts) > 1:
            listed = ", ".join(f"{p or '(none)'} ({counts[p]} records)" for p in sorted(counts))
            notes.append(f"the store holds several sampling presets: {listed}; reporting {preset!r} "
                         "(choose with --preset)")
    kept = [r for r in results if r.preset == preset]
    newest: dict[tuple, Result] = {}
    for r in kept:
        ident = (r.content_hash, r.bench.task, str(r.eval_seed))
        rank = (str(r.task_version), r.harness_version, r.created, r.file)
        old = newest.get(ident)
        if old is None or rank > (str(old.task_version), old.harness_version, old.created, old.file):
            newest[ident] = r
    if len(newest) < len(kept):
        notes.append(f"{len(kept) - len(newest)} older record(s) of the same model, task and seed were superseded "
                     "by newer task or harness versions")
    return sorted(newest.values(), key=lambda r: r.file), preset, notes


def pooled(results: list[Result]) -> Cell:
    values = np.array([r.value for r in results], dtype=float)
    if len(values) >= 2:
        return Cell(float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values), True)
    return Cell(float(values[0]), results[0].stderr, 1, False)


def combine(cells: list[Cell], sign: list[float] | None = None, scale: float = 1.0) -> Cell:
    """Σ sign_i · mean_i · scale, its stderr assuming independent parts: √(Σ se²) · scale."""
    sign = sign or [1.0] * len(cells)
    mean = sum(s * c.mean for s, c in zip(sign, cells)) * scale
    ses = [c.stderr for c in cells]
    stderr = None if any(s is None for s in ses) else math.sqrt(sum(s * s for s in ses)) * scale
    return Cell(mean, stderr, min(c.n for c in cells), all(c.across_seeds for c in cells))


def _columns(results: list[Result]) -> tuple[list[Benchmark], list[Benchmark], str]:
    benches = sorted({r.bench for r in results})
    paper = [b for b in benches if b.in_paper]
    if len({b.id for b in paper}) == 5 and len(paper) == 5:
        return benches, paper, "Avg"
    return benches, benches, "Avg (" + ", ".join(b.label for b in benches) + ")"


def _reference(key: RowKey, sft: dict[tuple[str, str], RowKey]) -> RowKey | None:
    if key.is_sft:
        return None
    return sft.get((key.base, key.variant)) or sft.get((key.base, ""))


def build_table(results: list[Result], preset: str) -> Table:
    benches, avg_benches, avg_label = _columns(results)
    grouped: dict[RowKey, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        grouped[r.row][r.bench.task].append(r)
    rows = []
    notes = []
    for key in sorted(grouped, key=RowKey.sort_key):
        by_task = {task: grouped[key][task] for task in sorted(grouped[key])}
        cells = {task: pooled(rs) for task, rs in by_task.items()}
        seeds = max(c.n for c in cells.values())
        kept = sorted({r.content_hash: r.kept_fraction for rs in by_task.values() for r in rs
                       if r.kept_fraction is not None}.items())
        row = Row(key, by_task, cells, seeds, float(np.mean([k for _, k in kept])) if kept else None)
        missing = [b.label for b in benches if b.task not in cells]
        if missing:
            notes.append(f"{_name(key)}: no result for {', '.join(missing)}")
        thin = [f"{b.label} ({cells[b.task].n})" for b in benches if b.task in cells and cells[b.task].n < seeds]
        if thin:
            notes.append(f"{_name(key)}: fewer seeds than the row's {seeds} for {', '.join(thin)}")
        if all(b.task in cells for b in avg_benches):
            row.avg = combine([cells[b.task] for b in avg_benches], scale=1.0 / len(avg_benches))
        rows.append(row)
    sft = {}
    for row in rows:
        if row.key.is_sft:
            sft.setdefault((row.key.base, row.key.variant), row.key)
    by_key = {row.key: row for row in rows}
    for row in rows:
        row.ref = _reference(row.key, sft)
        ref = by_key.get(row.ref) if row.ref else None
        if row.avg is not None and ref is not None and ref.avg is not None:
            row.delta = combine([row.avg, ref.avg], sign=[1.0, -1.0])
    if results and not sft:
        notes.append("no SFT row: Δ vs SFT and the significance tests are left empty")
    return Table(benches, avg_benches, avg_label, rows, preset, notes)


def _name(key: RowKey) -> str:
    parts = [key.base, key.method]
    if key.strategy:
        parts.append(f"{key.strategy} τ={key.tau_text}")
    return " / ".join(parts)
