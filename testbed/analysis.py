"""Core vs trivial token probabilities of a model, teacher-forced on held-out references with exact labels.

This is the testbed's version of the paper's §4.1 / Fig. 3 analysis (Gemini-labelled tokens, Qwen3-4B-Base:
mean p of core 0.768 vs trivial 0.485). What each method then trained on is in kept.py. The output format
(`token_analysis.json`) is profit_core/formats/token_analysis.py. References are rendered as the design variant
does (variants.py): the one given, else the one whose SFT data the runs trained on, else the one the base was
built for.

`continuation` measures the new skill itself: the base's probability of going on after step 3 of a 4-5-step chain.

The same analysis runs on real data with rule labels (testbed/gsm8k_labels.py): `source` names the labeller, whose
held-out references (the GSM8K test solutions) replace the testbed's; a token with core and trivial characters is
then counted as `mixed` (testbed/encode.py), its own class.
"""

from __future__ import annotations

from pathlib import Path

import torch

from profit_core.formats import base_build, run_manifest
from profit_core.model_folder import check_model_folder
from training.data.render import IGNORE_INDEX, ChatRenderer

from .batching import collate
from .data import variant_of
from .encode import TOKEN_LABEL_NAMES, class_names, encode
from .render import LABEL_NAMES, NEUTRAL
from .splits import TestbedSpec, references
from .variants import DEFAULT
from .wording import SEEN

BINS = 20
WORDINGS = {"sft": None, "pretrain": "pretrain"}  # report key -> wording style (None: the variant's SFT wording)
TESTBED = "testbed"  # the reference source of a testbed base: its own held-out problems, exact labels
LOGITS_BUDGET = 1 << 28  # float32 logits per teacher-forced batch (1 GiB): a real vocabulary gets smaller batches


def rule_references() -> dict:
    """Rule labellers (the `labeller` of a labels file) -> (what their held-out references are, n -> the first n,
    labelled by the same rules)."""
    from . import gsm8k_labels

    return {gsm8k_labels.LABELLER: ("GSM8K test solutions (tasks/profit_gsm8k/data/test.jsonl)",
                                    gsm8k_labels.references)}


