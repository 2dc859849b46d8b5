"""`profit train`: a YAML config plus `--field value` overrides in, a checkpoint folder out.

Runs under plain python, `accelerate launch -m training.cli ...` and `torchrun -m training.cli ...` alike.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import fields

from profit_core.errors import run_command
from profit_core.offline import go_offline

from .config import OBJECTIVE_FIELDS, PRESETS, ConfigError, TrainConfig
from .memory import STRATEGIES, parse_size, plan_for, visible_device_memory

EPILOG = """\
Order of precedence: defaults < --preset < the --config file < --field flags.
Objective fields are nested (--objective.tau 0.2) or flat (--tau 0.2); --objective NAME sets objective.objective.
Booleans take true/false (a bare --flag means true).
Outputs in output_dir: the model (safetensors, tokenizer with the training chat template, generation config),
profit_run.json (written last; "complete": true marks a finished run), train_log.jsonl, and checkpoints/ (resumable
states, removed at the end unless keep_checkpoints). Multi-GPU: accelerate launch --config_file
configs/accelerate/ddp.yaml -m training.cli --config FILE (or torchrun --nproc_per_node N -m training.cli ...).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profit train",
        description="Fine-tune a local Hugging Face causal LM with ProFit or a baseline objective.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE.yaml", help="YAML file of config fields.")
    parser.add_argument("--resume", action="store_true", help="go on from the last state in output_dir/checkpoints.")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the config, print it, its hash and its memory plan, then exit (2 if the plan "
                             "cannot fit).")
    memory_group = parser.add_argument_group(
        "memory plan (an estimate per GPU; see docs/training.md)",
        "A real run is refused (exit 2) when its plan cannot fit the target memory, before anything loads.")
    memory_group.add_argument("--device-memory", metavar="SIZE",
                              help="memory per GPU to fit, e.g. 80G or 96GiB; off: no check (default: the visible "
                                   "GPU's total memory; without a GPU, only the estimate is printed).")
    memory_group.add_argument("--world-size", metavar="N", type=int,
                              help="with --dry-run: processes to plan for (default: the launch environment's "
                                   "WORLD_SIZE, else 1).")
    memory_group.add_argument("--distributed", choices=STRATEGIES,
                              help="with --dry-run: the multi-GPU strategy to plan for (default: from the launch "
                                   "environment, ACCELERATE_USE_FSDP / ACCELERATE_USE_DEEPSPEED; else ddp). "
                                   "(--strategy is the objective's.)")
    fields_group = parser.add_argument_group("config fields")
    for f in fields(TrainConfig):
        if f.name == "objective":
            continue
        choices = f" Presets: {', '.join(PRESETS)}." if f.name == "preset" else ""
        flag = {"nargs": "?", "const": "true"} if isinstance(f.default, bool) else {}
        fields_group.add_argument(f"--{f.name}", dest=f.name, metavar=_metavar(f), default=argparse.SUPPRESS,
                                  help=_help(f, choices), **flag)
    objective = parser.add_argument_group("objective fields (nested under `objective:` in YAML)")
    for name, f in OBJECTIVE_FIELDS.items():
        flags = [f"--objective.{name}", f"--{name}"] if name != "objective" else ["--objective.objective",
                                                                                  "--objective"]
        objective.add_argument(*flags, dest=f"objective.{name}", metavar=_metavar(f), default=argparse.SUPPRESS,
                               help=_help(f))
    return parser


def _help(f, extra: str = "") -> str:
    return f"{f.metadata['help']}{extra} (default: {f.default!r})".replace("%", "%%")  # argparse formats help


def _metavar(f) -> str:
    return {bool: "BOOL", int: "INT", float: "FLOAT"}.get(type(f.default), "STR")


def parse(argv: list[str]) -> tuple[TrainConfig, argparse.Namespace]:
    args = build_parser().parse_args(argv)
    reserved = {"config", "resume", "dry_run", "device_memory", "world_size", "distributed"}
    overrides = {k: v for k, v in vars(args).items() if k not in reserved}
    return TrainConfig.from_yaml(args.config, overrides), args


def main(argv: list[str] | None = None) -> int:
    return run_command("profit train", _main, argv)


def _main(argv: list[str]) -> int:
    go_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    cfg, args = parse(argv)
    device_memory = parse_size(args.device_memory) if args.device_memory is not None else None
    if args.dry_run:
        print(json.dumps({"config": cfg.to_dict(), "config_hash": cfg.config_hash()}, indent=2))
        return _print_plan(cfg, args, device_memory)
    if args.world_size is not None or args.distributed is not None:
        raise ConfigError("--world-size and --distributed describe a launch for --dry-run; a real run plans for "
                          "the launch it runs under")
    from .api import train

    folder = train(cfg, resume=args.resume, device_memory=device_memory)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {folder}")
    return 0


def _print_plan(cfg: TrainConfig, args: argparse.Namespace, device_memory: int | None) -> int:
    """The memory plan under the flags' (else the environment's) launch; 2 when it cannot fit the target."""
    target = device_memory if device_memory is not None else visible_device_memory()
    flags = args.distributed is not None or args.world_size is not None
    try:
        plan = plan_for(cfg, args.distributed, args.world_size, target, source="--distributed/--world-size" if flags
                        else "")
    except ConfigError as err:
        print(f"memory plan: not available ({err})")
        return 0
    print("\n".join(plan.lines()))
    if plan.fits is False:
        raise ConfigError(plan.refusal())
    return 0


if __name__ == "__main__":
    sys.exit(main())
