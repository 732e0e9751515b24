"""Diffuse reverberant tails with a controlled reverberation time (RT60) and direct-to-reverberant ratio.

A binaural room impulse response is modelled as the direct-path HRIR pair plus a late
tail that starts ``predelay_s`` after the direct sound:

    tail_ear(t) = g · n_ear(t) · exp(−3·ln(10)·t / RT60),   t ≥ 0

so its energy falls by 60 dB in RT60 seconds. ``n_left`` and ``n_right`` are white noises
whose interaural coherence follows the diffuse-field value for two points ``d`` apart,
Γ(f) = sin(2πfd/c) / (2πfd/c) (built per FFT bin as ``R = Γ·N₁ + sqrt(1 − Γ²)·N₂``), so
the tail is coherent at low frequency and decorrelated above a few hundred hertz, as in a
room. ``g`` sets the direct-to-reverberant ratio on the impulse responses,

    DRR = 10·log10( Σ_t (h_L² + h_R²) / Σ_t (tail_L² + tail_R²) )   (dB, both ears).

This is a late-reverberation model only (no discrete early reflections); it is what the
tests and ``scripts/benchmark_cues.py`` use to check the cue metrics under reverberation.
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.synth.heads import SPEED_OF_SOUND

EAR_DISTANCE_M = 0.18

__all__ = ["EAR_DISTANCE_M", "diffuse_tail", "reverberant_brir"]


def diffuse_tail(
    sr: int, rt60_s: float, *, seed: int = 0, length_s: float | None = None, ear_distance_m: float = EAR_DISTANCE_M
) -> np.ndarray:
    """A unit-energy (both ears together) diffuse binaural tail ``(taps, 2)`` decaying with ``rt60_s``.

    ``length_s`` defaults to RT60 (the tail is then 60 dB down at its end).

    >>> tail = diffuse_tail(16000, 0.5, seed=1)
    >>> tail.shape, round(float(np.sum(tail ** 2)), 9)
    ((8000, 2), 1.0)
    >>> early, late = np.sum(tail[:800] ** 2), np.sum(tail[4000:4800] ** 2)   # 30 dB apart after 0.25 s
    >>> bool(25 < 10 * np.log10(early / late) < 35)
    True
    """
    if rt60_s <= 0 or sr <= 0:
        raise ValueError(f"need a positive RT60 and sample rate, got {rt60_s} and {sr}")
    taps = int(round((rt60_s if length_s is None else length_s) * sr))
    rng = np.random.default_rng(seed)
    spectra = np.fft.rfft(rng.standard_normal((2, taps)), axis=1)
    freqs = np.fft.rfftfreq(taps, 1.0 / sr)
    coherence = np.sinc(2.0 * freqs * ear_distance_m / SPEED_OF_SOUND)  # np.sinc(x) = sin(πx)/(πx)
    right = coherence * spectra[0] + np.sqrt(1.0 - coherence**2) * spectra[1]
    noise = np.stack([np.fft.irfft(spectra[0], taps), np.fft.irfft(right, taps)], axis=1)
    t = np.arange(taps) / sr
    tail = noise * np.exp(-3.0 * math.log(10.0) * t / rt60_s)[:, None]
    return tail / math.sqrt(float(np.sum(tail**2)))


def reverberant_brir(
    hrir: np.ndarray, sr: int, rt60_s: float, drr_db: float, *, seed: int = 0, predelay_s: float = 0.004
) -> np.ndarray:
    """``hrir`` (taps, 2) plus a diffuse tail at ``drr_db`` starting ``predelay_s`` after the direct sound.

    The direct sound's time is the peak of the ear-summed squared HRIR.

    >>> from spatialeval.synth.heads import head_hrir
    >>> direct = np.asarray(head_hrir("sphere", 16000, 30.0))
    >>> brir = reverberant_brir(direct, 16000, rt60_s=0.4, drr_db=0.0)
    >>> tail = brir.copy(); tail[: direct.shape[0]] -= direct
    >>> round(float(10 * np.log10(np.sum(direct ** 2) / np.sum(tail ** 2))), 6)
    0.0
    """
    hrir = np.asarray(hrir, dtype=np.float64)
    if hrir.ndim != 2 or hrir.shape[1] != 2:
        raise ValueError(f"hrir must be (taps, 2), got {hrir.shape}")
    tail = diffuse_tail(sr, rt60_s, seed=seed)
    start = int(np.argmax(np.sum(hrir**2, axis=1))) + int(round(predelay_s * sr))
    out = np.zeros((max(hrir.shape[0], start + tail.shape[0]), 2))
    out[: hrir.shape[0]] = hrir
    gain = math.sqrt(float(np.sum(hrir**2)) * 10.0 ** (-drr_db / 10.0))
    out[start : start + tail.shape[0]] += gain * tail
    return out
