"""profit_arc_challenge end to end: bundled data, the lettered prompt, and the answer-letter reading of responses
(`_profit_common.scorers.choice_letter`, shared with profit_mmlu; its hard cases are tested here)."""

import hashlib
import time

import lm_eval
import pytest

from tasks.registry import TASKS, TASKS_DIR

TASK = "profit_arc_challenge"
DATA = TASKS_DIR / TASK / "data"
SECONDS_PER_RESPONSE = 5.0


@pytest.fixture(scope="module")
def docs(task_manager):
    return list(task_manager.load([TASK])["tasks"][TASK].eval_docs)


def _wrong(doc) -> list[str]:
    return [letter for letter in doc["letters"] if letter != doc["answer"]]


def test_arc_data_checksums_licence_and_rows(docs):
    from _profit_common.data import verified_bytes

    sums = dict(reversed(line.split(maxsplit=1)) for line in (DATA / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"LICENSE", "test.jsonl"}
    for name, digest in sums.items():
        assert hashlib.sha256(verified_bytes(DATA / name)).hexdigest() == digest
    # The file as the shared data folder's README records it (upstream rows cut to four fields).
    assert sums["test.jsonl"] == "a03a11a8fee86f6d0607f426e7b3b7a9180a4894170e934da75596e93c4b51f1"
    assert "Attribution-ShareAlike 4.0 International" in (DATA / "LICENSE").read_text()
    assert (DATA / "PROVENANCE.md").is_file() and (TASKS_DIR / TASK / "README.md").is_file()

    assert len(docs) == 1172 and len({d["id"] for d in docs}) == 1172
    shapes = {n: sum(len(d["letters"]) == n for d in docs) for n in (3, 4, 5)}
    assert shapes == {3: 4, 4: 1165, 5: 3}
    assert all(d["letters"] == "ABCDE"[: len(d["choices"])] and d["answer"] in d["letters"] for d in docs)
    golds = {letter: sum(d["answer"] == letter for d in docs) for letter in "ABCDE"}
    assert golds == {"A": 266, "B": 311, "C": 310, "D": 285, "E": 0}
    assert docs[0]["id"] == "Mercury_7175875" and docs[0]["answer"] == "C"


def test_arc_every_gold_letter_scores_1_and_every_wrong_letter_0(run_task, docs):
    from _profit_common.scorers import score_multiple_choice

    # Every question, with the scorer itself: the gold letter is right, each other letter wrong.
    for doc in docs:
        assert score_multiple_choice(doc, doc["answer"]) == {"acc": 1.0, "answered": 1.0}, doc["id"]
        assert all(score_multiple_choice(doc, w) == {"acc": 0.0, "answered": 1.0} for w in _wrong(doc)), doc["id"]
    # Through lm-eval and the sandboxed worker: the 3- and 5-choice questions and ten of each gold letter; 4 repeats
    # cycle through the wrong letters.
    ids = sorted({i for i, d in enumerate(docs) if len(d["letters"]) != 4}
                 | {i for letter in "ABCD" for i in [j for j, d in enumerate(docs) if d["answer"] == letter][:10]})
    results, samples = run_task(TASK, {i: docs[i]["answer"] for i in ids})
    assert results["acc,none"] == 1.0 and results["answered,none"] == 1.0
    assert all(samples[i]["acc"] == 1.0 for i in ids)
    wrong = {i: [_wrong(docs[i])[k % len(_wrong(docs[i]))] for k in range(4)] for i in ids}
    results, samples = run_task(TASK, wrong)
    assert results["acc,none"] == 0.0 and results["answered,none"] == 1.0
    assert all(samples[i]["acc"] == 0.0 for i in ids)


# (response template, expected acc, expected answered); {L}/{l} = the gold letter, {W}/{w} = a wrong one
CASES = [
    ("{L}", 1.0, 1.0),
    ("{l}", 1.0, 1.0),  # lower case
    ("({L})", 1.0, 1.0),
    ("**{L}**", 1.0, 1.0),
    ("{L}) the option's text", 1.0, 1.0),
    ("{L}. Because of gravity.", 1.0, 1.0),
    ("Answer: {L}", 1.0, 1.0),
    ("ANSWER: ({l})", 1.0, 1.0),
    ("The correct answer is **{L}**.", 1.0, 1.0),
    ("**Answer:** {L}", 1.0, 1.0),
    ("A plant makes its food from sunlight.\nAnswer: {L}", 1.0, 1.0),  # the article A is no answer
    ("{W}\nAnswer: {L}", 1.0, 1.0),  # an explicit statement beats the opening letter
    ("Answer: {W}\nWait, that is wrong.\nAnswer: {L}", 1.0, 1.0),  # two statements: the last counts
    ("Answer: {L}\nAnswer: {W}", 0.0, 1.0),
    ("{W}", 0.0, 1.0),
    ("The answer is {w} because", 0.0, 0.0),  # a lower-case letter must stand alone
    ("Answer: Everything falls.", 0.0, 0.0),  # a word that starts with a letter is no letter
    ("Planets spin faster after impacts.", 0.0, 0.0),  # no letter at all
    ("{L}) one option\n{W}) another option", 0.0, 0.0),  # the options listed, not answered
    ("", 0.0, 0.0),
]


def test_arc_hard_cases_through_lm_eval(run_task, docs):
    four = [i for i, d in enumerate(docs) if len(d["letters"]) == 4 and d["answer"] != "A"][: len(CASES)]
    outputs = {}
    for i, (template, _, _) in zip(four, CASES):
        gold, wrong = docs[i]["answer"], _wrong(docs[i])[-1]
        outputs[i] = template.format(L=gold, l=gold.lower(), W=wrong, w=wrong.lower())
    results, samples = run_task(TASK, outputs)
    assert [samples[i]["acc"] for i in four] == [acc for _, acc, _ in CASES], [outputs[i] for i in four]
    assert [samples[i]["answered"] for i in four] == [answered for _, _, answered in CASES]
    assert results["acc,none"] == pytest.approx(sum(acc for _, acc, _ in CASES) / len(CASES))


@pytest.mark.parametrize(
    "response, letters, expected",
    [
        ("B", "ABCD", "B"),
        ("b", "ABCD", "B"),
        ("  (c)  ", "ABCD", "C"),
        ("**D**", "ABCD", "D"),
        ("[A]", "ABCD", "A"),
        ("D) Mercury", "ABCD", "D"),
        ("b.\nIt is b.", "ABCD", "B"),
        ("Answer: D", "ABCD", "D"),
        ("answer: c", "ABCD", "C"),
        ("The answer is: B", "ABCD", "B"),
        ("The answer would be C.", "ABCD", "C"),
        ("**Answer**: a", "ABCD", "A"),
        ("The answer is A because the cell divides.", "ABCD", "A"),  # upper case: may be followed by text
        ("I think A is wrong; the answer is D.", "ABCD", "D"),
        ("Answer: B\nAnswer: C", "ABCD", "C"),  # the last statement
        ("B\nActually C.", "ABCD", "B"),  # only the opening letter counts without a statement
        ("A) air\nB) water\nC) a gas", "ABCD", None),  # the options echoed: no answer
        ("**A)** air\n**B)** water", "ABCD", None),
        ("A) air\n\nThe answer is A) air.", "ABCD", "A"),
        ("C) air\n\nA) is wrong because ... Answer: C", "ABCD", "C"),
        ("A plant makes food by photosynthesis.", "ABCD", None),
        ("A cell wall", "ABCD", None),
        ("The answer is a cell wall.", "ABCD", None),
        ("answer is b because", "ABCD", None),
        ("B because it is heavier", "ABCD", None),  # an opening letter must stand alone
        ("Answer: Because the sun is hot.", "ABCD", None),
        ("Answer B is wrong.", "ABCD", None),  # "answer" needs ":" or "is" before the letter
        ("Answer: E", "ABCD", None),  # not one of the question's letters
        ("E", "ABCDE", "E"),
        ("Answer: D", "ABC", None),
        ("No idea.", "ABCD", None),
        ("", "ABCD", None),
    ],
)
def test_choice_letter(response, letters, expected):
    from _profit_common.scorers import choice_letter

    assert choice_letter(response, letters) == expected


HOSTILE = [
    "x" * 1_000_000,
    "A" * 1_000_000,
    "answer: " * 200_000,
    "answer is" + " \t" * 500_000 + "x",
    "Answer:" + " (" * 500_000 + "Q",
    "answer" + "*" * 1_000_000 + ":",
    "(" * 1_000_000,
    " " * 1_000_000 + "B",  # a letter after a megabyte of padding is not read
    "\n".join(["Answer: B", "Answer: C"] * 50_000) + "\nAnswer: A",
    "__import__('os').system('touch pwned')",
]


def test_choice_letter_is_bounded():
    from _profit_common.scorers import choice_letter

    for text in HOSTILE:
        start = time.perf_counter()
        choice_letter(text, "ABCD")
        assert time.perf_counter() - start < 0.5, text[:40]
    assert choice_letter(HOSTILE[-2], "ABCD") == "A"  # the last statement, even after 100,000 others


def test_arc_hostile_outputs_are_scored_in_time(run_task, docs, tmp_path):
    marker = tmp_path / "pwned"
    hostile = HOSTILE[:-1] + [f"__import__('os').system('touch {marker}')"]
    ids = [i for i, d in enumerate(docs) if d["answer"] not in ("A", "B")][: len(hostile)]
    start = time.perf_counter()
    results, samples = run_task(TASK, dict(zip(ids, hostile)))
    assert time.perf_counter() - start < SECONDS_PER_RESPONSE * len(hostile)
    assert [samples[i]["acc"] for i in ids] == [0.0] * len(hostile)  # none of them names these questions' golds
    assert not marker.exists()


def test_arc_prompt_renders_the_choices(run_task, docs):
    three = next(i for i, d in enumerate(docs) if len(d["letters"]) == 3)
    five = next(i for i, d in enumerate(docs) if len(d["letters"]) == 5)
    _, samples = run_task(TASK, {0: "C", three: "A", five: "E"})
    prompt = samples[0]["arguments"][0][0]
    assert prompt == (
        "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely "
        "effect of this increase in rotation?\n\n"
        "A) Planetary density will decrease.\nB) Planetary years will become longer.\n"
        "C) Planetary days will become shorter.\nD) Planetary gravity will become stronger.\n\n"
        "Answer with the letter (A, B, C or D) of the correct option only."
    )
    for i, phrase in ((three, "(A, B or C)"), (five, "(A, B, C, D or E)")):
        prompt = samples[i]["arguments"][0][0]
        assert phrase in prompt and docs[i]["question"] in prompt
        for letter, choice in zip(docs[i]["letters"], docs[i]["choices"]):
            assert f"\n{letter}) {choice}\n" in prompt
    assert samples[0]["arguments"][0][1]["max_gen_toks"] == TASKS[TASK].max_gen_toks
    assert samples[0]["arguments"][0][1]["do_sample"] is False


def test_arc_chat_form_is_one_user_turn(run_task):
    _, samples = run_task(TASK, {0: "C"}, evaluate_kwargs={"apply_chat_template": True})
    prompt = samples[0]["arguments"][0][0]
    # ReplayLM renders turns as "<role>\n<content>\n": one user turn, then the generation prompt.
    assert prompt.startswith("<user>\nAn astronomer") and prompt.endswith("of the correct option only.\n<assistant>\n")
    assert samples[0]["acc"] == 1.0


def test_arc_limited_run(task_manager):
    from harness.replay_lm import ReplayLM

    res = lm_eval.simple_evaluate(
        model=ReplayLM([], default="C"), tasks=[TASK], task_manager=task_manager, limit=5, log_samples=True
    )
    samples = res["samples"][TASK]
    assert len(samples) == 5 and res["results"][TASK]["answered,none"] == 1.0
    # the first five golds, in file order, are C, B, C, D, D
    assert [s["target"] for s in samples] == ["C", "B", "C", "D", "D"]
    assert res["results"][TASK]["acc,none"] == pytest.approx(2 / 5)