def batch_size_for(model, batch_size: int = 64, length: int = 512) -> int:
    """At most `batch_size` references of up to `length` tokens whose logits fit LOGITS_BUDGET."""
    return max(1, min(batch_size, LOGITS_BUDGET // (model.config.vocab_size * length)))


def _forward(model, tokenizer, refs, batch_size: int, mixed: bool = False):
    """(encoded references, batch, logits) per batch of teacher-forced references (`mixed`: encode.token_label)."""
    renderer = ChatRenderer.choose(tokenizer)
    model.eval()
    for start in range(0, len(refs), batch_size):
        encoded = [encode(renderer, r, mixed=mixed) for r in refs[start : start + batch_size]]
        batch = collate(encoded, tokenizer.pad_token_id)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        yield encoded, batch, logits


@torch.no_grad()
def supervised_probabilities(model, tokenizer, refs, batch_size: int = 64,
                             mixed: bool = False) -> tuple[torch.Tensor, list[str]]:
    """p of every supervised token (the answer + its end-of-turn marker, as profit train masks it) and its label
    (`mixed`: rule labels, see encode.token_label)."""
    probs, labels = [], []
    for encoded, batch, logits in _forward(model, tokenizer, refs, batch_size, mixed):
        targets = batch["labels"][:, 1:]
        supervised = targets != IGNORE_INDEX
        logp = torch.log_softmax(logits[:, :-1][supervised], dim=-1)
        probs.append(logp.gather(-1, targets[supervised][:, None]).squeeze(-1).exp())
        labels.extend(TOKEN_LABEL_NAMES[c] for e in encoded for c in e.supervised_labels)
    return torch.cat(probs), labels


def _first_word_token(tokenizer, text: str) -> int:
    """The first token of `text` that is not whitespace alone (a small vocabulary may not merge a space into the
    word after it)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return next(i for i in ids if tokenizer.decode([i]).strip())


@torch.no_grad()
def continuation(model, tokenizer, refs, equation_first: bool, step: int = 3, batch_size: int = 64) -> dict:
    """Where each reference longer than `step` steps goes on after step `step` (teacher-forced): the mean p of the
    token that carries the decision (`p_token`: the first token after the step's period that is not a separator;
    its labels counted in `labels`) and the mean p(continue) at the same place, the summed p of every token that
    opens a next step in the pretraining format: any digit when the equation comes first, else the first token of
    any opener of the pretraining pools."""
    starts = [f" {d}" for d in range(10)] if equation_first else [f" {opener}" for opener in SEEN.next]
    go_on = torch.tensor(sorted({_first_word_token(tokenizer, s) for s in starts}))
    period = _first_word_token(tokenizer, ".")
    p_token, p_continue, labels = [], [], {}
    for encoded, _, logits in _forward(model, tokenizer, [r for r in refs if r.steps > step], batch_size):
        for row, e in enumerate(encoded):
            # The step's period is the step-th supervised "." (only the steps and the answer end with one).
            ends = [i for i, lab in enumerate(e.labels) if lab != IGNORE_INDEX and e.input_ids[i] == period]
            decisive = next(i for i in range(ends[step - 1] + 1, len(e.token_labels)) if e.token_labels[i] != NEUTRAL)
            p = torch.softmax(logits[row, decisive - 1], dim=-1)
            p_token.append(float(p[e.input_ids[decisive]]))
            p_continue.append(float(p[go_on].sum()))
            name = LABEL_NAMES[e.token_labels[decisive]]
            labels[name] = labels.get(name, 0) + 1
    if not p_token:
        raise ValueError(f"no reference has more than {step} steps")
    return {"step": step, "n": len(p_token), "p_token": _mean(torch.tensor(p_token)),
            "p_continue": _mean(torch.tensor(p_continue)), "labels": labels}


def summarize(p: torch.Tensor, labels: list[str], mixed: bool = False) -> dict:
    """One `models[]` entry of token_analysis.json (docs/formats.md), without its label (`mixed`: with the mixed
    class of rule labels)."""
    names = class_names(mixed)
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


def built_variant(model_dir) -> str:
    """The variant a testbed base was built for (its base_build.json); the default for any other folder."""
    record = base_build.read(model_dir) or {}
    return record.get("config", {}).get("spec", {}).get("variant", DEFAULT)


def token_probabilities(model_dir, n: int = 300, spec: TestbedSpec | None = None, label: str | None = None,
                        source: str = TESTBED) -> list:
    """Teacher-forced core / trivial / neutral token probabilities of the model in `model_dir` on the first n
    held-out test problems: two `models[]` entries of token_analysis.json, the references worded like the SFT data
    (the tokens the gate sees in training) and like the pretraining corpus, both laid out as `spec`'s variant does
    (default: the variant the model was built for).

    `source` a rule labeller (rule_references()) instead: one entry, on the first n of its held-out references
    labelled by its rules, with the `mixed` class."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    check_model_folder(model_dir)
    if source != TESTBED:
        rules = rule_references()
        if source not in rules:
            raise ValueError(f"unknown reference source {source!r} (known: {', '.join([TESTBED, *rules])})")
        what, make = rules[source]
        sets = {what: make(n)}
    else:
        spec = spec or TestbedSpec(variant=built_variant(model_dir))
        if not 1 <= n <= spec.n_test:
            raise ValueError(f"n must be in [1, {spec.n_test}] (the test split's size), got {n}")
        sets = {key: references(spec, "test", style)[:n] for key, style in WORDINGS.items()}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    run = run_manifest.read_or_none(model_dir)
    method = run.get("method", "trained") if run else "base"
    label = label or ("testbed-base" if method == "base" else model_dir.name)
    models = []
    mixed = source != TESTBED
    for key, refs in sets.items():
        p, labels = supervised_probabilities(model, tokenizer, refs, batch_size_for(model), mixed=mixed)
        entry = ({"label": f"{label} ({len(refs)} {key.split(' (')[0]})", "references": key, "labels": source}
                 if mixed else {"label": f"{label} ({key} wording)", "wording": key})
        models.append({**entry, "method": method, **summarize(p, labels, mixed=mixed)})
    return models


def _mean(x: torch.Tensor) -> float | None:
    return round(float(x.mean()), 4) if x.numel() else None


def _data_variant(manifests: list[dict]) -> str | None:
    """The variant whose SFT data the runs trained on, when they all trained on the same variant's."""
    found = {variant_of(m["data"]["path"]) for m in manifests}
    return found.pop() if len(found) == 1 else None


def analysis(bases: dict[str, Path], runs=(), n: int = 300, variant: str | None = None,
             sources: dict[str, str] | None = None) -> dict:
    """The token_analysis.json document (profit_core/formats/token_analysis.py): each base's teacher-forced p of
    core / trivial tokens (by name; a built testbed base is named by its weights' hash, not its cache path) on
    references rendered as `variant` does (default: as the data of the base's runs, else as the base was built),
    and what each training run kept. `sources`: base name -> a rule labeller (token_probabilities' `source`) for
    a base trained on rule-labelled data; the others are testbed bases."""
    from .kept import kept_shares

    manifests = [run_manifest.read(run) for run in runs]
    kept = []  # first: it refuses a run that is not a finished training run
    for run, manifest in zip(runs, manifests):
        kept.append({"base": manifest["base_model_name"], "method": manifest["method"],
                     "objective": manifest["objective"], "seed": manifest["seed"], **kept_shares(run)})
    kept.sort(key=lambda r: (r["base"], r["method"], r["seed"]))
    models = []
    sources = {name: (sources or {}).get(name, TESTBED) for name in bases}
    for name, folder in bases.items():
        if sources[name] != TESTBED:
            models += token_probabilities(folder, n=n, label=name, source=sources[name])
            continue
        chosen = variant or _data_variant([m for m in manifests if m["base_model_name"] == name])
        spec = TestbedSpec(variant=chosen) if chosen else None
        models += token_probabilities(folder, n=n, spec=spec, label=name)
    weights = {name: (base_build.read(folder) or {}).get("weights_sha256") for name, folder in bases.items()}
    described = [f"profit_testbed, {n} held-out test problems teacher-forced; kept shares from the runs' token logs; "
                 "exact core/trivial labels"] if TESTBED in sources.values() else []
    described += [f"{rule_references()[s][0]}, the first {n} teacher-forced; kept shares from the runs' token logs; "
                  f"rule labels {s} (tokens with core and trivial characters: mixed)"
                  for s in sorted(set(sources.values()) - {TESTBED})]
    return {"source": " | ".join(described), "base_weights_sha256": weights, "models": models, "runs": kept}
