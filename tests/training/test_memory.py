"""The memory plan: exact parameter counts, the formulas, launch detection, the paper recipe's strategies, and the
refusal of a plan that cannot fit."""

from pathlib import Path

import pytest
import yaml

from training.cli import main
from training.config import ConfigError, TrainConfig
from training.known_bases import BASES, lookup
from training.memory import (
    GB,
    OFF,
    Launch,
    launch_from_accelerate_config,
    launch_from_env,
    launch_from_launcher,
    model_shape,
    parse_size,
    plan_for,
)

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "configs" / "train" / "paper.yaml"

# The recommendation for the paper recipe on 8 GPUs of 80 or 96 GB (cut-off 8192, batch 1, bf16, full fine-tuning,
# gradient checkpointing): (strategy, loss_impl). lean is refused under FSDP2, so the sharded runs use plain.
RECOMMENDED = {
    "Qwen3-0.6B-Base": ("ddp", "lean"),
    "Qwen3-4B-Base": ("fsdp2", "plain"),
    "Qwen3-14B-Base": ("fsdp2", "plain"),
    "OLMo-2-1124-7B": ("fsdp2", "plain"),
    "Llama-3.1-8B": ("fsdp2", "plain"),
}


def paper_config(name: str, **overrides) -> TrainConfig:
    return TrainConfig.from_yaml(PAPER, {"model": f"models/{name}", "data": "data/Shadow_2k.parquet", **overrides})


def test_known_bases_match_folder_names_and_hub_ids():
    assert lookup("models/Qwen3-14B-Base")["hidden_size"] == 5120
    assert lookup("Qwen/Qwen3-14B-Base/")["num_hidden_layers"] == 40
    assert lookup("/data/olmo-2-1124-7b")["model_type"] == "olmo2"
    assert lookup("models/Qwen3-14B") is None  # the post-trained model is another model
    lookup("meta-llama/Llama-3.1-8B")["vocab_size"] = 0
    assert BASES["meta-llama/Llama-3.1-8B"]["vocab_size"] == 128256  # lookup hands out copies
    assert {fields["torch_dtype"] for fields in BASES.values()} == {"bfloat16", "float32"}


@pytest.mark.parametrize(("name", "params"), [
    ("Qwen3-0.6B-Base", 596_049_920),  # keras-hub's preset count
    ("Qwen3-4B-Base", 4.02e9), ("Qwen3-14B-Base", 14.77e9),  # model cards: 4.0B, 14.8B
    ("OLMo-2-1124-7B", 7.30e9), ("Llama-3.1-8B", 8.03e9),
])
def test_parameters_are_counted_from_the_config_on_the_meta_device(name, params):
    assert model_shape(paper_config(name)).params == pytest.approx(params, rel=2e-3)


