"""Paired bootstrap over questions: is a method's accuracy different from SFT's on the same base model?

Each question's score is its mean over repeats and seeds. Questions are resampled with replacement, the same
resample for both methods (paired), and the two-sided p-value is the share of resampled mean differences at least
as far from the observed difference as the observed difference is from zero (the null-centred percentile test of
Efron & Tibshirani 1993, §16.4), with the +1 correction so p is never 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from harness.report.aggregate import Row, Table
from harness.report.benchmarks import Benchmark
from harness.report.store import Result

RESAMPLES = 10_000
SEED = 20260109  # fixed: the same store gives the same p-values
_CHUNK_CELLS = 2_000_000  # resample indices held at once (memory bound)


@dataclass(frozen=True)
class Comparison:
    row: Row
    ref: Row
    bench: Benchmark
    n_docs: int
    mean: float
    ref_mean: float
    p_value: float


def _doc_means(results: list[Result]) -> tuple[tuple, np.ndarray] | None:
    """(doc ids, each doc's score averaged over the replicates that have it); None without per-doc scores."""
    scored = [r for r in results if r.doc_scores is not None]
    if not scored:
        return None
    if all(r.doc_ids == scored[0].doc_ids for r in scored):  # the usual case, vectorised
        return scored[0].doc_ids, np.mean([r.doc_scores for r in scored], axis=0)
    sums: dict = defaultdict(float)
    counts: dict = defaultdict(int)
    for r in scored:
        for doc, score in zip(r.doc_ids, r.doc_scores.tolist()):
            sums[doc] += score
            counts[doc] += 1
    ids = tuple(sums)
    return ids, np.array([sums[d] / counts[d] for d in ids])


def _paired(a: tuple[tuple, np.ndarray], b: tuple[tuple, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the questions both sides have, in one fixed order."""
    if a[0] == b[0]:
        return a[1], b[1]
    index_a, index_b = {d: i for i, d in enumerate(a[0])}, {d: i for i, d in enumerate(b[0])}
    common = sorted(set(index_a) & set(index_b), key=_doc_order)
    return (np.array([a[1][index_a[d]] for d in common], dtype=float),
            np.array([b[1][index_b[d]] for d in common], dtype=float))


def _doc_order(doc):
    return (type(doc).__name__, doc) if isinstance(doc, (int, float, str)) else ("~", repr(doc))


def p_values(diffs: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Two-sided paired-bootstrap p-values for the columns of diffs (n questions x m comparisons)."""
    n, m = diffs.shape
    observed = diffs.mean(axis=0)
    # Seeded by n alone, so a comparison's p-value does not depend on which other comparisons the store holds.
    rng = np.random.default_rng([seed, n])
    far = np.zeros(m)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        counts = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
        boot = counts @ diffs / n
        far += (np.abs(boot - observed) >= np.abs(observed) - 1e-12).sum(axis=0)
    return (far + 1.0) / (resamples + 1.0)


def compare_to_sft(table: Table, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[list[Comparison], list[str]]:
    by_key = {row.key: row for row in table.rows}
    pending: dict[int, list[tuple[Row, Row, Benchmark, np.ndarray, np.ndarray]]] = defaultdict(list)
    notes = []
    for row in table.rows:
        ref = by_key.get(row.ref) if row.ref else None
        if ref is None:
            continue
        for bench in table.benches:
            if bench.task not in row.results or bench.task not in ref.results:
                continue
            mine, theirs = _doc_means(row.results[bench.task]), _doc_means(ref.results[bench.task])
            a, b = _paired(mine, theirs) if mine and theirs else (np.empty(0), np.empty(0))
            if not len(a):
                notes.append(f"significance: {row.key.base} {row.key.method} {bench.label}: no per-question scores "
                             "shared with SFT")
                continue
            pending[len(a)].append((row, ref, bench, a, b))
    out = []
    for n in sorted(pending):
        group = pending[n]
        diffs = np.stack([a - b for _, _, _, a, b in group], axis=1)
        for (row, ref, bench, a, b), p in zip(group, p_values(diffs, resamples, seed)):
            out.append(Comparison(row, ref, bench, n, float(a.mean()), float(b.mean()), float(p)))
    order = {row.key: i for i, row in enumerate(table.rows)}
    out.sort(key=lambda c: (order[c.row.key], c.bench))
    return out, notes
