"""What each precision trains in, and the dtype checkpoints are saved in (the base model's)."""

import json

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM

import training.model
from training.api import train
from training.checkpoint import base_dtype, cast_weights


def saved_dtypes(folder) -> set[torch.dtype]:
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return {f.get_tensor(k).dtype for k in f.keys()}


@pytest.fixture(scope="module")
def bf16_base(build_model, tmp_path_factory):
    folder = build_model(tmp_path_factory.mktemp("bf16") / "tiny-bf16")
    AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).save_pretrained(folder)
    return folder


# precision -> (dtype of the trained parameters, dtype the linear layers compute in)
SEMANTICS = {"fp32": (torch.float32, torch.float32), "bf16": (torch.float32, torch.bfloat16),
             "bf16-pure": (torch.bfloat16, torch.bfloat16)}


@pytest.mark.parametrize("precision", list(SEMANTICS))
def test_bf16_is_mixed_precision_over_fp32_master_weights_and_bf16_pure_keeps_no_fp32_copy(
        quick_config, monkeypatch, precision):
    seen = {}
    load = training.model.load_model

    def watch(module, inputs, output):
        seen.setdefault("compute", output.dtype)

    def load_and_watch(cfg):
        model = load(cfg)
        seen["params"] = {p.dtype for p in model.parameters()}
        model.model.layers[0].mlp.down_proj.register_forward_hook(watch)
        return model

    monkeypatch.setattr(training.model, "load_model", load_and_watch)
    train(quick_config(precision=precision, max_steps=1))
    assert seen["params"] == {SEMANTICS[precision][0]}
    assert seen["compute"] == SEMANTICS[precision][1]


@pytest.mark.parametrize(("base", "precision", "saved"), [
    ("bf16", "fp32", torch.bfloat16),  # a bf16 base gives a bf16 checkpoint, whatever precision trained it
    ("bf16", "bf16", torch.bfloat16),
    ("fp32", "bf16", torch.float32),  # an fp32 base stays fp32
])
def test_checkpoints_are_saved_in_the_base_models_dtype(quick_config, tiny_model, bf16_base, base, precision, saved):
    folder = bf16_base if base == "bf16" else tiny_model
    out = train(quick_config(model=str(folder), precision=precision, max_steps=1))
    assert base_dtype(folder) == saved
    assert saved_dtypes(out) == {saved} and base_dtype(out) == saved
    assert AutoModelForCausalLM.from_pretrained(out, dtype="auto").dtype == saved


def test_gathered_weights_are_cast_in_their_files(build_model, tmp_path):
    folder = build_model(tmp_path / "fp32")
    before = AutoModelForCausalLM.from_pretrained(folder).state_dict()
    cast_weights(folder, torch.bfloat16)
    assert saved_dtypes(folder) == {torch.bfloat16}
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16"
    after = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    assert after.dtype == torch.bfloat16
    assert all(torch.equal(v.to(torch.bfloat16), after.state_dict()[k]) for k, v in before.items())
