"""The memory-lean loss path: from final hidden states and the output-layer weight, in chunks of tokens.

Only a [chunk x vocab] block of float32 logits exists at any time. For objectives whose gate is local to a token
(sft, profit, dft) the gradient is formed in the same pass as the loss, as in fused linear cross-entropy kernels:
three matrix products in all, like plain cross-entropy. Objectives that rank the whole micro-batch (entropy,
quantile) first take one extra no-grad pass for the statistics they rank by.

The gate and the normalisation are not reimplemented here: they come from `gates.token_weights` and
`normalize`, exactly as in the plain path in `loss.py`, which is the reference this path is tested against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .config import ObjectiveConfig
from .gates import token_weights
from .loss import (
    ObjectiveOutput,
    Supervised,
    coefficients,
    combine,
    compute_dtype,
    draw_uniform,
    logp_and_lse,
    token_logprobs,
    weighted_logprob_sum,
)
from .normalize import BatchCounts, token_scale

DEFAULT_CHUNK = 512

# coef_fn(start, end, logp_chunk) -> (coefficients [end-start], weights [end-start])
CoefFn = Callable[[int, int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _chunk_logits(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    z = h @ weight.T
    if bias is not None:
        z = z + bias
    return z.to(compute_dtype(z))


class _WeightedLogprobSum(torch.autograd.Function):
    """S = sum_t coef_t * log p_t, with its gradient computed in forward and scaled in backward."""

    @staticmethod
    def forward(ctx, h, weight, bias, targets, coef_fn: CoefFn, chunk: int):
        m = h.shape[0]
        grad_h = torch.empty_like(h)
        acc = compute_dtype(weight)
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device)
        grad_b = None if bias is None else torch.zeros(bias.shape, dtype=acc, device=bias.device)
        total = torch.zeros((), dtype=acc, device=h.device)
        logps, all_weights = [], []
        for start in range(0, m, chunk):
            end = min(start + chunk, m)
            hc, tc = h[start:end], targets[start:end]
            z = _chunk_logits(hc, weight, bias)
            logp, lse = logp_and_lse(z, tc)
            coef, w = coef_fn(start, end, logp)
            total += weighted_logprob_sum(coef, logp)
            # d(sum coef log p)/dz = coef * (onehot - softmax); z is reused as the buffer.
            dz = z.sub_(lse[:, None]).exp_().mul_(-coef[:, None])
            dz[torch.arange(end - start, device=dz.device), tc] += coef
            grad_h[start:end] = (dz.to(weight.dtype) @ weight).to(h.dtype)
            grad_w.addmm_(dz.T, hc.to(acc))
            if grad_b is not None:
                grad_b += dz.sum(0)
            logps.append(logp)
            all_weights.append(w)
        ctx.save_for_backward(grad_h, grad_w, grad_b if grad_b is not None else torch.empty(0))
        ctx.has_bias = bias is not None
        ctx.weight_dtype = weight.dtype
        ctx.used = False
        logp_all = torch.cat(logps) if logps else h.new_zeros(0, dtype=torch.float32)
        w_all = torch.cat(all_weights) if all_weights else h.new_zeros(0, dtype=torch.float32)
        ctx.mark_non_differentiable(logp_all, w_all)
        return total, logp_all, w_all

    @staticmethod
    def backward(ctx, g_total, _g_logp, _g_w):
        # The saved gradients are scaled in place: a [vocab x hidden] float32 copy is the size of the model's
        # output layer. So this backward can run once only (no retain_graph on the lean loss).
        if ctx.used:
            raise RuntimeError("the lean loss was back-propagated twice; compute it again instead")
        ctx.used = True
        grad_h, grad_w, grad_b = ctx.saved_tensors
        grad_w = grad_w.mul_(g_total).to(ctx.weight_dtype)
        gb = grad_b.mul_(g_total).to(ctx.weight_dtype) if ctx.has_bias else None
        return grad_h.mul_(g_total.to(grad_h.dtype)), grad_w, gb, None, None, None


@torch.no_grad()
def _ranking_stats(h, weight, bias, targets, chunk, with_entropy):
    """The extra pass for batch-ranked objectives: detached log p (and entropy) of every supervised token."""
    logps, entropies = [], []
    for start in range(0, h.shape[0], chunk):
        z = _chunk_logits(h[start : start + chunk], weight, bias)
        logp, entropy = token_logprobs(z, targets[start : start + chunk], with_entropy)
        logps.append(logp)
        entropies.append(entropy)
    return torch.cat(logps), (torch.cat(entropies) if with_entropy else None)


def lean_selective_loss(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    cfg: ObjectiveConfig,
    counts: BatchCounts | None = None,
    seq_ids: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    bias: torch.Tensor | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> ObjectiveOutput:
    """Same result as `selective_loss(hidden @ weight.T + bias, labels, ...)`, without the full logits.

    hidden: [B, S, H] final hidden states (after the last norm); weight: [V, H] output layer (lm_head.weight).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    sup = Supervised.of(labels, seq_ids)
    h = hidden.reshape(-1, hidden.shape[-1]).index_select(0, sup.index)
    m = h.shape[0]
    uniform = draw_uniform(cfg, m, h.device, generator)
    scale = token_scale(cfg, sup.seq_ids, compute_dtype(weight))

    if cfg.is_local:

        def coef_fn(start, end, logp):
            w = token_weights(cfg, logp.exp(), None, None if uniform is None else uniform[start:end])
            return coefficients(cfg, w, None if scale is None else scale[start:end]), w

    else:
        logp_all, entropy = _ranking_stats(h, weight, bias, sup.targets, chunk_size, cfg.needs_entropy)
        w_all = token_weights(cfg, logp_all.exp(), entropy, uniform)
        coef_all = coefficients(cfg, w_all, scale)

        def coef_fn(start, end, logp):
            return coef_all[start:end], w_all[start:end]

    total, logp, weights = _WeightedLogprobSum.apply(h, weight, bias, sup.targets, coef_fn, chunk_size)
    anchors = (hidden, weight) if bias is None else (hidden, weight, bias)
    return combine(cfg, sup, total, logp.exp(), weights, counts, anchors=anchors)
