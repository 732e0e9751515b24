"""Moving test sources: a mono signal rendered with MIT KEMAR HRIRs along a known azimuth trajectory.

Used by the tests of the direction-trajectory metrics (:mod:`spatialeval.metrics.trajectory`);
nothing here downloads data. Conventions as in :mod:`spatialeval.synth`: ``(time, 2)``
arrays, channel 0 = left ear; azimuth in degrees counter-clockwise from above, 0 = front,
90 = left.

Rendering method (stated, because it shapes what the metrics can recover):

* the source direction is evaluated at the centre of every ``frame_s`` frame (20 ms default);
* it is placed between the two *measured* KEMAR directions that bracket its azimuth on the
  measured elevation ring nearest to ``elevation_deg`` (5° apart at ear level), with linear
  weights (amplitude panning between the two HRIR outputs, no HRIR interpolation);
* the per-frame weights are cross-faded with 50 %-overlapping periodic Hann windows
  (2 frames long, summing to one), so the gains — and the apparent direction — change
  smoothly from frame to frame with no switching clicks;
* because convolution is linear, every measured direction used is convolved once with the
  source multiplied by its smooth gain curve, and the results are summed.

There is no propagation delay, Doppler shift or distance change: only the direction moves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from spatialeval.io.hrir import wrap180
from spatialeval.synth import load_kemar
from spatialeval.synth.kemar import check_elevation

Trajectory = Callable[[np.ndarray], np.ndarray]


def linear_sweep(start_deg: float, end_deg: float, seconds: float) -> Trajectory:
    """Azimuth trajectory moving at constant angular speed from ``start_deg`` to ``end_deg`` over ``seconds``.

    Times before 0 or after ``seconds`` hold the end points. The sweep takes the literal
    path (80 → −80 passes through the front, 0°).

    >>> sweep = linear_sweep(80.0, -80.0, 4.0)
    >>> sweep(np.array([0.0, 1.0, 2.0, 4.0, 9.0])).tolist()
    [80.0, 40.0, 0.0, -80.0, -80.0]
    """
    if seconds <= 0:
        raise ValueError(f"sweep duration must be positive, got {seconds}")

    def azimuth(times_s: np.ndarray) -> np.ndarray:
        fraction = np.clip(np.asarray(times_s, dtype=np.float64) / seconds, 0.0, 1.0)
        return start_deg + (end_deg - start_deg) * fraction

    return azimuth


def _ring(elevation_deg: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and azimuths (sorted, [0, 360)) of the measured KEMAR ring nearest to ``elevation_deg``."""
    kemar = load_kemar(sr)
    rings = np.unique(kemar.elevation_deg)
    ring = rings[np.argmin(np.abs(rings - elevation_deg))]
    indices = np.flatnonzero(kemar.elevation_deg == ring)
    order = np.argsort(kemar.azimuth_deg[indices])
    return indices[order], kemar.azimuth_deg[indices][order]


