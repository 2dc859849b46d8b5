"""`profit train` never writes where it must not, and every bad input is one message, exit 2, before any work."""

import json
import os
import stat

import pytest
import yaml

from profit_core.files import sha256_file
from profit_core.formats.run_manifest import NAME as MANIFEST
from training.api import train
from training.cli import main
from training.config import ConfigError


class Kill:
    """A Trainer callback that stops the run at a step, as a kill would (after the state of step 2 is saved)."""

    def __init__(self, at: int):
        self.at = at

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt(f"killed at step {self.at}")


def run_cli(quick_config, tmp_path, capsys, *flags, **fields) -> tuple[int, str]:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(quick_config(**fields).to_dict()))
    code = main(["--config", str(path), *flags])
    return code, capsys.readouterr().err


def test_output_dir_equal_to_the_base_model_is_refused_and_the_model_kept(quick_config, tiny_model, tmp_path, capsys):
    before = sha256_file(tiny_model / "model.safetensors")
    code, err = run_cli(quick_config, tmp_path, capsys, output_dir=str(tiny_model))
    assert code == 2
    assert f"{tiny_model} holds a model" in err and "Traceback" not in err
    assert sha256_file(tiny_model / "model.safetensors") == before
    assert not (tiny_model / MANIFEST).exists()


def test_a_folder_of_other_files_is_refused(quick_config, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    code, err = run_cli(quick_config, tmp_path, capsys, output_dir=str(folder))
    assert code == 2 and "files profit train did not write (notes.txt)" in err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_output_dir_that_is_a_file_is_refused(quick_config, tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    code, err = run_cli(quick_config, tmp_path, capsys, output_dir=str(target))
    assert code == 2 and "is a file" in err and target.read_text() == "x"


def test_resume_refuses_another_configs_unfinished_run_naming_both(quick_config, tmp_path):
    common = {"max_steps": 5, "save_steps": 2, "output_dir": str(tmp_path / "run")}
    first = quick_config(objective={"objective": "profit", "tau": 0.1}, **common)
    with pytest.raises(KeyboardInterrupt):
        train(first, callbacks=[Kill(3)])
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-2").is_dir()
    other = quick_config(objective={"objective": "profit", "tau": 0.5}, **common)
    with pytest.raises(ConfigError, match=r"an unfinished run of another config .*objective.tau 0.1 -> 0.5"):
        train(other, resume=True)
    assert json.loads((tmp_path / "run" / MANIFEST).read_text())["config_hash"] == first.config_hash()
    train(first, resume=True)  # its own config still resumes
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["complete"] is True and manifest["objective"]["tau"] == 0.1


@pytest.mark.parametrize("skip", [False, True])
def test_non_utf8_bytes_in_jsonl_data(quick_config, tmp_path, capsys, skip):
    data = tmp_path / "d.jsonl"
    good = b'{"prompt": "hi", "response": "ok"}\n'
    data.write_bytes(good + b'{"prompt": "caf\xe9", "response": "ok"}\n' + good)
    flags = ["--skip_bad_rows", "true"] if skip else []
    code, err = run_cli(quick_config, tmp_path, capsys, *flags, data=str(data))
    if skip:
        assert code == 0
        manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
        assert (manifest["data"]["rows"], manifest["data"]["skipped_rows"]) == (2, 1)
    else:
        assert code == 2 and "d.jsonl:2: not valid UTF-8" in err and "Traceback" not in err
        assert not (tmp_path / "run").exists()


def test_corrupt_parquet_is_named(quick_config, tmp_path, capsys):
    data = tmp_path / "d.parquet"
    data.write_bytes(b"PAR1 not really parquet")
    code, err = run_cli(quick_config, tmp_path, capsys, data=str(data))
    assert code == 2 and "d.parquet: not a readable parquet file" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", ["config", "weights"])
def test_corrupt_base_model_is_named_before_any_folder_is_made(quick_config, build_model, tmp_path, capsys, damage):
    model = build_model(tmp_path / "broken")
    if damage == "config":
        (model / "config.json").write_text('{"architectures": ["Qwen3ForCausalLM"], "hidden')
        expected = "config.json is not valid JSON"
    else:
        weights = model / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        expected = "model.safetensors: truncated or corrupt"
    code, err = run_cli(quick_config, tmp_path, capsys, model=str(model))
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_debug_flag_shows_the_traceback(quick_config, tmp_path, capsys):
    code, err = run_cli(quick_config, tmp_path, capsys, "--debug", data=str(tmp_path / "missing.jsonl"))
    assert code == 2 and "Traceback" in err and "no such file" in err


def test_outputs_respect_the_umask(quick_config, tmp_path):
    old = os.umask(0o022)
    try:
        out = train(quick_config(max_steps=1))
    finally:
        os.umask(old)
    for name in (MANIFEST, "model.safetensors", "train_log.jsonl"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
