import pytest

from training.cli import build_parser, main
from training.config import PRESETS, ConfigError, TrainConfig


def test_paper_preset_matches_the_authors_recipe():
    cfg = TrainConfig.from_yaml(None, {"preset": "paper"})
    assert (cfg.learning_rate, cfg.lr_scheduler, cfg.warmup_ratio, cfg.epochs) == (1e-5, "cosine", 0.1, 1.0)
    assert (cfg.per_device_batch_size, cfg.gradient_accumulation_steps, cfg.cutoff_len) == (1, 4, 8192)
    assert cfg.objective.describe() == "profit-higher-0.1"


def test_file_then_flags_override_the_preset(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: paper\nlearning_rate: 2.0e-5\nobjective:\n  tau: 0.3\n")
    cfg = TrainConfig.from_yaml(path, {"objective.strategy": "lower", "gradient_accumulation_steps": "8"})
    assert cfg.learning_rate == 2e-5 and cfg.gradient_accumulation_steps == 8
    assert (cfg.objective.objective, cfg.objective.strategy, cfg.objective.tau) == ("profit", "lower", 0.3)
    flat = TrainConfig.from_yaml(path, {"tau": "0.2", "objective": "dft"})
    assert (flat.objective.objective, flat.objective.tau) == ("dft", 0.2)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"warmup_ratio": "1.5"}, "warmup_ratio"),
        ({"finetuning": "qlora"}, "finetuning"),
        ({"loss_impl": "fused"}, "loss_impl"),
        ({"gradient_accumulation_steps": "0"}, "gradient_accumulation_steps"),
        ({"padding_free": "sometimes"}, "padding_free"),
        ({"objective.tau": "2"}, "objective"),
        ({"objective.strategy": "upper"}, "objective"),
        ({"max_steps": "0"}, "max_steps"),
        ({"finetuning": "lora", "lora_rank": "0"}, "lora_rank"),
        ({"finetuning": "lora", "lora_target": "q_proj,lm_head", "loss_impl": "lean"}, "loss_impl"),
        ({"preset": "fancy"}, "preset"),
    ],
)
def test_bad_values_name_the_field(overrides, field):
    with pytest.raises(ConfigError, match=f"`{field}`"):
        TrainConfig.from_yaml(None, overrides)


def test_unknown_field_and_missing_paths_fail_before_loading(tmp_path):
    with pytest.raises(ConfigError, match="lerning_rate"):
        TrainConfig.from_yaml(None, {"lerning_rate": "1"})
    cfg = TrainConfig.from_yaml(None, {"model": str(tmp_path), "data": "x.jsonl", "output_dir": "o"})
    with pytest.raises(ConfigError, match="`model`"):
        cfg.check_runnable()


def test_config_hash_ignores_output_and_logging_only():
    a = TrainConfig.from_yaml(None, {"output_dir": "a", "logging_steps": "1"})
    b = TrainConfig.from_yaml(None, {"output_dir": "b", "logging_steps": "5", "save_steps": "7"})
    c = TrainConfig.from_yaml(None, {"output_dir": "a", "objective.tau": "0.2"})
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_help_lists_every_field(capsys):
    text = build_parser().format_help()
    for name in TrainConfig.__dataclass_fields__:
        if name != "objective":
            assert f"--{name}" in text
    for name in ("objective.objective", "objective.tau", "objective.normalization"):
        assert f"--{name}" in text
    assert all(name in text for name in PRESETS)


def test_cli_reports_config_errors_with_exit_code_2(capsys):
    assert main(["--warmup_ratio", "3", "--dry-run"]) == 2
    assert "`warmup_ratio`" in capsys.readouterr().err
    assert main(["--preset", "paper", "--tau", "0.2", "--dry-run"]) == 0
    assert '"tau": 0.2' in capsys.readouterr().out


def test_lean_under_deepspeed_fails_before_loading(tiny_model, tmp_path, monkeypatch):
    data = tmp_path / "d.jsonl"
    data.write_text("{}\n")
    cfg = TrainConfig.from_yaml(None, {"model": str(tiny_model), "data": str(data), "output_dir": "o",
                                       "loss_impl": "lean"})
    cfg.check_runnable()
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    cfg.check_runnable()  # lean runs under FSDP2 (tests/training/test_fsdp.py)
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    with pytest.raises(ConfigError, match="`loss_impl`.*ZeRO-3"):
        cfg.check_runnable()
