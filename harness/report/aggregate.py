"""Pool the store's results into leaderboard rows: cells per benchmark, the average, Δ against SFT."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from harness.report.benchmarks import Benchmark, slug
from harness.report.rows import RowKey
from harness.report.store import Result
from profit_core.files import canonical_json


@dataclass(frozen=True)
class Cell:
    """A pooled score (fraction). stderr is across replicates when n >= 2, else the record's item-level one."""

    mean: float
    stderr: float | None
    n: int
    across_seeds: bool
    values: tuple[float, ...] = ()  # each replicate's score (the per-seed spread)


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
    benches: list[Benchmark]  # every column, full benchmarks and slices
    avg_benches: list[Benchmark]  # the paper's five when all are scored in full (its Avg), else none
    avg_label: str
    rows: list[Row]
    preset: str
    notes: list[str] = field(default_factory=list)
    partial: dict[str, int] = field(default_factory=dict)  # task -> questions, for columns scored on a slice

    @property
    def paper_avg(self) -> bool:
        """True when the table has the paper's Avg: the mean of its five benchmarks, each scored in full."""
        return bool(self.avg_benches)

    @property
    def main(self) -> list[Benchmark]:
        """The columns that measure something: benchmarks scored in full."""
        return [b for b in self.benches if b.task not in self.partial]

    @property
    def smoke(self) -> list[Benchmark]:
        """Columns scored on a slice (a `limit`): a check that the task runs, not a measurement."""
        return [b for b in self.benches if b.task in self.partial]

    def slug(self, bench: Benchmark) -> str:
        """File and CSV-column name of a benchmark; the task name's when two tasks are the same benchmark."""
        return bench.id if sum(b.id == bench.id for b in self.benches) == 1 else slug(bench.task)


def setting(r: Result) -> str:
    """What a record measured besides the model: the task's version and every sampling setting (limit, generation
    limit, repeats, temperature, ...). Records of two settings are never pooled in one cell."""
    return canonical_json({"task_version": r.task_version, "sampling": r.sampling})


def _choose_settings(results: list[Result]) -> tuple[list[Result], list[str]]:
    """Per (row, task), the records of one setting: the one that scored the most questions (a full benchmark is
    never replaced by a smaller slice), then the one with the most checkpoints, then the newest task version."""
    notes = []
    cells: dict[tuple, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        cells[(r.row, r.bench.task)][setting(r)].append(r)
    def rank(item: tuple[str, list[Result]]) -> tuple:
        name, records = item
        return (max(r.n_scored or 0 for r in records), len({r.content_hash for r in records}),
                str(records[0].task_version), name)

    kept = []
    for (row, _), by_setting in cells.items():
        chosen, *others = sorted(by_setting.items(), key=rank, reverse=True)
        kept += chosen[1]
        for _, records in others:
            r = records[0]
            notes.append(f"{_name(row)}, {r.bench.label}: {len(records)} record(s) of another setting left out "
                         f"({_describe(r)}); the cell uses {_describe(chosen[1][0])}")
    return kept, sorted(notes)


def _describe(r: Result) -> str:
    limit = f"limit {r.sampling.get('limit')}" if r.sampling.get("limit") is not None else "all questions"
    return (f"{r.n_scored if r.n_scored is not None else '?'} questions ({limit}), task version {r.task_version}, "
            f"max_gen_toks {r.sampling.get('max_gen_toks')}, repeats {r.sampling.get('repeats')}")


def select(results: list[Result], preset: str | None) -> tuple[list[Result], str, list[str]]:
    """One sampling preset; per (row, task) one setting (`_choose_settings`); one record per (model, task, eval
    seed): the table must compare like with like, and says what it left out and why."""
    notes = []
    counts = Counter(r.preset for r in results)
    if preset is None:
        preset = min(counts, key=lambda p: (-counts[p], p)) if counts else ""
        if len(counts) > 1:
            listed = ", ".join(f"{p or '(none)'} ({counts[p]} records)" for p in sorted(counts))
            notes.append(f"the store holds several sampling presets: {listed}; reporting {preset!r} "
                         "(choose with --preset)")
    kept, setting_notes = _choose_settings([r for r in results if r.preset == preset])
    notes += setting_notes
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
    ordered = sorted(results, key=lambda r: (str(r.train_seed), str(r.eval_seed), r.content_hash))
    values = np.array([r.value for r in ordered], dtype=float)
    if len(values) >= 2:
        return Cell(float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values))), len(values), True,
                    tuple(float(v) for v in values))
    return Cell(float(values[0]), results[0].stderr, 1, False, (float(values[0]),))


def combine(cells: list[Cell], sign: list[float] | None = None, scale: float = 1.0) -> Cell:
    """Σ sign_i · mean_i · scale, its stderr assuming independent parts: √(Σ se²) · scale."""
    sign = sign or [1.0] * len(cells)
    mean = sum(s * c.mean for s, c in zip(sign, cells)) * scale
    ses = [c.stderr for c in cells]
    stderr = None if any(s is None for s in ses) else math.sqrt(sum(s * s for s in ses)) * scale
    return Cell(mean, stderr, min(c.n for c in cells), all(c.across_seeds for c in cells))


def _columns(results: list[Result]) -> tuple[list[Benchmark], dict[str, int], list[Benchmark]]:
    """Every column; those scored on a slice (task -> questions); the Avg's columns: the paper's five when each
    is scored in full (averaging a slice, or benchmarks the paper does not average, would dress noise up)."""
    benches = sorted({r.bench for r in results})
    partial = {}
    for bench in benches:
        mine = [r for r in results if r.bench == bench]
        if any(r.n_scored is not None and r.n_docs is not None and r.n_scored < r.n_docs for r in mine):
            partial[bench.task] = max(r.n_scored for r in mine if r.n_scored is not None)
    paper = [b for b in benches if b.in_paper and b.task not in partial]
    return benches, partial, paper if len({b.id for b in paper}) == 5 and len(paper) == 5 else []


def _reference(key: RowKey, sft: dict[tuple[str, str], RowKey]) -> RowKey | None:
    if key.is_sft:
        return None
    return sft.get((key.base, key.variant)) or sft.get((key.base, ""))


def build_table(results: list[Result], preset: str) -> Table:
    benches, partial, avg_benches = _columns(results)
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
        if avg_benches and all(b.task in cells for b in avg_benches):
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
    return Table(benches, avg_benches, "Avg", rows, preset, notes, partial)


def _name(key: RowKey) -> str:
    parts = [key.base, key.method]
    if key.strategy:
        parts.append(f"{key.strategy} τ={key.tau_text}")
    return " / ".join(parts)
