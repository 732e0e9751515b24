"""Set-level (unpaired) spatial distances: Fréchet distance of embedding sets, KL / Wasserstein of ITD histograms,
and bootstrap confidence intervals.

Text-to-spatial-audio work compares *distributions* of generated and reference audio
rather than pairs. Both-Ears-Wide-Open (PeiwenSun2000/Both-Ears-Wide-Open ``evaluations/``)
reports a Fréchet distance of spatial (StereoCRW ITD-feature) embeddings, computed with
audioldm_eval's ``FrechetAudioDistance`` (``cal_avg_idt_fad.py``: mean, ``np.cov`` and the
usual FID formula, printed ×1000), and a "KL-divergence" of per-clip mean ITDs
(``cal_avg_mean_itd.py``). Note on that KL as released: it divides the vector of per-clip
mean ITDs (signed, in ms) by its sum as if it were a probability vector, clips it to
[1e-10, 1], and — because the list for the second folder is overwritten with the first
folder's mean before the call — compares the reference folder with a constant vector, so
its value does not depend on the generated audio. Here the ITD comparison is a proper
distance between ITD **histograms** (:func:`itd_kl_divergence`, :func:`itd_wasserstein_us`).

Everything here takes plain arrays: embedding sets of shape (n, dim) and 1-D arrays of
per-clip ITDs; the sets may differ in size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

COVARIANCE_ESTIMATORS = ("sample", "shrinkage", "diagonal")
# 21 bins of 100 µs centred on 0 µs covering ±1.05 ms (the largest ITD of a human head is ≈ ±0.7–0.8 ms).
DEFAULT_ITD_EDGES_US = np.linspace(-1050.0, 1050.0, 22)
DEFAULT_PSEUDO_COUNT = 0.5  # added to every bin before normalising (Jeffreys / Krichevsky–Trofimov smoothing)
# Below this many clips in either set a bootstrap interval is not reported: resampling 1–4 values
# gives a handful of distinct sets (one clip: a single one, a zero-width "interval").
MIN_BOOTSTRAP_SIZE = 5


# --------------------------------------------------------------------------- Fréchet distance


def _embedding_set(name: str, x) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name}: expected an embedding set of shape (n, dim), got {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"{name}: a covariance needs at least 2 embeddings, got {array.shape[0]}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: embeddings contain NaN or infinite values")
    return array


def embedding_statistics(x, covariance: str = "sample") -> tuple[np.ndarray, np.ndarray]:
    """Mean (dim,) and covariance (dim, dim) of an embedding set (n, dim).

    ``covariance``:

    * ``"sample"`` — the unbiased sample covariance ``np.cov(x, rowvar=False)`` (divides by
      n − 1), as FID/FAD implementations (pytorch-fid, audioldm_eval, fadtk) use. Its rank is
      at most n − 1, so with n ≤ dim it is singular;
    * ``"shrinkage"`` — Ledoit–Wolf shrinkage towards a scaled identity
      (``sklearn.covariance.ledoit_wolf``, which starts from the 1/n estimate); well
      conditioned for any n, recommended when n is not well above dim;
    * ``"diagonal"`` — the sample variances only (ignores correlations).

    >>> mu, sigma = embedding_statistics([[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]])
    >>> mu.tolist(), sigma.tolist()
    ([1.0, 1.0], [[1.0, 0.0], [0.0, 3.0]])
    """
    x = _embedding_set("embedding set", x)
    if covariance not in COVARIANCE_ESTIMATORS:
        raise ValueError(f"covariance must be one of {COVARIANCE_ESTIMATORS}, got {covariance!r}")
    mean = x.mean(axis=0)
    if covariance == "sample":
        sigma = np.atleast_2d(np.cov(x, rowvar=False))
    elif covariance == "diagonal":
        sigma = np.diag(np.var(x, axis=0, ddof=1))
    else:
        from sklearn.covariance import ledoit_wolf

        sigma = ledoit_wolf(x)[0]
    return mean, sigma


@contextmanager
def _one_blas_thread():
    """Run the body on one BLAS thread: the Fréchet matrices are small (≤ n_x + n_y), where extra BLAS threads
    gain nothing and, on a loaded machine, cost 10–100× in spinning (measured: a 768 × 200 QR took 0.6–10 s
    with the default threads under load, 0.06 s on one)."""
    global _BLAS_CONTROLLER
    try:
        if _BLAS_CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
        limit = _BLAS_CONTROLLER.limit(limits=1, user_api="blas")
    except ImportError:  # threadpoolctl comes with scikit-learn (via librosa); without it, run as is
        limit = nullcontext()
    with limit:
        yield


_BLAS_CONTROLLER = None


def _trace_sqrt_psd_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((Σ1 Σ2)^½) for symmetric positive semi-definite Σ1, Σ2, without a general matrix square root.

    Σ1 Σ2 is similar to the symmetric PSD matrix Σ1^½ Σ2 Σ1^½ (Σ1^½ from one symmetric eigendecomposition),
    so its eigenvalues are real and ≥ 0 and the trace of its principal square root is Σ √λ_k. Eigenvalues
    that rounding pushes slightly below 0 are clipped; clearly negative ones mean an input that is not a
    covariance and raise.
    """

    def eigenvalues(name, matrix):
        matrix = (matrix + matrix.T) / 2
        values, vectors = np.linalg.eigh(matrix)
        scale = max(float(np.abs(values).max(initial=0.0)), np.finfo(np.float64).tiny)
        if values.min(initial=0.0) < -1e-9 * matrix.shape[0] * scale:
            raise ValueError(
                f"{name} is not positive semi-definite, so the covariance product has no real "
                "square root; use covariance='shrinkage' or more samples"
            )
        return np.clip(values, 0.0, None), vectors

    for name, sigma in (("the first covariance", sigma1), ("the second covariance", sigma2)):
        if not np.allclose(sigma, sigma.T, rtol=1e-7, atol=1e-12 * float(np.abs(sigma).max(initial=0.0))):
            raise ValueError(f"{name} is not symmetric")
    values, vectors = eigenvalues("the first covariance", sigma1)
    root = (vectors * np.sqrt(values)) @ vectors.T  # Σ1^½, computed once
    inner, _ = eigenvalues("the covariance product", root @ sigma2 @ root)
    return float(np.sqrt(inner).sum())


