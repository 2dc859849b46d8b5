"""Every pipeline config the project ships besides the paper's (the quickstart, the real model, the testbed's sweep
and variants) is valid as committed: each training it lists passes `profit train`'s checks, its report's held-out
task is one it scores, and no two configs share a runs folder, a store or a report folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pipeline.config import PipelineConfig
from harness.pipeline.plan import base_folders, training_jobs

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted([*(ROOT / "configs").glob("*.yaml"), *(ROOT / "configs" / "testbed").glob("*.yaml")])


@pytest.fixture
def in_repo(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PROFIT_CACHE", str(tmp_path / "cache"))  # where the builtins would be built; nothing is


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_each_shipped_config_is_valid(path, in_repo):
    cfg = PipelineConfig.from_yaml(path)
    jobs = training_jobs(cfg, base_folders(cfg))
    assert len(jobs) == len(cfg.base_models) * len(cfg.methods_expanded()) * len(cfg.seeds)
    assert all(Path(job.config.data).is_file() for job in jobs)
    if cfg.report.select_on:
        assert cfg.report.select_on in [t.name for t in cfg.eval.tasks]


def test_no_two_shipped_configs_share_a_folder(in_repo):
    seen: dict[str, str] = {}
    for path in SHIPPED:
        cfg = PipelineConfig.from_yaml(path)
        for folder in {cfg.runs_dir, cfg.store, cfg.report_dir}:
            assert folder not in seen, f"{path.name} and {seen[folder]} both write {folder}"
            seen[folder] = path.name
