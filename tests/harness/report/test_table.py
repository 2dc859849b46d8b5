"""The leaderboard from a hand-made store, compared with tables written out by hand."""

import csv
import json

import pytest

from harness.report.api import build_report
from tests.harness.report.storefactory import ones, record, run, tiny_store

# Worked by hand from tiny_store's docstring. SFT: seeds 60/80 -> 70 ± |60-80|/2 = 10. ProFit h0.1: GSM8K 80/90 ->
# 85 ± 5, testbed 100/80 -> 90 ± 10. Single-seed rows show the stderr stored in their record (GSM8K 3, testbed 4,
# DFT 2). Avg = mean of the two columns, ± √(se1² + se2²)/2: base (40+20)/2 = 30 ± √(9+16)/2 = 2.5; SFT 70 ± √200/2 =
# 7.07; h0.1 87.5 ± √125/2 = 5.59. Δ = Avg - 70, ± √(se² + 7.07²): base -40 ± √(6.25+50) = 7.5; h0.1 +17.5 ±
# √(31.25+50) = 9.01. DFT lacks the testbed, so it has no Avg and no Δ.
EXPECTED_TABLE = """\
| Base model | Method | Strategy | τ | Seeds | GSM8K | Testbed | Avg (GSM8K, Testbed) | Δ vs SFT |
|:--|:--|:--|:--|--:|--:|--:|--:|--:|
| tiny-base | base | – | – | 1 | 40.0 ± 3.0 | 20.0 ± 4.0 | 30.0 ± 2.5 | -40.0 ± 7.5 |
| tiny-base | SFT | – | – | 2 | 70.0 ± 10.0 | 70.0 ± 10.0 | 70.0 ± 7.1 | – |
| tiny-base | DFT | – | – | 1 | **90.0 ± 2.0** | – | – | – |
| tiny-base | ProFit | higher | 0.1 | 2 | 85.0 ± 5.0 | **90.0 ± 10.0** | **87.5 ± 5.6** | **+17.5 ± 9.0** |
| tiny-base | ProFit | higher | 0.5 | 1 | 70.0 ± 3.0 | 80.0 ± 4.0 | 75.0 ± 2.5 | +5.0 ± 7.5 |
| tiny-base | ProFit | lower | 0.5 | 1 | 50.0 ± 3.0 | 40.0 ± 4.0 | 45.0 ± 2.5 | -25.0 ± 7.5 |
"""

EXPECTED_FOOTER = """\
- Accuracy in %, mean ± standard error; bold: the best of our rows in each column.
- ±: across seeds (std of the per-seed scores / √n) where a cell pools 2 or more seeds, else the evaluator's \
item-level standard error.
- Avg: unweighted mean of the 2 benchmark(s) shown (the five paper benchmarks are not all present); ± = √(Σ se²)/2.
- Δ vs SFT: Avg minus the Avg of SFT on the same base model, ± = √(se² + se_SFT²); per-benchmark 95% intervals and \
p-values over training seeds and questions in significance.csv, p ≥ 2/C(k+m, k) for k vs m runs (below 0.05 needs \
4 runs per side).
- Sampling (preset paper): GSM8K: temperature 0.7, top_p 0.8, top_k 20, repeats 2, max_gen_toks 512; Testbed: \
temperature 0.7, top_p 0.8, top_k 20, repeats 1, max_gen_toks 512.
- Questions: GSM8K 5, Testbed 5.
- Chat template sha256: aaaaaaaaaaaa (all 15 records).
- Versions (evaluation): lm_eval 0.4.13, torch 2.13.0+cpu, transformers 5.19.0, vllm 0.32.0; harness 0.1.0; \
backend vllm.
- Versions (training): torch 2.13.0+cpu, transformers 5.19.0.
- Hardware: test-cpu (all 15 records).
- Seeds: 1 to 2 per row; 15 records of 8 checkpoints.
- Note: tiny-base / DFT: no result for Testbed.
"""


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    report = build_report(tiny_store(root / "store"), root / "out")
    return root / "out", report


def test_markdown_is_the_hand_written_table(tiny_report):
    out, _ = tiny_report
    assert (out / "leaderboard.md").read_text(encoding="utf-8") == EXPECTED_TABLE + "\n" + EXPECTED_FOOTER


