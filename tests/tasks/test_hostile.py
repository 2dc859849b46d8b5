"""Untrusted model output: never executed, scored wrong within the time limit, and the run goes on."""

import pytest

BIG = "x" * 1_000_000


def _hostile(marker):
    return [
        BIG,  # a megabyte of text
        r"\boxed{" + "9" * 1_000_000 + "}",  # a boxed number with 10^6 digits
        r"\boxed{" + r"\frac{1}{" * 5000 + "2" + "}" * 5000 + "}",  # deeply nested LaTeX
        r"\boxed{" + "{" * 300 + "1" + "}" * 300 + "}",  # slow to parse: runs past the time limit
        r"\boxed{9^{9^{9^{9}}}}",  # a tower of powers: sympy would compute forever
        rf"\boxed{{__import__('os').system('touch {marker}')}}",
        rf"__import__('os').system('touch {marker}')",
        r"\boxed{\frac{1}{2",  # unbalanced braces
        "}" * 10_000 + "{" * 10_000,
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

    failures_before = shared_sandbox().failures
    marker = tmp_path / "pwned"
    hostile = _hostile(marker)
    if task != "profit_math500":  # the slow-parse cases only matter where LaTeX is parsed
        hostile = [h for h in hostile if "9^{9" not in h and "{" * 300 not in h]
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
        assert samples[good_index][primary] == 1.0  # scored correctly after the worker was killed and replaced
    assert not marker.exists()
    if task == "profit_math500":  # the tower of powers hit the time limit: its worker was killed and replaced
        assert shared_sandbox().failures - failures_before >= 1


def test_sandbox_kills_a_stuck_scorer_and_recovers():
    from _profit_common.sandbox import ScoringFailed, ScoringSandbox

    sandbox = ScoringSandbox(timeout_s=2)
    try:
        with pytest.raises(ScoringFailed, match="no verdict within 2s"):
            sandbox.score("math500", {"answer": "2"}, r"\boxed{9^{9^{9^{9}}}}")
        assert sandbox.score("math500", {"answer": "2"}, r"\boxed{2}") == {"acc": 1.0, "exact_match": 1.0}
        with pytest.raises(ScoringFailed, match="KeyError"):
            sandbox.score("no_such_scorer", {}, "")
        assert sandbox.failures == 2
    finally:
        sandbox.close()
