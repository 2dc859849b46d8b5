"""The testbed's references as `profit train` sees them: rendered from the same messages by the same `ChatRenderer`
(training/data/render.py) with the tokenizer's own chat template, plus a ground-truth label for every token."""

from __future__ import annotations

from dataclasses import dataclass

from training.data.render import IGNORE_INDEX, ChatRenderer

from .render import NEUTRAL, Rendered

UNSUPERVISED = " "


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX outside the answer, exactly as profit train masks the conversation
    token_labels: str  # per position: CORE / TRIVIAL / NEUTRAL for a supervised token, UNSUPERVISED elsewhere

    @property
    def supervised_labels(self) -> str:
        return self.token_labels.replace(UNSUPERVISED, "")


def encode(renderer: ChatRenderer, r: Rendered) -> Encoded:
    """input_ids, labels and per-token labels of one reference; its end-of-turn marker is NEUTRAL.

    Raises ValueError for a supervised token that covers two labels, which the testbed tokenizer's pre-tokenizer is
    built to prevent (any other tokenizer may merge across a boundary, and then its tokens cannot be labelled).
    """
    messages = r.messages()
    full, ((start, _),) = renderer.assistant_spans(messages)
    if not full.startswith(r.solution, start):
        raise ValueError("the chat template changes the solution text; its tokens cannot be labelled")
    ids, labels = renderer.encode(messages)
    offsets = renderer.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    out = []
    for label, (begin, end) in zip(labels, offsets):
        if label == IGNORE_INDEX:
            out.append(UNSUPERVISED)
            continue
        found = {r.char_labels[i - start] for i in range(max(begin, start), end)
                 if i - start < len(r.solution) and not full[i].isspace()}
        if len(found) > 1:
            raise ValueError(f"token {full[begin:end]!r} mixes labels {sorted(found)}")
        out.append(found.pop() if found else NEUTRAL)
    return Encoded(list(ids), list(labels), "".join(out))
