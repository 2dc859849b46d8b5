"""Token-selective SFT objectives: sft, profit (higher/lower/middle/random), dft, entropy, quantile.

`selective_loss` (from logits) is the reference; `lean_selective_loss` (from hidden states, chunked) is the
memory-lean path tested against it; `LeanHead` computes the lean loss inside the output layer's forward (where
FSDP2 holds its weight whole); `ObjectiveLoss` is the drop-in `compute_loss_func` for HF/TRL trainers.
"""

from .config import NORMALIZATIONS, OBJECTIVES, STRATEGIES, ObjectiveConfig
from .gates import token_weights
from .head import LeanHead
from .hf import ObjectiveLoss
from .lean import lean_selective_loss
from .loss import IGNORE_INDEX, ObjectiveOutput, selective_loss
from .normalize import BatchCounts, TokenStats

__all__ = [
    "IGNORE_INDEX",
    "NORMALIZATIONS",
    "OBJECTIVES",
    "STRATEGIES",
    "BatchCounts",
    "LeanHead",
    "ObjectiveConfig",
    "ObjectiveLoss",
    "ObjectiveOutput",
    "TokenStats",
    "lean_selective_loss",
    "selective_loss",
    "token_weights",
]
