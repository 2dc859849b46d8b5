"""A store of 1,000 records reports in one pass (timings are in bench/RESULTS.md, not asserted here)."""

import csv

from harness.report.api import build_report
from tests.harness.report.storefactory import PAPER_TASKS, synthetic_store


def test_a_thousand_records(tmp_path):
    store = tmp_path / "store"
    assert synthetic_store(store, 1000, docs_scale=0.05, repeats=2) == 1000
    report = build_report(store, tmp_path / "out")
    assert report.records == 1000
    # 1,000 records = 4 full bases (14 rows x 3 seeds x 5 tasks = 210 records each) + 160 records of a fifth:
    # seeds 1 and 2 of all its 14 rows and seed 3 of its first 4.
    rows = list(csv.DictReader((tmp_path / "out" / "leaderboard.csv").open(encoding="utf-8")))
    ours = [r for r in rows if r["source"] == "ours"]
    assert len(ours) == 5 * 14
    assert [r["seeds"] for r in ours[-14:]] == ["3"] * 4 + ["2"] * 10
    sig = list(csv.DictReader((tmp_path / "out" / "significance.csv").open(encoding="utf-8")))
    assert len(sig) == 5 * 13 * len(PAPER_TASKS)  # every row but SFT, against SFT
    assert all(0 < float(r["p_value"]) <= 1 for r in sig)
