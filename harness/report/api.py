"""build_report: the whole report (tables, significance, plots) from the store alone, deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.report.aggregate import Table, build_table, select
from harness.report.best import best_table
from harness.report.footer import footer_lines
from harness.report.page import page_html
from harness.report.plots.canvas import write_csv
from harness.report.plots.tau import acc_vs_tau, higher_vs_lower
from harness.report.plots.tokens import token_hist
from harness.report.plots.training import training_curves
from harness.report.reported import paper_rows
from harness.report.significance import RESAMPLES, SEED, compare_to_sft
from harness.report.store import StoreError, load_store
from harness.report.tables import best_section, csv_text, display_rows, latex, markdown
from profit_core.files import atomic_write
from profit_core.folders import claim, marker_kind

SIGNIFICANCE_FIELDS = ["compared", "base_model", "method", "strategy", "tau", "variant", "sft_variant", "benchmark",
                       "task", "runs", "sft_runs", "n_questions", "mean", "sft_mean", "diff", "ci_low", "ci_high",
                       "p_value", "p_floor", "p_questions_only", "run_means", "sft_run_means", "resamples", "seed"]
# What a report folder holds (besides a results store or another report in a subfolder, and the folder marker).
REPORT_ENTRIES = ("leaderboard.md", "leaderboard.csv", "leaderboard.tex", "significance.csv", "plots", "store",
                  "index.html")
# Every plot is drawn from the store alone: older ones of these kinds that this run did not write are stale.
_PLOTS = ("acc_vs_tau_", "higher_vs_lower.", "training_curves.", "token_p_hist.")


@dataclass
class Report:
    files: list[Path] = field(default_factory=list)  # every file written, in the order written
    notes: list[str] = field(default_factory=list)  # what was skipped or is partial, for the user
    records: int = 0
    table: Table | None = None


def _write(path: Path, text: str, report: Report) -> None:
    atomic_write(path, text.encode("utf-8"))
    report.files.append(path)


def _significance(tables: list[tuple[str, Table]], out: Path, report: Report) -> list[dict]:
    """Write significance.csv for each (what is compared, table); returns per table {(row key, task): +1 or -1}
    for the cells that differ from SFT's at p < 0.05 (above or below it)."""
    rows, marks = [], []
    for compared, table in tables:
        found, mine = _comparisons(compared, table)
        rows += found
        marks.append(mine)
    write_csv(out / "significance.csv", SIGNIFICANCE_FIELDS, rows)
    report.files.append(out / "significance.csv")
    return marks


def _comparisons(compared: str, table: Table) -> tuple[list[dict], dict]:
    comparisons, notes = compare_to_sft(table)
    table.notes.extend(notes)
    variant = {row.key: row.key.variant for row in table.rows}

    def percent(x: float) -> float:
        return round(100 * x, 4)

    rows = [{"compared": compared, "base_model": c.row.key.base, "method": c.row.key.method,
             "strategy": c.row.key.strategy, "tau": "" if c.row.key.tau is None else c.row.key.tau_text,
             "variant": c.row.key.variant, "sft_variant": variant.get(c.ref.key, ""),
             "benchmark": c.bench.label, "task": c.bench.task, "runs": len(c.run_means),
             "sft_runs": len(c.ref_run_means), "n_questions": c.n_docs, "mean": percent(c.mean),
             "sft_mean": percent(c.ref_mean), "diff": percent(c.estimate.diff), "ci_low": percent(c.estimate.ci_low),
             "ci_high": percent(c.estimate.ci_high), "p_value": round(c.p_value, 4),
             "p_floor": round(c.estimate.p_floor, 4),
             "p_questions_only": None if c.p_questions is None else round(c.p_questions, 4),
             "run_means": ";".join(f"{100 * x:.4f}" for x in c.run_means),
             "sft_run_means": ";".join(f"{100 * x:.4f}" for x in c.ref_run_means),
             "resamples": RESAMPLES, "seed": SEED} for c in comparisons]
    return rows, {(c.row.key, c.bench.task): (1 if c.estimate.diff > 0 else -1) for c in comparisons
                  if c.p_value < 0.05 and c.bench.task not in table.partial}


def build_report(store: Path, out: Path, *, paper_table: bool = True, preset: str | None = None,
                 plots: bool = True, select_on: str | None = None) -> Report:
    """Write leaderboard.{md,csv,tex}, index.html, significance.csv and plots/ under `out` from the records in `store`.

    paper_table: add the paper's reported rows for matching base models. preset: the sampling preset to report
    (default: the one most records use). plots: False writes the tables only (plots cost most of the time).
    select_on: a held-out task: also show each method at its own best training setting chosen on it (best.py).

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
    compared = [("same setting", table)]
    best = []
    if select_on:
        if any(select_on in row.cells for row in table.rows):
            bt, best = best_table(table, select_on)
            compared.append((f"each at its best on {select_on}", bt))
        else:
            table.notes.append(f"select_on {select_on}: no record of that task, so no best-setting table")
    marks = _significance(compared, out, report)  # first: its notes belong in the footer

    shown, smoke, has_reported = display_rows(table, paper_rows() if paper_table else [], marks[0])
    sections = [best_section(compared[1][1], best, select_on, marks[1])] if best else []
    footer = footer_lines(table, has_reported)
    _write(out / "leaderboard.md", markdown(table, shown, smoke, footer, sections), report)
    _write(out / "leaderboard.csv", csv_text(table, shown, smoke), report)
    _write(out / "leaderboard.tex", latex(table, shown, smoke, footer, sections), report)

    report.notes.extend(table.notes)
    if plots:
        _plots(table, store, out / "plots", report)
    _write(out / "index.html", page_html(table, shown, smoke, footer, sections,
                                         [f for f in report.files if f.suffix == ".png"]), report)
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
    files, notes = token_hist(store, plots)
    written += files
    report.notes += notes
    report.files += written
    if plots.is_dir():
        for old in sorted(plots.iterdir()):
            if old in written:
                continue
            if old.name.startswith(_PLOTS):
                old.unlink()
