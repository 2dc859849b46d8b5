import pytest
import yaml

from tasks.registry import TASKS_DIR

SFT_DATA = TASKS_DIR / "profit_testbed" / "data" / "sft_train.jsonl"


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A few-second build of the testbed base (same code path, toy size): a real testbed-capable model folder."""
    from dataclasses import replace

    from testbed import TINY, build_base
    from testbed.model import ModelShape

    # head_dim 32: vLLM's CPU attention has no kernel for TINY's 16.
    config = replace(TINY, shape=ModelShape(hidden=64, layers=1, heads=2, ffn=128, max_positions=256))
    return build_base(tmp_path_factory.mktemp("base") / "tiny", config=config, progress=False)


@pytest.fixture
def write_config(tmp_path, tiny_base):
    """A reduced pipeline: one seed, two objectives, a few steps; `changes` overrides top-level fields."""

    def write(backend="hf", **changes):
        cfg = {
            "name": "mini",
            "runs_dir": str(tmp_path / "runs"),
            "store": str(tmp_path / "store"),
            "report_dir": str(tmp_path / "results"),
            "base_models": [{"name": "tiny", "path": str(tiny_base)}],
            "train": {"data": str(SFT_DATA), "max_steps": 4, "per_device_batch_size": 4,
                      "gradient_accumulation_steps": 1, "learning_rate": 1e-3, "cutoff_len": 256,
                      "save_steps": 1, "save_total_limit": 10, "logging_steps": 1},
            "methods": [{"objective": "sft"}, {"objective": "profit", "tau": 0.1}],
            "seeds": [0],
            "eval": {"backend": backend, "tasks": [{"name": "profit_testbed", "limit": 4}]},
            **changes,
        }
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return write
