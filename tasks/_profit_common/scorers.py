"""Per-response scorers: `(doc, response) -> {metric: value}`. They parse untrusted model output, so the tasks run
them only inside the scoring worker (`worker.py`, through `score`), each call under a time limit; nothing here ever
evaluates the text.

A value is a number (averaged over repeats) or a list of booleans (IFEval's instruction-level metrics, pooled).
"""

from __future__ import annotations

import re
from functools import lru_cache

from _profit_common import bounds
from _profit_common.text import answer_tail

# ----------------------------------------------------------------------------------------------------------- GSM8K
# OpenCompass gsm8k_postprocess: the last number before any "Question:" (the model starting a new exemplar).
_NUMBER = re.compile(r"-?\d+\.\d+|-?\d+")
# Unlike OpenCompass, "1,000" is read as 1000 rather than 000.
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def last_number(text: str) -> str | None:
    text = answer_tail(text.split("Question:", 1)[0])
    numbers = _NUMBER.findall(_THOUSANDS_COMMA.sub("", text))
    return numbers[-1] if numbers else None


def numbers_equal(pred: str, gold: str) -> bool:
    # OpenCompass Gsm8kEvaluator: equal as strings, or within 1e-6 as floats ("18.0" == "18").
    if pred == gold:
        return True
    try:
        return abs(float(pred) - float(gold)) < 1e-6
    except (ValueError, OverflowError):
        return False


def score_gsm8k(doc: dict, response: str) -> dict:
    pred = last_number(response)
    return {"acc": float(pred is not None and numbers_equal(pred, doc["target"]))}


# ------------------------------------------------------------------------------------------------ MATH-500 / AIME
@lru_cache(maxsize=1)
def _math_verify():
    import logging

    from latex2sympy2_extended import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    # We enforce our own time limit around every call; math-verify's signal-based one is switched off.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    gold_config = [LatexExtractionConfig(), ExprExtractionConfig()]
    # OpenCompass MATHEvaluator's prediction config, except malformed_operators=True so that the valid LaTeX
    # `\frac12` / `\sqrt2` is read. LaTeX extraction only: ExprExtractionConfig would hand the text to sympy's
    # parse_expr, which calls eval().
    pred_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(
                nits=False, malformed_operators=True, basic_latex=True, boxed="all", units=True
            ),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]
    return parse, verify, gold_config, pred_config


@lru_cache(maxsize=4096)
def _parsed_gold(answer: str):
    parse, _, gold_config, _ = _math_verify()
    return parse(f"${answer}$", extraction_config=gold_config, extraction_mode="first_match", parsing_timeout=None)


def math_verify_equal(gold_answer: str, response: str) -> bool:
    parse, verify, _, pred_config = _math_verify()
    gold = _parsed_gold(gold_answer)
    if not gold:
        raise ValueError(f"math-verify cannot parse the gold answer {gold_answer!r}")
    pred = parse(
        answer_tail(response), extraction_config=pred_config, extraction_mode="first_match", parsing_timeout=None
    )
    return bool(verify(gold, pred, timeout_seconds=None))


def lm_eval_exact_match(gold_answer: str, response: str) -> bool:
    """lm-eval's `aime` scoring: the last \\boxed{} (else the text between the first and last `$`), then
    hendrycks-MATH string normalisation and string equality."""
    from lm_eval.tasks.aime.utils import process_results

    return bool(process_results({"answer": gold_answer}, [answer_tail(response)])["exact_match"])


def score_math500(doc: dict, response: str) -> dict:
    return {
        "acc": float(math_verify_equal(doc["answer"], response)),
        "exact_match": float(lm_eval_exact_match(doc["answer"], response)),
    }


def score_aime24(doc: dict, response: str) -> dict:
    gold = str(int(doc["answer"]))  # "025" -> "25": compared as integers
    return {
        "acc": float(math_verify_equal(gold, response)),
        "exact_match": float(lm_eval_exact_match(gold, response)),
    }


# --------------------------------------------------------------------------------------------------- GPQA-Diamond
# The simple-evals instruction asks for a last line "ANSWER: $LETTER". We take the last such line (a model may restate
# its answer), case-insensitive, with optional brackets or bold around the letter, which must end there. (No `\s*`
# after the colon: the class after it matches spaces too, and the two together backtrack quadratically.)
_ANSWER_LINE = re.compile(r"(?i)answer\s*:[(\[*$\s]*([A-D])(?![A-Za-z0-9])")
# OpenCompass gpqa_openai_simple_evals_gen_5aeece: first match of this pattern anywhere in the response.
_ANSWER_OPENCOMPASS = re.compile(r"(?i)ANSWER\s*:\s*([A-D])")


def gpqa_letter(response: str) -> str | None:
    letters = _ANSWER_LINE.findall(answer_tail(response))
    return letters[-1].upper() if letters else None


def score_gpqa_diamond(doc: dict, response: str) -> dict:
    first = _ANSWER_OPENCOMPASS.search(response)
    return {
        "acc": float(gpqa_letter(response) == doc["answer"]),
        "acc_opencompass": float(bool(first) and first.group(1).upper() == doc["answer"]),
    }


