"""Render messages with a chat template and mark the assistant tokens, the only ones that get a loss.

Templates differ in how a turn looks once later turns follow (Qwen3 adds an empty <think> block to the last
assistant turn only), so each assistant turn is located in the one rendering of the whole conversation:
  start: the end of the rendering of everything before it plus the generation prompt (must be a text prefix);
  end:   the end of the rendering up to and including it, when that is a text prefix; otherwise the end of its
         content in the full text, followed by the end-of-turn token if the template writes one there.
Characters map to tokens through the tokenizer's offsets, so the mask is exact at token level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..objectives.loss import IGNORE_INDEX
from .formats import BadRow, Messages

# The named fallback for tokenizers without a chat template (the ChatML layout Qwen uses).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CHATML_END = "<|im_end|>"


@dataclass
class ChatRenderer:
    tokenizer: object
    template: str
    template_name: str  # "tokenizer", "chatml" or the file path, for the log and the manifest

    @classmethod
    def choose(cls, tokenizer, choice: str = "auto") -> ChatRenderer:
        if choice == "auto":
            own = getattr(tokenizer, "chat_template", None)
            if isinstance(own, str) and own.strip():
                return cls(tokenizer, own, "tokenizer")
            return cls(tokenizer, CHATML_TEMPLATE, "chatml")
        if choice == "chatml":
            return cls(tokenizer, CHATML_TEMPLATE, "chatml")
        return cls(tokenizer, Path(choice).read_text(encoding="utf-8"), choice)

    def text(self, messages: Messages, add_generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(
            messages, chat_template=self.template, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    @property
    def end_of_turn(self) -> list[str]:
        ends = [CHATML_END] if CHATML_END in self.template else []
        eos = getattr(self.tokenizer, "eos_token", None)
        return ends + ([eos] if eos and eos not in ends else [])

    def assistant_spans(self, messages: Messages) -> tuple[str, list[tuple[int, int]]]:
        """The full text and the [start, end) character span of every assistant turn in it."""
        full = self.text(messages)
        spans: list[tuple[int, int]] = []
        cursor = 0
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = self.text(messages[:i], add_generation_prompt=True)
            if not full.startswith(before):
                raise BadRow(f"chat template {self.template_name}: the prompt before assistant turn {i} is not a "
                             "prefix of the rendered conversation; cannot locate the answer")
            start = len(before)
            upto = self.text(messages[: i + 1])
            if full.startswith(upto):
                end = len(upto.rstrip())
            else:
                end = self._content_end(full, message["content"], start, i)
            if end <= start:
                if message["content"].strip():
                    raise BadRow(f"chat template {self.template_name}: cannot find assistant turn {i} in the "
                                 "rendering (it renders as nothing)")
                continue  # an empty answer: nothing to supervise
            spans.append((max(start, cursor), end))
            cursor = end
        return full, spans

    def _content_end(self, full: str, content: str, start: int, turn: int) -> int:
        tail = content.rstrip()[-64:]
        at = full.find(tail, start)
        if not tail or at < 0:
            raise BadRow(f"chat template {self.template_name}: cannot find assistant turn {turn} in the rendering")
        end = at + len(tail)
        for marker in self.end_of_turn:
            if full.startswith(marker, end):
                return end + len(marker)
        return end

    def encode(self, messages: Messages) -> tuple[list[int], list[int]]:
        """input_ids and labels (IGNORE_INDEX outside assistant turns) of the whole conversation, untruncated."""
        full, spans = self.assistant_spans(messages)
        enc = self.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        labels = [IGNORE_INDEX] * len(ids)
        s = 0
        for t, (begin, finish) in enumerate(offsets):
            while s < len(spans) and begin >= spans[s][1]:
                s += 1
            if s == len(spans):
                break
            if spans[s][0] <= begin < spans[s][1] and finish > begin:
                labels[t] = ids[t]
        return ids, labels
