import json
from dataclasses import replace

import pytest

from profit_core.files import sha256_file
from profit_core.formats.base_build import NAME as MANIFEST
from testbed import TINY, build_base
from testbed.build import BaseConfig


def weights_sha256(folder):
    return sha256_file(folder / "model.safetensors")


def test_same_seed_same_weights(tiny_base, tmp_path):
    again = build_base(tmp_path / "again", config=TINY, progress=False)
    assert weights_sha256(again) == weights_sha256(tiny_base)
    first, second = (json.loads((p / MANIFEST).read_text()) for p in (tiny_base, again))
    assert first["corpus_sha256"] == second["corpus_sha256"]
    other = build_base(tmp_path / "other", seed=1, config=TINY, progress=False)
    assert weights_sha256(other) != weights_sha256(tiny_base)


def test_folder_loads_and_records_the_build(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_base)
    tok = AutoTokenizer.from_pretrained(tiny_base)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert tok.eos_token == "<|im_end|>" and model.config.eos_token_id == tok.eos_token_id
    assert "<|im_start|>assistant" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    record = json.loads((tiny_base / MANIFEST).read_text())
    assert record["config_sha256"] == TINY.digest()
    assert record["loss"]["final"] < record["loss"]["first"]
    assert record["weights_sha256"] == weights_sha256(tiny_base)


def test_cache_hit_does_no_work_and_other_settings_are_refused(tiny_base):
    before = (tiny_base / "model.safetensors").stat().st_mtime_ns
    assert build_base(tiny_base, config=TINY, progress=False) == tiny_base
    assert (tiny_base / "model.safetensors").stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match="other settings"):
        build_base(tiny_base, config=replace(TINY, steps=TINY.steps + 1), progress=False)


def test_default_cache_folder_follows_profit_cache(monkeypatch, tmp_path):
    from testbed.build import cache_root

    monkeypatch.setenv("PROFIT_CACHE", str(tmp_path))
    assert cache_root() == tmp_path


def test_bad_settings_fail_at_construction():
    with pytest.raises(ValueError, match="warmup"):
        BaseConfig(steps=10, warmup=10)
    with pytest.raises(ValueError, match="lr"):
        BaseConfig(lr=2.0)
