"""build_report: the whole report (tables, significance, plots) from the store alone, deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.report.aggregate import Table, build_table, select
from harness.report.footer import footer_lines
from harness.report.plots.canvas import write_csv
from harness.report.plots.tau import acc_vs_tau, higher_vs_lower
from harness.report.plots.tokens import token_hist
from harness.report.plots.training import training_curves
from harness.report.reported import paper_rows
from harness.report.significance import RESAMPLES, SEED, compare_to_sft
from harness.report.store import StoreError, load_store
from harness.report.tables import csv_text, display_rows, latex, markdown
from profit_core.files import atomic_write
from profit_core.folders import claim, marker_kind

SIGNIFICANCE_FIELDS = ["base_model", "method", "strategy", "tau", "variant", "benchmark", "task", "n_questions",
                       "mean", "sft_mean", "diff", "p_value", "resamples", "seed"]
# What a report folder holds (besides a results store or another report in a subfolder, and the folder marker).
REPORT_ENTRIES = ("leaderboard.md", "leaderboard.csv", "leaderboard.tex", "significance.csv", "plots", "store",
                  "index.html")
# Plots drawn from the records alone: older ones that this run did not write are removed as stale.
_FROM_RECORDS = ("acc_vs_tau_", "higher_vs_lower.")
# Plots drawn from files outside the records (train logs beside checkpoints, token_analysis.json): when those are
# gone (a clean clone of committed results), the earlier plot is kept, with a note, rather than lost.
_FROM_SIDE_FILES = ("training_curves.", "token_p_hist.")


@dataclass
class Report:
    files: list[Path] = field(default_factory=list)  # every file written, in the order written
    notes: list[str] = field(default_factory=list)  # what was skipped or is partial, for the user
    records: int = 0
    table: Table | None = None


def _write(path: Path, text: str, report: Report) -> None:
    atomic_write(path, text.encode("utf-8"))
    report.files.append(path)


def _significance(table: Table, out: Path, report: Report) -> None:
    comparisons, notes = compare_to_sft(table)
    table.notes.extend(notes)
    rows = [{"base_model": c.row.key.base, "method": c.row.key.method, "strategy": c.row.key.strategy,
             "tau": "" if c.row.key.tau is None else c.row.key.tau_text, "variant": c.row.key.variant,
             "benchmark": c.bench.label, "task": c.bench.task, "n_questions": c.n_docs,
             "mean": round(100 * c.mean, 4), "sft_mean": round(100 * c.ref_mean, 4),
             "diff": round(100 * (c.mean - c.ref_mean), 4), "p_value": round(c.p_value, 4),
             "resamples": RESAMPLES, "seed": SEED} for c in comparisons]
    write_csv(out / "significance.csv", SIGNIFICANCE_FIELDS, rows)
    report.files.append(out / "significance.csv")


def build_report(store: Path, out: Path, *, paper_table: bool = True, preset: str | None = None,
                 plots: bool = True) -> Report:
    """Write leaderboard.{md,csv,tex}, significance.csv and plots/ under `out` from the records in `store`.

    paper_table: add the paper's reported rows for matching base models. preset: the sampling preset to report
    (default: the one most records use). plots: False writes the tables only (plots cost most of the time).

    Raises StoreError (a message for the user) when the store is missing or holds no usable record; anything
    partial is reported in Report.notes and the table footer instead.
    """
    store, out = Path(store), Path(out)
    loaded = load_store(store)
    results, preset, select_notes = select(loaded.results, preset)
    if not results:
        why = f"; {len(loaded.notes)} file(s) skipped, first: {loaded.notes[0]}" if loaded.notes else ""
        wanted = f" with sampling preset {preset!r}" if loaded.results else ""
        raise StoreError(f"the store at {store} holds no usable record{wanted} ({loaded.files} record file(s)"
                         f"{why}); run `profit eval` first")
    claim(out, "report", REPORT_ENTRIES, what="report folder", allow=lambda p: p.is_dir() and bool(marker_kind(p)))
    table = build_table(results, preset)
    table.notes[:0] = loaded.notes + select_notes
    report = Report(records=len(results), table=table)
    _significance(table, out, report)  # first: its notes belong in the footer

    shown, has_reported = display_rows(table, paper_rows() if paper_table else [])
    footer = footer_lines(table, has_reported)
    _write(out / "leaderboard.md", markdown(table, shown, footer), report)
    _write(out / "leaderboard.csv", csv_text(table, shown), report)
    _write(out / "leaderboard.tex", latex(table, shown, footer), report)

    report.notes.extend(table.notes)
    if plots:
        _plots(table, store, out / "plots", report)
    return report


def _plots(table: Table, store: Path, plots: Path, report: Report) -> None:
    written = []
    for bench in [*table.benches, None]:
        written += acc_vs_tau(table, bench, plots)
    if not written:
        report.notes.append("accuracy-vs-τ plots: no ProFit run with the higher or lower strategy in the store")
    written += higher_vs_lower(table, plots)
    files, notes = training_curves(table, store, plots)
    written += files
    report.notes += notes
    model_paths = [r.model_path for row in table.rows for rs in row.results.values() for r in rs]
    files, notes = token_hist(store, model_paths, plots)
    written += files
    report.notes += notes
    report.files += written
    if plots.is_dir():
        for old in sorted(plots.iterdir()):
            if old in written:
                continue
            if old.name.startswith(_FROM_RECORDS):
                old.unlink()
            elif old.name.startswith(_FROM_SIDE_FILES) and old.suffix == ".png":
                report.notes.append(f"plots/{old.name} is kept from an earlier run: its input files are gone")
