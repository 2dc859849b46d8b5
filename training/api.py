"""The training pipeline as one call: config in, finished checkpoint folder out.

    from training.api import train, TrainConfig
    folder = train(TrainConfig.from_yaml("configs/train/tiny.yaml", {"objective.tau": 0.2}))
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch

from .checkpoint import is_complete, read_manifest, save_model, write_manifest
from .config import ConfigError, TrainConfig
from .run_log import LOG_NAME, JsonlLogCallback, read_log, summarize, truncate_log

log = logging.getLogger("profit.train")

__all__ = ["TrainConfig", "ConfigError", "train", "is_complete", "last_checkpoint"]


def last_checkpoint(out: Path) -> Path | None:
    """The newest resumable state in out/checkpoints; newer ones that a kill left half-written are removed.

    Trainer writes trainer_state.json last, so a state is whole when that file is there and parses.
    """
    folder = out / "checkpoints"
    if not folder.is_dir():
        return None
    states = sorted((p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
                    key=lambda p: int(p.name.split("-")[-1]), reverse=True)
    for state in states:
        try:
            json.loads((state / "trainer_state.json").read_text())
        except (OSError, ValueError):
            log.warning("ignoring the half-written state %s", state)
            shutil.rmtree(state, ignore_errors=True)
            continue
        return state
    return None


def _prepare_output(cfg: TrainConfig, out: Path, resume: bool) -> Path | None:
    """Refuse to mix runs: the folder is empty, or holds this config's run (finished or resumable)."""
    manifest = read_manifest(out)
    if manifest and manifest.get("config_hash") != cfg.config_hash():
        raise ConfigError(f"config field `output_dir`: {out} holds a finished run of another config; choose a "
                          "new folder or delete it")
    checkpoint = last_checkpoint(out)
    if checkpoint is not None and not resume:
        raise ConfigError(f"config field `output_dir`: {out} holds an unfinished run ({checkpoint.name}); "
                          "continue it with --resume, or delete the folder to start over")
    if resume and checkpoint is None and out.is_dir() and any(out.iterdir()):
        log.warning("--resume: no saved state in %s/checkpoints; starting from the beginning", out)
    return checkpoint


def _training_arguments(cfg: TrainConfig, out: Path, progress: bool = True):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        optim=cfg.optim,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        gradient_checkpointing=cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps > 0 else "no",
        save_steps=max(cfg.save_steps, 1),
        save_total_limit=cfg.save_total_limit,
        report_to="none",
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.accelerator.is_available(),
        # Without an accelerator, transformers only sets up multi-process (gloo) DDP when told it runs on CPU.
        use_cpu=not torch.accelerator.is_available(),
        disable_tqdm=not progress,
    )


def train(config: TrainConfig, resume: bool = False, callbacks: list | None = None, progress: bool = True) -> Path:
    """Train, save and return the checkpoint folder. A finished run of the same config is returned as it is.

    callbacks: extra transformers TrainerCallbacks (the tests use one to kill a run mid-way).
    progress: progress bars and per-step console logs (train_log.jsonl is written either way); a caller with its
    own progress view (profit pipeline) turns them off.
    """
    config.check_runnable()
    out = Path(config.output_dir)
    if is_complete(out, config):
        log.info("%s already holds a complete run of this config; nothing to do", out)
        return out
    checkpoint = _prepare_output(config, out, resume)
    out.mkdir(parents=True, exist_ok=True)

    from transformers import set_seed

    from .data import ChatRenderer, PackedCollator, PaddedCollator, build_dataset
    from .model import load_model, load_tokenizer
    from .trainer import ProfitTrainer

    set_seed(config.seed)
    tokenizer = load_tokenizer(config)
    renderer = ChatRenderer.choose(tokenizer, config.chat_template)
    dataset, stats = build_dataset(config.data, renderer, config.cutoff_len, config.data_format,
                                   config.skip_bad_rows, show_progress=progress)
    log.info("data: %d examples (%s, template %s); truncated to %d tokens: %d; skipped bad rows: %d; "
             "without supervised tokens: %d", stats.rows, stats.format, renderer.template_name, config.cutoff_len,
             stats.truncated, stats.skipped_rows, stats.no_supervision)
    for reason in stats.skipped_examples:
        log.warning("skipped %s", reason)

    model = load_model(config)
    collator = PackedCollator() if config.padding_free else PaddedCollator(tokenizer.pad_token_id)
    log_path = out / LOG_NAME
    if checkpoint is None:
        log_path.unlink(missing_ok=True)
    else:
        truncate_log(log_path, int(checkpoint.name.rsplit("-", 1)[-1]))
    trainer = ProfitTrainer(
        model=model,
        args=_training_arguments(config, out, progress),
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[JsonlLogCallback(log_path), *(callbacks or [])],
        objective=config.objective,
        loss_impl=config.loss_impl,
    )
    if not progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)

    save_model(trainer, tokenizer, renderer.template, config, out)
    if trainer.is_world_process_zero():
        summary = summarize(read_log(log_path))
        summary["wall_time_s"] = summary["train_time_s"]
        data = {**stats.manifest(), "path": str(Path(config.data).resolve())}
        write_manifest(out, config, data, summary, steps=result.global_step, template=renderer.template)
        if not config.keep_checkpoints:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return out
