"""Right-padded training batches from encoded examples; only the solution and <|im_end|> are supervised."""

from __future__ import annotations

import torch

from ..objectives import IGNORE_INDEX
from .encode import Encoded


def collate(examples: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, e.prompt_len : n] = ids[row, e.prompt_len : n]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
