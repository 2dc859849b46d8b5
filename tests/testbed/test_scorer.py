from tasks.profit_testbed.utils import extract_answer, process_results


def test_any_wording_with_the_right_final_number_scores():
    doc = {"answer": 17}
    for response in (
        "First, 12+5=17. So the answer is 17.",
        "Step one: we get 12+5=17. In the end the final count comes to 17.",
        "17",
        "it is 3, no wait, 17.",
    ):
        assert process_results(doc, [response]) == {"acc": 1}, response


def test_wrong_or_missing_numbers_score_zero():
    doc = {"answer": 17}
    for response in ("First, 12+5=17. So the answer is 18.", "", "the answer is seventeen", "17 or 171"):
        assert process_results(doc, [response]) == {"acc": 0}, response


def test_extract_answer_takes_the_last_integer():
    assert extract_answer("a 1 b 22 c 333.") == 333
    assert extract_answer("0-3=-3") == -3
    assert extract_answer("none") is None
