"""`profit-replay`: an lm-eval model that answers each generate_until request with stored text.

It lets the real task definitions run end to end (prompt -> "generation" -> scoring -> metrics) without a model:
tests feed hand-made outputs with known verdicts, and a stored run can be re-scored after a scoring change.

Records (a list of dicts, or a JSONL file of them), looked up in this order:
  {"task": "profit_gsm8k", "doc_id": 3, "repeat": 1, "text": "..."}   one repeat of one doc
  {"task": "profit_gsm8k", "doc_id": 3, "text": "..."}                every repeat of that doc
  {"prompt": "<the exact prompt>", "text": "..."}                     any request with that prompt
An optional "finish_reason" ("stop" | "length") travels with the text for the tasks' `truncated` metric.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import lm_eval.models  # noqa: F401  (fills lm-eval's registry first: it imports its own models only when empty)
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model


class ReplayText(str):
    """A response string that also says why generation ended (the tasks read `finish_reason`)."""

    finish_reason: str | None = None


@register_model("profit-replay")
class ReplayLM(LM):
    def __init__(self, responses: str | Path | list[dict], default: str | None = None, **_ignored):
        """`responses`: records or a JSONL path; `default`: text for requests with no record (None: fail)."""
        super().__init__()
        records = _read_jsonl(Path(responses)) if isinstance(responses, str | Path) else list(responses)
        self.default = default
        self.by_repeat: dict[tuple, dict] = {}
        self.by_doc: dict[tuple, dict] = {}
        self.by_prompt: dict[str, dict] = {}
        for i, rec in enumerate(records):
            if "text" not in rec or not isinstance(rec["text"], str):
                raise ValueError(f"replay record {i} has no string 'text': {sorted(rec)}")
            if "prompt" in rec:
                self.by_prompt[rec["prompt"]] = rec
            elif "task" in rec and "doc_id" in rec:
                key = (rec["task"], int(rec["doc_id"]))
                if "repeat" in rec:
                    self.by_repeat[key + (int(rec["repeat"]),)] = rec
                else:
                    self.by_doc[key] = rec
            else:
                raise ValueError(f"replay record {i} needs 'prompt' or 'task' + 'doc_id'")

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        # lm-eval sends each request `repeats` times in a row; the n-th sighting of a doc is its repeat n.
        seen: Counter = Counter()
        out = []
        for req in requests:
            key = (req.task_name, int(req.doc_id))
            repeat = seen[key]
            seen[key] += 1
            rec = self.by_repeat.get(key + (repeat,)) or self.by_doc.get(key) or self.by_prompt.get(req.args[0])
            if rec is None:
                if self.default is None:
                    raise KeyError(f"profit-replay: no stored text for task={key[0]} doc_id={key[1]} repeat={repeat}")
                rec = {"text": self.default}
            text = ReplayText(rec["text"])
            text.finish_reason = rec.get("finish_reason")
            out.append(text)
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("profit-replay only replays generations (generate_until tasks)")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("profit-replay only replays generations (generate_until tasks)")

    @property
    def tokenizer_name(self) -> str:
        return "profit-replay"

    def apply_chat_template(self, chat_history: list[dict], add_generation_prompt: bool = True) -> str:
        # Prompts only serve as lookup keys here, so a plain, readable rendering is enough.
        return "".join(f"<{m['role']}>\n{m['content']}\n" for m in chat_history) + (
            "<assistant>\n" if add_generation_prompt else ""
        )


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"profit-replay: no such responses file: {path}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
