"""Set-level distances: Fréchet distance, ITD-histogram KL / Wasserstein, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ortho_group, wasserstein_distance

from spatialeval.metrics.set_distances import (
    bootstrap_ci,
    compare_embedding_sets,
    compare_itd_sets,
    embedding_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    histogram_wasserstein,
    itd_histogram,
    itd_kl_divergence,
    itd_wasserstein_us,
    kl_divergence,
    permutation_p_value,
    sample_size_note,
)


def exact_moment_sample(n, mean, cov, seed):
    """n points whose sample mean and (n − 1)-normalised sample covariance are exactly ``mean`` and ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance → identity
    return z @ np.linalg.cholesky(cov).T + mean


def test_identical_sets_score_zero():
    x = np.random.default_rng(0).normal(size=(300, 5))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, x, covariance="shrinkage") == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, x, covariance="diagonal") == pytest.approx(0.0, abs=1e-9)


def test_shifted_gaussians_give_the_analytic_value_for_sets_of_different_sizes():
    # Σ1 = diag(1, 4, 9), Σ2 = diag(4, 1, 9), Δμ = (1, 2, 0):
    # ‖Δμ‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1Σ2)^½ = 5 + 14 + 14 − 2·(2 + 2 + 9) = 7
    x = exact_moment_sample(400, np.zeros(3), np.diag([1.0, 4.0, 9.0]), seed=1)
    y = exact_moment_sample(1500, np.array([1.0, 2.0, 0.0]), np.diag([4.0, 1.0, 9.0]), seed=2)
    assert frechet_distance(x, y) == pytest.approx(7.0, rel=1e-9)
    assert frechet_distance(y, x) == pytest.approx(7.0, rel=1e-9)  # symmetric
    # a common rotation of both sets changes nothing (full covariances, not only diagonals)
    q = ortho_group.rvs(3, random_state=3)
    assert frechet_distance(x @ q.T, y @ q.T) == pytest.approx(7.0, rel=1e-9)
    # equal covariances: only the mean shift remains
    z = exact_moment_sample(700, np.array([3.0, 0.0, -1.0]), np.diag([1.0, 4.0, 9.0]), seed=4)
    assert frechet_distance(x, z) == pytest.approx(10.0, rel=1e-9)


def test_random_gaussian_sets_approach_the_analytic_value():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6000, 4)), rng.normal(size=(4000, 4)) + [1.5, 0, 0, 0]
    assert frechet_distance(x, y) == pytest.approx(2.25, abs=0.2)  # ± ≈3 standard errors of the mean shift term


def test_statistics_and_the_closed_form():
    mu, sigma = embedding_statistics(np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]]))
    np.testing.assert_allclose(mu, [2.0, 3.0])
    np.testing.assert_allclose(sigma, [[1.0, 0.0], [0.0, 3.0]])
    assert frechet_distance_from_statistics([0.0], [[4.0]], [1.0], [[1.0]]) == pytest.approx(1 + 4 + 1 - 2 * 2)


def test_small_sets_are_flagged_and_shrinkage_reduces_their_bias():
    rng = np.random.default_rng(6)
    dim = 40
    x, y = rng.normal(size=(30, dim)), rng.normal(size=(35, dim))  # same distribution, fewer points than dimensions
    sample = frechet_distance(x, y)
    shrunk = frechet_distance(x, y, covariance="shrinkage")
    assert math.isfinite(sample) and math.isfinite(shrunk)
    assert shrunk < sample  # the true distance is 0
    assert "singular" in sample_size_note(30, 35, dim)
    assert "biased" in sample_size_note(100, 2000, dim)
    assert sample_size_note(30, 35, dim, covariance="shrinkage") is not None


def test_fd_input_validation():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="dimensions"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="covariance"):
        embedding_statistics(np.zeros((5, 3)), covariance="ledoit")


def test_itd_histogram_bins_clipping_and_smoothing():
    edges = [-150.0, -50.0, 50.0, 150.0]
    assert itd_histogram([0.0, 0.0, 100.0, np.nan], edges, pseudo_count=0).tolist() == pytest.approx([0, 2 / 3, 1 / 3])
    assert itd_histogram([-900.0, 900.0], edges, pseudo_count=0).tolist() == pytest.approx([0.5, 0, 0.5])  # clipped
    # (count + α) / (N + α·K) with α = 0.5, N = 3, K = 3
    assert itd_histogram([0.0, 0.0, 100.0], edges, pseudo_count=0.5).tolist() == pytest.approx(
        [0.5 / 4.5, 2.5 / 4.5, 1.5 / 4.5]
    )
    with pytest.raises(ValueError):
        itd_histogram([np.nan], edges)
    with pytest.raises(ValueError):
        itd_histogram([0.0], [1.0, 0.0])


