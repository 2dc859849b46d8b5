import json

import pytest

from profit_core.formats import store_record


def record(**changes):
    rec = {"schema": 2, "key": "k" * 24, "model": {"content_hash": "h" * 64, "path": "../../runs/x"},
           "task": {"name": "t"}, "sampling": {"preset": "greedy"}, "primary_metric": "acc",
           "metrics": {"acc": {"value": 0.5}}}
    rec.update(changes)
    return rec


def test_a_schema_1_record_is_read_without_its_machine_paths(tmp_path):
    old = record(schema=1, model={"content_hash": "h" * 64, "path": "/home/someone/runs/sft/seed0",
                                  "run": {"base_model": "/home/someone/models/qwen",
                                          "data": {"path": "/data/train.jsonl", "sha256": "s"},
                                          "config": {"model": "/home/someone/models/qwen", "data": "rel/x.jsonl"}}})
    (tmp_path / "k.json").write_text(json.dumps(old))
    got = store_record.read(tmp_path / "k.json")
    assert got["schema"] == store_record.SCHEMA
    assert got["model"]["path"] == "seed0" and got["model"]["run"]["base_model"] == "qwen"
    assert got["model"]["run"]["data"] == {"path": "train.jsonl", "sha256": "s"}
    assert got["model"]["run"]["config"] == {"model": "qwen", "data": "rel/x.jsonl"}
    assert "/home/" not in json.dumps(got)


@pytest.mark.parametrize("text, corrupt, why", [
    ('{"schema": 2, "key": "tr', True, "unreadable JSON"),
    ("{}", True, "key is missing"),
    (json.dumps(record(metrics={})), True, "metrics.acc.value is missing"),
    (json.dumps(record(schema=3)), False, "schema 3 is not 2"),
])
def test_unusable_records_say_why_and_whether_they_are_corrupt(tmp_path, text, corrupt, why):
    (tmp_path / "k.json").write_text(text)
    with pytest.raises(store_record.Unusable, match=why) as err:
        store_record.read(tmp_path / "k.json")
    assert err.value.corrupt is corrupt


def test_key_covers_every_field():
    args = dict(model_hash="a", task="t", task_version=1, sampling={"x": 1}, seed=1, harness_version="0.2.0")
    key = store_record.record_key(**args)
    for field, other in [("model_hash", "b"), ("task", "u"), ("task_version", 2), ("sampling", {"x": 2}),
                         ("seed", 2), ("harness_version", "0.3.0")]:
        assert store_record.record_key(**{**args, field: other}) != key
