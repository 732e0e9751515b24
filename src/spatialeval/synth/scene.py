"""One entry point for rendering a mono source at a direction, with a chosen head and optional reverberation."""

from __future__ import annotations

import numpy as np
from scipy import signal

from spatialeval.io.hrir import HRIRSet
from spatialeval.synth.heads import HEAD_RADIUS_M, HEADS, PRE_DELAY_S, head_hrir
from spatialeval.synth.kemar import nearest_hrir
from spatialeval.synth.reverb import reverberant_brir

ALL_HEADS = ("kemar", *HEADS)

__all__ = ["ALL_HEADS", "render"]


def render(
    mono: np.ndarray,
    sr: int,
    azimuth_deg: float,
    elevation_deg: float = 0.0,
    *,
    head: str = "kemar",
    rt60_s: float | None = None,
    drr_db: float | None = None,
    seed: int = 0,
    radius_m: float = HEAD_RADIUS_M,
    ear_angle_deg: float = 90.0,
    hrir_set: HRIRSet | None = None,
) -> np.ndarray:
    """Binaural ``(len(mono), 2)`` rendering of ``mono`` with ``head`` in {"kemar", "sphere", "brown_duda"}.

    KEMAR uses the nearest measured direction (5° grid at ear level); the sphere models use the
    exact direction (:mod:`spatialeval.synth.heads`). With ``rt60_s`` and ``drr_db`` set, a diffuse
    tail is added (:func:`spatialeval.synth.reverb.reverberant_brir`, ``seed`` picks the noise).
    The output is aligned so the direct sound of every head arrives at about the same time.
    ``hrir_set`` (e.g. a SOFA file read by :func:`spatialeval.io.hrir.load_sofa`, at ``sr``) replaces
    the shipped KEMAR set: the measured direction nearest to the request is used; ``head`` must then
    be left at "kemar".

    >>> sr = 16000
    >>> noise = np.random.default_rng(0).standard_normal(sr)
    >>> dry = render(noise, sr, 45.0, head="sphere")
    >>> wet = render(noise, sr, 45.0, head="sphere", rt60_s=0.5, drr_db=0.0)
    >>> dry.shape == wet.shape == (sr, 2), bool(np.sum(wet ** 2) > 1.5 * np.sum(dry ** 2))
    (True, True)
    """
    mono = np.asarray(mono, dtype=np.float64)
    if mono.ndim != 1 or mono.size == 0 or not np.all(np.isfinite(mono)):
        raise ValueError(f"render expects a non-empty, finite 1-D mono source, got shape {mono.shape}")
    if hrir_set is not None:
        if head != "kemar" or hrir_set.sample_rate != sr:
            raise ValueError(
                f"hrir_set replaces the KEMAR head at its own rate: need head='kemar' and sr="
                f"{hrir_set.sample_rate}, got head={head!r}, sr={sr}"
            )
        hrir = np.asarray(hrir_set.hrir[hrir_set.nearest(float(azimuth_deg) % 360.0, float(elevation_deg))])
        shift = 0
    elif head == "kemar":
        hrir = np.asarray(nearest_hrir(sr, azimuth_deg, elevation_deg))
        shift = 0
    elif head in HEADS:
        hrir = np.asarray(
            head_hrir(head, sr, azimuth_deg, elevation_deg, radius_m=radius_m, ear_angle_deg=ear_angle_deg)
        )
        shift = int(round(PRE_DELAY_S * sr))
    else:
        raise ValueError(f"head must be one of {ALL_HEADS}, got {head!r}")
    if (rt60_s is None) != (drr_db is None):
        raise ValueError("give both rt60_s and drr_db for a reverberant rendering, or neither")
    if rt60_s is not None:
        hrir = reverberant_brir(hrir, sr, float(rt60_s), float(drr_db), seed=seed)
    out = signal.fftconvolve(mono[:, None], hrir, axes=0)
    return out[shift : shift + mono.size]
