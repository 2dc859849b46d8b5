"""A trained checkpoint loads in vLLM with no code of ours (CPU engine, capped KV cache, eager)."""

import pytest

from training.api import train

pytestmark = pytest.mark.vllm


def test_vllm_generates_from_a_trained_checkpoint(quick_config, build_model, tmp_path, monkeypatch):
    pytest.importorskip("vllm")
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    base = build_model(tmp_path / "base", hidden=256)  # head_dim 64: a size vLLM's CPU attention serves
    out = train(quick_config(model=str(base), max_steps=1, output_dir=str(tmp_path / "run")))

    from vllm import LLM, SamplingParams

    llm = LLM(model=str(out), dtype="float32", max_model_len=256, enforce_eager=True,
              kv_cache_memory_bytes=128 * 2**20, seed=0)
    outputs = llm.chat([[{"role": "user", "content": "Ada has 3 coins."}]],
                       SamplingParams(max_tokens=4, temperature=0.0))
    assert len(outputs[0].outputs[0].token_ids) >= 1
