"""`sft` and `dft` equal TRL's SFTTrainer losses ("nll", "dft") on the same tiny model and batch, and
`ObjectiveLoss` plugged into SFTTrainer as `compute_loss_func` reproduces them (the README's drop-in use)."""

import pytest
import torch
from datasets import Dataset

from tests.fixtures.tiny import tiny_qwen3, tiny_tokenizer
from training.objectives import BatchCounts, ObjectiveConfig, ObjectiveLoss, selective_loss

trl = pytest.importorskip("trl")

ROWS = [
    {
        "prompt": [{"role": "user", "content": f"What is {a} plus {b}?"}],
        "completion": [{"role": "assistant", "content": f"{a} plus {b} is {a + b}."}],
    }
    for a, b in [(1, 2), (10, 5), (7, 30), (4, 4)]
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    texts = [r["prompt"][0]["content"] + " " + r["completion"][0]["content"] for r in ROWS] * 20
    tokenizer = tiny_tokenizer(texts, vocab_size=300)
    model = tiny_qwen3(len(tokenizer), hidden=32, seed=1)
    return tokenizer, model, tmp_path_factory.mktemp("trl")


def trainer_for(setup, loss_type, compute_loss_func=None):
    tokenizer, model, out = setup
    args = trl.SFTConfig(
        output_dir=str(out),
        loss_type=loss_type,
        report_to=[],
        use_cpu=True,
        per_device_train_batch_size=4,
        max_length=64,
    )
    return trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(ROWS),
        processing_class=tokenizer,
        compute_loss_func=compute_loss_func,
    )


def collated(trainer):
    return trainer.data_collator([trainer.train_dataset[i] for i in range(len(ROWS))])


@pytest.mark.parametrize("objective, loss_type", [("sft", "nll"), ("dft", "dft")])
def test_matches_trl_sft_trainer(setup, objective, loss_type):
    trainer = trainer_for(setup, loss_type)
    model = trainer.model
    batch = collated(trainer)
    n = int((batch["labels"][:, 1:] != -100).sum())
    assert n > 0 and int((batch["labels"] == -100).sum()) > 0  # completion-only labels: the prompt is masked

    model.zero_grad()
    trl_loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=torch.tensor(n))
    trl_loss.backward()
    trl_grads = [p.grad.clone() for p in model.parameters()]

    model.zero_grad()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    ours = selective_loss(
        model(**inputs).logits,
        batch["labels"],
        ObjectiveConfig(objective),
        counts=BatchCounts(tokens=n, sequences=len(ROWS)),
    )
    ours.loss.backward()
    torch.testing.assert_close(ours.loss, trl_loss, rtol=1e-5, atol=1e-6)
    for a, b in zip((p.grad for p in model.parameters()), trl_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_objective_loss_as_compute_loss_func_in_sft_trainer(setup):
    nll = trainer_for(setup, "nll")
    batch = collated(nll)
    n = torch.tensor(int((batch["labels"][:, 1:] != -100).sum()))
    expected = nll.compute_loss(nll.model, dict(batch), num_items_in_batch=n)

    dropin = ObjectiveLoss(ObjectiveConfig("sft"))
    ours = trainer_for(setup, "nll", compute_loss_func=dropin)
    got = ours.compute_loss(ours.model, dict(batch), num_items_in_batch=n)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert dropin.pop_stats()["kept_fraction"] == 1.0

    gated = ObjectiveLoss(ObjectiveConfig("profit", tau=1.0))  # nothing passes: zero, still attached
    zero = trainer_for(setup, "nll", compute_loss_func=gated).compute_loss(
        ours.model, dict(batch), num_items_in_batch=n
    )
    assert zero.requires_grad and float(zero.detach()) == 0.0
    assert gated.pop_stats()["kept_fraction"] == 0.0


def test_objective_loss_explains_missing_logits():
    with pytest.raises(ValueError, match="loss_type='nll'"):
        ObjectiveLoss(ObjectiveConfig())({"logits": None}, torch.zeros(1, 2, dtype=torch.long), 1)
