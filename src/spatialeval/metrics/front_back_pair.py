"""Pair-relative front/back: is the generated clip in the same hemifield as its ground truth, or mirrored?

The absolute estimate (:mod:`spatialeval.metrics.doa`) asks "which hemifield is this clip in?"
against KEMAR pinna templates and, on any other head, mostly cannot answer. A *pair* allows an
easier question. At equal lateral angle, the two candidate directions of the generated clip are
the gt direction itself and its front/back mirror (azimuth θ ↔ 180° − θ). Both clips are heard
through the same head, and for a generation of the same text by the same speaker they carry
roughly the same source spectrum, so comparing the two clips' pinna-band spectra (4–16 kHz)
against each other needs no head template:

* **interaural**: ΔILD_b = ILD_gen,b − ILD_gt,b over sixth-octave pinna bands (the source
  spectrum cancels in each ILD);
* **monaural**: ΔM_e,b = (L_gen,e,b − L̄_gen,low) − (L_gt,e,b − L̄_gt,low) per ear e, each ear's
  long-term band level L (dB) taken relative to the clip's mean 0.3–3 kHz level (level
  normalised; the source spectrum cancels in the gt/gen ratio when it is the same).

The distance ``d = sqrt(rms(ΔM)² + rms(ΔILD)²)`` (dB) is small for a same-direction pair and
large for a mirrored one. Its two distributions were calibrated on KEMAR and on the rigid
sphere only (same direction: anechoic and reverberant with DRR ≥ 0 dB, same text with a ±1.5 dB
random source equalisation; mirrored: KEMAR at lateral angles 0–60°), each modelled as a
log-normal: ln d ~ N(ln m, s²) with median m and log-scale s (``SAME_MEDIAN_DB``/``SAME_LOG_SCALE``,
``MIRROR_MEDIAN_DB``/``MIRROR_LOG_SCALE``). The log likelihood ratio
``log Λ = ln p_mirrored(d) − ln p_same(d)`` gives the confidence of the more likely relation,
``1 / (1 + exp(−|log Λ|))`` (equal priors); below ``min_confidence`` the relation is 'undecided'.

Assumptions (each checked or stated in the reason):

* **same head** for both clips — not checkable from the audio, stated;
* **comparable source spectrum** (same speaker and text): checked — the ear-averaged
  long-term spectra over 0.3–3 kHz (level and linear tilt in log-frequency removed, so a
  gain or a gentle EQ do not count) may differ by at most ``max_source_difference_db`` RMS;
  beyond that the relation is 'unmeasurable' with the reason;
* **equal lateral angles** within ``lateral_tolerance_deg`` (ITD estimates) — otherwise the
  pair comparison does not apply ('unmeasurable');
* **the same room**: reverberation on one clip only reshapes its long-term spectrum and would
  read as a mirror; checked — the mean GCC-PHAT coherence of the active frames (1 anechoic,
  about 0.4 at DRR 0 dB, barely moved by front/back: ≤ 0.09 on KEMAR) may differ by at most
  ``MAX_COHERENCE_DIFFERENCE`` (0.15), otherwise 'unmeasurable';
* **the head has front/back spectral cues** (every human head and KEMAR has). On a head
  without pinnae (a rigid sphere with the ears on its axis) a mirrored pair is physically the
  same audio, and the relation is reported 'same': there is no audible confusion to measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spatialeval.features.frame_cues import (
    BLOCK_SECONDS,
    GATE_DB,
    ClipAnalysis,
    analyze_binaural,
    energy_gate,
    third_octave_bands,
)

LOW_BAND_HZ = (300.0, 3000.0)  # source-spectrum check: pinnae barely act here
PINNA_BAND_HZ = (4000.0, 16000.0)  # front/back spectral cues of pinnae
LATERAL_TOLERANCE_DEG = 10.0
MAX_SOURCE_DIFFERENCE_DB = 2.5
MIN_PINNA_BANDS = 6
MAX_COHERENCE_DIFFERENCE = 0.15
# A band this far below the clip's strongest band carries no source (e.g. speech synthesised at 16 kHz and
# upsampled) but quantisation or resampling noise, which does not scale with the signal: left out.
BAND_RANGE_DB = 50.0
MIN_PAIR_CONFIDENCE = 0.97
# Calibrated on KEMAR and the rigid sphere only (scripts/benchmark_cues.py, table 6): same-direction pairs
# d = 0.15–1.1 dB anechoic, 1–1.6 dB in a room at DRR 0–5 dB; mirrored KEMAR pairs 4.3–11 dB anechoic,
# 1.5–4 dB at DRR 0 dB.
SAME_MEDIAN_DB, SAME_LOG_SCALE = 0.6, 0.55
MIRROR_MEDIAN_DB, MIRROR_LOG_SCALE = 5.0, 0.5
SOURCE_SPILL = 0.5  # share of the 0.3–3 kHz source difference expected in the pinna band too

__all__ = [
    "LATERAL_TOLERANCE_DEG",
    "MAX_SOURCE_DIFFERENCE_DB",
    "MIN_PAIR_CONFIDENCE",
    "PAIR_BANDS",
    "PairRelation",
    "PairSpectrum",
    "pair_front_back",
    "pair_spectrum",
    "pair_spectrum_from_analysis",
]


def _sixth_octave_bands(fmin: float, fmax: float) -> np.ndarray:
    first = math.ceil(6 * math.log2(fmin / 1000.0))
    last = math.floor(6 * math.log2(fmax / 1000.0))
    centres = 1000.0 * 2.0 ** (np.arange(first, last + 1) / 6.0)
    return np.stack([centres * 2.0 ** (-1 / 12), centres * 2.0 ** (1 / 12)], axis=1)


_LOW = third_octave_bands(*LOW_BAND_HZ)
_PINNA = _sixth_octave_bands(*PINNA_BAND_HZ)
PAIR_BANDS = np.concatenate([_LOW, _PINNA])
_N_LOW = len(_LOW)


@dataclass(frozen=True)
class PairSpectrum:
    """Long-term band levels (dB) of one clip per ear over :data:`PAIR_BANDS`; NaN where a band is unusable."""

    level_db: np.ndarray  # (bands, 2)
    coherence: float = float("nan")  # mean GCC-PHAT coherence of the active frames (reverberation check)

    @property
    def low(self) -> np.ndarray:
        return self.level_db[:_N_LOW]

    @property
    def pinna(self) -> np.ndarray:
        return self.level_db[_N_LOW:]


def pair_spectrum(
    binaural,
    sr: int,
    *,
    analysis_rate: int | None = None,
    fmax: float | None = None,
    gate_db: float = GATE_DB,
    block_seconds: float = BLOCK_SECONDS,
    coherence: float | None = None,
    name: str = "binaural signal",
) -> PairSpectrum:
    """Energy-weighted long-term band levels of a ``(time, 2)`` clip over the frames passing the energy gate.

    L_e,b = 10·log10 Σ_t P_e(t, b) over gated 64-ms frames (streamed, bounded memory). Bands above
    ``fmax`` or more than ``BAND_RANGE_DB`` (50 dB) below the strongest band are NaN. ``coherence`` (the
    mean GCC-PHAT coherence of the active frames) is computed here unless the caller has it.

    >>> sr = 32000
    >>> noise = np.random.default_rng(0).standard_normal((sr, 2))
    >>> spectrum = pair_spectrum(noise, sr, fmax=0.45 * sr)
    >>> spectrum.level_db.shape, bool(np.isnan(spectrum.pinna[-1]).all())   # 16 kHz band above fmax
    ((24, 2), True)
    """
    analysis = analyze_binaural(
        binaural,
        sr,
        analysis_rate=analysis_rate,
        fmax=fmax,
        bands=PAIR_BANDS,
        itd=coherence is None,
        xcorr=False,
        block_seconds=block_seconds,
        name=name,
    )
    if coherence is None:
        active = energy_gate(analysis.power, gate_db)
        coherence = float(np.mean(analysis.coherence[active])) if active.any() else float("nan")
    return _spectrum(analysis.ild_power, analysis.ild_band_power, analysis.ild_band_usable, coherence, gate_db)


def pair_spectrum_from_analysis(analysis: ClipAnalysis, coherence: float, gate_db: float = GATE_DB) -> PairSpectrum:
    """:func:`pair_spectrum` from an analysis of the clip that already holds the :data:`PAIR_BANDS` powers of
    its ILD frames (``analyze_binaural(..., extra_ild_bands=PAIR_BANDS)``, same rate, ``fmax`` and ILD
    frames): the same spectrum, without analysing the clip again."""
    if analysis.extra_ild_band_power is None or analysis.extra_ild_band_power.shape[1] != len(PAIR_BANDS):
        raise ValueError("the analysis holds no PAIR_BANDS powers (analyze_binaural(..., extra_ild_bands=PAIR_BANDS))")
    return _spectrum(
        analysis.ild_power, analysis.extra_ild_band_power, analysis.extra_ild_band_usable, coherence, gate_db
    )


def _spectrum(
    ild_power: np.ndarray, band_power: np.ndarray, band_usable: np.ndarray, coherence: float, gate_db: float
) -> PairSpectrum:
    gate = energy_gate(ild_power, gate_db)
    power = band_power[gate].sum(axis=0) if gate.any() else np.zeros((len(PAIR_BANDS), 2))
    peak = float(power.max()) if power.size else 0.0
    usable = band_usable[:, None] & (power > max(peak * 10.0 ** (-BAND_RANGE_DB / 10.0), 1e-300))
    with np.errstate(divide="ignore"):
        level = np.where(usable, 10.0 * np.log10(np.where(usable, power, 1.0)), np.nan)
    return PairSpectrum(level, float(coherence))


class PairRelation(NamedTuple):
    """Result of :func:`pair_front_back`.

    ``relation``: 'same' (same hemifield), 'mirrored' (front/back mirror), 'undecided'
    (confidence below the threshold) or 'unmeasurable' (an assumption failed, see ``reason``);
    ``confidence`` ∈ [0.5, 1] of the more likely relation (NaN when unmeasurable); ``log_lr``
    = log Λ (> 0 favours 'mirrored'); ``distance_db`` = d; ``source_difference_db`` the 0.3–3 kHz
    spectral difference of the assumption check.
    """

    relation: str
    confidence: float
    log_lr: float
    distance_db: float
    source_difference_db: float
    reason: str


def _detrended(values: np.ndarray, log_freq: np.ndarray) -> np.ndarray:
    """``values`` minus their least-squares line in ``log_freq`` (plain sums, no BLAS)."""
    x = log_freq - log_freq.mean()
    slope = float(np.sum(x * (values - values.mean())) / np.sum(x * x))
    return values - values.mean() - slope * x


def _log_likelihood_ratio(distance: float, source_difference: float = 0.0) -> float:
    """ln p_mirrored(d) − ln p_same(d) under the two log-normal models: > 0 favours 'mirrored'.

    The same-direction median grows with the measured 0.3–3 kHz source difference s:
    m_same = sqrt(SAME_MEDIAN_DB² + (SOURCE_SPILL · s)²) — two sources whose spectra differ below
    3 kHz differ above it too (two synthetic voices 2.2 dB apart in a room gave d = 2.9 dB).

    >>> round(_log_likelihood_ratio(0.6), 2), round(_log_likelihood_ratio(5.0), 2)
    (-8.9, 7.53)
    """
    log_d = math.log(max(distance, 1e-3))  # d = 0 (identical clips) is as 'same' as 1 mdB
    same_median = math.hypot(SAME_MEDIAN_DB, SOURCE_SPILL * source_difference)
    mirrored = -0.5 * ((log_d - math.log(MIRROR_MEDIAN_DB)) / MIRROR_LOG_SCALE) ** 2 - math.log(MIRROR_LOG_SCALE)
    same = -0.5 * ((log_d - math.log(same_median)) / SAME_LOG_SCALE) ** 2 - math.log(SAME_LOG_SCALE)
    return mirrored - same


def pair_front_back(
    gt: PairSpectrum,
    gen: PairSpectrum,
    lateral_gt_deg: float,
    lateral_gen_deg: float,
    *,
    lateral_tolerance_deg: float = LATERAL_TOLERANCE_DEG,
    max_source_difference_db: float = MAX_SOURCE_DIFFERENCE_DB,
    min_confidence: float = MIN_PAIR_CONFIDENCE,
) -> PairRelation:
    """Same hemifield or front/back mirror, from the two clips' pinna-band spectra (see the module docstring).

    >>> flat = PairSpectrum(np.zeros((len(PAIR_BANDS), 2)))
    >>> pair_front_back(flat, flat, 30.0, 31.0)[:2]
    ('same', 1.0)
    >>> notch = flat.level_db.copy(); notch[-8:-4] -= 12.0          # a pinna notch moved: mirrored
    >>> pair_front_back(flat, PairSpectrum(notch), 30.0, 31.0).relation
    'mirrored'
    >>> pair_front_back(flat, flat, 30.0, 55.0).relation
    'unmeasurable'
    """
    nan = float("nan")
    if not (math.isfinite(lateral_gt_deg) and math.isfinite(lateral_gen_deg)):
        return PairRelation("unmeasurable", nan, nan, nan, nan, "no lateral angle for both clips")
    if abs(lateral_gt_deg - lateral_gen_deg) > lateral_tolerance_deg:
        return PairRelation(
            "unmeasurable",
            nan,
            nan,
            nan,
            nan,
            f"lateral angles differ by {abs(lateral_gt_deg - lateral_gen_deg):.0f}° "
            f"(> {lateral_tolerance_deg:g}°): the pair comparison needs equal lateral angles",
        )
    low_gt, low_gen = np.nanmean(gt.low, axis=1), np.nanmean(gen.low, axis=1)
    low_ok = np.isfinite(low_gt) & np.isfinite(low_gen)
    if low_ok.sum() < 4:
        return PairRelation(
            "unmeasurable", nan, nan, nan, nan, f"only {int(low_ok.sum())} bands in 0.3–3 kHz carry sound in both clips"
        )
    log_freq = np.log2(np.sqrt(_LOW[:, 0] * _LOW[:, 1]) / 1000.0)[low_ok]
    source = _detrended(low_gen[low_ok] - low_gt[low_ok], log_freq)
    source_difference = math.sqrt(float(np.mean(source**2)))
    if source_difference > max_source_difference_db:
        return PairRelation(
            "unmeasurable",
            nan,
            nan,
            nan,
            source_difference,
            f"the clips' 0.3–3 kHz long-term spectra differ by {source_difference:.1f} dB RMS "
            f"(> {max_source_difference_db:g} dB, level and tilt removed): not the same speaker "
            "and text, so their pinna-band spectra cannot be compared",
        )
    coherence_difference = abs(gt.coherence - gen.coherence)
    if coherence_difference > MAX_COHERENCE_DIFFERENCE:  # NaN (not computed) passes: the check is then not made
        return PairRelation(
            "unmeasurable",
            nan,
            nan,
            nan,
            source_difference,
            f"the clips' interaural coherence differs by {coherence_difference:.2f} "
            f"(> {MAX_COHERENCE_DIFFERENCE:g}): not the same room or reverberation, so their "
            "long-term spectra cannot be compared",
        )
    pinna_ok = np.all(np.isfinite(gt.pinna) & np.isfinite(gen.pinna), axis=1)
    if pinna_ok.sum() < MIN_PINNA_BANDS:
        return PairRelation(
            "unmeasurable",
            nan,
            nan,
            nan,
            source_difference,
            f"only {int(pinna_ok.sum())} pinna bands (4–16 kHz) carry sound in both clips (need {MIN_PINNA_BANDS})",
        )
    mono = (gen.pinna[pinna_ok] - np.mean(low_gen[low_ok])) - (gt.pinna[pinna_ok] - np.mean(low_gt[low_ok]))
    ild = (gen.pinna[pinna_ok, 0] - gen.pinna[pinna_ok, 1]) - (gt.pinna[pinna_ok, 0] - gt.pinna[pinna_ok, 1])
    distance = math.sqrt(float(np.mean(mono**2)) + float(np.mean(ild**2)))
    log_lr = _log_likelihood_ratio(distance, source_difference)
    confidence = 1.0 / (1.0 + math.exp(-min(abs(log_lr), 700.0)))
    relation = "mirrored" if log_lr > 0 else "same"
    detail = (
        f"pinna-band (4–16 kHz) spectra differ by {distance:.1f} dB (monaural and interaural), "
        f"log likelihood ratio mirrored:same {log_lr:+.1f}"
    )
    if confidence < min_confidence:
        return PairRelation(
            "undecided",
            confidence,
            log_lr,
            distance,
            source_difference,
            f"pair front/back undecided (confidence {confidence:.2f} < {min_confidence:.2f}): {detail}",
        )
    return PairRelation(relation, confidence, log_lr, distance, source_difference, detail)
