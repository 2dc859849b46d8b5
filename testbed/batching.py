"""Right-padded batches of encoded references, through the collator `profit train` uses (training/data/collate.py)."""

from __future__ import annotations

import torch

from training.data import PaddedCollator

from .encode import Encoded


def collate(examples: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and labels (answer tokens only) of a padded batch."""
    batch = PaddedCollator(pad_id)([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])
    return {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
