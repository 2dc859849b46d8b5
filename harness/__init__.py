"""Harness: serve checkpoints with vLLM, score them with lm-eval, keep results, report, orchestrate."""

# Part of every record's key: bump it when what a record means changes (docs/formats.md says how old ones are read).
# 0.2.0: records hold paths relative to the store and schema 2; per_doc.scores keep every repeat of a doc.
__version__ = "0.2.0"
