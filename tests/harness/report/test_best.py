"""Each method at its own best setting, chosen on held-out questions, never on the test split."""

from harness.report.api import build_report
from tests.harness.report.storefactory import ones, record, run


def swept(base, objective, seed, lr):
    r = run(base, objective, seed)
    return {**r, "config": {"learning_rate": lr, "seed": seed, "data": "sft.jsonl"},
            "data": {"sha256": "d" * 64}}


def test_the_setting_is_chosen_on_the_held_out_task_not_on_the_test(tmp_path):
    store = tmp_path / "store"
    # dev / test accuracy (of 10) by method and learning rate: the best-on-test rate is never the best on dev.
    scores = {("sft", 1e-4): (5, 9), ("sft", 3e-4): (7, 6),
              ("profit", 1e-4): (8, 5), ("profit", 3e-4): (4, 10)}
    for (objective, lr), (dev, test) in scores.items():
        for seed in (1, 2):
            r = swept("b", objective, seed, lr)
            path = f"/ckpt/b-{objective}-{lr}-{seed}"
            record(store, task="profit_testbed_dev", scores=ones(dev, 10), run=r, model_path=path)
            record(store, task="profit_testbed", scores=ones(test, 10), run=r, model_path=path)
    report = build_report(store, tmp_path / "out", plots=False, select_on="profit_testbed_dev")
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| b | SFT | – | – | learning_rate=0.0003 | 2 | 2 | 70.0 ± 0.0 [70.0–70.0] | 60.0 ± 0.0 [60.0–60.0] |" in md
    assert "| b | ProFit | higher | 0.1 | learning_rate=0.0001 | 2 | 2 | 80.0 ± 0.0 [80.0–80.0] | " in md
    assert "Each method at its own best setting, chosen on " in md
    # The main table still shows every setting, each compared with SFT at the same setting, and names it.
    assert md.count("| b | ProFit | higher | 0.1 |") == 3
    assert md.startswith("| Base model | Method | Strategy | τ | Setting | Seeds |")
    for rate in ("0.0001", "0.0003"):
        assert f"| b | SFT | – | – | learning_rate={rate} | 2 | " in md
    tex = (tmp_path / "out" / "leaderboard.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}{lllllrrr}" in tex and "learning\\_rate=0.0001" in tex
    sig = (tmp_path / "out" / "significance.csv").read_text(encoding="utf-8").splitlines()
    best = [line for line in sig if line.startswith("each at its best on profit_testbed_dev")]
    assert len(best) == 1 and ",learning_rate=0.0001,learning_rate=0.0003,Testbed,profit_testbed," in best[0]
    assert report.table is not None


def test_without_the_held_out_task_there_is_no_best_table(tmp_path):
    store = tmp_path / "store"
    record(store, task="profit_testbed", scores=ones(5, 10), run=swept("b", "sft", 1, 1e-4))
    report = build_report(store, tmp_path / "out", plots=False, select_on="profit_testbed_dev")
    assert "select_on profit_testbed_dev: no record of that task, so no best-setting table" in report.notes


def test_folders_and_logs_that_differ_per_seed_never_split_a_row(tmp_path):
    """A pipeline gives each run its own output and TensorBoard folder: the seeds still pool into one row."""
    store = tmp_path / "store"
    for seed in (1, 2, 3):
        r = swept("b", "sft", seed, 1e-4)
        r["config"].update(output_dir=f"runs/b/sft/seed{seed}", logging_dir=f"runs/tensorboard/b/sft/seed{seed}",
                           report_to="tensorboard", save_steps=25 * seed)
        record(store, task="profit_testbed", scores=ones(5, 10), run=r, model_path=f"/ckpt/b-sft-{seed}")
    build_report(store, tmp_path / "out", plots=False)
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert md.count("| b | SFT |") == 1 and "| b | SFT | – | – | 3 |" in md
