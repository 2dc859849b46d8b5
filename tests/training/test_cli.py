"""`profit train` from the command line: a YAML file plus flags, exit codes, messages."""

import json

import yaml

from profit_core.formats.run_manifest import NAME as MANIFEST
from training.cli import main


def test_train_from_yaml_with_flag_overrides(quick_config, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(quick_config().to_dict()))
    assert main(["--config", str(path), "--max_steps", "1", "--objective", "dft"]) == 0
    folder = tmp_path / "run"
    assert f"checkpoint: {folder}" in capsys.readouterr().out
    manifest = json.loads((folder / MANIFEST).read_text())
    assert (manifest["method"], manifest["steps"], manifest["complete"]) == ("dft", 1, True)


def test_bad_data_exits_2_with_file_line_and_reason(quick_config, tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "hi", "response": "ok"}\n{"prompt": "hi"}\n')
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(quick_config(data=str(data)).to_dict()))
    assert main(["--config", str(path)]) == 2
    assert "d.jsonl:2: missing field 'response'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # bad data is found before the output folder is made
