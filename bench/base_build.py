"""Benchmark: the testbed base build (time, final pretraining loss), and its thread count.

    python bench/base_build.py [--peer-steps 100] [--skip-full]

1. The default build (`profit testbed build`, 1 thread), from scratch into a temporary folder: wall time,
   pretraining time, final loss (mean of the last 5% of steps). (The base's accuracy is scored through the harness:
   the quickstart's base row.)
2. Peer: the same settings cut to --peer-steps steps, at 1 thread and at 2 threads, same process, one after the
   other; prints seconds per step and the ratio 2 threads / 1 thread (below 1: two threads are faster).
Never asserts a time; record the output in bench/RESULTS.md with the machine's load at the time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _build(folder: Path, cfg) -> dict:
    from profit_core.formats import base_build
    from testbed.build import build_base

    cpu = time.process_time()
    build_base(folder, config=cfg, force=True, progress=False)
    record = base_build.read(folder)
    record["cpu_s"] = round(time.process_time() - cpu, 1)
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer-steps", type=int, default=100, help="steps of the 1- vs 2-thread comparison")
    ap.add_argument("--skip-full", action="store_true", help="only the thread comparison")
    args = ap.parse_args()

    from profit_core.offline import go_offline

    go_offline()
    from testbed.build import BaseConfig

    cfg = BaseConfig()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_full:
            r = _build(Path(tmp) / "full", cfg)
            print(f"default build: wall {r['wall_s']} s (pretraining {r['train_s']} s, process CPU {r['cpu_s']} s), "
                  f"{r['params']} params, {cfg.steps} steps x {cfg.batch_size}, {r['tokens']} tokens, "
                  f"loss {r['loss']['first']} -> {r['loss']['final']}")
        per_step = {}
        for threads in (1, 2):
            peer = replace(cfg, steps=args.peer_steps, warmup=min(cfg.warmup, args.peer_steps - 1), threads=threads)
            r = _build(Path(tmp) / f"t{threads}", peer)
            per_step[threads] = r["train_s"] / args.peer_steps
            print(f"{threads} thread(s): {per_step[threads]:.3f} s/step over {args.peer_steps} steps")
        print(f"ratio 2 threads / 1 thread: {per_step[2] / per_step[1]:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
