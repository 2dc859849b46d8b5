"""A plain float64 reference of every objective, written from the definitions with loops, for the tests.

Independent of training.objectives: it loops over sequences and tokens, computes softmax by hand and never shares
a helper with the code under test.
"""

from __future__ import annotations

import math

import torch


def reference_loss(logits, labels, cfg, uniform=None, tokens=None, sequences=None, micro_batches=1.0):
    """Loss of one micro-batch under `cfg`; logits [B, S, V] float64 (requires_grad for gradients)."""
    batch, seq_len, _ = logits.shape
    entries = []  # (b, t, logp, p, entropy)
    for b in range(batch):
        for t in range(seq_len - 1):
            y = int(labels[b, t + 1])
            if y == -100:
                continue
            z = logits[b, t]
            m = z.max()
            log_norm = m + torch.log(torch.exp(z - m).sum())
            logp = z[y] - log_norm
            probs = torch.exp(z - log_norm).detach()
            entropy = float(-(probs * torch.log(probs)).sum())
            entries.append((b, t, logp, math.exp(float(logp.detach())), entropy))

    n = len(entries)
    weights = []
    for i, (_, _, _, p, _) in enumerate(entries):
        if cfg.objective == "sft":
            w = 1.0
        elif cfg.objective == "dft":
            w = p
        elif cfg.objective == "profit":
            if cfg.strategy == "higher":
                w = float(p >= cfg.tau)
            elif cfg.strategy == "lower":
                w = float(p <= cfg.tau)
            elif cfg.strategy == "middle":
                w = float(cfg.tau <= p <= cfg.tau_high)
            else:
                w = float(float(uniform[i]) >= cfg.tau)
        else:
            w = None
        weights.append(w)
    if cfg.objective in ("entropy", "quantile"):
        fraction = cfg.entropy_ratio if cfg.objective == "entropy" else cfg.quantile
        score = [e[4] if cfg.objective == "entropy" else e[3] for e in entries]
        k = math.ceil(fraction * n)
        chosen = sorted(range(n), key=lambda i: -score[i])[:k]
        weights = [1.0 if i in chosen else 0.0 for i in range(n)]

    tokens = n if tokens is None else tokens
    rows = sorted({e[0] for e in entries})
    sequences = len(rows) if sequences is None else sequences
    total = logits.sum() * 0.0
    if cfg.normalization == "sequence":
        for b in rows:
            idx = [i for i, e in enumerate(entries) if e[0] == b]
            seq_sum = sum((-weights[i] * entries[i][2] for i in idx if weights[i] > 0), logits.sum() * 0.0)
            total = total + seq_sum / len(idx)
        return total / sequences
    for i, e in enumerate(entries):
        if weights[i] > 0:
            total = total - weights[i] * e[2]
    if cfg.normalization == "global":
        return total / tokens
    kept = sum(1 for w in weights if w > 0)
    return total / (max(kept, 1) * micro_batches)
