"""The ready-made accelerate configs and the example training configs parse and name what they promise."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

from training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "kind"), [("ddp", "MULTI_GPU"), ("fsdp2", "FSDP"), ("zero3", "DEEPSPEED")])
def test_accelerate_configs_load(name, kind):
    config = load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
    assert config.distributed_type.value == kind
    if name == "fsdp2":
        assert config.fsdp_config["fsdp_version"] == 2
    if name == "zero3":
        assert config.deepspeed_config["zero_stage"] == 3


@pytest.mark.parametrize("path", sorted((ROOT / "configs" / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_training_configs_are_valid(path):
    TrainConfig.from_yaml(path)
