"""The mono-to-binaural speech table (Richard et al., ICLR 2021; BinauralGrad, DopplerBAS, BinauralFlow).

Definitions, as the released evaluations compute them on a generated clip ``x`` and its ground
truth ``y`` (both ``(2, T)`` at 48 kHz, equal lengths):

* ``wave_l2`` = mean over both channels and all samples of (x − y)²; papers print it ×10³
  (facebookresearch/BinauralSpeechSynthesis ``src/losses.py`` ``L2Loss``).
* ``amplitude_l2`` = mean over channels, bins and frames of | |X| − |Y| |, X and Y the STFTs of
  ``FourierTransform`` (``src/utils.py``): 2048-point FFT, 1920-sample (40 ms) periodic Hann
  window, hop 480 (100 frames/s), centred with reflect padding, not normalised (``AmplitudeLoss``).
* ``phase_l2`` = mean over the kept bins of π − | |θx − θy| − π |, θ = atan2(re, im) as released
  (the wrapped angular distance, in rad); a bin is kept where both |re|+|im| of Y and of X exceed
  ``ignore_below`` (0.2 in ``evaluate.py``) × the mean of |re|+|im| of Y over all bins of both
  channels (``PhaseLoss``).
* ``mrstft`` = auraloss ``MultiResolutionSTFTLoss()`` with its defaults, as BinauralGrad's
  ``metric.py`` calls it (microsoft/NeuralSpeech): the mean over (FFT, hop, window) = (1024, 120,
  600), (2048, 240, 1200), (512, 50, 240) of ‖|Y|−|X|‖_F / ‖|Y|‖_F + mean |ln|X| − ln|Y||, where
  |·| = sqrt(max(re² + im², 1e-8)) of a centred, reflect-padded Hann STFT, both channels together.
* ``pesq`` = wide-band PESQ (ITU-T P.862.2, the ``pesq`` package) of the **left channel only**,
  gt as reference, as BinauralGrad's ``metric.py`` gets it from ``speechmetrics``: each file
  resampled from its rate to 16 kHz with ``resampy`` ``kaiser_best`` (float64), the first channel
  taken, both zero-padded to the longer, and only the **first 5 s** scored (speechmetrics frames
  the clip into 5 s windows and ``metric.py`` keeps window 0; a clip of at most 5 s is one window,
  scored whole). That is the published protocol; it is not a whole-clip binaural PESQ.

Dataset-level means in the released code weight each clip by its sample count; see
:func:`sample_weighted_mean`.
"""

from __future__ import annotations

import math

import numpy as np

#: The released evaluation's rate; clips at other rates are resampled to it first.
RATE = 48000
PESQ_RATE = 16000
PESQ_WINDOW_S = 5.0
STFT_FFT, STFT_WINDOW, STFT_HOP = 2048, 1920, 480
MRSTFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
MRSTFT_EPS = 1e-8
#: torch.stft's centred reflect padding needs more samples than half the largest FFT.
MIN_STFT_SAMPLES = STFT_FFT // 2 + 1
METRIC_NAMES = ("wave_l2", "amplitude_l2", "phase_l2", "mrstft", "pesq")


def _stft(x, n_fft: int, hop: int, win: int):
    """Complex STFT of each row of ``x`` (torch, float64): centred, reflect-padded, periodic Hann."""
    import torch

    return torch.stft(
        x,
        n_fft,
        hop_length=hop,
        win_length=win,
        window=torch.hann_window(win, dtype=x.dtype),
        center=True,
        pad_mode="reflect",
        normalized=False,
        return_complex=True,
    )


