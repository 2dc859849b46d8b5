"""profit_math500 end to end: math-verify equivalence (acc) and lm-eval's string match (exact_match), hard cases."""

import pytest

# dataset index -> (response, expected acc, expected exact_match or None when not pinned); the gold is in the comment
CASES = {
    219: (r"so $x = \boxed{\frac12}$.", 1.0, 1.0),  # \frac{1}{2}
    381: (r"The value is \boxed{0.5}", 1.0, 1.0),  # \frac{1}{2} (lm-eval's normaliser special-cases "0.5")
    444: (r"\boxed{\dfrac{1}{2}}", 1.0, 1.0),  # \frac{1}{2}
    162: (r"\boxed{0.34}", 1.0, 0.0),  # \dfrac{17}{50}: equal as numbers, not as strings
    0: (r"In polar form: \boxed{(3, \frac{\pi}{2})}", 1.0, None),  # \left( 3, \frac{\pi}{2} \right)
    78: (r"\boxed{(1,-2)}", 0.0, 0.0),  # (-2,1): a tuple's order matters
    307: (r"\boxed{(-\infty,0]}", 1.0, 1.0),  # (-\infty, 0]
    184: (r"\boxed{[2,\infty)}", 0.0, 0.0),  # (2,\infty): closed vs open end
    7: (r"\boxed{90}", 1.0, 1.0),  # 90^\circ
    100: (r"\boxed{145^\circ}", 1.0, 1.0),  # 145^\circ
    10: (r"\boxed{2,220}", 1.0, None),  # 2220
    343: (r"\boxed{58500}", 1.0, None),  # 58,500
    227: (r"The answer is \boxed{C}.", 1.0, None),  # \text{(C)}
    255: (r"\boxed{\text{(E)}}", 1.0, 1.0),  # \text{(E)}
    4: (r"\boxed{\text{Evelyn}}", 1.0, 1.0),  # \text{Evelyn}
    48: (r"So \boxed{\frac{3}{2}}. Check: 3/2 = 1.5, and 7 > 2.", 1.0, 1.0),  # \frac{3}{2}, answer then more text
    82: (r"\boxed{3/2}", 1.0, 1.0),  # \frac{3}{2}
    90: (r"I think it is 3/2.", 0.0, 0.0),  # \frac{3}{2}, but no boxed answer
    138: (r"\boxed{1/2}", 0.0, 0.0),  # \frac{1}{3}
}


def test_math500_known_verdicts(run_task):
    results, samples = run_task("profit_math500", {i: text for i, (text, _, _) in CASES.items()})
    assert {i: samples[i]["acc"] for i in CASES} == {i: acc for i, (_, acc, _) in CASES.items()}
    pinned = {i: em for i, (_, _, em) in CASES.items() if em is not None}
    assert {i: samples[i]["exact_match"] for i in pinned} == pinned
    assert results["acc,none"] == pytest.approx(sum(c[1] for c in CASES.values()) / len(CASES))
    prompt = samples[219]["arguments"][0][0]
    assert prompt.endswith("\nPlease reason step by step, and put your final answer within \\boxed{}.")


@pytest.mark.parametrize("task", ["profit_math500", "profit_aime24"])
def test_every_gold_answer_boxed_is_right(run_task, task_manager, task):
    docs = task_manager.load([task])["tasks"][task].eval_docs
    results, _ = run_task(task, {i: f"So the answer is \\boxed{{{doc['answer']}}}." for i, doc in enumerate(docs)})
    assert results["acc,none"] == 1.0
