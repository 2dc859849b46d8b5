"""The paper's reported Table 1, shown as "reported" rows beside ours when the base model matches.

Source: Liu et al., "ProFit: Leveraging High-Value Signals in SFT via Probability-Guided Token Selection",
arXiv 2601.09195v3 (2026), Table 1 (accuracy %, as printed). The CSV beside this file is a verbatim copy.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePath

from harness.report.benchmarks import PAPER_IDS

CITATION = "Liu et al. 2026, ProFit, arXiv 2601.09195v3, Table 1"
_METHOD = {"Vanilla": "base", "SFT": "sft", "Entropy": "entropy", "DFT": "dft", "ProFit": "profit"}


@dataclass(frozen=True)
class ReportedRow:
    model: str
    method: str  # as printed: Vanilla, SFT, Entropy, DFT, ProFit
    objective: str  # our name for it: base, sft, ...
    scores: dict[str, str]  # canonical benchmark id -> the printed number
    avg: str

    def score(self, bench_id: str) -> float | None:
        return float(self.scores[bench_id]) if bench_id in self.scores else None


def paper_rows() -> list[ReportedRow]:
    text = resources.files("harness.report").joinpath("paper_table1.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    rows = []
    for rec in csv.DictReader(lines):
        rows.append(ReportedRow(rec["model"], rec["method"], _METHOD[rec["method"]],
                                {b: rec[b] for b in PAPER_IDS}, rec["avg"]))
    return rows


def matching(base_name: str, rows: list[ReportedRow]) -> list[ReportedRow]:
    """Rows of the same base model: case-insensitive, on the name or its last path component."""
    wanted = {base_name.lower(), PurePath(base_name.rstrip("/")).name.lower()}
    return [r for r in rows if r.model.lower() in wanted]
