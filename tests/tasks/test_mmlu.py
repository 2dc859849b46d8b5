"""profit_mmlu end to end: the bundled archive (checksums, the 57 original CSVs, row counts), the lettered prompt,
letter scoring through lm-eval (the letter reading itself is tested in test_arc_challenge.py), bounds, `--limit`."""

import hashlib
import io
import tarfile
import time

import lm_eval
import pytest

from tasks.registry import TASKS, TASKS_DIR

TASK = "profit_mmlu"
DATA = TASKS_DIR / TASK / "data"
SECONDS_PER_RESPONSE = 5.0
# Hendrycks' split sizes (the shared data folder's README counts the same).
SUBJECTS, ROWS = 57, 14042


@pytest.fixture(scope="module")
def docs(task_manager):
    return list(task_manager.load([TASK])["tasks"][TASK].eval_docs)


def _wrong(doc) -> list[str]:
    return [letter for letter in doc["letters"] if letter != doc["answer"]]


def test_mmlu_data_checksums_members_licence_and_rows(docs):
    from _profit_common.data import verified_bytes

    sums = dict(reversed(line.split(maxsplit=1)) for line in (DATA / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"LICENSE", "MEMBERS.sha256", "test.tar.xz"}
    for name, digest in sums.items():
        assert hashlib.sha256(verified_bytes(DATA / name)).hexdigest() == digest
    assert (DATA / "test.tar.xz").stat().st_size < 1_500_000  # 6.4 MB of CSV, xz-compressed
    assert "MIT License" in (DATA / "LICENSE").read_text() and "Dan Hendrycks" in (DATA / "LICENSE").read_text()
    assert (DATA / "PROVENANCE.md").is_file() and (TASKS_DIR / TASK / "README.md").is_file()

    # The archive holds exactly the 57 test CSVs of the upstream zip, byte for byte (MEMBERS.sha256 lists their
    # sha256 under the zip's own paths).
    members = dict(reversed(line.split(maxsplit=1)) for line in (DATA / "MEMBERS.sha256").read_text().splitlines())
    with tarfile.open(fileobj=io.BytesIO((DATA / "test.tar.xz").read_bytes()), mode="r:xz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert len(members) == SUBJECTS and set(files) == set(members)
    assert all(hashlib.sha256(data).hexdigest() == members[name] for name, data in files.items())

    assert len(docs) == ROWS and len({d["id"] for d in docs}) == ROWS
    subjects = {d["subject"] for d in docs}
    assert len(subjects) == SUBJECTS and {"abstract_algebra", "professional_law", "world_religions"} <= subjects
    per_subject = {s: sum(d["subject"] == s for d in docs) for s in ("abstract_algebra", "professional_law")}
    assert per_subject == {"abstract_algebra": 100, "professional_law": 1534}
    assert all(d["letters"] == "ABCD" and len(d["choices"]) == 4 and d["answer"] in "ABCD" for d in docs)
    golds = {letter: sum(d["answer"] == letter for d in docs) for letter in "ABCD"}
    assert sum(golds.values()) == ROWS and min(golds.values()) > 3000, golds
    assert docs[0]["id"] == "abstract_algebra/0" and docs[0]["answer"] == "B"


def test_mmlu_modified_archive_is_refused(tmp_path):
    from _profit_common.data import verified_bytes

    (tmp_path / "SHA256SUMS").write_text((DATA / "SHA256SUMS").read_text())
    data = bytearray((DATA / "test.tar.xz").read_bytes())
    data[1000] ^= 1
    (tmp_path / "test.tar.xz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its sha256"):
        verified_bytes(tmp_path / "test.tar.xz")


def test_mmlu_every_gold_letter_scores_1_and_every_wrong_letter_0(run_task, docs):
    from _profit_common.scorers import score_multiple_choice

    # Every question, with the scorer itself.
    for doc in docs:
        assert score_multiple_choice(doc, doc["answer"]) == {"acc": 1.0, "answered": 1.0}, doc["id"]
        assert all(score_multiple_choice(doc, w) == {"acc": 0.0, "answered": 1.0} for w in _wrong(doc)), doc["id"]
    # Through lm-eval and the sandboxed worker: the first question of every subject (all four gold letters occur);
    # 3 repeats give each wrong letter.
    firsts = sorted({d["subject"]: i for i, d in reversed(list(enumerate(docs)))}.values())
    assert len(firsts) == SUBJECTS and {docs[i]["answer"] for i in firsts} == set("ABCD")
    results, samples = run_task(TASK, {i: f"Answer: {docs[i]['answer']}" for i in firsts})
    assert results["acc,none"] == 1.0 and all(samples[i]["acc"] == 1.0 for i in firsts)
    results, samples = run_task(TASK, {i: _wrong(docs[i]) for i in firsts})
    assert results["acc,none"] == 0.0 and results["answered,none"] == 1.0
    assert all(samples[i]["acc"] == 0.0 for i in firsts)


# (response template, expected acc, expected answered); {L}/{l} = the gold letter, {W} = a wrong one
CASES = [
    ("{l}", 1.0, 1.0),
    ("({L})", 1.0, 1.0),
    ("**{L}**", 1.0, 1.0),
    ("Answer: {L}", 1.0, 1.0),
    ("A good question.\nThe answer is {L}.", 1.0, 1.0),
    ("Answer: {W}\nAnswer: {L}", 1.0, 1.0),
    ("{W}) the wrong option", 0.0, 1.0),
    ("I do not know.", 0.0, 0.0),
    ("", 0.0, 0.0),
]


def test_mmlu_hard_cases_and_prompt_through_lm_eval(run_task, docs):
    ids = [i for i, d in enumerate(docs) if d["answer"] != "A"][1 : len(CASES) + 1]  # doc 0 is checked below
    outputs = {0: "B"}
    for i, (template, _, _) in zip(ids, CASES):
        gold, wrong = docs[i]["answer"], _wrong(docs[i])[-1]
        outputs[i] = template.format(L=gold, l=gold.lower(), W=wrong)
    results, samples = run_task(TASK, outputs)
    assert [samples[i]["acc"] for i in ids] == [acc for _, acc, _ in CASES], [outputs[i] for i in ids]
    assert [samples[i]["answered"] for i in ids] == [answered for _, _, answered in CASES]

    prompt = samples[0]["arguments"][0][0]
    assert prompt == (
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n\n"
        "A) 0\nB) 4\nC) 2\nD) 6\n\n"
        "Answer with the letter (A, B, C or D) of the correct option only."
    )
    assert samples[0]["acc"] == 1.0
    assert samples[0]["arguments"][0][1]["max_gen_toks"] == TASKS[TASK].max_gen_toks
    for i in ids:  # every question's four choices, lettered, in the file's order
        prompt = samples[i]["arguments"][0][0]
        assert prompt.startswith(docs[i]["question"] + "\n\n")
        assert "".join(f"{letter}) {choice}\n" for letter, choice in zip("ABCD", docs[i]["choices"])) in prompt


def test_mmlu_hostile_outputs_are_scored_in_time(run_task, docs, tmp_path):
    marker = tmp_path / "pwned"
    hostile = [
        "x" * 1_000_000,
        "answer: " * 200_000,
        "Answer:" + " (" * 500_000 + "Q",
        "\n".join(["Answer: B", "Answer: C"] * 50_000) + "\nAnswer: A",
        f"__import__('os').system('touch {marker}')",
    ]
    ids = [i for i, d in enumerate(docs) if d["answer"] == "D"][: len(hostile)]
    start = time.perf_counter()
    _, samples = run_task(TASK, dict(zip(ids, hostile)))
    assert time.perf_counter() - start < SECONDS_PER_RESPONSE * len(hostile)
    assert [samples[i]["acc"] for i in ids] == [0.0] * len(hostile)
    assert [samples[i]["answered"] for i in ids] == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert not marker.exists()


def test_mmlu_limited_run_and_retention_group(task_manager):
    from harness.replay_lm import ReplayLM

    res = lm_eval.simple_evaluate(
        model=ReplayLM([], default="The answer is B."), tasks=["profit_retention"], task_manager=task_manager,
        limit=4, log_samples=True,
    )
    assert {name: len(s) for name, s in res["samples"].items()} == {"profit_arc_challenge": 4, TASK: 4}
    results = res["results"]
    assert results[TASK]["answered,none"] == 1.0 and results["profit_arc_challenge"]["answered,none"] == 1.0
    # golds: ARC C, B, C, D; MMLU (abstract algebra) B, C, D, B
    assert results["profit_arc_challenge"]["acc,none"] == pytest.approx(1 / 4)
    assert results[TASK]["acc,none"] == pytest.approx(2 / 4)
    assert results["profit_retention"]["acc,none"] == pytest.approx((1 / 4 + 2 / 4) / 2)  # unweighted mean
