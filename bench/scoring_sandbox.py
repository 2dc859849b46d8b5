"""Cost of sandboxed scoring: MATH-500 responses scored through the profit tasks' worker process (time limit, memory
limit, JSON over a pipe) vs the same math-verify calls in-process (the peer, no protection).

    python bench/scoring_sandbox.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"
sys.path.append(str(TASKS_DIR))

from _profit_common.sandbox import ScoringSandbox  # noqa: E402
from _profit_common.scorers import score_math500, warm_up  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="MATH-500 problems to score (two responses each)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (TASKS_DIR / "profit_math500/data/test.jsonl").read_text().splitlines()]
    # A right and a wrong boxed answer per problem, after some reasoning text, as a model would write.
    work = [({"answer": r["answer"]}, f"Let us reason step by step.\n{r['problem']}\nSo \\boxed{{{ans}}}.")
            for r in rows[: args.n] for ans in (r["answer"], "0")]

    warm_up()
    t0 = time.perf_counter()
    direct = [score_math500(doc, text) for doc, text in work]
    t_direct = time.perf_counter() - t0

    sandbox = ScoringSandbox()
    sandbox.score("math500", {"answer": "1"}, r"\boxed{1}")  # start and warm the worker outside the timing
    t0 = time.perf_counter()
    sandboxed = [sandbox.score("math500", doc, text) for doc, text in work]
    t_sandbox = time.perf_counter() - t0
    sandbox.close()

    assert sandboxed == direct, "sandboxed and in-process verdicts differ"
    n = len(work)
    right = sum(d["acc"] for d in direct[0::2]) / (n // 2)
    print(f"responses scored: {n}; verdicts identical; gold answer boxed -> acc {right:.3f}")
    print(f"in-process math-verify (peer): {t_direct:.2f} s ({1000 * t_direct / n:.1f} ms/response)")
    print(f"sandboxed worker:              {t_sandbox:.2f} s ({1000 * t_sandbox / n:.1f} ms/response)")
    print(f"sandboxed / in-process: {t_sandbox / t_direct:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