def test_kl_of_known_histograms():
    edges = [-50.0, 50.0, 150.0]
    reference = [0.0, 0.0, 0.0, 100.0]  # p = (3/4, 1/4)
    generated = [0.0, 100.0]  # q = (1/2, 1/2)
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert itd_kl_divergence(reference, generated, edges, pseudo_count=0) == pytest.approx(expected, rel=1e-12)
    assert itd_kl_divergence(reference, reference, edges) == 0.0
    assert kl_divergence([1.0, 0.0], [0.0, 1.0]) == math.inf  # unsmoothed and disjoint
    smoothed = itd_kl_divergence([0.0], [100.0], edges, pseudo_count=0.5)  # p = (3/4, 1/4), q = (1/4, 3/4)
    assert smoothed == pytest.approx(0.75 * math.log(3) + 0.25 * math.log(1 / 3), rel=1e-12)


def test_wasserstein_matches_scipy():
    rng = np.random.default_rng(7)
    centres = np.linspace(-1000, 1000, 21)
    for _ in range(20):
        p, q = rng.random(21), rng.random(21)
        assert histogram_wasserstein(p, q, centres) == pytest.approx(
            wasserstein_distance(centres, centres, p, q), rel=1e-10, abs=1e-10
        )
    # on raw ITD values the binned distance agrees with scipy's exact one to within a bin width (100 µs)
    a, b = rng.normal(0, 200, 500), rng.normal(150, 250, 400)
    assert abs(itd_wasserstein_us(a, b) - wasserstein_distance(a, b)) < 100.0
    assert itd_wasserstein_us(a, a) == 0.0


def test_bootstrap_is_seedable_and_covers_the_truth_at_about_the_nominal_rate():
    def mean_difference(a, b):
        return float(b.mean() - a.mean())

    rng = np.random.default_rng(8)
    x, y = rng.normal(0, 1, 80), rng.normal(0.5, 2, 120)
    first = bootstrap_ci(mean_difference, x, y, n_resamples=300, seed=3)
    assert first == bootstrap_ci(mean_difference, x, y, n_resamples=300, seed=3)
    assert first != bootstrap_ci(mean_difference, x, y, n_resamples=300, seed=4)
    assert first.low < first.value < first.high
    covered = 0
    for trial in range(40):
        a, b = rng.normal(0, 1, 80), rng.normal(0.5, 2, 120)
        ci = bootstrap_ci(mean_difference, a, b, n_resamples=200, seed=trial)
        covered += ci.low <= 0.5 <= ci.high
    assert covered >= 34  # nominal 95 %: 38 of 40 expected; 34 allows for percentile-interval undercoverage


def test_bootstrap_ci_of_a_frechet_distance_covers_the_true_value():
    covered = 0
    for trial in range(30):
        rng = np.random.default_rng(100 + trial)
        x, y = rng.normal(size=(400, 2)), rng.normal(size=(300, 2)) + [2.0, 0.0]  # true FD = 4
        result = compare_embedding_sets(x, y, name="fd", n_resamples=100, seed=trial)
        covered += result["fd_ci_low"] < 4.0 < result["fd_ci_high"]
    assert covered >= 25  # nominal 95 %: 28.5 of 30 expected
    assert result["fd_n_reference"] == 400 and result["fd_n_generated"] == 300 and result["fd_dim"] == 2
    without = compare_embedding_sets(x, y, name="fd", n_resamples=0)
    assert math.isnan(without["fd_ci_low"]) and without["fd"] == result["fd"]


def test_bootstrap_counts_failures_and_gives_up_when_most_fail():
    calls = {"n": 0}

    def sometimes(a, b):
        calls["n"] += 1
        if calls["n"] % 4 == 0:
            raise ValueError("degenerate resample")
        return float(a.mean())

    ci = bootstrap_ci(sometimes, np.arange(10.0), np.arange(5.0), n_resamples=100)
    assert 20 <= ci.n_failed <= 30
    first_only = {"n": 0}

    def fails_after_the_full_sets(a, b):
        first_only["n"] += 1
        if first_only["n"] > 1:
            raise ValueError("degenerate resample")
        return 0.0

    with pytest.raises(ValueError, match="failed on 10 of 10"):
        bootstrap_ci(fails_after_the_full_sets, np.arange(3.0), np.arange(3.0), n_resamples=10)