def test_csv_holds_the_numbers_unrounded(tiny_report):
    out, _ = tiny_report
    rows = list(csv.DictReader((out / "leaderboard.csv").open(encoding="utf-8")))
    assert [(r["method"], r["strategy"], r["tau"]) for r in rows] == [
        ("base", "", ""), ("SFT", "", ""), ("DFT", "", ""), ("ProFit", "higher", "0.1"), ("ProFit", "higher", "0.5"),
        ("ProFit", "lower", "0.5")]
    sft, profit = rows[1], rows[3]
    assert (sft["gsm8k_mean"], sft["gsm8k_stderr"], sft["avg_stderr"]) == ("70.0000", "10.0000", "7.0711")
    assert (profit["avg_mean"], profit["avg_stderr"], profit["delta_vs_sft"], profit["delta_stderr"]) == (
        "87.5000", "5.5902", "17.5000", "9.0139")
    assert rows[2]["testbed_mean"] == "" and rows[2]["avg_mean"] == ""
    assert {r["source"] for r in rows} == {"ours"}


def test_latex_has_the_same_cells_escaped(tiny_report):
    out, _ = tiny_report
    tex = (out / "leaderboard.tex").read_text(encoding="utf-8")
    assert r"tiny-base & ProFit & higher & 0.1 & 2 & 85.0 $\pm$ 5.0 & \textbf{90.0 $\pm$ 10.0}" in tex
    assert r"& 30.0 $\pm$ 2.5 & $-$40.0 $\pm$ 7.5 \\" in tex  # a minus sign, not a hyphen
    assert r"\begin{tabular}{llllrrrrr}" in tex and tex.rstrip().endswith(r"\end{table}")
    assert "_" not in tex.replace(r"\_", "")  # every underscore escaped


def test_reported_rows_sit_beside_ours_for_a_matching_base(tmp_path):
    store = tmp_path / "store"
    for seed, k in ((1, 5), (2, 6)):
        record(store, task="profit_gsm8k", scores=ones(k, 10), run=run("qwen3-0.6b-base", "sft", seed))
    record(store, task="profit_gsm8k", scores=ones(7, 10), run=run("qwen3-0.6b-base", "profit", 1))
    md = (build_report(store, tmp_path / "out").files[0].parent / "leaderboard.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    assert lines[0] == "| Base model | Method | Strategy | τ | Seeds | GSM8K | Avg (GSM8K) | Δ vs SFT |"
    # Avg over GSM8K alone is GSM8K itself; the paper's Δ is recomputed against its SFT (59.78 - 54.53).
    assert "| qwen3-0.6b-base | ProFit (reported) | – | – | – | 59.78 | 59.78 | +5.25 |" in lines
    assert "| qwen3-0.6b-base | Vanilla (reported) | – | – | – | 45.99 | 45.99 | -8.54 |" in lines
    assert any(line.startswith("- Rows marked (reported): Liu et al. 2026") for line in lines)
    # Ours stay first and only ours can be bold.
    assert lines[2].startswith("| qwen3-0.6b-base | SFT |") and "**" in lines[3]
    assert not any("**" in line for line in lines if "reported" in line)
    plain = build_report(store, tmp_path / "plain", paper_table=False)
    assert "reported" not in (plain.files[0].parent / "leaderboard.md").read_text(encoding="utf-8")


def test_five_paper_benchmarks_give_the_papers_avg(tmp_path):
    store = tmp_path / "store"
    tasks = ["profit_ifeval", "profit_gsm8k", "profit_gpqa_diamond", "profit_math500", "profit_aime24",
             "profit_testbed"]
    for i, task in enumerate(tasks):
        record(store, task=task, scores=ones(i + 1, 10), stderr=0.01, run=run("b", "sft", 1))
    report = build_report(store, tmp_path / "out")
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8").splitlines()
    # The paper's Table 1 order (GPQA-D first), from the task registry, then this project's own tasks.
    assert md[0] == ("| Base model | Method | Strategy | τ | Seeds | GPQA-D | GSM8K | MATH-500 | AIME'24 | IFEval | "
                     "Testbed | Avg | Δ vs SFT |")
    # Avg leaves the testbed out: (20 + 40 + 50 + 30 + 10) / 5 = 30.
    assert "| 30.0 ± 0.4 | – |" in md[2]
    assert report.table.paper_avg


def test_a_cut_generation_limit_is_shown(tmp_path):
    store = tmp_path / "store"
    rec = record(store, task="profit_aime24", scores=ones(1, 5), run=run("olmo", "sft", 1))
    rec["sampling"] = {**rec["sampling"], "max_gen_toks": 2048,
                       "max_gen_toks_cut": {"requested": 32768, "engine_tokens": 4096, "prompt_tokens": 2048}}
    (store / "records" / f"{rec['key']}.json").write_text(json.dumps(rec))
    build_report(store, tmp_path / "out", plots=False)
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert ("Generation limit cut: AIME'24 on olmo generated at most 2048 tokens, not the task's 32768: the model "
            "takes 4096 tokens in all") in md
    assert "max_gen_toks_cut" not in md
