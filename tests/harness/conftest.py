"""Session fixtures for the evaluation tests: two tiny checkpoints (one overfit to 100% on the fixture task, one
random) built once, and the small engine settings every vLLM test uses (a 64 MiB KV cache, never vLLM's default)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.harness.tiny_model import FIXTURE_TASKS, build_checkpoint

ENGINE = {"max_model_len": 256, "kv_cache_memory_bytes": 64 << 20, "dtype": "float32"}
TASK = "tiny_arith"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _isolated_caches(tmp_path_factory):
    cache = tmp_path_factory.mktemp("caches")
    for var in ("VLLM_CACHE_ROOT", "HF_HOME"):
        os.environ.setdefault(var, str(cache / var.lower()))
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    """`good` answers all 12 fixture questions right; `random` is untrained (same architecture and tokenizer);
    `variant` has good's weights but a different content hash (an edited config field vLLM ignores)."""
    root = tmp_path_factory.mktemp("ckpts")
    good = build_checkpoint(root / "good")
    rnd = build_checkpoint(root / "random", steps=0, seed=1)
    variant = root / "variant"
    shutil.copytree(good, variant)
    config = json.loads((variant / "config.json").read_text())
    config["transformers_version"] = "0.0.0-variant"
    (variant / "config.json").write_text(json.dumps(config))
    return {"good": good, "random": rnd, "variant": variant}


def eval_cli(*args: str) -> list[str]:
    """argv for `profit eval` in a subprocess, on the fixture task."""
    import sys

    return [sys.executable, "-m", "harness.cli", "eval", *args, "--include-path", str(FIXTURE_TASKS)]
