"""The paired bootstrap: identical methods are not different, clearly different ones are."""

import numpy as np

from harness.report.significance import p_values


def test_identical_methods_give_p_one():
    scores = np.random.default_rng(1).integers(0, 2, size=(200, 1)).astype(float)
    assert p_values(scores - scores)[0] == 1.0


def test_clearly_different_methods_give_a_small_p():
    rng = np.random.default_rng(2)
    a = (rng.random(300) < 0.8).astype(float)
    b = (rng.random(300) < 0.4).astype(float)
    p = p_values((a - b)[:, None])[0]
    assert p < 1e-3
    assert p >= 1 / 10_001  # the +1 correction: never exactly 0


def test_same_distribution_is_not_significant_and_p_is_reproducible():
    rng = np.random.default_rng(3)
    diffs = np.stack([(rng.random(500) < 0.6).astype(float) - (rng.random(500) < 0.6).astype(float)
                      for _ in range(50)], axis=1)
    p = p_values(diffs)
    # Under the null, p is roughly uniform: few small values, and the same numbers every time.
    assert (p < 0.05).mean() < 0.2 and 0.3 < np.median(p) < 0.7
    np.testing.assert_array_equal(p, p_values(diffs))


def test_a_comparison_does_not_depend_on_the_others_batched_with_it():
    rng = np.random.default_rng(4)
    diffs = rng.integers(-1, 2, size=(100, 3)).astype(float)
    alone = p_values(diffs[:, [1]])
    assert p_values(diffs)[1] == alone[0]
