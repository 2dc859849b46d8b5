"""Problem + wording -> question text, reference solution, and a ground-truth label for every character.

Labels: CORE for the equations and the final answer (quantities, operations, results), TRIVIAL for the wording
drawn from the paraphrase pools, NEUTRAL for separators (spaces, commas, periods) and the end-of-turn token. A
token's label is the label of its non-space characters; the tokenizer never merges across a label boundary.

Two layouts of a step: wording first ("Then we get 21-3=18.", the default), or equation first ("21-3=18, then we
get."). In the first, the token that decides whether the solution goes on after a step is the first word of the
next opener (TRIVIAL); in the second it is the first digit of the next equation (CORE).
"""

from __future__ import annotations

from dataclasses import dataclass

from .problems import Problem
from .wording import Wording

CORE, TRIVIAL, NEUTRAL = "C", "T", "-"
LABEL_NAMES = {CORE: "core", TRIVIAL: "trivial", NEUTRAL: "neutral"}


@dataclass(frozen=True)
class Rendered:
    question: str
    solution: str
    char_labels: str  # one of CORE/TRIVIAL/NEUTRAL per character of `solution`
    answer: int
    steps: int

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.question}, {"role": "assistant", "content": self.solution}]


def question(p: Problem) -> str:
    verbs = ", ".join(f"{'gets' if op == '+' else 'loses'} {b}" for op, b in p.ops)
    return f"{p.name} has {p.start} {p.item}, {verbs}. How many {p.item}?"


class _Builder:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.labels: list[str] = []

    def add(self, text: str, label: str) -> None:
        self.text.append(text)
        self.labels.append(label * len(text))


def _trailing(opener: str) -> str:
    """An opener as it reads after the equation: "To begin," -> "to begin"."""
    return opener[0].lower() + opener[1:].rstrip(",:")


def render(p: Problem, w: Wording, equation_first: bool = False) -> Rendered:
    if len(w.steps) != len(p.ops):
        raise ValueError(f"wording has {len(w.steps)} steps but the problem has {len(p.ops)}")
    b = _Builder()
    values = p.values
    for k, ((op, amount), (opener, verb)) in enumerate(zip(p.ops, w.steps)):
        if k:
            b.add(" ", NEUTRAL)
        equation = f"{values[k]}{op}{amount}={values[k + 1]}"
        if equation_first:
            b.add(equation, CORE)
            b.add(", ", NEUTRAL)
            b.add(_trailing(opener) + verb, TRIVIAL)
        else:
            b.add(opener + verb, TRIVIAL)
            b.add(" ", NEUTRAL)
            b.add(equation, CORE)
        b.add(".", NEUTRAL)
    close_a, close_b, close_c = w.close
    b.add(" ", NEUTRAL)
    b.add(f"{close_a} {close_b} {close_c}", TRIVIAL)
    b.add(" ", NEUTRAL)
    b.add(str(p.answer), CORE)
    b.add(".", NEUTRAL)
    return Rendered(question(p), "".join(b.text), "".join(b.labels), p.answer, len(p.ops))
