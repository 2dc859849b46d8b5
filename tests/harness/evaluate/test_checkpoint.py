"""Checkpoint validation (clear errors before any engine starts) and content hashing."""

import shutil
import subprocess

import pytest

from harness.evaluate.checkpoint import Checkpoint, CheckpointError
from profit_core.model_folder import content_hash as model_content_hash
from tests.harness.conftest import ROOT, TASK, eval_cli


def test_content_hash_follows_weights_config_and_tokenizer_not_run_logs(ckpts, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ckpts["good"], copy)
    h = model_content_hash(copy)
    assert h == model_content_hash(ckpts["good"])  # content, not location
    (copy / "profit_run.json").write_text("{}")
    (copy / "train_log.jsonl").write_text("{}\n")
    assert model_content_hash(copy) == h
    assert model_content_hash(ckpts["variant"]) != h
    assert model_content_hash(ckpts["random"]) != h


def test_engine_group_is_shared_by_same_shape_checkpoints(ckpts):
    groups = {Checkpoint.open(p).engine_group for p in ckpts.values()}
    assert len(groups) == 1


@pytest.mark.parametrize("damage, message", [
    (lambda d: shutil.rmtree(d), "no such folder"),
    (lambda d: (d / "config.json").unlink(), "no config.json"),
    (lambda d: (d / "config.json").write_text("{not json"), "config.json is not valid JSON"),
    (lambda d: (d / "model.safetensors").unlink(), "no weight files"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:5000]), "truncated"),
    (lambda d: (d / "model.safetensors").write_bytes(b"\xff" * 64), "not a readable safetensors"),
    (lambda d: (d / "tokenizer.json").unlink(), "no tokenizer files"),
])
def test_bad_checkpoints_fail_with_a_message_naming_folder_and_problem(ckpts, tmp_path, damage, message):
    bad = tmp_path / "bad"
    shutil.copytree(ckpts["good"], bad)
    damage(bad)
    with pytest.raises(CheckpointError, match=message) as err:
        Checkpoint.open(bad)
    assert str(bad) in str(err.value)


def test_cli_reports_a_missing_checkpoint_and_writes_nothing(tmp_path):
    proc = subprocess.run(eval_cli(str(tmp_path / "nope"), "--tasks", TASK, "--store", str(tmp_path / "store")),
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "no such folder" in proc.stderr and str(tmp_path / "nope") in proc.stderr
    assert not (tmp_path / "store").exists()
