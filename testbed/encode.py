"""The testbed's references as `profit train` sees them: rendered from the same messages by the same `ChatRenderer`
(training/data/render.py) with the tokenizer's own chat template, plus a label for every token."""

from __future__ import annotations

from dataclasses import dataclass

from training.data.render import IGNORE_INDEX, ChatRenderer

from .render import CORE, LABEL_NAMES, NEUTRAL, TRIVIAL, Rendered

UNSUPERVISED = " "
MIXED = "M"  # a token with core and trivial characters (rule labels on a real tokenizer only)
TOKEN_LABEL_NAMES = {**LABEL_NAMES, MIXED: "mixed"}


def class_names(mixed: bool) -> list[str]:
    """The token classes an analysis reports: core, trivial, neutral, and `mixed` where it may occur."""
    return list(LABEL_NAMES.values()) + (["mixed"] if mixed else [])


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX outside the answer, exactly as profit train masks the conversation
    token_labels: str  # per position: CORE / TRIVIAL / NEUTRAL / MIXED for a supervised token, UNSUPERVISED elsewhere

    @property
    def supervised_labels(self) -> str:
        return self.token_labels.replace(UNSUPERVISED, "")


def token_label(found: set[str], mixed: bool) -> str:
    """The label of a token from the labels of its non-space characters.

    mixed=False (exact labels, the testbed): they must agree; anything else raises ValueError, which the testbed
    tokenizer's pre-tokenizer is built to prevent.
    mixed=True (rule labels on a real tokenizer, which may merge a word with punctuation or a digit with a sign):
    NEUTRAL characters (punctuation) take the label of what they are attached to; a token with CORE and TRIVIAL
    characters is MIXED, a class of its own, reported and never assigned to either side.
    """
    if not mixed:
        if len(found) > 1:
            raise ValueError(f"mixes labels {sorted(found)}")
        return found.pop() if found else NEUTRAL
    found = found - {NEUTRAL}
    if found == {CORE, TRIVIAL}:
        return MIXED
    return found.pop() if found else NEUTRAL


def encode(renderer: ChatRenderer, r: Rendered, mixed: bool = False) -> Encoded:
    """input_ids, labels and per-token labels of one reference; its end-of-turn marker is NEUTRAL. A token's label
    is that of its non-space characters (`token_label`: with mixed=False a token spanning two labels raises)."""
    messages = r.messages()
    full, ((span_start, span_end),) = renderer.assistant_spans(messages)
    # The solution as written; a template may put something before it in the turn (Qwen3's empty <think></think>
    # block: supervised, NEUTRAL like the end-of-turn marker).
    start = full.find(r.solution, span_start, span_end)
    if start < 0:
        raise ValueError("the chat template changes the solution text; its tokens cannot be labelled")
    if len(r.char_labels) != len(r.solution):
        raise ValueError(f"{len(r.char_labels)} character labels for a solution of {len(r.solution)} characters")
    ids, labels = renderer.encode(messages)
    offsets = renderer.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    out = []
    for label, (begin, end) in zip(labels, offsets):
        if label == IGNORE_INDEX:
            out.append(UNSUPERVISED)
            continue
        found = {r.char_labels[i - start] for i in range(max(begin, start), end)
                 if i - start < len(r.solution) and not full[i].isspace()}
        try:
            out.append(token_label(found, mixed))
        except ValueError as err:
            raise ValueError(f"token {full[begin:end]!r} {err}") from None
    return Encoded(list(ids), list(labels), "".join(out))
