"""Direction of arrival of one static source from its binaural cues, with a reliability, and direction errors.

The estimate is split the way the cues split it (interaural-polar coordinates):

* the **lateral angle** α ∈ [−90°, 90°] (angle from the median plane, + = left) comes from
  the ITD alone, through a head-size-normalised spherical-head model, and carries a
  *reliability* in [0, 1];
* the **polar angle** β (0 = front, 180 = back; ±90 = above/below with
  ``elevations="all"``) — i.e. front/back — comes only from the spectral pattern of the
  band ILDs matched to the MIT KEMAR pinna templates, and carries a *confidence* in
  [0, 1]. When the pattern does not discriminate (a head without pinnae, the median
  plane, reverberation), the hemifield is ``"ambiguous"`` and no azimuth is claimed.

Both use only frames dominated by one direct sound (cue selection,
:func:`spatialeval.features.frame_cues.select_direct_frames`). A direction whose
lateral reliability is below ``min_reliability`` is *unmeasurable* (NaN, with a reason).

Azimuths follow the MIT KEMAR set: degrees counter-clockwise seen from above, 0 = front,
90 = left, ±180 = back; returned wrapped to (−180, 180].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from spatialeval.features.frame_cues import (
    DEFAULT_BANDS,
    GATE_DB,
    ITD_FRAME_S,
    ClipAnalysis,
    CueError,
    analyze_binaural,
    band_bins,
    band_sums,
    energy_gate,
    select_direct_frames,
    weighted_band_ild,
)
from spatialeval.features.streaming import next_pow2
from spatialeval.io.hrir import angular_distance_deg, load_kemar, wrap180

SPEED_OF_SOUND = 343.0
# Broadband GCC-PHAT ITDs of speech on real and model heads lie 3–20 % above Woodworth's
# high-frequency value for the geometric radius (low frequencies carry up to 1.5× more ITD);
# an effective radius of 9.5 cm maps KEMAR, an 8.75-cm rigid sphere and the Brown–Duda model
# within about ±8 % of the true lateral angle (scripts/benchmark_cues.py, table 2).
REFERENCE_RADIUS_M = 0.095
SIDE_ZONE_DEG = 10.0  # |lateral| ≥ 90 − this: on the interaural axis, no front/back hemifield
# Frames agreeing with the estimate within ±(60 µs + 10 % of |ITD|) count as consistent: a head's ITD
# depends on frequency (up to 1.5× at low frequencies), so frames of different spectra spread in proportion.
ITD_TOLERANCE_S = 60e-6
ITD_RELATIVE_TOLERANCE = 0.10
MIN_SELECTED_FRAMES = 3  # fewer direct-sound frames than this: no direction at all
FULL_FRAMES = 8  # this many direct-sound frames (160 ms) give full weight
COHERENCE_FULL = 0.5  # mean coherence of the selected frames giving full weight
MIN_RELIABILITY = 0.5  # below this the direction is unmeasurable
LATERAL_WINDOW_DEG = 15.0  # pinna templates considered around the ITD's lateral angle
POLAR_SEPARATION_DEG = 60.0  # templates this far apart in polar angle are rival hypotheses
ILD_NOISE_DB = 0.5  # RMS fit error (dB) expected from measurement noise alone
FULL_FIT_RATIO = 2.0  # the rival hypotheses fitting this many times worse gives front/back confidence 1
MIN_FRONT_BACK_CONFIDENCE = 0.5
MIN_BANDS = 6  # front/back needs at least this many usable ILD bands
MIN_TEMPLATE_GAIN, MAX_TEMPLATE_GAIN = 0.25, 1.25  # range of the per-template ILD scale factor

__all__ = [
    "MIN_FRONT_BACK_CONFIDENCE",
    "MIN_RELIABILITY",
    "REFERENCE_RADIUS_M",
    "SIDE_ZONE_DEG",
    "CueTemplates",
    "DirectionEstimate",
    "direction_error",
    "direction_error_deg",
    "direction_from_analysis",
    "estimate_direction",
    "front_back_confusion",
    "front_back_relation",
    "hemifield",
    "interaural_polar",
    "itd_model_s",
    "kemar_templates",
    "lateral_from_itd",
]


# --------------------------------------------------------------------------- geometry and head model


def interaural_polar(azimuth_deg, elevation_deg=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(lateral, polar) angles in degrees of directions given as azimuth/elevation.

    lateral = asin(cos el · sin az) (+ = left), polar = atan2(sin el, cos el · cos az)
    (0 = front, 90 = above, 180 = back).

    >>> [float(round(v, 6)) for v in interaural_polar(150.0)]
    [30.0, 180.0]
    """
    az, el = (
        np.radians(np.asarray(azimuth_deg, dtype=np.float64)),
        np.radians(np.asarray(elevation_deg, dtype=np.float64)),
    )
    lateral = np.degrees(np.arcsin(np.clip(np.cos(el) * np.sin(az), -1.0, 1.0)))
    polar = np.degrees(np.arctan2(np.sin(el), np.cos(el) * np.cos(az)))
    return lateral, polar


