"""Each method against SFT on the same base model, per benchmark, over training seeds and questions (stats.py).

A run is one checkpoint (one training seed): its records, one per evaluation seed, are averaged per question like
repeats. So with the usual one evaluation seed per checkpoint, the spread between runs is training-seed spread and
sampling noise of the evaluation together; the two cannot be told apart, and the test counts both. Runs are compared
on the questions every run of both sides scored (a note says when some run lacks questions the others have).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from harness.report import stats
from harness.report.aggregate import Row, Table
from harness.report.benchmarks import Benchmark
from harness.report.store import Result

RESAMPLES, SEED = stats.RESAMPLES, stats.SEED


@dataclass(frozen=True)
class Comparison:
    row: Row
    ref: Row
    bench: Benchmark
    n_docs: int
    run_means: tuple[float, ...]  # each run's mean over the compared questions, in training-seed order
    ref_run_means: tuple[float, ...]
    estimate: stats.Estimate
    p_questions: float | None  # questions only (runs averaged first); given only where a side has a single run

    @property
    def p_value(self) -> float:
        return self.estimate.p_value

    @property
    def mean(self) -> float:
        return float(np.mean(self.run_means))

    @property
    def ref_mean(self) -> float:
        return float(np.mean(self.ref_run_means))


def _seed_order(seed) -> tuple:
    return (0, seed, "") if isinstance(seed, int) and not isinstance(seed, bool) else (1, 0, str(seed))


def runs(results: list[Result]) -> list[list[Result]]:
    """The records grouped by checkpoint (one run per training seed), ordered by training seed."""
    by_checkpoint: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_checkpoint[r.content_hash].append(r)
    return sorted(by_checkpoint.values(), key=lambda rs: (_seed_order(rs[0].train_seed), rs[0].content_hash))


def seed_values(results: list[Result]) -> list[float]:
    """A cell's per-seed scores: each run's score, its evaluation seeds averaged, in training-seed order."""
    return [float(np.mean([r.value for r in rs])) for rs in runs(results)]


def _doc_means(results: list[Result]) -> tuple[tuple, np.ndarray] | None:
    """(doc ids, each doc's score averaged over the records that have it); None without per-doc scores."""
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


def _doc_order(doc):
    return (type(doc).__name__, doc) if isinstance(doc, (int, float, str)) else ("~", repr(doc))


def _aligned(mine: list[tuple[tuple, np.ndarray]], theirs: list[tuple[tuple, np.ndarray]]) \
        -> tuple[np.ndarray, np.ndarray, bool]:
    """[runs, questions] matrices over the questions every run has, in one fixed order; True when some were dropped."""
    every = mine + theirs
    if all(ids == every[0][0] for ids, _ in every):
        return np.stack([s for _, s in mine]), np.stack([s for _, s in theirs]), False
    common = sorted(set(every[0][0]).intersection(*(ids for ids, _ in every[1:])), key=_doc_order)

    def matrix(side):
        lookups = [dict(zip(ids, s.tolist())) for ids, s in side]
        return np.array([[score[d] for d in common] for score in lookups], dtype=float)

    return matrix(mine), matrix(theirs), any(len(ids) > len(common) for ids, _ in every)


def _scored_runs(results: list[Result]) -> list[tuple[tuple, np.ndarray]]:
    return [m for m in (_doc_means(rs) for rs in runs(results)) if m is not None]


def compare_to_sft(table: Table, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[list[Comparison], list[str]]:
    by_key = {row.key: row for row in table.rows}
    pending: list[tuple[Row, Row, Benchmark, np.ndarray, np.ndarray]] = []
    notes = []
    for row in table.rows:
        ref = by_key.get(row.ref) if row.ref else None
        if ref is None:
            continue
        for bench in table.benches:
            if bench.task not in row.results or bench.task not in ref.results:
                continue
            name = f"significance: {row.key.base} {row.key.method} {bench.label}"
            mine, theirs = _scored_runs(row.results[bench.task]), _scored_runs(ref.results[bench.task])
            a, b, dropped = _aligned(mine, theirs) if mine and theirs else (np.empty((0, 0)), None, False)
            if not a.size:
                notes.append(f"{name}: no per-question scores shared with SFT")
                continue
            if dropped:
                notes.append(f"{name}: its runs and SFT's scored different questions; compared on the {a.shape[1]} "
                             "all of them have")
            pending.append((row, ref, bench, a, b))
    # Where a side has a single run no seed-level claim is possible; the question-level test (runs averaged first)
    # is shown, labelled. One call, so both share the question resamples.
    single = [i for i, (*_, a, b) in enumerate(pending) if min(len(a), len(b)) == 1]
    estimates = stats.compare([(a, b) for *_, a, b in pending]
                              + [(pending[i][3].mean(axis=0, keepdims=True), pending[i][4].mean(axis=0, keepdims=True))
                                 for i in single], resamples, seed)
    questions_only = dict(zip(single, (e.p_resampled for e in estimates[len(pending):])))
    out = [Comparison(row, ref, bench, a.shape[1], tuple(stats.run_means(a).tolist()),
                      tuple(stats.run_means(b).tolist()), est, questions_only.get(i))
           for i, ((row, ref, bench, a, b), est) in enumerate(zip(pending, estimates))]
    order = {row.key: i for i, row in enumerate(table.rows)}
    out.sort(key=lambda c: (order[c.row.key], c.bench))
    return out, notes
