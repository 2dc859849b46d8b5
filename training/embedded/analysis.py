"""Core vs trivial token probabilities of a model, teacher-forced on held-out references with exact labels.

This is the testbed's version of the paper's §4.1 / Fig. 3 analysis (Gemini-labelled tokens, Qwen3-4B-Base:
mean p of core 0.768 vs trivial 0.485), and of what the ProFit gate `p >= tau` does with those tokens.
The output format (`token_analysis.json`) is specified in docs/formats.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .batching import collate
from .encode import encode
from .render import LABEL_NAMES
from .splits import TestbedSpec, references

SCHEMA = 1
BINS = 20
DEFAULT_TAUS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
WORDINGS = {"sft": "shifted", "pretrain": "pretrain"}  # report key -> wording style of the references


@torch.no_grad()
def supervised_probabilities(model, tokenizer, refs, batch_size: int = 64) -> tuple[torch.Tensor, list[str]]:
    """p of every supervised token (solution + <|im_end|>) and its label, in order."""
    probs, labels = [], []
    model.eval()
    for start in range(0, len(refs), batch_size):
        encoded = [encode(tokenizer, r) for r in refs[start : start + batch_size]]
        batch = collate(encoded, tokenizer.pad_token_id)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = batch["labels"][:, 1:]
        for row, e in enumerate(encoded):
            n = len(e.input_ids)
            ids = targets[row, e.prompt_len - 1 : n - 1]
            probs.append(logp[row, e.prompt_len - 1 : n - 1].gather(-1, ids[:, None]).squeeze(-1).exp())
            labels.extend(LABEL_NAMES[c] for c in e.token_labels)
    return torch.cat(probs), labels


def summarize(p: torch.Tensor, labels: list[str], taus) -> dict:
    """One `models[]` entry of token_analysis.json (docs/formats.md), without its label."""
    names = list(LABEL_NAMES.values())
    by = {name: p[torch.tensor([lab == name for lab in labels], dtype=torch.bool)] for name in names}
    hist = {"edges": [round(i / BINS, 4) for i in range(BINS + 1)]}
    for name in names:
        q = by[name]
        counts = torch.histc(q, bins=BINS, min=0.0, max=1.0) if q.numel() else torch.zeros(BINS)
        hist[name] = [int(c) for c in counts]
    return {
        "hist": hist,
        "mean": {**{name: _mean(by[name]) for name in names}, "overall": _mean(p)},
        "count": {**{name: int(by[name].numel()) for name in names}, "overall": int(p.numel())},
        "kept_share": [
            {"strategy": "higher", "tau": float(tau), "core": _share(by["core"] >= tau),
             "trivial": _share(by["trivial"] >= tau), "all": _share(p >= tau)}
            for tau in taus
        ],
    }


def token_probabilities(model_dir, n: int = 300, taus=DEFAULT_TAUS, out: Path | None = None,
                        spec: TestbedSpec | None = None, label: str | None = None) -> dict:
    """Teacher-forced token statistics of the model in `model_dir` on the first n held-out test problems.

    Returns (and writes to `out`, when given) a token_analysis.json document with two `models` entries: the
    references in the SFT data's wording (the tokens the gate sees in training) and in the pretraining wording.
    The share of trivial tokens the gate REMOVES at tau is 1 - kept_share.trivial.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a model folder (no config.json)")
    spec = spec or TestbedSpec()
    if not 1 <= n <= spec.n_test:
        raise ValueError(f"n must be in [1, {spec.n_test}] (the test split's size), got {n}")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    run = model_dir / "profit_run.json"
    method = json.loads(run.read_text()).get("method", "trained") if run.is_file() else "base"
    label = label or ("embedded-base" if method == "base" else f"{model_dir.name}")
    models = []
    for key, style in WORDINGS.items():
        refs = references(spec, "test", style)[:n]
        p, labels = supervised_probabilities(model, tokenizer, refs)
        models.append({"label": f"{label} ({key} wording)", "method": method, "wording": key,
                       **summarize(p, labels, taus)})
    result = {
        "schema": SCHEMA,
        "source": f"profit_testbed v1, {n} held-out test problems, teacher-forced, exact core/trivial labels",
        "model_path": str(model_dir.resolve()),
        "models": models,
    }
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


def _mean(x: torch.Tensor) -> float | None:
    return round(float(x.mean()), 4) if x.numel() else None


def _share(mask: torch.Tensor) -> float | None:
    return round(float(mask.float().mean()), 4) if mask.numel() else None
