"""`profit eval`: checkpoints served by vLLM (or hf), scored by lm-eval, every result kept in the store.

Public API: `harness.evaluate.api.evaluate(...)` and `harness.evaluate.api.plan(...)`.
"""
