"""Normalisation of the weighted sum, and the per-step token statistics, shared by both loss paths.

A micro-batch contributes  -sum_t coef_t * log p_t / denominator  to the loss, where coef_t = weight_t * scale_t.
The denominators are global counts, so summing the contributions of all micro-batches and ranks gives the same
objective (and gradient) however the global batch is split, for the `global` and `sequence` normalisations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import ObjectiveConfig


@dataclass(frozen=True)
class BatchCounts:
    """Counts over the whole global batch (all accumulation micro-batches on all ranks) of one optimizer step."""

    tokens: float  # supervised (label != -100, after the causal shift) tokens
    sequences: float  # sequences with at least one supervised token
    micro_batches: float = 1.0  # micro-batches times data-parallel ranks, for `kept`

    @staticmethod
    def local(seq_ids: torch.Tensor) -> BatchCounts:
        """Counts of this micro-batch alone (a single-micro-batch step, or evaluation)."""
        return BatchCounts(tokens=float(seq_ids.numel()), sequences=float(torch.unique(seq_ids).numel()))


def token_scale(cfg: ObjectiveConfig, seq_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """1 / (supervised tokens of the token's own sequence) for `sequence`; None (meaning 1) otherwise."""
    if cfg.normalization != "sequence" or seq_ids.numel() == 0:
        return None
    _, inverse, lengths = torch.unique(seq_ids, return_inverse=True, return_counts=True)
    return 1.0 / lengths[inverse].to(dtype)


def denominator(cfg: ObjectiveConfig, counts: BatchCounts, kept_here: float) -> float:
    if cfg.normalization == "global":
        return max(float(counts.tokens), 1.0)
    if cfg.normalization == "sequence":
        return max(float(counts.sequences), 1.0)
    return max(float(kept_here), 1.0) * float(counts.micro_batches)  # kept


@dataclass
class TokenStats:
    """Sums over one micro-batch; add them over micro-batches and ranks, then read the ratios."""

    supervised: torch.Tensor
    kept: torch.Tensor
    p_kept: torch.Tensor  # sum of p over kept tokens
    p_masked: torch.Tensor  # sum of p over masked tokens

    @staticmethod
    def of(p: torch.Tensor, weights: torch.Tensor) -> TokenStats:
        p = p.detach().float()
        kept = weights > 0
        return TokenStats(
            supervised=torch.tensor(float(p.numel()), device=p.device),
            kept=kept.sum().float(),
            p_kept=(p * kept).sum(),
            p_masked=(p * ~kept).sum(),
        )

    def as_tensor(self) -> torch.Tensor:
        return torch.stack([self.supervised, self.kept, self.p_kept, self.p_masked])

    @staticmethod
    def summary(total: torch.Tensor) -> dict[str, float]:
        """Ratios from summed `as_tensor()` values: kept fraction and mean p of kept and of masked tokens."""
        supervised, kept, p_kept, p_masked = (float(x) for x in total)
        masked = supervised - kept
        nan = float("nan")
        return {
            "kept_fraction": kept / supervised if supervised else nan,
            "p_kept_mean": p_kept / kept if kept else nan,
            "p_masked_mean": p_masked / masked if masked else nan,
        }
