"""Unmerged LoRA adapters: a `profit train --finetuning lora --merge_lora false` folder is scored on its base through
vLLM's LoRA support (vllm) and peft (hf) without a merged copy, greedy answers equal to the merged model's; its key
covers the adapter and the base; adapters of one base share the base's engine."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.evaluate import api
from harness.evaluate.backends import check_backend
from harness.evaluate.checkpoint import Checkpoint, CheckpointError
from harness.evaluate.engine import EngineSettings
from harness.store import Store
from profit_core.errors import UserError
from tests.harness.conftest import ENGINE, TASK
from tests.harness.tiny_model import FIXTURE_TASKS, ROWS, prompt

NAMES = ["random", "adapter", "adapter2", "merged"]


@pytest.fixture(scope="module")
def lora(ckpts, tmp_path_factory):
    """`adapter`: profit train --finetuning lora --merge_lora false on the untrained tiny model (its answers change);
    `adapter2`: the same adapter with lora_B negated (another adapter of the same base); `merged`: adapter merged into
    the base with peft (the reference), with the base's tokenizer files."""
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    from training.api import train
    from training.config import TrainConfig

    root = tmp_path_factory.mktemp("lora")
    data = root / "arith.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": prompt(r)},
                                                     {"role": "assistant", "content": r["answer"]}]}) + "\n"
                            for r in ROWS))
    config = TrainConfig.from_dict({
        "model": str(ckpts["random"]), "data": str(data), "output_dir": str(root / "adapter"), "finetuning": "lora",
        "merge_lora": False, "lora_rank": 8, "lora_alpha": 16, "learning_rate": 5e-2, "warmup_ratio": 0.0,
        "lr_scheduler": "constant", "per_device_batch_size": 12, "gradient_accumulation_steps": 1, "max_steps": 8,
        "cutoff_len": 64, "save_steps": 0, "seed": 3, "report_to": "none"})
    adapter = train(config, progress=False)
    assert (adapter / "adapter_config.json").is_file() and not (adapter / "config.json").exists()

    adapter2 = root / "adapter2"
    shutil.copytree(adapter, adapter2)
    tensors = load_file(str(adapter2 / "adapter_model.safetensors"))
    save_file({k: -v if "lora_B" in k else v for k, v in tensors.items()}, str(adapter2 / "adapter_model.safetensors"),
              metadata={"format": "pt"})

    merged = root / "merged"
    base = AutoModelForCausalLM.from_pretrained(str(ckpts["random"]), dtype=torch.float32)
    PeftModel.from_pretrained(base, str(adapter)).merge_and_unload().save_pretrained(str(merged))
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (ckpts["random"] / name).is_file():
            shutil.copy(ckpts["random"] / name, merged / name)
    return {"random": ckpts["random"], "adapter": adapter, "adapter2": adapter2, "merged": merged}


def responses(store, record) -> list:
    return [s["responses"] for s in Store(store).read_samples(record["key"])]


def text(outputs: list) -> list:
    """Responses as text compare across backends: a response cut inside a multi-byte character ends in U+FFFD from
    transformers' decode and without it from vLLM's incremental detokenizer (same tokens)."""
    return [[r.rstrip("\ufffd") for r in doc] for doc in outputs]


def run(paths, backend, store):
    records = api.evaluate([paths[n] for n in NAMES], [TASK], backend=backend, store=store, engine_kwargs=ENGINE,
                           include_paths=[FIXTURE_TASKS])
    return {n: (r, responses(store, r)) for n, r in zip(NAMES, records)}


@pytest.fixture(scope="module")
def hf_run(lora, tmp_path_factory):
    return run(lora, "hf", tmp_path_factory.mktemp("hf"))


# ---- the checkpoint: detection, base, hash, group (no engine) ---------------------------------------------------


def test_an_adapter_folder_is_opened_on_its_base(lora):
    ckpt = Checkpoint.open(lora["adapter"])
    base = Checkpoint.open(lora["random"])
    assert ckpt.is_adapter and ckpt.base == base and ckpt.weights_path == base.path
    assert ckpt.engine_group == base.engine_group and ckpt.max_positions == base.max_positions
    assert ckpt.tokenizer_path == ckpt.path  # profit train saves the tokenizer and template beside the adapter
    assert ckpt.lora_rank == 8 and ckpt.peft_type == "LORA" and ckpt.label == "adapter"
    assert ckpt.chat_template_sha256 == base.chat_template_sha256


