"""The store without any model: keys, atomic files, and claims between real processes."""

import multiprocessing as mp
import os
import signal
import time

from harness.store import Store, record_key

KEY_ARGS = dict(model_hash="ab" * 32, task="t", task_version=1.0, sampling={"preset": "greedy", "repeats": 1},
                seed=1234, harness_version="0.1.0")


def test_key_is_stable_and_covers_every_field():
    key = record_key(**KEY_ARGS)
    assert key == record_key(**dict(reversed(list(KEY_ARGS.items()))))  # order of fields does not matter
    assert len(key) == 24 and int(key, 16) >= 0
    for field, other in [("model_hash", "cd" * 32), ("task", "u"), ("task_version", 2.0),
                         ("sampling", {"preset": "greedy", "repeats": 2}), ("seed", 1), ("harness_version", "0.2.0")]:
        assert record_key(**{**KEY_ARGS, field: other}) != key, field


def test_put_get_roundtrip_and_no_temporary_files_left(tmp_path):
    store = Store(tmp_path)
    key = record_key(**KEY_ARGS)
    assert not store.has(key) and store.get(key) is None
    store.put(minimal_record(key), [{"doc_id": 0, "responses": ["x"]}])
    assert store.has(key) and store.get(key)["metrics"]["acc"]["value"] == 0.5
    assert store.read_samples(key) == [{"doc_id": 0, "responses": ["x"]}]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [f"{key}.json", f"{key}.jsonl.gz"]
    assert [r["key"] for r in store.iter_records()] == [key]


def minimal_record(key: str, value: float = 0.5) -> dict:
    return {"schema": 2, "key": key, "model": {"content_hash": "ab" * 32, "label": "m"}, "task": {"name": "t"},
            "sampling": {"preset": "greedy"}, "primary_metric": "acc", "metrics": {"acc": {"value": value}}}


def _hold(root, key, ready):
    with Store(root).claim(key) as mine:
        assert mine
        ready.set()
        time.sleep(120)  # until killed


def test_claim_is_exclusive_across_processes_and_freed_when_the_holder_is_killed(tmp_path):
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, "k1", ready))
    holder.start()
    try:
        assert ready.wait(30)
        store = Store(tmp_path)
        with store.claim("k1") as mine:
            assert not mine
        assert store.in_progress() == ["k1"]
        with store.claim("k2") as mine:  # other keys are free
            assert mine
        os.kill(holder.pid, signal.SIGKILL)  # a crashed worker: its lock must not outlive it
        holder.join(30)
        with store.claim("k1") as mine:
            assert mine
        assert store.in_progress() == []
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(5)


def test_claim_after_release_by_unlink_gets_a_live_lock(tmp_path):
    store = Store(tmp_path)
    with store.claim("k") as first:
        assert first
    assert not (tmp_path / "locks" / "k.lock").exists()  # released claims clean up after themselves
    with store.claim("k") as again, store.claim("k") as twice:
        assert again and not twice


def test_a_half_written_record_is_invisible(tmp_path):
    store = Store(tmp_path)
    store.records.mkdir(parents=True)
    (store.records / ".abc.json.123.tmp").write_text("{")  # what a killed writer leaves behind
    assert list(store.iter_records()) == [] and not store.has("abc")
