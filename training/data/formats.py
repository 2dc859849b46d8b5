"""Row formats users bring (ShareGPT, OpenAI messages, Alpaca, prompt/response, GSM8K), each turned into messages."""

from __future__ import annotations

import re

from profit_core.errors import UserError


class BadRow(UserError):
    """A row that cannot become a training example; the message says why."""


Messages = list[dict[str, str]]

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant"}
GSM8K_CALC = re.compile(r"<<[^<>]*>>")


def _text(row: dict, key: str, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise BadRow(f"missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise BadRow(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def _sharegpt(row: dict) -> Messages:
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise BadRow("field 'conversations' must be a non-empty list")
    messages = [{"role": "system", "content": _text(row, "system")}] if row.get("system") else []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise BadRow(f"conversations[{i}] must be an object with 'from' and 'value'")
        speaker = turn.get("from")
        if speaker not in SHAREGPT_ROLES:
            raise BadRow(f"conversations[{i}]: unknown speaker {speaker!r} (known: {', '.join(SHAREGPT_ROLES)})")
        messages.append({"role": SHAREGPT_ROLES[speaker], "content": _text(turn, "value")})
    return messages


def _openai(row: dict) -> Messages:
    turns = row.get("messages")
    if not isinstance(turns, list) or not turns:
        raise BadRow("field 'messages' must be a non-empty list")
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ("system", "user", "assistant"):
            raise BadRow(f"messages[{i}] must have role system, user or assistant")
        messages.append({"role": turn["role"], "content": _text(turn, "content")})
    return messages


def _alpaca(row: dict) -> Messages:
    prompt = _text(row, "instruction")
    extra = _text(row, "input", required=False)
    if extra:
        prompt = f"{prompt}\n{extra}" if prompt else extra  # LLaMA-Factory's alpaca converter joins them so
    system = _text(row, "system", required=False)
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": _text(row, "output")},
    ]


def _prompt_response(row: dict) -> Messages:
    return [{"role": "user", "content": _text(row, "prompt")},
            {"role": "assistant", "content": _text(row, "response")}]


def _gsm8k(row: dict) -> Messages:
    answer = _text(row, "answer")
    if "####" not in answer:
        raise BadRow("GSM8K answer has no '#### <number>' line")
    # The <<48/2=24>> calculator annotations are tool traces, not text a model should learn to write.
    return [{"role": "user", "content": _text(row, "question")},
            {"role": "assistant", "content": GSM8K_CALC.sub("", answer)}]


CONVERTERS = {
    "sharegpt": _sharegpt,
    "openai": _openai,
    "alpaca": _alpaca,
    "prompt_response": _prompt_response,
    "gsm8k": _gsm8k,
}

# The first key set a row holds decides its format, in this order.
SIGNATURES = (
    ("sharegpt", ("conversations",)),
    ("openai", ("messages",)),
    ("alpaca", ("instruction", "output")),
    ("prompt_response", ("prompt", "response")),
    ("gsm8k", ("question", "answer")),
)


def detect_format(row: object) -> str:
    if isinstance(row, dict):
        for name, keys in SIGNATURES:
            if all(k in row for k in keys):
                return name
    keys = sorted(row) if isinstance(row, dict) else type(row).__name__
    raise BadRow(
        f"cannot tell the data format from the first row (keys: {keys}); expected one of "
        + "; ".join(f"{n}: {'+'.join(k)}" for n, k in SIGNATURES)
        + ". Set data_format explicitly."
    )


def to_messages(row: object, data_format: str) -> Messages:
    """Messages for one row, checked: roles alternate sensibly and at least one assistant turn has content."""
    if not isinstance(row, dict):
        raise BadRow(f"a row must be a JSON object, got {type(row).__name__}")
    messages = CONVERTERS[data_format](row)
    if not any(m["role"] == "assistant" for m in messages):
        raise BadRow("no assistant turn to train on")
    if messages[-1]["role"] != "assistant":
        messages = messages[: max(i for i, m in enumerate(messages) if m["role"] == "assistant") + 1]
    if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
        raise BadRow("every assistant turn is empty")
    first = next(i for i, m in enumerate(messages) if m["role"] != "system")
    if messages[first]["role"] != "user":
        raise BadRow("the conversation must start with a user turn (after an optional system prompt)")
    return messages
