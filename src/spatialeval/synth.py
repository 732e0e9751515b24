"""Deterministic test audio: a speech-like source and binaural rendering with the MIT KEMAR HRIRs.

Used by the tests, the example-data generator and the benchmark, so nothing here
downloads data or depends on a random global state.

Conventions (the same everywhere in spatialeval):

* binaural arrays are ``(time, 2)`` with channel 0 = left ear, channel 1 = right ear;
* azimuth is in degrees counter-clockwise seen from above, as in the KEMAR set:
  0 = front, 90 = left, 180 = back, 270 (or −90) = right;
* elevation is in degrees, 0 = ear level, 90 = overhead. The KEMAR set covers
  elevations −40…90 in 10° rings (azimuth spacing 5° at 0° elevation).
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
    along the tap axis. The result is cached per rate; treat its arrays as read-only.

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


def spatialize(mono: np.ndarray, sr: int, azimuth_deg: float, elevation_deg: float = 0.0,
               *, keep_length: bool = True) -> np.ndarray:
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
    low, high = KEMAR_ELEVATION_RANGE
    if not low <= float(elevation_deg) <= high:
        raise ValueError(f"elevation {elevation_deg}° is outside the KEMAR set's {low:.0f}…{high:.0f}°")
    kemar = load_kemar(sr)
    pair = kemar.hrir[kemar.nearest(float(azimuth_deg) % 360.0, float(elevation_deg))]
    out = signal.fftconvolve(mono[:, None], pair, axes=0)
    return out[: mono.size] if keep_length else out


def _resonator(freq: float, bandwidth: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-pole resonator with unit gain at DC (numerator, denominator)."""
    radius = math.exp(-math.pi * bandwidth / sr)
    a = np.array([1.0, -2.0 * radius * math.cos(2.0 * math.pi * freq / sr), radius * radius])
    return np.array([a.sum()]), a


# Formant targets (F1, F2, F3) of a few vowels, Hz; F4 fixed at 3500 Hz.
_VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240],
                    [530, 1840, 2480], [570, 840, 2410], [660, 1720, 2410]], dtype=np.float64)
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
    glottal -= signal.lfilter([0.01], [1.0, -0.99], glottal)      # remove the DC build-up

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
        chunk = source[start:start + block]
        formants = (*smooth[start], 3500.0)
        for k, (freq, bandwidth) in enumerate(zip(formants, _BANDWIDTHS)):
            b, a = _resonator(min(freq, nyquist_guard), bandwidth, sr)
            chunk, states[k] = signal.lfilter(b, a, chunk, zi=states[k])
        voiced[start:start + block] = chunk

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
