"""A real kill: SIGKILL the `profit train` process after its first saved state, resume, compare weights."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from safetensors.torch import load_file

from profit_core.formats.run_manifest import NAME as MANIFEST
from training.api import train
from training.checkpoint import is_complete

pytestmark = pytest.mark.slow


def test_sigkilled_run_resumes_to_the_same_weights(quick_config, tmp_path):
    common = {"max_steps": 30, "save_steps": 3, "lr_scheduler": "cosine", "warmup_ratio": 0.1,
              "objective": {"objective": "profit", "strategy": "higher", "tau": 0.002}}
    whole = train(quick_config(output_dir=str(tmp_path / "whole"), **common))

    cfg = quick_config(output_dir=str(tmp_path / "killed"), **common)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    proc = subprocess.Popen([sys.executable, "-m", "training.cli", "--config", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    state = tmp_path / "killed" / "checkpoints" / "checkpoint-3" / "trainer_state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not is_complete(tmp_path / "killed")
    assert json.loads((tmp_path / "killed" / MANIFEST).read_text())["config_hash"] == cfg.config_hash()

    train(cfg, resume=True)
    assert is_complete(tmp_path / "killed", cfg)
    a = load_file(str(whole / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6
