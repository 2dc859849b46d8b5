"""Harness: serve checkpoints with vLLM, score them with lm-eval, keep results, report, orchestrate."""

__version__ = "0.1.0"
