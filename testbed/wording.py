"""Paraphrase pools: the interchangeable wording around the arithmetic, and how often each phrase is used.

A wording style is a set of pools and an order of preference over them. Pretraining draws from the SEEN pools and
favours the head of each pool (Zipf over the pool order); the default SFT data (`shifted`) draws from the same pools
but favours their tail (the same Zipf over the reversed order): words the base knows, in combinations it rarely saw,
so its trivial tokens have a low but not negligible base probability (a mild shift, not new vocabulary). `strong`
keeps the shifted order but draws from NEW pools whose words never occur in pretraining (a strong shift).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Pools:
    """One pool of interchangeable phrases per slot, most preferred first."""

    open: tuple[str, ...]  # the first step's opener
    next: tuple[str, ...]  # every later step's opener
    verb: tuple[str, ...]
    close_a: tuple[str, ...]
    close_b: tuple[str, ...]
    close_c: tuple[str, ...]


SEEN = Pools(
    open=("First,", "To begin,", "Initially,", "We start:", "Step one:", "Let us begin:"),
    next=("Then", "Next,", "After that,", "Now", "Following this,", "Afterwards,"),
    verb=("", " we compute", " compute", " we get", " we have"),
    close_a=("So", "Thus", "Therefore,", "Hence", "In the end", "Overall"),
    close_b=("the answer", "the result", "the total", "the final count"),
    close_c=("is", "equals", "comes to", "is exactly"),
)
# Not one of these words occurs in pretraining (nor in the questions): the base has never seen them.
NEW = Pools(
    open=("Kicking off,", "Straight away,", "Up front,", "Opening move:", "Commencing,", "Right off:"),
    next=("Subsequently,", "Moving on,", "Later", "Onward,", "Continuing,", "Hereafter,"),
    verb=("", " yielding", " giving", " producing", " making"),
    close_a=("Ultimately", "Finally", "All told", "Consequently", "Altogether", "Wrapping up,"),
    close_b=("our tally", "what remains", "our sum", "our stock"),
    close_c=("stands at", "reaches", "becomes", "sits at"),
)


@dataclass(frozen=True)
class Style:
    pools: Pools
    reverse: bool  # favour the tail of each pool instead of its head


STYLES = {
    "pretrain": Style(SEEN, reverse=False),
    "shifted": Style(SEEN, reverse=True),
    "strong": Style(NEW, reverse=True),
}
ZIPF = 1.2


@dataclass(frozen=True)
class Wording:
    """The phrase chosen for every slot of one solution."""

    steps: tuple[tuple[str, str], ...]  # (opener, verb) per step
    close: tuple[str, str, str]


def style(name: str) -> Style:
    if name not in STYLES:
        raise ValueError(f"unknown wording style {name!r}; choose one of {', '.join(STYLES)}")
    return STYLES[name]


def _weights(n: int, reverse: bool) -> list[float]:
    w = [1.0 / (i + 1) ** ZIPF for i in range(n)]
    return w[::-1] if reverse else w


def pick(rng: random.Random, pool: tuple[str, ...], reverse: bool) -> str:
    return rng.choices(pool, weights=_weights(len(pool), reverse))[0]


def sample_wording(rng: random.Random, steps: int, style_name: str) -> Wording:
    s = style(style_name)
    chosen = []
    for k in range(steps):
        opener = pick(rng, s.pools.open if k == 0 else s.pools.next, s.reverse)
        chosen.append((opener, pick(rng, s.pools.verb, s.reverse)))
    close = tuple(pick(rng, pool, s.reverse) for pool in (s.pools.close_a, s.pools.close_b, s.pools.close_c))
    return Wording(tuple(chosen), close)


def phrase_probability(phrase: str, pool: tuple[str, ...], style_name: str) -> float:
    """How often `style_name` uses `phrase` in its slot (for documentation and tests)."""
    w = _weights(len(pool), style(style_name).reverse)
    return w[pool.index(phrase)] / sum(w)
