"""Plain string preparation of model output before it is scored (no parsing, linear time)."""

from __future__ import annotations

import os

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# Final answers sit at the end of a response; parsers only ever see this many trailing characters, so a megabyte of
# text costs them nothing. 8192 characters is far more than any boxed answer or "ANSWER: X" line needs.
ANSWER_TAIL_CHARS = 8192


def strip_think(text: str) -> str:
    """Drop a reasoning block: keep what follows the last `</think>`; an unclosed `<think>` leaves nothing to score."""
    if THINK_CLOSE in text:
        return text.rsplit(THINK_CLOSE, 1)[1]
    if THINK_OPEN in text:
        return ""
    return text


def strip_think_enabled() -> bool:
    """`PROFIT_STRIP_THINK=1` makes every profit_* task score only the text after the reasoning block."""
    return os.environ.get("PROFIT_STRIP_THINK", "").strip().lower() in ("1", "true", "yes", "on")


def answer_tail(text: str) -> str:
    return text[-ANSWER_TAIL_CHARS:]