def wave_l2(gen: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared waveform error over both channels.

    >>> wave_l2(np.zeros((2, 4)), np.full((2, 4), 0.5))
    0.25
    """
    return float(np.mean((np.asarray(gen, np.float64) - np.asarray(gt, np.float64)) ** 2))


def spectral_errors(gen: np.ndarray, gt: np.ndarray, ignore_below: float = 0.2) -> tuple[float, float]:
    """``(amplitude_l2, phase_l2)`` of ``(2, T)`` clips at 48 kHz (module docstring); phase is NaN
    when no bin passes the energy mask (silent gt or generated clip).

    Raises:
        ValueError: fewer than :data:`MIN_STFT_SAMPLES` samples (the released STFT cannot pad them).

    >>> t = np.arange(4800) / RATE
    >>> y = np.stack([np.sin(2 * np.pi * 440 * t)] * 2)
    >>> amp, phase = spectral_errors(y, y)
    >>> amp, phase
    (0.0, 0.0)
    """
    import torch

    _require_stft_length(gen.shape[-1])
    x = _stft(torch.as_tensor(np.asarray(gen, np.float64)), STFT_FFT, STFT_HOP, STFT_WINDOW)
    y = _stft(torch.as_tensor(np.asarray(gt, np.float64)), STFT_FFT, STFT_HOP, STFT_WINDOW)
    amplitude = float(torch.mean(torch.abs(x.abs() - y.abs())))
    x, y = torch.view_as_real(x).reshape(-1, 2), torch.view_as_real(y).reshape(-1, 2)
    y_energy, x_energy = y.abs().sum(-1), x.abs().sum(-1)
    threshold = ignore_below * y_energy.mean()
    keep = (y_energy > threshold) & (x_energy > threshold)
    if not bool(keep.any()):
        return amplitude, math.nan
    x, y = x[keep], y[keep]
    # atan2(re, im) as released: a rotation of the usual angle, which leaves the wrapped distance unchanged
    diff = torch.abs(torch.atan2(x[:, 0], x[:, 1]) - torch.atan2(y[:, 0], y[:, 1]))
    return amplitude, float(torch.mean(math.pi - torch.abs(diff - math.pi)))


def mrstft(gen: np.ndarray, gt: np.ndarray) -> float:
    """auraloss's default multi-resolution STFT loss of ``gen`` against ``gt`` (module docstring).

    >>> y = np.random.default_rng(0).standard_normal((2, 4800))
    >>> mrstft(y, y)
    0.0
    """
    import torch

    _require_stft_length(gen.shape[-1])
    x_all = torch.as_tensor(np.asarray(gen, np.float64))
    y_all = torch.as_tensor(np.asarray(gt, np.float64))
    total = 0.0
    for n_fft, hop, win in MRSTFT_RESOLUTIONS:
        x = torch.sqrt(torch.clamp(_stft(x_all, n_fft, hop, win).abs() ** 2, min=MRSTFT_EPS))
        y = torch.sqrt(torch.clamp(_stft(y_all, n_fft, hop, win).abs() ** 2, min=MRSTFT_EPS))
        convergence = torch.linalg.norm((y - x).reshape(-1)) / torch.linalg.norm(y.reshape(-1))
        total += float(convergence + torch.mean(torch.abs(torch.log(x) - torch.log(y))))
    return total / len(MRSTFT_RESOLUTIONS)


def pesq_left_first_window(gen: np.ndarray, gt: np.ndarray, rate: int, gen_rate: int | None = None) -> float:
    """BinauralGrad's PESQ: wide-band PESQ of the left channel's first 5 s at 16 kHz (module docstring).

    ``gt`` is ``(2, T)`` at ``rate``, ``gen`` at ``gen_rate`` (default ``rate``); each is resampled from its
    own rate, as speechmetrics does per file. Needs ``pesq`` and ``resampy`` (``pip install
    'spatialeval[binaural-speech]'``).

    Raises:
        ValueError: a clip shorter than 1/4 s (PESQ's minimum) or a silent generated left channel
            (the implementation fails on it).
        pesq.PesqError: no utterance found in the gt (e.g. silent).
    """
    import resampy
    from pesq import pesq

    for what, clip, clip_rate in (("gt", gt, rate), ("generated", gen, gen_rate or rate)):
        if np.shape(clip)[-1] < clip_rate / 4:
            raise ValueError(f"{what} clip of {np.shape(clip)[-1]} samples at {clip_rate} Hz: PESQ needs 1/4 s")
    if not np.any(np.asarray(gen)[0, : int((gen_rate or rate) * PESQ_WINDOW_S)]):
        raise ValueError("generated left channel silent in the scored window: PESQ is undefined")

    def left_at_16k(clip: np.ndarray, clip_rate: int) -> np.ndarray:
        left = np.asarray(clip, np.float64)[0]
        if clip_rate != PESQ_RATE:
            left = resampy.resample(left, clip_rate, PESQ_RATE, filter="kaiser_best")
        return left

    ref, deg = left_at_16k(gt, rate), left_at_16k(gen, gen_rate or rate)
    n = max(len(ref), len(deg))  # speechmetrics zero-pads to the longer file
    ref, deg = np.pad(ref, (0, n - len(ref))), np.pad(deg, (0, n - len(deg)))
    window = int(PESQ_WINDOW_S * PESQ_RATE)
    stop = window if n > window else n  # museval Framing: one window of the whole clip when shorter
    return float(pesq(PESQ_RATE, ref[:stop], deg[:stop], "wb"))


def sample_weighted_mean(values, samples) -> float:
    """The released code's dataset mean: Σ valueᵢ · nᵢ / Σ nᵢ over the items with a value.

    >>> sample_weighted_mean([1.0, 4.0], [3, 1])
    1.75
    """
    pairs = [(float(v), int(n)) for v, n in zip(values, samples) if v is not None and math.isfinite(float(v))]
    total = sum(n for _, n in pairs)
    return math.nan if total == 0 else sum(v * n for v, n in pairs) / total


def _require_stft_length(n: int) -> None:
    if n < MIN_STFT_SAMPLES:
        raise ValueError(
            f"{n} samples at 48 kHz: the released STFT (2048-point, centred reflect padding) "
            f"needs at least {MIN_STFT_SAMPLES}"
        )
