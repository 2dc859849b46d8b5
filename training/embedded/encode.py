"""Chat-formatted token ids of one problem, with the supervised span and a ground-truth label per token."""

from __future__ import annotations

from dataclasses import dataclass

from .render import NEUTRAL, Rendered


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]  # ChatML prompt (with the generation header) + solution + <|im_end|>
    prompt_len: int  # tokens before the solution; the rest is supervised
    token_labels: str  # one label per supervised token (the solution's tokens, then NEUTRAL for <|im_end|>)


def prompt_text(tokenizer, question: str) -> str:
    messages = [{"role": "user", "content": question}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def token_labels(tokenizer, text: str, char_labels: str) -> tuple[list[int], str]:
    """Token ids of `text` and each token's label: the label of its non-space characters (NEUTRAL if none).

    Raises ValueError for a token that covers two labels, which the pre-tokenizer is built to prevent.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = []
    for start, end in enc["offset_mapping"]:
        found = {lab for ch, lab in zip(text[start:end], char_labels[start:end]) if not ch.isspace()}
        if len(found) > 1:
            raise ValueError(f"token {text[start:end]!r} mixes labels {sorted(found)}")
        labels.append(found.pop() if found else NEUTRAL)
    return list(enc["input_ids"]), "".join(labels)


def encode(tokenizer, r: Rendered) -> Encoded:
    prompt = tokenizer(prompt_text(tokenizer, r.question), add_special_tokens=False)["input_ids"]
    ids, labels = token_labels(tokenizer, r.solution, r.char_labels)
    return Encoded(list(prompt) + ids + [tokenizer.eos_token_id], len(prompt), labels + NEUTRAL)
