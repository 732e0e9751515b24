"""Resampling to the 32 kHz analysis rate.

Two resamplers, because the released ISDrama code uses two:

* :func:`resample_sinc` — band-limited windowed-sinc interpolation with a Hann
  window (6 zero crossings, cut-off at 99 % of the lower Nyquist), the filter that
  ``torchaudio.transforms.Resample`` applies by default. The IPD/ILD feature script
  resamples with it. Implemented here in torch so torchaudio is not a dependency.
* :func:`resample_polyphase` — ``scipy.signal.resample_poly`` (Kaiser FIR), which the
  BAT evaluation dataset uses before the encoder.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy import signal

TARGET_RATE = 32000


@lru_cache(maxsize=16)
def _sinc_kernel(orig: int, new: int, zero_crossings: int, rolloff: float) -> tuple[torch.Tensor, int]:
    """Polyphase kernel (new, 1, taps) of a Hann-windowed sinc low-pass, and its half width.

    Output phase ``j`` of every block of ``new`` output samples sits at input time
    ``j * orig / new``; its filter is sampled at the input positions around it.
    """
    cutoff = min(orig, new) * rolloff  # in units of the reduced input rate
    half_width = math.ceil(zero_crossings * orig / cutoff)
    input_offsets = torch.arange(-half_width, half_width + orig, dtype=torch.float64) / orig
    output_phases = -torch.arange(new, dtype=torch.float64)[:, None] / new
    t = ((output_phases + input_offsets[None, :]) * cutoff).clamp(-zero_crossings, zero_crossings)
    window = torch.cos(t * math.pi / (2 * zero_crossings)) ** 2
    arg = t * math.pi
    sinc = torch.where(arg == 0, torch.ones_like(arg), torch.sin(arg) / torch.where(arg == 0, 1.0, arg))
    kernel = (sinc * window * (cutoff / orig)).to(torch.float32)
    return kernel[:, None, :], half_width


def resample_sinc(waveform: torch.Tensor, orig_rate: int, new_rate: int = TARGET_RATE,
                  zero_crossings: int = 6, rolloff: float = 0.99) -> torch.Tensor:
    """Resample ``waveform`` (..., time) from ``orig_rate`` to ``new_rate`` with a Hann-windowed sinc.

    The output has ``ceil(new * time / orig)`` samples (rates reduced by their gcd).
    """
    if orig_rate == new_rate:
        return waveform
    divisor = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // divisor, int(new_rate) // divisor
    kernel, half_width = _sinc_kernel(orig, new, zero_crossings, rolloff)
    shape = waveform.shape
    flat = waveform.reshape(-1, 1, shape[-1])
    padded = torch.nn.functional.pad(flat, (half_width, half_width + orig))
    out = torch.nn.functional.conv1d(padded, kernel.to(flat.dtype), stride=orig)  # (batch, new, blocks)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    target = math.ceil(new * shape[-1] / orig)
    return out[..., :target].reshape(*shape[:-1], -1)


def resample_sinc_chunks(waveform: torch.Tensor, orig_rate: int, new_rate: int = TARGET_RATE,
                         chunk_samples: int = 1 << 18, zero_crossings: int = 6, rolloff: float = 0.99):
    """:func:`resample_sinc` of a (channels, time) tensor, yielded in consecutive chunks of about
    ``chunk_samples`` output samples, so a long clip is resampled in bounded memory.

    ``torch.cat(list(resample_sinc_chunks(x, a, b)), -1)`` equals ``resample_sinc(x, a, b)``:
    each output block is the same dot product of the same kernel with the same input samples
    (zero outside the clip), taken from a slice of the input instead of the whole.
    """
    if orig_rate == new_rate:
        for start in range(0, waveform.shape[-1], chunk_samples):
            yield waveform[..., start:start + chunk_samples]
        return
    divisor = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // divisor, int(new_rate) // divisor
    kernel, half_width = _sinc_kernel(orig, new, zero_crossings, rolloff)
    kernel = kernel.to(waveform.dtype)
    length = waveform.shape[-1]
    # A (channels, 1, time) view, never a copy of the whole signal (the input may be a transposed view).
    flat = waveform.unsqueeze(-2) if waveform.ndim == 2 else waveform.reshape(-1, 1, length)
    positions = length // orig + 1                      # conv outputs of the padded whole signal
    target = math.ceil(new * length / orig)
    step = max(1, chunk_samples // new)
    for first in range(0, positions, step):
        last = min(positions, first + step)
        lo, hi = first * orig - half_width, (last - 1) * orig + kernel.shape[-1] - half_width
        piece = flat[..., max(lo, 0):min(hi, length)]
        piece = torch.nn.functional.pad(piece, (max(0, -lo), max(0, hi - length)))
        out = torch.nn.functional.conv1d(piece, kernel, stride=orig).transpose(1, 2).reshape(flat.shape[0], -1)
        keep = min(last * new, target) - first * new
        if keep <= 0:
            break
        yield out[:, :keep].reshape(*waveform.shape[:-1], -1)


def resample_polyphase(samples: np.ndarray, orig_rate: int, new_rate: int = TARGET_RATE) -> np.ndarray:
    """``scipy.signal.resample_poly`` along axis 0 (frames), float64 in and out."""
    samples = np.asarray(samples, dtype=np.float64)
    if orig_rate == new_rate:
        return samples
    divisor = math.gcd(int(orig_rate), int(new_rate))
    return signal.resample_poly(samples, int(new_rate) // divisor, int(orig_rate) // divisor, axis=0)


def downmix_resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Mono (mean of channels) at ``target_rate`` via ``scipy.signal.resample_poly``.

    ``samples`` is (frames,) or (frames, channels).

    Example:
        >>> x = np.stack([np.ones(320), np.zeros(320)], axis=1)
        >>> y = downmix_resample(x, 32000, 16000)
        >>> y.shape, round(float(y[80]), 3)
        ((160,), 0.5)
    """
    samples = np.asarray(samples, dtype=np.float64)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if mono.ndim != 1:
        raise ValueError(f"expected (frames,) or (frames, channels) audio, got shape {samples.shape}")
    return np.ascontiguousarray(resample_polyphase(mono, int(rate), int(target_rate)))
