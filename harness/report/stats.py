"""Method minus SFT over training seeds and questions: a confidence interval and a p-value that count both.

Input: per-run, per-question scores a[k runs, n questions] (the method) and b[m runs, n questions] (SFT), questions
aligned, each entry the run's mean over its repeats and evaluation seeds. D = mean(a) - mean(b) varies with the
training seeds (and each run's own evaluation noise) and with which questions the benchmark happens to hold; a
bootstrap over questions of run-averaged scores leaves the first out. Each resample here draws both parts:

- seed level: sqrt(s_a²/k + s_b²/m) · t_ν, with s_a², s_b² the variances of the run means (which carry each run's
  evaluation noise as well) and ν the Welch-Satterthwaite degrees of freedom (Welch 1947). A t draw, not a bootstrap
  of runs: 3 runs resampled with replacement give 10 distinct means, a variance (k-1)/k too small and tails too
  light; with so few runs the spread has to come from an assumption (normal seed effects) or not at all.
- question level: the paired bootstrap (Efron & Tibshirani 1993, ch. 16): n question indices drawn with
  replacement, the same for both sides, applied to the per-question differences d_j = mean_i a_ij - mean_i b_ij.
  Their spread also holds the evaluation noise that the seed level already counts, so the deviations of d_j are
  shrunk to the method-by-question variance, var(d) - r_a/k - r_b/m, with r a side's run-by-question residual mean
  square (a moment correction for two-level data in the spirit of Davison & Hinkley 1997, §3.8). Resampling runs
  and questions both, the plain two-level bootstrap, counts that noise up to three times (Owen 2007, "The
  pigeonhole bootstrap"; McCullagh 2000) and still keeps the too-light seed tails: in the simulations of
  tests/harness/report/test_stats.py it covered 91.5% at 3 vs 3 seeds where seeds dominate and 99.5-100% where
  evaluation noise does; this design covers 96-97% in both.

The CI is the percentile interval of D plus both draws, cut to the range a difference of the scores can take (with
2 runs a side, t has 1 degree of freedom); the two-sided p-value is the share of draws at least as far from D as D
is from 0 (null-centred, Efron & Tibshirani §16.4), +1 so it is never 0. A side with one run adds no seed-level
spread and is not shrunk: with one run on both sides this is exactly the question-level paired bootstrap.

The permutation floor: a test that treats runs as the exchangeable units has C(k+m, k) ways to label them, so its
two-sided p cannot go below 2 / C(k+m, k) (Fisher 1935; e.g. Good 2005, "Permutation, Parametric and Bootstrap
Tests of Hypotheses"): 0.1 at 3 vs 3 seeds, 2/70 ≈ 0.029 at 4 vs 4. The reported p is max(resampled p, floor), and
1 when a side has a single run, whose seed spread is unseen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import comb

import numpy as np

RESAMPLES = 10_000
SEED = 20260109  # fixed: the same scores give the same numbers
LEVEL = 0.95
_CHUNK_CELLS = 2_000_000  # resample weights (or resampled differences) held at once: the memory bound


@dataclass(frozen=True)
class Estimate:
    diff: float  # mean(a) - mean(b)
    ci_low: float
    ci_high: float
    p_resampled: float
    p_floor: float

    @property
    def p_value(self) -> float:
        return max(self.p_resampled, self.p_floor)


def permutation_floor(k: int, m: int) -> float:
    """The smallest two-sided p a test over k vs m exchangeable runs can give; 1 with a single run on a side."""
    return 1.0 if min(k, m) < 2 else min(1.0, 2 / comb(k + m, k))


def seeds_needed(alpha: float = 0.05) -> int:
    """The fewest runs per side (k = m) whose permutation floor lies below alpha: 4 for 0.05."""
    k = 2
    while permutation_floor(k, k) >= alpha:
        k += 1
    return k


def run_means(scores: np.ndarray) -> np.ndarray:
    """Each run's mean over the questions of a [runs, questions] matrix: the per-seed values of a cell."""
    return np.asarray(scores, dtype=float).mean(axis=1)


