"""Greedy accuracy of a model on the testbed's held-out sets (HF generate; the harness scores with vLLM)."""

from __future__ import annotations

from tasks.profit_testbed.utils import extract_answer

from .generate import greedy
from .splits import TestbedSpec, references


def accuracy(model, tokenizer, refs, max_new_tokens: int = 96) -> float:
    outputs = greedy(model, tokenizer, [r.question for r in refs], max_new_tokens=max_new_tokens)
    return sum(extract_answer(o) == r.answer for o, r in zip(outputs, refs)) / max(1, len(refs))


def base_accuracy(model, tokenizer, spec: TestbedSpec, n: int) -> dict[str, float]:
    """Accuracy on the first n problems of the test split (the SFT task) and of the retention split."""
    test, retention = references(spec, "test"), references(spec, "retention")
    return {"test": round(accuracy(model, tokenizer, test[:n]), 4),
            "retention": round(accuracy(model, tokenizer, retention[:n]), 4)}
