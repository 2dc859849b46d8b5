"""Untrusted model output: never executed, scored wrong within 5 s per response, and the run goes on."""

import time

import pytest

BIG = "x" * 1_000_000
# The spec: a response is scored within this many seconds, whatever it holds.
SECONDS_PER_RESPONSE = 5.0
# A boxed answer within every bound of bounds.py that math-verify's parser still takes many seconds to read.
SLOW_TO_PARSE = r"\boxed{" + ",".join(["{{{1}}}"] * 100) + "}"


def _hostile(marker):
    return [
        BIG,  # a megabyte of text
        r"\boxed{" + "9" * 1_000_000 + "}",  # a boxed number with 10^6 digits
        r"\boxed{" + r"\frac{1}{" * 5000 + "2" + "}" * 5000 + "}",  # deeply nested LaTeX
        rf"\boxed{{__import__('os').system('touch {marker}')}}",
        rf"__import__('os').system('touch {marker}')",
        r"\boxed{\frac{1}{2",  # unbalanced braces
        "}" * 10_000 + "{" * 10_000,
    ]


# Answers that would make math-verify's parser or sympy run for minutes; bounds.py refuses each unparsed.
REFUSED_MATH = [
    r"\boxed{" + "{" * 300 + "1" + "}" * 300 + "}",
    r"\boxed{" + "{" * 4000 + "1" + "}" * 4000 + "}",
    r"\boxed{9^{9^{9^{9}}}}",  # a tower of powers
    r"\boxed{(10^{10})!}",
    r"\boxed{10000000000!}",
]


@pytest.mark.parametrize(
    "task, good_index, good",
    [
        ("profit_math500", 219, r"\boxed{\frac{1}{2}}"),
        ("profit_gsm8k", 0, "The answer is 18"),
        ("profit_gpqa_diamond", None, None),
        ("profit_ifeval", 1, "No commas here."),
    ],
)
def test_hostile_outputs_score_wrong_and_run_continues(run_task, tmp_path, task, good_index, good):
    from _profit_common.sandbox import shared_sandbox

    refused_before = shared_sandbox().refused
    marker = tmp_path / "pwned"
    hostile = _hostile(marker) + (REFUSED_MATH if task == "profit_math500" else [])
    outputs = {i: text for i, text in enumerate(hostile, start=100)}  # docs whose golds none of these match
    if good is not None:
        outputs[good_index] = good
    results, samples = run_task(task, outputs)
    primary = "prompt_level_strict_acc" if task == "profit_ifeval" else "acc"
    hostile_scores = [samples[i][primary] for i in range(100, 100 + len(hostile))]
    if task == "profit_ifeval":  # junk can satisfy an instruction ("use lowercase"); it must only be scored
        assert all(score in (0.0, 1.0) for score in hostile_scores)
    else:
        assert hostile_scores == [0.0] * len(hostile)
    if good is not None:
        assert samples[good_index][primary] == 1.0
    assert not marker.exists()
    if task == "profit_math500":
        assert shared_sandbox().refused - refused_before == len(REFUSED_MATH)


TASKS = ["profit_math500", "profit_aime24", "profit_gsm8k", "profit_gpqa_diamond", "profit_ifeval"]