def test_the_tiny_models_counts_are_exact_for_full_and_lora(quick_config, tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    shape = model_shape(quick_config(finetuning="lora", lora_rank=4))
    assert shape.params == sum(p.numel() for p in model.parameters())
    peft = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"))
    assert shape.adapters == sum(p.numel() for p in peft.parameters() if p.requires_grad)
    assert model_shape(quick_config()).adapters == 0


def test_the_terms_follow_the_documented_bytes_per_parameter():
    cfg = paper_config("Qwen3-14B-Base", loss_impl="lean")
    p = model_shape(cfg).params

    def states(strategy, n, config=cfg):
        terms = {t.name: t.bytes for t in plan_for(config, strategy, n).terms}
        return terms["weights"] + terms["gradients"] + terms["optimizer state"]

    # bf16 mixed under DDP: fp32 weights 4 + autocast copy 2 + fp32 gradients 4 (+ 4 for DDP's buckets) + AdamW 8.
    assert states("ddp", 8) == 22 * p and states("ddp", 1) == 18 * p
    assert states("ddp", 1, paper_config("Qwen3-14B-Base", precision="bf16-pure")) == 8 * p  # no fp32 copy
    assert 16 * p / 8 < states("fsdp2", 8) < 16 * p / 8 + 10 * GB  # sharded, plus the gathered units
    with_ckpt, without = plan_for(cfg, "ddp", 8), plan_for(paper_config("Qwen3-14B-Base", gradient_checkpointing=False,
                                                                        loss_impl="lean"), "ddp", 8)
    assert without.terms[3].bytes > 10 * with_ckpt.terms[3].bytes  # activations
    plain = plan_for(paper_config("Qwen3-14B-Base"), "ddp", 8)
    assert plain.terms[4].bytes == 8192 * 151936 * 16 > 4 * with_ckpt.terms[4].bytes  # loss logits


def test_paper_recipe_ddp_does_not_fit_qwen3_14b_and_the_fix_names_fsdp2():
    plan = plan_for(paper_config("Qwen3-14B-Base", loss_impl="lean"), "ddp", 8, 80 * GB)
    assert plan.fits is False and plan.total > 224 * GB
    message = plan.refusal()
    assert "FSDP2 over 8 GPUs needs" in message and "configs/accelerate/fsdp2.yaml" in message
    assert "does NOT fit" in plan.lines()[-1]


@pytest.mark.parametrize("name", list(RECOMMENDED))
@pytest.mark.parametrize("device_gb", [80, 96])
def test_paper_recipe_fits_each_base_under_its_recommended_strategy(name, device_gb):
    strategy, loss_impl = RECOMMENDED[name]
    cfg = paper_config(name, loss_impl=loss_impl)
    assert cfg.gradient_checkpointing and cfg.precision == "bf16" and cfg.finetuning == "full"
    assert plan_for(cfg, strategy, 8, device_gb * GB).fits


def pair(launch: Launch) -> tuple[str, int]:
    return launch.strategy, launch.world_size


def test_launch_from_accelerate_configs_launchers_and_environment(tmp_path):
    for strategy in ("ddp", "fsdp2", "zero3"):
        path = ROOT / "configs" / "accelerate" / f"{strategy}.yaml"
        assert pair(launch_from_accelerate_config(path)) == (strategy, 8)
        assert pair(launch_from_launcher(f"accelerate launch --config_file {path}")) == (strategy, 8)
    zero2 = tmp_path / "z2.yaml"
    zero2.write_text(yaml.safe_dump({"distributed_type": "DEEPSPEED", "num_processes": 4,
                                     "deepspeed_config": {"zero_stage": 2}}))
    assert pair(launch_from_accelerate_config(zero2)) == ("ddp", 4)  # counted unsharded: an upper bound

    assert pair(launch_from_launcher("")) == ("ddp", 1)
    assert pair(launch_from_launcher("torchrun --nproc_per_node 4 --nnodes=2")) == ("ddp", 8)
    assert pair(launch_from_launcher("python -m torch.distributed.run --nproc-per-node=2")) == ("ddp", 2)
    assert pair(launch_from_launcher(f"accelerate launch --config_file {ROOT}/configs/accelerate/ddp.yaml "
                                     "--num_processes 2 --use_fsdp")) == ("fsdp2", 2)
    with pytest.raises(ConfigError, match="accelerate launch and torchrun"):
        launch_from_launcher("mpirun -n 8")
    with pytest.raises(ConfigError, match="number of processes"):
        launch_from_launcher("torchrun --nproc_per_node gpu")

    assert pair(launch_from_env({})) == ("ddp", 1)
    assert pair(launch_from_env({"WORLD_SIZE": "8", "ACCELERATE_USE_FSDP": "true"})) == ("fsdp2", 8)
    assert pair(launch_from_env({"WORLD_SIZE": "8", "ACCELERATE_USE_DEEPSPEED": "true",
                                 "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"})) == ("zero3", 8)


def test_sizes():
    assert parse_size("80G") == 80 * GB == parse_size("80 GB")
    assert parse_size("96GiB") == 96 * 2**30 and parse_size("1M") == 10**6 and parse_size("off") == OFF
    for bad in ("eighty", "80X", "-1G"):
        with pytest.raises(ConfigError, match="--device-memory"):
            parse_size(bad)


def test_dry_run_prints_the_plan_and_exits_2_when_it_cannot_fit(quick_config, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(quick_config().to_dict()))
    assert main(["--config", str(path), "--dry-run", "--device-memory", "80G"]) == 0
    out = capsys.readouterr().out
    assert '"config_hash"' in out and "memory plan (an estimate, per device): tiny-qwen3" in out
    assert "fits 80.0 GB per device" in out
    assert main(["--config", str(path), "--dry-run", "--distributed", "fsdp2", "--world-size", "8"]) == 0
    assert "FSDP2 over 8 GPUs (from --distributed/--world-size)" in capsys.readouterr().out
    assert main(["--config", str(path), "--dry-run", "--device-memory", "1M"]) == 2
    captured = capsys.readouterr()
    assert "does NOT fit" in captured.out and "memory plan: needs" in captured.err


def test_a_real_run_that_cannot_fit_is_refused_before_anything_loads(quick_config, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(quick_config().to_dict()))
    assert main(["--config", str(path), "--device-memory", "1M"]) == 2
    err = capsys.readouterr().err
    assert "memory plan: needs" in err and "more than 1.0 MB" in err
    assert not (tmp_path / "run").exists()
    assert main(["--config", str(path), "--world-size", "8"]) == 2  # launch flags describe a dry run only
    assert "--dry-run" in capsys.readouterr().err
