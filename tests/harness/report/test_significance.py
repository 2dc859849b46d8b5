"""compare_to_sft and significance.csv on hand-made stores: runs are the units, seeds count, questions align."""

import csv

import numpy as np
import pytest

from harness.report import stats
from harness.report.aggregate import build_table, select
from harness.report.api import SIGNIFICANCE_FIELDS, build_report
from harness.report.significance import compare_to_sft, seed_values
from harness.report.store import load_store
from tests.harness.report.storefactory import ones, record, run, tiny_store

GSM = "profit_gsm8k"


def compare(store):
    results, preset, _ = select(load_store(store).results, None)
    table = build_table(results, preset)
    comparisons, notes = compare_to_sft(table)
    return {(c.row.key.method, c.bench.task): c for c in comparisons}, notes


def write_runs(store, objective, accuracies, n=60, seed=0):
    """One checkpoint per accuracy (training seeds 1, 2, ...), each question right with that probability.

    Returns the scores written, [runs, questions]."""
    scores = (np.random.default_rng(seed).random((len(accuracies), n)) < np.array(accuracies)[:, None]).astype(int)
    for i, row in enumerate(scores.tolist(), start=1):
        record(store, task=GSM, scores=[[s] for s in row], run=run("b", objective, i))
    return scores


def test_seeds_that_disagree_wildly_are_not_called_significant(tmp_path):
    # The defect: with runs averaged per question first, 4 seeds of 95/30/90/35% against SFT's 55/50/50/45% look
    # like a clear gain; over seeds they are not one. The question-level p is below 0.05, the seed-level one is not.
    sft = write_runs(tmp_path, "sft", [0.55, 0.50, 0.50, 0.45], seed=1)
    profit = write_runs(tmp_path, "profit", [0.95, 0.30, 0.90, 0.35], seed=2)
    question_only = stats.compare([(profit.mean(axis=0, keepdims=True), sft.mean(axis=0, keepdims=True))])[0]
    assert question_only.p_resampled < 0.05
    c = compare(tmp_path)[0][("ProFit", GSM)]
    assert c.p_value >= 0.05
    assert (len(c.run_means), len(c.ref_run_means), c.n_docs) == (4, 4, 60)
    assert c.estimate.p_floor == pytest.approx(2 / 70)  # the floor allows p < 0.05: the seed spread forbids it
    assert c.estimate.ci_low < 0 < c.estimate.ci_high


def test_seeds_that_agree_on_a_large_effect_reach_the_floor(tmp_path):
    write_runs(tmp_path / "four", "sft", [0.40, 0.42, 0.38, 0.40], seed=3)
    write_runs(tmp_path / "four", "profit", [0.80, 0.82, 0.78, 0.80], seed=4)
    write_runs(tmp_path / "three", "sft", [0.40, 0.42, 0.38], seed=3)
    write_runs(tmp_path / "three", "profit", [0.80, 0.82, 0.78], seed=4)
    four, three = compare(tmp_path / "four")[0][("ProFit", GSM)], compare(tmp_path / "three")[0][("ProFit", GSM)]
    assert four.p_value == pytest.approx(2 / 70) and four.estimate.ci_low > 0
    assert three.p_value == pytest.approx(0.1)  # no p below 0.1 from 3 vs 3 seeds, however large the effect


def test_a_single_run_allows_no_seed_level_claim(tmp_path):
    write_runs(tmp_path, "sft", [0.40, 0.42, 0.38], seed=5)
    write_runs(tmp_path, "profit", [0.90], seed=6)
    c = compare(tmp_path)[0][("ProFit", GSM)]
    assert (len(c.run_means), c.p_value, c.estimate.p_floor) == (1, 1.0, 1.0)
    assert c.p_questions is not None and c.p_questions < 0.01  # shown, labelled: about these checkpoints only


def test_evaluation_seeds_of_one_checkpoint_are_one_run(tmp_path):
    for seed in (1, 2):
        for eval_seed, k in ((100, 6), (200, 8)):
            record(tmp_path, task=GSM, scores=ones(k + seed, 10), run=run("b", "sft", seed), eval_seed=eval_seed)
        record(tmp_path, task=GSM, scores=ones(9, 10), run=run("b", "dft", seed))
    c = compare(tmp_path)[0][("DFT", GSM)]
    assert len(c.ref_run_means) == 2  # 4 records, 2 checkpoints
    assert c.ref_run_means == pytest.approx((0.8, 0.9))  # (7 + 9) / 2 and (8 + 10) / 2 of 10


def test_runs_that_scored_different_questions_are_compared_on_the_common_ones(tmp_path):
    record(tmp_path, task=GSM, scores=ones(5, 10), run=run("b", "sft", 1))
    record(tmp_path, task=GSM, scores=ones(5, 8), run=run("b", "sft", 2), doc_ids=list(range(2, 10)))
    record(tmp_path, task=GSM, scores=ones(9, 10), run=run("b", "dft", 1))
    by_key, notes = compare(tmp_path)
    c = by_key[("DFT", GSM)]
    assert c.n_docs == 8  # docs 2..9
    assert c.run_means == pytest.approx((7 / 8,)) and c.ref_run_means == pytest.approx((3 / 8, 5 / 8))
    assert notes == ["significance: b DFT GSM8K: its runs and SFT's scored different questions; compared on the 8 "
                     "all of them have"]


def test_seed_values_are_per_checkpoint_in_training_seed_order(tmp_path):
    for seed, k in ((10, 9), (2, 5)):
        for eval_seed in (1, 2):
            record(tmp_path, task=GSM, scores=ones(k + eval_seed, 20), run=run("b", "sft", seed), eval_seed=eval_seed)
    results, _, _ = select(load_store(tmp_path).results, None)
    assert seed_values(results) == pytest.approx([0.325, 0.525])  # seed 2: (6 + 7) / 40; seed 10: (10 + 11) / 40


def test_significance_csv(tmp_path):
    build_report(tiny_store(tmp_path / "store"), tmp_path / "out", plots=False)
    with (tmp_path / "out" / "significance.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == SIGNIFICANCE_FIELDS
        rows = {(r["method"], r["strategy"], r["tau"], r["task"]): r for r in reader}
    profit = rows[("ProFit", "higher", "0.1", GSM)]
    assert (profit["runs"], profit["sft_runs"], profit["n_questions"]) == ("2", "2", "5")
    assert (profit["run_means"], profit["sft_run_means"]) == ("80.0000;90.0000", "60.0000;80.0000")
    assert (profit["mean"], profit["sft_mean"], profit["diff"], profit["p_floor"]) == (
        "85.0000", "70.0000", "15.0000", "0.3333")
    assert float(profit["ci_low"]) < 15 < float(profit["ci_high"]) and float(profit["p_value"]) >= 1 / 3
    assert profit["p_questions_only"] == ""
    base = rows[("base", "", "", GSM)]  # one checkpoint: no seed-level claim, the question-level p labelled
    assert (base["runs"], base["p_value"], base["p_floor"]) == ("1", "1.0000", "1.0000")
    assert 0 < float(base["p_questions_only"]) <= 1
    assert {(r["resamples"], r["seed"]) for r in rows.values()} == {(str(stats.RESAMPLES), str(stats.SEED))}
