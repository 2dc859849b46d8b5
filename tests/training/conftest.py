"""Shared fixtures: one tiny model folder per session, and a small config builder for quick runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _make_tiny_model():
    spec = importlib.util.spec_from_file_location("make_tiny_model", EXAMPLES / "make_tiny_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return _make_tiny_model().build(tmp_path_factory.mktemp("tiny") / "tiny-qwen3")


@pytest.fixture(scope="session")
def build_model():
    return _make_tiny_model().build


@pytest.fixture(scope="session")
def bf16_base(build_model, tmp_path_factory) -> Path:
    """The tiny model with its weights stored in bf16 (config.json dtype bfloat16), as the paper's Qwen3 bases are."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = build_model(tmp_path_factory.mktemp("bf16") / "tiny-bf16")
    AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).save_pretrained(folder)
    return folder


@pytest.fixture
def quick_config(tiny_model, tmp_path):
    """A TrainConfig for a few CPU steps on the ShareGPT example; keyword arguments override fields."""
    from training.config import TrainConfig

    def make(**overrides):
        values = {
            "model": str(tiny_model),
            "data": str(EXAMPLES / "sharegpt.jsonl"),
            "output_dir": str(tmp_path / "run"),
            "learning_rate": 1e-3,
            "warmup_ratio": 0.0,
            "lr_scheduler": "constant",
            "per_device_batch_size": 2,
            "gradient_accumulation_steps": 1,
            "max_steps": 2,
            "cutoff_len": 256,
            "save_steps": 0,
            "seed": 7,
        }
        values.update(overrides)
        return TrainConfig.from_dict(values)

    return make
