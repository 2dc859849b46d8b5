"""Rule-based core / trivial labels for GSM8K solutions: the testbed's token analysis on real data.

The testbed knows the label of every token because it writes its references itself. A real data set has no
ground truth, so the labels come from rules on the notation of a GSM8K solution. They stand in for the paper's
Gemini labels (§4.1: core = the tokens that carry the reasoning and the result; trivial = wording that could be
said otherwise), and they are approximate where notation and meaning part (see the last rules).

Rules, per character of the solution text (CORE `C`, TRIVIAL `T`, NEUTRAL `-`):
  1. a calculator annotation `<<48/2=24>>` (when the text still has one) is CORE as a whole;
  2. the final answer line (`#### 72`): the marker and the answer are CORE, its spaces NEUTRAL;
  3. digits are CORE; `.` `,` and `:` between digits (3.5, 1,000, 3:30), and `.` before a digit (.75), are CORE;
  4. operators and signs of a quantity are CORE: + * = × ÷ ^ √ < > % ° and currency $ € £ ¢;
     `-` (and the dashes – −) is CORE before an operand (a digit, currency, `(` or `.`): a minus, not a hyphen;
     `/` is CORE beside a digit or bracket (3/4, $5/hour, (a+b)/2), TRIVIAL between letters (and/or);
     a standalone `x` / `X` next to a number, currency, bracket or operator is multiplication (2 x 4) or the
     unknown of an equation (3*x = 12), CORE;
     brackets are CORE when they enclose a digit ((3+4)*2), NEUTRAL otherwise;
  5. letters are TRIVIAL: the wording, units included ("clips", "hours", "dollars"); an apostrophe or hyphen
     inside a word ("Weng's", "T-shirt", "5-year-old") belongs to it, TRIVIAL;
  6. whitespace and the remaining punctuation (sentence periods, commas, colons, quotes) are NEUTRAL.
Not captured: numbers written as words ("half", "twice", "three"), TRIVIAL by rule 5; a unit inside a
calculation is TRIVIAL wording like any other word.

`profit train`'s `gsm8k` format removes the calculator annotations (training/data/formats.py), so the labels of a
data file describe the answer as trained: the same conversion, then the rules (rule 1 only matters for text that
keeps its annotations). A labels file `X_labels.jsonl` beside `X.jsonl` holds one row per data row:
`{"char_labels": "...", "labeller": LABELLER}`; the `labeller` field marks rule labels, for which a token whose
characters are part core and part trivial is counted as `mixed` (testbed/encode.py) instead of refused.

    python -m testbed.gsm8k_labels data/gsm8k/train_subset.jsonl [--check]   # (re)write or check the labels file
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from training.data.formats import BadRow, detect_format, to_messages
from training.data.reading import read_rows

from .data import labels_path
from .render import CORE, NEUTRAL, TRIVIAL, Rendered

LABELLER = "gsm8k-rules-1"  # bump when a rule changes: labels files record which rules made them
TEST = Path(__file__).resolve().parent.parent / "tasks" / "profit_gsm8k" / "data" / "test.jsonl"

ANNOTATION = re.compile(r"<<[^<>]*>>")
ANSWER_LINE = re.compile(r"^[ \t]*####.*$", re.MULTILINE)
DIGITS = frozenset("0123456789")
ALWAYS_CORE = frozenset("+*=×÷^√<>%°$€£¢")
CURRENCY = frozenset("$€£¢")
MINUS = frozenset("-–−")
OPEN, CLOSE = "([{", ")]}"
X_NEIGHBOURS = DIGITS | CURRENCY | ALWAYS_CORE | MINUS | set(OPEN) | set(CLOSE) | {"/"}


def _near(text: str, i: int, step: int) -> str:
    """The nearest character from i (exclusive) in direction `step` that is not a space or tab ("" at an edge or a
    line break: an operator does not reach across lines)."""
    j = i + step
    while 0 <= j < len(text) and text[j] in " \t":
        j += step
    return text[j] if 0 <= j < len(text) and text[j] != "\n" else ""


def _brackets_with_digits(text: str) -> set[int]:
    """Positions of the brackets of every balanced pair that encloses a digit."""
    out, stack = set(), []
    for i, ch in enumerate(text):
        if ch in OPEN:
            stack.append(i)
        elif ch in CLOSE and stack:
            j = stack.pop()
            if any(c in DIGITS for c in text[j + 1 : i]):
                out.update((i, j))
    return out


def _char(text: str, i: int, brackets: set[int]) -> str:
    ch = text[i]
    prev = text[i - 1] if i else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch in DIGITS or ch in ALWAYS_CORE:
        return CORE
    if ch in ".,:" and prev in DIGITS and nxt in DIGITS or ch == "." and nxt in DIGITS:
        return CORE
    if ch.isspace():
        return NEUTRAL
    if ch in MINUS:
        after = _near(text, i, 1)
        if after in DIGITS or after in CURRENCY or after in OPEN or after == ".":
            return CORE
        return TRIVIAL if prev.isalnum() and nxt.isalpha() else NEUTRAL
    if ch == "/":
        if {_near(text, i, -1), _near(text, i, 1)} & (DIGITS | set(OPEN) | set(CLOSE)):
            return CORE
        return TRIVIAL if prev.isalpha() and nxt.isalpha() else NEUTRAL
    if ch in "xX" and not prev.isalpha() and not nxt.isalpha():
        return CORE if {_near(text, i, -1), _near(text, i, 1)} & X_NEIGHBOURS else TRIVIAL
    if ch.isalpha():
        return TRIVIAL
    if ch in OPEN or ch in CLOSE:
        return CORE if i in brackets else NEUTRAL
    if ch in "'’" and prev.isalpha() and nxt.isalpha():
        return TRIVIAL
    return NEUTRAL


def label_solution(text: str) -> str:
    """One label per character of a GSM8K solution (with or without its calculator annotations); rules above."""
    brackets = _brackets_with_digits(text)
    labels = [_char(text, i, brackets) for i in range(len(text))]
    for span in ANNOTATION.finditer(text):
        labels[span.start() : span.end()] = CORE * (span.end() - span.start())
    for line in ANSWER_LINE.finditer(text):
        for i in range(line.start(), line.end()):
            labels[i] = NEUTRAL if text[i].isspace() else CORE
    return "".join(labels)


def labelled(row: dict, data_format: str = "auto") -> Rendered:
    """A data row as `profit train` renders it (its format's conversion: for `gsm8k`, annotations removed), with
    the rule labels of its answer. The row must be one question and one answer."""
    data_format = detect_format(row) if data_format == "auto" else data_format
    turns = [m for m in to_messages(row, data_format) if m["role"] != "system"]
    if [m["role"] for m in turns] != ["user", "assistant"]:
        raise BadRow("rule labels need one user turn and one assistant turn")
    question, answer = turns[0]["content"], turns[1]["content"]
    return Rendered(question, answer, label_solution(answer), answer=0, steps=0)


def references(n: int | None = None, path: Path = TEST) -> list[Rendered]:
    """The first n GSM8K test solutions (the profit_gsm8k task's data), labelled as training data is: held-out
    references for the token analysis."""
    rows = [row for _, row in read_rows(path)]
    if n is not None and not 1 <= n <= len(rows):
        raise ValueError(f"n must be in [1, {len(rows)}] (the GSM8K test split's size), got {n}")
    return [labelled(row, "gsm8k") for row in rows[:n]]


def label_rows(data: str | Path, data_format: str = "auto") -> list[dict]:
    """The labels file's rows for a data file: one per data row, in order."""
    out = []
    for where, row in read_rows(data):
        if isinstance(row, BadRow):
            raise BadRow(f"{where}: {row}")
        try:
            ref = labelled(row, data_format)
        except BadRow as err:
            raise BadRow(f"{where}: {err}") from None
        out.append({"char_labels": ref.char_labels, "labeller": LABELLER})
    return out


def labels_text(data: str | Path, data_format: str = "auto") -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in label_rows(data, data_format))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.gsm8k_labels", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a GSM8K-style data file (.jsonl/.json/.parquet)")
    ap.add_argument("--check", action="store_true", help="only check that the labels file beside it is current")
    args = ap.parse_args(argv)
    target, text = labels_path(args.data), labels_text(args.data)
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target}: missing or out of date (run python -m testbed.gsm8k_labels {args.data})",
                  file=sys.stderr)
            return 1
        print(f"{target} is current")
        return 0
    target.write_text(text, encoding="utf-8")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
