"""The testbed's fixed problem sets, and the rule that keeps them out of every training stream.

test       held-out problems of the SFT task (longer chains, rare in pretraining), SFT wording in references
dev        more held-out problems of the SFT task, for choosing settings without looking at `test`
retention  held-out problems of the pretraining distribution (short chains), pretraining wording in references
sft_train  the SFT data: SFT-task problems, one reference each (several in `one-to-many`), wording fixed

A problem is identified by its numbers (start and ops), not its name or item, so a held-out chain is never seen
in training under another name. The spec's `variant` (variants.py) sets the layout and wording of every reference.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .problems import Problem, sample_problem
from .render import Rendered, render
from .variants import DEFAULT, Variant, variant
from .wording import sample_wording

TEST_SEED, RETENTION_SEED, DEV_SEED = 10_007, 20_011, 30_011
SPLITS = ("test", "retention", "dev")


@dataclass(frozen=True)
class TestbedSpec:
    __test__ = False  # not a pytest test class, whatever its name
    variant: str = field(
        default=DEFAULT, metadata={"help": "the design variant: layout and wording of the references (variants.py)."}
    )
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
    n_dev: int = field(default=200, metadata={"help": "held-out SFT-task problems for choosing settings."})
    n_sft: int = field(default=400, metadata={"help": "SFT training examples (problems x references per problem)."})

    def __post_init__(self) -> None:
        if self.n_sft % self.design.references:
            raise ValueError(f"testbed spec: n_sft ({self.n_sft}) must be a multiple of the variant's "
                             f"{self.design.references} references per problem")
        for name in ("n_test", "n_retention", "n_dev", "n_sft"):
            if getattr(self, name) < 1:
                raise ValueError(f"testbed spec: {name} must be positive")
        if not self.task_steps or min(self.task_steps) < 1:
            raise ValueError("testbed spec: task_steps must list chain lengths >= 1")
        if any(w < 0 for _, w in self.pretrain_steps) or not sum(w for _, w in self.pretrain_steps):
            raise ValueError("testbed spec: pretrain_steps needs non-negative weights with a positive sum")

    @property
    def design(self) -> Variant:
        return variant(self.variant)


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


def held_out(spec: TestbedSpec) -> dict[str, list[Problem]]:
    """The problems of each held-out split; fixed by the spec alone (no seed), so every build shares them. Each
    split draws from a stream of its own, so that adding a split never moves another one's problems."""
    test = _unique(random.Random(TEST_SEED), spec.task_steps, spec.n_test, set())
    retention = _unique(random.Random(RETENTION_SEED), spec.retention_steps, spec.n_retention, set())
    dev = _unique(random.Random(DEV_SEED), spec.task_steps, spec.n_dev, {problem_id(p) for p in test + retention})
    return {"test": test, "retention": retention, "dev": dev}


def held_out_ids(spec: TestbedSpec) -> set:
    return {problem_id(p) for problems in held_out(spec).values() for p in problems}


def references(spec: TestbedSpec, split: str, style: str | None = None) -> list[Rendered]:
    """One reference per held-out problem in the variant's layout: `test` and `dev` worded like the variant's SFT
    data and `retention` like pretraining by default; `style` re-renders the same problems in another wording (a
    fixed draw per style)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    design = spec.design
    style = style or ("pretrain" if split == "retention" else design.sft_style)
    rng = random.Random(f"{split}-{style}")
    return [render(p, sample_wording(rng, len(p.ops), style), design.equation_first) for p in held_out(spec)[split]]


def sft_problems(spec: TestbedSpec, seed: int) -> list[Problem]:
    """The SFT problems for one data seed: task chain lengths, none of them held out (a variant with several
    references per problem takes the first n_sft / references of the same draw)."""
    n = spec.n_sft // spec.design.references
    return _unique(random.Random(f"sft-{seed}"), spec.task_steps, n, held_out_ids(spec))


def sft_examples(spec: TestbedSpec, seed: int) -> list[Rendered]:
    """The SFT data for one data seed: for each problem, the variant's number of references in distinct wordings
    (fixed across epochs), problem by problem."""
    design = spec.design
    rng = random.Random(f"sft-wording-{seed}")
    out = []
    for p in sft_problems(spec, seed):
        wordings = []
        while len(wordings) < design.references:
            w = sample_wording(rng, len(p.ops), design.sft_style)
            if w not in wordings:
                wordings.append(w)
        out += [render(p, w, design.equation_first) for w in wordings]
    return out


def pretrain_stream(spec: TestbedSpec, seed: int, batch_size: int) -> Iterator[list[Rendered]]:
    """Endless batches of pretraining examples; one chain length per batch, so padding stays small."""
    rng = random.Random(f"pretrain-{seed}")
    exclude = held_out_ids(spec)
    lengths = [n for n, _ in spec.pretrain_steps]
    weights = [w for _, w in spec.pretrain_steps]
    equation_first = spec.design.equation_first
    while True:
        steps = rng.choices(lengths, weights=weights)[0]
        batch = []
        while len(batch) < batch_size:
            p = sample_problem(rng, steps)
            if problem_id(p) not in exclude:
                batch.append(render(p, sample_wording(rng, steps, "pretrain"), equation_first))
        yield batch
