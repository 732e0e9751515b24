"""Binaural rendering with the MIT KEMAR HRIRs shipped with spatialeval (see :mod:`spatialeval.io.hrir`)."""

from __future__ import annotations

import numpy as np
from scipy import signal

from spatialeval.io.hrir import KEMAR_ELEVATION_RANGE, load_kemar


def check_elevation(elevation_deg: float) -> None:
    """ValueError for an elevation outside the measured KEMAR range (−40…90°)."""
    low, high = KEMAR_ELEVATION_RANGE
    if not low <= float(elevation_deg) <= high:
        raise ValueError(f"elevation {elevation_deg}° is outside the KEMAR set's {low:.0f}…{high:.0f}°")


def nearest_hrir(sr: int, azimuth_deg: float, elevation_deg: float = 0.0) -> np.ndarray:
    """The KEMAR HRIR pair ``(taps, 2)`` at ``sr`` measured nearest (great circle) to the direction."""
    kemar = load_kemar(sr)
    return kemar.hrir[kemar.nearest(float(azimuth_deg) % 360.0, float(elevation_deg))]


def spatialize(
    mono: np.ndarray, sr: int, azimuth_deg: float, elevation_deg: float = 0.0, *, keep_length: bool = True
) -> np.ndarray:
    """Render ``mono`` at a direction by convolving it with the nearest measured KEMAR HRIR pair.

    ``out[:, ear] = fftconvolve(mono, hrir_ear)`` with the HRIR resampled to ``sr``. The
    direction used is the measured one nearest (great circle) to the request; the grid is
    5° in azimuth at ear level, coarser at other elevations. No level normalisation: the
    HRIRs carry up to about +4 dB of gain at the near ear, so scale the result as needed.
    With ``keep_length`` the output has ``len(mono)`` frames (the convolution tail is
    cut), else ``len(mono) + taps − 1``.

    Raises ``ValueError`` for a non-1-D or non-finite source, and for an elevation outside
    the measured −40…90°.

    >>> sr = 16000
    >>> click = np.zeros(400); click[0] = 1.0
    >>> out = spatialize(click, sr, azimuth_deg=90)        # source on the left
    >>> out.shape
    (400, 2)
    >>> bool(np.argmax(np.abs(out[:, 0])) < np.argmax(np.abs(out[:, 1])))  # left ear first
    True
    >>> bool(np.sum(out[:, 0] ** 2) > np.sum(out[:, 1] ** 2))              # and louder
    True
    """
    mono = np.asarray(mono, dtype=np.float64)
    if mono.ndim != 1:
        raise ValueError(f"spatialize expects a 1-D mono source, got shape {mono.shape}")
    if mono.size == 0:
        raise ValueError("spatialize got an empty source")
    if not np.all(np.isfinite(mono)):
        raise ValueError("spatialize got NaN or infinite samples")
    check_elevation(elevation_deg)
    out = signal.fftconvolve(mono[:, None], nearest_hrir(sr, azimuth_deg, elevation_deg), axes=0)
    return out[: mono.size] if keep_length else out
