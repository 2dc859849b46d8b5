"""Read the results store's records (never the samples) into flat, validated results.

The store reads the files (a corrupt record is set aside there, in quarantine/); a record whose content the report
cannot use is skipped with a note naming its file and the reason. Nothing here raises on bad input except a
missing store folder (StoreError, a message for the user).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

import numpy as np

from harness.report.benchmarks import Benchmark, benchmark_of
from harness.report.rows import RowKey, method_fields, row_keys
from harness.store import Store, StoreError

__all__ = ["Loaded", "Result", "StoreError", "load_store"]


@dataclass(frozen=True)
class Result:
    """One record, reduced to what the report needs. Fractions in [0, 1], as stored."""

    file: str
    row: RowKey
    bench: Benchmark
    task_version: object
    n_docs: int | None
    n_scored: int | None  # questions actually scored (after a limit)
    limit: object
    preset: str
    sampling: dict
    train_seed: object
    eval_seed: object
    content_hash: str
    label: str  # the checkpoint's folder name
    value: float
    stderr: float | None
    doc_ids: tuple | None  # per-doc scores, averaged over repeats, aligned with doc_ids
    doc_scores: np.ndarray | None
    kept_fraction: float | None
    chat_template: str | None
    versions: dict
    run_versions: dict
    hardware: dict
    backend: str
    harness_version: str
    created: str


@dataclass
class Loaded:
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _per_doc(per_doc) -> tuple[tuple | None, np.ndarray | None, str | None]:
    """(doc_ids, per-doc mean over repeats) from `per_doc`; scores are doc-major: scores[i] = repeats of doc i."""
    if not per_doc:
        return None, None, None
    ids, scores = per_doc.get("doc_ids"), per_doc.get("scores")
    if not isinstance(ids, list) or not isinstance(scores, list) or len(ids) != len(scores) or not ids:
        return None, None, "per_doc.doc_ids and per_doc.scores must be lists of the same length"
    try:
        try:
            arr = np.asarray(scores, dtype=float)
            means = arr if arr.ndim == 1 else arr.reshape(len(scores), -1).mean(axis=1)
        except ValueError:  # repeats of unequal length per doc
            means = np.array([np.mean(s) if isinstance(s, list) else float(s) for s in scores], dtype=float)
    except (TypeError, ValueError):
        return None, None, "per_doc.scores holds something other than numbers"
    if not np.all(np.isfinite(means)):
        return None, None, "per_doc.scores holds a non-finite value"
    return tuple(ids), means, None


def _base_aliases(raws: list[dict]) -> dict[str, str]:
    """Lower-cased ways a base model is referred to -> the table name, from the trained runs that name it."""
    aliases: dict[str, str] = {}
    for raw in raws:
        run = (raw.get("model") or {}).get("run")
        if not isinstance(run, dict) or not run.get("base_model_name"):
            continue
        name = str(run["base_model_name"])
        for alias in (name, run.get("base_model")):
            if alias:
                for form in (str(alias), PurePath(str(alias).rstrip("/")).name):
                    aliases.setdefault(form.lower(), name)
    # One spelling per base model, whatever the case each run used.
    canon: dict[str, str] = {}
    for name in sorted(set(aliases.values())):
        canon.setdefault(name.lower(), name)
    return {alias: canon[name.lower()] for alias, name in aliases.items()}


def _base_name(model: dict, aliases: dict[str, str]) -> str:
    run = model.get("run")
    if isinstance(run, dict) and run.get("base_model_name"):
        return aliases.get(str(run["base_model_name"]).lower(), str(run["base_model_name"]))
    path = str(model.get("path") or "")
    for form in (path, PurePath(path.rstrip("/")).name, str(model.get("label") or "")):
        if form and form.lower() in aliases:
            return aliases[form.lower()]
    return str(model.get("label") or PurePath(path.rstrip("/")).name or "unknown")


def _result(file: str, raw: dict, aliases: dict[str, str]) -> tuple[Result | None, tuple, list[str]]:
    """The record as a Result whose `row` is still to be found (it depends on the other runs), with what finding
    it takes: (run, base name, method fields)."""

    def problem(msg: str) -> tuple[None, tuple, list[str]]:
        return None, (), [f"{file}: skipped, {msg}"]

    model, task, metrics = raw.get("model"), raw.get("task"), raw.get("metrics")
    if not isinstance(model, dict) or not isinstance(task, dict) or not task.get("name"):
        return problem("it lacks model or task.name")
    run = model.get("run")
    if run is not None and not isinstance(run, dict):
        return problem("model.run is neither an object nor null")
    primary = raw.get("primary_metric") or "acc"
    metric = (metrics or {}).get(primary) if isinstance(metrics, dict) else None
    value = _number(metric.get("value")) if isinstance(metric, dict) else None
    if value is None:
        return problem(f"metrics.{primary}.value is missing or not a number")
    notes = []
    doc_ids, doc_scores, why = _per_doc(raw.get("per_doc"))
    if why:
        notes.append(f"{file}: {why}; left out of the significance tests")
    sampling = raw.get("sampling") if isinstance(raw.get("sampling"), dict) else {}
    run = run or None
    try:
        method = method_fields(run)
    except (TypeError, ValueError, KeyError) as exc:
        return problem(f"model.run.objective is malformed ({exc})")
    base = _base_name(model, aliases)
    kept = (run or {}).get("kept_fraction")
    return Result(
        file=file,
        row=RowKey(base, **method),
        bench=benchmark_of(str(task["name"])),
        task_version=task.get("version"),
        n_docs=task.get("n_docs") if isinstance(task.get("n_docs"), int) else None,
        n_scored=task.get("n_scored") if isinstance(task.get("n_scored"), int) else (
            len(doc_ids) if doc_ids else None),
        limit=task.get("limit"),
        preset=str(sampling.get("preset", "")),
        sampling=sampling,
        train_seed=(run or {}).get("seed"),
        eval_seed=raw.get("seed"),
        content_hash=str(model.get("content_hash") or model.get("path") or file),
        label=str(model.get("label") or PurePath(str(model.get("path") or "")).name),
        value=value,
        stderr=_number(metric.get("stderr")),
        doc_ids=doc_ids,
        doc_scores=doc_scores,
        kept_fraction=_number(kept.get("mean")) if isinstance(kept, dict) else None,
        chat_template=raw.get("chat_template_sha256") or None,
        versions=dict(raw.get("versions") or {}),
        run_versions=dict((run or {}).get("versions") or {}),
        hardware=dict(raw.get("hardware") or {}),
        backend=str(raw.get("backend") or ""),
        harness_version=str(raw.get("harness_version") or ""),
        created=str(raw.get("created") or ""),
    ), (run, base, method), notes


def load_store(store: Path) -> Loaded:
    db = Store(store)
    if not db.records.is_dir():
        hint = " (it holds no records/ folder)" if Path(store).is_dir() else ""
        raise StoreError(f"no results store at {store}{hint}; run `profit eval` first or pass --store")
    db.check()
    loaded = Loaded()
    raws = [(f"records/{name}", raw) for name, raw in db.scan()]
    loaded.files = len(raws) + len(db.set_aside) + len(db.skipped)
    loaded.notes += db.set_aside + db.skipped
    aliases = _base_aliases([raw for _, raw in raws])
    found = []
    for name, raw in raws:
        result, how, notes = _result(name, raw, aliases)
        loaded.notes.extend(notes)
        if result is not None:
            found.append((result, how))
    keys = row_keys([how for _, how in found])
    loaded.results = [replace(result, row=key) for (result, _), key in zip(found, keys)]
    return loaded