def _direction(lateral_deg: float, polar_deg: float) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of an interaural-polar direction."""
    lat, pol = math.radians(lateral_deg), math.radians(polar_deg)
    x, y, z = math.cos(lat) * math.cos(pol), math.sin(lat), math.cos(lat) * math.sin(pol)
    return float(wrap180(math.degrees(math.atan2(y, x)))), math.degrees(math.asin(max(-1.0, min(1.0, z))))


def itd_model_s(lateral_deg, radius_m: float = REFERENCE_RADIUS_M, c: float = SPEED_OF_SOUND):
    """Woodworth's spherical-head ITD (s) at a lateral angle: (a/c)·(α + sin α), + = left.

    >>> round(float(itd_model_s(90.0)) * 1e6)
    712
    """
    alpha = np.radians(np.asarray(lateral_deg, dtype=np.float64))
    return radius_m / c * (alpha + np.sin(alpha))


_LATERAL_GRID = np.linspace(-90.0, 90.0, 18001)


def lateral_from_itd(itd_s, radius_m: float = REFERENCE_RADIUS_M, c: float = SPEED_OF_SOUND):
    """Lateral angle (degrees) whose model ITD (:func:`itd_model_s`) equals ``itd_s``; ±90 beyond the model's range.

    >>> round(float(lateral_from_itd(itd_model_s(35.0))), 2)
    35.0
    """
    return np.interp(np.asarray(itd_s, dtype=np.float64), itd_model_s(_LATERAL_GRID, radius_m, c), _LATERAL_GRID)


def hemifield(azimuth_deg: float, side_zone_deg: float = SIDE_ZONE_DEG) -> str:
    """'front', 'back', or 'side' for azimuths within ``side_zone_deg`` of the interaural axis (±90°).

    >>> hemifield(30), hemifield(150), hemifield(-85), hemifield(180)
    ('front', 'back', 'side', 'back')
    """
    lateral = abs(float(wrap180(azimuth_deg)))
    if abs(lateral - 90.0) <= side_zone_deg:
        return "side"
    return "front" if lateral < 90.0 else "back"


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class CueTemplates:
    """Band ILDs (dB) of the KEMAR HRIRs at one rate, with their directions in degrees."""

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    lateral_deg: np.ndarray
    polar_deg: np.ndarray
    ild_db: np.ndarray  # (directions, bands), NaN for bands above fmax
    sample_rate: int
    fmax: float | None
    elevations: str


def _hrir_ild(hrir: np.ndarray, sr: int, fmax: float | None) -> np.ndarray:
    """Band ILD (dB) of HRIR pairs (n, taps, 2) at the resolution of the ITD frames' spectra."""
    nfft = next_pow2(max(hrir.shape[1], 2 * int(round(ITD_FRAME_S * sr))))
    ranges, usable = band_bins(DEFAULT_BANDS, sr, nfft, fmax)
    spectra = np.fft.rfft(hrir, nfft, axis=1)
    power = band_sums(spectra.real**2 + spectra.imag**2, ranges)  # (n, bands, 2)
    ild = 10.0 * np.log10((power[:, :, 0] + 1e-20) / (power[:, :, 1] + 1e-20))
    ild[:, ~usable] = np.nan
    return ild


