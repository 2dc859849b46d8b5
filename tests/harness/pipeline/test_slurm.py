"""`executor: slurm` against a real single-node Slurm started on this machine (slow; skips, saying why, where Slurm
cannot start). A reduced grid completes; submitting it again submits nothing."""

import pytest

from harness.pipeline.config import PipelineConfig
from harness.pipeline.run import run
from tests.harness.pipeline.slurm_cluster import ClusterUnavailable, LocalSlurm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except ClusterUnavailable as why:
        pytest.skip(f"no local Slurm: {why}")
    mp = pytest.MonkeyPatch()
    mp.setenv("SLURM_CONF", cluster.env["SLURM_CONF"])
    yield cluster
    mp.undo()
    cluster.stop()


def test_a_reduced_grid_runs_on_slurm_and_a_resubmission_does_nothing(slurm, write_config, tmp_path):
    path = write_config(executor="slurm", slurm={"cpus_per_task": 1, "time_min": 20, "eval_shards": 2})
    cfg = PipelineConfig.from_yaml(path)
    first = run(cfg, progress=False)
    assert sorted(first["trained"]) == ["tiny/profit-higher-0.1/seed0", "tiny/sft/seed0"]
    assert first["records"] == 3  # base + two checkpoints, one task, split over the two shards
    assert (tmp_path / "results" / "leaderboard.md").is_file()
    jobs = sorted(p.name for p in (tmp_path / "runs" / "slurm").iterdir() if p.is_dir())
    # 2 trainings, an evaluation array of 2 tasks (its folder and one per task), the report: one log folder each.
    assert jobs == ["1", "2", "3", "3_0", "3_1", "4"], jobs

    second = run(cfg, progress=False)
    assert second["trained"] == [] and sorted(second["skipped"]) == sorted(first["trained"])
    assert all(r["line"] == "already done" for r in second["outcome"].done.values())
    assert sorted(p.name for p in (tmp_path / "runs" / "slurm").iterdir() if p.is_dir()) == jobs  # nothing submitted
