"""The lean loss under FSDP2 (`fully_shard`), on CPU with two gloo processes.

`LeanHead` computes the lean loss inside lm_head's forward, where FSDP2 holds the weight whole. Checked here:
- one optimizer step's loss, token statistics and gradients (the sharded gradients gathered) equal the plain
  (reference) loss of one process over the same micro-batches, in float64, for sft, profit `higher` and the
  micro-batch-ranked `entropy`, with `global` and `sequence` normalisation, under two shardings: accelerate's
  (decoder layers, a [final norm, embeddings, lm_head] unit kept whole after forward, the root) and the strictest
  one (an untied lm_head alone in a unit resharded after forward, so its weight is a DTensor outside that call);
  and under DDP, through the same mechanism;
- under accelerate's FSDP2 mixed-precision policy (bf16 compute, bf16 outputs) the loss value stays float32 and
  the gradients match the plain loss's under the same policy;
- `profit train` under `accelerate launch` with FSDP2 and `loss_impl: lean` ends with a complete checkpoint that
  transformers loads and that equals the single-process lean run with the same global batch.
- with a bf16 base and `precision: bf16`, the gathered fp32 master weights are saved in bf16, the tied output
  layer once, and the run trains what one process trains (up to the two mixed-precision schemes' rounding).

accelerate 1.15 runs FSDP only on accelerators: on CPU it silently falls back to DDP (AcceleratorState takes the
FSDP branch for GPU-like distributed types only). The end-to-end tests therefore launch `profit train` with
training/cpu_fsdp.py's patch, which gives accelerate's state the FSDP plugin it built from the config, as a
rehearsal does; everything else is the real path.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml
from safetensors.torch import load_file

from training.api import train
from training.objectives import BatchCounts, LeanHead, ObjectiveConfig, selective_loss

from .objectives.test_invariance import build_model, collate, free_port, gate_between_probabilities, local_counts
from .objectives.test_invariance import make_batch as invariance_batch

ROOT = Path(__file__).resolve().parents[2]
WORLD = 2
LAYOUTS = ("accelerate", "own-unit", "ddp")  # how the model is sharded (see shard()), or DDP for comparison
OBJECTIVES = ("sft", "profit", "entropy")
NORMALIZATIONS = ("global", "sequence")


def objective(name: str, norm: str, tau: float) -> ObjectiveConfig:
    if name == "profit":
        return ObjectiveConfig("profit", strategy="higher", tau=tau, normalization=norm)
    if name == "entropy":
        return ObjectiveConfig("entropy", entropy_ratio=0.4, normalization=norm)
    return ObjectiveConfig(name, normalization=norm)


def untied(model):
    """The same model with lm_head as its own parameter (a copy of the embeddings), as in Qwen3-14B or Llama-3.1."""
    from transformers import Qwen3ForCausalLM

    config = model.config.__class__.from_dict({**model.config.to_dict(), "tie_word_embeddings": False})
    other = Qwen3ForCausalLM(config).to(model.dtype)
    other.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        other.lm_head.weight.copy_(model.lm_head.weight)
    return other


def micro_batches():
    """The global batch as the two ranks see it: rank r takes rows 2r and 2r + 1."""
    rows = invariance_batch()
    return [rows[2 * r : 2 * r + 2] for r in range(WORLD)]


def shard(model, layout: str, mp_policy=None):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    kw = {"mesh": init_device_mesh("cpu", (WORLD,)), "mp_policy": mp_policy or MixedPrecisionPolicy()}
    for layer in model.model.layers:
        fully_shard(layer, **kw)
    if layout == "accelerate":  # accelerate's fsdp2_prepare_model: tied weights share the tail unit
        fully_shard([model.model.norm, model.model.embed_tokens, model.lm_head], reshard_after_forward=False, **kw)
    else:
        fully_shard(model.lm_head, reshard_after_forward=True, **kw)
    fully_shard(model, **kw)
    return model


def full_grads(model) -> dict[str, torch.Tensor]:
    grads = {}
    for name, p in model.named_parameters():
        g = p.grad
        grads[name] = (g.full_tensor() if hasattr(g, "full_tensor") else g).detach().clone()
    return grads


def _fsdp_worker(rank, state_path, tau, out_path, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        rows = micro_batches()[rank]
        counts = local_counts(rows)
        dist.all_reduce(counts)  # global supervised tokens and sequences, as the trainer counts them
        global_counts = BatchCounts(tokens=float(counts[0]), sequences=float(counts[1]), micro_batches=float(WORLD))
        input_ids, attention, labels = collate(rows)
        results = {}
        for layout in LAYOUTS:
            if layout == "ddp":
                model = torch.nn.parallel.DistributedDataParallel(build_model(state_path))
                base = model.module
            else:
                model = shard(build_model(state_path) if layout == "accelerate" else untied(build_model(state_path)),
                              layout)
                base = model
            head = LeanHead(base.lm_head)
            for name in OBJECTIVES:
                for norm in NORMALIZATIONS:
                    model.zero_grad(set_to_none=True)
                    with head.computing(labels, objective(name, norm, tau), counts=global_counts):
                        outputs = model(input_ids=input_ids, attention_mask=attention)
                    out = head.output(outputs.logits)
                    (out.loss * WORLD).backward()  # FSDP averages over ranks; the trainer multiplies likewise
                    summed = torch.stack([out.loss.detach(), *out.stats.as_tensor().double()])
                    dist.all_reduce(summed)
                    results[(layout, name, norm)] = (summed, full_grads(base))
        results["bf16"] = mixed_precision_case(state_path, tau, input_ids, attention, labels, global_counts)
        if rank == 0:
            torch.save(results, out_path)
    finally:
        dist.destroy_process_group()


def mixed_precision_case(state_path, tau, input_ids, attention, labels, counts):
    """accelerate's FSDP2 policy for bf16: parameters gathered in bf16, module outputs cast to bf16."""
    from torch.distributed.fsdp import MixedPrecisionPolicy

    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32,
                                  output_dtype=torch.bfloat16)
    cfg = objective("profit", "global", tau)
    found = {}
    for impl in ("lean", "plain"):
        model = shard(build_model(state_path).float(), "accelerate", policy)
        if impl == "lean":
            head = LeanHead(model.lm_head)
            with head.computing(labels, cfg, counts=counts):
                outputs = model(input_ids=input_ids, attention_mask=attention)
            out = head.output(outputs.logits)
            found["carrier_dtype"] = str(outputs.logits.dtype)
        else:
            logits = model(input_ids=input_ids, attention_mask=attention).logits
            out = selective_loss(logits, labels, cfg, counts=counts)
        (out.loss * WORLD).backward()
        loss = out.loss.detach().double().reshape(1)
        dist.all_reduce(loss)
        found[impl] = (str(out.loss.dtype), float(loss), full_grads(model))
    return found