@lru_cache(maxsize=16)
def kemar_templates(sr: int, fmax: float | None = None, elevations: str = "horizontal") -> CueTemplates:
    """Band-ILD templates from the MIT KEMAR HRIRs resampled to ``sr`` (cached): the pinna evidence for front/back.

    ``elevations="horizontal"``: the 72 ear-level directions (5° apart) with band ILDs
    linearly interpolated (on the circle) to a 1° grid, without ±90° exactly (on the
    interaural axis front and back coincide); ``"all"``: the 710 measured directions
    (−40…90° elevation), no interpolation.

    >>> t = kemar_templates(32000)
    >>> t.ild_db.shape, bool(np.all(t.ild_db[t.azimuth_deg == 60.0] > 0))   # 60° = left: left ear louder
    ((358, 19), True)
    """
    sr = int(sr)
    kemar = load_kemar(sr)
    if elevations == "horizontal":
        index = np.flatnonzero(kemar.elevation_deg == 0.0)
        index = index[np.argsort(kemar.azimuth_deg[index])]
        ild = _hrir_ild(np.asarray(kemar.hrir[index]), sr, fmax)
        measured = kemar.azimuth_deg[index]
        grid = np.array([a for a in range(360) if a not in (90, 270)], dtype=np.float64)
        period = np.concatenate([measured, measured[:1] + 360.0])
        ild = np.stack([np.interp(grid, period, np.concatenate([column, column[:1]])) for column in ild.T], axis=1)
        azimuth, elevation = wrap180(grid), np.zeros_like(grid)
    elif elevations == "all":
        ild = _hrir_ild(np.asarray(kemar.hrir), sr, fmax)
        azimuth, elevation = wrap180(kemar.azimuth_deg), kemar.elevation_deg.copy()
    else:
        raise CueError(f"elevations must be 'horizontal' or 'all', got {elevations!r}")
    lateral, polar = interaural_polar(azimuth, elevation)
    return CueTemplates(
        azimuth_deg=azimuth,
        elevation_deg=elevation,
        lateral_deg=lateral,
        polar_deg=polar,
        ild_db=ild,
        sample_rate=sr,
        fmax=fmax,
        elevations=elevations,
    )


# --------------------------------------------------------------------------- estimate


class DirectionEstimate(NamedTuple):
    """A direction estimate with its evidence.

    ``azimuth_deg`` ((−180, 180], 90 = left) and ``elevation_deg`` (None with ear-level
    templates) are NaN/None unless both the lateral angle and the hemifield are known;
    ``lateral_deg`` is the angle from the median plane (the cone of confusion), NaN when
    the direction is unmeasurable. ``front_back`` is 'front', 'back', 'side' (within 10°
    of the interaural axis) or 'ambiguous'; ``reliability`` ∈ [0, 1] qualifies the lateral
    angle, ``front_back_confidence`` ∈ [0, 1] the hemifield; ``reason`` says why a part is
    missing. Built directly, ``DirectionEstimate(30.0, None)`` is a known direction.
    """

    azimuth_deg: float
    elevation_deg: float | None
    lateral_deg: float | None = None
    front_back: str | None = None
    reliability: float = 1.0
    front_back_confidence: float = 1.0
    reason: str = ""
    frames: int = 0

    @property
    def lateral(self) -> float:
        if self.lateral_deg is not None:
            return float(self.lateral_deg)
        if not math.isfinite(self.azimuth_deg):
            return float("nan")
        return float(interaural_polar(self.azimuth_deg, self.elevation_deg or 0.0)[0])

    @property
    def hemifield(self) -> str:
        return self.front_back if self.front_back is not None else hemifield(self.azimuth_deg)

    @property
    def measurable(self) -> bool:
        return math.isfinite(self.lateral)

    @property
    def resolved(self) -> bool:
        """Lateral angle and hemifield both known (a full direction, or 'side')."""
        return self.measurable and self.hemifield != "ambiguous"


