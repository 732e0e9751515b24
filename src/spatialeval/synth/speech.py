"""Deterministic mono test sources: a speech-like signal and pink noise.

Nothing here downloads data or depends on a random global state: the same seed gives
the same samples.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def _resonator(freq: float, bandwidth: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-pole resonator with unit gain at DC (numerator, denominator)."""
    radius = math.exp(-math.pi * bandwidth / sr)
    a = np.array([1.0, -2.0 * radius * math.cos(2.0 * math.pi * freq / sr), radius * radius])
    return np.array([a.sum()]), a


# Formant targets (F1, F2, F3) of a few vowels, Hz; F4 fixed at 3500 Hz.
_VOWELS = np.array(
    [[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480], [570, 840, 2410], [660, 1720, 2410]],
    dtype=np.float64,
)
_BANDWIDTHS = (80.0, 100.0, 140.0, 200.0)


def speech_like(seconds: float, sr: int, f0: float = 120.0, seed: int = 0) -> np.ndarray:
    """A deterministic speech-like signal: float64 mono, peak 0.9, silence in the pauses.

    Built from: a glottal pulse train whose F0 follows a smooth contour around ``f0``
    (±15 % intonation with a falling declination per phrase) shaped by a −12 dB/octave
    glottal low-pass; four formant resonators (two-pole ``scipy.signal.lfilter`` sections)
    whose frequencies glide between vowel targets every syllable; a little aspiration
    noise plus a high-passed fricative burst at some syllable onsets (so the signal
    has energy up to the top of the band, as speech does); syllables of 120–300 ms with
    raised-cosine envelopes (about 4 per second) grouped into phrases of 2–6 syllables
    separated by 150–450 ms pauses. The same ``seed`` gives the same samples.

    >>> x = speech_like(1.0, 16000, seed=3)
    >>> x.shape, x.dtype.name, float(np.max(np.abs(x)))
    ((16000,), 'float64', 0.9)
    >>> bool(np.array_equal(x, speech_like(1.0, 16000, seed=3)))
    True
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if sr < 8000:
        raise ValueError(f"speech_like needs sr >= 8000 Hz, got {sr}")
    if not 50.0 <= f0 <= 400.0:
        raise ValueError(f"f0 must lie in 50…400 Hz, got {f0}")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr

    # Syllable / pause layout, envelope and per-sample syllable index.
    envelope = np.zeros(n)
    syllable_of = np.full(n, -1)
    onsets: list[int] = []
    position = int(0.05 * sr)
    syllable = 0
    while position < n:
        for _ in range(int(rng.integers(2, 7))):
            length = int(rng.uniform(0.12, 0.30) * sr)
            stop = min(position + length, n)
            if stop - position < 8:
                break
            phase = np.linspace(0.0, 1.0, stop - position)
            envelope[position:stop] = np.sin(np.pi * phase) ** 1.5 * rng.uniform(0.6, 1.0)
            syllable_of[position:stop] = syllable
            onsets.append(position)
            syllable += 1
            position = stop + int(rng.uniform(0.0, 0.04) * sr)
        position += int(rng.uniform(0.15, 0.45) * sr)

    # F0 contour: slow intonation + declination over each 2-s stretch + small smooth jitter.
    contour = 1.0 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi))
    contour *= 1.0 - 0.08 * np.mod(t, 2.0) / 2.0
    jitter = signal.lfilter([0.002], [1.0, -0.998], rng.standard_normal(n)) * 0.5
    f0_track = f0 * contour * (1.0 + np.clip(jitter, -0.05, 0.05))
    cycles = np.cumsum(f0_track) / sr
    pulses = np.zeros(n)
    pulses[1:][np.diff(np.floor(cycles)) > 0] = 1.0
    glottal = signal.lfilter([1.0], [1.0, -1.9, 0.9025], pulses)  # double pole at 0.95: −12 dB/oct
    glottal -= signal.lfilter([0.01], [1.0, -0.99], glottal)  # remove the DC build-up

    source = glottal / (np.max(np.abs(glottal)) + 1e-12) + 0.02 * rng.standard_normal(n)

    # Time-varying formants: targets per syllable, glided by a one-pole smoother, filtered in 5-ms blocks.
    targets = _VOWELS[rng.integers(0, len(_VOWELS), size=max(syllable, 1))]
    per_sample = np.where(syllable_of[:, None] >= 0, targets[np.clip(syllable_of, 0, None)], _VOWELS[0])
    smooth = signal.lfilter([0.004], [1.0, -0.996], per_sample - per_sample[0], axis=0) + per_sample[0]
    block = max(1, int(0.005 * sr))
    voiced = np.empty(n)
    states = [np.zeros(2) for _ in range(4)]
    nyquist_guard = 0.45 * sr
    for start in range(0, n, block):
        chunk = source[start : start + block]
        formants = (*smooth[start], 3500.0)
        for k, (freq, bandwidth) in enumerate(zip(formants, _BANDWIDTHS)):
            b, a = _resonator(min(freq, nyquist_guard), bandwidth, sr)
            chunk, states[k] = signal.lfilter(b, a, chunk, zi=states[k])
        voiced[start : start + block] = chunk

    # Fricative bursts: high-passed noise at about a third of the syllable onsets.
    fricative = np.zeros(n)
    high_pass = signal.butter(4, min(3000.0, 0.4 * sr), btype="highpass", fs=sr, output="sos")
    for onset in onsets:
        if rng.uniform() < 0.35:
            length = int(rng.uniform(0.04, 0.09) * sr)
            stop = min(onset + length, n)
            fricative[onset:stop] = rng.standard_normal(stop - onset) * np.hanning(stop - onset)
    fricative = signal.sosfilt(high_pass, fricative)

    voiced /= np.max(np.abs(voiced)) + 1e-12
    out = voiced * envelope + 0.25 * fricative
    peak = np.max(np.abs(out))
    if peak == 0:
        raise ValueError(f"speech_like produced silence for seconds={seconds}; use at least 0.2 s")
    return 0.9 * out / peak


def pink_noise(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Deterministic pink (1/f power) noise, float64 mono with peak 0.9, flat below 50 Hz.

    Shaped in the frequency domain: white Gaussian noise times ``1/sqrt(max(f, 50 Hz))``.

    >>> x = pink_noise(1.0, 16000, seed=1)
    >>> x.shape, float(np.max(np.abs(x)))
    ((16000,), 0.9)
    """
    if seconds <= 0 or sr <= 0:
        raise ValueError(f"need positive seconds and sample rate, got {seconds} and {sr}")
    n = int(round(seconds * sr))
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1.0 / sr), 50.0))
    spectrum[0] = 0.0
    out = np.fft.irfft(spectrum, n)
    return 0.9 * out / np.max(np.abs(out))
