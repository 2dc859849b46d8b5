"""Paraphrase pools: the interchangeable wording around the arithmetic, and how often each phrase is used.

Both the pretraining corpus and the SFT data draw every slot from the SAME pools; only the weights differ.
Pretraining favours the head of each pool (Zipf over the pool order); the SFT data favours its tail (the same
Zipf over the reversed order). So the SFT wording is made of words the base knows, in combinations it rarely saw:
its trivial tokens have a low but not negligible base probability (a mild shift, not new vocabulary).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

OPEN = ("First,", "To begin,", "Initially,", "We start:", "Step one:", "Let us begin:")
NEXT = ("Then", "Next,", "After that,", "Now", "Following this,", "Afterwards,")
VERB = ("", " we compute", " compute", " we get", " we have")
CLOSE_A = ("So", "Thus", "Therefore,", "Hence", "In the end", "Overall")
CLOSE_B = ("the answer", "the result", "the total", "the final count")
CLOSE_C = ("is", "equals", "comes to", "is exactly")

STYLES = ("pretrain", "shifted")
ZIPF = 1.2


@dataclass(frozen=True)
class Wording:
    """The phrase chosen for every slot of one solution."""

    steps: tuple[tuple[str, str], ...]  # (opener, verb) per step
    close: tuple[str, str, str]


def _weights(n: int, style: str) -> list[float]:
    if style not in STYLES:
        raise ValueError(f"unknown wording style {style!r}; choose one of {', '.join(STYLES)}")
    w = [1.0 / (i + 1) ** ZIPF for i in range(n)]
    return w if style == "pretrain" else w[::-1]


def pick(rng: random.Random, pool: tuple[str, ...], style: str) -> str:
    return rng.choices(pool, weights=_weights(len(pool), style))[0]


def sample_wording(rng: random.Random, steps: int, style: str) -> Wording:
    chosen = []
    for k in range(steps):
        opener = pick(rng, OPEN if k == 0 else NEXT, style)
        chosen.append((opener, pick(rng, VERB, style)))
    close = (pick(rng, CLOSE_A, style), pick(rng, CLOSE_B, style), pick(rng, CLOSE_C, style))
    return Wording(tuple(chosen), close)


def phrase_probability(phrase: str, pool: tuple[str, ...], style: str) -> float:
    """How often `style` uses `phrase` in its slot (for documentation and tests)."""
    w = _weights(len(pool), style)
    return w[pool.index(phrase)] / sum(w)