def _unmeasurable(reason: str, frames: int = 0, reliability: float = 0.0) -> DirectionEstimate:
    return DirectionEstimate(float("nan"), None, float("nan"), "ambiguous", reliability, 0.0, reason, frames)


def _lateral_itd(itd: np.ndarray, weight: np.ndarray, max_itd_s: float) -> tuple[float, float]:
    """Mode-seeking ITD of the selected frames and the weighted share of frames agreeing with it.

    A coherence-weighted histogram (5 µs bins) smoothed by a Gaussian (σ = 25 µs) gives
    the mode; the estimate is the median of the frames within ±(60 µs + 10 %) of it, so a
    minority of reverberant frames pulled towards 0 µs cannot drag it.
    """
    step = 5e-6
    edges = np.arange(-max_itd_s - step / 2, max_itd_s + step, step)
    histogram, _ = np.histogram(itd, bins=edges, weights=weight)
    offsets = np.arange(-25, 26)
    kernel = np.exp(-0.5 * (offsets * step / 25e-6) ** 2)
    density = np.convolve(histogram, kernel, mode="same")
    mode = 0.5 * (edges[int(np.argmax(density))] + edges[int(np.argmax(density)) + 1])
    near = np.abs(itd - mode) <= ITD_TOLERANCE_S + ITD_RELATIVE_TOLERANCE * abs(mode)
    estimate = float(np.median(itd[near])) if near.any() else float(np.median(itd))
    agree = np.abs(itd - estimate) <= ITD_TOLERANCE_S + ITD_RELATIVE_TOLERANCE * abs(estimate)
    return estimate, float(weight[agree].sum() / weight.sum()) if weight.sum() > 0 else 0.0


def _smooth_residual_db(values: np.ndarray, log_freq: np.ndarray) -> float:
    """RMS residual of a least-squares quadratic in log-frequency: the ILD structure a pinna-free curve leaves.

    Modified Gram–Schmidt with plain numpy sums (no LAPACK/BLAS): deterministic under any threading.
    """
    residual = values.astype(np.float64).copy()
    basis: list[np.ndarray] = []
    for power in range(3):
        column = log_freq**power
        for q in basis:
            column = column - np.sum(column * q) * q
        norm = math.sqrt(float(np.sum(column * column)))
        if norm < 1e-9:
            continue
        q = column / norm
        basis.append(q)
        residual = residual - np.sum(residual * q) * q
    return math.sqrt(float(np.mean(residual**2)))


