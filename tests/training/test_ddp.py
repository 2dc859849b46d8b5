"""Two-process DDP on CPU (gloo, via torchrun) equals one process with the matching gradient accumulation."""

import os
import socket
import subprocess
import sys

import yaml
from safetensors.torch import load_file

from training.api import train


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_match_one_process_with_accumulation(quick_config, tmp_path):
    # sequence normalisation needs the sequence count of the whole global batch, across both ranks.
    objective = {"objective": "profit", "strategy": "higher", "tau": 0.002, "normalization": "sequence"}
    common = {"objective": objective, "optim": "sgd", "learning_rate": 0.5, "per_device_batch_size": 1,
              "max_steps": 3}
    single = train(quick_config(gradient_accumulation_steps=2, output_dir=str(tmp_path / "single"), **common))

    config = quick_config(gradient_accumulation_steps=1, output_dir=str(tmp_path / "ddp"), **common)
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           "-m", "training.cli", "--config", str(path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    # The first rank to fail names the cause; the others only report the broken connection.
    failing = [line for line in done.stderr.splitlines() if line.startswith("[rank1]") or "Error" in line]
    assert done.returncode == 0, "\n".join(failing[:40]) + "\n...\n" + done.stderr[-2000:]

    a, b = load_file(str(single / "model.safetensors")), load_file(str(tmp_path / "ddp" / "model.safetensors"))
    # Same micro-batches, gradients summed in another order: equal to float rounding (observed exactly 0).
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6
