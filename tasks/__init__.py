"""The paper's five benchmarks as lm-eval task definitions over bundled data (see tasks/registry.py, docs/tasks.md).

Use with stock lm-eval: `lm_eval --include_path <repo>/tasks --tasks profit_paper5 ...`.
"""