def _polar_evidence(ild: np.ndarray, lateral: float, templates: CueTemplates) -> tuple[float | None, float, str]:
    """Polar angle from the pinna templates near ``lateral``, its confidence, and what the fits were.

    Among templates within ±15° of the lateral angle, each scaled by its least-squares gain in
    [0.25, 1.25], the best RMS fit ``e_best`` (dB) to the measured band ILDs wins. Its rivals
    are the best template at a polar angle ≥ 60° away (the other hemifield) and a smooth
    quadratic in log-frequency (a head without pinnae), the
    better of which fits with ``e_rival``. With ρ = (e_rival + 0.5 dB) / (e_best + 0.5 dB)
    (0.5 dB: the fit error noise alone leaves), confidence = clip(ρ − 1, 0, 1): rivals
    fitting twice as badly give full confidence, rivals fitting as well give none.
    """
    bands = np.isfinite(ild) & np.all(np.isfinite(templates.ild_db), axis=0)
    if bands.sum() < MIN_BANDS:
        return None, 0.0, f"only {int(bands.sum())} usable ILD bands (front/back needs {MIN_BANDS})"
    candidates = np.abs(templates.lateral_deg - lateral) <= LATERAL_WINDOW_DEG
    if not candidates.any():
        return None, 0.0, "no pinna template near this lateral angle"
    measured = ild[bands]
    shapes = templates.ild_db[candidates][:, bands]
    # Reverberation and other heads scale ILDs down or up: each template may be scaled by a gain
    # in [0.25, 1.25] (least squares) so that the comparison is about the pattern across bands.
    gain = np.clip(
        np.sum(shapes * measured[None, :], axis=1) / np.maximum(np.sum(shapes * shapes, axis=1), 1e-12),
        MIN_TEMPLATE_GAIN,
        MAX_TEMPLATE_GAIN,
    )
    rms = np.sqrt(np.mean((gain[:, None] * shapes - measured[None, :]) ** 2, axis=1))
    polar = templates.polar_deg[candidates]
    best = int(np.argmin(rms))
    rivals = np.abs(wrap180(polar - polar[best])) > POLAR_SEPARATION_DEG
    rival = float(rms[rivals].min()) if rivals.any() else math.inf
    centres = np.sqrt(DEFAULT_BANDS[:, 0] * DEFAULT_BANDS[:, 1])[bands]
    smooth = _smooth_residual_db(measured, np.log2(centres / 1000.0))
    ratio = (min(rival, smooth) + ILD_NOISE_DB) / (float(rms[best]) + ILD_NOISE_DB)
    confidence = float(np.clip((ratio - 1.0) / (FULL_FIT_RATIO - 1.0), 0.0, 1.0))
    fits = (
        f"the band-ILD pattern fits the best pinna template with {rms[best]:.1f} dB RMS, the other "
        f"hemifield with {rival:.1f} dB and a smooth pinna-free curve with {smooth:.1f} dB"
    )
    return float(polar[best]), confidence, fits


def direction_from_analysis(
    analysis: ClipAnalysis,
    templates: CueTemplates,
    *,
    gate_db: float = GATE_DB,
    max_itd_s: float = 0.001,
    min_reliability: float = MIN_RELIABILITY,
    min_front_back_confidence: float = MIN_FRONT_BACK_CONFIDENCE,
) -> DirectionEstimate:
    """The direction estimate of :func:`estimate_direction` from an existing :class:`ClipAnalysis`."""
    active = energy_gate(analysis.power, gate_db)
    if not active.any():
        return _unmeasurable("the clip is silent (no frame above −100 dBFS once DC is removed)")
    if not np.isfinite(analysis.itd_s[active]).any():
        silent = "left" if analysis.power[:, 0].max() <= 0 else "right"
        return _unmeasurable(f"no interaural time difference: the {silent} ear is silent")
    selected = select_direct_frames(analysis, gate_db)
    count = int(selected.sum())
    if count < MIN_SELECTED_FRAMES:
        return _unmeasurable(
            f"only {count} of {int(active.sum())} active frames carry one dominant direct sound "
            f"(coherent or onset frames); at least {MIN_SELECTED_FRAMES} are needed",
            count,
        )
    itd, weight = analysis.itd_s[selected], analysis.coherence[selected]
    estimate_s, consistency = _lateral_itd(itd, weight, max_itd_s)
    mean_coherence = float(weight.mean())
    reliability = consistency * min(1.0, mean_coherence / COHERENCE_FULL) * min(1.0, count / FULL_FRAMES)
    if reliability < min_reliability:
        return _unmeasurable(
            f"direction unreliable (reliability {reliability:.2f} < {min_reliability:.2f}): "
            f"{consistency:.0%} of the {count} direct-sound frames agree within "
            f"±({ITD_TOLERANCE_S * 1e6:.0f} µs + {ITD_RELATIVE_TOLERANCE:.0%}), "
            f"mean coherence {mean_coherence:.2f}",
            count,
            reliability,
        )
    lateral = float(lateral_from_itd(estimate_s))
    ild = weighted_band_ild(analysis.band_power, analysis.band_usable, selected)
    polar, confidence, fits = _polar_evidence(ild, lateral, templates)
    reason = f"front/back ambiguous (confidence {confidence:.2f} < {min_front_back_confidence:.2f}): {fits}"
    with_elevation = templates.elevations == "all"
    if abs(lateral) >= 90.0 - SIDE_ZONE_DEG:
        # On the interaural axis front and back are within 20°: the hemifield does not matter.
        if polar is None or confidence < min_front_back_confidence:
            azimuth, elevation = (90.0 if lateral > 0 else -90.0), 0.0
        else:
            azimuth, elevation = _direction(lateral, polar)
        return DirectionEstimate(
            azimuth, elevation if with_elevation else None, lateral, "side", reliability, confidence, "", count
        )
    if polar is None or confidence < min_front_back_confidence:
        return DirectionEstimate(float("nan"), None, lateral, "ambiguous", reliability, confidence, reason, count)
    azimuth, elevation = _direction(lateral, polar)
    side = "front" if math.cos(math.radians(polar)) >= 0 else "back"
    return DirectionEstimate(
        azimuth, elevation if with_elevation else None, lateral, side, reliability, confidence, "", count
    )


