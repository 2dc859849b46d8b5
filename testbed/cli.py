"""`profit testbed`: the testbed's base model, its data, and its token-level analysis.

  profit testbed [build] [--variant V] [--seed N] [--out DIR] [--force]
      build (or find in the cache) the base that variant V trains from; prints its folder
  profit testbed data [--check]
      (re)write tasks/profit_testbed/data (every variant's files), or check that it is current
  profit testbed analyze MODEL [RUN ...] [--variant V] [--n N] [--out F]
      core vs trivial token p of MODEL on references laid out and worded as variant V's; what each RUN (trained
      with token_log: true) kept -> token_analysis.json

Comparisons of objectives on the testbed run through the main stack: `profit pipeline configs/quickstart.yaml`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .variants import DEFAULT, VARIANTS


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="profit testbed", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd")
    b = sub.add_parser("build", help="build (or reuse) the testbed's base model and print its folder")
    b.add_argument("--variant", default=DEFAULT, choices=list(VARIANTS),
                   help="the design variant whose base to build (the variants that change only the SFT data share "
                        "the default base)")
    b.add_argument("--seed", type=int, default=0, help="build seed (corpus, initialisation, tokenizer sample)")
    b.add_argument("--out", type=Path, default=None,
                   help="folder to build into (default: $PROFIT_CACHE or ~/.cache/profit-bench, base-<settings hash>)")
    b.add_argument("--force", action="store_true", help="rebuild even when the folder holds a finished build")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    d = sub.add_parser("data", help="write the profit_testbed data files (deterministic)")
    d.add_argument("--check", action="store_true", help="only check that the committed files are current")
    a = sub.add_parser("analyze", help="core/trivial token probabilities of a model, and what trained runs kept")
    a.add_argument("model", type=Path, help="a model folder (the base, or a checkpoint trained from it)")
    a.add_argument("runs", type=Path, nargs="*", help="training runs (token_log: true) to report kept shares of")
    a.add_argument("--variant", default=None, choices=list(VARIANTS),
                   help="render the references as this variant does (default: the variant MODEL was built for, "
                        "or the one whose data the RUNs trained on)")
    a.add_argument("--n", type=int, default=300, help="held-out references to score (at most the test split)")
    a.add_argument("--out", type=Path, default=None, help="where to write token_analysis.json (default: print)")
    return ap


def main(argv: list[str] | None = None) -> int:
    from profit_core.errors import run_command

    return run_command("profit testbed", _main, argv)


def _main(argv: list[str]) -> int:
    from profit_core.errors import UserError
    from profit_core.offline import go_offline

    go_offline()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["build", *argv]
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileExistsError) as err:
        raise UserError(str(err)) from err


def _run(args) -> int:
    if args.cmd == "build":
        from .build import build_base, variant_base

        print(build_base(args.out, seed=args.seed, force=args.force, config=variant_base(args.variant),
                         progress=not args.quiet))
        return 0
    if args.cmd == "data":
        from .data import DATA_DIR, stale_files, write_testbed_data

        if args.check:
            stale = stale_files()
            if stale:
                print(f"profit testbed data: out of date: {', '.join(stale)} (run `profit testbed data`)",
                      file=sys.stderr)
                return 1
            print("testbed data is current")
            return 0
        for name, digest in write_testbed_data().items():
            print(f"{DATA_DIR / name}  sha256 {digest[:16]}")
        return 0
    from .analysis import analysis

    result = analysis({"model": args.model}, runs=args.runs, n=args.n, variant=args.variant)
    if args.out is None:
        print(json.dumps(result, indent=1))
    else:
        from profit_core.formats import token_analysis

        token_analysis.write(args.out, result)
        print(args.out)
    return 0
