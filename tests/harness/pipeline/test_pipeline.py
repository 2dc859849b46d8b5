"""`profit pipeline` end to end on a reduced grid: train -> evaluate (real vLLM engine) -> report; a second run
does no work; bad configs fail before any work."""

import json

import pytest

from harness.pipeline.config import PipelineConfig, PipelineConfigError
from harness.pipeline.run import describe, run
from profit_core.errors import UserError


def store_files(store):
    return {p.name: p.stat().st_mtime_ns for p in (store / "records").glob("*.json")}


@pytest.mark.vllm
def test_reduced_pipeline_end_to_end_then_nothing_to_do(write_config, tmp_path):
    cfg = PipelineConfig.from_yaml(write_config(backend="vllm"))
    first = run(cfg, progress=False)
    assert sorted(first["trained"]) == ["tiny/profit-higher-0.1/seed0", "tiny/sft/seed0"]
    assert first["records"] == 3  # base + two checkpoints, one task
    board = (tmp_path / "results" / "leaderboard.md").read_text()
    for row in ("| tiny | base |", "| tiny | SFT |", "| tiny | ProFit | higher | 0.1 |"):
        assert row in board
    manifest = json.loads((tmp_path / "runs" / "tiny" / "sft" / "seed0" / "profit_run.json").read_text())
    assert manifest["complete"] is True and manifest["steps"] == 4

    records = store_files(tmp_path / "store")
    report_mtime = (tmp_path / "results" / "leaderboard.md").stat().st_mtime_ns
    second = run(cfg, progress=False)
    assert second["trained"] == [] and len(second["skipped"]) == 2
    assert second["report"] == []  # inputs unchanged: not regenerated
    assert store_files(tmp_path / "store") == records
    assert (tmp_path / "results" / "leaderboard.md").stat().st_mtime_ns == report_mtime
    assert second["timings"]["eval_s"] < first["timings"]["eval_s"]


def test_dry_run_lists_work_and_state(write_config):
    lines = describe(PipelineConfig.from_yaml(write_config()))
    text = "\n".join(lines)
    assert text.startswith("pipeline mini: 4 jobs (2 trainings), executor local")
    assert "  todo     train tiny/sft/seed0" in text and "  todo     train tiny/profit-higher-0.1/seed0" in text
    assert "  todo     eval seed0" in text and "3 checkpoint(s) x profit_testbed (limit 4)" in text
    assert "  todo     report" in text


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"methods": [{"objective": "profit", "tau": 1.5}]}, "tau must be a number in [0, 1]"),
        ({"methods": [{"objective": "profitt"}]}, "unknown objective 'profitt'"),
        ({"seeds": []}, "`seeds` must be a non-empty list"),
        ({"epochs": 3}, "unknown field `epochs`"),
        ({"base_models": [{"name": "x"}]}, "give exactly one of `path` or `builtin`"),
        ({"eval": {"backend": "tgi", "tasks": []}}, "`eval.backend` must be vllm, vllm-server or hf"),
        ({"train": {"data": "x.jsonl", "seed": 3}}, "`train.seed` is set by the pipeline"),
        ({"train": {"data": "x.jsonl", "learning_rate": -1}}, "`learning_rate`: must be positive"),
    ],
)
def test_bad_config_fails_before_any_work(write_config, tmp_path, changes, message):
    path = write_config(**changes)
    with pytest.raises(PipelineConfigError) as err:
        describe(PipelineConfig.from_yaml(path))
    assert message in str(err.value)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "store").exists()


def test_missing_base_model_fails_before_training(write_config, tmp_path):
    cfg = PipelineConfig.from_yaml(write_config(base_models=[{"name": "gone", "path": str(tmp_path / "nope")}]))
    with pytest.raises(PipelineConfigError, match=r"base model gone: .*nope: no such folder"):
        run(cfg, progress=False)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"eval": {"tasks": [{"name": "profit_gsm8kk"}]}}, "unknown task(s) profit_gsm8kk; this repo's tasks:"),
        ({"seeds": [0, 0]}, "`seeds` lists a seed twice ([0, 0])"),
        ({"methods": [{"objective": "sft"}, {"objective": "sft"}]}, "two entries expand to the same objective (sft)"),
        ({"eval": {"tasks": [{"name": "profit_testbed", "limit": 0}]}}, "limit must be a positive integer"),
    ],
)
def test_every_input_is_checked_before_the_first_training(write_config, tmp_path, changes, message):
    """Task names, seeds, duplicates and limits fail in the first second, not after hours of training."""
    with pytest.raises(PipelineConfigError) as err:
        run(PipelineConfig.from_yaml(write_config(**changes)), progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "store").exists()


def test_a_run_folder_of_another_config_is_refused_before_any_training(write_config, tmp_path):
    from harness.pipeline.plan import base_folders, training_jobs
    from training.api import train

    cfg = PipelineConfig.from_yaml(write_config())
    sft = training_jobs(cfg, base_folders(cfg))[0]
    train(sft.config, progress=False)
    changed = PipelineConfig.from_yaml(write_config(train={**cfg.train, "learning_rate": 5e-4}))
    with pytest.raises(PipelineConfigError, match=r"training tiny/sft/seed0: .*another config .*learning_rate 0.001 "
                                                  r"-> 0.0005"):
        run(changed, progress=False)
    assert not (tmp_path / "runs" / "tiny" / "profit-higher-0.1").exists()  # nothing else was started


@pytest.mark.parametrize("where", ["store", "results"])
def test_an_output_path_that_is_a_file_is_refused_first(write_config, tmp_path, where):
    (tmp_path / where).write_text("mine")
    with pytest.raises(UserError, match="is a file") as err:
        run(PipelineConfig.from_yaml(write_config()), progress=False)
    assert "Traceback" not in str(err.value) and (tmp_path / where).read_text() == "mine"
    assert not (tmp_path / "runs").exists()
