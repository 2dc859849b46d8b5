"""Each objective's value and gradient against the float64 reference, and the method's own sanity checks."""

import math

import pytest
import torch

from training.objectives import BatchCounts, ObjectiveConfig, TokenStats, selective_loss, token_weights

from .reference import reference_loss

V = 11
CASES = [
    ObjectiveConfig("sft"),
    ObjectiveConfig("dft"),
    ObjectiveConfig("profit", strategy="higher", tau=0.1),
    ObjectiveConfig("profit", strategy="higher", tau=0.35),
    ObjectiveConfig("profit", strategy="lower", tau=0.2),
    ObjectiveConfig("profit", strategy="middle", tau=0.05, tau_high=0.3),
    ObjectiveConfig("profit", strategy="random", tau=0.3),
    ObjectiveConfig("entropy", entropy_ratio=0.2),
    ObjectiveConfig("entropy", entropy_ratio=0.5),
    ObjectiveConfig("quantile", quantile=0.6),
]


def batch(seed=0, b=3, s=9):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, s, V, generator=g, dtype=torch.float64) * 2.0).requires_grad_()
    labels = torch.randint(0, V, (b, s), generator=g)
    labels[:, :3] = -100  # prompt
    labels[1, 6:] = -100  # shorter answer + padding
    labels[2, :5] = -100
    return logits, labels


def with_norm(cfg, norm):
    return ObjectiveConfig(**{**cfg.to_dict(), "normalization": norm})


@pytest.mark.parametrize("norm", ["global", "kept", "sequence"])
@pytest.mark.parametrize("cfg", CASES, ids=lambda c: c.describe())
def test_value_and_gradient_match_float64_reference(cfg, norm):
    cfg = with_norm(cfg, norm)
    logits, labels = batch()
    gen = torch.Generator().manual_seed(7)
    ours = selective_loss(logits, labels, cfg, generator=gen)
    (g_ours,) = torch.autograd.grad(ours.loss, logits)

    uniform = torch.rand(int((labels[:, 1:] != -100).sum()), generator=torch.Generator().manual_seed(7))
    ref = reference_loss(logits, labels, cfg, uniform=uniform)
    (g_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(ours.loss, ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: c.describe())
def test_global_counts_scale_the_loss(cfg):
    """With global counts the micro-batch loss is sum over kept / (tokens of the whole global batch)."""
    logits, labels = batch(1)
    counts = BatchCounts(tokens=40.0, sequences=9.0, micro_batches=3.0)
    uniform = torch.rand(int((labels[:, 1:] != -100).sum()), generator=torch.Generator().manual_seed(3))
    for norm in ("global", "kept", "sequence"):
        c = with_norm(cfg, norm)
        ours = selective_loss(logits, labels, c, counts=counts, generator=torch.Generator().manual_seed(3))
        ref = reference_loss(logits, labels, c, uniform=uniform, tokens=40.0, sequences=9.0, micro_batches=3.0)
        torch.testing.assert_close(ours.loss, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", ["global", "kept", "sequence"])
def test_profit_tau_zero_is_sft_and_lower_tau_one_is_sft(norm):
    logits, labels = batch(2)
    sft = selective_loss(logits, labels, ObjectiveConfig("sft", normalization=norm))
    (g_sft,) = torch.autograd.grad(sft.loss, logits)
    for cfg in (
        ObjectiveConfig("profit", strategy="higher", tau=0.0, normalization=norm),
        ObjectiveConfig("profit", strategy="lower", tau=1.0, normalization=norm),
        ObjectiveConfig("profit", strategy="middle", tau=0.0, tau_high=1.0, normalization=norm),
        ObjectiveConfig("quantile", quantile=1.0, normalization=norm),
        ObjectiveConfig("entropy", entropy_ratio=1.0, normalization=norm),
    ):
        out = selective_loss(logits, labels, cfg)
        (g,) = torch.autograd.grad(out.loss, logits)
        assert torch.equal(out.loss, sft.loss), cfg.describe()
        assert torch.equal(g, g_sft), cfg.describe()


def test_masked_tokens_get_exactly_zero_gradient_and_kept_ones_the_sft_gradient():
    logits, labels = batch(3)
    cfg = ObjectiveConfig("profit", tau=0.2)
    out = selective_loss(logits, labels, cfg)
    (g,) = torch.autograd.grad(out.loss, logits)
    (g_sft,) = torch.autograd.grad(selective_loss(logits, labels, ObjectiveConfig("sft")).loss, logits)
    p = torch.softmax(logits.detach(), -1)
    masked = kept = 0
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1] - 1):
            y = int(labels[b, t + 1])
            if y == -100:
                assert torch.count_nonzero(g[b, t]) == 0
            elif p[b, t, y] < 0.2:
                assert torch.count_nonzero(g[b, t]) == 0
                masked += 1
            else:  # same normaliser (all supervised tokens), so exactly SFT's gradient
                assert torch.equal(g[b, t], g_sft[b, t])
                kept += 1
    assert masked > 0 and kept > 0
    stats = TokenStats.summary(out.stats.as_tensor())
    assert stats["kept_fraction"] == pytest.approx(kept / (kept + masked))


