"""BEWO's ITD evaluation (Sun et al., ICLR 2025, "Both Ears Wide Open"), GCC mode, as its released code computes it.

Re-implemented from reading PeiwenSun2000/Both-Ears-Wide-Open ``evaluations/`` and the
StereoCRW code it runs (IFICL/stereocrw ``vis_scripts/vis_functs.py`` ``gcc_phat``):

* **audio**: read as float64, resampled to 16 kHz with ``scipy.signal.resample`` (FFT method) to
  ``int(n / sr · 16000)`` samples when the rate differs, then float32 (``torch.float``);
* **frames**: a fixed 100 frames at 10 frames/s (``SingleVideoDataset`` of BEWO's copy: BEWO's
  clips are 10 s). Frame i takes 0.24 s + 512 samples = 4352 samples starting at
  ``int((i/10 − 0.12) · 16000)``, shifted to start at 0 or end at the clip's end when it would
  leave the clip — so frames past the end of a shorter clip all repeat its last window;
* **per-frame ITD**: 513 patches of 3840 samples (hop 1 sample) in the window; per patch
  GCC-PHAT: R = FFT₇₆₈₀(left)·conj(FFT₇₆₈₀(right)), cc = IFFT(R / (|R| + 1e-20)); lags
  −24…+24 samples (±1.5 ms); shift = argmax |cc| (first maximum) − 24; ITD = −shift / 16000;
  the frame's ITD is the mean over its patches, in ms. Positive = the right ear lags (left leads);
* **per clip**: the mean over the 100 frames (``cal_avg_mean_itd.py``);
* **ITD MSE**: 1000 · mean over clips of (m_gt − m_gen)² in ms² — here per clip
  1000 · (m_gt − m_gen)², whose mean over the set is the released number;
* **"KL"** (:func:`bewo_released_kl`): see there — it does not compare the two sets.

A patch whose cross-spectrum is all zero (digital silence in an ear) has cc ≡ 0; the released
argmax then picks lag −24 and reports +1.5 ms. That is kept (the published numbers contain it),
counted per clip in ``empty_patch_frames``; a clip silent in either ear throughout is not measured.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

RATE = 16000
FRAME_RATE = 10
FRAMES = 100
CLIP_S = 0.24
PATCHES = 512  # the released --patch_num; unfold yields one more (513)
PATCH = 3840  # --gcc_fft: 0.24 s at 16 kHz
MAX_DELAY_S = 1.5e-3
MAX_SHIFT = int(RATE * MAX_DELAY_S)  # 24 samples
WINDOW = int(CLIP_S * RATE + PATCHES * 1)  # 4352 samples per frame
PHAT_FLOOR = 1e-20


class TooShortForBEWO(ValueError):
    """The clip is shorter than one frame window (4352 samples at 16 kHz)."""


def to_bewo_rate(binaural, sr: int) -> np.ndarray:
    """(2, n) float32 at 16 kHz as the released loader makes it: float64 ``scipy.signal.resample`` to
    ``int(n / sr · 16000)`` samples when ``sr`` differs, then float32.

    >>> to_bewo_rate(np.ones((32000, 2)), 32000).shape, to_bewo_rate(np.ones((16000, 2)), 16000).dtype
    ((2, 16000), dtype('float32'))
    """
    x = np.asarray(binaural, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected a binaural array of shape (time, 2), got {x.shape}")
    if int(sr) != RATE:
        x = scipy.signal.resample(x, int(x.shape[0] / sr * RATE), axis=0)
    return np.ascontiguousarray(x.T, dtype=np.float32)


def frame_starts(n_samples: int, frames: int = FRAMES, window: int = WINDOW) -> np.ndarray:
    """First sample of each frame's ``window``-sample window (4352: 0.24 s + 512 patches of hop 1), as the
    released ``__getitem__`` places it.

    The start is ``int((i / 10 − 0.24 / 2) · 16000)`` (float arithmetic and truncation kept:
    frame 14 starts at 20479, not 20480), moved to 0 or to ``n − 4352`` at the clip's edges.

    >>> frame_starts(16000, 5).tolist(), frame_starts(30000, 15)[13:].tolist()
    ([0, 0, 1280, 2880, 4480], [18880, 20479])
    >>> frame_starts(5000, 3).tolist()     # past the end: the last window, repeated
    [0, 0, 648]
    """
    if n_samples < window:
        raise TooShortForBEWO(f"{n_samples} samples at 16 kHz; one BEWO frame needs {window} ({window / RATE:.3f} s)")
    starts = []
    for index in range(frames):
        start = int((index / FRAME_RATE - CLIP_S / 2) * RATE)
        start = max(start, 0)
        if start + window > n_samples:
            start = n_samples - window
        starts.append(start)
    return np.array(starts, dtype=np.int64)


def gcc_phat_frame_itd_ms(window: np.ndarray) -> tuple[float, int]:
    """(ITD in ms, number of empty patches) of one (2, 4352) float32 window, StereoCRW's ``gcc_phat`` in mean mode.

    The mean over the 513 patches of −shift / 16000 · 1000, shift the whole-sample lag in
    ±24 of the largest |GCC-PHAT| (first one on ties). Float32 FFTs, as the original's torch.

    >>> rng = np.random.default_rng(0); s = rng.normal(size=WINDOW + 8).astype(np.float32)
    >>> itd, empty = gcc_phat_frame_itd_ms(np.stack([s[:WINDOW], s[8:WINDOW + 8]]))   # right = s(t + 8): the left ear lags
    >>> round(itd, 6), empty
    (-0.5, 0)
    """
    patches = np.lib.stride_tricks.sliding_window_view(window, PATCH, axis=-1)  # (2, 513, 3840), hop 1
    n = 2 * PATCH
    left = scipy.fft.rfft(patches[0], n=n, axis=-1)
    right = scipy.fft.rfft(patches[1], n=n, axis=-1)
    cross = left * np.conj(right)
    cc = scipy.fft.irfft(cross / (np.abs(cross) + np.float32(PHAT_FLOOR)), n=n, axis=-1)
    lags = np.concatenate([cc[:, -MAX_SHIFT:], cc[:, : MAX_SHIFT + 1]], axis=-1)
    shift = np.argmax(np.abs(lags), axis=-1) - MAX_SHIFT
    itd = -shift.astype(np.float32) / np.float32(RATE)
    empty = int(np.count_nonzero(~np.any(cross != 0, axis=-1)))
    return float(np.mean(itd, dtype=np.float32)) * 1000.0, empty


def clip_itd_ms(binaural, sr: int, frames: int = FRAMES) -> dict:
    """BEWO's per-clip GCC ITD: the mean over ``frames`` frames of :func:`gcc_phat_frame_itd_ms`, in ms.

    Returns ``{"itd_ms", "frame_itds_ms", "empty_patch_frames"}``; frames that share a window
    (past a short clip's end) are computed once.

    Raises:
        TooShortForBEWO: fewer than 4352 samples at 16 kHz.
        ValueError: malformed input, or an ear silent throughout (GCC-PHAT has no peak: the
            released code would report +1.5 ms for every frame).
    """
    audio = to_bewo_rate(binaural, sr)
    starts = frame_starts(audio.shape[1], frames)
    if not np.all(np.isfinite(audio)):
        raise ValueError("NaN or infinite samples")
    for ear, name in ((0, "left"), (1, "right")):
        if not np.any(audio[ear]):
            raise ValueError(f"the {name} ear is silent: GCC-PHAT has no peak (the released code reports +1.5 ms)")
    per_start: dict[int, tuple[float, int]] = {}
    for start in dict.fromkeys(starts.tolist()):
        per_start[start] = gcc_phat_frame_itd_ms(audio[:, start : start + WINDOW])
    itds = np.array([per_start[s][0] for s in starts.tolist()])
    return {
        "itd_ms": float(np.mean(itds)),
        "frame_itds_ms": itds,
        "empty_patch_frames": int(sum(1 for s in starts.tolist() if per_start[s][1])),
    }


def bewo_itd_squared_error(gt_itd_ms: float, gen_itd_ms: float) -> float:
    """One clip's term of BEWO's "ITD MSE": 1000 · (m_gt − m_gen)² (ms², ×1000); the released number is their mean.

    >>> bewo_itd_squared_error(0.1, -0.1)
    40.00000000000001
    """
    return 1000.0 * (float(gt_itd_ms) - float(gen_itd_ms)) ** 2


def bewo_released_kl(folder1_itds_ms) -> float:
    """BEWO's printed "KL-divergence" (``cal_avg_mean_itd.py``), computed as released.

    The released script replaces folder 2's values by folder 1's mean repeated N times before
    calling its KL, so only folder 1's per-clip mean ITDs m enter: p = m / Σm (uniform when
    Σm = 0), q = 1/N; both clipped to [1e-10, 1] without renormalising; KL = Σ p·ln(p/q).
    It does **not** measure the generated set at all (any generated set gives the same value)
    and it changes with the sign convention (negative p are clipped to 1e-10, p > 1 to 1).
    Reported only to compare with published tables; spatialeval's histogram KL / W1 of the
    ITDs (``compare-sets``, ``bewo_itd_w1_us``) compare the two sets.

    >>> round(bewo_released_kl([0.2, 0.2, 0.2, 0.2]), 12)      # equal values: p = q
    0.0
    >>> # Σm = 0.1: p = [10, −10, 5, −4] clipped to [1, 1e-10, 1, 1e-10]; q = 1/4
    >>> bool(abs(bewo_released_kl([1.0, -1.0, 0.5, -0.4]) - 2 * np.log(4)) < 1e-8)
    True
    """
    m = np.asarray(folder1_itds_ms, dtype=np.float64).reshape(-1)
    if m.size == 0:
        raise ValueError("no clip")
    n = m.size
    folder2 = np.full(n, sum(m.tolist()) / n)  # the released overwrite of folder 2's values
    p, q = _released_normalize(m), _released_normalize(folder2)
    p, q = np.clip(p, 1e-10, 1.0), np.clip(q, 1e-10, 1.0)
    return float(np.sum(p * np.log(p / q)))


def _released_normalize(values: np.ndarray) -> np.ndarray:
    """values / Σvalues, or uniform when the sum is exactly 0 (signs kept: not a probability when mixed)."""
    total = np.sum(values)
    return np.ones_like(values) / values.size if total == 0 else values / total
