"""The testbed's fixed problem sets, and the rule that keeps them out of every training stream.

test       held-out problems of the SFT task (longer chains, rare in pretraining), shifted wording in references
retention  held-out problems of the pretraining distribution (short chains), pretraining wording in references
sft_train  the SFT data: SFT-task problems, ONE reference each, shifted wording fixed per example

A problem is identified by its numbers (start and ops), not its name or item, so a held-out chain is never seen
in training under another name.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .problems import Problem, sample_problem
from .render import Rendered, render
from .wording import sample_wording

TEST_SEED, RETENTION_SEED = 10_007, 20_011


@dataclass(frozen=True)
class TestbedSpec:
    __test__ = False  # not a pytest test class, whatever its name
    task_steps: tuple[int, ...] = field(
        default=(4, 5), metadata={"help": "chain lengths of the SFT task (test split and SFT data)."}
    )
    pretrain_steps: tuple[tuple[int, float], ...] = field(
        default=((1, 1.0), (2, 1.0), (3, 1.0), (4, 0.08), (5, 0.02)),
        metadata={"help": "(chain length, relative weight) of the pretraining corpus; the task lengths are rare."},
    )
    retention_steps: tuple[int, ...] = field(
        default=(1, 2, 3), metadata={"help": "chain lengths of the retention split (the pretraining skill)."}
    )
    n_test: int = field(default=300, metadata={"help": "held-out SFT-task problems (lm-eval task profit_testbed)."})
    n_retention: int = field(default=200, metadata={"help": "held-out pretraining-distribution problems."})
    n_sft: int = field(default=400, metadata={"help": "SFT training examples."})

    def __post_init__(self) -> None:
        for name in ("n_test", "n_retention", "n_sft"):
            if getattr(self, name) < 1:
                raise ValueError(f"testbed spec: {name} must be positive")
        if not self.task_steps or min(self.task_steps) < 1:
            raise ValueError("testbed spec: task_steps must list chain lengths >= 1")
        if any(w < 0 for _, w in self.pretrain_steps) or not sum(w for _, w in self.pretrain_steps):
            raise ValueError("testbed spec: pretrain_steps needs non-negative weights with a positive sum")


def problem_id(p: Problem) -> tuple:
    return (p.start, p.ops)


def _unique(rng: random.Random, steps: tuple[int, ...], n: int, exclude: set) -> list[Problem]:
    out, seen = [], set(exclude)
    while len(out) < n:
        p = sample_problem(rng, rng.choice(steps))
        if problem_id(p) not in seen:
            seen.add(problem_id(p))
            out.append(p)
    return out


def held_out(spec: TestbedSpec) -> tuple[list[Problem], list[Problem]]:
    """The test and retention problems; fixed by the spec alone (no seed), so every build shares them."""
    test = _unique(random.Random(TEST_SEED), spec.task_steps, spec.n_test, set())
    retention = _unique(random.Random(RETENTION_SEED), spec.retention_steps, spec.n_retention, set())
    return test, retention


def held_out_ids(spec: TestbedSpec) -> set:
    test, retention = held_out(spec)
    return {problem_id(p) for p in test + retention}


def references(spec: TestbedSpec, split: str, style: str | None = None) -> list[Rendered]:
    """One reference per held-out problem: `test` in shifted (SFT) wording and `retention` in pretraining
    wording by default; `style` re-renders the same problems in the other wording (a fixed draw per style)."""
    test, retention = held_out(spec)
    sets = {"test": (test, "shifted"), "retention": (retention, "pretrain")}
    if split not in sets:
        raise ValueError(f"unknown split {split!r}; choose test or retention")
    problems, default = sets[split]
    style = style or default
    rng = random.Random(f"{split}-{style}")
    return [render(p, sample_wording(rng, len(p.ops), style)) for p in problems]


def sft_problems(spec: TestbedSpec, seed: int) -> list[Problem]:
    """The SFT problems for one data seed: task chain lengths, none of them held out."""
    return _unique(random.Random(f"sft-{seed}"), spec.task_steps, spec.n_sft, held_out_ids(spec))


def sft_examples(spec: TestbedSpec, seed: int) -> list[Rendered]:
    """The SFT data for one data seed: one shifted-wording reference per problem, fixed across epochs."""
    rng = random.Random(f"sft-wording-{seed}")
    return [render(p, sample_wording(rng, len(p.ops), "shifted")) for p in sft_problems(spec, seed)]


def pretrain_stream(spec: TestbedSpec, seed: int, batch_size: int) -> Iterator[list[Rendered]]:
    """Endless batches of pretraining examples; one chain length per batch, so padding stays small."""
    rng = random.Random(f"pretrain-{seed}")
    exclude = held_out_ids(spec)
    lengths = [n for n, _ in spec.pretrain_steps]
    weights = [w for _, w in spec.pretrain_steps]
    while True:
        steps = rng.choices(lengths, weights=weights)[0]
        batch = []
        while len(batch) < batch_size:
            p = sample_problem(rng, steps)
            if problem_id(p) not in exclude:
                batch.append(render(p, sample_wording(rng, steps, "pretrain")))
        yield batch
