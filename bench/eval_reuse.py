"""Many checkpoints, one engine: `profit eval` of K same-architecture checkpoints in one process (one vLLM engine,
weights swapped in) against K separate `profit eval` runs (one engine start each), same task, same store layout.

    python bench/eval_reuse.py [--k 4] [--backend vllm]

Checkpoints: the tests' tiny Qwen3, K seeds (random weights, so each generates until max_gen_toks=32).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--backend", default="vllm", choices=["vllm", "vllm-server"])
    args = ap.parse_args()
    from profit_core.offline import go_offline
    from tests.harness.tiny_model import FIXTURE_TASKS, build_checkpoint

    go_offline()
    work = Path(tempfile.mkdtemp(prefix="bench-reuse-"))
    ckpts = [str(build_checkpoint(work / f"ck{i}", steps=0, seed=i)) for i in range(args.k)]

    def profit_eval(paths: list[str], store: Path) -> float:
        cmd = [sys.executable, "-m", "harness.cli", "eval", *paths, "--tasks", "tiny_arith_long", "--include-path",
               str(FIXTURE_TASKS), "--backend", args.backend, "--store", str(store), "--max-gen-toks", "32",
               "--max-model-len", "256", "--kv-cache", "64M", "--dtype", "float32"]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
        return time.perf_counter() - t0

    separate = sum(profit_eval([c], work / "separate") for c in ckpts)
    together = profit_eval(ckpts, work / "together")
    print(f"{args.k} checkpoints, backend {args.backend}, task tiny_arith_long (12 docs, 32 new tokens each)")
    print("| how | seconds | × separate |")
    print("|---|---|---|")
    print(f"| {args.k} separate `profit eval` runs (peer) | {separate:.1f} | 1.00 |")
    print(f"| one `profit eval` of all {args.k}, one engine | {together:.1f} | {together / separate:.2f} |")


if __name__ == "__main__":
    main()
