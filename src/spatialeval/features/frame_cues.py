"""Frame-level binaural cues, computed in bounded memory: GCC-PHAT ITD, interaural coherence, band ILD, IACC.

Everything here is a pure function of arrays and a sample rate; no model, no download.

Conventions
-----------
* A binaural signal is a ``(time, 2)`` array (numpy or torch), channel 0 = left ear,
  channel 1 = right ear. A ``(2, time)`` array is rejected, not transposed: a shape that
  could be read two ways is an error (:func:`as_binaural`).
* **Sign:** every interaural cue is *positive when the source is on the left*: ITD > 0
  when the sound reaches the left ear first, ILD > 0 when the left ear is louder.
* **Energy gate:** frame-based cues use only frames whose mean power (both ears, DC
  removed) is within ``gate_db`` (default 40 dB) of the loudest frame and above
  −100 dBFS; other frames are NaN, so pauses, digital silence and DC never contribute.
* **Streaming:** :func:`analyze_binaural` reads the clip in blocks of ``block_seconds``
  (resampling each block with ``scipy.signal.resample_poly``, bit-identical to resampling
  the whole clip) and keeps only per-frame scalars and band powers, so peak memory is set
  by the block length, not by the clip length.
* **Determinism:** no BLAS call (matrix products, ``np.dot``) is used; sums are numpy
  reductions and FFTs are numpy's pocketfft, so results do not depend on thread counts.

Raises :class:`CueError` (a ``ValueError``) for malformed input: wrong shape or layout,
NaN/inf samples, a clip too short for one analysis frame, a bad sample rate. Valid but
degenerate audio (silence, one silent ear, DC) does not raise: the affected frames are
NaN and the metrics built on them say why they cannot be measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spatialeval.features.streaming import (
    Framer,
    LagSums,
    next_pow2,
    polyphase_output_length,
    resampled_blocks,
)
from spatialeval.io.audio import all_finite

GATE_DB = 40.0
ABSOLUTE_FLOOR_DB = -100.0  # dBFS mean power below which a frame counts as silence
PHAT_FLOOR_DB = 60.0  # GCC-PHAT ignores bins this far below the frame's strongest cross-power bin
BAND_FLOOR_DB = 60.0  # band ILD is NaN for bands this far below the strongest band
MAX_ILD_DB = 60.0  # per-frame band ILDs are clipped to ±this (one ear silent in a band)
ITD_FRAME_S = 0.04
ITD_HOP_S = 0.02
ILD_FRAME_S = 0.064
UPSAMPLE = 4  # GCC-PHAT correlation evaluated on a quarter-sample grid before the parabolic fit
BLOCK_SECONDS = 5.0  # audio read (and resampled) per block by the streaming analysis
FRAMES_PER_BATCH = 128  # frames transformed at once inside a block (bounds the FFT temporaries)

# Cue selection (Faller & Merimaa 2004, JASA 115(6); precedence/onset weighting): frames in which one
# direct sound dominates. A frame qualifies when its GCC-PHAT coherence is high throughout, or when it
# starts new energy (an onset: the direct sound precedes its reflections) and is at least moderately coherent.
COHERENCE_HIGH = 0.8
COHERENCE_ONSET = 0.3
ONSET_DB = 3.0  # power rise over the loudest of the previous ONSET_FRAMES frames
ONSET_FRAMES = 3

__all__ = [
    "ABSOLUTE_FLOOR_DB",
    "BLOCK_SECONDS",
    "COHERENCE_HIGH",
    "COHERENCE_ONSET",
    "DEFAULT_BANDS",
    "GATE_DB",
    "ILD_FRAME_S",
    "ITD_FRAME_S",
    "ITD_HOP_S",
    "ONSET_DB",
    "ClipAnalysis",
    "CueError",
    "analyze_binaural",
    "as_binaural",
    "band_bins",
    "band_ild",
    "band_sums",
    "energy_gate",
    "iacc",
    "iacc_from_sums",
    "itd_gcc_phat",
    "onset_db",
    "select_direct_frames",
    "third_octave_bands",
    "weighted_band_ild",
]


class CueError(ValueError):
    """Input on which binaural cues cannot be computed at all (wrong shape or layout, non-finite, too short)."""


# --------------------------------------------------------------------------- input validation


def as_binaural(binaural, sr: int | None = None, *, min_seconds: float = 0.0, name: str = "binaural signal"):
    """Validate a ``(time, 2)`` binaural signal; return it as a numpy array (no copy when already numpy float).

    Accepts numpy arrays and torch tensors (moved to the CPU). Raises :class:`CueError` for
    a 1-D (mono) signal, a ``(2, time)`` or any other layout than ``(time, 2)``, an empty or
    non-finite signal, and — when ``sr`` is given — one shorter than ``min_seconds``.

    >>> as_binaural(np.zeros((5, 2))).shape
    (5, 2)
    >>> as_binaural(np.zeros((2, 5)))
    Traceback (most recent call last):
    ...
    spatialeval.features.frame_cues.CueError: binaural signal has shape (2, 5), which looks like (channels, time); expected (time, 2): pass array.T
    """
    if hasattr(binaural, "detach") and hasattr(binaural, "cpu"):  # a torch tensor, without importing torch
        binaural = binaural.detach().cpu().numpy()
    array = np.asarray(binaural)
    if array.dtype.kind not in "fiu":
        raise CueError(f"{name} must be a real-valued numeric array, got dtype {array.dtype}")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    if array.ndim == 1:
        raise CueError(f"{name} is mono (1-D, {array.shape[0]} samples); expected a binaural (time, 2) array")
    if array.ndim != 2 or array.shape[1] != 2:
        if array.ndim == 2 and array.shape[0] == 2:
            raise CueError(
                f"{name} has shape {array.shape}, which looks like (channels, time); expected (time, 2): pass array.T"
            )
        raise CueError(
            f"{name} has shape {array.shape}; expected a binaural (time, 2) array "
            "(channel 0 = left ear, channel 1 = right ear)"
        )
    if array.shape[0] == 0:
        raise CueError(f"{name} has no samples")
    if sr is not None and array.shape[0] < min_seconds * sr:
        raise CueError(
            f"{name} is {array.shape[0] / sr:.3f} s long; the binaural cues need at least "
            f"{min_seconds:.3f} s (one analysis frame)"
        )
    if not all_finite(array):  # in row blocks: no (time, 2) boolean temporary for a long clip
        raise CueError(f"{name} contains NaN or infinite samples")
    return array


def _check_rate(sr, what: str = "sample rate") -> int:
    rate = int(sr)
    if rate <= 0 or rate != sr:
        raise CueError(f"{what} must be a positive integer, got {sr}")
    return rate


# --------------------------------------------------------------------------- bands


def third_octave_bands(fmin: float = 200.0, fmax: float = 12500.0) -> np.ndarray:
    """Base-2 third-octave bands ``(n, 2)`` (lower, upper edge in Hz) overlapping [fmin, fmax].

    Centres are 1 kHz·2^(k/3), edges centre·2^(∓1/6). The default gives the 19 bands
    centred 198 Hz … 12.7 kHz.

    >>> bands = third_octave_bands()
    >>> len(bands), round(float(np.sqrt(bands[7].prod()))), np.round(bands[[0, -1]]).tolist()
    (19, 1000, [[177.0, 223.0], [11314.0, 14254.0]])
    """
    if not 0 < fmin < fmax:
        raise CueError(f"need 0 < fmin < fmax, got {fmin} and {fmax}")
    first = math.floor(3 * math.log2(fmin / 1000.0) - 0.5) + 1
    last = math.ceil(3 * math.log2(fmax / 1000.0) + 0.5) - 1
    centres = 1000.0 * 2.0 ** (np.arange(first, last + 1) / 3.0)
    return np.stack([centres * 2.0 ** (-1 / 6), centres * 2.0 ** (1 / 6)], axis=1)


DEFAULT_BANDS = third_octave_bands()


def _check_bands(bands) -> np.ndarray:
    bands = DEFAULT_BANDS if bands is None else np.asarray(bands, dtype=np.float64)
    if bands.ndim != 2 or bands.shape[1] != 2 or np.any(bands[:, 0] >= bands[:, 1]) or np.any(bands[:, 0] < 0):
        raise CueError(
            f"bands must be an (n, 2) array of increasing (lower, upper) edges in Hz, got shape {bands.shape}"
        )
    return bands


def band_bins(bands: np.ndarray, sr: int, nfft: int, fmax: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) FFT-bin index ranges [start, stop) of each band, and a mask of bands usable below ``fmax``."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    limit = min(sr / 2.0, fmax) if fmax is not None else sr / 2.0
    starts = np.searchsorted(freqs, bands[:, 0], side="left")
    stops = np.searchsorted(freqs, bands[:, 1], side="left")
    usable = (bands[:, 1] <= limit * (1 + 1e-9)) & (stops > starts)
    return np.stack([starts, stops], axis=1), usable


def band_sums(power: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Sum ``power`` (frames, bins, ...) over each band's contiguous bin range → (frames, bands, ...).

    A plain numpy reduction per band (no matrix product): the result does not depend on BLAS threads.
    """
    out = np.zeros((power.shape[0], len(ranges), *power.shape[2:]))
    for index, (start, stop) in enumerate(ranges):
        if stop > start:
            out[:, index] = power[:, start:stop].sum(axis=1)
    return out


