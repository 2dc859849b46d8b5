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
    p.add_argument("--dry-run", action="store_true",
                   help="list the work, what is already done, the inputs missing on this machine, and each "
                        "training's memory plan (exit 2 when one cannot fit the target memory); do nothing")
    p.add_argument("--device-memory", metavar="SIZE",
                   help="memory per GPU the trainings' memory plans must fit, e.g. 80G, 96G (powers of 1000) or "
                        "80GiB; off: no check. Default: the visible GPU's total memory; without a GPU, --dry-run "
                        "prints the estimates without a verdict. A real run refuses (exit 2) a plan that cannot fit, "
                        "before any work.")
    p.add_argument("--rehearse", action="store_true",
                   help="run the config on CPU in minutes with tiny stand-ins: each base replaced by a 2-layer random "
                        "model of its architecture (Qwen3 tokenizer), a bundled data file for a missing one, 2 "
                        "training steps, 1 question per task with at most 16 new tokens, launchers rewritten for 2 "
                        "CPU processes; outputs under --rehearse-root, never the real run's folders "
                        "(harness/pipeline/rehearse.py)")
    p.add_argument("--rehearse-root", metavar="DIR",
                   help="with --rehearse: its folder (tiny bases, runs, store, report); default runs/rehearse/<name>")
    p.add_argument("--rehearse-precision", choices=("auto", "keep"), default="auto",
                   help="with --rehearse: auto (default) trains in fp32 when this CPU has no native bf16 (emulated "
                        "bf16 is ~20x slower); keep: the config's precision whatever the cost")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_command("profit pipeline", _main, argv)


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    go_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from training.memory import parse_size

    from .config import PipelineConfig, PipelineConfigError
    from .run import PipelineFailed, dry_run, refuse_unfit, run

    if (args.rehearse_root or args.rehearse_precision != "auto") and not args.rehearse:
        raise PipelineConfigError("--rehearse-root and --rehearse-precision describe a rehearsal; add --rehearse")
    device_memory = parse_size(args.device_memory) if args.device_memory is not None else None
    cfg = PipelineConfig.from_yaml(args.config)
    plans = True
    if args.rehearse:
        from .rehearse import rehearse

        rehearsal = rehearse(cfg, args.config, root=args.rehearse_root, precision=args.rehearse_precision)
        print("\n".join(rehearsal.lines()), flush=True)
        rehearsal.build_bases()
        cfg, plans = rehearsal.config, False  # tiny models on CPU: the real config's plans are --dry-run's
    if args.dry_run:
        lines, found = dry_run(cfg, device_memory, plans=plans)
        print("\n".join(lines), flush=True)
        refuse_unfit(found)
        return 0
    try:
        summary = run(cfg, progress=not args.quiet, device_memory=device_memory, plans=plans)
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