@dataclass(frozen=True)
class _FactoredCovariance:
    """A covariance on ``ambient`` dimensions kept as ridge·I + factorᵀ·factor, or as a diagonal.

    ``factor`` (k × r) holds coordinates in an orthonormal basis of an r-dimensional subspace (r ≤ ambient);
    on its orthogonal complement the covariance is ridge·I. The sample and Ledoit–Wolf estimates of n
    embeddings have this form with k = n.
    """

    ambient: int
    ridge: float = 0.0
    factor: np.ndarray | None = None
    diagonal: np.ndarray | None = None

    def trace(self) -> float:
        if self.diagonal is not None:
            return float(self.diagonal.sum())
        return self.ridge * self.ambient + float(np.sum(self.factor**2))


def _ledoit_wolf_shrinkage(centred: np.ndarray, ambient: int) -> float:
    """Ledoit–Wolf shrinkage δ of centred rows given in r ≤ ``ambient`` orthonormal coordinates.

    The same formula as ``sklearn.covariance.ledoit_wolf_shrinkage`` (which works on all ``ambient``
    coordinates): with S = Xcᵀ Xc / n and m = tr S / p, β̄ = (Σ_k ‖x_k‖⁴ / n − ‖S‖²_F) / (p n),
    δ̄ = (‖S‖²_F − 2 m tr S + p m²) / p, δ = min(β̄, δ̄) / δ̄. Every term is invariant under rotations,
    so the coordinates of the rows' span give the same value.
    """
    n = centred.shape[0]
    if ambient == 1:
        return 0.0
    squared_norms = np.sum(centred**2, axis=1)
    trace = float(squared_norms.sum()) / n
    mean_eigenvalue = trace / ambient
    gram = centred @ centred.T if n <= centred.shape[1] else centred.T @ centred
    frobenius2 = float(np.sum(gram**2)) / n**2
    beta = (float(np.sum(squared_norms**2)) / n - frobenius2) / (ambient * n)
    delta = (frobenius2 - 2.0 * mean_eigenvalue * trace + ambient * mean_eigenvalue**2) / ambient
    beta = min(beta, delta)
    return 0.0 if beta == 0 else beta / delta