# --------------------------------------------------------------------------------------------------------- IFEval
def score_ifeval(doc: dict, response: str) -> dict:
    """lm-eval's own IFEval scoring, unchanged; `acc` repeats prompt_level_strict_acc (OpenCompass's headline
    IFEval number) so the group can average one metric name over the five benchmarks."""
    from _profit_common.nltk_data import use_bundled_nltk_data

    use_bundled_nltk_data()
    from lm_eval.tasks.ifeval.utils import process_results

    out = process_results(doc, [response])
    out["acc"] = float(out["prompt_level_strict_acc"])
    return out


def warm_up() -> None:
    """Import the heavy dependencies once, before the first timed call."""
    _math_verify()
    _parsed_gold("1")
    import lm_eval.tasks.aime.utils  # noqa: F401
    from _profit_common.nltk_data import use_bundled_nltk_data

    use_bundled_nltk_data()
    import lm_eval.tasks.ifeval.utils  # noqa: F401


SCORERS = {
    "gsm8k": score_gsm8k,
    "math500": score_math500,
    "aime24": score_aime24,
    "gpqa_diamond": score_gpqa_diamond,
    "ifeval": score_ifeval,
}
# Scorers that hand the answer to math-verify's LaTeX parser. The others read the answer tail with linear-time
# regular expressions, or (IFEval) run lm-eval's checkers, which must see the whole text; the time limit bounds those.
PARSES_LATEX = ("math500", "aime24")


def score(scorer: str, doc: dict, response: str) -> tuple[dict, str | None]:
    """The verdict, and why the response was refused unparsed (`bounds.py`), or None. A refused response gets the
    empty response's verdict."""
    refused = bounds.refusal(answer_tail(response)) if scorer in PARSES_LATEX else None
    return SCORERS[scorer](doc, "" if refused else response), refused


def empty_verdict(scorer: str, doc: dict) -> dict:
    """The empty response's verdict, computed without a worker (for a response the worker could not score): no math
    answer is found in "", and the other scorers are cheap and safe on it. IFEval's depends on the doc: an empty text
    follows some instructions ("use no commas")."""
    if scorer in PARSES_LATEX:
        return {"acc": 0.0, "exact_match": 0.0}
    return SCORERS[scorer](doc, "")


# ---------------------------------------------------------------------------------------- ARC-Challenge / MMLU
# Multiple choice answered with a letter (profit_arc_challenge, profit_mmlu). One reading of the response, in order:
#   1. an explicit answer statement, "answer" + ("is" | "would be" | ":") + the letter: "Answer: D", "ANSWER: (c)",
#      "The correct answer is **B**.", "**Answer:** A". The LAST one counts (a model may correct itself);
#   2. else a letter that opens the response: "B", "(B)", "**C**", "b.", "D) Mercury", "[A]", unless the response
#      lists the options ("A) ...\nB) ...": lines opening with two or more different option letters), which small
#      models do instead of answering;
#   3. else no answer (wrong).
# Only the doc's own letters count ("ABCD"; "ABC" or "ABCDE" for a few ARC questions). An upper-case letter must end
# there ("B because", "B." but not "Because"); a lower-case one, and any letter that opens the response, must stand
# alone: followed by punctuation, a line break or the end, so that the article in "A plant makes food" or "the answer
# is a cell wall" is not read as an answer. Explicit statements are searched in the answer tail (the last 8192
# characters), the opening letter in the first 256, option lists in the first 2048; every pattern is linear (no two
# adjacent quantifiers share a character), so a response of any size is read in milliseconds.
_MC_HEAD_CHARS = 256
_MC_LIST_CHARS = 2048
_MC_WRAP = r"[\s(\[*_$\"'#>:]*"  # brackets, bold/italic, quotes, headings, a colon ("answer is: B") before the letter
_MC_ALONE = r"(?=[.)\]*_:,;!?\"'\n]|[ \t]*(?:\n|$))"  # the letter stands alone: punctuation, line end or text end


@lru_cache(maxsize=16)
def _mc_patterns(letters: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    upper, lower = f"[{re.escape(letters.upper())}]", f"[{re.escape(letters.lower())}]"
    statement = re.compile(
        r"(?i:answer)[*_]*(?:[ \t]+(?i:is|would[ \t]+be)|[ \t]*:)" + _MC_WRAP
        + rf"(?:({upper})(?![A-Za-z0-9])|({lower}){_MC_ALONE})"
    )
    opening = re.compile(r"\A" + _MC_WRAP + rf"({upper}|{lower}){_MC_ALONE}")
    option_line = re.compile(rf"(?m)^[ \t*_#>(\[]*({upper})[).:\]]")
    return statement, opening, option_line


def choice_letter(response: str, letters: str = "ABCD") -> str | None:
    """The answer letter (upper case) read from a multiple-choice response, or None (rules above)."""
    statement, opening, option_line = _mc_patterns(letters)
    last = None
    for match in statement.finditer(answer_tail(response)):
        last = match
    if last is not None:
        return (last.group(1) or last.group(2)).upper()
    first = opening.match(response[:_MC_HEAD_CHARS])
    if first is None or len(set(option_line.findall(response[:_MC_LIST_CHARS]))) > 1:
        return None
    return first.group(1).upper()


def score_multiple_choice(doc: dict, response: str) -> dict:
    """`acc`: the letter read from the response is the gold one; `answered`: a letter was read at all (separates
    "forgot the facts" from "stopped answering with a letter")."""
    letter = choice_letter(response, doc["letters"])
    return {"acc": float(letter == doc["answer"]), "answered": float(letter is not None)}


SCORERS["multiple_choice"] = score_multiple_choice
