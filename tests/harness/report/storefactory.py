"""Hand-made results stores in the record format of docs/formats.md, for the report tests."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

SAMPLING = {"preset": "paper", "temperature": 0.7, "top_p": 0.8, "top_k": 20, "max_gen_toks": 512}
VERSIONS = {"vllm": "0.32.0", "lm_eval": "0.4.13", "torch": "2.13.0+cpu", "transformers": "5.19.0"}


def run(base: str, objective: str, seed: int, strategy: str = "higher", tau: float = 0.1,
        kept: float | None = None, finetuning: str = "full") -> dict:
    """profit_run.json content for a trained checkpoint."""
    obj = {"objective": objective, "strategy": strategy, "tau": tau, "tau_high": 1.0, "entropy_ratio": 0.2,
           "quantile": 0.8, "normalization": "global"}
    method = f"profit[{strategy} {tau}]" if objective == "profit" else objective
    return {"schema": 1, "base_model": f"/models/{base}", "base_model_name": base, "method": method,
            "objective": obj, "seed": seed, "finetuning": finetuning,
            "kept_fraction": {"mean": 1.0 if kept is None else kept, "first": 1.0, "last": 1.0},
            "chat_template_sha256": "c" * 64, "versions": {"torch": "2.13.0+cpu", "transformers": "5.19.0"},
            "complete": True}


def record(store: Path, *, task: str, scores: list[list[int]], run: dict | None = None,
           model_path: str | None = None, label: str | None = None, stderr: float | None = None,
           eval_seed: int = 1234, preset: str = "paper", doc_ids: list | None = None, created: str = "") -> dict:
    """Write one record. scores[i] = the repeats of doc i; value and (unless given) item stderr follow from them."""
    per_doc = [sum(s) / len(s) for s in scores]
    value = sum(sum(s) for s in scores) / sum(len(s) for s in scores)
    if stderr is None:
        mean = sum(per_doc) / len(per_doc)
        stderr = math.sqrt(sum((x - mean) ** 2 for x in per_doc) / (len(per_doc) - 1) / len(per_doc))
    if model_path is None:
        model_path = f"/ckpt/{run['base_model_name']}-{run['method']}-s{run['seed']}" if run else "/models/base"
    content_hash = hashlib.sha256(model_path.encode()).hexdigest()
    sampling = {**SAMPLING, "preset": preset, "repeats": len(scores[0])}
    ident = {"model_hash": content_hash, "task": task, "task_version": 1, "sampling": sampling, "seed": eval_seed,
             "harness_version": "0.1.0"}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]
    rec = {
        "schema": 1, "key": key,
        "model": {"path": model_path, "content_hash": content_hash, "label": label or Path(model_path).name,
                  "run": run},
        "task": {"name": task, "version": 1, "n_docs": len(scores), "limit": None},
        "sampling": sampling, "seed": eval_seed, "backend": "vllm", "harness_version": "0.1.0",
        "metrics": {"acc": {"value": value, "stderr": stderr}},
        "primary_metric": "acc",
        "per_doc": {"doc_ids": doc_ids or list(range(len(scores))), "scores": scores},
        "chat_template_sha256": "a" * 64, "versions": VERSIONS,
        "hardware": {"cpu": "test-cpu", "gpu": None, "cores": 2},
        "timings": {"total_s": 1.0}, "created": created or "2026-11-29T07:00:00Z",
    }
    folder = Path(store) / "records"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return rec


def ones(k: int, n: int, repeats: int = 1) -> list[list[int]]:
    """n docs, repeats each, with the first k scores (doc-major) correct."""
    flat = [1] * k + [0] * (n * repeats - k)
    return [flat[i * repeats:(i + 1) * repeats] for i in range(n)]


def tiny_store(store: Path) -> Path:
    """The store the exact-table test reads: one base model, GSM8K (5 docs x 2) and the testbed (5 docs x 1).

    accuracy %      base  SFT s1/s2  DFT  ProFit h0.1 s1/s2  h0.5  l0.5
    GSM8K           40    60/80      90   80/90              70    50
    testbed         20    60/80      -    100/80             80    40
    """
    gsm, tb = "profit_gsm8k", "profit_testbed"
    base = {"model_path": "/models/tiny-base", "run": None}
    record(store, task=gsm, scores=ones(4, 5, 2), stderr=0.03, **base)
    record(store, task=tb, scores=ones(1, 5), stderr=0.04, **base)
    for seed, g, t in ((1, 6, 3), (2, 8, 4)):
        record(store, task=gsm, scores=ones(g, 5, 2), run=run("tiny-base", "sft", seed))
        record(store, task=tb, scores=ones(t, 5), run=run("tiny-base", "sft", seed))
    record(store, task=gsm, scores=ones(9, 5, 2), stderr=0.02, run=run("tiny-base", "dft", 1))
    for seed, g, t in ((1, 8, 5), (2, 9, 4)):
        r = run("tiny-base", "profit", seed, "higher", 0.1, kept=0.9 + 0.02 * seed)
        record(store, task=gsm, scores=ones(g, 5, 2), run=r)
        record(store, task=tb, scores=ones(t, 5), run=r)
    for strategy, tau, g, t, kept in (("higher", 0.5, 7, 4, 0.6), ("lower", 0.5, 5, 2, 0.4)):
        r = run("tiny-base", "profit", 1, strategy, tau, kept=kept)
        record(store, task=gsm, scores=ones(g, 5, 2), stderr=0.03, run=r)
        record(store, task=tb, scores=ones(t, 5), stderr=0.04, run=r)
    return store


PAPER_TASKS = {"profit_gsm8k": 1319, "profit_math500": 500, "profit_aime24": 30, "profit_gpqa_diamond": 198,
               "profit_ifeval": 541}


def synthetic_store(store: Path, n_records: int, docs_scale: float = 1.0, repeats: int = 8) -> int:
    """About n_records records of a realistic grid (bases x methods x τ x 3 seeds x the paper's five tasks).

    Scores are drawn from a seeded generator; doc counts are the benchmarks' own times docs_scale.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    methods = [("sft", "higher", 0.1), ("dft", "higher", 0.1), ("entropy", "higher", 0.1)]
    methods += [("profit", s, t) for s in ("higher", "lower") for t in (0.1, 0.3, 0.5, 0.7, 0.9)]
    written, b = 0, 0
    while written < n_records:
        base = f"synthetic-base-{b}"
        for seed in (1, 2, 3):
            for i, (objective, strategy, tau) in enumerate([("base", "", 0.0), *methods]):
                kept = min(1.0, 0.1 + tau) if strategy == "lower" else 1 - 0.6 * tau
                r = None if objective == "base" else run(base, objective, seed, strategy, tau, kept=kept)
                path = f"/ckpt/{base}/{i}-s{seed}" if r else f"/models/{base}"
                for task, n in PAPER_TASKS.items():
                    if written >= n_records:
                        return written
                    n = max(2, int(n * docs_scale))
                    p = rng.uniform(0.2, 0.8)
                    scores = (rng.random((n, repeats)) < p).astype(int).tolist()
                    record(store, task=task, scores=scores, run=r, model_path=path, eval_seed=1000 + seed)
                    written += 1
        b += 1
    return written


if __name__ == "__main__":
    # Regenerates the example in docs/report.md: python -m tests.harness.report.storefactory STORE [N_RECORDS]
    import sys

    target = Path(sys.argv[1])
    print(synthetic_store(target, int(sys.argv[2]) if len(sys.argv) > 2 else 210), "records in", target)
