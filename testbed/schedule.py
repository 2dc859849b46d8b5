"""Linear warmup then cosine decay to a floor, as a LambdaLR multiplier."""

from __future__ import annotations

import math


def warmup_cosine(step: int, total: int, warmup: int, floor: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
