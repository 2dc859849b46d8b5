"""profit_gpqa_diamond end to end: the simple-evals prompt, "ANSWER: X" extraction, fixed choice order."""

import pytest


@pytest.fixture(scope="module")
def docs(task_manager):
    return list(task_manager.load(["profit_gpqa_diamond"])["tasks"]["profit_gpqa_diamond"].eval_docs)


def _other(letter: str) -> str:
    return "A" if letter != "A" else "B"


# (response template, expected acc, expected acc_opencompass); {L} = the correct letter, {W} = a wrong one
CASES = [
    ("Let me think.\nANSWER: {L}", 1.0, 1.0),
    ("ANSWER: ({L})", 1.0, 0.0),  # brackets: read by us, not by OpenCompass's pattern
    ("answer: {l}", 1.0, 1.0),  # lower case
    ("**ANSWER: {L}**", 1.0, 1.0),
    ("The correct option is ({L})", 0.0, 0.0),  # no ANSWER line
    ("{L}", 0.0, 0.0),
    ("ANSWER: {W}\nWait, that is wrong.\nANSWER: {L}", 1.0, 0.0),  # we take the last line, OpenCompass the first
    ("ANSWER: {L}\nBecause the energy difference dominates.", 1.0, 1.0),  # answer followed by more text
    ("ANSWER: {W}", 0.0, 0.0),
    ("", 0.0, 0.0),
]


def test_gpqa_known_verdicts(run_task, docs):
    outputs = {}
    for i, (template, _, _) in enumerate(CASES):
        letter = docs[i]["answer"]
        outputs[i] = template.format(L=letter, l=letter.lower(), W=_other(letter))
    results, samples = run_task("profit_gpqa_diamond", outputs)
    assert [samples[i]["acc"] for i in range(len(CASES))] == [acc for _, acc, _ in CASES]
    assert [samples[i]["acc_opencompass"] for i in range(len(CASES))] == [oc for _, _, oc in CASES]
    prompt = samples[0]["arguments"][0][0]
    assert prompt.startswith("Answer the following multiple choice question. The last line of your response should be")
    assert "\n\nA) " in prompt and "\nD) " in prompt and docs[0]["question"] in prompt


def test_gpqa_choice_order_is_fixed_and_balanced(docs):
    import importlib.util

    from tasks.registry import TASKS_DIR

    spec = importlib.util.spec_from_file_location("gpqa_utils", TASKS_DIR / "profit_gpqa_diamond" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    # sha256-derived, so these hold on every machine; a change here changes the benchmark (bump metadata.version).
    assert utils.choice_order("rec06pnAkLOr2t2mp") == [0, 1, 2, 3]
    assert utils.choice_order("recX") == [0, 2, 1, 3]
    assert [d["answer"] for d in docs[:8]] == [utils.LETTERS[utils.choice_order(d["id"]).index(0)] for d in docs[:8]]
    assert len(docs) == 198 and len({d["id"] for d in docs}) == 198
    counts = {letter: sum(d["answer"] == letter for d in docs) for letter in "ABCD"}
    assert min(counts.values()) >= 30, counts  # not all in one position, as in the raw CSV
    first = utils.load()["test"][0]
    assert first == docs[0]
