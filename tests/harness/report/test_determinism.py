"""The same store gives byte-identical files, wherever and however often the report runs."""

import json

from harness.report.api import build_report
from tests.harness.report.storefactory import tiny_store


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical(tmp_path):
    store = tiny_store(tmp_path / "store")
    (store / "token_analysis.json").write_text(json.dumps({"schema": 2, "models": [
        {"label": "m", "p": {"core": [0.9, 0.8], "trivial": [0.2, 0.4]}}]}), encoding="utf-8")
    build_report(store, tmp_path / "a")
    build_report(store, tmp_path / "b")
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) == 14  # 13 outputs (no Avg plot: not the paper's five) and the marker
    assert [name for name in a if a[name] != b[name]] == []
    assert b"Software" not in a["plots/acc_vs_tau_gsm8k.png"]  # no matplotlib version stamp


def test_rerun_into_the_same_folder_replaces_stale_plots(tmp_path):
    store = tiny_store(tmp_path / "store")
    out = tmp_path / "out"
    build_report(store, out)
    stale = out / "plots" / "acc_vs_tau_gone.png"
    stale.write_bytes(b"old")
    (out / "plots" / "mine.txt").write_text("kept: not ours")
    # Every plot comes from the store alone (training logs included), so one it cannot draw is stale too.
    (out / "plots" / "training_curves.png").write_bytes(b"from an earlier store")
    build_report(store, out)
    assert not stale.exists() and (out / "plots" / "mine.txt").exists()
    assert not (out / "plots" / "training_curves.png").exists()
