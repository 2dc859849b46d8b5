"""`profit report` through the top-level CLI."""

import pytest

from harness import cli
from tests.harness.report.storefactory import tiny_store


def test_profit_report_prints_the_table_and_writes_the_files(tmp_path, capsys):
    store = tiny_store(tmp_path / "store")
    assert cli.main(["report", "--store", str(store), "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Base model | Method |") and "15 records -> 5 files under" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".profit-folder.json", "index.html", "leaderboard.csv", "leaderboard.md", "leaderboard.tex",
        "significance.csv"]


def test_help_explains_the_outputs(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("--store", "--out", "--preset", "--no-paper-table", "significance.csv", "byte-identical"):
        assert word in text
