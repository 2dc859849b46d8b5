"""The gradient of one optimizer step does not depend on how the global batch is split:
batch 4 x accumulation 1  ==  batch 1 x accumulation 4  ==  2 processes (DDP, gloo) x batch 2.

Holds for the token-local objectives under `global` and `sequence` normalisation (the batch-ranked `entropy` and
`quantile` rank within a micro-batch, `kept` divides by a micro-batch count, and `random` draws per micro-batch:
those depend on the split by definition).
"""

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.fixtures.tiny import tiny_qwen3
from training.objectives import BatchCounts, ObjectiveConfig, selective_loss

VOCAB = 40
LENGTHS = [(3, 9), (2, 5), (4, 11), (3, 7)]  # (prompt tokens, total tokens) per sequence
PAD = 0


def make_batch():
    g = torch.Generator().manual_seed(123)
    rows = []
    for prompt, total in LENGTHS:
        ids = torch.randint(4, VOCAB, (total,), generator=g)
        labels = ids.clone()
        labels[:prompt] = -100
        rows.append((ids, labels))
    return rows


def collate(rows):
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), PAD)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100)
    for i, (ids, lab) in enumerate(rows):
        input_ids[i, : len(ids)] = ids
        attention[i, : len(ids)] = 1
        labels[i, : len(ids)] = lab
    return input_ids, attention, labels


def local_counts(rows):
    tokens = sum(int((lab[1:] != -100).sum()) for _, lab in rows)
    return torch.tensor([float(tokens), float(len(rows))], dtype=torch.float64)


def build_model(state_path=None):
    model = tiny_qwen3(VOCAB, hidden=32, layers=2, seed=0).double()
    if state_path:
        model.load_state_dict(torch.load(state_path))
    return model


def accumulate(model, micro_batches, cfg, tokens, sequences, micro_total, loss_scale=1.0):
    counts = BatchCounts(tokens=tokens, sequences=sequences, micro_batches=micro_total)
    for rows in micro_batches:
        input_ids, attention, labels = collate(rows)
        logits = model(input_ids=input_ids, attention_mask=attention).logits
        (selective_loss(logits, labels, cfg, counts=counts).loss * loss_scale).backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def split_grads(cfg, split, state_path):
    model = build_model(state_path)
    rows = make_batch()
    tokens, sequences = (float(x) for x in local_counts(rows))
    micro = [rows[i : i + split] for i in range(0, len(rows), split)]
    return accumulate(model, micro, cfg, tokens, sequences, float(len(micro)))


def _ddp_worker(rank, world, cfg_dicts, state_path, out_path, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        rows = make_batch()[rank * 2 : rank * 2 + 2]
        counts = local_counts(rows)
        dist.all_reduce(counts)  # global supervised tokens and sequences, as the trainer counts them
        results = []
        for cfg_dict in cfg_dicts:
            model = torch.nn.parallel.DistributedDataParallel(build_model(state_path))
            # DDP averages gradients over ranks; multiplying by the world size (as transformers' Trainer does)
            # makes them add up, so each rank contributes its share of the global objective.
            grads = accumulate(
                model, [rows], ObjectiveConfig(**cfg_dict), float(counts[0]), float(counts[1]), float(world), world
            )
            results.append({n.removeprefix("module."): g for n, g in grads.items()})
        if rank == 0:
            torch.save(results, out_path)
    finally:
        dist.destroy_process_group()


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gate_between_probabilities(state_path):
    """A ProFit threshold in the widest gap between the tokens' probabilities, so rounding cannot flip a gate."""
    model = build_model(state_path)
    input_ids, attention, labels = collate(make_batch())
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=input_ids, attention_mask=attention).logits, -1)
    targets = labels[:, 1:]
    p = probs[:, :-1].gather(-1, targets.clamp(min=0)[..., None])[..., 0][targets != -100].sort().values
    mid = len(p) // 2
    window = p[mid - 6 : mid + 6]
    gaps = window[1:] - window[:-1]
    i = int(gaps.argmax())
    return float((window[i] + window[i + 1]) / 2)


@pytest.fixture(scope="module")
def state_path():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state.pt")
        torch.save(build_model().state_dict(), path)
        yield path


CASES = {
    "sft": lambda tau: ObjectiveConfig("sft"),
    "dft": lambda tau: ObjectiveConfig("dft"),
    "profit": lambda tau: ObjectiveConfig("profit", tau=tau),
    "profit-lower": lambda tau: ObjectiveConfig("profit", strategy="lower", tau=tau),
    "profit-sequence": lambda tau: ObjectiveConfig("profit", tau=tau, normalization="sequence"),
}


@pytest.fixture(scope="module")
def ddp_grads(state_path):
    """Gradients of every case under 2-process DDP, from one spawn (process start-up dominates the cost)."""
    tau = gate_between_probabilities(state_path)
    cfgs = [make(tau).to_dict() for make in CASES.values()]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "ddp.pt")
        mp.spawn(_ddp_worker, args=(2, cfgs, state_path, out, free_port()), nprocs=2, join=True)
        return dict(zip(CASES, torch.load(out)))


@pytest.mark.parametrize("case", list(CASES))
def test_one_step_gradient_is_split_invariant(case, state_path, ddp_grads):
    cfg = CASES[case](gate_between_probabilities(state_path))
    whole = split_grads(cfg, 4, state_path)
    accumulated = split_grads(cfg, 1, state_path)
    ddp = ddp_grads[case]
    assert any(torch.count_nonzero(g) for g in whole.values())
    for name, g in whole.items():
        torch.testing.assert_close(accumulated[name], g, rtol=1e-9, atol=1e-12, msg=f"4x1 vs 1x4: {name}")
        torch.testing.assert_close(ddp[name], g, rtol=1e-9, atol=1e-12, msg=f"4x1 vs 2 ranks x 2: {name}")


def test_profit_gate_actually_masks_in_the_invariance_batch(state_path):
    """Guard: the threshold used above must split the tokens, or the profit cases would only re-test SFT."""
    tau = gate_between_probabilities(state_path)
    model = build_model(state_path)
    input_ids, attention, labels = collate(make_batch())
    logits = model(input_ids=input_ids, attention_mask=attention).logits
    kept = float(selective_loss(logits, labels, ObjectiveConfig("profit", tau=tau)).stats.kept)
    assert 0 < kept < float((labels[:, 1:] != -100).sum())