@pytest.fixture(scope="module")
def state_path():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state.pt")
        torch.save(build_model().state_dict(), path)
        yield path


@pytest.fixture(scope="module")
def tau(state_path):
    return gate_between_probabilities(state_path)


@pytest.fixture(scope="module")
def fsdp_results(state_path, tau):
    """Every case under 2-process FSDP2, from one spawn (process start-up dominates the cost)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "fsdp.pt")
        mp.spawn(_fsdp_worker, args=(state_path, tau, out, free_port()), nprocs=WORLD, join=True)
        return torch.load(out)


def reference(state_path, layout, cfg):
    """One process, the plain loss, the same two micro-batches accumulated: loss, statistics, gradients."""
    model = build_model(state_path)
    model = untied(model) if layout == "own-unit" else model
    parts = micro_batches()
    totals = sum(local_counts(rows) for rows in parts)
    counts = BatchCounts(tokens=float(totals[0]), sequences=float(totals[1]), micro_batches=float(len(parts)))
    summed = torch.zeros(5, dtype=torch.float64)
    for rows in parts:
        input_ids, attention, labels = collate(rows)
        out = selective_loss(model(input_ids=input_ids, attention_mask=attention).logits, labels, cfg, counts=counts)
        out.loss.backward()
        summed += torch.stack([out.loss.detach(), *out.stats.as_tensor().double()])
    return summed, {n: p.grad.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("norm", NORMALIZATIONS)
@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_lean_in_the_head_equals_the_single_process_plain_loss(layout, name, norm, state_path, tau, fsdp_results):
    cfg = objective(name, norm, tau)
    want_summed, want_grads = reference(state_path, layout, cfg)
    got_summed, got_grads = fsdp_results[(layout, name, norm)]
    if name != "sft":  # the gate keeps some tokens and masks others
        assert 0 < float(want_summed[2]) < float(want_summed[1])
    torch.testing.assert_close(got_summed, want_summed, rtol=1e-12, atol=1e-14)  # loss, token statistics
    assert set(got_grads) == set(want_grads)
    assert any(torch.count_nonzero(g) for g in want_grads.values())
    for param, g in want_grads.items():
        torch.testing.assert_close(got_grads[param], g, rtol=1e-9, atol=1e-12, msg=f"{layout} {name} {norm} {param}")


def test_fsdp2_mixed_precision_keeps_the_loss_in_float32(fsdp_results):
    found = fsdp_results["bf16"]
    assert found["carrier_dtype"] == "torch.bfloat16"  # FSDP2 cast the model's outputs, the carrier included
    lean_dtype, lean_loss, lean_grads = found["lean"]
    plain_dtype, plain_loss, plain_grads = found["plain"]
    assert lean_dtype == plain_dtype == "torch.float32"
    assert lean_loss == pytest.approx(plain_loss, rel=1e-3)
    for param, g in plain_grads.items():
        # lean accumulates lm_head's gradient in float32 where plain goes through bf16: equal to bf16 rounding
        assert float((lean_grads[param] - g).norm()) <= 2e-2 * float(g.norm()) + 1e-6, param


# ---- end to end: `profit train` under accelerate launch -------------------------------------------------------------

SHIM = """\
# training.cpu_fsdp's patch (FSDP on CPU), plus the test's probe: was the model really sharded?
import json, os, sys  # noqa: E401