def test_compare_itd_sets_reports_values_intervals_and_dropped_clips():
    rng = np.random.default_rng(10)
    reference = np.concatenate([rng.normal(-300, 60, 60), rng.normal(300, 60, 60)])
    generated = np.concatenate([rng.normal(0, 60, 90), [np.nan] * 5])
    result = compare_itd_sets(reference, generated, n_resamples=200, seed=1)
    assert result["itd_n_reference"] == 120 and result["itd_n_generated"] == 90 and result["itd_n_unmeasurable"] == 5
    assert result["itd_kl_ci_low"] <= result["itd_kl"] <= result["itd_kl_ci_high"]
    assert 250 < result["itd_wasserstein_us"] < 350  # every ITD moves ≈300 µs
    assert result["itd_kl_p_value"] < 0.01 and result["itd_wasserstein_p_value"] < 0.01
    same = compare_itd_sets(reference, reference, n_resamples=0)
    assert same["itd_kl"] == 0.0 and same["itd_wasserstein_us"] == 0.0 and math.isnan(same["itd_kl_p_value"])


def test_sets_from_one_distribution_are_not_called_different():
    rng = np.random.default_rng(11)
    reference, generated = rng.normal(0, 300, 40), rng.normal(0, 300, 20)
    result = compare_itd_sets(reference, generated, n_resamples=500, seed=2)
    assert result["itd_wasserstein_p_value"] > 0.05 and result["itd_kl_p_value"] > 0.05

    # the percentile interval of a distance lies above 0 although the true distance is 0 (see bootstrap_ci);
    # the basic interval, 2θ̂ − [q_hi, q_lo], reaches down to it
    def w1(a, b):
        return itd_wasserstein_us(a, b)

    percentile = bootstrap_ci(w1, reference, generated, n_resamples=500, seed=2)
    basic = bootstrap_ci(w1, reference, generated, n_resamples=500, seed=2, method="basic")
    assert percentile.low > 0.0 and basic.low <= 0.0 < basic.high
    assert basic.low == pytest.approx(2 * basic.value - percentile.high)


def test_permutation_p_values_are_roughly_uniform_under_the_null():
    rng = np.random.default_rng(12)

    def gap(a, b):
        return abs(float(a.mean() - b.mean()))

    p_values = [
        permutation_p_value(gap, rng.normal(size=30), rng.normal(size=40), n_permutations=99, seed=k) for k in range(40)
    ]
    assert 0.3 < np.mean(p_values) < 0.7 and np.mean(np.array(p_values) < 0.05) <= 0.15
    with pytest.raises(ValueError):
        permutation_p_value(gap, [], [1.0])


def test_singular_covariance_gives_no_raw_linalg_warning():
    """Issue 16 item 13: scipy's LinAlgWarning reached stderr raw, once per call site. The Fréchet trace now
    comes from symmetric eigendecompositions (no general sqrtm), so a singular product warns nothing."""
    import warnings

    from spatialeval.metrics import set_distances

    singular = np.diag([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any raw warning fails the test
        for _ in range(3):
            assert set_distances.frechet_distance_from_statistics(np.zeros(2), singular, np.zeros(2), singular) == 0.0


def reference_frechet(x, y, covariance):
    """The former definition, kept here only as a slow reference: dense statistics and scipy's general sqrtm,
    with the pytorch-fid / FAD safeguard (ε·I added to both covariances when the root is not real)."""
    from scipy import linalg

    (mu1, s1), (mu2, s2) = embedding_statistics(x, covariance), embedding_statistics(y, covariance)
    root = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(root)) or (
        np.iscomplexobj(root) and not np.allclose(np.diagonal(root).imag, 0, atol=1e-3)
    ):
        offset = np.eye(len(mu1)) * 1e-6
        root = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(np.real(root)))


@pytest.mark.parametrize(
    "covariance, n_x, n_y, dim",
    [
        ("sample", 300, 200, 24),  # n > dim: the dense route
        ("sample", 40, 30, 96),  # n_x + n_y < dim: nuclear norm of F1 F2ᵀ
        ("shrinkage", 40, 30, 96),  # ridge + low rank in the span of the sets
        ("shrinkage", 150, 120, 48),  # ridge + low rank, dense route
        ("diagonal", 40, 30, 96),
    ],
)
def test_fast_frechet_equals_the_sqrtm_definition(covariance, n_x, n_y, dim):
    rng = np.random.default_rng(n_x + dim)
    mixing = rng.normal(size=(dim, dim)) / math.sqrt(dim)  # correlated, unequal variances
    x = rng.normal(size=(n_x, dim)) @ mixing
    y = rng.normal(size=(n_y, dim)) @ (mixing + 0.3 * np.eye(dim)) + 0.2
    fast, slow = frechet_distance(x, y, covariance), reference_frechet(x, y, covariance)
    assert fast == pytest.approx(slow, rel=1e-6)
    mu1, s1 = embedding_statistics(x, covariance)
    mu2, s2 = embedding_statistics(y, covariance)
    assert frechet_distance_from_statistics(mu1, s1, mu2, s2) == pytest.approx(slow, rel=1e-6)


