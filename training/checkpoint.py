"""The final checkpoint folder and its manifest `profit_run.json` (profit_core/formats/run_manifest.py).

Model files go to a temporary folder first and are moved in only once all of them are written; the manifest is
written last, atomically, with "complete": true. Weights are saved in the base model's dtype (config.json `dtype`
or `torch_dtype`): a bf16 base gives a bf16 checkpoint whatever precision trained it (the fp32 master weights of
mixed precision are rounded once, at the end), and an fp32 base stays fp32. vLLM serves the checkpoint in that
dtype too, as it would the base.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from profit_core.files import default_mode, sha256_text
from profit_core.formats import run_manifest
from profit_core.versions import versions

from .config import TrainConfig

PACKAGES = ("torch", "transformers", "accelerate", "peft", "profit-bench")


def is_complete(folder: str | Path, config: TrainConfig | None = None) -> bool:
    """True when `folder` holds a finished run (of `config`, if given: same config_hash)."""
    return run_manifest.is_complete(folder, config.config_hash() if config is not None else None)


def save_model(trainer, tokenizer, template: str, cfg: TrainConfig, out: Path) -> None:
    """Weights (LoRA merged unless merge_lora is false), tokenizer with the training template, generation config."""
    staging = out / ".final.tmp"
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()  # no rank removes the folder that rank 0 gathers the weights into
    model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled:
        # Sharded weights: let Trainer gather them into one folder; rank 0 rewrites its files below.
        trainer.save_model(str(staging / "gathered"))
    if not trainer.is_world_process_zero():
        return
    staging.mkdir(parents=True, exist_ok=True)  # it holds gathered/ when the weights were sharded
    if cfg.finetuning == "lora":
        model.save_pretrained(staging / "adapter")
        if cfg.merge_lora:
            model = model.merge_and_unload()
    dtype = base_dtype(cfg.model)
    if (staging / "gathered").is_dir() and cfg.finetuning == "full":
        for item in (staging / "gathered").iterdir():
            shutil.move(str(item), staging / item.name)
        shutil.rmtree(staging / "gathered")
        # FSDP gathers the fp32 master weights (DeepSpeed 16-bit ones), and a tied parameter once under each name.
        rewrite_weights(staging, dtype, tied=model.all_tied_weights_keys)
    else:
        shutil.rmtree(staging / "gathered", ignore_errors=True)
        if dtype is not None and (cfg.finetuning == "full" or cfg.merge_lora):  # not an adapter-only folder
            model.to(dtype)  # in place, tensor by tensor: no second copy of the model; training is over
        model.save_pretrained(staging, safe_serialization=True)
    model.generation_config.save_pretrained(staging)
    tokenizer.chat_template = template
    tokenizer.save_pretrained(staging)
    for item in staging.rglob("*"):
        if item.is_file():
            default_mode(item)
    for item in staging.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
    staging.rmdir()


def base_dtype(model_folder: str | Path) -> torch.dtype | None:
    """The floating dtype a model folder's weights are stored in (config.json `dtype`, or `torch_dtype` as older
    transformers wrote it); None when the config does not say."""
    try:
        config = json.loads((Path(model_folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    name = config.get("dtype") or config.get("torch_dtype")
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else None


def rewrite_weights(folder: Path, dtype: torch.dtype | None, tied: dict[str, str] | None = None) -> None:
    """Rewrite a saved model's safetensors files as save_pretrained writes them: floating tensors in `dtype` (and
    config.json's dtype; None keeps both), and without the tied copies in `tied` (copy -> the key it repeats; a copy
    is left out only where the key it repeats is saved, as save_pretrained does and vLLM expects)."""
    files = sorted(folder.glob("*.safetensors"))
    keys = set()
    for path in files:
        with safe_open(str(path), "pt") as f:
            keys.update(f.keys())
    drop = {copy for copy, source in (tied or {}).items() if source in keys}
    sizes = 0
    for path in files:
        tensors = {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v
                   for k, v in load_file(str(path)).items() if k not in drop}
        save_file(tensors, str(path), metadata={"format": "pt"})
        sizes += sum(t.numel() * t.element_size() for t in tensors.values())
    index = folder / "model.safetensors.index.json"
    if index.is_file():  # its total_size counts the bytes of the weights, its weight_map names every key
        values = json.loads(index.read_text())
        values.setdefault("metadata", {})["total_size"] = sizes
        values["weight_map"] = {k: f for k, f in values.get("weight_map", {}).items() if k not in drop}
        index.write_text(json.dumps(values, indent=2))
    config_path = folder / "config.json"
    if dtype is not None and config_path.is_file():
        config = json.loads(config_path.read_text())
        config.pop("torch_dtype", None)
        config["dtype"] = str(dtype).removeprefix("torch.")
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_manifest(out: Path, cfg: TrainConfig, data_stats: dict, summary: dict, steps: int, template: str) -> dict:
    manifest = {
        "base_model": str(Path(cfg.model).resolve()),
        "base_model_name": cfg.label,
        "method": cfg.objective.describe(),
        "objective": cfg.objective.to_dict(),
        "seed": cfg.seed,
        "finetuning": cfg.finetuning,
        "data": data_stats,
        "config": cfg.to_dict(),
        "config_hash": cfg.config_hash(),
        "kept_fraction": summary["kept_fraction"],
        "p_kept_mean": summary["p_kept_mean"],
        "p_masked_mean": summary["p_masked_mean"],
        "steps": steps,
        "train_tokens": summary["train_tokens"],
        "supervised_tokens": summary["supervised_tokens"],
        "wall_time_s": summary["wall_time_s"],
        "chat_template_sha256": sha256_text(template),
        "versions": versions(PACKAGES),
    }
    run_manifest.write_complete(out, manifest)
    return manifest
