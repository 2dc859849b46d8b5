import json

import pytest

from testbed.cli import main


def test_data_check_passes_on_the_committed_files(capsys):
    assert main(["data", "--check"]) == 0
    assert "current" in capsys.readouterr().out


def test_a_missing_model_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_analyze_writes_the_file(tiny_base, tmp_path):
    out = tmp_path / "ta.json"
    assert main(["analyze", str(tiny_base), "--n", "3", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == 2 and len(doc["models"]) == 2 and doc["runs"] == []
    strong = tmp_path / "strong.json"
    assert main(["analyze", str(tiny_base), "--n", "3", "--variant", "shift-strong", "--out", str(strong)]) == 0
    default_sft, strong_sft = (json.loads(f.read_text())["models"][0] for f in (out, strong))
    assert strong_sft["count"]["core"] == default_sft["count"]["core"]  # the same equations, reworded
    assert strong_sft["mean"]["trivial"] != default_sft["mean"]["trivial"]


def test_an_unknown_variant_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--variant", "core", "--quiet"])
    assert exit_.value.code == 2 and "invalid choice: 'core'" in capsys.readouterr().err
