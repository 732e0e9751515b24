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

KEMAR_RESOURCE = "kemar_hrir_44k1.npz"
KEMAR_ELEVATION_RANGE = (-40.0, 90.0)

__all__ = [
    "KEMAR_ELEVATION_RANGE",
    "KEMAR_RESOURCE",
    "HRIRSet",
    "angular_distance_deg",
    "load_kemar",
    "load_sofa",
    "wrap180",
]


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
        from scipy import signal  # imported here: its import costs 1-2 s of start-up (features/polyphase.py)

        hrir = signal.resample_poly(hrir, sample_rate // divisor, rate // divisor, axis=1)
    hrir = np.ascontiguousarray(hrir)
    azimuth = np.mod(directions[:, 0], 360.0)
    elevation = directions[:, 1].copy()
    for array in (hrir, azimuth, elevation):
        array.setflags(write=False)
    return HRIRSet(hrir=hrir, azimuth_deg=azimuth, elevation_deg=elevation, sample_rate=sample_rate)


def load_sofa(path, sample_rate: int | None = None) -> HRIRSet:
    """An HRIR set read from a SOFA file (AES69, e.g. ``SimpleFreeFieldHRIR``) with ``sofar``, resampled.

    ``Data.IR`` must hold two receivers (ears); receiver 0 is taken as the left ear unless
    ``ReceiverPosition`` puts it on the right (negative y). ``SourcePosition`` may be spherical
    (azimuth counter-clockwise, 0 = front, 90 = left — the convention used here) or cartesian
    (x front, y left, z up). Resampling as in :func:`load_kemar`.

    Raises:
        ValueError: the file cannot be read as SOFA, or its contents are not a two-ear HRIR set
            (the message names the file and what is wrong).
        ImportError: ``sofar`` is not installed (``pip install 'spatialeval[sofa]'``).
    """
    import sofar  # optional: only SOFA input needs it

    try:
        sofa = sofar.read_sofa(str(path), verify=False, verbose=False)
        ir = np.asarray(sofa.Data_IR, dtype=np.float64)
        positions = np.asarray(sofa.SourcePosition, dtype=np.float64)
        position_type = str(getattr(sofa, "SourcePosition_Type", "spherical")).lower()
        rate = int(round(float(np.ravel(sofa.Data_SamplingRate)[0])))
        receivers = np.asarray(getattr(sofa, "ReceiverPosition", np.zeros((2, 3))), dtype=np.float64)
        receivers = receivers.reshape(receivers.shape[0], -1) if receivers.ndim >= 2 else receivers  # (R, 3[, 1])
    except Exception as exc:  # sofar/netCDF raise many types for a file that is not SOFA
        raise ValueError(f"cannot read {path} as a SOFA HRIR file: {str(exc).strip() or type(exc).__name__}") from None
    if ir.ndim != 3 or ir.shape[1] != 2 or ir.shape[0] == 0:
        raise ValueError(f"{path}: Data.IR must be (measurements, 2 receivers, taps), got shape {ir.shape}")
    if positions.ndim != 2 or positions.shape[0] not in (1, ir.shape[0]) or positions.shape[1] < 2:
        raise ValueError(f"{path}: SourcePosition {positions.shape} does not match {ir.shape[0]} measurements")
    if not np.all(np.isfinite(ir)) or rate <= 0:
        raise ValueError(f"{path}: non-finite impulse responses or sampling rate {rate}")
    positions = np.broadcast_to(positions, (ir.shape[0], positions.shape[1]))
    if position_type.startswith("cart"):
        x, y, z = positions[:, 0], positions[:, 1], positions[:, 2]
        azimuth = np.degrees(np.arctan2(y, x))
        elevation = np.degrees(np.arctan2(z, np.hypot(x, y)))
    else:
        azimuth, elevation = positions[:, 0], positions[:, 1]
    hrir = np.transpose(ir, (0, 2, 1))  # (directions, taps, ears)
    if (
        receivers.ndim == 2
        and receivers.shape[0] >= 2
        and receivers.shape[1] >= 2
        and receivers[0, 1] < receivers[1, 1]
    ):
        hrir = hrir[:, :, ::-1]  # receiver 0 sits on the right (negative y): swap to (left, right)
    target = rate if sample_rate is None else int(sample_rate)
    if target <= 0:
        raise ValueError(f"sample rate must be positive, got {target}")
    if target != rate:
        divisor = math.gcd(target, rate)
        from scipy import signal

        hrir = signal.resample_poly(hrir, target // divisor, rate // divisor, axis=1)
    arrays = (
        np.ascontiguousarray(hrir),
        np.mod(np.asarray(azimuth, dtype=np.float64), 360.0),
        np.asarray(elevation, dtype=np.float64).copy(),
    )
    for array in arrays:
        array.setflags(write=False)
    return HRIRSet(hrir=arrays[0], azimuth_deg=arrays[1], elevation_deg=arrays[2], sample_rate=target)