def _band_sums_time_major(power: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """:func:`band_sums` of ``power`` laid out (bins, frames, 2) → (frames, bands, 2), with the same values.

    Each band is summed bin after bin over contiguous rows of frames × 2 values: the additions
    are those of :func:`band_sums` in the same order, without its two-value inner loops.
    """
    out = np.zeros((power.shape[1], len(ranges), *power.shape[2:]))
    for index, (start, stop) in enumerate(ranges):
        if stop > start:
            out[:, index] = power[start:stop].sum(axis=0)
    return out


def _frame_means(frames: np.ndarray) -> np.ndarray:
    """Mean over each frame's samples of time-major frames (length, frames, 2) → (frames, 2).

    ``frames.mean(axis=1)`` of the frames-first layout adds sample after sample too, and
    divides by the same count: the values are the same.
    """
    return np.add.reduce(frames, axis=0) / frames.shape[0]


def _gcc_phat(cross: np.ndarray, keep_band: np.ndarray, max_lag: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-sample GCC-PHAT peak lag (samples, positive = right ear late) and coherence per row; NaN/0 without bins.

    ``cross`` is R(f)·L*(f) per frame (frames, bins). Coherence is the peak height of the
    phase-transform correlation normalised so that a pure delay gives 1: the mean over the
    kept bins of cos(phase error at the peak lag).
    """
    magnitude = np.abs(cross)
    keep = keep_band[None, :] & (magnitude > magnitude.max(axis=1, keepdims=True) * 10.0 ** (-PHAT_FLOOR_DB / 10.0))
    keep &= magnitude > 0
    weighted = np.where(keep, cross / np.where(magnitude > 0, magnitude, 1.0), 0.0)
    # Zero-padding the spectrum by UPSAMPLE evaluates the band-limited correlation on a 1/UPSAMPLE-sample
    # grid; the parabola then refines within one fine step (parabolic fitting alone on the coarse grid is
    # biased by up to ~0.12 sample for white signals).
    size = nfft * UPSAMPLE
    correlation = np.fft.irfft(weighted, size, axis=1)
    span = max_lag * UPSAMPLE + 1  # one extra lag each side so the parabola can be fitted at the limits
    lags = np.concatenate([correlation[:, -span:], correlation[:, : span + 1]], axis=1)  # lag −span … span
    inner = lags[:, 1:-1]
    best = np.argmax(inner, axis=1)
    rows = np.arange(lags.shape[0])
    y0, y1, y2 = lags[rows, best], lags[rows, best + 1], lags[rows, best + 2]
    denominator = y0 - 2.0 * y1 + y2
    offset = np.where(np.abs(denominator) > 1e-12, 0.5 * (y0 - y2) / np.where(denominator == 0, 1.0, denominator), 0.0)
    offset = np.clip(offset, -0.5, 0.5)
    lag = np.clip((best - (span - 1) + offset) / UPSAMPLE, -max_lag, max_lag)
    kept = keep.sum(axis=1)
    norm = 2.0 * kept - keep[:, 0]  # irfft counts every kept bin twice except DC
    coherence = np.clip(y1 * size / np.where(norm > 0, norm, 1.0), 0.0, 1.0)
    lag = np.where(kept > 0, lag, np.nan)
    return lag.astype(np.float64), np.where(kept > 0, coherence, 0.0)


@dataclass
class ClipAnalysis:
    """Per-frame cues of one binaural clip, as kept by :func:`analyze_binaural` (no spectra).

    ITD frames (``frame_s``/``hop_s``, Hann): ``power`` (n, 2) mean-square per ear after DC
    removal, ``itd_s`` (n,) GCC-PHAT ITD (NaN when no bin survives), ``coherence`` (n,)
    GCC-PHAT peak height in [0, 1], ``band_power`` (n, bands, 2) band powers of the same
    frames. ILD frames (``ild_frame_s``, 50 % overlap, Hann): ``ild_power`` (m, 2) and
    ``ild_band_power`` (m, bands, 2). Whole clip, its mean (DC) removed: ``xcorr`` (2K+1,)
    Σ l(t)·r(t+τ) for τ = −K…K samples and ``energy`` (2,) Σ l², Σ r². Arrays not requested
    are empty.
    """

    sample_rate: int
    samples: int
    bands: np.ndarray
    band_usable: np.ndarray  # bands below fmax that contain an FFT bin (ITD frames' resolution)
    ild_band_usable: np.ndarray  # the same for the ILD frames' resolution
    max_lag: int
    power: np.ndarray
    itd_s: np.ndarray
    coherence: np.ndarray
    band_power: np.ndarray
    ild_power: np.ndarray
    ild_band_power: np.ndarray
    xcorr: np.ndarray
    energy: np.ndarray
    #: ``extra_ild_bands`` of :func:`analyze_binaural`: their band powers on the ILD frames (m, extra bands, 2)
    #: and which are usable (empty when none were asked for)
    extra_ild_band_power: np.ndarray | None = None
    extra_ild_band_usable: np.ndarray | None = None

    @property
    def seconds(self) -> float:
        return self.samples / float(self.sample_rate)


def analyze_binaural(
    binaural,
    sr: int,
    *,
    analysis_rate: int | None = None,
    fmax: float | None = None,
    fmin: float = 0.0,
    max_itd_s: float = 0.001,
    bands=None,
    frame_s: float = ITD_FRAME_S,
    hop_s: float = ITD_HOP_S,
    ild_frame_s: float = ILD_FRAME_S,
    block_seconds: float = BLOCK_SECONDS,
    itd: bool = True,
    ild: bool = True,
    xcorr: bool = True,
    extra_ild_bands=None,
    name: str = "binaural signal",
) -> ClipAnalysis:
    """One streaming pass over a ``(time, 2)`` clip computing every per-frame cue the metrics need.

    The clip (any float dtype; a numpy memmap works) is read in blocks of
    ``block_seconds``, each resampled from ``sr`` to ``analysis_rate`` (default ``sr``) and
    cut into frames; per frame only scalars and band powers are kept (about 0.5 KB per
    20 ms of audio), so working memory is bounded by the block length. See :class:`ClipAnalysis` for
    what is returned and :func:`itd_gcc_phat`, :func:`band_ild`, :func:`iacc` for the
    definitions of each cue. ``extra_ild_bands`` (another (n, 2) band set) adds their band powers
    on the same ILD frames (``extra_ild_band_power``), as a second call with ``bands=extra_ild_bands``
    would give them, without resampling and transforming the clip again.

    >>> sr = 16000
    >>> noise = np.random.default_rng(0).standard_normal((sr, 2))
    >>> a = analyze_binaural(noise, sr)
    >>> a.itd_s.shape, a.band_power.shape, a.xcorr.shape
    ((49,), (49, 19, 2), (33,))
    """
    sr = _check_rate(sr)
    rate = sr if analysis_rate is None else _check_rate(analysis_rate, "analysis rate")
    bands = _check_bands(bands)
    length = max(4, int(round(frame_s * rate)))
    hop = max(1, int(round(hop_s * rate)))
    ild_length = max(8, int(round(ild_frame_s * rate)))
    max_lag = max(1, int(math.ceil(max_itd_s * rate)))
    if itd and max_lag >= length // 2:
        raise CueError(f"frame of {frame_s * 1000:.1f} ms is too short for a ±{max_itd_s * 1e3:.2f} ms ITD search")
    need = max(length if itd else 0, ild_length if ild else 0, 1) / rate
    x = as_binaural(binaural, sr, min_seconds=need * (1 - 1e-9), name=name)

    nfft = next_pow2(2 * length)
    window = np.hanning(length)
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
    keep_band = (freqs >= fmin) & (freqs <= (fmax if fmax is not None else rate / 2.0))
    ranges, usable = band_bins(bands, rate, nfft, fmax)
    ild_nfft = next_pow2(ild_length)
    ild_window = np.hanning(ild_length)
    ild_ranges, ild_usable = band_bins(bands, rate, ild_nfft, fmax)
    extra = _check_bands(extra_ild_bands) if extra_ild_bands is not None else np.zeros((0, 2))
    extra_ranges, extra_usable = band_bins(extra, rate, ild_nfft, fmax)

    # Frames time-major (length, frames, 2): the per-frame sums run over rows of frames × 2 values.
    itd_framer = Framer(length, hop, time_major=True)
    ild_framer = Framer(ild_length, max(1, ild_length // 2), time_major=True)
    # Frame counts are known up front: per-frame results go straight into preallocated arrays
    # (no lists to concatenate, which would double the memory of a long clip at the end).
    n_out = polyphase_output_length(x.shape[0], rate, sr)
    n_itd = (n_out - length) // hop + 1 if itd else 0
    n_ild = (n_out - ild_length) // max(1, ild_length // 2) + 1 if ild else 0
    n_bands = len(bands)
    out = {
        "power": np.zeros((n_itd, 2)),
        "itd": np.zeros(n_itd),
        "coherence": np.zeros(n_itd),
        "band": np.zeros((n_itd, n_bands, 2)),
        "ild_power": np.zeros((n_ild, 2)),
        "ild_band": np.zeros((n_ild, n_bands, 2)),
        "extra_band": np.zeros((n_ild, len(extra), 2)),
    }
    done = {"itd": 0, "ild": 0}
    lagged = LagSums(max_lag)
    total = 0

    block_out = max(int(round(block_seconds * rate)), length, ild_length)
    for block in resampled_blocks(x, sr, rate, block_out):
        total += block.shape[0]
        if itd:
            frames = itd_framer.push(block)  # (length, frames, 2)
            for start in range(0, frames.shape[1], FRAMES_PER_BATCH):
                batch = frames[:, start : start + FRAMES_PER_BATCH]
                batch = batch - _frame_means(batch)  # DC carries no interaural information
                rows = slice(done["itd"], done["itd"] + batch.shape[1])
                out["power"][rows] = _frame_means(batch**2)
                spectra = np.fft.rfft(batch * window[:, None, None], nfft, axis=0)  # (bins, frames, 2)
                cross = np.ascontiguousarray((spectra[:, :, 1] * np.conj(spectra[:, :, 0])).T)
                lag, coherence = _gcc_phat(cross, keep_band, max_lag, nfft)
                out["itd"][rows] = np.clip(lag / rate, -max_itd_s, max_itd_s)
                out["coherence"][rows] = coherence
                out["band"][rows] = _band_sums_time_major(spectra.real**2 + spectra.imag**2, ranges)
                done["itd"] += batch.shape[1]
        if ild:
            frames = ild_framer.push(block)  # (length, frames, 2)
            for start in range(0, frames.shape[1], FRAMES_PER_BATCH):
                batch = frames[:, start : start + FRAMES_PER_BATCH]
                batch = batch - _frame_means(batch)
                rows = slice(done["ild"], done["ild"] + batch.shape[1])
                out["ild_power"][rows] = _frame_means(batch**2)
                spectra = np.fft.rfft(batch * ild_window[:, None, None], ild_nfft, axis=0)
                power = spectra.real**2 + spectra.imag**2
                out["ild_band"][rows] = _band_sums_time_major(power, ild_ranges)
                if len(extra):
                    out["extra_band"][rows] = _band_sums_time_major(power, extra_ranges)
                done["ild"] += batch.shape[1]
        if xcorr:
            lagged.push(block)
    if xcorr:
        lagged.finish()

    assert total == n_out and done["itd"] == n_itd and done["ild"] == n_ild, "frame bookkeeping"
    centred = lagged.centred() if xcorr else (np.zeros(0), np.zeros(0))
    return ClipAnalysis(
        sample_rate=rate,
        samples=total,
        bands=bands,
        band_usable=usable,
        ild_band_usable=ild_usable,
        max_lag=max_lag,
        power=out["power"],
        itd_s=out["itd"],
        coherence=out["coherence"],
        band_power=out["band"],
        ild_power=out["ild_power"],
        ild_band_power=out["ild_band"],
        xcorr=centred[0],
        energy=centred[1],
        extra_ild_band_power=out["extra_band"],
        extra_ild_band_usable=extra_usable,
    )


# --------------------------------------------------------------------------- gates and selection


def energy_gate(power: np.ndarray, gate_db: float = GATE_DB) -> np.ndarray:
    """Frames whose mean power over both ears is within ``gate_db`` of the loudest frame and above −100 dBFS.

    ``power`` is (frames, 2) as in :class:`ClipAnalysis`.

    >>> energy_gate(np.array([[1.0, 1.0], [1e-3, 1e-3], [1e-5, 1e-5], [0.0, 0.0]])).tolist()
    [True, True, False, False]
    """
    mean = power.mean(axis=1) if power.ndim == 2 else power
    peak = float(mean.max()) if mean.size else 0.0
    floor = max(peak * 10.0 ** (-gate_db / 10.0), 10.0 ** (ABSOLUTE_FLOOR_DB / 10.0))
    return (mean >= floor) & (mean > 0)


def onset_db(power: np.ndarray, previous: int = ONSET_FRAMES) -> np.ndarray:
    """Power rise (dB) of each frame over the loudest of the ``previous`` frames before it (+inf at the start).

    >>> onset_db(np.array([1.0, 1.0, 4.0, 1.0])).round(2).tolist()
    [inf, 0.0, 6.02, -6.02]
    """
    mean = power.mean(axis=1) if power.ndim == 2 else np.asarray(power, dtype=np.float64)
    before = np.zeros_like(mean)
    for shift in range(1, previous + 1):
        before[shift:] = np.maximum(before[shift:], mean[:-shift])
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = 10.0 * np.log10(mean / before)
    return np.where(before > 0, rise, np.where(mean > 0, np.inf, -np.inf))


def select_direct_frames(
    analysis: ClipAnalysis,
    gate_db: float = GATE_DB,
    *,
    coherence_high: float = COHERENCE_HIGH,
    coherence_onset: float = COHERENCE_ONSET,
    onset_threshold_db: float = ONSET_DB,
) -> np.ndarray:
    """Frames dominated by one direct sound: the cue selection used for the direction estimate.

    Following Faller & Merimaa (2004), interaural cues are trusted only where the
    interaural coherence shows a single dominant source; following the precedence effect,
    onsets (where the direct sound arrives before its reflections) are favoured. A frame
    is selected when it passes the energy gate, has a finite ITD, and either

    * its GCC-PHAT coherence is ≥ ``coherence_high`` (0.8: the phases of all bins agree with
      one delay), or
    * its power rose ≥ ``onset_threshold_db`` (3 dB) over the loudest of the previous three
      frames (60 ms) and its coherence is ≥ ``coherence_onset`` (0.3).

    In anechoic speech nearly every voiced frame qualifies; under reverberation mostly
    onsets do.

    >>> sr = 16000
    >>> noise = np.random.default_rng(0).standard_normal(sr)
    >>> coherent = analyze_binaural(np.stack([noise, np.roll(noise, 3)], axis=1), sr)
    >>> bool(select_direct_frames(coherent).all())
    True
    >>> diffuse = analyze_binaural(np.random.default_rng(1).standard_normal((sr, 2)), sr)
    >>> int(select_direct_frames(diffuse).sum())          # independent noise in each ear: no direct sound
    0
    """
    active = energy_gate(analysis.power, gate_db) & np.isfinite(analysis.itd_s)
    coherence = analysis.coherence
    onset = onset_db(analysis.power)
    return active & ((coherence >= coherence_high) | ((onset >= onset_threshold_db) & (coherence >= coherence_onset)))


def weighted_band_ild(band_power: np.ndarray, usable: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Energy-weighted band ILD (dB) over the chosen frames; NaN for unusable or (relatively) empty bands.

        ILD_b = Σ_t w_tb · clip(10·log10(P_L(t,b) / P_R(t,b)), ±60 dB) / Σ_t w_tb,   w_tb = P_L + P_R

    A band is NaN when it is not ``usable`` or carries less than 10⁻⁶ of the energy of the
    strongest band over the chosen frames.
    """
    result = np.full(band_power.shape[1], np.nan)
    chosen = band_power[frames]
    if chosen.shape[0] == 0:
        return result
    p_left, p_right = chosen[:, :, 0], chosen[:, :, 1]
    weight = p_left + p_right
    total = weight.sum(axis=0)
    good = usable & (total > 0)
    good &= total > total[good].max(initial=0.0) * 10.0 ** (-BAND_FLOOR_DB / 10.0)
    if not good.any():
        return result
    with np.errstate(divide="ignore", invalid="ignore"):
        ild = 10.0 * np.log10(p_left / p_right)
    ild = np.clip(np.nan_to_num(ild, nan=0.0, posinf=MAX_ILD_DB, neginf=-MAX_ILD_DB), -MAX_ILD_DB, MAX_ILD_DB)
    result[good] = (weight[:, good] * ild[:, good]).sum(axis=0) / total[good]
    return result


# --------------------------------------------------------------------------- public cue functions


def itd_gcc_phat(
    binaural,
    sr: int,
    frame_s: float = ITD_FRAME_S,
    hop_s: float = ITD_HOP_S,
    max_itd_s: float = 0.001,
    *,
    gate_db: float = GATE_DB,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """Per-frame interaural time difference (seconds) by GCC-PHAT with parabolic peak interpolation.

    For each Hann-windowed frame (DC removed), with spectra ``L(f)``, ``R(f)`` (zero-padded
    to avoid circular wrap), the phase transform cross-correlation is

        r(τ) = IFFT[ R(f)·L*(f) / |R(f)·L*(f)| ](τ),      |τ| ≤ max_itd_s,

    and ITD = argmax r(τ) refined by the vertex of the parabola through the peak and its
    two neighbours: ``δ = ½ (r₋ − r₊) / (r₋ − 2r₀ + r₊)``; r is evaluated on a quarter-sample
    grid (spectrum zero-padded ×4) before the fit, which keeps the fit's bias below ~0.01
    sample. Only bins in ``[fmin, fmax]`` (default up to Nyquist) whose cross-power is within
    60 dB of the frame's strongest bin are used, so band-limited or upsampled audio does not
    feed random phases into the transform. **Sign:** positive when the right ear lags, i.e.
    the sound reaches the *left* ear first (source on the left). Frames failing the energy
    gate, or with an ear silent, are NaN.

    >>> sr = 16000
    >>> noise = np.random.default_rng(0).standard_normal(sr)
    >>> left_first = np.stack([noise, np.roll(noise, 5)], axis=1)   # right ear 5 samples late
    >>> itd = itd_gcc_phat(left_first, sr)
    >>> round(float(np.nanmedian(itd)) * 1e6, 1)                    # 5 / 16000 s
    312.5
    """
    analysis = analyze_binaural(
        binaural, sr, fmax=fmax, fmin=fmin, max_itd_s=max_itd_s, frame_s=frame_s, hop_s=hop_s, ild=False, xcorr=False
    )
    return np.where(energy_gate(analysis.power, gate_db), analysis.itd_s, np.nan)


def median_itd_us(itd_s: np.ndarray) -> float:
    """Median of the measured frames of an ITD track (seconds, NaN = not measured), in µs; NaN when none is."""
    return float(np.nanmedian(itd_s)) * 1e6 if np.isfinite(itd_s).any() else math.nan


def band_ild(
    binaural, sr: int, bands=None, *, frame_s: float = ILD_FRAME_S, gate_db: float = GATE_DB, fmax: float | None = None
) -> np.ndarray:
    """Per-band interaural level difference (dB), energy-weighted over time; NaN for unusable bands.

    An STFT (Hann, ``frame_s`` ≈ 64 ms frames, 50 % overlap, FFT size the next power of two,
    DC removed per frame) gives per-frame band powers ``P_L(t,b)``, ``P_R(t,b)`` (sums of |X|²
    over the bins of band ``b``; default: 19 third-octave bands, 198 Hz – 12.7 kHz, see
    :func:`third_octave_bands`). Over the frames passing the energy gate,

        ILD_b = Σ_t w_tb · ILD_tb / Σ_t w_tb,   ILD_tb = 10·log10(P_L(t,b) / P_R(t,b)),   w_tb = P_L + P_R,

    so loud frames dominate; ILD_tb is clipped to ±60 dB (an ear silent in that band).
    Positive = left ear louder. A band is NaN when it lies above ``fmax`` (default Nyquist),
    contains no FFT bin, or carries less than 10⁻⁶ (−60 dB) of the energy of the strongest band.

    >>> sr = 16000
    >>> noise = np.random.default_rng(1).standard_normal(sr)
    >>> louder_left = np.stack([2.0 * noise, noise], axis=1)        # +6.02 dB on the left
    >>> ild = band_ild(louder_left, sr)
    >>> bool(np.allclose(ild[np.isfinite(ild)], 20 * np.log10(2.0)))
    True
    >>> int(np.isnan(ild).sum())      # bands above 8 kHz do not exist at 16 kHz
    3
    """
    analysis = analyze_binaural(binaural, sr, fmax=fmax, bands=bands, ild_frame_s=frame_s, itd=False, xcorr=False)
    frames = energy_gate(analysis.ild_power, gate_db)
    return weighted_band_ild(analysis.ild_band_power, analysis.ild_band_usable, frames)


def iacc_from_sums(xcorr: np.ndarray, energy: np.ndarray) -> float:
    """max_τ |Σ l(t)·r(t+τ)| / sqrt(Σ l² · Σ r²), capped at 1; NaN when an ear is silent."""
    norm = math.sqrt(float(energy[0]) * float(energy[1]))
    if norm == 0.0:
        return float("nan")
    return min(1.0, float(np.max(np.abs(xcorr))) / norm)


def iacc(
    binaural, sr: int, max_lag_s: float = 0.001, *, frame_s: float | None = None, gate_db: float = GATE_DB
) -> float | np.ndarray:
    """Interaural cross-correlation coefficient: the largest |normalised cross-correlation| within ±max_lag_s.

        IACC = max_{|τ| ≤ max_lag_s} | Σ_t l(t)·r(t+τ) | / sqrt(Σ_t l(t)² · Σ_t r(t)²)

    (ISO 3382-style, absolute value, FFT correlation accumulated block by block; the clip's
    mean is removed first, as a DC offset carries no interaural information). With
    ``frame_s=None`` the whole clip is one window and a float is returned (NaN when an ear
    is silent: the coefficient is 0/0); with ``frame_s`` set, unwindowed rectangular frames
    of that length with 50 % overlap give an array, NaN for frames that fail the energy
    gate or have a silent ear. 1 for identical ears, near 0 for independent noise in each ear.

    >>> noise = np.random.default_rng(2).standard_normal((16000, 2))
    >>> round(iacc(np.stack([noise[:, 0], noise[:, 0]], axis=1), 16000), 9)
    1.0
    >>> iacc(noise, 16000) < 0.1
    True
    """
    sr = _check_rate(sr)
    max_lag = max(0, int(math.floor(max_lag_s * sr)))
    if frame_s is None:
        x = as_binaural(binaural, sr, min_seconds=ITD_FRAME_S)  # like every cue: at least one 40-ms frame
        analysis = analyze_binaural(x, sr, max_itd_s=max(max_lag, 1) / sr, itd=False, ild=False)
        half = analysis.max_lag - max_lag
        return iacc_from_sums(analysis.xcorr[half : analysis.xcorr.size - half], analysis.energy)
    length = max(2 * max_lag + 2, int(round(frame_s * sr)))
    x = as_binaural(binaural, sr, min_seconds=length / sr * (1 - 1e-9))
    framer = Framer(length, max(1, length // 2))
    nfft = next_pow2(length + max_lag + 1)
    powers, values = [], []
    for block in resampled_blocks(x, sr, sr, max(int(BLOCK_SECONDS * sr), length)):
        frames = framer.push(block)
        for start in range(0, frames.shape[0], FRAMES_PER_BATCH):
            batch = frames[start : start + FRAMES_PER_BATCH]
            spectra = np.fft.rfft(batch, nfft, axis=1)
            correlation = np.fft.irfft(spectra[:, :, 1] * np.conj(spectra[:, :, 0]), nfft, axis=1)
            lags = np.concatenate(
                [correlation[:, nfft - max_lag :] if max_lag else correlation[:, :0], correlation[:, : max_lag + 1]],
                axis=1,
            )
            energy = np.sum(batch**2, axis=1)
            norm = np.sqrt(energy[:, 0] * energy[:, 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                values.append(np.where(norm > 0, np.minimum(1.0, np.max(np.abs(lags), axis=1) / norm), np.nan))
            centred = batch - batch.mean(axis=1, keepdims=True)
            powers.append(np.mean(centred**2, axis=1))
    power = np.concatenate(powers) if powers else np.zeros((0, 2))
    value = np.concatenate(values) if values else np.zeros(0)
    return np.where(energy_gate(power, gate_db), value, np.nan)