def estimate_direction(
    binaural,
    sr: int,
    *,
    elevations: str = "horizontal",
    fmax: float | None = None,
    gate_db: float = GATE_DB,
    max_itd_s: float = 0.001,
    analysis_rate: int | None = None,
    min_reliability: float = MIN_RELIABILITY,
    min_front_back_confidence: float = MIN_FRONT_BACK_CONFIDENCE,
) -> DirectionEstimate:
    """Direction of a single static source from its ITD (lateral angle) and band-ILD pattern (front/back).

    1. **Cue selection**: only frames dominated by one direct sound count (GCC-PHAT coherence
       ≥ 0.8, or an onset with coherence ≥ 0.3; Faller & Merimaa 2004), see
       :func:`~spatialeval.features.frame_cues.select_direct_frames`.
    2. **Lateral angle** α from the mode-seeking median ITD of those frames through
       Woodworth's model with an effective radius of 9.5 cm (:func:`lateral_from_itd`), so it
       does not depend on KEMAR's magnitudes. **Reliability** = (coherence-weighted share of
       selected frames within ±(60 µs + 10 %) of the estimate) × min(1, mean coherence / 0.5) ×
       min(1, frames / 8); below ``min_reliability`` (0.5) the estimate is unmeasurable.
    3. **Front/back** (polar angle) only from spectral evidence: the selected frames' band
       ILDs are compared (RMS, dB, each template scaled by its best gain in [0.25, 1.25]) with
       the KEMAR pinna templates within ±15° of α. The best
       template's polar angle is taken when it beats both the best template of the other
       hemifield (≥ 60° away in polar angle) and a smooth pinna-free curve (quadratic in
       log-frequency): confidence = clip((e_rival + 0.5)/(e_best + 0.5) − 1, 0, 1) with the
       RMS fit errors e in dB, i.e. 1 when the rivals fit twice as badly. Below
       ``min_front_back_confidence`` (0.5) the hemifield is 'ambiguous' and the azimuth NaN:
       the cone of confusion is reported (``lateral_deg``) instead of a guessed hemifield.
       This is the case on the median plane, on heads without pinnae and under strong
       reverberation. Within 10° of the interaural axis the hemifield is 'side'.

    With ``elevations="all"`` the polar angle is matched over all 710 KEMAR directions and an
    elevation is returned when confident. ``analysis_rate`` resamples first (default ``sr``).

    >>> from spatialeval.synth import speech_like, spatialize
    >>> sr = 16000
    >>> left = spatialize(speech_like(2.0, sr, seed=0), sr, azimuth_deg=60)
    >>> estimate = estimate_direction(left, sr)
    >>> abs(estimate.azimuth_deg - 60) <= 10, estimate.elevation_deg, estimate.hemifield
    (True, None, 'front')
    >>> median_plane = estimate_direction(spatialize(speech_like(2.0, sr, seed=0), sr, 180), sr)
    >>> median_plane.hemifield, abs(median_plane.lateral_deg) < 3      # 0° and 180° give the same cues
    ('ambiguous', True)
    """
    if elevations not in ("horizontal", "all"):
        raise CueError(f"elevations must be 'horizontal' or 'all', got {elevations!r}")
    analysis = analyze_binaural(
        binaural, sr, analysis_rate=analysis_rate, fmax=fmax, max_itd_s=max_itd_s, ild=False, xcorr=False
    )
    templates = kemar_templates(analysis.sample_rate, fmax, elevations)
    return direction_from_analysis(
        analysis,
        templates,
        gate_db=gate_db,
        max_itd_s=max_itd_s,
        min_reliability=min_reliability,
        min_front_back_confidence=min_front_back_confidence,
    )


