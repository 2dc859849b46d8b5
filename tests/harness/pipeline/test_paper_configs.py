"""The paper's recipes (configs/paper/*.yaml) are right by construction: `profit pipeline X --dry-run --device-memory
80G` (and 96G) prints, for every base, a memory plan that fits 8 GPUs of that size, without the model folders or the
data on this machine (the plans come from training/known_bases.py); each base uses FSDP2 exactly where DDP cannot
fit, the lean loss and gradient checkpointing; a plan that cannot fit is refused, by the dry run and by a real run
before any work, naming the base and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.pipeline.cli import main
from harness.pipeline.config import PipelineConfig, PipelineConfigError
from harness.pipeline.plan import base_folders, training_jobs
from harness.pipeline.run import run
from training.memory import GB, launch_from_launcher, parse_size, plan_for

ROOT = Path(__file__).resolve().parents[3]
PAPER = sorted((ROOT / "configs" / "paper").glob("*.yaml"))
SIZES = ("80G", "96G")


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def plan_blocks(out: str) -> dict[str, str]:
    """The dry run's memory-plan section, one block per `<base> under ...` header."""
    section = out.split("memory plans (", 1)[1]
    heads = list(re.finditer(r"^  (\S+) under ", section, flags=re.M))
    return {m.group(1): section[m.start(): heads[i + 1].start() if i + 1 < len(heads) else len(section)]
            for i, m in enumerate(heads)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_every_base_of_every_paper_config_fits(config, size, in_repo, capsys):
    cfg = PipelineConfig.from_yaml(config)
    assert main([str(config.relative_to(ROOT)), "--dry-run", "--device-memory", size]) == 0
    out = capsys.readouterr().out
    blocks = plan_blocks(out)
    assert sorted(blocks) == sorted(b.name for b in cfg.base_models)  # one plan per base: methods share it
    for base in cfg.base_models:
        folder = Path(base.path)
        if not folder.exists():  # the bases are not on this machine: planned from their known shapes
            assert f"MISSING  base {base.name:<39} {folder} (planned from the known shape of {folder.name})" in out
            assert "shape from training/known_bases.py" in blocks[base.name]
        target = parse_size(size)
        assert f"fits {target / GB:.1f} GB per device" in blocks[base.name], blocks[base.name]
        assert "8 GPUs" in blocks[base.name]  # the paper's node
    assert "does NOT fit" not in out


@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_fsdp2_exactly_where_ddp_cannot_fit(config, in_repo):
    """Each base runs the lean loss with gradient checkpointing, and is sharded only when DDP cannot hold it."""
    cfg = PipelineConfig.from_yaml(config)
    assert "max_model_len" not in cfg.eval.engine  # derived per model from its positions and the tasks
    for job in training_jobs(cfg, base_folders(cfg)):
        assert job.config.loss_impl == "lean" and job.config.gradient_checkpointing
        launch = launch_from_launcher(cfg.launcher_for(job.base))
        assert launch.world_size == 8
        ddp_fits = all(plan_for(job.config, "ddp", 8, parse_size(size)).fits for size in SIZES)
        assert launch.strategy == ("ddp" if ddp_fits else "fsdp2"), job.name


def test_a_plan_that_cannot_fit_is_refused_naming_the_base_and_the_fix(in_repo, capsys):
    assert main(["configs/paper/table1.yaml", "--dry-run", "--device-memory", "40G"]) == 2
    captured = capsys.readouterr()
    assert "does NOT fit 40.0 GB per device" in captured.out  # the plans are printed first
    error = captured.err
    assert "profit pipeline: error: base qwen3-14b-base" in error
    assert "needs 56.0 GB per GPU under FSDP2 over 8 GPUs, more than 40.0 GB" in error
    assert "use more or larger GPUs, LoRA, or a shorter cutoff_len" in error  # the fix the planner offers
    assert "qwen3-0.6b-base" not in error  # 19.9 GB: fits


def test_a_ddp_plan_too_large_is_refused_with_the_fsdp2_fix(in_repo, tmp_path, capsys):
    """The planner's fix names the launcher to use when DDP is what does not fit."""
    text = (ROOT / "configs" / "paper" / "table1.yaml").read_text()
    ddp_only = tmp_path / "ddp.yaml"
    ddp_only.write_text(re.sub(r"\n    launcher: accelerate launch --config_file configs/accelerate/fsdp2.yaml", "",
                               text))
    assert main([str(ddp_only), "--dry-run", "--device-memory", "80G"]) == 2
    error = capsys.readouterr().err
    assert "base qwen3-4b-base (`accelerate launch --config_file configs/accelerate/ddp.yaml`): memory plan: needs " \
           "107.4 GB per GPU under DDP over 8 GPUs" in error
    assert "FSDP2 over 8 GPUs needs 19.7 GB: use launcher `accelerate launch --config_file " \
           "configs/accelerate/fsdp2.yaml` (num_processes: 8)" in error


def test_a_real_run_refuses_a_plan_that_cannot_fit_before_any_work(write_config, tmp_path):
    cfg = PipelineConfig.from_yaml(write_config())
    with pytest.raises(PipelineConfigError, match=r"base tiny \(no launcher\): memory plan: needs .* per GPU under a "
                                                  r"single process, more than 1.0 MB"):
        run(cfg, progress=False, device_memory=parse_size("1M"))
    assert not (tmp_path / "runs").exists() and not (tmp_path / "store").exists()


def test_without_a_target_the_dry_run_gives_estimates_only(write_config, capsys):
    assert main([str(write_config()), "--dry-run", "--device-memory", "off"]) == 0
    out = capsys.readouterr().out
    assert "memory plans (estimates per device, training/memory.py; no target" in out
    assert "no target memory (no GPU visible, no --device-memory): estimate only" in out
