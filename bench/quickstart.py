"""Benchmark: the README's main job from scratch, with evaluation, on every core vs one job at a time.

    python bench/quickstart.py [--workers 0 1] [--keep]

Each contender runs `profit pipeline configs/quickstart.yaml` (the command `tox -e quickstart` runs) in a fresh
process with a fresh cache (the testbed base is built again), a fresh runs folder and a fresh store, so nothing is
reused: base build, 21 trainings, every evaluation through vLLM, token analysis, report. `--workers 0` is the default
(one worker per core); `--workers 1` is the sequential peer (one job at a time, on one thread, as before the job
graph). Prints the wall time of each and the stage times from the pipeline's job summary, then the ratio. Never
asserts a time; record the output in bench/RESULTS.md with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(workers: int, scratch: Path) -> dict:
    config = yaml.safe_load((ROOT / "configs/quickstart.yaml").read_text())
    config.update(runs_dir=str(scratch / "runs"), store=str(scratch / "store"), report_dir=str(scratch / "results"),
                  workers=workers)
    path = scratch / "quickstart.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PROFIT_CACHE": str(scratch / "cache")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness.cli", "pipeline", str(path), "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"workers={workers}: the pipeline failed:\n{done.stderr[-3000:]}")
    stages = json.loads(re.search(r"^job seconds: (.*)$", done.stdout, re.M).group(1))
    reproduced = re.search(r"^reproduced: .*$", done.stdout, re.M)
    return {"wall_s": round(wall, 1), "stages": stages, "reproduced": reproduced.group(0) if reproduced else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1], help="contenders: 0 = one per core")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders (printed)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.2f}")
    results = {}
    for workers in args.workers:
        scratch = Path(tempfile.mkdtemp(prefix=f"quickstart-w{workers}-"))
        try:
            results[workers] = run(workers, scratch)
        finally:
            if args.keep:
                print(f"kept {scratch}")
            else:
                shutil.rmtree(scratch, ignore_errors=True)
        r = results[workers]
        label = "one per core" if workers == 0 else f"{workers} worker(s)"
        print(f"workers {label}: {r['wall_s']:.0f} s wall; job seconds (summed over jobs) {r['stages']}")
        if r["reproduced"]:
            print(f"  {r['reproduced']}")
    if 0 in results and 1 in results:
        print(f"ratio one-per-core / sequential: {results[0]['wall_s'] / results[1]['wall_s']:.2f}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
