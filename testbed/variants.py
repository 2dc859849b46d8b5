"""Variants of the testbed's design, each moving ONE factor away from the default, so a comparison says which
factor decides whether gating on the model's own p helps.

default       wording first; SFT data in the mildly shifted wording (the pretraining pools, reversed
              preference); one reference per problem. The decisive token after step 3 is TRIVIAL (the opener).
core-skill    equation first, wording after it, in pretraining and SFT data alike: the decision to go on after a
              step is the first (CORE) token of the next equation. Needs its own base (the pretraining format).
one-to-many   several references per problem in different shifted wordings (same example budget, fewer problems):
              fitting the wording means fitting noise, the paper's setting.
shift-none    SFT data worded like pretraining: no wording shift.
shift-strong  SFT data worded with phrases the base never saw: trivial tokens get a very low p.

(`shift-mild`, the brief's name for today's design, is `default`.)
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "default"


@dataclass(frozen=True)
class Variant:
    name: str
    equation_first: bool = False  # the layout of every step, in pretraining and in the SFT data
    sft_style: str = "shifted"  # wording style of the SFT data and the task's references (wording.STYLES)
    references: int = 1  # references per SFT problem; the number of examples stays the spec's n_sft

    @property
    def own_base(self) -> bool:
        """Whether the variant changes pretraining (then it needs a base of its own)."""
        return self.equation_first


VARIANTS = {v.name: v for v in (
    Variant(DEFAULT),
    Variant("core-skill", equation_first=True),
    Variant("one-to-many", references=4),
    Variant("shift-none", sft_style="pretrain"),
    Variant("shift-strong", sft_style="strong"),
)}


def variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"unknown testbed variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]
