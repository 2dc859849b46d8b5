"""Report benchmark: `build_report` on a synthetic store of N records, against the cost of just reading them.

The store is a realistic grid (base models x base/SFT/DFT/entropy/ProFit higher+lower at 5 τ x 3 seeds x the
paper's five benchmarks at their real question counts, 8 repeats each), so each record carries its full per-question
scores. The peer is `json.load` of every record file, the floor any report over the store pays.

    python bench/report_scale.py                 # 1,000 records
    python bench/report_scale.py --records 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.report.aggregate import build_table, select  # noqa: E402
from harness.report.api import build_report  # noqa: E402
from harness.report.significance import compare_to_sft  # noqa: E402
from harness.report.store import load_store  # noqa: E402
from tests.harness.report.storefactory import synthetic_store  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, out = Path(tmp) / "store", Path(tmp) / "out"
        synthetic_store(store, args.records)
        size = sum(p.stat().st_size for p in (store / "records").iterdir()) / 2**20
        _, t_read = timed(lambda: [json.loads(p.read_text()) for p in sorted((store / "records").glob("*.json"))])
        loaded, t_load = timed(lambda: load_store(store))
        table, t_table = timed(lambda: build_table(*select(loaded.results, None)[:2]))
        comparisons, t_sig = timed(lambda: compare_to_sft(table)[0])
        report, t_all = timed(lambda: build_report(store, out))
        t_plots = t_all - t_load - t_table - t_sig
        print(f"{args.records} records ({size:.1f} MiB), {len(table.rows)} rows, {len(comparisons)} bootstrap "
              f"comparisons x 10,000 resamples, {len(report.files)} files")
        print(f"peer: json.load of every record   {t_read:6.2f} s")
        for name, t in (("load + validate", t_load), ("table", t_table), ("significance", t_sig),
                        ("plots + writing (rest)", t_plots), ("build_report total", t_all)):
            print(f"{name:<34}{t:6.2f} s   {t / t_read:5.2f}x peer")


if __name__ == "__main__":
    main()
