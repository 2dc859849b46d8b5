"""The leaderboard from a hand-made store, compared with tables written out by hand."""

import csv
import json

import pytest

from harness.report.api import build_report
from tests.harness.report.storefactory import ones, record, run, tiny_store

# Worked by hand from tiny_store's docstring. SFT: seeds 60/80 -> 70 ± |60-80|/2 = 10, range [60-80]. ProFit h0.1:
# GSM8K 80/90 -> 85 ± 5, testbed 100/80 -> 90 ± 10. Single-seed rows show the stderr stored in their record
# (GSM8K 3, testbed 4, DFT 2) and no range. No Avg, no Δ: the paper's five are not here. No mark: with 2 seeds a side
# no difference can reach p < 0.05 (the floor is 2/C(4, 2) = 0.33), and single-seed rows have none to compare.
EXPECTED_TABLE = """\
| Base model | Method | Strategy | τ | Seeds | GSM8K | Testbed |
|:--|:--|:--|:--|--:|--:|--:|
| tiny-base | base | – | – | 1 | 40.0 ± 3.0 | 20.0 ± 4.0 |
| tiny-base | SFT | – | – | 2 | 70.0 ± 10.0 [60.0–80.0] | 70.0 ± 10.0 [60.0–80.0] |
| tiny-base | DFT | – | – | 1 | 90.0 ± 2.0 | – |
| tiny-base | ProFit | higher | 0.1 | 2 | 85.0 ± 5.0 [80.0–90.0] | 90.0 ± 10.0 [80.0–100.0] |
| tiny-base | ProFit | higher | 0.5 | 1 | 70.0 ± 3.0 | 80.0 ± 4.0 |
| tiny-base | ProFit | lower | 0.5 | 1 | 50.0 ± 3.0 | 40.0 ± 4.0 |
"""

EXPECTED_FOOTER = """\
- Accuracy in %, mean ± standard error [lowest–highest seed]; nothing is bold: a best-of-column mark would call \
noise a winner.
- ±: across seeds (std of the per-seed scores / √n) where a cell pools 2 or more seeds, else the evaluator's \
item-level standard error.
- ▲ / ▼: above / below SFT on the same base at p < 0.05, over training seeds and questions (95% intervals and \
p-values of every cell in significance.csv); p ≥ 2/C(k+m, k) for k vs m runs, so a mark needs at least 4 runs per \
side.
- No Avg and no Δ column: the paper's Avg is the mean of its five benchmarks scored in full, and this table does \
not hold all five (an average of other columns would mix what they measure).
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
    assert (sft["gsm8k_mean"], sft["gsm8k_stderr"], sft["gsm8k_seeds"], sft["gsm8k_questions"]) == (
        "70.0000", "10.0000", "60.0000;80.0000", "all")
    assert (profit["testbed_mean"], profit["testbed_seeds"]) == ("90.0000", "100.0000;80.0000")  # by training seed
    assert rows[2]["testbed_mean"] == "" and all(r["avg_mean"] == r["delta_vs_sft"] == "" for r in rows)
    assert {r["source"] for r in rows} == {"ours"}


def test_latex_has_the_same_cells_escaped(tiny_report):
    out, _ = tiny_report
    tex = (out / "leaderboard.tex").read_text(encoding="utf-8")
    assert (r"tiny-base & ProFit & higher & 0.1 & 2 & 85.0 $\pm$ 5.0 [80.0--90.0] & 90.0 $\pm$ 10.0 [80.0--100.0] \\"
            in tex)
    assert r"\textbf" not in tex
    assert r"\begin{tabular}{llllrrr}" in tex and tex.rstrip().endswith(r"\end{table}")
    assert "_" not in tex.replace(r"\_", "")  # every underscore escaped


def test_reported_rows_sit_beside_ours_for_a_matching_base(tmp_path):
    store = tmp_path / "store"
    for seed, k in ((1, 5), (2, 6)):
        record(store, task="profit_gsm8k", scores=ones(k, 10), run=run("qwen3-0.6b-base", "sft", seed))
    record(store, task="profit_gsm8k", scores=ones(7, 10), run=run("qwen3-0.6b-base", "profit", 1))
    md = (build_report(store, tmp_path / "out").files[0].parent / "leaderboard.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    assert lines[0] == "| Base model | Method | Strategy | τ | Seeds | GSM8K |"
    # Only the paper's GSM8K column beside ours: no Avg of one benchmark.
    assert "| qwen3-0.6b-base | ProFit (reported) | – | – | – | 59.78 |" in lines
    assert "| qwen3-0.6b-base | Vanilla (reported) | – | – | – | 45.99 |" in lines
    assert any(line.startswith("- Rows marked (reported): Liu et al. 2026") for line in lines)
    assert lines[2].startswith("| qwen3-0.6b-base | SFT |") and lines[3].startswith("| qwen3-0.6b-base | ProFit |")
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


def test_a_slice_of_a_benchmark_goes_to_a_smoke_table_without_avg_or_marks(tmp_path):
    store = tmp_path / "store"
    for seed in (1, 2):
        record(store, task="profit_testbed", scores=ones(5 + seed, 10), run=run("b", "sft", seed))
        sliced = record(store, task="profit_gsm8k", scores=ones(seed, 2), run=run("b", "sft", seed))
        sliced["task"] = {**sliced["task"], "n_docs": 1319, "limit": 2}
        sliced["sampling"] = {**sliced["sampling"], "limit": 2}
        (store / "records" / f"{sliced['key']}.json").write_text(json.dumps(sliced))
    report = build_report(store, tmp_path / "out", plots=False)
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8").splitlines()
    assert md[0] == "| Base model | Method | Strategy | τ | Seeds | Testbed |"
    assert md[4] == ("**Smoke test, not a measurement: these benchmarks were scored on a slice (GSM8K 2 questions) to "
                     "check that their task definitions run end to end; their differences are noise. No average, no "
                     "comparison.**")
    assert md[6] == "| Base model | Method | Strategy | τ | Seeds | GSM8K |"
    assert md[8] == "| b | SFT | – | – | 2 | 75.0 ± 25.0 [50.0–100.0] |"
    assert report.table.partial == {"profit_gsm8k": 2} and not report.table.paper_avg


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
