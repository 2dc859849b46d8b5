"""The training pipeline as one call: config in, finished checkpoint folder out.

    from training.api import train, TrainConfig
    folder = train(TrainConfig.from_yaml("configs/train/tiny.yaml", {"objective.tau": 0.2}))
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path

import torch

from profit_core.folders import in_flight
from profit_core.formats import run_manifest, token_log, train_log
from profit_core.model_folder import looks_like_model

from . import memory
from .checkpoint import is_complete, save_model, write_manifest
from .config import ConfigError, TrainConfig
from .run_log import JsonlLogCallback, summarize

log = logging.getLogger("profit.train")

__all__ = ["TrainConfig", "ConfigError", "train", "is_complete", "last_checkpoint", "inspect_output"]


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


def inspect_output(cfg: TrainConfig, out: Path, resume: bool) -> Path | None:
    """Refuse to write where this config's run does not live; return the state to resume from, if any.

    `out` may be missing or empty, or hold this config's run (its manifest, `profit_run.json`, carries the config
    hash from the run's first moment). A folder holding anything else (a model, data, another config's run,
    finished or not) is refused with a message naming what is there. Nothing is written here.
    """
    manifest = run_manifest.read(out)
    if manifest is None:
        entries = sorted(p.name for p in out.iterdir() if not in_flight(p)) if out.is_dir() else []
        if entries:
            what = "a model (config.json or weights)" if looks_like_model(out) else \
                f"files profit train did not write ({', '.join(entries[:5])})"
            raise ConfigError(f"config field `output_dir`: {out} holds {what}; profit train writes only into a "
                              "new or empty folder, or its own run of the same config")
        return None
    if manifest["config_hash"] != cfg.config_hash():
        state = "a finished run" if manifest.get("complete") is True else "an unfinished run"
        diff = run_manifest.config_diff(manifest.get("config"), cfg.to_dict())
        if diff == "unknown":
            diff = "where its model or data path resolves to"
        raise ConfigError(f"config field `output_dir`: {out} holds {state} of another config (it differs in "
                          f"{diff}); choose a new folder, or delete this one to start over")
    checkpoint = last_checkpoint(out)
    if checkpoint is not None and not resume:
        raise ConfigError(f"config field `output_dir`: {out} holds an unfinished run of this config "
                          f"({checkpoint.name}); continue it with --resume, or delete the folder to start over")
    if resume and checkpoint is None:
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
        # TensorBoard gets its writer from us (tensorboard_callback): transformers would log into checkpoints/.
        report_to=[r for r in cfg.reporters() if r != "tensorboard"] or "none",
        run_name=f"{cfg.label}/{cfg.objective.describe()}/seed{cfg.seed}",
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.accelerator.is_available(),
        # Without an accelerator, transformers only sets up multi-process (gloo) DDP when told it runs on CPU.
        use_cpu=not torch.accelerator.is_available(),
        disable_tqdm=not progress,
    )


def tensorboard_callback(cfg: TrainConfig, out: Path):
    """transformers' TensorBoard callback writing into `logging_dir` (default <output_dir>/tensorboard), where
    `tensorboard --logdir` finds it beside the run's other logs (a pipeline puts all its runs under one folder)."""
    from transformers.integrations import TensorBoardCallback

    class NoNaN(TensorBoardCallback):
        def __init__(self, logging_dir: str):
            # The folder, not a writer: transformers opens the writer at train start on the main process only. A
            # writer made here would open on every rank, each writing its own copy of the curves (and racing to
            # create the folder).
            super().__init__()
            self.logging_dir = logging_dir

        # A mean over no tokens (p of masked tokens when nothing is masked) is NaN in train_log.jsonl; as a scalar
        # it would only draw a gap, after a writer warning at every step.
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = {k: v for k, v in (logs or {}).items() if not (isinstance(v, float) and math.isnan(v))}
            return super().on_log(args, state, control, logs=logs, **kwargs)

    return NoNaN(cfg.logging_dir or str(out / "tensorboard"))


def train(config: TrainConfig, resume: bool = False, callbacks: list | None = None, progress: bool = True,
          device_memory: int | None = None) -> Path:
    """Train, save and return the checkpoint folder. A finished run of the same config is returned as it is.

    callbacks: extra transformers TrainerCallbacks (the tests use one to kill a run mid-way).
    progress: progress bars and per-step console logs (train_log.jsonl is written either way); a caller with its
    own progress view (profit pipeline) turns them off.
    device_memory: bytes per GPU the memory plan must fit (training/memory.py); None: the visible GPU's total
    memory, no check without one; memory.OFF: no check.
    """
    config.check_runnable()
    out = Path(config.output_dir)
    if is_complete(out, config):
        log.info("%s already holds a complete run of this config; nothing to do", out)
        return out
    checkpoint = inspect_output(config, out, resume)
    memory.check(config, device_memory)  # refuses a run whose estimate cannot fit, before anything loads

    from transformers import set_seed

    from .data import ChatRenderer, build_dataset
    from .model import load_model, load_tokenizer

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

    # Everything the run reads has loaded: only now does the folder become this config's run.
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    if checkpoint is None and int(os.environ.get("RANK", "0")) == 0:
        run_manifest.write_started(out, config.to_dict(), config.config_hash())
    try:
        return _train(config, out, checkpoint, tokenizer, renderer, model, dataset, stats, callbacks, progress)
    except Exception:
        if last_checkpoint(out) is None:  # nothing to resume from: leave no half-made run behind
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:
                for path in (run_manifest.path_of(out), train_log.path_of(out), *out.glob(f"{token_log.PREFIX}*")):
                    path.unlink(missing_ok=True)
        raise


def _train(config, out, checkpoint, tokenizer, renderer, model, dataset, stats, callbacks, progress) -> Path:
    from .data import PackedCollator, PaddedCollator
    from .trainer import ProfitTrainer

    collator = PackedCollator() if config.padding_free else PaddedCollator(tokenizer.pad_token_id)
    log_path = train_log.path_of(out)
    # Each rank restarts or cuts back only the logs it writes: another rank may already be writing its own.
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    logs = [token_log.path_of(out, rank)]
    if rank == 0:
        ours = {token_log.path_of(out, r) for r in range(world)}
        logs += [log_path, *(p for p in out.glob(f"{token_log.PREFIX}*.jsonl") if p not in ours)]
    for path in logs:
        if checkpoint is None:
            path.unlink(missing_ok=True)
        else:
            train_log.truncate(path, int(checkpoint.name.rsplit("-", 1)[-1]))
    trainer = ProfitTrainer(
        model=model,
        args=_training_arguments(config, out, progress),
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[JsonlLogCallback(log_path), *(callbacks or [])]
        + ([tensorboard_callback(config, out)] if "tensorboard" in config.reporters() else []),
        objective=config.objective,
        loss_impl=config.loss_impl,
        token_log_dir=out if config.token_log else None,
    )
    if not progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)

    save_model(trainer, tokenizer, renderer.template, config, out)
    if trainer.is_world_process_zero():
        summary = summarize(train_log.read(log_path)[0])
        summary["wall_time_s"] = summary["train_time_s"]
        data = {**stats.manifest(), "path": str(Path(config.data).resolve())}
        write_manifest(out, config, data, summary, steps=result.global_step, template=renderer.template)
        if not config.keep_checkpoints:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return out
