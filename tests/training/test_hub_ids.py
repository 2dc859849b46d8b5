"""A base model given as a Hugging Face hub id (`org/name`): offline (the default) one clear error saying what to
download where; with PROFIT_ONLINE=1 it resolves through huggingface_hub's snapshot_download (monkeypatched here:
the tests stay offline) and training runs on the snapshot folder, the id kept as the base's name."""

from __future__ import annotations

import os
import shutil

import pytest

from profit_core import hub
from profit_core.offline import go_offline
from training.config import ConfigError


@pytest.fixture
def fake_hub(monkeypatch, tiny_model, tmp_path):
    """PROFIT_ONLINE=1 and a snapshot_download that serves a copy of the tiny model for `org/tiny` (a cache
    snapshot folder), recording what it was asked for."""
    import huggingface_hub

    snapshot = tmp_path / "hf-cache" / "models--org--tiny" / "snapshots" / "0123abc"
    shutil.copytree(tiny_model, snapshot)
    calls = []

    def snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        if repo_id != "org/tiny":  # as the hub answers an unknown id (its real constructor wants an HTTP response)
            error = huggingface_hub.errors.RepositoryNotFoundError
            missing = error.__new__(error)
            Exception.__init__(missing, f"404: {repo_id} not found")
            raise missing
        return str(snapshot)

    monkeypatch.setenv("PROFIT_ONLINE", "1")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return snapshot, calls


@pytest.mark.parametrize("text, expected", [
    ("Qwen/Qwen3-0.6B", True), ("allenai/OLMo-2-1124-7B", True), ("meta-llama/Llama-3.1-8B", True),
    ("runs/sft", True),  # spelled like one: only a missing folder of that name is taken for an id
    ("gpt2", False), ("/abs/path", False), ("./rel/path", False), ("a/b/c", False), ("org/-bad", False),
    ("org/na--me", False), ("org/na..me", False), ("~/models/x", False),
])
def test_what_is_spelled_like_a_hub_id(text, expected):
    assert hub.is_hub_id(text) is expected


def test_offline_a_hub_id_is_one_error_that_says_what_to_download_where(monkeypatch):
    monkeypatch.delenv("PROFIT_ONLINE", raising=False)
    with pytest.raises(hub.HubModelError) as err:
        hub.resolve_model("org/name", "model")
    message = str(err.value)
    assert message.startswith("model org/name: no such folder; if it is a Hugging Face hub id, this run is offline")
    assert "`hf download org/name --local-dir models/name`" in message and "then pass models/name" in message
    assert "huggingface-cli download org/name --local-dir models/name" in message and "PROFIT_ONLINE=1" in message


def test_a_local_folder_wins_and_a_missing_path_is_left_to_the_caller(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "name").mkdir(parents=True)
    folder, hub_id = hub.resolve_model("org/name")
    assert hub_id is None and folder.resolve() == (tmp_path / "org" / "name").resolve()
    folder, hub_id = hub.resolve_model("/no/such/folder")  # not spelled like an id: the caller says "no such folder"
    assert hub_id is None and str(folder) == "/no/such/folder"


def test_profit_online_leaves_only_the_hub_switches_unset(monkeypatch):
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PROFIT_ONLINE", "1")
    go_offline()
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    monkeypatch.delenv("PROFIT_ONLINE")
    go_offline()
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_train_config_with_a_hub_id_offline_names_the_field_and_the_download(quick_config, monkeypatch):
    monkeypatch.delenv("PROFIT_ONLINE", raising=False)
    cfg = quick_config(model="org/tiny")
    assert cfg.label == "org/tiny"
    with pytest.raises(ConfigError, match=r"config field `model`: org/tiny: no such folder.*hf download org/tiny "
                                          r"--local-dir models/tiny"):
        cfg.check_runnable()


def test_profit_train_cli_offline_exits_2_without_a_traceback(quick_config, tmp_path, monkeypatch, capsys):
    from training.cli import main

    monkeypatch.delenv("PROFIT_ONLINE", raising=False)
    cfg = quick_config()
    code = main(["--model", "org/tiny", "--data", cfg.data, "--output_dir", str(tmp_path / "out"), "--max_steps", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "profit train: error: config field `model`: org/tiny: no such folder" in err and "hf download" in err
    assert not (tmp_path / "out").exists()


def test_online_the_id_resolves_to_the_snapshot_and_trains_there(quick_config, fake_hub):
    from profit_core.formats import run_manifest
    from training.api import train

    snapshot, calls = fake_hub
    cfg = quick_config(model="org/tiny")
    cfg.check_runnable()
    assert cfg.model == str(snapshot) and cfg.base_model_name == "org/tiny" and cfg.label == "org/tiny"
    assert calls[0][0] == "org/tiny" and "*.gguf" in calls[0][1]["ignore_patterns"]
    out = train(quick_config(model="org/tiny", max_steps=1), progress=False)
    manifest = run_manifest.read(out)
    assert manifest["base_model_name"] == "org/tiny" and manifest["base_model"] == str(snapshot)
    assert (out / "model.safetensors").is_file()


def test_online_an_unknown_id_is_one_error(quick_config, fake_hub):
    with pytest.raises(ConfigError, match="config field `model`: org/missing: no such repository on the Hugging "
                                          "Face hub"):
        quick_config(model="org/missing").check_runnable()