@pytest.mark.parametrize("norm", ["global", "kept", "sequence"])
def test_nothing_kept_gives_attached_zero_not_nan(norm):
    logits, labels = batch(4)
    out = selective_loss(logits, labels, ObjectiveConfig("profit", tau=1.0, normalization=norm))
    assert out.loss.requires_grad and float(out.loss.detach()) == 0.0
    (g,) = torch.autograd.grad(out.loss, logits)
    assert torch.count_nonzero(g) == 0 and not torch.isnan(g).any()
    no_labels = torch.full_like(labels, -100)
    out = selective_loss(logits, no_labels, ObjectiveConfig("profit", normalization=norm))
    assert out.loss.requires_grad and float(out.loss.detach()) == 0.0
    assert math.isnan(TokenStats.summary(out.stats.as_tensor())["kept_fraction"])


def test_impossible_token_masked_without_nan():
    """A reference token with probability 0 (logit -inf) under `higher` is masked, and gives no nan."""
    logits, labels = batch(5)
    logits = logits.detach().clone()
    logits[0, 3, int(labels[0, 4])] = float("-inf")
    logits.requires_grad_()
    out = selective_loss(logits, labels, ObjectiveConfig("profit", tau=0.1))
    (g,) = torch.autograd.grad(out.loss, logits)
    assert torch.isfinite(out.loss) and torch.isfinite(g).all()


def test_random_strategy_drops_about_tau():
    p = torch.rand(20000, generator=torch.Generator().manual_seed(0))
    u = torch.rand(20000, generator=torch.Generator().manual_seed(1))
    keep = token_weights(ObjectiveConfig("profit", strategy="random", tau=0.3), p, uniform=u)
    assert abs(float(keep.mean()) - 0.7) < 0.02


def test_dft_weight_is_detached_probability():
    logits, labels = batch(6)
    out = selective_loss(logits, labels, ObjectiveConfig("dft"))
    sup = labels[:, 1:] != -100
    logp = torch.log_softmax(logits, -1)[:, :-1].gather(-1, labels[:, 1:].clamp(min=0)[..., None])[..., 0][sup]
    expected = -(logp.detach().exp() * logp).sum() / sup.sum()
    torch.testing.assert_close(out.loss, expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"objective": "profitt"}, "unknown objective 'profitt'"),
        ({"objective": "profit", "strategy": "upper"}, "unknown strategy 'upper'"),
        ({"tau": 1.5}, "tau must be a number in [0, 1]"),
        ({"tau": -0.1}, "tau must be a number in [0, 1]"),
        ({"tau": 0.6, "tau_high": 0.4}, "must not exceed tau_high"),
        ({"normalization": "mean"}, "unknown normalization 'mean'"),
        ({"entropy_ratio": 0.0}, "entropy_ratio must be a number in (0, 1]"),
        ({"quantile": 2}, "quantile must be a number in (0, 1]"),
    ],
)
def test_bad_parameters_fail_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError) as err:
        ObjectiveConfig(**kwargs)
    assert message in str(err.value)
