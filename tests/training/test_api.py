"""End to end on CPU: `train` writes a checkpoint that plain transformers loads and generates with."""

import json

import pytest
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from profit_core.formats.run_manifest import NAME as MANIFEST
from profit_core.formats.train_log import NAME as LOG_NAME
from training.api import train
from training.checkpoint import is_complete
from training.config import ConfigError


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def max_diff(a, b):
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


# Equivalence checks use plain SGD: Adam turns float-rounding noise in near-zero gradients into full-size steps.
SGD = {"optim": "sgd", "learning_rate": 0.5}


OBJECTIVES = [
    {"objective": "sft"},
    {"objective": "profit", "strategy": "higher", "tau": 0.002},  # a random 512-token model gives p ~ 1/512
    {"objective": "profit", "strategy": "lower", "tau": 0.002},
    {"objective": "profit", "strategy": "random", "tau": 0.3},
    {"objective": "dft"},
    {"objective": "entropy", "entropy_ratio": 0.2},
    {"objective": "quantile", "quantile": 0.8},
]


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_each_objective_trains_and_saves_a_loadable_checkpoint(quick_config, tiny_model, objective):
    cfg = quick_config(objective=objective)
    out = train(cfg)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] is True and is_complete(out, cfg)
    assert manifest["method"] == cfg.objective.describe() and manifest["steps"] == 2
    assert manifest["data"]["rows"] == 12 and manifest["data"]["format"] == "sharegpt"
    assert 0.0 < manifest["kept_fraction"]["mean"] <= 1.0
    log = [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    wanted = {"loss", "kept_fraction", "p_kept_mean", "p_masked_mean", "lr", "tokens_per_s", "peak_mem_mb"}
    assert wanted <= set(log[0])
    assert not (out / "checkpoints").exists()

    assert max_diff(weights(out), weights(tiny_model)) > 0  # it trained
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Ada has 3 coins."}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]


def test_lean_and_plain_losses_train_the_same_weights(quick_config, tmp_path):
    objective = {"objective": "profit", "tau": 0.002, "normalization": "sequence"}
    plain = train(quick_config(objective=objective, output_dir=str(tmp_path / "plain"), **SGD))
    lean = train(quick_config(objective=objective, loss_impl="lean", output_dir=str(tmp_path / "lean"), **SGD))
    assert max_diff(weights(plain), weights(lean)) < 1e-5


def test_packed_and_padded_batches_train_the_same_weights(quick_config, tmp_path):
    packed = train(quick_config(output_dir=str(tmp_path / "packed"), **SGD))
    padded = train(quick_config(padding_free=False, output_dir=str(tmp_path / "padded"), **SGD))
    assert max_diff(weights(packed), weights(padded)) < 1e-5


def test_lora_is_merged_and_the_adapter_kept(quick_config, tiny_model):
    from peft import PeftModel

    out = train(quick_config(finetuning="lora", lora_rank=4, lora_alpha=8, learning_rate=1e-2))
    assert (out / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    again = PeftModel.from_pretrained(base, out / "adapter").merge_and_unload()
    ours, theirs = merged.state_dict(), again.state_dict()
    assert max((ours[k] - theirs[k]).abs().max().item() for k in ours) < 1e-6
    assert max_diff(weights(out), weights(tiny_model)) > 0


class Kill(TrainerCallback):
    """Dies right after optimizer step `at`, as a killed process would (no final save, no manifest)."""

    def __init__(self, at):
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt(f"killed at step {self.at}")


def test_a_killed_run_resumes_to_the_same_weights(quick_config, tmp_path):
    # 5 steps over 12 examples with batch 2 crosses no epoch end; states are saved at steps 2 and 4.
    common = {"max_steps": 5, "save_steps": 2, "lr_scheduler": "cosine", "warmup_ratio": 0.2,
              "objective": {"objective": "profit", "strategy": "random", "tau": 0.3}}
    whole = train(quick_config(output_dir=str(tmp_path / "whole"), **common))

    cfg = quick_config(output_dir=str(tmp_path / "killed"), **common)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, callbacks=[Kill(3)])
    out = tmp_path / "killed"
    # The folder is this config's from the start: its manifest says so, and that the run is not finished.
    assert not is_complete(out) and json.loads((out / MANIFEST).read_text())["complete"] is False
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg)
    # A kill during the next save would leave a state without a whole trainer_state.json: it must be skipped.
    partial = out / "checkpoints" / "checkpoint-3"
    partial.mkdir()
    (partial / "trainer_state.json").write_text('{"global_step": 3, "log_hist')
    train(cfg, resume=True)
    assert is_complete(out, cfg)
    # Same seed, same data order, restored RNG: equal up to float summation order (observed exactly 0).
    assert max_diff(weights(whole), weights(out)) < 1e-6
    steps = [json.loads(line)["step"] for line in (out / LOG_NAME).read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    assert json.loads((out / MANIFEST).read_text())["steps"] == 5


def test_a_finished_run_is_not_redone_and_other_configs_are_refused(quick_config):
    cfg = quick_config(max_steps=1, logging_steps=10)
    out = train(cfg)
    # The last step is always logged, so the manifest's totals cover the run.
    assert [json.loads(line)["step"] for line in (out / LOG_NAME).read_text().splitlines()] == [1]
    assert json.loads((out / MANIFEST).read_text())["train_tokens"] > 0
    stamp = (out / MANIFEST).stat().st_mtime_ns
    assert train(cfg) == out and (out / MANIFEST).stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match="`output_dir`"):
        train(quick_config(max_steps=1, objective={"objective": "dft"}))


def test_gradients_see_the_global_batch(quick_config, tmp_path):
    """Batch 2 x accumulation 1 and batch 1 x accumulation 2 are the same optimisation (sequence normalisation)."""
    objective = {"objective": "profit", "tau": 0.002, "normalization": "sequence"}
    one = train(quick_config(objective=objective, output_dir=str(tmp_path / "b2"), **SGD))
    two = train(quick_config(objective=objective, per_device_batch_size=1, gradient_accumulation_steps=2,
                             output_dir=str(tmp_path / "ga2"), **SGD))
    assert max_diff(weights(one), weights(two)) < 1e-5


def test_bad_data_fails_before_the_model_loads(quick_config, tmp_path):
    from training.data import BadRow

    path = tmp_path / "bad.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(BadRow, match=r"bad\.jsonl:1: no assistant turn"):
        train(quick_config(data=str(path)))
