"""Scoring helpers shared by the profit_* lm-eval tasks.

Imported as the top-level package `_profit_common`: each task's `utils.py` (which lm-eval loads by file path) puts the
`tasks/` folder on `sys.path` first, and the scoring worker is started with that folder on its `PYTHONPATH`.
"""
