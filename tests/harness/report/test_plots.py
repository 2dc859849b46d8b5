"""Every plot renders, and its CSV holds exactly the numbers the figure was drawn with."""

import csv
import json
from contextlib import contextmanager

import pytest

from harness.report.api import build_report
from harness.report.plots import tau
from tests.harness.report.storefactory import ones, record, run, tiny_store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _csv(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _is_png(path):
    data = path.read_bytes()
    return data.startswith(PNG_MAGIC) and len(data) > 5000


def kept_run(tau: float, seed: int, core: float, trivial: float) -> dict:
    objective = {"objective": "profit", "strategy": "higher", "tau": tau}
    return {"base": "tiny-base", "method": f"profit-higher-{tau}", "objective": objective, "seed": seed,
            "kept": {"core": core, "trivial": trivial, "neutral": 1.0}}


@pytest.fixture(scope="module")
def store_with_logs(tmp_path_factory):
    """tiny_store, plus the training logs of two checkpoints and a token_analysis.json, in the store."""
    root = tmp_path_factory.mktemp("plots")
    store = tiny_store(root / "store")
    for name, seed, kept in (("sft", 3, 1.0), ("profit", 3, 0.7)):
        lines = [json.dumps({"step": s, "loss": 2.0 / s, "kept_fraction": kept, "lr": 1e-5}) for s in (1, 2, 3)]
        r = run("tiny-base", name, seed, "higher", 0.1, kept=kept)
        rec = record(store, task="profit_gsm8k", scores=ones(7, 5, 2), run=r, model_path=str(root / f"ckpt-{name}"))
        log = store / "train_logs" / f"{rec['model']['content_hash'][:24]}.jsonl"
        log.parent.mkdir(exist_ok=True)
        log.write_text("\n".join(lines) + "\n{\"step\": 4, \"lo", encoding="utf-8")  # a killed run's cut line
    analysis = {"schema": 2, "source": "test", "models": [
        {"label": "tiny-base", "p": {"core": [0.9, 0.95, 0.99, 0.7], "trivial": [0.1, 0.5, 0.45]}},
        {"label": "hist-only", "hist": {"edges": [0.0, 0.5, 1.0], "core": [1, 3], "trivial": [3, 1]}}],
        "runs": [kept_run(0.1, 0, 1.0, 0.6), kept_run(0.1, 1, 1.0, 0.74), kept_run(0.5, 0, 1.0, 0.0)]}
    (store / "token_analysis.json").write_text(json.dumps(analysis), encoding="utf-8")
    return store, root


def test_every_plot_renders_beside_its_csv(store_with_logs):
    store, root = store_with_logs
    report = build_report(store, root / "out")
    plots = root / "out" / "plots"
    names = sorted(p.name for p in plots.iterdir())
    assert names == sorted(f"{stem}.{ext}" for ext in ("png", "csv") for stem in (
        "acc_vs_tau_gsm8k", "acc_vs_tau_testbed", "higher_vs_lower", "training_curves",
        "token_p_hist"))
    for png in plots.glob("*.png"):
        assert _is_png(png), png
        assert _csv(png.with_suffix(".csv")), png
    assert set(report.files) >= set(plots.iterdir())
    assert any("unreadable line" in n for n in report.notes)  # the cut last line of each log


def test_acc_vs_tau_csv_is_what_was_drawn(store_with_logs, monkeypatch, tmp_path):
    store, _ = store_with_logs
    figures = []
    real = tau.figure

    @contextmanager
    def spy(*args, **kwargs):
        with real(*args, **kwargs) as (fig, axes):
            figures.append((args[0].name, axes))
            yield fig, axes

    monkeypatch.setattr(tau, "figure", spy)
    build_report(store, tmp_path / "out")
    rows = _csv(tmp_path / "out" / "plots" / "acc_vs_tau_gsm8k.csv")
    # By hand: ProFit higher τ=0.1 pools seeds 80/90 and the extra seed-3 record at 70 -> 80 ± 5.7735,
    # kept fraction (0.92 + 0.94 + 0.7) / 3 = 85.33%; τ=0.5 single seed 70 ± 3 (its record's stderr).
    profit = [(r["strategy"], r["tau"], r["mean"], r["stderr"], r["kept_fraction"], r["best"]) for r in rows
              if r["series"] == "profit"]
    assert profit == [("higher", "0.1000", "80.0000", "5.7735", "85.3333", "1"),
                      ("higher", "0.5000", "70.0000", "3.0000", "60.0000", "0"),
                      ("lower", "0.5000", "50.0000", "3.0000", "40.0000", "1")]
    # SFT pools 60, 80 and the seed-3 checkpoint at 70.
    refs = {r["series"]: r["mean"] for r in rows if r["series"] != "profit"}
    assert refs == {"sft": "70.0000", "dft": "90.0000", "base": "40.0000"}
    (ax, twin), = [(axes[0][0], axes[0][0].figure.axes[1]) for name, axes in figures if name == "acc_vs_tau_gsm8k.png"]
    drawn = {tuple(line.get_ydata()) for line in ax.get_lines()}
    assert (80.0, 70.0) in drawn and (50.0,) in drawn  # the two τ series
    assert {(70.0, 70.0), (90.0, 90.0), (40.0, 40.0)} <= drawn  # dashed SFT, DFT, base
    assert {tuple(line.get_ydata()) for line in twin.get_lines()} == {(85.3333, 60.0), (40.0,)}


def test_training_and_token_csvs_hold_the_logged_numbers(store_with_logs, tmp_path):
    store, _ = store_with_logs
    build_report(store, tmp_path / "out")
    curves = _csv(tmp_path / "out" / "plots" / "training_curves.csv")
    assert [(r["method"], r["step"], r["loss"], r["kept_fraction"]) for r in curves] == [
        ("SFT", "1", "2.0000", "1.0000"), ("SFT", "2", "1.0000", "1.0000"), ("SFT", "3", "0.6667", "1.0000"),
        ("ProFit", "1", "2.0000", "0.7000"), ("ProFit", "2", "1.0000", "0.7000"), ("ProFit", "3", "0.6667", "0.7000")]
    tokens = _csv(tmp_path / "out" / "plots" / "token_p_hist.csv")
    hist = [r for r in tokens if r["kind"] == "hist" and r["model"] == "tiny-base"]
    assert sum(int(r["count"]) for r in hist if r["class"] == "core") == 4
    assert {r["mean"] for r in hist if r["class"] == "trivial"} == {"0.3500"}
    from_hist = [r for r in tokens if r["model"] == "hist-only" and r["class"] == "core"]
    assert [(r["bin_lo"], r["bin_hi"], r["count"], r["mean"]) for r in from_hist] == [
        ("0.0000", "0.5000", "1", "0.6250"), ("0.5000", "1.0000", "3", "0.6250")]
    shares = [(r["tau"], r["class"], r["share"]) for r in tokens if r["kind"] == "kept_share"]
    # The mean over seeds of what each run's loss trained on: τ 0.1 kept trivial (0.6 + 0.74) / 2 = 0.67.
    assert shares == [("0.1000", "core", "1.0000"), ("0.1000", "trivial", "0.6700"), ("0.5000", "core", "1.0000"),
                      ("0.5000", "trivial", "0.0000")]


def test_optional_plots_are_skipped_with_a_note(tmp_path):
    store = tmp_path / "store"
    record(store, task="profit_gsm8k", scores=ones(3, 5), run=run("b", "sft", 1), model_path="/gone/ckpt")
    (store / "token_analysis.json").write_text("{not json", encoding="utf-8")
    report = build_report(store, tmp_path / "out")
    assert not (tmp_path / "out" / "plots").exists()
    notes = "\n".join(report.notes)
    assert "no ProFit run" in notes and "the store keeps no training log for 1 checkpoint" in notes
    assert "token_analysis.json: unreadable" in notes
