"""A killed pipeline resumes: between stages (trainings done, evaluation not) and inside a training."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from harness.pipeline.config import PipelineConfig
from harness.pipeline.run import describe, run

ROOT = Path(__file__).resolve().parents[3]


def test_killed_between_training_and_evaluation_resumes(write_config, tmp_path):
    """SIGKILL of the pipeline once both trainings are done: its workers die with it, and a rerun only evaluates."""
    path = write_config()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "pipeline", str(path), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifests = [tmp_path / "runs" / "tiny" / m / "seed0" / "profit_run.json" for m in ("sft", "profit-higher-0.1")]
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if all(p.is_file() and json.loads(p.read_text())["complete"] for p in manifests):
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the pipeline ended before it could be killed"
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 20
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in family) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

    cfg = PipelineConfig.from_yaml(path)
    resumed = run(cfg, progress=False)
    assert resumed["trained"] == [] and len(resumed["skipped"]) == 2
    assert resumed["records"] == 3
    assert (tmp_path / "results" / "leaderboard.md").is_file()


def test_sigkill_inside_a_training_resumes_from_its_last_state(write_config, tmp_path):
    path = write_config(methods=[{"objective": "sft"}], train={
        "data": str(ROOT / "tasks/profit_testbed/data/sft_train.jsonl"), "max_steps": 40,
        "per_device_batch_size": 4, "gradient_accumulation_steps": 1, "learning_rate": 1e-3, "cutoff_len": 256,
        "save_steps": 2, "save_total_limit": 50, "logging_steps": 1})
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "pipeline", str(path), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    states = tmp_path / "runs" / "tiny" / "sft" / "seed0" / "checkpoints"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(states.glob("checkpoint-*"))) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the pipeline ended before it could be killed mid-training"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert json.loads((states.parent / "profit_run.json").read_text())["complete"] is False
    log = states.parent / "train_log.jsonl"
    # The newest state may be half-written (the kill can land while it is saved); the one before it is whole.
    saved = sorted(int(p.name.split("-")[1]) for p in states.glob("checkpoint-*"))[-2]
    before = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= saved]
    assert before

    cfg = PipelineConfig.from_yaml(path)
    assert "  partial  train tiny/sft/seed0" in "\n".join(describe(cfg))
    resumed = run(cfg, progress=False)
    assert resumed["trained"] == ["tiny/sft/seed0"]
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 41))
    # The steps before the saved state keep their original log lines (timings included): they were not rerun.
    assert lines[: len(before)] == before, (lines[: len(before)], before)
    assert (tmp_path / "results" / "leaderboard.md").is_file()
