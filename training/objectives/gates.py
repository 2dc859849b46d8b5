"""The one definition of each objective: a weight per supervised token, from detached statistics.

Both loss paths (plain from logits, lean from hidden states) call `token_weights`; neither has its own copy.
"""

from __future__ import annotations

import math

import torch

from .config import ObjectiveConfig


def token_weights(
    cfg: ObjectiveConfig,
    p: torch.Tensor,
    entropy: torch.Tensor | None = None,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weight in [0, 1] for each supervised token.

    p: detached probability of the reference token, shape [M], for the M supervised tokens only.
    entropy: detached predictive entropy [M] (objective "entropy" only).
    uniform: U(0, 1) draws [M] (strategy "random" only), drawn by the caller so that both paths see the same.
    """
    p = p.detach()
    if cfg.objective == "sft":
        return torch.ones_like(p)
    if cfg.objective == "dft":
        return p
    if cfg.objective == "profit":
        if cfg.strategy == "higher":
            keep = p >= cfg.tau
        elif cfg.strategy == "lower":
            keep = p <= cfg.tau
        elif cfg.strategy == "middle":
            keep = (p >= cfg.tau) & (p <= cfg.tau_high)
        else:  # random: the authors mask where u < tau, whatever p is
            if uniform is None:
                raise ValueError("the random strategy needs uniform draws")
            keep = uniform >= cfg.tau
        return keep.to(p.dtype)
    if cfg.objective == "entropy":
        if entropy is None:
            raise ValueError("the entropy objective needs token entropies")
        return _top_fraction(entropy.detach(), cfg.entropy_ratio).to(p.dtype)
    return _top_fraction(p, cfg.quantile)  # quantile


def _top_fraction(score: torch.Tensor, fraction: float) -> torch.Tensor:
    """1 for the ceil(fraction * M) highest scores (as in the 80/20 code's top-k), 0 elsewhere."""
    m = score.numel()
    keep = torch.zeros_like(score)
    if m:
        k = min(m, math.ceil(fraction * m))
        keep[torch.topk(score, k, sorted=False).indices] = 1.0
    return keep
