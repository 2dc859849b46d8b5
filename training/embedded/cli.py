"""`profit base`: the embedded offline base model and its synthetic testbed.

  profit base [build] [--seed N] [--out DIR] [--force]   build (or find in the cache) the base model; prints its folder
  profit base data [--check]                              (re)write tasks/profit_testbed/data, or check it is current
  profit base analyze MODEL [--n N] [--taus ...] [--out F] core vs trivial token probabilities -> token_analysis.json
  profit base probe [--methods ...] [--seeds ...] ...    quick SFT comparison of objectives on the testbed
  profit base probe --table RUNS.jsonl                    mean ± std over seeds of a probe's output
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="profit base", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd")
    b = sub.add_parser("build", help="build (or reuse) the embedded base model and print its folder")
    b.add_argument("--seed", type=int, default=0, help="build seed (corpus, initialisation, tokenizer sample)")
    b.add_argument("--out", type=Path, default=None,
                   help="folder to build into (default: $PROFIT_CACHE or ~/.cache/profit-bench, base-<settings hash>)")
    b.add_argument("--force", action="store_true", help="rebuild even when the folder holds a finished build")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    d = sub.add_parser("data", help="write the profit_testbed data files (deterministic)")
    d.add_argument("--check", action="store_true", help="only check that the committed files are current")
    a = sub.add_parser("analyze", help="teacher-forced core/trivial token probabilities of a model")
    a.add_argument("model", type=Path, help="a model folder (the base, or a checkpoint trained from it)")
    a.add_argument("--n", type=int, default=300, help="held-out references to score (at most the test split)")
    a.add_argument("--taus", type=float, nargs="+", default=None, help="ProFit thresholds to report the gate for")
    a.add_argument("--out", type=Path, default=None, help="where to write token_analysis.json (default: print)")
    p = sub.add_parser("probe", help="quick SFT comparison of objectives (minimal loop; not `profit train`)")
    p.add_argument("--base", type=Path, default=None, help="base model folder (default: build/find the default)")
    p.add_argument("--methods", nargs="+", default=["sft", "dft", "entropy", "profit:0.1", "profit:0.3",
                                                    "profit:0.5", "lower:0.3"],
                   help="objectives: base (untrained), sft, dft, entropy, profit:TAU, lower:TAU")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--n-sft", type=int, default=None)
    p.add_argument("--n-eval", type=int, default=None)
    p.add_argument("--out", type=Path, default=None, help="append one JSON line per run here")
    p.add_argument("--table", type=Path, default=None, help="only print the mean ± std table of this JSONL file")
    return ap


def parse_method(text: str):
    from ..objectives import ObjectiveConfig

    name, _, tau = text.partition(":")
    if name == "base":
        return None  # no training: the base model's own numbers
    if name in ("profit", "lower"):
        if not tau:
            raise ValueError(f"method {text!r}: give a threshold, e.g. {name}:0.3")
        return ObjectiveConfig("profit", strategy="higher" if name == "profit" else "lower", tau=float(tau))
    if tau:
        raise ValueError(f"method {text!r}: only profit and lower take a threshold")
    return ObjectiveConfig(name)


def main(argv: list[str] | None = None) -> int:
    from profit_core.errors import run_command

    return run_command("profit base", _main, argv)


def _main(argv: list[str]) -> int:
    from profit_core.errors import UserError
    from profit_core.offline import go_offline

    go_offline()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["build", *argv]
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        raise UserError(str(err)) from err


def _run(args) -> int:
    if args.cmd == "build":
        from .build import build_base

        print(build_base(args.out, seed=args.seed, force=args.force, progress=not args.quiet))
        return 0
    if args.cmd == "data":
        from .testbed_data import DATA_DIR, data_files, write_testbed_data

        if args.check:
            stale = [n for n, t in data_files().items()
                     if not (DATA_DIR / n).is_file() or (DATA_DIR / n).read_text(encoding="utf-8") != t]
            if stale:
                print(f"profit base data: out of date: {', '.join(stale)} (run `profit base data`)", file=sys.stderr)
                return 1
            print("testbed data is current")
            return 0
        for name, digest in write_testbed_data().items():
            print(f"{DATA_DIR / name}  sha256 {digest[:16]}")
        return 0
    if args.cmd == "analyze":
        from .analysis import DEFAULT_TAUS, token_probabilities

        result = token_probabilities(args.model, n=args.n, taus=tuple(args.taus or DEFAULT_TAUS), out=args.out)
        if args.out is None:
            print(json.dumps(result, indent=1))
        else:
            print(args.out)
        return 0
    return _probe(args)


def _probe(args) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from .build import build_base
    from .probe import ProbeConfig, run_probe, table

    if args.table:
        print(table([json.loads(line) for line in args.table.read_text().splitlines() if line.strip()]))
        return 0
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                                   "n_sft": args.n_sft, "n_eval": args.n_eval}.items() if v is not None}
    cfg = replace(ProbeConfig(), **overrides)
    methods = [(m, parse_method(m)) for m in args.methods]
    base = args.base or build_base()
    for seed, (label, obj) in tqdm([(s, m) for s in args.seeds for m in methods], desc="probe"):
        row = {"label": label, **run_probe(base, obj, seed, cfg), "config": overrides}
        tqdm.write(json.dumps(row))
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    return 0
