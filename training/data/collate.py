"""Micro-batches: packed into one row without padding (default), or right-padded.

Both emit `seq_ids` (which sequence each position belongs to), which the trainer takes out before the forward pass
and hands to the objective, so `sequence` normalisation and the sequence counts stay exact when rows are packed;
and `rows` / `token_index` (the data-file row, and the token's index in its example, -1 on padding), which the
trainer's token log records with each token's weight.
"""

from __future__ import annotations

import torch

from .render import IGNORE_INDEX


class PackedCollator:
    """Concatenate the examples into a single row; position ids restart at 0 for every example.

    transformers builds a block-diagonal causal mask from restarting position ids when no attention mask is given
    (sdpa, eager, flex) and flash-attention uses them directly, so no token attends across examples and no compute
    is spent on padding. The first label of each example is masked so nothing predicts across a boundary.
    """

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        ids, labels, positions, seq_ids, rows = [], [], [], [], []
        for k, ex in enumerate(examples):
            n = len(ex["input_ids"])
            ids.extend(ex["input_ids"])
            labels.extend([IGNORE_INDEX] + list(ex["labels"][1:]))
            positions.extend(range(n))
            seq_ids.extend([k] * n)
            rows.extend([ex.get("row", -1)] * n)
        as_row = lambda xs: torch.tensor(xs, dtype=torch.long)[None]  # noqa: E731
        return {"input_ids": as_row(ids), "labels": as_row(labels), "position_ids": as_row(positions),
                "seq_ids": as_row(seq_ids), "rows": as_row(rows), "token_index": as_row(positions)}


class PaddedCollator:
    """Right-pad to the longest example of the micro-batch, with an attention mask."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(ex["input_ids"]) for ex in examples)
        batch = len(examples)
        ids = torch.full((batch, width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((batch, width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for row, ex in enumerate(examples):
            n = len(ex["input_ids"])
            ids[row, :n] = torch.tensor(ex["input_ids"])
            labels[row, :n] = torch.tensor(ex["labels"])
            mask[row, :n] = 1
        seq_ids = torch.arange(batch)[:, None].expand(batch, width).contiguous()
        rows = torch.tensor([ex.get("row", -1) for ex in examples])[:, None].expand(batch, width).contiguous()
        token_index = torch.where(mask.bool(), torch.arange(width)[None], -1)
        return {"input_ids": ids, "labels": labels, "attention_mask": mask, "seq_ids": seq_ids, "rows": rows,
                "token_index": token_index}
