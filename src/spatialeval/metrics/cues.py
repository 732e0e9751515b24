"""Checkpoint-free, interpretable binaural cue errors of a generated clip against its ground truth.

The cues themselves are in :mod:`spatialeval.features.frame_cues` (GCC-PHAT ITD,
coherence, band ILD, IACC, cue selection) and the direction estimate in
:mod:`spatialeval.metrics.doa`; this module compares two clips and says, per metric,
when a value cannot be measured rather than printing a confident wrong one.

Conventions: binaural arrays are ``(time, 2)`` (numpy or torch), channel 0 = left ear;
interaural cues are positive when the source is on the left; azimuth 90 = left.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spatialeval.features.frame_cues import (
    BLOCK_SECONDS,
    GATE_DB,
    ClipAnalysis,
    CueError,
    analyze_binaural,
    energy_gate,
    iacc_from_sums,
    median_itd_us,
    weighted_band_ild,
)
from spatialeval.io.hrir import wrap180
from spatialeval.metrics.doa import (
    MIN_FRONT_BACK_CONFIDENCE,
    MIN_RELIABILITY,
    SIDE_ZONE_DEG,
    DirectionEstimate,
    direction_error,
    direction_from_analysis,
    front_back_relation,
    kemar_templates,
)
from spatialeval.metrics.front_back_pair import (
    LATERAL_TOLERANCE_DEG,
    MAX_SOURCE_DIFFERENCE_DB,
    MIN_PAIR_CONFIDENCE,
    PAIR_BANDS,
    PairRelation,
    pair_front_back,
    pair_spectrum_from_analysis,
)

__all__ = ["CueError", "combined_front_back", "spatial_cue_errors"]


def combined_front_back(gt: DirectionEstimate, gen: DirectionEstimate, pair: PairRelation) -> tuple[str, str, str]:
    """(relation, method, reason): the front/back relation of a pair from the absolute and the pair decisions.

    ``relation`` is 'same', 'confused' or 'ambiguous'; ``method`` says what decided it:

    * 'absolute' — both clips' hemifields known from the KEMAR templates (or one is on the
      interaural axis), and the pair comparison does not contradict it;
    * 'pair' — the absolute decision is ambiguous and the pair comparison
      (:func:`~spatialeval.metrics.front_back_pair.pair_front_back`) decided 'same' or 'mirrored';
    * 'conflict' — the templates decided and the pair comparison, decided or not, leans the
      other way (its log likelihood ratio): reported 'ambiguous', never a guess;
    * 'none' — neither decided (``reason`` gives both reasons).

    One estimate within 10° of the interaural axis ('side') and the other more than 10° of
    lateral angle away: the templates' "no confusion possible" is not taken (the off-axis clip
    could be mirrored); the pair comparison or 'ambiguous' decides.

    >>> nope = PairRelation("undecided", 0.6, 0.4, 2.0, 0.5, "undecided")
    >>> combined_front_back(DirectionEstimate(30.0, None), DirectionEstimate(150.0, None), nope)[:2]
    ('confused', 'absolute')
    >>> cone = DirectionEstimate(float("nan"), None, 30.0, "ambiguous", reason="front/back ambiguous")
    >>> combined_front_back(cone, cone, PairRelation("mirrored", 0.99, 5.0, 6.0, 0.5, "differ"))[:2]
    ('confused', 'pair')
    """
    absolute = front_back_relation(gt, gen)
    if not (gt.measurable and gen.measurable):
        return "ambiguous", "none", "no direction"
    sides = [estimate.hemifield == "side" for estimate in (gt, gen)]
    if sides[0] != sides[1] and abs(gt.lateral - gen.lateral) > SIDE_ZONE_DEG:
        # One on the interaural axis, the other well off it: "no confusion possible" would hide that the
        # off-axis one may be mirrored; only the pair comparison (equal lateral angles) could tell.
        absolute = "ambiguous"
    decided = {"same": "same", "mirrored": "confused"}.get(pair.relation)
    # Even an undecided pair comparison leans one way (the sign of its log likelihood ratio).
    leaning = None if not math.isfinite(pair.log_lr) else ("confused" if pair.log_lr > 0 else "same")
    if absolute != "ambiguous":
        if leaning is not None and leaning != absolute and "side" not in {gt.hemifield, gen.hemifield}:
            return (
                "ambiguous",
                "conflict",
                (
                    f"the pinna templates say {absolute!r} but the pair comparison says "
                    f"{pair.relation!r} ({pair.reason})"
                ),
            )
        return absolute, "absolute", "both hemifields decided by the pinna templates"
    if decided is not None:
        return decided, "pair", f"pair comparison: {pair.relation} (confidence {pair.confidence:.2f}): {pair.reason}"
    reasons = [
        f"{label}: {estimate.reason}"
        for label, estimate in (("ground truth", gt), ("generated", gen))
        if estimate.hemifield == "ambiguous"
    ]
    if sides[0] != sides[1]:
        reasons.append(
            f"one direction is on the interaural axis and the other {abs(gt.lateral - gen.lateral):.0f}° "
            "of lateral angle away from it"
        )
    prefix = "pair comparison unmeasurable: " if pair.relation == "unmeasurable" else ""
    return "ambiguous", "none", "; ".join([*reasons, prefix + pair.reason])


def _pair_direction_error(
    gt: DirectionEstimate, gen: DirectionEstimate, relation: str, method: str
) -> tuple[float, str]:
    """The DoA error once the front/back relation is known.

    Decided by the templates: :func:`~spatialeval.metrics.doa.direction_error`. Decided by the pair:
    'same' → |α_gt − α_gen|; 'confused' (mirrored) → the angle between α_gt and its mirror 180° − α_gen,
    |wrap(α_gt − (180° − α_gen))| = 180° − α_gt − α_gen for lateral angles on the same side
    (180° − 2α at equal angles), scope 'direction'. Undecided: the lateral difference (scope 'lateral').
    """
    if method == "conflict":
        error, scope = direction_error(gt, gen)
        return (float(abs(gt.lateral - gen.lateral)), "lateral") if scope == "direction" else (error, scope)
    if method != "pair":
        return direction_error(gt, gen)
    if relation == "same":
        return float(abs(gt.lateral - gen.lateral)), "direction"
    return float(abs(wrap180(gt.lateral - (180.0 - gen.lateral)))), "direction"


def _side_state(analysis: ClipAnalysis, active: np.ndarray, label: str) -> tuple[bool, str]:
    """(whole clip silent, reason) — reason '' when both ears carry sound, else why no interaural cue exists.

    ``active`` is ``energy_gate(analysis.power, gate_db)``."""
    if not active.any():
        return True, f"{label} clip is silent (no frame above −100 dBFS once DC is removed)"
    ears = analysis.power[active]
    for index, ear in enumerate(("left", "right")):
        if not np.any(ears[:, index] > 0):
            return False, f"{label} clip's {ear} ear is silent, so it has no interaural time difference or coherence"
    return False, ""


def spatial_cue_errors(
    gt,
    gen,
    sr: int,
    gen_sr: int | None = None,
    *,
    analysis_rate: int | None = None,
    fmax: float | None = None,
    elevations: str = "horizontal",
    gate_db: float = GATE_DB,
    max_itd_s: float = 0.001,
    block_seconds: float = BLOCK_SECONDS,
    min_reliability: float = MIN_RELIABILITY,
    min_front_back_confidence: float = MIN_FRONT_BACK_CONFIDENCE,
    pair_front_back_enabled: bool = True,
    pair_lateral_tolerance_deg: float = LATERAL_TOLERANCE_DEG,
    max_source_difference_db: float = MAX_SOURCE_DIFFERENCE_DB,
    min_pair_confidence: float = MIN_PAIR_CONFIDENCE,
) -> dict[str, Any]:
    """Interpretable spatial-cue errors of a generated binaural clip ``gen`` against its ground truth ``gt``.

    Both clips are ``(time, 2)`` arrays (numpy or torch) at ``sr`` and ``gen_sr`` (default
    ``sr``); each is streamed block by block and resampled to ``analysis_rate`` (default ``sr``)
    with ``scipy.signal.resample_poly``, so memory does not grow with the clip length. The
    analysis band (GCC-PHAT bins, ILD bands, templates) is capped at 0.45 × the lowest of the
    two native rates and the analysis rate, and at ``fmax`` if given, so both sides are
    compared over the band both actually contain.

    * ``itd_error_us`` = median over frames active in *both* clips (aligned from the start;
      the longer clip's extra frames are ignored) of |ITD_gen − ITD_gt|, in µs;
    * ``ild_band_error_db`` = mean over bands usable in both of |ILD_gen,b − ILD_gt,b| (dB);
    * ``iacc_error`` = |IACC_gen − IACC_gt| (whole-clip IACC within ±``max_itd_s``);
    * ``doa_error_deg`` = angle between the :func:`~spatialeval.metrics.doa.estimate_direction`
      results: the azimuth difference when both hemifields are known from the pinna templates;
      when the pair comparison decided front/back, |α_gt − α_gen| for the same hemifield and
      180° − α_gt − α_gen for a mirrored pair (180° − 2α at equal lateral angles α); else the
      difference of lateral angles (``doa_error_scope`` says which: 'direction' or 'lateral');
    * ``front_back_confusion`` = 1 when the two clips lie in opposite front/back hemifields,
      0 when they do not (or either is within 10° of the interaural axis). Decided by the
      absolute KEMAR-template estimate where it is confident, otherwise by the pair-relative
      comparison of the clips' pinna-band spectra
      (:func:`~spatialeval.metrics.front_back_pair.pair_front_back`; assumptions: same head,
      same speaker and text, equal lateral angles — a 0.3–3 kHz spectral mismatch above
      ``max_source_difference_db`` makes it unmeasurable); see :func:`combined_front_back`.

    **Unmeasurable** values are NaN and ``result["unmeasurable"]`` maps the metric to the
    reason (empty when everything was measured): a silent clip or ear (ITD, ILD, IACC, DoA),
    no frame active in both clips (ITD), no band usable in both (ILD), a direction whose
    reliability is below ``min_reliability`` (DoA), and a hemifield the spectral cues cannot
    tell (front-back flag; the reason starts with "ambiguous").

    Extras: ``front_back`` ('same', 'confused', 'ambiguous'), ``front_back_absolute`` (the
    template-only relation), ``front_back_method`` ('absolute',
    'pair', 'conflict', 'none'), ``front_back_reason`` (why, per item), ``front_back_pair``
    ('same', 'mirrored', 'undecided', 'unmeasurable'), ``front_back_pair_confidence``,
    ``front_back_pair_distance_db``, ``front_back_source_difference_db``, ``doa_error_scope``,
    ``itd_gt_us``/``itd_gen_us`` (median ITDs), ``iacc_gt``/``iacc_gen``,
    ``doa_{gt,gen}_azimuth_deg`` (NaN when the hemifield is ambiguous), ``..._lateral_deg``,
    ``..._reliability``, ``..._front_back_confidence`` (and ``..._elevation_deg`` with
    ``elevations="all"``), ``itd_frames`` and ``ild_bands`` (how many were compared).
    Raises :class:`CueError` only for malformed input (wrong layout, mono, NaN, too short).

    >>> from spatialeval.synth import speech_like, spatialize
    >>> sr = 16000
    >>> source = speech_like(2.0, sr, seed=0)
    >>> errors = spatial_cue_errors(spatialize(source, sr, 30), spatialize(source, sr, 30), sr)
    >>> errors["itd_error_us"], errors["ild_band_error_db"], errors["doa_error_deg"], errors["front_back_confusion"]
    (0.0, 0.0, 0.0, 0)
    >>> silent = spatial_cue_errors(spatialize(source, sr, 30), np.zeros((sr, 2)), sr)
    >>> math.isnan(silent["doa_error_deg"]), silent["unmeasurable"]["doa_error_deg"]
    (True, 'generated clip is silent (no frame above −100 dBFS once DC is removed)')
    """
    sr = int(sr)
    gen_sr = sr if gen_sr is None else int(gen_sr)
    rate = sr if analysis_rate is None else int(analysis_rate)
    if sr <= 0 or gen_sr <= 0 or rate <= 0:
        raise CueError(f"sample rates must be positive, got {sr}, {gen_sr} and analysis rate {rate}")
    if elevations not in ("horizontal", "all"):
        raise CueError(f"elevations must be 'horizontal' or 'all', got {elevations!r}")
    band_limit = 0.45 * min(sr, gen_sr, rate)
    if fmax is not None:
        band_limit = min(band_limit, float(fmax))
    # The pair comparison's band levels come from the same ILD frames (extra_ild_bands): one pass per clip.
    options = dict(
        analysis_rate=rate,
        fmax=band_limit,
        max_itd_s=max_itd_s,
        block_seconds=block_seconds,
        extra_ild_bands=PAIR_BANDS if pair_front_back_enabled else None,
    )
    a_gt = analyze_binaural(gt, sr, name="ground-truth clip", **options)
    a_gen = analyze_binaural(gen, gen_sr, name="generated clip", **options)

    unmeasurable: dict[str, str] = {}
    nan = float("nan")
    active_gt = energy_gate(a_gt.power, gate_db)
    active_gen = energy_gate(a_gen.power, gate_db)
    silent_gt, problem_gt = _side_state(a_gt, active_gt, "ground-truth")
    silent_gen, problem_gen = _side_state(a_gen, active_gen, "generated")
    problem = "; ".join(p for p in (problem_gt, problem_gen) if p)  # no ITD, IACC or direction on this pair

    # ITD: frame by frame where both clips are active.
    itd_gt = np.where(active_gt, a_gt.itd_s, np.nan)
    itd_gen = np.where(active_gen, a_gen.itd_s, np.nan)
    common = min(itd_gt.size, itd_gen.size)
    both = np.isfinite(itd_gt[:common]) & np.isfinite(itd_gen[:common])
    itd_error = nan
    if problem:
        unmeasurable["itd_error_us"] = problem
    elif not both.any():
        unmeasurable["itd_error_us"] = (
            "no frame has sound in both clips (their speech does not overlap in time), "
            "so ITDs cannot be compared frame by frame"
        )
    else:
        itd_error = float(np.median(np.abs(itd_gen[:common][both] - itd_gt[:common][both]))) * 1e6

    # Band ILD (64-ms frames, energy-weighted over the active frames).
    ild_gt = weighted_band_ild(a_gt.ild_band_power, a_gt.ild_band_usable, energy_gate(a_gt.ild_power, gate_db))
    ild_gen = weighted_band_ild(a_gen.ild_band_power, a_gen.ild_band_usable, energy_gate(a_gen.ild_power, gate_db))
    bands = np.isfinite(ild_gt) & np.isfinite(ild_gen)
    ild_error = nan
    if silent_gt or silent_gen:  # one silent ear still has an ILD (clipped at ±60 dB per frame and band)
        unmeasurable["ild_band_error_db"] = "; ".join(
            p for p, s in ((problem_gt, silent_gt), (problem_gen, silent_gen)) if s
        )
    elif not bands.any():
        unmeasurable["ild_band_error_db"] = "no auditory band carries energy in both clips"
    else:
        ild_error = float(np.mean(np.abs(ild_gen[bands] - ild_gt[bands])))

    # IACC (whole clip).
    iacc_gt, iacc_gen = iacc_from_sums(a_gt.xcorr, a_gt.energy), iacc_from_sums(a_gen.xcorr, a_gen.energy)
    iacc_error = nan
    if problem:
        unmeasurable["iacc_error"] = problem
    else:
        iacc_error = abs(iacc_gen - iacc_gt)

    # Direction: lateral angles from the ITD; front/back from the absolute (template) decision where it is
    # confident, otherwise from the pair-relative comparison of the two clips' pinna-band spectra.
    templates = kemar_templates(rate, band_limit, elevations)
    settings = dict(
        gate_db=gate_db,
        max_itd_s=max_itd_s,
        min_reliability=min_reliability,
        min_front_back_confidence=min_front_back_confidence,
    )
    doa_gt: DirectionEstimate = direction_from_analysis(a_gt, templates, **settings)
    doa_gen: DirectionEstimate = direction_from_analysis(a_gen, templates, **settings)
    pair = PairRelation("unmeasurable", nan, nan, nan, nan, "pair front/back comparison switched off")
    if pair_front_back_enabled and doa_gt.measurable and doa_gen.measurable and not problem:
        coherence = [
            float(np.mean(a.coherence[active])) if active.any() else nan
            for a, active in ((a_gt, active_gt), (a_gen, active_gen))
        ]
        pair = pair_front_back(
            pair_spectrum_from_analysis(a_gt, coherence[0], gate_db),
            pair_spectrum_from_analysis(a_gen, coherence[1], gate_db),
            doa_gt.lateral,
            doa_gen.lateral,
            lateral_tolerance_deg=pair_lateral_tolerance_deg,
            max_source_difference_db=max_source_difference_db,
            min_confidence=min_pair_confidence,
        )
    relation, method, reason = combined_front_back(doa_gt, doa_gen, pair)
    doa_error, scope = _pair_direction_error(doa_gt, doa_gen, relation, method)
    if problem:
        unmeasurable["doa_error_deg"] = problem
    elif not math.isfinite(doa_error):
        unmeasurable["doa_error_deg"] = "; ".join(
            f"{label}: {estimate.reason}"
            for label, estimate in (("ground truth", doa_gt), ("generated", doa_gen))
            if not estimate.measurable
        )
    confusion: float | int = nan
    if relation == "ambiguous":
        if "doa_error_deg" in unmeasurable:
            unmeasurable["front_back_confusion"] = f"ambiguous: no direction ({unmeasurable['doa_error_deg']})"
        else:
            unmeasurable["front_back_confusion"] = "ambiguous: " + reason
    else:
        confusion = int(relation == "confused")

    result: dict[str, Any] = {
        "itd_error_us": itd_error,
        "ild_band_error_db": ild_error,
        "iacc_error": iacc_error,
        "doa_error_deg": doa_error,
        "front_back_confusion": confusion,
        "front_back": relation,
        "doa_error_scope": scope,
        "front_back_method": method,
        "front_back_absolute": front_back_relation(doa_gt, doa_gen),
        "front_back_reason": unmeasurable.get("front_back_confusion", reason),
        "front_back_pair": pair.relation,
        "front_back_pair_confidence": pair.confidence,
        "front_back_pair_distance_db": pair.distance_db,
        "front_back_source_difference_db": pair.source_difference_db,
        "itd_gt_us": median_itd_us(itd_gt),
        "itd_gen_us": median_itd_us(itd_gen),
        "iacc_gt": iacc_gt,
        "iacc_gen": iacc_gen,
        "itd_frames": int(both.sum()),
        "ild_bands": int(bands.sum()),
    }
    for label, estimate in (("gt", doa_gt), ("gen", doa_gen)):
        result[f"doa_{label}_azimuth_deg"] = estimate.azimuth_deg if estimate.resolved else nan
        result[f"doa_{label}_lateral_deg"] = estimate.lateral
        result[f"doa_{label}_reliability"] = estimate.reliability
        result[f"doa_{label}_front_back_confidence"] = estimate.front_back_confidence
        if elevations == "all":
            result[f"doa_{label}_elevation_deg"] = (
                estimate.elevation_deg if estimate.resolved and estimate.elevation_deg is not None else nan
            )
    result["unmeasurable"] = unmeasurable
    return result
