"""A minimal SFT loop on the testbed, to compare objectives quickly (the real recipe is `profit train`).

Same data, same masking (solution + <|im_end|>), same objectives (`training.objectives`) as the recipe, but no
Trainer, checkpointing or logging: a few seconds per run, so a whole methods x seeds grid fits in minutes.
Every run reports task accuracy, retention accuracy, teacher-forced core/trivial p, and which share of the
SFT data's core and trivial tokens the objective trained on (exact labels, averaged over training).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import torch

from ..objectives import ObjectiveConfig, selective_loss, token_weights
from .analysis import supervised_probabilities
from .batching import collate
from .encode import encode
from .evaluate import accuracy
from .render import LABEL_NAMES
from .schedule import warmup_cosine
from .splits import TestbedSpec, references, sft_examples


@dataclass(frozen=True)
class ProbeConfig:
    epochs: int = field(default=3, metadata={"help": "passes over the SFT data."})
    batch_size: int = field(default=16, metadata={"help": "examples per optimizer step."})
    lr: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (cosine to 0 after warmup)."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps in linear warmup."})
    n_sft: int = field(default=400, metadata={"help": "SFT examples used (the first n of the data)."})
    n_eval: int = field(default=300, metadata={"help": "held-out problems per split for greedy accuracy."})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (set for the whole process)."})

    def __post_init__(self) -> None:
        for name in ("batch_size", "n_sft", "n_eval", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"probe config: {name} must be positive, got {getattr(self, name)!r}")
        if self.epochs < 0 or not 0 < self.lr < 1 or not 0 <= self.warmup_ratio < 1:
            raise ValueError("probe config: epochs must be >= 0, lr in (0, 1), warmup_ratio in [0, 1)")


def _label_index(encoded) -> list[str]:
    return [LABEL_NAMES[c] for e in encoded for c in e.token_labels]


def run_probe(base_dir, objective: ObjectiveConfig | None, seed: int, cfg: ProbeConfig = ProbeConfig(),
              spec: TestbedSpec | None = None) -> dict:
    """Fine-tune the base in `base_dir` with `objective` (None: no training) and score it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = spec or TestbedSpec()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    data = [encode(tokenizer, r) for r in sft_examples(spec, 0)[: cfg.n_sft]]
    steps = cfg.epochs * -(-len(data) // cfg.batch_size) if objective is not None else 0
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.0)
    warmup = max(1, round(cfg.warmup_ratio * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, steps, warmup, 0.0))
    rng = random.Random(seed)
    kept = {"core": [0.0, 0], "trivial": [0.0, 0]}
    start = time.perf_counter()
    model.train()
    for _ in range(cfg.epochs if steps else 0):
        order = list(range(len(data)))
        rng.shuffle(order)
        for b in range(0, len(order), cfg.batch_size):
            examples = [data[i] for i in order[b : b + cfg.batch_size]]
            batch = collate(examples, tokenizer.pad_token_id)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            out = selective_loss(logits, batch["labels"], objective)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            _count_kept(kept, logits, batch["labels"], examples, objective)
    train_s = time.perf_counter() - start
    model.eval()
    test, retention = references(spec, "test")[: cfg.n_eval], references(spec, "retention")[: cfg.n_eval]
    p, labels = supervised_probabilities(model, tokenizer, test)
    is_label = {name: torch.tensor([lab == name for lab in labels]) for name in ("core", "trivial")}
    return {
        "method": objective.describe() if objective is not None else "base",
        "seed": seed,
        "acc_task": accuracy(model, tokenizer, test),
        "acc_retention": accuracy(model, tokenizer, retention),
        "p_core": float(p[is_label["core"]].mean()),
        "p_trivial": float(p[is_label["trivial"]].mean()),
        "kept_core": kept["core"][0] / kept["core"][1] if kept["core"][1] else None,
        "kept_trivial": kept["trivial"][0] / kept["trivial"][1] if kept["trivial"][1] else None,
        "steps": steps,
        "train_s": round(train_s, 1),
    }


@torch.no_grad()
def _count_kept(kept: dict, logits, labels, examples, objective: ObjectiveConfig) -> None:
    """Add this batch's per-label sum of token weights (as the objective just used them) to `kept`."""
    targets = labels[:, 1:]
    mask = targets != -100
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets.clamp_min(0)[..., None])[..., 0]
    p = logp[mask].exp()
    entropy = None
    if objective.needs_entropy:
        z = logits[:, :-1][mask].float()
        entropy = -(torch.softmax(z, -1) * torch.log_softmax(z, -1)).sum(-1)
    uniform = torch.rand(p.numel()) if objective.needs_uniform else None
    w = token_weights(objective, p, entropy, uniform)
    for name, lab in zip(_label_index(examples), w.tolist()):
        if name in kept:
            kept[name][0] += lab
            kept[name][1] += 1


def table(rows: list[dict]) -> str:
    """Markdown table: mean ± sample std over seeds per method, in the order methods first appear."""
    import statistics

    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    cols = [("acc_task", 100), ("acc_retention", 100), ("p_core", 100), ("p_trivial", 100), ("kept_core", 100),
            ("kept_trivial", 100)]
    lines = ["| method | seeds | " + " | ".join(c for c, _ in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for label, rs in groups.items():
        cells = []
        for col, scale in cols:
            values = [r[col] * scale for r in rs if r[col] is not None]
            if not values:
                cells.append("-")
                continue
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {sd:.1f}")
        lines.append(f"| {label} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
