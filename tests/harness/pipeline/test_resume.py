"""A killed pipeline resumes: between stages (trainings done, evaluation not) and inside a training."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.pipeline import run as pipeline_run
from harness.pipeline.config import PipelineConfig
from harness.pipeline.run import run

ROOT = Path(__file__).resolve().parents[3]


def test_killed_between_training_and_evaluation_resumes(write_config, tmp_path, monkeypatch):
    cfg = PipelineConfig.from_yaml(write_config())

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the training stage

    monkeypatch.setattr(pipeline_run, "_evaluate", killed)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, progress=False)
    monkeypatch.undo()
    assert not (tmp_path / "store" / "records").exists()

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
    from harness.pipeline.plan import base_folders, training_jobs

    (job,) = training_jobs(cfg, base_folders(cfg))
    assert pipeline_run._status(job) == "partial"
    resumed = run(cfg, progress=False)
    assert resumed["trained"] == ["tiny/sft/seed0"]
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 41))
    # The steps before the saved state keep their original log lines (timings included): they were not rerun.
    assert lines[: len(before)] == before, (lines[: len(before)], before)
    assert (tmp_path / "results" / "leaderboard.md").is_file()
