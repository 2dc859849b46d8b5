"""profit_gsm8k end to end: 4-shot prompts, last-number scoring, hard cases."""

import pytest

# dataset index -> (response, expected acc); golds: 0:18 1:3 2:70000 3:540 4:20 5:64 146:2125 201:114200 230:276000
CASES = {
    0: ("She sells 16 - 3 - 4 = 9 eggs, 9 * 2 = $18.\nThe answer is 18", 1.0),
    1: ("2 + 1 = 3\nThe answer is 3\n\nQuestion: A farmer has 7 cows.", 1.0),  # text after Question: ignored
    2: ("So the profit is $70,000.", 1.0),  # thousands separator
    3: ("The answer is 540.0", 1.0),  # equal as numbers
    4: ("The answer is 20. That took me 3 steps.", 0.0),  # the LAST number counts (OpenCompass rule)
    5: ("", 0.0),
    146: ("He needs 2,125 boxes.", 1.0),
    201: ("The answer is 114200 dollars", 1.0),
    230: ("The answer is 276", 0.0),
}


def test_gsm8k_known_verdicts(run_task):
    results, samples = run_task("profit_gsm8k", {i: text for i, (text, _) in CASES.items()})
    assert {i: samples[i]["acc"] for i in CASES} == {i: acc for i, (_, acc) in CASES.items()}
    assert results["acc,none"] == pytest.approx(sum(acc for _, acc in CASES.values()) / len(CASES))
    prompt = samples[0]["arguments"][0][0]
    assert prompt.count("Question: ") == 5 and prompt.count("The answer is") == 4  # the 4 OpenCompass exemplars
    assert prompt.startswith("Question: Angelo and Melanie") and prompt.endswith("Let's think step by step\nAnswer:")


def test_gsm8k_chat_form_is_one_turn_per_exemplar(run_task):
    chat = {"apply_chat_template": True, "fewshot_as_multiturn": True}
    _, samples = run_task("profit_gsm8k", {0: "The answer is 18"}, evaluate_kwargs=chat)
    prompt = samples[0]["arguments"][0][0]
    # ReplayLM renders turns as "<role>\n<content>\n": 5 user turns, 4 assistant exemplars, then the generation prompt.
    assert prompt.count("<user>\nQuestion: ") == 5
    assert prompt.count("<assistant>\n") == 5 and "The answer is 146\n\n<user>" in prompt


def test_gsm8k_zero_shot_variant(run_task):
    _, samples = run_task("profit_gsm8k_cot_zeroshot", {0: "The answer is 18"})
    prompt = samples[0]["arguments"][0][0]
    assert samples[0]["acc"] == 1.0
    assert prompt.startswith("Question: Janet") and prompt.count("Question: ") == 1