def _factored_statistics(x: np.ndarray, covariance: str, ambient: int) -> tuple[np.ndarray, _FactoredCovariance]:
    """Mean and factored covariance (the estimates of :func:`embedding_statistics`) of rows ``x`` given in
    orthonormal coordinates of a subspace of dimension x.shape[1] ≤ ``ambient`` that holds them all."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    centred = x - mean
    if covariance == "diagonal":  # axis-dependent: only in the original coordinates
        assert x.shape[1] == ambient, "a diagonal covariance needs the original coordinates"
        return mean, _FactoredCovariance(ambient, diagonal=np.var(x, axis=0, ddof=1))
    if covariance == "sample":  # Σ = Xcᵀ Xc / (n − 1)
        return mean, _FactoredCovariance(ambient, factor=centred / math.sqrt(n - 1))
    # Ledoit–Wolf as sklearn's ledoit_wolf: Σ = (1 − δ)·Xcᵀ Xc / n + δ·(tr(Xcᵀ Xc / n) / p)·I
    shrinkage = _ledoit_wolf_shrinkage(centred, ambient)
    ridge = shrinkage * float(np.sum(centred**2)) / (n * ambient)
    return mean, _FactoredCovariance(ambient, ridge=ridge, factor=centred * math.sqrt((1.0 - shrinkage) / n))


def _trace_sqrt_factored(c1: _FactoredCovariance, c2: _FactoredCovariance) -> float:
    """tr((Σ1 Σ2)^½) of two factored covariances on the same coordinates.

    Diagonals: Σ √(d1 d2). Without ridges (sample covariances) and k1, k2 ≤ r: the non-zero eigenvalues of
    F1ᵀF1 F2ᵀF2 are the squared singular values of F1 F2ᵀ (k1 × k2), so the trace is its nuclear norm. Else: the
    r-dimensional coordinate space and its complement are both invariant under Σ1 Σ2, which is
    ridge1·ridge2·I on the complement, hence (p − r)·√(ridge1·ridge2) + tr((M1 M2)^½), M_i = ridge_i·I + F_iᵀF_i
    (r × r, by :func:`_trace_sqrt_psd_product`).
    """
    if c1.diagonal is not None and c2.diagonal is not None:
        return float(np.sqrt(np.clip(c1.diagonal * c2.diagonal, 0.0, None)).sum())
    rank = c1.factor.shape[1]
    if c1.ridge == 0.0 and c2.ridge == 0.0 and max(len(c1.factor), len(c2.factor)) <= rank:
        return float(np.linalg.svd(c1.factor @ c2.factor.T, compute_uv=False).sum())
    dense = [c.factor.T @ c.factor + c.ridge * np.eye(rank) for c in (c1, c2)]
    return (c1.ambient - rank) * math.sqrt(c1.ridge * c2.ridge) + _trace_sqrt_psd_product(*dense)


def _span_coordinates(x: np.ndarray, y: np.ndarray, covariance: str) -> tuple[np.ndarray, np.ndarray]:
    """Both sets in orthonormal coordinates of the span of their rows when that is smaller than dim.

    All sample / Ledoit–Wolf quantities (means, covariances, traces, the shrinkage) are rotation invariant
    and every centred row of any resample lies in the span of the original rows, so the Fréchet distance
    can be computed there (with the ambient dimension kept for the ridge's complement). A diagonal
    covariance depends on the axes, so it keeps the original coordinates.
    """
    if covariance == "diagonal" or len(x) + len(y) >= x.shape[1]:
        return x, y
    basis, _ = np.linalg.qr(np.vstack([x, y]).T)  # dim × (n_x + n_y)
    return x @ basis, y @ basis


def _frechet_from_coordinates(x: np.ndarray, y: np.ndarray, covariance: str, ambient: int) -> float:
    """d² of two sets given by :func:`_span_coordinates` (or the original coordinates) on ``ambient`` dims."""
    if covariance not in COVARIANCE_ESTIMATORS:
        raise ValueError(f"covariance must be one of {COVARIANCE_ESTIMATORS}, got {covariance!r}")
    with _one_blas_thread():
        (mu1, c1), (mu2, c2) = (
            _factored_statistics(x, covariance, ambient),
            _factored_statistics(y, covariance, ambient),
        )
        diff = mu1 - mu2
        value = float(diff @ diff + c1.trace() + c2.trace() - 2.0 * _trace_sqrt_factored(c1, c2))
    return max(value, 0.0)


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet (2-Wasserstein) distance between the Gaussians N(μ1, Σ1) and N(μ2, Σ2).

        d² = ‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1 Σ2)^½)

    tr((Σ1 Σ2)^½) is Σ √λ_k over the eigenvalues of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½ (two
    symmetric eigendecompositions instead of a general ``sqrtm``; same value to rounding, and no
    regularisation is needed because that matrix is PSD by construction: rounding negatives are clipped).
    The result is d² (the quantity FID/FAD report), floored at 0 against rounding.

    Args:
        mu1, sigma1, mu2, sigma2: means (dim,) and symmetric PSD covariances (dim, dim).
        eps: accepted for compatibility with the former ``sqrtm`` route (its ``eps``·I fallback); unused.

    Raises:
        ValueError: mismatched shapes, or a covariance that is not symmetric positive semi-definite.

    >>> round(frechet_distance_from_statistics(np.zeros(2), np.diag([1.0, 4.0]), np.array([3.0, 0.0]), np.diag([4.0, 1.0])), 9)
    11.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, dtype=np.float64)), np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, dtype=np.float64)),
        np.atleast_2d(np.asarray(sigma2, dtype=np.float64)),
    )
    dim = mu1.shape[0]
    if mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f"statistics disagree in shape: {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_psd_product(sigma1, sigma2))
    return max(value, 0.0)


def frechet_distance(x, y, covariance: str = "sample", eps: float = 1e-6) -> float:
    """Fréchet distance (FAD-style d²) between two embedding sets (n_x, dim) and (n_y, dim); sizes may differ.

    The statistics of :func:`embedding_statistics` (``covariance`` selects the estimator) and the formula
    of :func:`frechet_distance_from_statistics`, computed without a dim × dim square root: with
    n_x + n_y < dim in the span of the two sets' rows (one QR), with covariances kept factored
    (ridge·I + FᵀF), so the square-root trace is a nuclear norm (sample) or an eigenvalue sum at
    n_x + n_y dimensions (shrinkage). At dim 768 and 100 + 100 embeddings this takes milliseconds where a
    768-d ``sqrtm`` took seconds. ``eps`` is accepted for compatibility; unused.

    Caveats (see :func:`sample_size_note`): the plug-in estimate is biased upwards by
    roughly tr(Σ)/n per set, so values from sets of different sizes are not comparable, and
    two independent samples of the *same* distribution score above 0; with n ≤ dim the
    sample covariance is singular and the value is dominated by this bias — use many more
    embeddings than dimensions (e.g. one per 1-s window rather than one per clip) or
    ``covariance="shrinkage"``/``"diagonal"``. Measured on two independent sets drawn from
    the *same* 768-d standard normal (true distance 0): 300 + 300 embeddings score ≈763
    (sample), ≈5.0 (shrinkage), ≈7.3 (diagonal); 2000 + 2000 score ≈149, ≈0.78, ≈1.2.

    Raises:
        ValueError: fewer than 2 embeddings, different dimensions, or non-finite values.

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(500, 3))
    >>> round(frechet_distance(x, x), 9), round(frechet_distance(x, x + [2.0, 0.0, 0.0]), 9)
    (0.0, 4.0)
    """
    x, y = _embedding_set("first set", x), _embedding_set("second set", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"the sets have different dimensions: {x.shape[1]} and {y.shape[1]}")
    if covariance not in COVARIANCE_ESTIMATORS:
        raise ValueError(f"covariance must be one of {COVARIANCE_ESTIMATORS}, got {covariance!r}")
    with _one_blas_thread():
        xs, ys = _span_coordinates(x, y, covariance)
    return _frechet_from_coordinates(xs, ys, covariance, x.shape[1])


def sample_size_note(n_x: int, n_y: int, dim: int, covariance: str = "sample") -> str | None:
    """A sentence warning about small sets for a Fréchet distance, or None when both sets are comfortably large.

    >>> sample_size_note(100, 5000, 768)
    'only 100 embeddings for 768 dimensions: the sample covariance is singular and the distance is dominated by small-sample bias; use more embeddings or covariance="shrinkage"'
    >>> sample_size_note(20000, 20000, 768) is None
    True
    """
    smallest = min(n_x, n_y)
    if covariance == "sample" and smallest <= dim:
        return (
            f"only {smallest} embeddings for {dim} dimensions: the sample covariance is singular and the distance "
            'is dominated by small-sample bias; use more embeddings or covariance="shrinkage"'
        )
    if smallest < 10 * dim:
        return (
            f"{smallest} embeddings for {dim} dimensions: the estimate is biased upwards (≈ tr Σ / n per set); "
            "compare only values computed from sets of the same sizes"
        )
    return None


# --------------------------------------------------------------------------- ITD histograms


def _values(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError(f"{name}: no finite ITD value")
    return array


def itd_histogram(itds_us, edges_us=DEFAULT_ITD_EDGES_US, pseudo_count: float = DEFAULT_PSEUDO_COUNT) -> np.ndarray:
    """Probability histogram of ITD values (µs) over fixed bins, with additive smoothing.

    p_k = (count_k + α) / (N + α·K). Values outside the edges are clipped into the outer
    bins (an ITD beyond the head's range is an extreme left/right estimate, not a missing
    one); NaN values (unmeasurable clips) are dropped. The default bins are 21 × 100 µs
    centred on 0 (±1.05 ms) and α = 0.5.

    Raises:
        ValueError: no finite value, edges not increasing, or a negative pseudo-count.

    >>> itd_histogram([0.0, 10.0, 2000.0, np.nan], edges_us=[-150, -50, 50, 150], pseudo_count=0).tolist()
    [0.0, 0.6666666666666666, 0.3333333333333333]
    """
    values = _values("ITD set", itds_us)
    edges = np.asarray(edges_us, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("ITD bin edges must be an increasing 1-D array of at least two values")
    if pseudo_count < 0:
        raise ValueError(f"pseudo_count must be >= 0, got {pseudo_count}")
    centre_safe = np.clip(values, edges[0], edges[-1])
    counts, _ = np.histogram(centre_safe, bins=edges)
    smoothed = counts + float(pseudo_count)
    return smoothed / smoothed.sum()


def kl_divergence(p, q) -> float:
    """KL(p ‖ q) = Σ p_k ln(p_k / q_k) in nats, with 0·ln 0 = 0; inf when q_k = 0 < p_k.

    >>> round(kl_divergence([0.5, 0.5], [0.25, 0.75]), 12) == round(0.5 * math.log(2) + 0.5 * math.log(2 / 3), 12)
    True
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or np.any(p < 0) or np.any(q < 0):
        raise ValueError("KL divergence needs two non-negative histograms of the same shape")
    p, q = p / p.sum(), q / q.sum()
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def itd_kl_divergence(
    reference_itds_us, generated_itds_us, edges_us=DEFAULT_ITD_EDGES_US, pseudo_count: float = DEFAULT_PSEUDO_COUNT
) -> float:
    """KL(reference ‖ generated) of the smoothed ITD histograms (:func:`itd_histogram`), in nats; lower is better.

    The direction penalises generated sets that miss directions the reference uses
    (as BEWO's ``kl_divergence(gt, other)`` argument order). The smoothing keeps it finite;
    it depends on the bins and α, so report them with the value.

    >>> itd_kl_divergence([0, 0, 300], [0, 300, 0])
    0.0
    >>> itd_kl_divergence([-500] * 20, [500] * 20) > 2
    True
    """
    return kl_divergence(
        itd_histogram(reference_itds_us, edges_us, pseudo_count),
        itd_histogram(generated_itds_us, edges_us, pseudo_count),
    )


