"""What each precision trains in, and the dtype checkpoints are saved in (the base model's)."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

import training.model
from training.api import train
from training.checkpoint import base_dtype, rewrite_weights


def saved_keys(folder) -> set[str]:
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return set(f.keys())


def saved_dtypes(folder) -> set[torch.dtype]:
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return {f.get_tensor(k).dtype for k in f.keys()}


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


def test_gathered_weights_are_rewritten_as_save_pretrained_writes_them(build_model, tmp_path):
    folder = build_model(tmp_path / "fp32")
    before = AutoModelForCausalLM.from_pretrained(folder)
    assert before.all_tied_weights_keys == {"lm_head.weight": "model.embed_tokens.weight"}
    # What FSDP's full state dict holds: the tied parameter gathered once under each of its names.
    gathered = {k: v.clone() for k, v in before.state_dict().items()}
    assert "lm_head.weight" in gathered and not saved_keys(folder) >= {"lm_head.weight"}
    save_file(gathered, str(folder / "model.safetensors"), metadata={"format": "pt"})

    rewrite_weights(folder, torch.bfloat16, tied=before.all_tied_weights_keys)
    assert saved_dtypes(folder) == {torch.bfloat16}
    assert saved_keys(folder) == set(gathered) - {"lm_head.weight"}
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16"
    after = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    assert after.dtype == torch.bfloat16
    assert all(torch.equal(v.to(torch.bfloat16), after.state_dict()[k]) for k, v in gathered.items())

    # A copy is left out only where what it repeats is saved: here the embeddings are missing, so it stays.
    save_file({"lm_head.weight": gathered["lm_head.weight"]}, str(folder / "model.safetensors"))
    rewrite_weights(folder, None, tied=before.all_tied_weights_keys)
    assert saved_keys(folder) == {"lm_head.weight"} and saved_dtypes(folder) == {torch.float32}
