"""`transformers.Trainer` with the token-selective objectives, exact global-batch counts and their statistics.

Why a subclass and not `compute_loss_func`: Trainer only counts the supervised tokens of the accumulation window.
The `sequence` and `kept` normalisations also need the number of sequences and micro-batches of the whole global
batch (all accumulation steps, all ranks), and packed rows need their sequence ids; both are counted here when
the window's micro-batches are fetched, then every micro-batch's loss is its exact share of the global objective.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback

from profit_core.formats import token_log

from .config import ConfigError
from .model import base_of
from .objectives import BatchCounts, LeanHead, ObjectiveConfig, TokenStats, selective_loss
from .objectives.loss import IGNORE_INDEX

log = logging.getLogger("profit.train")


def batch_counts(batch: dict) -> torch.Tensor:
    """[supervised tokens, sequences with one, input tokens] of one micro-batch (labels predict at i+1)."""
    labels, seq_ids = batch["labels"], batch["seq_ids"]
    supervised = labels[..., 1:] != IGNORE_INDEX
    sequences = torch.unique(seq_ids[..., :-1][supervised]).numel()
    inputs = batch["attention_mask"].sum() if "attention_mask" in batch else labels.numel()
    return torch.tensor([float(supervised.sum()), float(sequences), float(inputs)])


def peak_memory_mb() -> float:
    """Peak accelerator memory allocated, else the process's peak resident memory."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class TokenLog(TrainerCallback):
    """Writes every supervised token of each optimizer step, with the weight the loss gave it, to this rank's
    token_weights file (profit_core/formats/token_log.py)."""

    def __init__(self, path: Path):
        self.path = path
        self.pending: list[torch.Tensor] = []

    def add(self, rows: torch.Tensor, tokens: torch.Tensor, p: torch.Tensor, weights: torch.Tensor) -> None:
        self.pending.append(torch.stack([rows.double(), tokens.double(), p.double(), weights.double()]).cpu())

    def on_step_end(self, args, state, control, **kwargs):
        if self.pending:
            rows, tokens, p, weights = torch.cat(self.pending, dim=1)
            token_log.append(self.path, state.global_step, rows.long().tolist(), tokens.long().tolist(), p.tolist(),
                             weights.tolist())
            self.pending.clear()


class ProfitTrainer(Trainer):
    def __init__(self, *args, objective: ObjectiveConfig, loss_impl: str = "plain", token_log_dir: Path | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.token_log = None
        if token_log_dir is not None:
            self.token_log = TokenLog(token_log.path_of(token_log_dir, self.accelerator.process_index))
            self.add_callback(self.token_log)
        self.objective = objective
        self.loss_impl = loss_impl
        self.loss_is_scaled_for_ga = True  # every micro-batch loss is already its share of the global objective
        self._counts: BatchCounts | None = None
        self._window = torch.zeros(5)  # TokenStats sums (4) + input tokens, since the last log
        self._window_start = time.perf_counter()
        self._lean_head: LeanHead | None = None
        if os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true") and not self.is_fsdp_enabled:
            log.warning("the launch asks for FSDP but accelerate did not enable it (it runs FSDP on GPUs only): "
                        "this run is plain data-parallel, every rank holds the whole model")
        if loss_impl == "lean":
            self._arm_lean_head()

    # ---- the lean path: the loss is computed inside the output layer's forward -----------------------------------

    def _arm_lean_head(self) -> None:
        """Make lm_head compute the lean loss in its own forward call (objectives/head.py): the one moment when
        FSDP2 holds its weight whole, and the same mechanism in a single process and under DDP."""
        if self.is_deepspeed_enabled:
            raise ConfigError("config field `loss_impl`: lean has not been run under DeepSpeed ZeRO-3; use "
                              "loss_impl: plain with it")
        if self.is_fsdp_enabled and getattr(self.accelerator.state.fsdp_plugin, "fsdp_version", 1) != 2:
            raise ConfigError("config field `loss_impl`: lean has been run under FSDP2 only (fsdp_version: 2), not "
                              "FSDP1; use loss_impl: plain with it")
        base = base_of(self.model)
        text = base.config.get_text_config() if hasattr(base.config, "get_text_config") else base.config
        for name in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier",
                     "lm_head_multiplier"):  # transforms of lm_head's output that the lean loss does not apply
            if getattr(text, name, None) not in (None, 1, 1.0):
                raise ConfigError(f"config field `loss_impl`: {type(base).__name__} transforms its logits "
                                  f"({name}={getattr(text, name)}), which lean does not; use loss_impl: plain")
        head = base.get_output_embeddings()
        try:
            self._lean_head = LeanHead(head)
        except TypeError as err:
            raise ConfigError(f"config field `loss_impl`: {err}; use loss_impl: plain") from None

    # ---- counts of the whole global batch, taken when the accumulation window is fetched ------------------------

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batch_samples = []
        for _ in range(num_batches):
            try:
                batch_samples.append(next(epoch_iterator))
            except StopIteration:
                break
        if not batch_samples:
            return batch_samples, None
        local = sum(batch_counts(b) for b in batch_samples)
        local = torch.cat([local[:2], torch.tensor([float(len(batch_samples))])]).to(device)
        total = self.accelerator.reduce(local, reduction="sum") if self.accelerator.num_processes > 1 else local
        tokens, sequences, micro_batches = (float(x) for x in total)
        self._counts = BatchCounts(tokens=tokens, sequences=sequences, micro_batches=micro_batches)
        return batch_samples, torch.tensor(tokens, device=device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        seq_ids = inputs.pop("seq_ids")
        rows, token_index = inputs.pop("rows", None), inputs.pop("token_index", None)
        counts = self._counts if model.training else None
        if self._lean_head is not None:
            # The model returns, as its logits, a zero that carries the loss's gradient through the wrappers' hooks.
            with self._lean_head.computing(labels, self.objective, counts=counts, seq_ids=seq_ids):
                outputs = model(**inputs, use_cache=False)
            out = self._lean_head.output(outputs.logits)
        else:
            outputs = model(**inputs, use_cache=False)
            out = selective_loss(outputs.logits, labels, self.objective, counts=counts, seq_ids=seq_ids)
        if model.training:
            n_inputs = inputs["attention_mask"].sum() if "attention_mask" in inputs else labels.numel()
            self._window += torch.cat([out.stats.as_tensor().detach().float().cpu(),
                                       torch.tensor([float(n_inputs)])])
            if self.token_log is not None:
                target = out.index + 1  # the position of the label each supervised output predicts
                self.token_log.add(rows.reshape(-1)[target], token_index.reshape(-1)[target], out.p, out.weights)
        # DDP, FSDP and DeepSpeed average gradients over ranks; each rank's loss is its share of the global sum.
        loss = out.loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    # ---- per-logging-step statistics, summed over ranks ---------------------------------------------------------

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and "train_runtime" not in logs:
            window = self._window.to(self.args.device)
            if self.accelerator.num_processes > 1:
                window = self.accelerator.reduce(window, reduction="sum")
            window = window.cpu()
            now = time.perf_counter()
            elapsed = max(now - self._window_start, 1e-9)
            logs.update(TokenStats.summary(window[:4]))
            logs["supervised_tokens"] = int(window[0])
            logs["tokens"] = int(window[4])
            logs["tokens_per_s"] = float(window[4]) / elapsed
            logs["window_s"] = elapsed
            logs["peak_mem_mb"] = peak_memory_mb()
            self._window = torch.zeros(5)
            self._window_start = now
        super().log(logs, start_time)