def histogram_wasserstein(p, q, centres) -> float:
    """Wasserstein-1 distance between two histograms on the same increasing bin centres: Σ |F_p − F_q| · Δc.

    >>> histogram_wasserstein([1, 0, 0], [0, 0, 1], [0.0, 100.0, 200.0])
    200.0
    """
    p, q, centres = (np.asarray(v, dtype=np.float64) for v in (p, q, centres))
    if not p.shape == q.shape == centres.shape or np.any(np.diff(centres) <= 0):
        raise ValueError("histograms and centres must be 1-D of the same length, centres increasing")
    cdf_gap = np.cumsum(p / p.sum()) - np.cumsum(q / q.sum())
    return float(np.sum(np.abs(cdf_gap[:-1]) * np.diff(centres)))


def itd_wasserstein_us(
    reference_itds_us, generated_itds_us, edges_us=DEFAULT_ITD_EDGES_US, pseudo_count: float = 0.0
) -> float:
    """Wasserstein-1 distance (µs) between the ITD histograms of two sets, mass placed at bin centres; lower is better.

    Reads as "how far, in µs, ITDs must move on average to turn one set's distribution into
    the other's". Unsmoothed by default (W1 needs no smoothing); binning limits its resolution
    to about one bin width (100 µs by default).

    >>> itd_wasserstein_us([0.0] * 5, [200.0] * 5)
    200.0
    """
    edges = np.asarray(edges_us, dtype=np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    return histogram_wasserstein(
        itd_histogram(reference_itds_us, edges, pseudo_count),
        itd_histogram(generated_itds_us, edges, pseudo_count),
        centres,
    )


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapCI:
    """A statistic on the full sets and its percentile bootstrap interval."""

    value: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_failed: int  # resamples on which the statistic raised ValueError (excluded)

    def as_dict(self, name: str) -> dict[str, float]:
        return {name: self.value, f"{name}_ci_low": self.low, f"{name}_ci_high": self.high}


def bootstrap_ci(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    x,
    y,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "percentile",
    floor: float | None = None,
) -> BootstrapCI:
    """Bootstrap confidence interval of a two-set statistic (percentile by default).

    Each resample draws ``len(x)`` rows of ``x`` and ``len(y)`` rows of ``y`` with
    replacement, independently (the sets are unpaired), and evaluates
    ``statistic(x_b, y_b)``. With q_lo, q_hi the (α/2, 1 − α/2) percentiles of those values
    (α = 1 − ``confidence``), ``method="percentile"`` gives [q_lo, q_hi] and
    ``method="basic"`` gives [2θ̂ − q_hi, 2θ̂ − q_lo] (θ̂ = the statistic on the full sets),
    which undoes a shift of the bootstrap distribution, and ``method="recentred"`` gives
    [θ̂ − (m − q_lo), θ̂ + (q_hi − m)] with m the bootstrap median: the bootstrap distribution
    moved so that its median sits on θ̂ (its median bias removed), which always contains θ̂.
    ``floor`` clips both ends from below (0 for a distance). ``seed`` makes it reproducible.
    Resamples on which the statistic raises ``ValueError`` are skipped and counted.

    Caveat for distances: resampling adds spread, and a distance grows with spread, so the
    bootstrap distribution of a distance sits *above* its estimate. When the true distance
    is large compared with that effect (e.g. a Fréchet distance of 4 between 2-d sets of
    300–400) the percentile interval covers it at about the nominal rate; when the sets come
    from the same distribution the percentile interval can exclude both the estimate and 0
    (measured: ITD Wasserstein 55 µs, interval [60, 313] µs for 40 vs. 20 clips of one
    distribution; identical sets: value 0, interval [0.0046, 0.30]). ``compare-sets`` therefore
    uses ``method="recentred"`` with ``floor=0`` (identical sets: [0, …]) and asks whether two
    sets differ at all with :func:`permutation_p_value` and :func:`permutation_null`.

    Raises:
        ValueError: empty sets, confidence outside (0, 1), an unknown method, or when more
            than half the resamples fail.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(0, 1, 200), rng.normal(1, 1, 300)
    >>> ci = bootstrap_ci(lambda a, b: float(b.mean() - a.mean()), x, y, n_resamples=500, seed=1)
    >>> bool(ci.low < 1.0 < ci.high), ci.n_failed
    (True, 0)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("bootstrap needs two non-empty sets")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    if method not in ("percentile", "basic", "recentred"):
        raise ValueError(f"method must be 'percentile', 'basic' or 'recentred', got {method!r}")
    value = float(statistic(x, y))
    rng = np.random.default_rng(seed)
    values, failed = [], 0
    for _ in range(n_resamples):
        xb = x[rng.integers(0, len(x), len(x))]
        yb = y[rng.integers(0, len(y), len(y))]
        try:
            values.append(float(statistic(xb, yb)))
        except ValueError:
            failed += 1
    if failed > n_resamples / 2:
        raise ValueError(f"the statistic failed on {failed} of {n_resamples} bootstrap resamples")
    alpha = 1.0 - confidence
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    if method == "basic":
        low, high = 2 * value - high, 2 * value - low
    elif method == "recentred":
        median = float(np.median(values))
        low, high = value - (median - low), value + (high - median)
    if floor is not None:
        low, high = max(low, floor), max(high, floor)
    return BootstrapCI(value, float(low), float(high), confidence, n_resamples, failed)


def permutation_null(
    statistic: Callable[[np.ndarray, np.ndarray], float], x, y, *, n_permutations: int = 1000, seed: int = 0
) -> np.ndarray:
    """The statistic on ``n_permutations`` random re-splits of the pooled sets (sizes ``len(x)``, ``len(y)``).

    Its distribution is what the statistic looks like when the two sets do *not* differ
    (the labels are exchangeable): for a distance, the size of the small-sample bias at these
    set sizes. Seeded; :func:`permutation_p_value` draws the same splits.

    >>> null = permutation_null(lambda a, b: abs(float(a.mean() - b.mean())), np.arange(10.0), np.arange(10.0),
    ...                         n_permutations=50)
    >>> null.shape, bool(np.all(null >= 0))
    ((50,), True)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("a permutation test needs two non-empty sets")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be positive, got {n_permutations}")
    pooled = np.concatenate([x, y], axis=0)
    rng = np.random.default_rng(seed)
    null = np.empty(n_permutations)
    for k in range(n_permutations):
        order = rng.permutation(len(pooled))
        null[k] = float(statistic(pooled[order[: len(x)]], pooled[order[len(x) :]]))
    return null


def permutation_p_value(
    statistic: Callable[[np.ndarray, np.ndarray], float], x, y, *, n_permutations: int = 1000, seed: int = 0
) -> float:
    """One-sided permutation p-value that two sets come from the same distribution, for a distance ``statistic``.

    The sets are pooled and randomly re-split into sizes ``len(x)`` and ``len(y)``
    ``n_permutations`` times (:func:`permutation_null`); p = (1 + #{statistic(split) ≥
    statistic(x, y)}) / (1 + n_permutations). A small p says the distance is larger than
    re-labelling alone produces. Seeded.

    >>> rng = np.random.default_rng(0)
    >>> gap = lambda a, b: abs(float(a.mean() - b.mean()))
    >>> permutation_p_value(gap, rng.normal(0, 1, 50), rng.normal(1, 1, 50), n_permutations=200) < 0.01
    True
    """
    null = permutation_null(statistic, x, y, n_permutations=n_permutations, seed=seed)
    return _p_value(null, float(statistic(np.asarray(x), np.asarray(y))))


def _p_value(null: np.ndarray, observed: float) -> float:
    return float((1 + np.sum(null >= observed)) / (1 + null.size))


def interval_note(n_x: int, n_y: int) -> str | None:
    """Why a bootstrap interval is not reported for sets of these sizes, or None when it is.

    >>> interval_note(1, 12)
    'not computable (n=1; a bootstrap interval needs at least 5 clips per set)'
    >>> interval_note(5, 5) is None
    True
    """
    smallest = min(n_x, n_y)
    if smallest < MIN_BOOTSTRAP_SIZE:
        return f"not computable (n={smallest}; a bootstrap interval needs at least {MIN_BOOTSTRAP_SIZE} clips per set)"
    return None


# --------------------------------------------------------------------------- reports for compare-sets


INTERVAL_MEANING = (
    "bootstrap interval of the value: the (α/2, 1 − α/2) quantiles of the distance over resamples of "
    "each set, moved so that their median sits on the value (the upward small-sample bias of "
    "resampled distances removed), low end clipped at 0; it always contains the value"
)
NULL_MEANING = (
    "no-difference quantile: the distance's `confidence` quantile over random re-splits of the pooled "
    "clips (sets that do not differ, at these sizes); a value at or below it reads as no difference"
)


def _interval(statistic, x, y, name: str, n_resamples: int, confidence: float, seed: int) -> dict:
    """``{name, name_ci_low, name_ci_high, name_ci_note}``: the recentred bootstrap interval, or NaN with the reason."""
    note = interval_note(len(x), len(y)) if n_resamples > 0 else "not computed (no resamples requested)"
    if note is not None:
        return {
            name: float(statistic(x, y)),
            f"{name}_ci_low": math.nan,
            f"{name}_ci_high": math.nan,
            f"{name}_ci_note": note,
        }
    ci = bootstrap_ci(
        statistic, x, y, n_resamples=n_resamples, confidence=confidence, seed=seed, method="recentred", floor=0.0
    )
    return {**ci.as_dict(name), f"{name}_ci_note": None}


def compare_embedding_sets(
    reference,
    generated,
    *,
    name: str,
    covariance: str = "sample",
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Fréchet distance of two embedding sets with its bootstrap interval and the sample-size caveat.

    Returns ``{name, name_ci_low, name_ci_high, name_ci_note, name_n_reference, name_n_generated,
    name_dim}`` and ``name_note`` (None or the :func:`sample_size_note` sentence). The interval
    is :func:`bootstrap_ci` ``method="recentred"``, ``floor=0`` (:data:`INTERVAL_MEANING`):
    it always contains the value, and identical sets read [0, …]. It is NaN with
    ``name_ci_note`` saying why when either set has fewer than :data:`MIN_BOOTSTRAP_SIZE`
    embeddings or ``n_resamples=0``. Cost per resample: one :func:`frechet_distance` (with fewer
    embeddings than dimensions it works in their span: milliseconds at dim 768 and 100 + 100 embeddings).

    >>> rng = np.random.default_rng(0)
    >>> r = compare_embedding_sets(rng.normal(size=(300, 2)), rng.normal(size=(200, 2)) + 3, name="fd", n_resamples=50)
    >>> bool(r["fd_ci_low"] < 18 < r["fd_ci_high"]), r["fd_n_generated"], r["fd_note"] is None
    (True, 200, True)
    """
    x, y = _embedding_set("reference set", reference), _embedding_set("generated set", generated)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"the sets have different dimensions: {x.shape[1]} and {y.shape[1]}")

    dim = x.shape[1]
    with _one_blas_thread():  # every resample's rows lie in the full sets' span: project once
        x, y = _span_coordinates(x, y, covariance)

    def statistic(a, b):
        return _frechet_from_coordinates(a, b, covariance, dim)

    result = _interval(statistic, x, y, name, n_resamples, confidence, seed)
    result.update(
        {
            f"{name}_n_reference": len(x),
            f"{name}_n_generated": len(y),
            f"{name}_dim": dim,
            f"{name}_note": sample_size_note(len(x), len(y), dim, covariance),
        }
    )
    return result


def compare_itd_sets(
    reference_itds_us,
    generated_itds_us,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    edges_us=DEFAULT_ITD_EDGES_US,
    pseudo_count: float = DEFAULT_PSEUDO_COUNT,
) -> dict:
    """KL divergence and Wasserstein-1 distance of two sets of per-clip ITDs (µs), each with an interval and a null.

    Per distance ``d`` (``itd_kl`` in nats, ``itd_wasserstein_us`` in µs):

    * ``d`` — the value on the full sets;
    * ``d_ci_low``, ``d_ci_high`` — the recentred bootstrap interval (:data:`INTERVAL_MEANING`;
      :func:`bootstrap_ci` ``method="recentred"``, ``floor=0``), always containing the value;
      NaN with ``d_ci_note`` saying why when either set has fewer than
      :data:`MIN_BOOTSTRAP_SIZE` values;
    * ``d_null_high`` — the ``confidence`` quantile of :func:`permutation_null`
      (:data:`NULL_MEANING`): how large the distance gets between sets of these sizes that do
      not differ. Identical sets give 0 with a positive null quantile: no difference;
    * ``d_p_value`` (``itd_kl_p_value``, ``itd_wasserstein_p_value``) — from the same null.

    ``itd_n_reference``/``itd_n_generated`` count the finite values used and
    ``itd_n_unmeasurable`` the NaN values dropped (both sets). ``n_resamples=0`` skips the
    intervals, nulls and p-values (NaN).

    >>> r = compare_itd_sets([0.0] * 30 + [300.0] * 10, [0.0] * 20 + [300.0] * 20, n_resamples=100)
    >>> r["itd_wasserstein_us"], r["itd_n_generated"]
    (75.0, 40)
    >>> same = compare_itd_sets([0.0, 100.0, 300.0] * 4, [0.0, 100.0, 300.0] * 4, n_resamples=100)
    >>> same["itd_wasserstein_us"], same["itd_wasserstein_us_ci_low"], same["itd_wasserstein_us_null_high"] > 0
    (0.0, 0.0, True)
    """
    raw_x = np.asarray(reference_itds_us, dtype=np.float64).reshape(-1)
    raw_y = np.asarray(generated_itds_us, dtype=np.float64).reshape(-1)
    x, y = _values("reference ITD set", raw_x), _values("generated ITD set", raw_y)
    result: dict = {}
    statistics = {
        "itd_kl": lambda a, b: itd_kl_divergence(a, b, edges_us, pseudo_count),
        "itd_wasserstein_us": lambda a, b: itd_wasserstein_us(a, b, edges_us),
    }
    for name, statistic in statistics.items():
        p_name = name.removesuffix("_us") + "_p_value"
        result.update(_interval(statistic, x, y, name, n_resamples, confidence, seed))
        if n_resamples > 0:
            null = permutation_null(statistic, x, y, n_permutations=n_resamples, seed=seed)
            result[f"{name}_null_high"] = float(np.quantile(null, confidence))
            result[p_name] = _p_value(null, result[name])
        else:
            result.update({f"{name}_null_high": math.nan, p_name: math.nan})
    result.update(
        {
            "itd_n_reference": int(x.size),
            "itd_n_generated": int(y.size),
            "itd_n_unmeasurable": int(raw_x.size - x.size + raw_y.size - y.size),
        }
    )
    return result
