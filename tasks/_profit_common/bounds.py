"""Boxed answers that math-verify must not parse, refused in linear time before any parser sees them.

math-verify reads a response's boxed answer. Two things make it slow, and no real answer has them (MATH-500's and
AIME's golds are at most 53 characters, nested 2 deep, with numbers of at most 10 digits):
- length and nesting: its ANTLR parser slows down fast with depth (10 nested braces take ~2 s here, 300 take minutes);
- huge numbers: `verify` computes powers, factorials and binomials exactly, so `9^{9^{9^{9}}}` or `(10^{10})!` never
  finish. We bound the digits of every such number from the text alone (upper bounds, in log10).
Every `\\boxed{}` / `\\fbox{}` of the text is checked. A response without one reaches the parser only through an
"answer is $...$" phrase; the sandbox's time limit covers that, and anything these bounds miss.
"""

from __future__ import annotations

import math
import re

MAX_ANSWER_CHARS = 1000
MAX_DEPTH = 10
# Digits of all the powers, factorials and binomials of one answer together: 10^5 digits take sympy ~0.01 s.
MAX_DIGITS = 100_000

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\d+(?:\.\d+)?|\S", re.DOTALL)
_OPEN = {"{", "(", "[", "\\{"}
_CLOSE = {"}", ")", "]", "\\}"}
# Sizing and spacing, dropped: `\left(9\right)^{99}` is `(9)^{99}`.
_IGNORED = re.compile(r"\\(?:left|right|[bB]igg?[lr]?|displaystyle|[^A-Za-z{}])")
# Commands that join two numbers; any other command or letter is a symbol, which sympy keeps unevaluated.
_OPERATORS = {"\\cdot", "\\times", "\\div", "\\pm", "\\mp", "\\ast"}
_FRACTIONS = {"\\frac", "\\dfrac", "\\tfrac", "\\cfrac"}
_FACTORIAL_LIKE = {"\\binom", "\\dbinom", "\\tbinom", "\\Gamma"}
_SERIES = {"\\sum", "\\prod"}
_LOG10_2 = math.log10(2)


class _TooBig(Exception):
    pass


def boxed_answers(text: str) -> list[str]:
    """What each `\\boxed{...}` holds, braces matched as math-verify matches them: an unclosed or brace-less box holds
    the text up to the next box."""
    closing, stack = {}, []
    for i, char in enumerate(text):
        if char == "{":
            stack.append(i)
        elif char == "}" and stack:
            closing[stack.pop()] = i
    boxes = list(_BOX.finditer(text))
    answers = []
    for k, box in enumerate(boxes):
        start = box.end()
        if start in closing:
            answers.append(text[start + 1 : closing[start]])
        else:
            if text.startswith("{", start):
                start += 1
            stop = boxes[k + 1].start() if k + 1 < len(boxes) else len(text)
            answers.append(text[start:stop])
    return answers


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "})]" and depth:
            depth -= 1
    return deepest


def refusal(text: str) -> str | None:
    """Why the boxed answers of `text` must not be parsed, or None when they may."""
    for answer in boxed_answers(text):
        if len(answer) > MAX_ANSWER_CHARS:
            return f"a boxed answer of {len(answer):,} characters (limit {MAX_ANSWER_CHARS:,})"
        depth = nesting_depth(answer)
        if depth > MAX_DEPTH:
            return f"brackets nested {depth} deep in a boxed answer (limit {MAX_DEPTH})"
        try:
            _Sizes(answer).sequence(closed=False)
        except _TooBig as exc:
            return str(exc)
    return None


def _log10(number: str) -> float:
    """log10 of a literal's magnitude or of its reciprocal, whichever is larger (0.001 is as big a number as 1000)."""
    value = float(number)
    if math.isinf(value):
        return float(len(number.split(".")[0]))
    return abs(math.log10(value)) if value else 0.0


def _combine(sizes: list[float | None]) -> float | None:
    # Operators are not told apart: sum(max(s, log10 2)) bounds a product, a quotient and a sum of n terms alike.
    return None if None in sizes else sum(max(s, _LOG10_2) for s in sizes)


class _Sizes:
    """A one-pass reading of an answer's numbers: each method returns an upper bound on log10 of the value it read
    (None: a symbol), and adds the digits of every power, factorial or binomial to a total that must stay under
    MAX_DIGITS. Recursion follows bracket nesting, which `refusal` has bounded first."""

    def __init__(self, text: str):
        self.tokens = [token for token in _TOKEN.findall(text) if not _IGNORED.fullmatch(token)]
        self.at = 0
        self.digits = 0.0

    def sequence(self, closed: bool) -> float | None:
        """Terms up to the closing bracket (any: `[0,1)` is an interval) or the end."""
        sizes = []
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            if token in _CLOSE:
                self.at += 1
                if closed:
                    break
            elif self._starts_atom(token):
                sizes.append(self._term())
            else:  # an operator, or a `^` / `!` with nothing before it
                self.at += 1
        return _combine(sizes)

    def _starts_atom(self, token: str | None) -> bool:
        if token is None:
            return False
        command = token.startswith("\\") and token[1:2].isalpha()
        return token in _OPEN or token[0].isalnum() or (command and token not in _OPERATORS)

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _argument(self) -> float | None:
        return self._atom() if self._starts_atom(self._peek()) else None

    def _term(self) -> float | None:
        """An atom and its postfixes: `^` (a power; after \\sum / \\prod the number of terms), `_` (a name), `!`."""
        head = self._peek()
        size = self._atom()
        while (token := self._peek()) in ("^", "_", "!"):
            self.at += 1
            if token == "!":
                size = self._factorial(size)
                continue
            argument = self._argument()
            if token == "_":
                size = None
            elif head in _SERIES:
                self._factorial(argument)
            else:
                size = self._power(size, argument)
        return size

    def _atom(self) -> float | None:
        token = self.tokens[self.at]
        self.at += 1
        if token in _OPEN:
            return self.sequence(closed=True)
        if token[0].isdigit():
            return _log10(token)
        if token in _FRACTIONS:
            return _combine([self._argument(), self._argument()])
        if token == "\\sqrt":
            index = self._atom() if self._peek() == "[" else 0.0
            return _combine([index, self._argument()])
        if token in _FACTORIAL_LIKE:
            size = self._factorial(self._argument())
            if token != "\\Gamma":
                self._argument()  # k of \binom{n}{k}: the cost is n's
            return size
        return None

    def _power(self, base: float | None, exponent: float | None) -> float | None:
        if base is None or exponent is None:
            return None
        # log10(b^e) = e * log10(b) <= 10^L(e) * L(b); an exponent past 10^300 is past any limit anyway.
        return self._count(base * 10 ** min(exponent, 300.0), "a power")

    def _factorial(self, n: float | None) -> float | None:
        if n is None:
            return None
        # log10(n!) <= n * log10(n), with n <= 10^L(n).
        return self._count(10 ** min(n, 300.0) * n, "a factorial")

    def _count(self, digits: float, what: str) -> float:
        self.digits += digits
        if self.digits > MAX_DIGITS:
            raise _TooBig(f"{what} with about {digits:.2g} digits in a boxed answer (limit {MAX_DIGITS:,} in all)")
        return digits
