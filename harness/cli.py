"""`profit` command: one entry point, each subcommand in the module that owns it."""

from __future__ import annotations

import importlib
import sys

# name -> (module with `main(argv) -> int`, one-line help)
COMMANDS = {
    "train": ("training.cli", "fine-tune a causal LM with ProFit or a baseline objective; writes a checkpoint"),
    "eval": ("harness.evaluate.cli", "score checkpoints on the benchmarks with vLLM + lm-eval; fills the store"),
    "report": ("harness.report.cli", "leaderboard tables and plots from the results store"),
    "pipeline": ("harness.pipeline.cli", "a whole grid from one YAML: train -> evaluate -> report"),
    "testbed": ("testbed.cli", "the testbed: build its base model, write its data, analyse its tokens"),
    "gguf": ("training.gguf", "convert a GGUF file (llama.cpp) into a Hugging Face model folder"),
}

USAGE = "\n".join([
    "usage: profit <command> [options]   (profit <command> --help for its options)", "", "commands:",
    *(f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()), "",
    "A mistake in the input (config, data, model, output folder) is one line naming it and the fix, exit status 2;",
    "add --debug to any command for the full traceback.",
])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"profit: unknown command {name!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
