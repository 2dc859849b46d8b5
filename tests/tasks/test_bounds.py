"""bounds.py: the boxed answers math-verify is never given, each refused with its reason, while ordinary answers of the
same shape still reach the parser. No worker: the bounds read text only."""

import json

import pytest
from _profit_common.bounds import boxed_answers, refusal  # on sys.path through conftest.py

from tasks.registry import TASKS_DIR


def _assert_bound(refused: dict, ordinary: list, reason: str):
    for text, detail in refused.items():
        why = refusal(text)
        assert why is not None and reason in why and detail in why, (text[:60], why)
    for text in ordinary:
        assert refusal(text) is None, text


def test_a_long_boxed_answer_is_refused():
    _assert_bound(
        refused={
            r"\boxed{" + "1+" * 600 + "1}": "1,201 characters",
            r"\boxed{" + "{" * 4000 + "1" + "}" * 4000 + "}": "8,001 characters",
            "So \\boxed{x = " + "and so on " * 200: "2,004 characters",  # never closed: the rest is the answer
        },
        ordinary=[
            r"\boxed{" + " + ".join(f"{k}x^{{{k}}}" for k in range(1, 40)) + "}",  # a 40-term polynomial, ~360 chars
            r"\boxed{\begin{pmatrix} -\frac{1}{3} & \frac{2}{3} & 0 \\ \frac{1}{2} & -1 & \frac{5}{6} \end{pmatrix}}",
            "So \\boxed{x = 1} and so on " * 200,  # many boxes, each short
        ],
        reason="a boxed answer of",
    )


def test_deep_nesting_is_refused():
    _assert_bound(
        refused={
            r"\boxed{" + "{" * 300 + "1" + "}" * 300 + "}": "300 deep",
            r"\boxed{" + "(" * 11 + "1" + ")" * 11 + "}": "11 deep",
            r"\boxed{" + r"\frac{1}{" * 50 + "2" + "}" * 50 + "}": "50 deep",
        },
        ordinary=[
            r"\boxed{" + "(" * 10 + "1" + ")" * 10 + "}",
            r"\boxed{\left\{\left(\frac{1+\sqrt{5}}{2}, e^{\frac{\pi}{2}}\right)\right\}}",
            r"\boxed{[0,1)} and (((these (parentheses (in (the (text (are (not (the (answer)))))))))))",
        ],
        reason="nested",
    )


def test_towers_and_huge_powers_are_refused():
    _assert_bound(
        refused={
            r"\boxed{9^{9^{9^{9}}}}": "3.7e+08 digits",
            r"\boxed{x^{9^{9^{9}}}}": "3.7e+08 digits",  # a symbol's exponent is still computed
            r"\boxed{\left(9\right)^{9^{9}}}": "3.7e+08 digits",
            r"\boxed{(1+1)^{10^{9}}}": "6e+08 digits",
            r"\boxed{2^{10^{6}}}": "3e+05 digits",
            r"\boxed 7^{7^{7^{7}}}": "digits",  # a box without braces holds the rest of the text
        },
        ordinary=[
            r"\boxed{2^{10}}",
            r"\boxed{e^{x^2}}",
            r"\boxed{2^{2^{n}}}",
            r"\boxed{10^{100}}",
            r"\boxed{3^{99999}}",
            r"\boxed{\frac{1}{2^{100}}}",
            r"We need $1^{(2^{235423523})}$, and 1 to any power is 1, so \boxed{1}",  # MATH-500's own tower
        ],
        reason="a power with about",
    )


def test_huge_factorials_are_refused():
    _assert_bound(
        refused={
            r"\boxed{(10^{10})!}": "1e+11 digits",
            r"\boxed{10000000000!}": "1e+11 digits",
            r"\boxed{10!!}": "digits",  # (10!)!
            r"\boxed{\binom{100000}{50000}}": "5e+05 digits",
            r"\boxed{\Gamma(10^{10})}": "1e+11 digits",
            r"\boxed{\prod_{i=1}^{10^{10}} i}": "1e+11 digits",
        },
        ordinary=[
            r"\boxed{10!}",
            r"\boxed{(n+1)!}",
            r"\boxed{\frac{20!}{10!\,10!}}",
            r"\boxed{\binom{10}{5}}",
            r"\boxed{2^{3}!}",
            r"\boxed{\sum_{k=1}^{100} k!}",
        ],
        reason="a factorial with about",
    )


def test_boxed_answers_are_found_as_math_verify_finds_them():
    text = r"First \boxed{a^{2}} then \fbox {b} then \boxed 7 and \boxed{\frac{1}{2} then \boxed{c}"
    assert boxed_answers(text) == ["a^{2}", "b", "7 and ", r"\frac{1}{2} then ", "c"]


@pytest.mark.parametrize("task", ["profit_math500", "profit_aime24"])
def test_every_gold_answer_and_reference_solution_passes(task):
    rows = [json.loads(line) for line in (TASKS_DIR / task / "data" / "test.jsonl").read_text().splitlines()]
    for row in rows:
        assert refusal(f"So the answer is \\boxed{{{row['answer']}}}.") is None, row["answer"]
        assert refusal(row["solution"][-8192:]) is None, row["solution"][-200:]
