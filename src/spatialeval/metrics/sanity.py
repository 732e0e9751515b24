"""Statistics of how a metric responds to a known, controlled change (used by ``spatialeval validate``).

Every function works on *badness*: the metric's value oriented so that larger is worse
(``value`` for lower-is-better metrics, ``−value`` for higher-is-better ones; see
:func:`badness`), so one reading holds for every metric: a metric that sees a change gets worse
as the change grows. A statistic that cannot be computed returns ``(nan, reason)`` instead of
a plausible number.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "asymmetry",
    "badness",
    "exceed_fraction",
    "floor_threshold",
    "monotonicity",
    "relative_response",
    "responsiveness",
    "smallest_detected",
    "snap",
]


def badness(values, higher_is_better: bool) -> np.ndarray:
    """``values`` oriented so that larger is worse (float64).

    >>> badness([0.9, 0.5], higher_is_better=True).tolist()
    [-0.9, -0.5]
    """
    values = np.asarray(values, dtype=np.float64)
    return -values if higher_is_better else values


def snap(bad, rtol: float = 1e-5) -> np.ndarray:
    """Round ``bad`` to multiples of ``rtol × max|bad|``: differences at the level of float32 rounding count as none.

    The stages compute in float32 (ε ≈ 1.2e-7), so a metric that does not respond to a change still
    wobbles by about ε of its scale; without snapping, a rank correlation would correlate that noise.

    >>> snap([0.0, 3e-7, 1e-6, 10.0]).tolist()
    [0.0, 0.0, 0.0, 10.0]
    """
    bad = np.asarray(bad, dtype=np.float64)
    finite = np.abs(bad[np.isfinite(bad)])
    if finite.size == 0 or finite.max() == 0:
        return bad.copy()
    step = rtol * float(finite.max())
    return np.round(bad / step) * step


def responsiveness(change, bad) -> tuple[float, str]:
    """Spearman rank correlation between the true change and the badness: +1 = worse exactly as the change grows.

    NaN badness values are left out. Returns ``(rho, "")`` or ``(nan, reason)`` when fewer than
    three values are finite or either side is constant (a rank correlation is then undefined).

    >>> responsiveness([0, 5, 10, 15], [0.1, 0.3, 0.2, 0.9])
    (0.8, '')
    >>> responsiveness([0, 5, 10], [1.0, 1.0, 1.0])[1]
    'constant along the sweep'
    """
    from scipy.stats import spearmanr

    change, bad = np.asarray(change, dtype=np.float64), np.asarray(bad, dtype=np.float64)
    keep = np.isfinite(change) & np.isfinite(bad)
    if keep.sum() < 3:
        return math.nan, f"only {int(keep.sum())} measurable points"
    if np.ptp(bad[keep]) == 0:
        return math.nan, "constant along the sweep"
    if np.ptp(change[keep]) == 0:
        return math.nan, "no change to correlate with"
    return round(float(spearmanr(change[keep], bad[keep]).statistic), 12), ""


def monotonicity(bad_in_change_order) -> tuple[float, str]:
    """Fraction of consecutive steps (change growing) on which the badness strictly grows.

    1 = worse at every step; a flat metric scores 0. NaN steps are left out.

    >>> monotonicity([0.0, 1.0, 0.5, 2.0])
    (0.6666666666666666, '')
    """
    bad = np.asarray(bad_in_change_order, dtype=np.float64)
    bad = bad[np.isfinite(bad)]
    if bad.size < 2:
        return math.nan, f"only {bad.size} measurable points"
    return float(np.mean(np.diff(bad) > 0)), ""


def asymmetry(at_plus, at_minus) -> tuple[float, str]:
    """Left/right asymmetry: ``mean|m(+θ) − m(−θ)| / mean((|m(+θ)| + |m(−θ)|)/2)``; 0 = mirror-symmetric.

    >>> asymmetry([1.0, 2.0], [1.0, 2.0])
    (0.0, '')
    >>> asymmetry([1.0, 3.0], [1.0, 1.0])
    (0.6666666666666666, '')
    """
    plus, minus = np.asarray(at_plus, dtype=np.float64), np.asarray(at_minus, dtype=np.float64)
    keep = np.isfinite(plus) & np.isfinite(minus)
    if not keep.any():
        return math.nan, "no angle measurable on both sides"
    difference = float(np.mean(np.abs(plus[keep] - minus[keep])))
    if difference == 0.0:
        return 0.0, ""
    return difference / float(np.mean((np.abs(plus[keep]) + np.abs(minus[keep])) / 2.0)), ""


def floor_threshold(floor_bad, quantile: float = 0.95) -> tuple[float, str]:
    """The ``quantile`` of the badness on no-change pairs (the noise floor a change must exceed).

    >>> floor_threshold([0.0, 1.0, 2.0, 3.0, 4.0])
    (3.8, '')
    """
    bad = np.asarray(floor_bad, dtype=np.float64)
    bad = bad[np.isfinite(bad)]
    if bad.size == 0:
        return math.nan, "no measurable floor pair"
    return float(np.quantile(bad, quantile)), ""


def exceed_fraction(bad, threshold: float) -> tuple[float, str]:
    """Fraction of the measurable ``bad`` values strictly above ``threshold``.

    >>> exceed_fraction([0.5, 2.0, 3.0, float("nan")], 1.0)
    (0.6666666666666666, '')
    """
    bad = np.asarray(bad, dtype=np.float64)
    bad = bad[np.isfinite(bad)]
    if bad.size == 0 or not math.isfinite(threshold):
        return math.nan, "no measurable pair" if bad.size == 0 else "no noise floor"
    return float(np.mean(bad > threshold)), ""


def relative_response(test_bad, same_bad: float, reference_bad: float) -> tuple[float, str]:
    """How far the test pairs move the metric, as a fraction of a reference change: ``(median(test) − same) / (reference − same)``.

    ``same`` is the badness of an unchanged pair, ``reference`` that of a known large change; 0 = the
    metric does not see the test change at all, 1 = it sees it as much as the reference one.

    >>> relative_response([0.4, 0.6], 0.0, 90.0)
    (0.005555555555555556, '')
    >>> relative_response([1.0], 0.0, 0.0)[1]
    'the reference change does not move the metric'
    """
    test = np.asarray(test_bad, dtype=np.float64)
    test = test[np.isfinite(test)]
    if test.size == 0 or not (math.isfinite(same_bad) and math.isfinite(reference_bad)):
        return math.nan, "no measurable pair" if test.size == 0 else "no measurable unchanged/reference pair"
    if reference_bad <= same_bad:
        return math.nan, "the reference change does not move the metric"
    return float((np.median(test) - same_bad) / (reference_bad - same_bad)), ""


def smallest_detected(change, bad, threshold: float) -> tuple[float, str]:
    """The smallest non-zero change whose badness is strictly above ``threshold``.

    >>> smallest_detected([0, 5, 10, 15], [0.0, 0.2, 1.5, 0.1], 1.0)
    (10.0, '')
    >>> smallest_detected([0, 5], [0.0, 0.2], 1.0)[1]
    'no change in the sweep exceeds the noise floor'
    """
    change, bad = np.asarray(change, dtype=np.float64), np.asarray(bad, dtype=np.float64)
    if not math.isfinite(threshold):
        return math.nan, "no noise floor"
    hits = change[(change != 0) & np.isfinite(bad) & (bad > threshold)]
    if hits.size == 0:
        return math.nan, "no change in the sweep exceeds the noise floor"
    return float(np.min(hits)), ""
