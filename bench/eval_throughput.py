"""Generated tokens/s of `profit eval` per backend on one task and model, and our overhead against a bare
`lm_eval.simple_evaluate` of the same task, all in one run.

    python bench/eval_throughput.py [--model DIR] [--max-gen-toks 128] [--limit N]

Without --model it builds a random Qwen3 (hidden 512, 8 layers, ~25M parameters; random weights never stop early,
so every request generates max_gen_toks tokens). Task: the tests' 12-question fixture `tiny_arith_long` (no newline
stop), greedy, chat template on. Peers: the hf backend for throughput; bare lm-eval (same engine settings, same
task) for overhead, each measured twice, interleaved, best of two.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

from profit_core.offline import go_offline  # noqa: E402

go_offline()

ENGINE = {"max_model_len": 512, "kv_cache_memory_bytes": 128 << 20, "dtype": "float32"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--max-gen-toks", type=int, default=128)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    from harness.evaluate.api import evaluate
    from tests.harness.tiny_model import FIXTURE_TASKS, build_checkpoint

    work = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    model = args.model or build_checkpoint(work / "random", steps=0, seed=1, hidden=512, layers=8)
    common = dict(include_paths=[FIXTURE_TASKS], max_gen_toks=args.max_gen_toks, limit=args.limit,
                  engine_kwargs=ENGINE)
    rows = {}
    bare, ours = [], []
    for backend in ("hf", "vllm-server", "vllm", "vllm"):
        if backend == "vllm":
            bare.append(_bare_lm_eval(model, args, FIXTURE_TASKS))
        t0 = time.perf_counter()
        store = Path(tempfile.mkdtemp(dir=work))
        (rec,) = evaluate([model], ["tiny_arith_long"], backend=backend, store=store, **common)
        wall = time.perf_counter() - t0
        if backend == "vllm":
            ours.append(wall)
        rows[backend] = (rec["generated_tokens"], rec["timings"]["generate_s"], wall, rec)
    hf_tps = rows["hf"][0] / rows["hf"][1]
    print(f"model {model}, task tiny_arith_long ({rows['hf'][3]['task']['n_scored']} docs), greedy, "
          f"max_gen_toks {args.max_gen_toks}")
    print("| backend | generated tokens | generate s | tokens/s | × hf | whole run s |")
    print("|---|---|---|---|---|---|")
    for backend, (tokens, gen_s, wall, _) in rows.items():
        tps = tokens / gen_s
        print(f"| {backend} | {tokens} | {gen_s:.2f} | {tps:.1f} | {tps / hf_tps:.2f} | {wall:.1f} |")
    ours, bare = min(ours), min(bare)
    print(f"\noverhead: profit eval (vllm) {ours:.1f} s vs bare lm_eval.simple_evaluate(vllm) {bare:.1f} s "
          f"= {100 * (ours / bare - 1):+.1f}% (engine start included in both)")


def _bare_lm_eval(model: Path, args, tasks_dir: Path) -> float:
    """The peer: lm-eval alone, same model, task, decoding and engine settings; no hashing, store or records."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    t0 = time.perf_counter()
    model_args = {"pretrained": str(model), "enforce_eager": True, **ENGINE}
    lm_eval.simple_evaluate(
        model="vllm", model_args=model_args, tasks=["tiny_arith_long"], limit=args.limit, apply_chat_template=True,
        task_manager=TaskManager(include_path=[str(tasks_dir)], include_defaults=False), log_samples=True,
        gen_kwargs={"max_gen_toks": args.max_gen_toks, "temperature": 0.0, "do_sample": False},
        bootstrap_iters=1000,
    )
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
