"""profit_ifeval end to end: lm-eval's own checkers, offline nltk, scores identical to lm-eval's ifeval."""

import json

import pytest

from tasks.registry import TASKS_DIR

# dataset index -> response; the instruction is in the comment
OUTPUTS = {
    1: "No commas here at all.",  # punctuation:no_comma -> followed
    32: "Well, this one has a comma.",  # punctuation:no_comma -> not followed
    4: "all lowercase text here.",  # change_case:english_lowercase -> followed
    8: "Mixed Case Text.",  # change_case:english_lowercase -> not followed
    11: '{"answer": 1}',  # detectable_format:json_format -> followed
    40: '*"Hello there"*',  # startend:quotation -> only the loose check (stars removed) passes
    53: "One sentence. Two sentences. Three.",  # length_constraints:number_sentences < 6 (needs nltk punkt_tab)
    10: "word " * 10,  # length_constraints:number_words >= 400 -> not followed
    18: "This answer is written in English.",  # language:response_language kn -> not followed
    46: "Hello.\nP.P.S. See you soon.",  # detectable_content:postscript -> followed
    63: "<<A Title>>\nSome text.",  # detectable_format:title -> followed
    0: "",  # several instructions, empty response -> none followed
}
STRICT = {1: 1.0, 32: 0.0, 4: 1.0, 8: 0.0, 11: 1.0, 40: 0.0, 53: 1.0, 10: 0.0, 18: 0.0, 46: 1.0, 63: 1.0, 0: 0.0}
METRICS = ["prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc"]


@pytest.fixture(scope="module")
def lm_eval_ifeval():
    """lm-eval's built-in ifeval scoring, run in this process on the raw google-research rows."""
    from tasks._profit_common.nltk_data import use_bundled_nltk_data

    use_bundled_nltk_data()
    from lm_eval.tasks.ifeval import utils

    rows = [json.loads(line) for line in (TASKS_DIR / "profit_ifeval/data/input_data.jsonl").read_text().splitlines()]
    return rows, utils


def test_ifeval_matches_lm_eval_builtin_scoring(run_task, lm_eval_ifeval):
    rows, utils = lm_eval_ifeval
    results, samples = run_task("profit_ifeval", OUTPUTS)
    assert {i: samples[i]["prompt_level_strict_acc"] for i in OUTPUTS} == STRICT
    assert samples[40]["prompt_level_loose_acc"] == 1.0
    builtin = {i: utils.process_results(rows[i], [text]) for i, text in OUTPUTS.items()}
    for i in OUTPUTS:
        assert {m: samples[i][m] for m in METRICS} == {m: builtin[i][m] for m in METRICS}, i
        assert samples[i]["acc"] == samples[i]["prompt_level_strict_acc"]
    for m in METRICS:
        agg = utils.agg_inst_level_acc if m.startswith("inst") else (lambda xs: sum(xs) / len(xs))
        assert results[f"{m},none"] == pytest.approx(agg([builtin[i][m] for i in OUTPUTS]))


def test_ifeval_repeats_pool_instruction_level(run_task):
    _, samples = run_task("profit_ifeval", {1: ["No commas.", "Yes, commas.", "None here."]})
    assert samples[1]["prompt_level_strict_acc"] == pytest.approx(2 / 3)
    assert samples[1]["inst_level_strict_acc"] == [True, False, True]