from training.cpu_fsdp import enable_fsdp_on_cpu
from training.trainer import ProfitTrainer

enable_fsdp_on_cpu()
_compute_loss = ProfitTrainer.compute_loss


def compute_loss(self, model, inputs, *args, **kwargs):
    if not getattr(self, "_probed", False):
        self._probed = True
        weight = model.get_output_embeddings().weight
        with open(os.environ["PROFIT_FSDP_PROBE"], "a") as f:
            f.write(json.dumps({"fsdp": self.is_fsdp_enabled, "model": type(model).__name__,
                                "head": type(weight).__name__}) + "\\n")
    return _compute_loss(self, model, inputs, *args, **kwargs)


ProfitTrainer.compute_loss = compute_loss

from training.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
"""


def launch_fsdp2(config, tmp_path) -> Path:
    """`profit train` on `config` under `accelerate launch` with the FSDP2 CPU config (through the shim); the run's
    output folder, after checking that both ranks ran sharded."""
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config.to_dict()))
    (tmp_path / "shim.py").write_text(SHIM)
    probe = tmp_path / "probe.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PROFIT_FSDP_PROBE": str(probe)}
    cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file",
           str(ROOT / "configs" / "accelerate" / "fsdp2-cpu.yaml"), "--main_process_port", str(free_port()),
           str(tmp_path / "shim.py"), "--config", str(tmp_path / "run.yaml")]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    # A crashed rank's own lines first: the other rank's broadcast error would otherwise fill the message.
    crashed = [line for line in done.stderr.splitlines() if line.startswith("[rank1]")]
    assert done.returncode == 0, "\n".join(crashed[-40:]) + "\n" + done.stderr[-2000:]

    probes = [json.loads(line) for line in probe.read_text().splitlines()]
    assert probes == [{"fsdp": True, "model": "FSDPQwen3ForCausalLM", "head": "DTensor"}] * 2  # sharded, 2 ranks
    out = Path(config.output_dir)
    assert json.loads((out / "profit_run.json").read_text())["complete"] is True
    return out


LEAN = {"objective": {"objective": "profit", "strategy": "higher", "tau": 0.002, "normalization": "sequence"},
        "loss_impl": "lean", "optim": "sgd", "learning_rate": 0.5, "per_device_batch_size": 1, "max_steps": 3}


def test_profit_train_under_accelerate_fsdp2_matches_one_process(quick_config, tmp_path):
    single = train(quick_config(gradient_accumulation_steps=2, output_dir=str(tmp_path / "single"), **LEAN))
    out = launch_fsdp2(quick_config(gradient_accumulation_steps=1, output_dir=str(tmp_path / "fsdp"), **LEAN),
                       tmp_path)

    logged = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len([r for r in logged if "kept_fraction" in r]) == 3
    a, b = load_file(str(single / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert set(a) == set(b)  # the tied output layer saved once, as one process saves it
    # Same micro-batches; FSDP2 averages the reduce-scattered gradients in another order (observed 2.6e-8).
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6

    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(out)
    for name, p in loaded.state_dict().items():
        if name in a:
            assert (p - a[name]).abs().max().item() < 1e-6, name


def test_fsdp2_gathers_the_fp32_master_weights_of_a_bf16_base_and_saves_them_in_bf16(quick_config, bf16_base,
                                                                                        tmp_path):
    settings = {**LEAN, "objective": {"objective": "sft"}, "model": str(bf16_base), "precision": "bf16"}
    single = train(quick_config(gradient_accumulation_steps=2, output_dir=str(tmp_path / "single"), **settings))
    out = launch_fsdp2(quick_config(gradient_accumulation_steps=1, output_dir=str(tmp_path / "fsdp"), **settings),
                       tmp_path)

    from transformers import AutoModelForCausalLM

    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    assert AutoModelForCausalLM.from_pretrained(out).dtype == torch.bfloat16
    a, b = load_file(str(single / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert set(a) == set(b) and {t.dtype for t in b.values()} == {torch.bfloat16}

    # Not bit-equal: one process computes under autocast, FSDP2 under accelerate's bf16 policy (parameters cast to
    # bf16 for every op). Observed: losses within 3e-5, the whole update within 0.7%.
    losses = [[r["loss"] for r in map(json.loads, (folder / "train_log.jsonl").read_text().splitlines())
               if "kept_fraction" in r] for folder in (single, out)]
    assert len(losses[1]) == 3 and losses[1] == pytest.approx(losses[0], rel=1e-3)
    base = load_file(str(bf16_base / "model.safetensors"))
    update_single = torch.cat([(a[k].float() - base[k].float()).flatten() for k in sorted(a)])
    update_fsdp = torch.cat([(b[k].float() - base[k].float()).flatten() for k in sorted(a)])
    assert float(update_single.norm()) > 0.5  # it trained
    assert float((update_fsdp - update_single).norm()) < 0.05 * float(update_single.norm())
