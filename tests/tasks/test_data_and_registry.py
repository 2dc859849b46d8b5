"""Bundled data (checksums, counts, licences), the registry the harness reads, and the group definition."""

import shutil

import pytest
import yaml

from tasks.registry import GROUP, NLTK_DATA_DIR, PAPER5, TASKS, TASKS_DIR, scoring_env

DATA_DIRS = ["profit_gsm8k/data", "profit_math500/data", "profit_aime24/data", "profit_gpqa_diamond/data",
             "profit_ifeval/data", "profit_ifeval/nltk_data"]


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _yaml(path):
    return yaml.load(path.read_text(), Loader=_Loader)


@pytest.mark.parametrize("folder", DATA_DIRS)
def test_data_matches_sha256sums_and_has_licence_and_provenance(folder):
    from _profit_common.data import verified_bytes

    root = TASKS_DIR / folder
    names = [line.split(maxsplit=1)[1] for line in (root / "SHA256SUMS").read_text().splitlines()]
    for name in names:
        path = root / name
        if "/" not in name:
            verified_bytes(path)
    assert any(n.lower().startswith("license") for n in names)
    assert (root / "PROVENANCE.md").is_file()


def test_modified_data_is_refused(tmp_path):
    from _profit_common.data import verified_bytes

    for name in ("test.jsonl", "SHA256SUMS"):
        shutil.copy(TASKS_DIR / "profit_aime24/data" / name, tmp_path / name)
    (tmp_path / "test.jsonl").write_text((tmp_path / "test.jsonl").read_text().replace("204", "205", 1))
    with pytest.raises(ValueError, match="does not match its sha256"):
        verified_bytes(tmp_path / "test.jsonl")
    with pytest.raises(FileNotFoundError, match="benchmark data missing"):
        verified_bytes(tmp_path / "nope.jsonl")


def test_row_counts(task_manager):
    loaded = task_manager.load(PAPER5)["tasks"]
    counts = {name: len(task.eval_docs) for name, task in loaded.items()}
    assert counts == {"profit_gpqa_diamond": 198, "profit_gsm8k": 1319, "profit_math500": 500,
                      "profit_aime24": 30, "profit_ifeval": 541}


def test_registry_agrees_with_the_yaml():
    yamls = {}
    for path in TASKS_DIR.glob("profit_*/*.yaml"):
        cfg = _yaml(path)
        if "include" in cfg:
            cfg = {**_yaml(path.parent / cfg["include"]), **cfg}
        yamls[cfg["task"]] = cfg
    for name, spec in TASKS.items():
        cfg = yamls[name]
        assert cfg["generation_kwargs"]["max_gen_toks"] == spec.max_gen_toks, name
        assert spec.primary_metric.split(",")[0] in {m["metric"] for m in cfg["metric_list"]}, name
        if "class" in cfg:  # ProfitTask scores every repeat itself: the YAML must keep them all
            assert cfg["filter_list"] == [{"name": "none", "filter": []}], name
        assert cfg["metadata"]["version"] >= 1, name
    group = _yaml(TASKS_DIR / f"{GROUP}.yaml")
    assert group["task"] == PAPER5


def test_scoring_env(tmp_path):
    env = scoring_env(tokenizer=tmp_path, strip_think=True)
    assert env["NLTK_DATA"].split(":")[0] == str(NLTK_DATA_DIR)
    assert (NLTK_DATA_DIR / "tokenizers/punkt_tab/english/sent_starters.txt").is_file()
    assert env["PROFIT_TOKENIZER"] == str(tmp_path) and env["PROFIT_STRIP_THINK"] == "1"
