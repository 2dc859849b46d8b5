"""`profit report`: leaderboard tables, significance tests and plots regenerated from the results store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.report.api import build_report
from profit_core.errors import run_command

DESCRIPTION = """\
Regenerate the leaderboard and plots from the results store alone (records/*.json; samples are never read).

Writes under --out:
  leaderboard.md / .csv / .tex   rows (base model, method, strategy, τ); columns the benchmarks present, Avg
                                 (the paper's five-benchmark mean when all five are there) and Δ vs SFT;
                                 cells mean ± stderr in % [per-seed range], ▲/▼ where the seed-aware test
                                 says p < 0.05 against SFT, settings in the footer; benchmarks scored on a slice
                                 in a separate smoke table
  index.html                     the same tables as one self-contained page (no network): sortable, filterable,
                                 each cell showing the records behind it; the plots inline
  significance.csv               each method vs SFT on the same base, per benchmark: difference, 95% interval and
                                 p-value over training seeds and questions (p >= the permutation floor)
  plots/*.png + *.csv            accuracy vs τ per benchmark and Avg, higher vs lower (paper Fig. 4), training
                                 curves, core/trivial token probabilities; each beside the CSV it was drawn from
The same store gives byte-identical files. Exit status 2, with a message, when the store is missing or holds no
usable record, or when --out is not a report folder (a file, a model, a folder of other files)."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="profit report", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("results/store"),
                        help="results store root, the folder holding records/ (default: results/store)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    parser.add_argument("--preset", default=None,
                        help="sampling preset to report (default: the one most records use); tables never mix two")
    parser.add_argument("--no-paper-table", dest="paper_table", action="store_false",
                        help="leave out the paper's reported Table 1 rows")
    parser.add_argument("--no-plots", dest="plots", action="store_false",
                        help="write the tables and significance.csv only (plots take most of the time)")
    parser.add_argument("--select-on", metavar="TASK", default=None,
                        help="a held-out task (e.g. profit_testbed_dev): also show each method at its own best "
                             "training setting (a sweep's learning rates...) chosen on it, never on the test split")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_command("profit report", _main, argv)


def _main(argv: list[str]) -> int:
    args = parse(argv)
    report = build_report(args.store, args.out, paper_table=args.paper_table, preset=args.preset, plots=args.plots,
                          select_on=args.select_on)
    if not args.quiet:
        print((args.out / "leaderboard.md").read_text(encoding="utf-8"))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"profit report: {report.records} records -> {len(report.files)} files under {args.out}/")
    return 0
