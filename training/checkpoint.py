"""The final checkpoint folder and its manifest `profit_run.json` (docs/formats.md).

The manifest is written last, atomically, with "complete": true; any folder without it is not a finished run.
Model files go to a temporary folder first and are moved in only once all of them are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import metadata
from pathlib import Path

from harness.store import atomic_write

from .config import TrainConfig

MANIFEST = "profit_run.json"
SCHEMA = 1


def read_manifest(folder: str | Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def is_complete(folder: str | Path, config: TrainConfig | None = None) -> bool:
    """True when `folder` holds a finished run (of `config`, if given: same config_hash)."""
    manifest = read_manifest(folder)
    if not manifest or manifest.get("complete") is not True:
        return False
    return config is None or manifest.get("config_hash") == config.config_hash()


def write_json_atomic(path: Path, data: dict) -> None:
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def versions() -> dict[str, str]:
    out = {}
    for name in ("torch", "transformers", "accelerate", "peft", "profit-bench"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


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
    for item in staging.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
    staging.rmdir()


def write_manifest(out: Path, cfg: TrainConfig, data_stats: dict, summary: dict, steps: int, template: str) -> dict:
    manifest = {
        "schema": SCHEMA,
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
        "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest(),
        "versions": versions(),
        "complete": True,
    }
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
