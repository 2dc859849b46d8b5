"""LeanHead: the lean loss computed inside lm_head's forward equals the plain reference, and leaves lm_head alone
otherwise. (Two processes under FSDP2 and DDP: tests/training/test_fsdp.py.)"""

import pytest
import torch

from training.objectives import BatchCounts, LeanHead, ObjectiveConfig, selective_loss

from .test_invariance import build_model, collate, make_batch

CASES = [
    ObjectiveConfig("sft"),
    ObjectiveConfig("profit", tau=0.03),
    ObjectiveConfig("dft", normalization="sequence"),
    ObjectiveConfig("entropy", entropy_ratio=0.3, normalization="sequence"),
    ObjectiveConfig("quantile", quantile=0.5, normalization="kept"),
]


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: c.describe())
def test_lean_head_equals_plain_in_value_statistics_and_gradients(cfg):
    input_ids, attention, labels = collate(make_batch())
    counts = BatchCounts(tokens=60.0, sequences=9.0, micro_batches=3.0)
    plain_model = build_model()
    plain = selective_loss(plain_model(input_ids=input_ids, attention_mask=attention).logits, labels, cfg,
                           counts=counts)
    (2.0 * plain.loss).backward()

    model = build_model()
    head = LeanHead(model.lm_head)
    with head.computing(labels, cfg, counts=counts, chunk_size=7):
        outputs = model(input_ids=input_ids, attention_mask=attention)
    assert outputs.logits.shape == () and float(outputs.logits.detach()) == 0.0  # the carrier, not logits
    lean = head.output(outputs.logits)
    (2.0 * lean.loss).backward()

    torch.testing.assert_close(lean.loss, plain.loss, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(lean.stats.as_tensor(), plain.stats.as_tensor())
    torch.testing.assert_close(lean.p, plain.p)
    torch.testing.assert_close(lean.weights, plain.weights)
    assert torch.equal(lean.index, plain.index)
    want = grads(plain_model)
    for name, g in grads(model).items():
        torch.testing.assert_close(g, want[name], rtol=1e-10, atol=1e-13, msg=name)


def test_without_a_request_lm_head_is_unchanged_and_remove_restores_it():
    input_ids, attention, _ = collate(make_batch())
    model = build_model()
    with torch.no_grad():
        before = model(input_ids=input_ids, attention_mask=attention).logits
        head = LeanHead(model.lm_head)
        during = model(input_ids=input_ids, attention_mask=attention).logits
        head.remove()
        after = model(input_ids=input_ids, attention_mask=attention).logits
    assert torch.equal(before, during) and torch.equal(before, after)
    assert "forward" not in model.lm_head.__dict__


def test_the_request_is_used_once_and_cleared():
    input_ids, attention, labels = collate(make_batch())
    model = build_model()
    head = LeanHead(model.lm_head)
    with head.computing(labels, ObjectiveConfig()):
        first = model(input_ids=input_ids, attention_mask=attention).logits
        second = model(input_ids=input_ids, attention_mask=attention).logits  # a second call gets logits again
    assert first.shape == () and second.shape[-1] == model.config.vocab_size
    with pytest.raises(RuntimeError, match="carrier"):
        head.output(second)
    with head.computing(labels, ObjectiveConfig()):
        pass
    with pytest.raises(RuntimeError, match="did not call its output layer"):
        head.output(torch.zeros(()))


def test_refusals():
    input_ids, attention, labels = collate(make_batch())
    model = build_model()
    with pytest.raises(TypeError, match="nn.Linear"):
        LeanHead(torch.nn.Sequential(model.lm_head))
    head = LeanHead(model.lm_head)
    with pytest.raises(RuntimeError, match="applied twice"):
        LeanHead(model.lm_head)
    with head.computing(labels, ObjectiveConfig()), pytest.raises(RuntimeError, match="every position"):
        model(input_ids=input_ids, attention_mask=attention, logits_to_keep=1)


def test_the_trainer_refuses_lean_for_a_model_that_transforms_its_logits(tmp_path):
    from transformers import TrainingArguments

    from training.config import ConfigError
    from training.trainer import ProfitTrainer

    model = build_model()
    model.config.final_logit_softcapping = 30.0  # as Gemma-2's: the lean loss would skip it
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    with pytest.raises(ConfigError, match="final_logit_softcapping"):
        ProfitTrainer(model=model, args=args, objective=ObjectiveConfig(), loss_impl="lean")
    assert "forward" not in model.lm_head.__dict__  # refused before lm_head was touched
