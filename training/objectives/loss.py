"""The plain (reference) loss path: from full logits. Also the steps shared with the lean path.

Conventions: `labels` are aligned with the inputs, as in Hugging Face (-100 = not supervised); the logit at
position i predicts label i+1. Only the M supervised positions are ever turned into probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import ObjectiveConfig
from .gates import token_weights
from .normalize import BatchCounts, TokenStats, denominator, token_scale

IGNORE_INDEX = -100


@dataclass
class ObjectiveOutput:
    loss: torch.Tensor
    stats: TokenStats
    # The tokens as the loss used them, for logs and analyses (never recompute the gate: `random` draws afresh):
    index: torch.Tensor  # [M] flattened [batch * seq] positions whose output predicts a supervised label (at +1)
    p: torch.Tensor  # [M] detached probability of each reference token
    weights: torch.Tensor  # [M] the weight the loss gave each token


@dataclass(frozen=True)
class Supervised:
    """Where the supervised tokens are, in the flattened [batch * seq] positions."""

    index: torch.Tensor  # [M] positions whose output predicts a supervised label
    targets: torch.Tensor  # [M] reference token ids
    seq_ids: torch.Tensor  # [M] sequence each token belongs to

    @staticmethod
    def of(labels: torch.Tensor, seq_ids: torch.Tensor | None = None) -> Supervised:
        targets = F.pad(labels[..., 1:], (0, 1), value=IGNORE_INDEX).reshape(-1)
        index = (targets != IGNORE_INDEX).nonzero().squeeze(1)
        if seq_ids is None:
            rows = torch.arange(labels.shape[0], device=labels.device)
            seq_ids = rows[:, None].expand(labels.shape[0], labels.shape[-1])
        return Supervised(index=index, targets=targets[index], seq_ids=seq_ids.reshape(-1)[index])


def draw_uniform(cfg: ObjectiveConfig, m: int, device, generator: torch.Generator | None) -> torch.Tensor | None:
    if not cfg.needs_uniform:
        return None
    return torch.rand(m, generator=generator, device=device if generator is None else generator.device).to(device)


def compute_dtype(t: torch.Tensor) -> torch.dtype:
    """Half precision is upcast to float32 for the softmax (as the authors' code does); float64 stays float64."""
    return torch.promote_types(t.dtype, torch.float32)


def logp_and_lse(z: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log p of each target and the log-partition, from float32 logits [M, V]."""
    lse = torch.logsumexp(z, dim=-1)
    return z.gather(-1, targets[:, None]).squeeze(-1) - lse, lse


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor, with_entropy: bool = False):
    """log p of each target (differentiable) and, optionally, the detached predictive entropy; float32."""
    z = logits.to(compute_dtype(logits))
    logp, lse = logp_and_lse(z, targets)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = lse - (torch.softmax(z, dim=-1) * z).sum(-1)
    return logp, entropy


def attached_zero(*tensors: torch.Tensor) -> torch.Tensor:
    """A zero that is still part of the graph, so a micro-batch with nothing to train on cannot hang DDP/FSDP."""
    return sum(t.reshape(-1)[:1].float().sum() * 0.0 for t in tensors)


def combine(cfg, sup: Supervised, weighted_sum, p, weights, counts, anchors) -> ObjectiveOutput:
    """loss = -(sum_t coef_t log p_t) / denominator, and the step statistics."""
    counts = counts or BatchCounts.local(sup.seq_ids)
    if sup.index.numel() == 0:
        loss = attached_zero(*anchors)
    else:
        loss = -weighted_sum / denominator(cfg, counts, kept_here=float((weights > 0).sum()))
    return ObjectiveOutput(loss, TokenStats.of(p, weights), sup.index, p.detach(), weights.detach())


def coefficients(cfg, weights: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    return weights if scale is None else weights * scale


def weighted_logprob_sum(coef: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    # where(), not a product: a masked token with log p = -inf must give 0, not nan, in value and gradient.
    return torch.where(coef > 0, coef * logp, torch.zeros_like(logp)).sum()


def selective_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    cfg: ObjectiveConfig,
    counts: BatchCounts | None = None,
    seq_ids: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> ObjectiveOutput:
    """The reference implementation: logits [B, S, V] and labels [B, S] -> loss and token statistics.

    counts: global-batch counts (see BatchCounts); None means this micro-batch is the whole batch.
    seq_ids: [B, S] sequence id of each position, for packed rows; default one sequence per row.
    """
    sup = Supervised.of(labels, seq_ids)
    z = logits.reshape(-1, logits.shape[-1]).index_select(0, sup.index)
    logp, entropy = token_logprobs(z, sup.targets, with_entropy=cfg.needs_entropy)
    p = logp.detach().exp()
    weights = token_weights(cfg, p, entropy, draw_uniform(cfg, p.numel(), p.device, generator))
    coef = coefficients(cfg, weights, token_scale(cfg, sup.seq_ids, logp.dtype))
    return combine(cfg, sup, weighted_logprob_sum(coef, logp), p, weights, counts, anchors=(logits,))
