"""Each method at its own best training setting, chosen on a held-out split, never on the test split.

A sweep (a list of learning rates in a pipeline's `methods`) gives one row per (method, setting). Comparing methods
at one shared setting favours whichever method that setting suits; each method at the setting that is best for it,
chosen on held-out questions the report does not show as a result, is the fair comparison. The chosen rows are then
compared with SFT at its own best setting, over seeds and questions, like every other comparison (significance.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.report.aggregate import Cell, Row, Table
from harness.report.rows import RowKey


@dataclass(frozen=True)
class Best:
    row: Row  # the chosen row (its `ref` is SFT's chosen row)
    settings: int  # how many settings of the method were tried
    selection: Cell  # its score on the held-out task


def _method(key: RowKey) -> tuple:
    """A row's identity without its training settings (`variant`): what the selection chooses among."""
    return (key.base, key.objective, key.method, key.strategy, key.tau, key.tau_high)


def choose(table: Table, held_out: str) -> list[Best]:
    """Per (base, method), the row with the highest mean on `held_out`; rows without it cannot be chosen."""
    groups: dict[tuple, list[Row]] = {}
    for row in table.rows:
        if held_out in row.cells and row.key.objective != "base":
            groups.setdefault(_method(row.key), []).append(row)
    chosen = {k: max(rows, key=lambda r: (r.cells[held_out].mean, r.key.variant)) for k, rows in groups.items()}
    sft = {k[0]: row.key for k, row in chosen.items() if row.key.is_sft}
    return [Best(replace(row, ref=sft.get(row.key.base) if not row.key.is_sft else None), len(groups[k]),
                 row.cells[held_out]) for k, row in chosen.items()]


def best_table(table: Table, held_out: str) -> tuple[Table, list[Best]]:
    """The chosen rows as a table of their own (every column but the held-out one), for display and significance."""
    best = choose(table, held_out)
    benches = [b for b in table.benches if b.task != held_out]
    partial = {t: n for t, n in table.partial.items() if t != held_out}
    return Table(benches, [], table.avg_label, [b.row for b in best], table.preset, [], partial), best
