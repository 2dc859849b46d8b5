"""profit_aime24 end to end: answers compared as integers ("025" == "25"), avg@k over repeats."""

import pytest


def test_aime24_integer_answers_and_repeats(run_task):
    outputs = {
        0: [r"\boxed{204}", r"\boxed{204}", r"\boxed{205}", ""],  # gold "204"
        7: [r"\boxed{25}", r"\boxed{025}", r"\boxed{25.0}", r"\boxed{26}"],  # gold "025"
        1: [r"The final answer is $113$.", r"\boxed{113}. Then 5 more is 118, but no.", "113", r"\boxed{114}"],
        2: [r"\boxed{371} or maybe \boxed{372}"] * 4,  # gold "371": two boxed answers are a set, not 371
    }
    results, samples = run_task("profit_aime24", outputs)
    assert samples[0]["acc"] == pytest.approx(0.5)
    assert samples[7]["acc"] == pytest.approx(0.75)
    assert samples[7]["exact_match"] == pytest.approx(0.25)  # lm-eval's string match: only "25" equals "25"
    assert samples[1]["acc"] == pytest.approx(0.5)  # "final answer is $113$" and a boxed 113 count, a bare 113 not
    assert samples[2]["acc"] == 0.0
    assert results["acc,none"] == pytest.approx((0.5 + 0.75 + 0.5 + 0.0) / 4)
    assert samples[7]["target"] == "025"
