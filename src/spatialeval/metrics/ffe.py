"""F0 frame error (FFE), gross pitch error (GPE) and voicing decision error (VDE).

Following Chu & Alwan (2009, "Reducing F0 frame error of F0 tracking algorithms under
noisy conditions"), with the F0 contour of the ground truth as reference and that of
the generated clip as estimate, both from WORLD (``pyworld``):

* F0 is extracted from the clip downmixed to mono (mean of channels) with ``dio`` refined
  by ``stonemask`` (default) or with ``harvest``; frame period 10 ms and search range
  71–800 Hz by default; a frame is *voiced* when its F0 is > 0.
* After alignment (below) each of the N reference frames is classed:
  gross pitch error when both are voiced and ``|f_gen / f_ref − 1| > threshold``
  (0.2 by default); voicing decision error when exactly one of the two is voiced.

::

    FFE = (N_GPE + N_VDE) / N
    GPE = N_GPE / N          (over all reference frames, so FFE = GPE + VDE)
    VDE = N_VDE / N

Note the GPE denominator: Chu & Alwan's GPE divides by the frames where both are
voiced; :func:`f0_frame_error` returns that classic value too (``gpe_voiced``).

Alignment of the estimate onto the reference frames:

* ``nearest`` (default): reference frame *i* at time ``t_i`` takes the estimated frame
  nearest in time; reference frames beyond the end of the generated clip count as
  unvoiced in the estimate (so a truncated clip is penalised), and estimated frames
  beyond the reference end are ignored.
* ``dtw``: dynamic time warping (``librosa.sequence.dtw``, Euclidean cost, standard
  steps) on MFCC 1–19 (c0, the level, is dropped) of 40-band log-mel spectra with the
  same hop as the F0 frames; each reference frame takes the middle (upper median) of the estimated
  frames the warping path matches to it. For clips whose timing legitimately differs.
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.errors import TooShortError
from spatialeval.io.audio import as_time_channels

METHODS = ("dio", "harvest")
MIN_PERIODS = 3  # shortest clip, in periods of the F0 floor, on which voicing can be decided
ALIGNMENTS = ("nearest", "dtw")


def _mono(wave) -> np.ndarray:
    """(time,) or (time, channels) audio (numpy or torch) downmixed to mono (mean of channels)."""
    return np.ascontiguousarray(as_time_channels(wave, "ffe").mean(axis=1))


def f0_contour(
    wave: np.ndarray,
    sr: int,
    *,
    method: str = "dio",
    frame_period_ms: float = 10.0,
    f0_floor: float = 71.0,
    f0_ceil: float = 800.0,
) -> np.ndarray:
    """F0 in Hz per frame (0 where unvoiced); frame *i* is centred at ``i * frame_period_ms``.

    ``wave`` is (samples,) or (samples, channels); channels are averaged first.

    Example:
        >>> sr = 16000
        >>> t = np.arange(sr) / sr
        >>> f0 = f0_contour(0.5 * np.sin(2 * np.pi * 150 * t), sr)
        >>> len(f0), bool(abs(np.median(f0[f0 > 0]) - 150) < 1)
        (101, True)
    """
    import pyworld

    if method not in METHODS:
        raise ValueError(f"unknown F0 method {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 < f0_floor < f0_ceil:
        raise ValueError(f"need 0 < f0_floor < f0_ceil, got {f0_floor} and {f0_ceil}")
    x = _mono(wave)
    if method == "dio":
        f0, times = pyworld.dio(
            x, int(sr), f0_floor=float(f0_floor), f0_ceil=float(f0_ceil), frame_period=float(frame_period_ms)
        )
        f0 = pyworld.stonemask(x, f0, times, int(sr))
    else:
        f0, _ = pyworld.harvest(
            x, int(sr), f0_floor=float(f0_floor), f0_ceil=float(f0_ceil), frame_period=float(frame_period_ms)
        )
    return np.asarray(f0, dtype=np.float64)


def f0_frame_error(f0_ref: np.ndarray, f0_gen: np.ndarray, threshold: float = 0.2) -> dict:
    """FFE, GPE and VDE of two *aligned* F0 contours of equal length (0 = unvoiced).

    Returns ``ffe``, ``gpe``, ``vde`` (fractions of the N reference frames), the classic
    ``gpe_voiced`` (GPE frames / frames voiced in both; NaN if none), and the counts
    ``frames``, ``gpe_frames``, ``vde_frames``, ``voiced_both_frames``. All rates are
    NaN when N = 0.

    Example:
        >>> ref = np.array([100.0, 100.0, 100.0, 0.0, 0.0])
        >>> gen = np.array([100.0, 130.0, 0.0, 120.0, 0.0])
        >>> r = f0_frame_error(ref, gen)  # frame 1: gross error; frames 2, 3: voicing errors
        >>> r["ffe"], r["gpe"], r["vde"], r["gpe_voiced"]
        (0.6, 0.2, 0.4, 0.5)
    """
    ref = np.asarray(f0_ref, dtype=np.float64).reshape(-1)
    gen = np.asarray(f0_gen, dtype=np.float64).reshape(-1)
    if ref.shape != gen.shape:
        raise ValueError(f"F0 contours must be aligned to the same length, got {ref.size} and {gen.size}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    ref_voiced, gen_voiced = ref > 0, gen > 0
    both = ref_voiced & gen_voiced
    ratio = np.divide(gen, ref, out=np.ones_like(ref), where=both)
    gross = both & (np.abs(ratio - 1.0) > threshold)
    voicing = ref_voiced != gen_voiced
    n, n_gross, n_voicing, n_both = ref.size, int(gross.sum()), int(voicing.sum()), int(both.sum())
    rate = (lambda k: k / n) if n else (lambda k: math.nan)
    return {
        "ffe": rate(n_gross + n_voicing),
        "gpe": rate(n_gross),
        "vde": rate(n_voicing),
        "gpe_voiced": n_gross / n_both if n_both else math.nan,
        "frames": n,
        "gpe_frames": n_gross,
        "vde_frames": n_voicing,
        "voiced_both_frames": n_both,
    }


def align_nearest(
    f0_gen: np.ndarray, n_ref: int, frame_period_ref_ms: float = 10.0, frame_period_gen_ms: float | None = None
) -> np.ndarray:
    """The estimate resampled onto the ``n_ref`` reference frame times by nearest frame;
    reference frames past the estimate's end are unvoiced (0).

    Example:
        >>> align_nearest(np.array([100.0, 110.0, 120.0]), 5)
        array([100., 110., 120.,   0.,   0.])
        >>> align_nearest(np.array([100.0, 110.0, 120.0, 130.0, 140.0]), 3, 10.0, 5.0)
        array([100., 120., 140.])
    """
    f0_gen = np.asarray(f0_gen, dtype=np.float64).reshape(-1)
    period_gen = frame_period_ref_ms if frame_period_gen_ms is None else frame_period_gen_ms
    times = np.arange(int(n_ref)) * float(frame_period_ref_ms)
    index = np.floor(times / float(period_gen) + 0.5).astype(np.int64)
    out = np.zeros(int(n_ref))
    inside = index < f0_gen.size
    out[inside] = f0_gen[index[inside]]
    return out


def _alignment_features(wave: np.ndarray, sr: int, hop: int, n_frames: int) -> np.ndarray:
    import librosa

    n_fft = 1 << max(8, int(math.ceil(math.log2(max(hop * 2, int(0.025 * sr))))))
    mfcc = librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=20, n_fft=n_fft, hop_length=hop, n_mels=40, center=True)[1:]
    if mfcc.shape[1] < n_frames:  # pad by repeating the last frame so every F0 frame has features
        mfcc = np.pad(mfcc, ((0, 0), (0, n_frames - mfcc.shape[1])), mode="edge")
    return mfcc[:, :n_frames]


def align_dtw(f0_gen: np.ndarray, features_ref: np.ndarray, features_gen: np.ndarray) -> np.ndarray:
    """The estimate warped onto the reference frames by DTW on per-frame features
    (``(dims, frames)`` arrays, one column per F0 frame); each reference frame takes the
    middle (upper median) of the estimated frames matched to it.

    Example:
        >>> ref = np.array([[0.0, 1.0, 2.0, 3.0]])
        >>> gen = np.array([[0.0, 0.0, 1.0, 2.0, 3.0]])  # the same, one frame late
        >>> align_dtw(np.array([0.0, 90.0, 100.0, 110.0, 120.0]), ref, gen)
        array([ 90., 100., 110., 120.])
    """
    import librosa

    f0_gen = np.asarray(f0_gen, dtype=np.float64).reshape(-1)
    if features_ref.shape[1] == 0 or features_gen.shape[1] != f0_gen.size:
        raise ValueError("DTW features must have one column per F0 frame")
    _, path = librosa.sequence.dtw(X=features_ref, Y=features_gen, metric="euclidean", backtrack=True)
    path = path[::-1]  # (reference index, estimate index), ascending
    out = np.zeros(features_ref.shape[1])
    for i in range(features_ref.shape[1]):
        matched = path[path[:, 0] == i, 1]
        out[i] = f0_gen[int(matched[matched.size // 2])]
    return out


def ffe(
    gt_wave: np.ndarray,
    gen_wave: np.ndarray,
    sr: int,
    *,
    method: str = "dio",
    frame_period_ms: float = 10.0,
    f0_floor: float = 71.0,
    f0_ceil: float = 800.0,
    alignment: str = "nearest",
    threshold: float = 0.2,
    gen_sr: int | None = None,
) -> dict:
    """F0 frame error of ``gen_wave`` against ``gt_wave`` (see the module docstring).

    Both may be (samples,) or (samples, channels), numpy or torch — channels are averaged; a
    (channels, samples) array is refused — and the estimate may have its own rate ``gen_sr``
    (F0 frames are in milliseconds). Returns the dict of :func:`f0_frame_error`. Raises
    :class:`~spatialeval.errors.TooShortError` for a clip shorter than three periods of ``f0_floor``
    (42 ms by default).

    Example:
        >>> sr = 16000
        >>> t = np.arange(sr) / sr
        >>> ffe(np.sin(2 * np.pi * 150 * t), np.sin(2 * np.pi * 150 * t), sr)["ffe"]
        0.0
        >>> round(ffe(np.sin(2 * np.pi * 150 * t), np.sin(2 * np.pi * 200 * t), sr)["gpe"], 1)
        1.0
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {alignment!r}; choose one of {', '.join(ALIGNMENTS)}")
    gen_sr = int(sr if gen_sr is None else gen_sr)
    settings = dict(method=method, frame_period_ms=frame_period_ms, f0_floor=f0_floor, f0_ceil=f0_ceil)
    gt_mono, gen_mono = _mono(gt_wave), _mono(gen_wave)
    shortest = MIN_PERIODS / float(f0_floor)  # WORLD needs a few periods of the lowest F0 to decide voicing
    for name, wave, rate in (("ground truth", gt_mono, sr), ("generated", gen_mono, gen_sr)):
        if wave.size < shortest * rate:
            raise TooShortError(
                f"the {name} clip is {1000 * wave.size / rate:.0f} ms long; F0 analysis needs at "
                f"least {1000 * shortest:.0f} ms ({MIN_PERIODS} periods of f0_floor {f0_floor:g} Hz)"
            )
    f0_ref = f0_contour(gt_mono, sr, **settings)
    f0_gen = f0_contour(gen_mono, gen_sr, **settings)
    if alignment == "nearest":
        aligned = align_nearest(f0_gen, f0_ref.size, frame_period_ms)
    else:
        if gen_sr != sr:
            raise ValueError("dtw alignment needs both clips at the same sample rate; resample first")
        hop = sr * frame_period_ms / 1000.0
        if abs(hop - round(hop)) > 1e-9:
            raise ValueError(f"dtw alignment needs a frame period that is a whole number of samples at {sr} Hz")
        hop = int(round(hop))
        features_ref = _alignment_features(gt_mono, sr, hop, f0_ref.size)
        features_gen = _alignment_features(gen_mono, sr, hop, f0_gen.size)
        aligned = align_dtw(f0_gen, features_ref, features_gen)
    return f0_frame_error(f0_ref, aligned, threshold)
