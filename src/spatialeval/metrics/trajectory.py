"""Direction trajectories of moving sources: per-segment directions and the error between two trajectories.

A single direction per clip means nothing when the speaker moves (ISDrama's speakers do).
Over consecutive segments (1 s by default, the ISDrama paper's segmentation) a clip gets
a :class:`DirectionTrack`, either

* from BAT's heads, one encoder window per segment (:func:`track_from_bat`), or
* from any checkpoint-free estimator called on each segment (:func:`track_from_estimator`),

and two tracks (ground truth vs. generated) are compared segment by segment
(:func:`trajectory_error`). Azimuths use spatialeval's convention (degrees, 0 = front,
90 = left, (−180, 180]). A segment whose direction cannot be measured (too short, silent,
the estimator refuses or is unsure) is NaN in the track with its reason; it is left out of
the error and counted, never scored as a confident wrong direction.

Which segments can be measured at all is one rule for every estimator,
:func:`segment_validity` (too short, or silent within the clip), so a checkpoint-free track
and a BAT track of the same clips compare the same segments: BAT's encoder returns a
direction for any input, silence and a 0.4-s stub included, and would otherwise score
silence as agreement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialeval.features.frame_cues import ABSOLUTE_FLOOR_DB, GATE_DB, energy_gate
from spatialeval.io.audio import as_time_channels
from spatialeval.io.hrir import wrap180
from spatialeval.metrics.bat_heads import HeadPredictions, great_circle_deg
from spatialeval.metrics.doa import interaural_polar

# estimate(binaural_segment (time, 2), sr) -> (azimuth_deg, elevation_deg or None[, reliability]);
# a NamedTuple such as cues.DirectionEstimate, or an object with those attributes, works too.
DirectionEstimator = Callable[[np.ndarray, int], Any]


@dataclass(frozen=True)
class DirectionTrack:
    """Per-segment directions of one clip.

    Arrays have one entry per segment: ``start_s``/``duration_s`` (seconds), ``azimuth_deg``
    (spatialeval convention; NaN where unmeasurable), ``elevation_deg`` (NaN where not
    estimated or unmeasurable), ``reliability`` (estimator-specific, e.g. BAT's softmax
    confidence; NaN when not given); ``reasons`` holds None for measured segments and a
    sentence for the others; ``source`` names the estimator. ``lateral_deg`` is the angle from
    the median plane (the cone of confusion): known also where front/back is ambiguous and the
    azimuth is NaN (derived from azimuth and elevation when not given).
    """

    start_s: np.ndarray
    duration_s: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    reliability: np.ndarray
    reasons: tuple[str | None, ...]
    source: str
    lateral_deg: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.lateral_deg is None:
            object.__setattr__(self, "lateral_deg", lateral_of(self.azimuth_deg, self.elevation_deg))

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def measurable(self) -> np.ndarray:
        return np.isfinite(self.azimuth_deg)

    def to_dict(self) -> dict:
        """JSON-ready lists (NaN → None), e.g. for a report plot of azimuth over time."""

        def clean(values):
            return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=np.float64)]

        return {
            "source": self.source,
            "start_s": clean(self.start_s),
            "duration_s": clean(self.duration_s),
            "azimuth_deg": clean(self.azimuth_deg),
            "elevation_deg": clean(self.elevation_deg),
            "lateral_deg": clean(self.lateral_deg),
            "reliability": clean(self.reliability),
            "reasons": list(self.reasons),
        }


def lateral_of(azimuth_deg, elevation_deg) -> np.ndarray:
    """Lateral angle (degrees from the median plane, 90 = left) of directions: asin(sin az · cos el), the
    lateral part of :func:`~spatialeval.metrics.doa.interaural_polar`, with an unknown (NaN) elevation taken as 0.

    >>> lateral_of(np.array([30.0, 150.0, -90.0]), np.array([np.nan, 0.0, 0.0])).round(6).tolist()
    [30.0, 30.0, -90.0]
    """
    return interaural_polar(azimuth_deg, np.nan_to_num(np.asarray(elevation_deg, dtype=np.float64)))[0]


def segment_bounds(n_samples: int, sr: int, segment_s: float = 1.0) -> list[tuple[int, int]]:
    """Consecutive [start, stop) sample ranges of ``segment_s`` covering ``n_samples``; the last may be shorter.

    >>> segment_bounds(25, 10, 1.0)
    [(0, 10), (10, 20), (20, 25)]
    """
    if sr <= 0 or segment_s <= 0:
        raise ValueError(f"sample rate and segment length must be positive, got {sr} and {segment_s}")
    step = max(1, round(segment_s * sr))
    return [(start, min(start + step, n_samples)) for start in range(0, max(n_samples, 0), step)]


SILENCE_FRAME_S = 0.02  # frame length of the silence rule (20 ms, as the cue analysis)


def segment_validity(
    binaural: np.ndarray, sr: int, *, segment_s: float = 1.0, min_segment_s: float = 0.5, gate_db: float = GATE_DB
) -> tuple[str | None, ...]:
    """Why each ``segment_s`` segment of a clip cannot be measured (None where it can): the rule every track uses.

    A segment is unmeasurable when

    * it is shorter than ``min_segment_s`` (only the last one can be), or
    * it is **silent within the clip**: none of its 20-ms frames (DC of the segment removed,
      power averaged over both ears) is within ``gate_db`` of the clip's loudest frame and
      above −100 dBFS — the cue analysis's energy gate
      (:func:`~spatialeval.features.frame_cues.energy_gate`) taken over the whole clip,
      so a pause between utterances does not count as a direction.

    Args:
        binaural: ``(time, 2)`` or ``(2, time)`` clip.
        sr: sample rate in Hz.
        segment_s: segment length (s), as :func:`segment_bounds`.
        min_segment_s: shortest measurable segment (s).
        gate_db: the energy gate below the clip's loudest frame (dB).

    Returns:
        One entry per segment of :func:`segment_bounds`.

    Raises:
        ValueError: a malformed clip or non-positive rate/segment length.

    >>> sr = 100
    >>> x = np.zeros((250, 2)); x[:100:2] = 1.0; x[200::2] = 1.0      # sound, a silent second, 0.5 s of sound
    >>> segment_validity(x, sr, min_segment_s=0.6)
    (None, "the segment is silent (no frame within 40 dB of the clip's loudest)", 'segment of 0.50 s is shorter than 0.60 s')
    """
    x = _as_binaural(binaural)
    bounds = segment_bounds(x.shape[0], int(sr), segment_s)
    frame = max(1, round(SILENCE_FRAME_S * sr))
    powers = []
    for start, stop in bounds:
        segment = x[start:stop] - x[start:stop].mean(axis=0) if stop > start else x[start:stop]
        n_frames = -(-(stop - start) // frame)
        padded = np.zeros((n_frames * frame, 2))
        padded[: stop - start] = segment
        # mean square per frame over the samples it holds (the last frame may be partial)
        held = np.minimum(frame, (stop - start) - np.arange(n_frames) * frame)
        powers.append((padded**2).reshape(n_frames, frame, 2).sum(axis=1) / held[:, None])
    gate = energy_gate(np.concatenate(powers) if powers else np.zeros((0, 2)), gate_db)
    reasons: list[str | None] = []
    offset = 0
    for (start, stop), power in zip(bounds, powers):
        active = gate[offset : offset + power.shape[0]]
        offset += power.shape[0]
        if stop - start < min_segment_s * sr:
            reasons.append(f"segment of {(stop - start) / sr:.2f} s is shorter than {min_segment_s:.2f} s")
        elif not active.any():
            reasons.append(
                f"the segment is silent (no frame within {gate_db:g} dB of the clip's loudest"
                f"{'' if gate.any() else f' or above {ABSOLUTE_FLOOR_DB:g} dBFS'})"
            )
        else:
            reasons.append(None)
    return tuple(reasons)


def _as_binaural(binaural: np.ndarray) -> np.ndarray:
    return as_time_channels(binaural, "direction track", channels=2)


def _parse_estimate(result: Any) -> tuple[float | None, float | None, float | None, float | None, str]:
    """(azimuth, elevation, reliability, lateral, reason) from a tuple of 2–3 values or an object with those
    attributes (e.g. :class:`spatialeval.metrics.doa.DirectionEstimate`, whose azimuth is NaN and lateral
    angle known when front/back is ambiguous)."""
    if hasattr(result, "azimuth_deg"):
        lateral = getattr(result, "lateral", None)
        azimuth = result.azimuth_deg
        if getattr(result, "front_back", None) == "side":
            # Within a few degrees of the interaural axis the estimator snaps the azimuth to ±90° without
            # knowing the hemifield: the lateral angle is the evidence, so compare that.
            azimuth = float("nan")
        return (
            azimuth,
            getattr(result, "elevation_deg", None),
            getattr(result, "reliability", None),
            lateral if lateral is None or math.isfinite(lateral) else None,
            getattr(result, "reason", "") or "",
        )
    values = tuple(result)
    if len(values) not in (2, 3):
        raise TypeError(
            f"a direction estimator must return (azimuth, elevation[, reliability]), got {len(values)} values"
        )
    return values[0], values[1], values[2] if len(values) == 3 else None, None, ""


def _finite(value) -> float:
    return float(value) if value is not None and math.isfinite(float(value)) else float("nan")


def track_from_estimator(
    binaural: np.ndarray,
    sr: int,
    estimate: DirectionEstimator,
    *,
    segment_s: float = 1.0,
    min_segment_s: float = 0.5,
    min_reliability: float | None = None,
    source: str = "estimator",
    validity: Sequence[str | None] | None = None,
) -> DirectionTrack:
    """Direction of each ``segment_s`` segment of a binaural clip from a per-segment estimator.

    ``estimate(segment, sr)`` gets a ``(time, 2)`` float64 segment and returns
    ``(azimuth_deg, elevation_deg or None[, reliability])`` in spatialeval's convention
    (e.g. :func:`spatialeval.metrics.cues.estimate_direction`). A segment is unmeasurable,
    with its reason kept, when :func:`segment_validity` rejects it (shorter than
    ``min_segment_s``, or silent within the clip; ``validity`` passes that rule's result when
    the caller already has it, so several tracks of one clip share it), when the
    estimator raises ``ValueError`` (e.g. ``CueError``) or returns no finite
    azimuth, or when ``min_reliability`` is set and the returned reliability is below it.
    Other exceptions propagate (they are bugs, not unmeasurable segments).

    Raises:
        ValueError: a malformed binaural array or non-positive rate/segment length.

    >>> sr = 100
    >>> tone = np.resize([1.0, -1.0], 230)                              # a 50-Hz square wave
    >>> x = np.zeros((230, 2)); x[:100, 0] = tone[:100]; x[100:, 1] = tone[100:]   # left for 1 s, then right
    >>> louder_side = lambda seg, sr: (90.0 if np.sum(seg[:, 0] ** 2) > np.sum(seg[:, 1] ** 2) else -90.0, None)
    >>> track = track_from_estimator(x, sr, louder_side)
    >>> track.azimuth_deg.tolist()[:2], track.reasons[2]
    ([90.0, -90.0], 'segment of 0.30 s is shorter than 0.50 s')
    """
    x = _as_binaural(binaural)
    sr = int(sr)
    bounds = segment_bounds(x.shape[0], sr, segment_s)
    if validity is None:
        validity = segment_validity(x, sr, segment_s=segment_s, min_segment_s=min_segment_s)
    if len(validity) != len(bounds):
        raise ValueError(f"validity must have one entry per segment ({len(bounds)}), got {len(validity)}")
    azimuth, elevation, lateral, reliability, reasons, starts, durations = [], [], [], [], [], [], []
    for (start, stop), invalid in zip(bounds, validity):
        starts.append(start / sr)
        durations.append((stop - start) / sr)
        az = el = lat = rel = float("nan")
        reason = invalid
        if reason is None:
            try:
                raw_az, raw_el, raw_rel, raw_lat, why = _parse_estimate(estimate(x[start:stop], sr))
            except ValueError as exc:
                reason = str(exc) or type(exc).__name__
            else:
                az, el, rel, lat = _finite(raw_az), _finite(raw_el), _finite(raw_rel), _finite(raw_lat)
                if min_reliability is not None and math.isfinite(rel) and rel < min_reliability:
                    reason = f"reliability {rel:.3g} is below {min_reliability:g}"
                elif not math.isfinite(az) and not math.isfinite(lat):
                    reason = why or "the estimator returned no azimuth"
                # (a NaN azimuth with a finite lateral angle is measured: front/back unknown, the lateral
                # angle still counts, scope "lateral")
                if reason is not None:
                    az = el = lat = float("nan")
                elif math.isfinite(az):
                    az = float(wrap180(az))
                    lat = lat if math.isfinite(lat) else float(lateral_of(az, el))
        azimuth.append(az)
        elevation.append(el)
        lateral.append(lat)
        reliability.append(rel)
        reasons.append(reason)
    return DirectionTrack(
        np.asarray(starts),
        np.asarray(durations),
        np.asarray(azimuth),
        np.asarray(elevation),
        np.asarray(reliability),
        tuple(reasons),
        source,
        np.asarray(lateral),
    )


def track_from_bat(
    predictions: HeadPredictions,
    *,
    segment_s: float = 1.0,
    durations_s: Sequence[float] | None = None,
    min_confidence: float | None = None,
    validity: Sequence[str | None] | None = None,
) -> DirectionTrack:
    """Direction track from BAT's per-window head predictions, one window per segment (the ``segments`` mode).

    Azimuths are converted from BAT's convention to spatialeval's; elevations are BAT's
    (class − 90); reliability = the azimuth head's softmax confidence. With
    ``min_confidence`` a window below it is unmeasurable. ``durations_s`` gives each
    segment's true length (default ``segment_s`` each). ``validity`` (one entry per window,
    from :func:`segment_validity` of the clip) makes the windows it rejects unmeasurable
    with its reason: the encoder answers for silence and stubs too, so without it a BAT
    track would score segments a checkpoint-free track of the same clip leaves out.

    >>> from spatialeval.metrics.bat_heads import decode_heads
    >>> az, el, dist = np.zeros((2, 360)), np.zeros((2, 180)), np.zeros((2, 21))
    >>> az[0, 90] = az[1, 180] = 30.0; el[:, 90] = 30.0; dist[:, 2] = 30.0
    >>> track_from_bat(decode_heads(az, el, dist)).azimuth_deg.tolist()   # front, then left
    [0.0, 90.0]
    """
    n = len(predictions)
    durations = np.full(n, float(segment_s)) if durations_s is None else np.asarray(durations_s, dtype=np.float64)
    if durations.shape != (n,):
        raise ValueError(f"durations_s must have one entry per window ({n}), got shape {durations.shape}")
    azimuth = predictions.spatialeval_azimuth_deg.astype(np.float64)
    elevation = predictions.elevation_deg.astype(np.float64)
    confidence = predictions.azimuth_confidence.astype(np.float64)
    reasons: list[str | None] = [None] * n
    if min_confidence is not None:
        low = confidence < min_confidence
        azimuth, elevation = np.where(low, np.nan, azimuth), np.where(low, np.nan, elevation)
        reasons = [
            f"BAT azimuth confidence {c:.3g} is below {min_confidence:g}" if is_low else None
            for c, is_low in zip(confidence, low)
        ]
    if validity is not None:
        if len(validity) != n:
            raise ValueError(f"validity must have one entry per window ({n}), got {len(validity)}")
        rejected = np.array([why is not None for why in validity], dtype=bool)
        azimuth, elevation = np.where(rejected, np.nan, azimuth), np.where(rejected, np.nan, elevation)
        reasons = [why if why is not None else reason for why, reason in zip(validity, reasons)]
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]]) if n else np.zeros(0)
    return DirectionTrack(starts, durations, azimuth, elevation, confidence, tuple(reasons), "bat")


def reference_track(
    azimuth_deg: Sequence[float],
    *,
    segment_s: float = 1.0,
    elevation_deg: Sequence[float] | None = None,
    source: str = "reference",
) -> DirectionTrack:
    """A track from known per-segment directions (e.g. a rendered source's true trajectory).

    >>> reference_track([10.0, 370.0]).azimuth_deg.tolist()
    [10.0, 10.0]
    """
    azimuth = wrap180(np.asarray(azimuth_deg, dtype=np.float64))
    n = azimuth.shape[0]
    elevation = np.full(n, np.nan) if elevation_deg is None else np.asarray(elevation_deg, dtype=np.float64)
    reasons = tuple(None if math.isfinite(a) else "no reference direction" for a in azimuth)
    return DirectionTrack(
        np.arange(n) * float(segment_s),
        np.full(n, float(segment_s)),
        azimuth,
        elevation,
        np.full(n, np.nan),
        reasons,
        source,
    )


def segment_errors_deg(gt: DirectionTrack, gen: DirectionTrack) -> np.ndarray:
    """Per-segment angle between two tracks over the segments both have (NaN where either is unmeasurable).

    Great-circle angle where both segments carry an elevation, else the azimuth difference
    on the circle (the estimate is then taken as ear-level only). Where either side's
    front/back is unknown (azimuth NaN, lateral angle known) the lateral-angle difference
    counts instead (:func:`segment_scopes` says which).

    >>> a, b = reference_track([170.0, 0.0]), reference_track([-170.0, 45.0])
    >>> segment_errors_deg(a, b).tolist()
    [20.0, 45.0]
    """
    return _segment_errors(gt, gen, _direction_errors(gt, gen))


def segment_scopes(gt: DirectionTrack, gen: DirectionTrack) -> list[str]:
    """Per paired segment: 'direction' (full angle compared), 'lateral' (cone of confusion only) or 'none'."""
    return _segment_scopes(gt, gen, _direction_errors(gt, gen))


def _segment_errors(gt: DirectionTrack, gen: DirectionTrack, full: np.ndarray) -> np.ndarray:
    """:func:`segment_errors_deg` given ``full`` = ``_direction_errors(gt, gen)``."""
    n = min(len(gt), len(gen))
    lateral = np.abs(gt.lateral_deg[:n] - gen.lateral_deg[:n])
    return np.where(np.isfinite(full), full, lateral)


def _segment_scopes(gt: DirectionTrack, gen: DirectionTrack, full: np.ndarray) -> list[str]:
    """:func:`segment_scopes` given ``full`` = ``_direction_errors(gt, gen)``."""
    n = min(len(gt), len(gen))
    lateral = np.isfinite(gt.lateral_deg[:n]) & np.isfinite(gen.lateral_deg[:n])
    return ["direction" if f else "lateral" if lat else "none" for f, lat in zip(np.isfinite(full), lateral)]


def _direction_errors(gt: DirectionTrack, gen: DirectionTrack, front_back: Sequence | None = None) -> np.ndarray:
    """Full direction errors per paired segment; NaN where front/back is unknown on either side.

    ``front_back`` (optional, per paired segment: 'same', 'mirrored' or None) is the pair-relative
    front/back decision (:func:`spatialeval.metrics.front_back_pair.pair_front_back`): where an azimuth
    is unknown but the relation is decided, the error is |α_gt − α_gen| ('same') or
    |wrap(α_gt − (180° − α_gen))| ('mirrored', 180° − 2α at equal lateral angles).
    """
    n = min(len(gt), len(gen))
    az1, az2 = gt.azimuth_deg[:n], gen.azimuth_deg[:n]
    el1, el2 = gt.elevation_deg[:n], gen.elevation_deg[:n]
    with np.errstate(invalid="ignore"):
        on_circle = np.abs(wrap180(az1 - az2))
        on_sphere = great_circle_deg(az1, np.nan_to_num(el1), az2, np.nan_to_num(el2))
    both_elevations = np.isfinite(el1) & np.isfinite(el2)
    errors = np.where(both_elevations, on_sphere, on_circle)
    errors = np.where(np.isfinite(az1) & np.isfinite(az2), errors, np.nan)
    if front_back is not None:
        lat1, lat2 = gt.lateral_deg[:n], gen.lateral_deg[:n]
        for index, relation in enumerate(list(front_back)[:n]):
            if math.isfinite(errors[index]) or not (math.isfinite(lat1[index]) and math.isfinite(lat2[index])):
                continue
            if relation == "same":
                errors[index] = abs(lat1[index] - lat2[index])
            elif relation == "mirrored":
                errors[index] = abs(float(wrap180(lat1[index] - (180.0 - lat2[index]))))
    return errors


def trajectory_error(
    gt: DirectionTrack, gen: DirectionTrack, prefix: str = "", front_back: Sequence | None = None
) -> dict:
    """Segment-by-segment direction error of a generated clip's trajectory against the ground truth's.

    Over the segments both tracks have (paired by position):

    * ``{prefix}trajectory_error_deg`` = mean angle error over segments measurable in both (degrees, lower is better);
    * ``{prefix}trajectory_worst_error_deg`` = the largest of those errors;
    * ``{prefix}trajectory_worst_segment_s`` = start time (s) of that segment;
    * ``{prefix}trajectory_segments`` = segments compared;
    * ``{prefix}trajectory_unmeasurable_segments`` = paired segments left out because either
      side is unmeasurable (reasons in ``gt.reasons``/``gen.reasons``);
    * ``{prefix}trajectory_unpaired_segments`` = segments only the longer clip has;
    * ``{prefix}trajectory_lateral_segments`` = compared segments where front/back was unknown on
      either side, so only the lateral angles were compared.

    ``front_back`` (per paired segment 'same', 'mirrored' or None) lets a pair-relative front/back
    decision complete the segments where either track's hemifield is unknown (see
    :func:`_direction_errors`); those then count as full directions.

    When no segment is measurable in both, the three error values are NaN and
    ``unmeasurable`` gives the reason.

    >>> gt = reference_track([40.0, 0.0, -40.0])
    >>> gen = reference_track([30.0, float("nan"), -10.0, 5.0])
    >>> e = trajectory_error(gt, gen, prefix="cues_")
    >>> e["cues_trajectory_error_deg"], e["cues_trajectory_worst_error_deg"], e["cues_trajectory_worst_segment_s"]
    (20.0, 30.0, 2.0)
    >>> e["cues_trajectory_segments"], e["cues_trajectory_unmeasurable_segments"], e["cues_trajectory_unpaired_segments"]
    (2, 1, 1)
    """
    full = _direction_errors(gt, gen, front_back)  # taken once for the errors and the scopes
    errors = _segment_errors(gt, gen, full)
    n = errors.shape[0]
    compared = np.isfinite(errors)
    names = [
        f"{prefix}trajectory_error_deg",
        f"{prefix}trajectory_worst_error_deg",
        f"{prefix}trajectory_worst_segment_s",
    ]
    result: dict = {
        f"{prefix}trajectory_segments": int(compared.sum()),
        f"{prefix}trajectory_unmeasurable_segments": int(n - compared.sum()),
        f"{prefix}trajectory_unpaired_segments": int(abs(len(gt) - len(gen))),
        f"{prefix}trajectory_lateral_segments": _segment_scopes(gt, gen, full).count("lateral"),
    }
    if not compared.any():
        if n == 0:
            reason = "one of the clips has no segment"
        else:
            first = next((r for r in (*gt.reasons[:n], *gen.reasons[:n]) if r), "unmeasurable")
            reason = f"no segment is measurable in both clips ({n} paired; e.g. {first})"
        result.update({name: float("nan") for name in names})
        result["unmeasurable"] = {name: reason for name in names}
        return result
    worst = int(np.nanargmax(errors))
    result.update(
        {names[0]: float(np.mean(errors[compared])), names[1]: float(errors[worst]), names[2]: float(gt.start_s[worst])}
    )
    return result
