"""The HRIR set shipped with spatialeval (MIT KEMAR) and direction geometry.

Used by the binaural cue metrics (templates) and by :mod:`spatialeval.synth` (rendering
test audio), so it lives in the lowest layer.

Conventions: azimuth in degrees counter-clockwise seen from above (0 = front, 90 = left,
180 = back, 270 or −90 = right), elevation in degrees (0 = ear level, 90 = overhead).
The KEMAR set covers elevations −40…90 in 10° rings (azimuth spacing 5° at ear level).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import signal

KEMAR_RESOURCE = "kemar_hrir_44k1.npz"
KEMAR_ELEVATION_RANGE = (-40.0, 90.0)

__all__ = ["KEMAR_ELEVATION_RANGE", "KEMAR_RESOURCE", "HRIRSet", "angular_distance_deg", "load_kemar", "wrap180"]


@dataclass(frozen=True)
class HRIRSet:
    """HRIRs at one sample rate: ``hrir`` (directions, taps, 2), ``azimuth_deg`` in [0, 360), ``elevation_deg``."""

    hrir: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    sample_rate: int

    def nearest(self, azimuth_deg: float, elevation_deg: float = 0.0) -> int:
        """Index of the measured direction nearest (great circle) to the requested one."""
        return int(np.argmin(angular_distance_deg(self.azimuth_deg, self.elevation_deg, azimuth_deg, elevation_deg)))


def angular_distance_deg(az1, el1, az2, el2) -> np.ndarray:
    """Great-circle angle (degrees) between directions given as azimuth/elevation in degrees.

    >>> round(float(angular_distance_deg(30.0, 0.0, 45.0, 0.0)), 6)
    15.0
    >>> round(float(angular_distance_deg(0.0, 90.0, 123.0, 90.0)), 6)
    0.0
    """
    az1, el1, az2, el2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (az1, el1, az2, el2))
    cos_angle = np.sin(el1) * np.sin(el2) + np.cos(el1) * np.cos(el2) * np.cos(az1 - az2)
    return np.degrees(np.arccos(np.clip(cos_angle, -1.0, 1.0)))


def wrap180(angle_deg) -> np.ndarray:
    """Wrap angles (degrees) into (−180, 180], as a float64 array.

    >>> wrap180(np.array([-180.0, 190.0, 360.0, 180.0])).tolist()
    [180.0, -170.0, 0.0, 180.0]
    """
    return 180.0 - np.mod(180.0 - np.asarray(angle_deg, dtype=np.float64), 360.0)


@lru_cache(maxsize=1)
def _kemar_raw() -> tuple[np.ndarray, np.ndarray, int]:
    with resources.files("spatialeval.data").joinpath(KEMAR_RESOURCE).open("rb") as handle:
        data = np.load(handle)
        hrir = np.asarray(data["hrir"], dtype=np.float64)
        directions = np.asarray(data["directions_deg"], dtype=np.float64)
        rate = int(data["samplerate"])
    return hrir, directions, rate


@lru_cache(maxsize=8)
def load_kemar(sample_rate: int | None = None) -> HRIRSet:
    """The MIT KEMAR HRIR set shipped with spatialeval, resampled to ``sample_rate``.

    The file stores ``directions_deg[:, 0]`` = azimuth (0…360, 90 = left) and
    ``directions_deg[:, 1]`` = elevation. Resampling uses ``scipy.signal.resample_poly``
    along the tap axis. The result is cached per rate; its arrays are read-only.

    >>> kemar = load_kemar(32000)
    >>> kemar.hrir.shape[0], kemar.hrir.shape[2], kemar.sample_rate
    (710, 2, 32000)
    """
    hrir, directions, rate = _kemar_raw()
    if sample_rate is None:
        sample_rate = rate
    sample_rate = int(sample_rate)
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    if sample_rate != rate:
        divisor = math.gcd(sample_rate, rate)
        hrir = signal.resample_poly(hrir, sample_rate // divisor, rate // divisor, axis=1)
    hrir = np.ascontiguousarray(hrir)
    azimuth = np.mod(directions[:, 0], 360.0)
    elevation = directions[:, 1].copy()
    for array in (hrir, azimuth, elevation):
        array.setflags(write=False)
    return HRIRSet(hrir=hrir, azimuth_deg=azimuth, elevation_deg=elevation, sample_rate=sample_rate)