def test_each_hostile_output_is_scored_wrong_within_5s(task_manager, tmp_path):
    """Timed one response at a time through each task's own process_results. Refused answers take milliseconds, and
    anything else is cut at the time limit (4 s), which leaves a second for the kill on a loaded machine."""
    slow, verdicts = [], {}
    for task in TASKS:
        loaded = task_manager.load([task])["tasks"][task]
        # Golds 18, 204, ...: no hostile output matches them. IFEval 413's checkers (nltk's tokenizer, twice) take the
        # longest on a megabyte of text: ~2 s each here.
        doc = loaded.eval_docs[413 if task == "profit_ifeval" else 0]
        loaded.process_results(doc, [["warm up: the worker starts here, not in a timed call"]])
        primary = "prompt_level_strict_acc" if task == "profit_ifeval" else "acc"
        for k, text in enumerate(_hostile(tmp_path / "pwned") + REFUSED_MATH):
            start = time.monotonic()
            verdicts[task, k] = loaded.process_results(doc, [[text]])[primary]
            seconds = time.monotonic() - start
            if seconds > SECONDS_PER_RESPONSE:
                slow.append((task, text[:40], round(seconds, 1)))
    assert not slow
    assert all(verdict in (0.0, 1.0) for verdict in verdicts.values())
    # IFEval's junk can follow an instruction ("use lowercase"); every other verdict is wrong.
    assert all(verdict == 0.0 for (task, _), verdict in verdicts.items() if task != "profit_ifeval")


def test_a_timeout_costs_the_time_limit_only(task_manager, monkeypatch):
    """Past the limit the worker is killed, the response gets the empty response's verdict without a worker, and the
    spare worker scores the next response."""
    from _profit_common import sandbox
    from _profit_common.bounds import refusal

    assert refusal(SLOW_TO_PARSE) is None
    monkeypatch.delenv("PROFIT_TOKENIZER", raising=False)  # no `truncated` metric: the verdicts alone are compared
    quick = sandbox.ScoringSandbox(timeout_s=1)
    monkeypatch.setattr(sandbox, "_shared", quick)
    try:
        task = task_manager.load(["profit_math500"])["tasks"]["profit_math500"]
        doc = task.eval_docs[219]  # gold \frac{1}{2}
        assert task.process_results(doc, [[r"\boxed{0.5}"]])["acc"] == 1.0
        start = time.monotonic()
        assert task.process_results(doc, [[SLOW_TO_PARSE]]) == {"acc": 0.0, "exact_match": 0.0}
        assert time.monotonic() - start < 1 + 1.5  # not 1 s + a worker start (several seconds)
        assert quick.failures == 1
        assert task.process_results(doc, [[r"\boxed{\dfrac{1}{2}}"]])["acc"] == 1.0
    finally:
        quick.close()


def test_sandbox_kills_a_stuck_scorer_and_recovers():
    from _profit_common.sandbox import ScoringFailed, ScoringSandbox

    sandbox = ScoringSandbox(timeout_s=2)
    try:
        with pytest.raises(ScoringFailed, match="no verdict within 2s"):
            sandbox.score("math500", {"answer": "2"}, SLOW_TO_PARSE)
        assert sandbox.score("math500", {"answer": "2"}, r"\boxed{2}") == {"acc": 1.0, "exact_match": 1.0}
        with pytest.raises(ScoringFailed, match="KeyError"):
            sandbox.score("no_such_scorer", {}, "")
        assert sandbox.failures == 2
        assert sandbox.score("math500", {"answer": "2"}, r"\boxed{9^{9^{9^{9}}}}") == {"acc": 0.0, "exact_match": 0.0}
        assert sandbox.refused == 1
    finally:
        sandbox.close()


def test_empty_verdict_is_the_workers_verdict_on_the_empty_response(task_manager):
    from _profit_common.sandbox import shared_sandbox
    from _profit_common.scorers import empty_verdict

    for task in TASKS:
        docs = task_manager.load([task])["tasks"][task].eval_docs
        for doc in list(docs)[:40]:
            scorer = task.removeprefix("profit_")
            assert empty_verdict(scorer, doc) == shared_sandbox().score(scorer, doc, ""), (task, doc)


def test_gpqa_answer_line_reads_in_linear_time():
    from _profit_common.scorers import gpqa_letter

    start = time.monotonic()
    assert gpqa_letter("ANSWER:" + " " * 8000 + "!") is None  # quadratic backtracking took ~1 s here
    assert time.monotonic() - start < 0.25
    assert gpqa_letter("so ANSWER: \n  (**B**)") == "B"