# --------------------------------------------------------------------------- comparison


def direction_error(a: DirectionEstimate, b: DirectionEstimate) -> tuple[float, str]:
    """Angle (degrees) between two estimates and what it covers: 'direction', 'lateral' or 'none'.

    * both resolved (hemifield known or 'side'): the azimuth difference on the circle, or
      the great-circle angle when both carry an elevation — scope 'direction';
    * either hemifield ambiguous: |α_a − α_b|, the difference of lateral angles (the angle
      between the two cones of confusion, a lower bound of the direction error) — scope
      'lateral';
    * either unmeasurable: NaN, scope 'none'.

    >>> direction_error(DirectionEstimate(170.0, None), DirectionEstimate(-170.0, None))
    (20.0, 'direction')
    >>> direction_error(DirectionEstimate(float("nan"), None, 30.0, "ambiguous"), DirectionEstimate(45.0, None))
    (15.0, 'lateral')
    """
    if not (a.measurable and b.measurable):
        return float("nan"), "none"
    if a.resolved and b.resolved:
        if a.elevation_deg is None or b.elevation_deg is None:
            return float(abs(wrap180(a.azimuth_deg - b.azimuth_deg))), "direction"
        return float(angular_distance_deg(a.azimuth_deg, a.elevation_deg, b.azimuth_deg, b.elevation_deg)), "direction"
    return float(abs(a.lateral - b.lateral)), "lateral"


def direction_error_deg(a: DirectionEstimate, b: DirectionEstimate) -> float:
    """The angle of :func:`direction_error` alone.

    >>> direction_error_deg(DirectionEstimate(170.0, None), DirectionEstimate(-170.0, None))
    20.0
    """
    return direction_error(a, b)[0]


def front_back_relation(a: DirectionEstimate, b: DirectionEstimate) -> str:
    """'confused' (one front, one back), 'same' (no confusion possible or none made) or 'ambiguous'.

    A 'side' estimate cannot be confused. When either hemifield is unknown the relation
    is 'ambiguous' — never 'same' by default.

    >>> front_back_relation(DirectionEstimate(30.0, None), DirectionEstimate(150.0, None))
    'confused'
    >>> front_back_relation(DirectionEstimate(30.0, None), DirectionEstimate(float("nan"), None, 30.0, "ambiguous"))
    'ambiguous'
    """
    sides = {a.hemifield, b.hemifield}
    if "side" in sides and a.measurable and b.measurable:
        return "same"
    if not (a.resolved and b.resolved):
        return "ambiguous"
    return "confused" if sides == {"front", "back"} else "same"


def front_back_confusion(a: DirectionEstimate, b: DirectionEstimate) -> float:
    """1 when one estimate is in the front and the other in the back hemifield, 0 when not, NaN when ambiguous.

    >>> front_back_confusion(DirectionEstimate(30.0, None), DirectionEstimate(150.0, None))
    1
    >>> front_back_confusion(DirectionEstimate(30.0, None), DirectionEstimate(85.0, None))
    0
    """
    relation = front_back_relation(a, b)
    return float("nan") if relation == "ambiguous" else int(relation == "confused")
