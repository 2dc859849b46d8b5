"""The final checkpoint folder and its manifest `profit_run.json` (profit_core/formats/run_manifest.py).

Model files go to a temporary folder first and are moved in only once all of them are written; the manifest is
written last, atomically, with "complete": true. Weights are saved in the base model's dtype (a bf16 base gives a
bf16 checkpoint, whatever precision trained it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    shutil.rmtree(staging, ignore_errors=True)
    model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled:
        # Sharded weights: let Trainer gather them into one folder, then reload them unsharded to save below.
        trainer.save_model(str(staging / "gathered"))
    if not trainer.is_world_process_zero():
        return
    staging.mkdir(parents=True)
    if cfg.finetuning == "lora":
        model.save_pretrained(staging / "adapter")
        if cfg.merge_lora:
            model = model.merge_and_unload()
    if (staging / "gathered").is_dir() and cfg.finetuning == "full":
        for item in (staging / "gathered").iterdir():
            shutil.move(str(item), staging / item.name)
        shutil.rmtree(staging / "gathered")
    else:
        shutil.rmtree(staging / "gathered", ignore_errors=True)
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