def _question_draws(n: int, resamples: int, seed: int):
    """Question-resample weights (counts / n), chunked; the same sequence for the same n, resamples and seed."""
    rng = np.random.default_rng([seed, n])
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        idx = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=size * n).reshape(size, n) / n


def _residual_ms(x: np.ndarray) -> float:
    """Run-by-question residual mean square of x[runs, questions]: the variance of one entry's noise."""
    k, n = x.shape
    r = x - x.mean(axis=0) - x.mean(axis=1, keepdims=True) + x.mean()
    return float((r ** 2).sum() / ((k - 1) * (n - 1)))


def _question_deviations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """d_j - mean(d), shrunk to the method-by-question part (the seed level already holds the evaluation noise)."""
    d = a.mean(axis=0) - b.mean(axis=0)
    dev = d - d.mean()
    total = float(dev @ dev) / (len(d) - 1) if len(d) > 1 else 0.0
    if total == 0:
        return dev
    noise = sum(_residual_ms(x) / len(x) for x in (a, b) if len(x) > 1)
    return dev * np.sqrt(np.clip(1 - noise / total, 0.0, 1.0))


def _seed_draws(a: np.ndarray, b: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Seed-level deviations sqrt(s_a²/k + s_b²/m) · t_ν, from a generator of this comparison's own."""
    sides = [x for x in (a, b) if len(x) > 1]  # a single run shows no seed spread
    parts = [x.mean(axis=1).var(ddof=1) / len(x) for x in sides]
    var = sum(parts)
    if var == 0:
        return np.zeros(resamples)
    df = var ** 2 / sum(p ** 2 / (len(x) - 1) for p, x in zip(parts, sides))
    # Seeded by the design alone, so a comparison's numbers do not depend on the others computed with it.
    rng = np.random.default_rng([seed, a.shape[1], len(a), len(b)])
    return np.sqrt(var) * rng.standard_t(df, resamples)


def compare(pairs: list[tuple[np.ndarray, np.ndarray]], resamples: int = RESAMPLES, seed: int = SEED,
            level: float = LEVEL) -> list[Estimate]:
    """An Estimate per (a, b): a[k runs, n questions] the method's scores, b[m runs, n questions] SFT's.

    Comparisons with the same n share one set of question resamples (drawn once, seeded by n), so a comparison's
    numbers depend on its own a and b alone.
    """
    pairs = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in pairs]
    by_n: dict[int, list[int]] = defaultdict(list)
    for i, (a, b) in enumerate(pairs):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(*a.shape, len(b)) < 1:
            raise ValueError(f"scores of shapes {a.shape} and {b.shape} are not [k, n] and [m, n] with k, m, n >= 1")
        by_n[a.shape[1]].append(i)
    out: list[Estimate | None] = [None] * len(pairs)
    block = max(1, _CHUNK_CELLS // resamples)  # comparisons whose resampled differences are held at once
    for n, indices in by_n.items():
        for lo in range(0, len(indices), block):
            part = [pairs[i] for i in indices[lo:lo + block]]
            observed = np.array([a.mean() - b.mean() for a, b in part])
            spread = np.stack([_seed_draws(a, b, resamples, seed) for a, b in part], axis=1)
            dev = np.stack([_question_deviations(a, b) for a, b in part])
            spread += np.concatenate([w @ dev.T for w in _question_draws(n, resamples, seed)])
            ci = np.quantile(observed + spread, [(1 - level) / 2, (1 + level) / 2], axis=0)
            # t tails reach past any possible difference with 2 runs a side (1 degree of freedom): cut at the range.
            width = np.array([max(a.max(), b.max()) - min(a.min(), b.min()) for a, b in part])
            ci = np.clip(ci, -width, width)
            p = ((np.abs(spread) >= np.abs(observed) - 1e-12).sum(axis=0) + 1.0) / (resamples + 1.0)
            for j, i in enumerate(indices[lo:lo + block]):
                out[i] = Estimate(float(observed[j]), float(ci[0, j]), float(ci[1, j]), float(p[j]),
                                  permutation_floor(*(len(x) for x in pairs[i])))
    return out
