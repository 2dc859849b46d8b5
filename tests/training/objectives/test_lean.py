"""The lean path (hidden states + output weight, chunked) equals the plain reference path from logits."""

import pytest
import torch

from training.objectives import BatchCounts, ObjectiveConfig, lean_selective_loss, selective_loss

from .test_objectives import CASES, with_norm

H, V = 6, 13


def inputs(seed, bias=True, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(3, 10, H, generator=g, dtype=dtype).requires_grad_()
    weight = (torch.randn(V, H, generator=g, dtype=dtype) * 0.8).requires_grad_()
    b = (torch.randn(V, generator=g, dtype=dtype) * 0.1).requires_grad_() if bias else None
    labels = torch.randint(0, V, (3, 10), generator=g)
    labels[:, :2] = -100
    labels[0, 7:] = -100
    return hidden, weight, b, labels


@pytest.mark.parametrize("chunk", [1, 4, 1000])
@pytest.mark.parametrize("norm", ["global", "kept", "sequence"])
@pytest.mark.parametrize("cfg", CASES, ids=lambda c: c.describe())
def test_lean_equals_plain_in_value_and_gradients(cfg, norm, chunk):
    cfg = with_norm(cfg, norm)
    hidden, weight, bias, labels = inputs(11)
    counts = BatchCounts(tokens=50.0, sequences=7.0, micro_batches=2.0)
    logits = hidden @ weight.T + bias
    plain = selective_loss(logits, labels, cfg, counts=counts, generator=torch.Generator().manual_seed(5))
    g_plain = torch.autograd.grad(plain.loss, (hidden, weight, bias))
    lean = lean_selective_loss(
        hidden, weight, labels, cfg, counts=counts, bias=bias, chunk_size=chunk,
        generator=torch.Generator().manual_seed(5),
    )
    g_lean = torch.autograd.grad(lean.loss, (hidden, weight, bias))
    torch.testing.assert_close(lean.loss, plain.loss, rtol=1e-12, atol=1e-14)
    for a, b in zip(g_lean, g_plain):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(lean.stats.as_tensor(), plain.stats.as_tensor())


def test_lean_float32_without_bias_and_scaled_backward():
    hidden, weight, _, labels = inputs(12, bias=False, dtype=torch.float32)
    cfg = ObjectiveConfig("profit", tau=0.05)
    plain = selective_loss(hidden @ weight.T, labels, cfg)
    g_plain = torch.autograd.grad(3.0 * plain.loss, (hidden, weight))
    lean = lean_selective_loss(hidden, weight, labels, cfg, chunk_size=3)
    g_lean = torch.autograd.grad(3.0 * lean.loss, (hidden, weight))
    torch.testing.assert_close(lean.loss, plain.loss)
    for a, b in zip(g_lean, g_plain):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_lean_with_nothing_supervised_is_an_attached_zero():
    hidden, weight, _, labels = inputs(13, bias=False)
    out = lean_selective_loss(hidden, weight, torch.full_like(labels, -100), ObjectiveConfig("profit"))
    assert out.loss.requires_grad and float(out.loss.detach()) == 0.0
    gh, gw = torch.autograd.grad(out.loss, (hidden, weight))
    assert torch.count_nonzero(gh) == 0 and torch.count_nonzero(gw) == 0


def test_lean_rejects_a_bad_chunk_size():
    hidden, weight, _, labels = inputs(14, bias=False)
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        lean_selective_loss(hidden, weight, labels, ObjectiveConfig(), chunk_size=0)


def test_lean_backward_twice_is_refused():
    hidden, weight, _, labels = inputs(15, bias=False)
    out = lean_selective_loss(hidden, weight, labels, ObjectiveConfig())
    out.loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="back-propagated twice"):
        out.loss.backward()