def test_the_adapter_hash_covers_adapter_and_base_content_not_their_location(lora, ckpts, tmp_path):
    h = Checkpoint.open(lora["adapter"]).content_hash
    assert h != Checkpoint.open(lora["random"]).content_hash
    assert h != Checkpoint.open(lora["adapter2"]).content_hash  # other adapter weights
    assert h != Checkpoint.open(lora["adapter"], base=ckpts["good"]).content_hash  # same adapter, other base
    # The same adapter and base content elsewhere (its base_model_name_or_path naming the moved base) hash alike.
    base_copy, copy = tmp_path / "base", tmp_path / "adapter"
    shutil.copytree(lora["random"], base_copy)
    shutil.copytree(lora["adapter"], copy)
    config = json.loads((copy / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(base_copy)
    (copy / "adapter_config.json").write_text(json.dumps(config))
    moved = Checkpoint.open(copy)
    assert moved.base.path == base_copy.resolve() and moved.content_hash == h


def test_a_missing_base_falls_back_to_the_run_manifest_then_asks_for_base(lora, tmp_path):
    copy = tmp_path / "adapter"
    shutil.copytree(lora["adapter"], copy)
    config = json.loads((copy / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "models/not-here"  # a relative path written on another machine
    (copy / "adapter_config.json").write_text(json.dumps(config))
    assert Checkpoint.open(copy).base.path == lora["random"].resolve()  # profit_run.json's base_model
    (copy / "profit_run.json").unlink()
    with pytest.raises(CheckpointError, match="base_model_name_or_path.*--base") as err:
        Checkpoint.open(copy)
    assert "models/not-here" in str(err.value)
    assert Checkpoint.open(copy, base=lora["random"]).base.path == lora["random"].resolve()


def test_bad_adapters_and_bases_are_refused_before_any_engine(lora, ckpts, tmp_path):
    no_weights = tmp_path / "no-weights"
    shutil.copytree(lora["adapter"], no_weights)
    (no_weights / "adapter_model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="without adapter weights"):
        Checkpoint.open(no_weights)
    with pytest.raises(CheckpointError, match="itself an adapter"):
        Checkpoint.open(lora["adapter"], base=lora["adapter2"])
    with pytest.raises(UserError, match="none of the checkpoints is a PEFT adapter"):
        api.plan([ckpts["good"]], [TASK], include_paths=[FIXTURE_TASKS], base=ckpts["random"])
    ia3 = tmp_path / "ia3"
    shutil.copytree(lora["adapter"], ia3)
    config = json.loads((ia3 / "adapter_config.json").read_text())
    (ia3 / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    with pytest.raises(UserError, match="vLLM serves LoRA adapters only.*--backend hf"):
        check_backend("vllm", [Checkpoint.open(ia3)])
    check_backend("hf", [Checkpoint.open(ia3)])


def test_an_engine_group_with_adapters_starts_with_lora_on(lora):
    items, _ = api.plan([lora["random"], lora["adapter"]], [TASK], include_paths=[FIXTURE_TASKS])
    assert len({it.ckpt.engine_group for it in items}) == 1
    settings = api.group_settings(items, EngineSettings(device="cpu"))(items[0].ckpt)
    assert settings.max_lora_rank == 8
    assert settings.vllm_args()["enable_lora"] is True and settings.vllm_args()["max_loras"] == 1
    assert api.group_settings(items, EngineSettings(device="cpu"), lora=False)(items[0].ckpt).max_lora_rank is None
    plain, _ = api.plan([lora["random"]], [TASK], include_paths=[FIXTURE_TASKS])
    assert "enable_lora" not in api.group_settings(plain, EngineSettings(device="cpu"))(plain[0].ckpt).vllm_args()


# ---- scores: hf (peft) and vllm (LoRA) against the merged model --------------------------------------------------


def test_hf_scores_the_unmerged_adapter_as_the_merged_model(hf_run, lora):
    (base, base_out), (adapter, adapter_out), (merged, merged_out) = (hf_run[n] for n in ("random", "adapter",
                                                                                          "merged"))
    assert adapter_out == merged_out and adapter["metrics"] == merged["metrics"]
    assert adapter_out != base_out  # the adapter is really applied
    assert adapter["model"]["base"] == {"path": base["model"]["path"], "content_hash": base["model"]["content_hash"],
                                        "label": "random"}
    assert adapter["model"]["run"]["finetuning"] == "lora" and "base" not in merged["model"]
    assert len({hf_run[n][0]["key"] for n in NAMES}) == 4


@pytest.mark.vllm
def test_vllm_serves_adapters_on_the_base_engine_as_the_merged_model(hf_run, lora, tmp_path):
    got = run(lora, "vllm", tmp_path)
    assert got["adapter"][1] == got["merged"][1]
    assert text(got["adapter"][1]) == text(hf_run["adapter"][1])
    assert got["adapter"][0]["metrics"] == got["merged"][0]["metrics"] == hf_run["adapter"][0]["metrics"]
    assert text(got["adapter2"][1]) == text(hf_run["adapter2"][1])
    assert got["adapter2"][1] != got["adapter"][1]  # its own LoRA id: not served the first adapter again
    assert text(got["random"][1]) == text(hf_run["random"][1])  # the base itself, in the LoRA-enabled engine
    # One engine for the base and both adapters: neither adapter started one.
    assert got["adapter"][0]["timings"]["engine_start_s"] == got["adapter2"][0]["timings"]["engine_start_s"] == 0.0
    assert {got[n][0]["key"] for n in NAMES} == {hf_run[n][0]["key"] for n in NAMES}  # keys do not name a backend


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_server_loads_adapters_into_the_running_server(hf_run, lora, tmp_path):
    records = api.evaluate([lora[n] for n in ("random", "adapter", "adapter2")], [TASK], backend="vllm-server",
                           store=tmp_path, engine_kwargs=ENGINE, include_paths=[FIXTURE_TASKS])
    for name, record in zip(("random", "adapter", "adapter2"), records):
        assert text(responses(tmp_path, record)) == text(hf_run[name][1]), name
        assert record["metrics"] == hf_run[name][0]["metrics"], name
    assert records[1]["timings"]["engine_start_s"] == records[2]["timings"]["engine_start_s"] == 0.0
