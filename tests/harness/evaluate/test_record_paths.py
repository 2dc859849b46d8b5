"""What a record may hold of a machine's folders: paths relative to the store, caches by name."""

from pathlib import Path

from harness.evaluate.record import portable_run, relative


def test_a_builtin_base_in_the_cache_is_named_not_spelled_out(tmp_path, monkeypatch):
    cache = tmp_path / "home" / "someone" / ".cache" / "profit-bench"
    monkeypatch.setenv("PROFIT_CACHE", str(cache))
    store = tmp_path / "project" / "results" / "store"
    assert relative(cache / "base-abc", store) == "$PROFIT_CACHE/base-abc"
    assert relative(cache, store) == "$PROFIT_CACHE"
    assert relative(tmp_path / "project" / "runs" / "x", store) == "../../runs/x"
    base, data = str(cache / "base-abc"), str(tmp_path / "project" / "d.jsonl")
    run = portable_run({"config": {"model": base, "data": data}, "base_model": base, "data": {"path": data}}, store)
    text = str(run)
    assert "someone" not in text and str(tmp_path) not in text


def test_the_hugging_face_cache_is_named_too(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf

    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf"))
    snapshot = Path(tmp_path / "hf" / "models--org--name" / "snapshots" / "1a2b")
    assert relative(snapshot, tmp_path / "store") == "$HF_HUB_CACHE/models--org--name/snapshots/1a2b"
