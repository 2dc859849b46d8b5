"""Pretraining of the embedded base on the generated chat corpus (fresh examples every step, fixed seed)."""

from __future__ import annotations

import hashlib
import time

import torch
from tqdm import tqdm

from training.data.render import ChatRenderer

from .batching import collate
from .encode import encode
from .schedule import warmup_cosine
from .splits import TestbedSpec, pretrain_stream


def pretrain(model, tokenizer, spec: TestbedSpec, cfg, progress: bool = True) -> dict:
    """Train `model` in place for cfg.steps steps; returns the loss summary and the corpus hash."""
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, cfg.steps, cfg.warmup, cfg.lr_floor)
    )
    digest = hashlib.sha256()
    losses, tokens = [], 0
    stream = pretrain_stream(spec, cfg.seed, cfg.batch_size)
    renderer = ChatRenderer.choose(tokenizer)
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(cfg.steps), desc="pretrain", disable=not progress, mininterval=2.0)
    for _ in bar:
        batch = collate([encode(renderer, r) for r in next(stream)], tokenizer.pad_token_id)
        digest.update(batch["input_ids"].numpy().tobytes())
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        tokens += int(batch["attention_mask"].sum())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    tail = losses[-max(1, len(losses) // 20) :]
    return {
        "corpus_sha256": digest.hexdigest(),
        "tokens": tokens,
        "examples": cfg.steps * cfg.batch_size,
        "train_s": round(time.perf_counter() - start, 1),
        "loss": {
            "first": round(losses[0], 4),
            "final": round(sum(tail) / len(tail), 4),  # mean of the last 5% of steps
            "curve": [round(sum(c) / len(c), 4) for c in _chunks(losses, 20)],  # 20 evenly spaced means
        },
    }


def _chunks(values: list[float], n: int) -> list[list[float]]:
    size = max(1, -(-len(values) // n))
    return [values[i : i + size] for i in range(0, len(values), size)]
