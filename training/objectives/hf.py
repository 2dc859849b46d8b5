"""Drop-in use: each objective as a `compute_loss_func(outputs, labels, num_items_in_batch)`.

    from training.objectives import ObjectiveConfig, ObjectiveLoss
    trainer = transformers.Trainer(..., compute_loss_func=ObjectiveLoss(ObjectiveConfig("profit", tau=0.1)))
    trainer = trl.SFTTrainer(..., args=SFTConfig(loss_type="nll"), compute_loss_func=ObjectiveLoss(...))

transformers' Trainer passes `num_items_in_batch` = supervised tokens of the whole global batch (all accumulation
steps, all ranks), does not divide a `compute_loss_func` loss by the accumulation steps, and multiplies it by the
number of processes (DDP then averages). So `global` is exact. `kept` and `sequence` also need the accumulation
steps, and `sequence` counts the sequences of this micro-batch that have a supervised token (a row whose labels are
all masked, e.g. a prompt that fills the cut-off, is no sequence of the objective) and assumes the other
micro-batches of the step hold as many (exact with one micro-batch per step and process); `profit train` counts
sequences exactly instead.
"""

from __future__ import annotations

import torch

from .config import ObjectiveConfig
from .loss import IGNORE_INDEX, selective_loss
from .normalize import BatchCounts, TokenStats


def supervised_rows(labels: torch.Tensor) -> int:
    """Rows with at least one supervised label (each row's first label predicts nothing, as in the loss)."""
    return int((labels[..., 1:] != IGNORE_INDEX).any(dim=-1).sum())


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


class ObjectiveLoss:
    """A `compute_loss_func` for transformers.Trainer and TRL's SFTTrainer (set `loss_type="nll"` there)."""

    def __init__(self, cfg: ObjectiveConfig, gradient_accumulation_steps: int = 1, generator=None):
        self.cfg = cfg
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.generator = generator
        self._stats = torch.zeros(4)

    def __call__(self, outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else getattr(outputs, "logits", None)
        if logits is None:
            raise ValueError(
                "ObjectiveLoss needs the model's logits, but the outputs hold none. With TRL's SFTTrainer set "
                "SFTConfig(loss_type='nll'): its default 'chunked_nll' returns no logits."
            )
        counts = None
        if num_items_in_batch is not None:
            # Trainer multiplies the loss by the number of processes and DDP averages the gradients, so the
            # gradients of the ranks' losses add up: each rank returns its share of the global objective.
            ranks_steps = self.gradient_accumulation_steps * _world_size()
            counts = BatchCounts(
                tokens=float(num_items_in_batch),
                sequences=float(supervised_rows(labels) * ranks_steps),
                micro_batches=float(ranks_steps),
            )
        out = selective_loss(logits, labels, self.cfg, counts=counts, generator=self.generator)
        self._stats += out.stats.as_tensor().detach().cpu()
        return out.loss

    def pop_stats(self) -> dict[str, float]:
        """Kept fraction and mean p of kept / masked tokens since the last call (this process only)."""
        summary = TokenStats.summary(self._stats)
        self._stats = torch.zeros(4)
        return summary