def _bracketing_weights(
    azimuth_deg: np.ndarray, ring_azimuths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each azimuth: positions (lower, upper) in the ring and the upper one's linear weight, with wrap-around."""
    a = np.mod(azimuth_deg, 360.0)
    upper = np.searchsorted(ring_azimuths, a, side="right") % len(ring_azimuths)
    lower = (upper - 1) % len(ring_azimuths)
    span = np.mod(ring_azimuths[upper] - ring_azimuths[lower], 360.0)
    span = np.where(span == 0, 360.0, span)  # a ring with a single direction (90° elevation)
    weight_upper = np.mod(a - ring_azimuths[lower], 360.0) / span
    return lower, upper, weight_upper


def render_moving_source(
    mono: np.ndarray, sr: int, azimuth_deg: Trajectory | float, elevation_deg: float = 0.0, *, frame_s: float = 0.02
) -> np.ndarray:
    """Binaural rendering of ``mono`` moving along ``azimuth_deg(t)`` (t in seconds), same length as ``mono``.

    See the module docstring for the method (bracketing KEMAR HRIRs, linear weights,
    Hann cross-fades every ``frame_s``). A constant ``azimuth_deg`` on a measured
    direction reproduces :func:`spatialeval.synth.spatialize` exactly.

    Args:
        mono: 1-D finite source signal.
        sr: sample rate (Hz); the HRIRs are resampled to it.
        azimuth_deg: a function of a time array (seconds) returning azimuths (degrees), or a number.
        elevation_deg: the source elevation; the nearest measured KEMAR ring (−40…90° in 10° steps) is used.
        frame_s: how often the direction is updated (seconds).

    Returns:
        float64 array (len(mono), 2), channel 0 = left ear.

    Raises:
        ValueError: non-1-D, empty or non-finite source, elevation outside −40…90°, or a
            trajectory that returns the wrong shape or non-finite azimuths.

    >>> from spatialeval.synth import spatialize, speech_like
    >>> sr = 16000
    >>> x = speech_like(0.5, sr, seed=1)
    >>> bool(np.allclose(render_moving_source(x, sr, 30.0), spatialize(x, sr, 30.0)))
    True
    >>> moving = render_moving_source(x, sr, linear_sweep(90.0, -90.0, 0.5))
    >>> moving.shape
    (8000, 2)
    """
    mono = np.asarray(mono, dtype=np.float64)
    if mono.ndim != 1 or mono.size == 0:
        raise ValueError(f"render_moving_source expects a non-empty 1-D mono source, got shape {mono.shape}")
    if not np.all(np.isfinite(mono)):
        raise ValueError("render_moving_source got NaN or infinite samples")
    check_elevation(elevation_deg)
    hop = max(1, round(frame_s * sr))
    n = mono.size
    centres = np.arange(0, n + hop, hop)  # frame f is centred on sample f·hop and spans ±hop
    times = centres / sr
    if callable(azimuth_deg):
        azimuths = np.asarray(azimuth_deg(times), dtype=np.float64)
    else:
        azimuths = np.full(times.shape, float(azimuth_deg))
    if azimuths.shape != times.shape or not np.all(np.isfinite(azimuths)):
        raise ValueError("the azimuth trajectory must return one finite azimuth per requested time")

    kemar = load_kemar(sr)
    ring_indices, ring_azimuths = _ring(float(elevation_deg), sr)
    lower, upper, weight_upper = _bracketing_weights(azimuths, ring_azimuths)

    # Per-direction gain curves: frame weights cross-faded by a periodic Hann of length 2·hop (sums to 1 at hop).
    window = signal.get_window("hann", 2 * hop, fftbins=True)
    gains = np.zeros((len(ring_azimuths), n + 3 * hop))
    for frame, centre in enumerate(centres):
        start = centre  # gains index is shifted by +hop so that frame 0 may start before sample 0
        gains[lower[frame], start : start + 2 * hop] += window * (1.0 - weight_upper[frame])
        gains[upper[frame], start : start + 2 * hop] += window * weight_upper[frame]
    gains = gains[:, hop : hop + n]

    out = np.zeros((n, 2))
    for position in np.flatnonzero(np.any(gains > 0, axis=1)):
        pair = kemar.hrir[ring_indices[position]]
        out += signal.fftconvolve((mono * gains[position])[:, None], pair, axes=0)[:n]
    return out


def segment_mean_azimuths(
    trajectory: Trajectory, duration_s: float, segment_s: float = 1.0, resolution_s: float = 0.001
) -> np.ndarray:
    """The true direction of each ``segment_s`` segment: circular mean of ``trajectory`` sampled every ``resolution_s``.

    Segments are [k·segment_s, (k+1)·segment_s) clipped to ``duration_s`` (the last may be
    shorter). Returns azimuths in (−180, 180].

    >>> segment_mean_azimuths(linear_sweep(60.0, -60.0, 3.0), 3.0).round(3).tolist()
    [40.0, 0.0, -40.0]
    """
    count = int(np.ceil(duration_s / segment_s - 1e-9))
    means = []
    for k in range(count):
        start, stop = k * segment_s, min((k + 1) * segment_s, duration_s)
        times = np.arange(start, stop, resolution_s) + resolution_s / 2
        theta = np.radians(trajectory(times))
        means.append(np.degrees(np.arctan2(np.mean(np.sin(theta)), np.mean(np.cos(theta)))))
    return wrap180(means)
