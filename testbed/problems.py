"""The arithmetic world of the testbed: multi-step add/subtract word problems, sampled deterministically."""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = ("Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivy", "Jon")
ITEMS = ("apples", "coins", "books", "pens", "cards", "shells", "stamps", "marbles")
START = (1, 20)  # the first quantity
STEP = (1, 6)  # the quantity added or removed at each step
RANGE = (0, 30)  # every running value stays in here, so numbers have at most two digits


@dataclass(frozen=True)
class Problem:
    name: str
    item: str
    start: int
    ops: tuple[tuple[str, int], ...]  # ("+" | "-", amount) per step

    @property
    def values(self) -> list[int]:
        """The running value after the start and after each step."""
        out = [self.start]
        for op, b in self.ops:
            out.append(out[-1] + b if op == "+" else out[-1] - b)
        return out

    @property
    def answer(self) -> int:
        return self.values[-1]

    @property
    def key(self) -> tuple:
        """Identity for de-duplication (wording-free)."""
        return (self.name, self.item, self.start, self.ops)


def sample_problem(rng: random.Random, steps: int) -> Problem:
    """Uniform ops and amounts, resampled per step until the running value stays in RANGE."""
    if steps < 1:
        raise ValueError(f"a problem needs at least one step, got {steps}")
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start = value = rng.randint(*START)
    ops = []
    while len(ops) < steps:
        op, b = rng.choice("+-"), rng.randint(*STEP)
        nxt = value + b if op == "+" else value - b
        if RANGE[0] <= nxt <= RANGE[1]:
            ops.append((op, b))
            value = nxt
    return Problem(name, item, start, tuple(ops))
