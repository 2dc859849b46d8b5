"""The drop-in `ObjectiveLoss` counts what the objective's definition counts."""

import torch

from training.objectives import IGNORE_INDEX, ObjectiveConfig, ObjectiveLoss, selective_loss


def test_sequence_normalisation_ignores_a_fully_masked_row():
    torch.manual_seed(0)
    logits = torch.randn(3, 6, 11, dtype=torch.float64)
    labels = torch.randint(0, 11, (3, 6))
    labels[:, :2] = IGNORE_INDEX  # prompts
    labels[1] = IGNORE_INDEX  # a prompt that fills the cut-off: no supervised token in this row
    cfg = ObjectiveConfig("sft", normalization="sequence")
    supervised = int((labels[:, 1:] != IGNORE_INDEX).sum())
    # One micro-batch per step on one process: Trainer passes the batch's supervised tokens.
    dropped = ObjectiveLoss(cfg)({"logits": logits}, labels, num_items_in_batch=supervised)
    # The definition: the mean over the sequences that have supervised tokens (2 of the 3 rows here).
    reference = selective_loss(logits, labels, cfg)
    assert torch.allclose(dropped, reference.loss, rtol=0, atol=1e-12)
    per_row = [selective_loss(logits[i:i + 1], labels[i:i + 1], cfg).loss for i in (0, 2)]
    assert torch.allclose(dropped, sum(per_row) / 2, rtol=0, atol=1e-12)
