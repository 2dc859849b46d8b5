"""`profit pipeline CONFIG.yaml`: the whole experiment from one file (see README, Pipeline)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from profit_core.errors import run_command
from profit_core.offline import go_offline


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="profit pipeline",
        description="Train every (base model, objective, seed) of the grid, score every checkpoint with vLLM + "
        "lm-eval into the results store, and regenerate the leaderboard and plots. Interrupted? Run the same "
        "command again: finished trainings and stored scores are reused, a half-done training resumes.",
    )
    p.add_argument("config", help="pipeline YAML (e.g. configs/quickstart.yaml)")
    p.add_argument("--dry-run", action="store_true", help="list the work and what is already done; do nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_command("profit pipeline", _main, argv)


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    go_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from .config import PipelineConfig
    from .run import PipelineFailed, describe, run

    cfg = PipelineConfig.from_yaml(args.config)
    if args.dry_run:
        print("\n".join(describe(cfg)))
        return 0
    try:
        summary = run(cfg, progress=not args.quiet)
    except PipelineFailed as failed:
        print(f"profit pipeline: {len(failed.outcome.failed)} job(s) failed, {len(failed.outcome.blocked)} not run; "
              f"{len(failed.outcome.done)} done (rerun the same command to go on):\n{failed}", file=sys.stderr)
        return 1
    t = summary["timings"]
    print(f"done in {t['total_s']:.0f} s: trained {len(summary['trained'])}, reused {len(summary['skipped'])}; "
          f"{summary['records']} evaluation records; report in {cfg.report_dir}/")
    print("job seconds: " + json.dumps({k: round(v, 1) for k, v in t.items()}))
    if "reproduced" in summary:
        same, differ, new = summary["reproduced"]
        print(f"reproduced: {len(same)} of {len(same) + len(differ) + len(new)} records identical to the reference "
              f"{cfg.reference}" + (f"; {len(differ)} differ (e.g. {differ[0]})" if differ else "")
              + (f"; {len(new)} not in it" if new else ""))
    return 0