def test_covariances_that_are_not_psd_or_not_symmetric_are_refused():
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distance_from_statistics(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance_from_statistics(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], np.zeros(2), np.eye(2))


@pytest.mark.parametrize("covariance", ["sample", "shrinkage"])
def test_bootstrap_in_the_span_of_the_sets_equals_resampling_the_original_embeddings(covariance):
    # compare_embedding_sets projects both sets once onto the span of their rows; each resample must score
    # as frechet_distance on the same resampled rows in the original 64 dimensions
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(20, 64)), rng.normal(size=(15, 64)) * 1.5 + 0.3
    result = compare_embedding_sets(x, y, name="fd", covariance=covariance, n_resamples=20, seed=4)
    direct = bootstrap_ci(
        lambda a, b: frechet_distance(a, b, covariance), x, y, n_resamples=20, seed=4, method="recentred", floor=0.0
    )  # the interval compare_embedding_sets reports
    assert result["fd"] == pytest.approx(reference_frechet(x, y, covariance), rel=1e-6)
    assert (result["fd_ci_low"], result["fd_ci_high"]) == pytest.approx((direct.low, direct.high), rel=1e-6)


def test_intervals_of_a_distance_contain_the_value_and_identical_sets_read_no_difference():
    """Regression (issue 16 item 11d): identical sets scored 0 with a percentile interval [0.0046, 0.30]."""
    rng = np.random.default_rng(13)
    itds = rng.normal(0, 300, 12)
    same = compare_itd_sets(itds, itds, n_resamples=200, seed=0)
    for name in ("itd_kl", "itd_wasserstein_us"):
        assert same[name] == 0.0 and same[f"{name}_ci_low"] == 0.0 < same[f"{name}_ci_high"]
        assert same[f"{name}_null_high"] > 0.0  # sets that do not differ reach this far
    assert same["itd_kl_p_value"] == 1.0
    for trial in range(5):  # any sets: the interval holds the value
        r = compare_itd_sets(rng.normal(0, 300, 15), rng.normal(100, 300, 9), n_resamples=100, seed=trial)
        for name in ("itd_kl", "itd_wasserstein_us"):
            assert r[f"{name}_ci_low"] <= r[name] <= r[f"{name}_ci_high"]
    x = rng.normal(size=(40, 2))
    fd = compare_embedding_sets(x, x, name="fd", n_resamples=50)
    # sqrtm rounding leaves ~1e-15 of a distance whose scale is tr Σ ≈ 2: float64 epsilon × 100 × scale
    assert fd["fd"] == pytest.approx(0.0, abs=100 * np.finfo(float).eps * 2)
    assert fd["fd_ci_low"] <= fd["fd"] < fd["fd_ci_high"] and fd["fd_ci_note"] is None


def test_recentred_interval_moves_the_bootstrap_median_onto_the_value():
    def w1(a, b):
        return itd_wasserstein_us(a, b)

    rng = np.random.default_rng(14)
    a, b = rng.normal(0, 300, 30), rng.normal(0, 300, 20)
    percentile = bootstrap_ci(w1, a, b, n_resamples=300, seed=1)
    recentred = bootstrap_ci(w1, a, b, n_resamples=300, seed=1, method="recentred", floor=0.0)
    assert recentred.low <= recentred.value <= recentred.high
    # same width above the value as the percentile interval has above the bootstrap median
    assert recentred.high - recentred.value == pytest.approx(
        percentile.high
        - np.median(
            [
                w1(a[r.integers(0, 30, 30)], b[r.integers(0, 20, 20)])
                for r in [np.random.default_rng(1)]
                for _ in range(300)
            ]
        ),
        rel=1e-9,
    )


def test_too_few_clips_for_a_bootstrap_give_no_interval_but_the_value():
    """Regression (issue 16 item 11b): one clip per set printed a zero-width "95% interval"."""
    r = compare_itd_sets([100.0], [300.0], n_resamples=50)
    assert r["itd_wasserstein_us"] == 200.0
    assert math.isnan(r["itd_wasserstein_us_ci_low"]) and math.isnan(r["itd_wasserstein_us_ci_high"])
    assert r["itd_wasserstein_us_ci_note"].startswith("not computable (n=1;")
    assert compare_itd_sets(np.arange(5.0) * 100, np.arange(5.0) * 100, n_resamples=20)["itd_kl_ci_note"] is None
