"""Core vs trivial token probabilities of a model, teacher-forced on held-out references with exact labels.

This is the testbed's version of the paper's §4.1 / Fig. 3 analysis (Gemini-labelled tokens, Qwen3-4B-Base:
mean p of core 0.768 vs trivial 0.485). What each method then trained on is in kept.py. The output format
(`token_analysis.json`) is profit_core/formats/token_analysis.py.
"""

from __future__ import annotations

from pathlib import Path

import torch

from profit_core.formats import base_build, run_manifest
from profit_core.model_folder import check_model_folder
from training.data.render import IGNORE_INDEX, ChatRenderer

from .batching import collate
from .encode import encode
from .render import LABEL_NAMES
from .splits import TestbedSpec, references

BINS = 20
WORDINGS = {"sft": "shifted", "pretrain": "pretrain"}  # report key -> wording style of the references


@torch.no_grad()
def supervised_probabilities(model, tokenizer, refs, batch_size: int = 64) -> tuple[torch.Tensor, list[str]]:
    """p of every supervised token (the answer + its end-of-turn marker, as profit train masks it) and its label."""
    renderer = ChatRenderer.choose(tokenizer)
    probs, labels = [], []
    model.eval()
    for start in range(0, len(refs), batch_size):
        encoded = [encode(renderer, r) for r in refs[start : start + batch_size]]
        batch = collate(encoded, tokenizer.pad_token_id)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        targets = batch["labels"][:, 1:]
        supervised = targets != IGNORE_INDEX
        logp = torch.log_softmax(logits[:, :-1][supervised], dim=-1)
        probs.append(logp.gather(-1, targets[supervised][:, None]).squeeze(-1).exp())
        labels.extend(LABEL_NAMES[c] for e in encoded for c in e.supervised_labels)
    return torch.cat(probs), labels


def summarize(p: torch.Tensor, labels: list[str]) -> dict:
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
    }


def token_probabilities(model_dir, n: int = 300, spec: TestbedSpec | None = None, label: str | None = None) -> list:
    """Teacher-forced core / trivial / neutral token probabilities of the model in `model_dir` on the first n
    held-out test problems: two `models[]` entries of token_analysis.json, the references worded like the SFT data
    (the tokens the gate sees in training) and like the pretraining corpus."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    check_model_folder(model_dir)
    spec = spec or TestbedSpec()
    if not 1 <= n <= spec.n_test:
        raise ValueError(f"n must be in [1, {spec.n_test}] (the test split's size), got {n}")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    run = run_manifest.read_or_none(model_dir)
    method = run.get("method", "trained") if run else "base"
    label = label or ("testbed-base" if method == "base" else model_dir.name)
    models = []
    for key, style in WORDINGS.items():
        refs = references(spec, "test", style)[:n]
        p, labels = supervised_probabilities(model, tokenizer, refs)
        models.append({"label": f"{label} ({key} wording)", "method": method, "wording": key,
                       **summarize(p, labels)})
    return models


def _mean(x: torch.Tensor) -> float | None:
    return round(float(x.mean()), 4) if x.numel() else None


def analysis(bases: dict[str, Path], runs=(), n: int = 300) -> dict:
    """The token_analysis.json document (profit_core/formats/token_analysis.py): each base's teacher-forced p of
    core / trivial tokens (by name; a built testbed base is named by its weights' hash, not its cache path) and
    what each training run kept."""
    from .kept import kept_shares

    models = [m for name, folder in bases.items() for m in token_probabilities(folder, n=n, label=name)]
    weights = {name: (base_build.read(folder) or {}).get("weights_sha256") for name, folder in bases.items()}
    kept = []
    for run in runs:
        manifest = run_manifest.read(run)
        kept.append({"base": manifest["base_model_name"], "method": manifest["method"],
                     "objective": manifest["objective"], "seed": manifest["seed"], **kept_shares(run)})
    kept.sort(key=lambda r: (r["base"], r["method"], r["seed"]))
    return {"source": f"profit_testbed, {n} held-out test problems teacher-forced; kept shares from the runs' "
                      "token logs; exact core/trivial labels",
            "base_weights_sha256": weights, "models": models, "runs": kept}
