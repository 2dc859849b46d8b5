"""Checkpoints (and an adapter's base) given as Hugging Face hub ids: offline one clear error before anything runs;
with PROFIT_ONLINE=1 resolved through snapshot_download (monkeypatched: the tests stay offline), scored from the
snapshot folder, the record keeping the id as its label."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from harness.evaluate import api
from harness.evaluate.checkpoint import Checkpoint, CheckpointError
from profit_core.model_folder import content_hash
from tests.harness.conftest import ROOT, TASK, eval_cli
from tests.harness.tiny_model import FIXTURE_TASKS


@pytest.fixture
def fake_hub(ckpts, monkeypatch):
    """PROFIT_ONLINE=1; `org/good` and `org/random` are the session's tiny checkpoints."""
    import huggingface_hub

    served = {"org/good": ckpts["good"], "org/random": ckpts["random"]}
    calls = []

    def snapshot_download(repo_id, **kwargs):
        calls.append(repo_id)
        return str(served[repo_id])

    monkeypatch.setenv("PROFIT_ONLINE", "1")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


@pytest.fixture
def adapter_on_hub_base(ckpts, tmp_path):
    """A peft LoRA adapter (built directly) whose base_model_name_or_path is the hub id org/random."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(ckpts["random"]))
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path / "adapter")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "org/random"
    (tmp_path / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    return tmp_path / "adapter"


def test_offline_a_hub_id_is_one_error_naming_the_download(monkeypatch, adapter_on_hub_base):
    monkeypatch.delenv("PROFIT_ONLINE", raising=False)
    with pytest.raises(CheckpointError, match=r"checkpoint org/good: no such folder; if it is a Hugging Face hub id, "
                                              r"this run is offline.*hf download org/good --local-dir models/good"):
        Checkpoint.open("org/good")
    with pytest.raises(CheckpointError, match=r"base_model_name_or_path.*org/random.*hf download org/random.*--base"):
        Checkpoint.open(adapter_on_hub_base)


def test_profit_eval_offline_refuses_a_hub_id_before_any_work(tmp_path):
    done = subprocess.run(eval_cli("org/good", "--tasks", TASK, "--store", str(tmp_path / "store")), cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=_without_online())
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "org/good: no such folder" in done.stderr
    assert "`hf download org/good --local-dir models/good`" in done.stderr
    assert not (tmp_path / "store").exists()


def _without_online() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PROFIT_ONLINE"}


def test_online_a_hub_id_is_scored_from_its_snapshot_under_its_id(fake_hub, ckpts, tmp_path):
    ckpt = Checkpoint.open("org/good")
    assert ckpt.path == ckpts["good"].resolve() and ckpt.label == "org/good" and ckpt.hub_id == "org/good"
    assert ckpt.content_hash == content_hash(ckpts["good"])  # the same content, the same records
    (record,) = api.evaluate(["org/good"], [TASK], backend="hf", store=tmp_path / "store",
                             include_paths=[FIXTURE_TASKS])
    assert record["model"]["label"] == "org/good" and record["metrics"]["exact_match"]["value"] == 1.0
    assert fake_hub == ["org/good", "org/good"]


def test_online_an_adapters_hub_base_resolves_too(fake_hub, adapter_on_hub_base, ckpts):
    ckpt = Checkpoint.open(adapter_on_hub_base)
    assert ckpt.base.hub_id == "org/random" and ckpt.base.path == ckpts["random"].resolve()
    assert ckpt.engine_group == Checkpoint.open(ckpts["random"]).engine_group
