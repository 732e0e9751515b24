"""STFT and mel projection with the ISDrama/BAT analysis settings (32 kHz, 1024/320, 128 mels)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch


@dataclass(frozen=True)
class AnalysisSettings:
    sample_rate: int = 32000
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 128
    fmin: float = 50.0
    fmax: float = 14000.0

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1


ISDRAMA_ANALYSIS = AnalysisSettings()


# Slaney's auditory-toolbox mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_MEL_HZ_PER_MEL = 200.0 / 3
_MEL_LOG_HZ = 1000.0
_MEL_LOG_MEL = _MEL_LOG_HZ / _MEL_HZ_PER_MEL
_MEL_LOG_STEP = np.log(6.4) / 27.0


def hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Hz → Slaney mels: hz / (200/3) below 1 kHz, 15 + ln(hz / 1000) / (ln 6.4 / 27) above.

    >>> hz_to_slaney_mel(np.array([0.0, 500.0, 1000.0, 6400.0])).round(6).tolist()
    [0.0, 7.5, 15.0, 42.0]
    """
    hz = np.asarray(hz, dtype=np.float64)
    mels = hz / _MEL_HZ_PER_MEL
    log = hz >= _MEL_LOG_HZ
    mels[log] = _MEL_LOG_MEL + np.log(hz[log] / _MEL_LOG_HZ) / _MEL_LOG_STEP
    return mels


def slaney_mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_slaney_mel`.

    >>> slaney_mel_to_hz(np.array([7.5, 42.0])).round(6).tolist()
    [500.0, 6400.0]
    """
    mels = np.asarray(mels, dtype=np.float64)
    hz = _MEL_HZ_PER_MEL * mels
    log = mels >= _MEL_LOG_MEL
    hz[log] = _MEL_LOG_HZ * np.exp(_MEL_LOG_STEP * (mels[log] - _MEL_LOG_MEL))
    return hz


@lru_cache(maxsize=8)
def mel_matrix(settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> np.ndarray:
    """The Slaney-normalised mel filterbank of ``librosa.filters.mel`` (htk=False, norm="slaney", float32),
    transposed to (n_bins, n_mels), computed here in numpy because importing librosa (numba, joblib) costs
    a run 0.5-4 s of start-up for this one small matrix.

    Filter m is the triangle rising from mel edge f_{m} to f_{m+1} and falling to f_{m+2} (n_mels + 2 edges
    evenly spaced in Slaney mels from fmin to fmax, in Hz), evaluated at the rfft bin frequencies, then
    scaled by 2 / (f_{m+2} − f_{m}) for about equal energy per band. As librosa does, the triangles are
    stored in float32 before the scaling, which is done in float64 and stored in float32 again
    (``tests/test_mel_matrix.py`` compares with librosa).

    >>> m = mel_matrix()
    >>> m.shape, m.dtype.name, bool((m >= 0).all())
    ((513, 128), 'float32', True)
    """
    s = settings
    bins = np.fft.rfftfreq(n=s.n_fft, d=1.0 / s.sample_rate)
    edges = slaney_mel_to_hz(
        np.linspace(hz_to_slaney_mel(np.array([s.fmin]))[0], hz_to_slaney_mel(np.array([s.fmax]))[0], s.n_mels + 2)
    )
    widths = np.diff(edges)
    distance = np.subtract.outer(edges, bins)  # (n_mels + 2, n_bins): edge − bin frequency
    weights = np.zeros((s.n_mels, s.n_bins), dtype=np.float32)
    for m in range(s.n_mels):
        rising, falling = -distance[m] / widths[m], distance[m + 2] / widths[m + 1]
        weights[m] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2 : s.n_mels + 2] - edges[: s.n_mels]))[:, np.newaxis]
    return np.ascontiguousarray(weights.T)


def stft(waveform: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> torch.Tensor:
    """Complex STFT of (..., time) → (..., frames, bins): periodic Hann, centred, reflect-padded.

    Raises ValueError for signals too short for reflect padding (fewer than n_fft/2 + 1 samples).
    """
    if waveform.shape[-1] <= settings.n_fft // 2:
        raise ValueError(
            f"{waveform.shape[-1]} samples is too short for a {settings.n_fft}-point centred STFT "
            f"(needs more than {settings.n_fft // 2})"
        )
    window = torch.hann_window(settings.n_fft, periodic=True, dtype=waveform.dtype, device=waveform.device)
    shape = waveform.shape
    spec = torch.stft(
        waveform.reshape(-1, shape[-1]),
        n_fft=settings.n_fft,
        hop_length=settings.hop_length,
        win_length=settings.n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    return spec.transpose(-1, -2).reshape(*shape[:-1], spec.shape[-1], spec.shape[-2])


def check_lengths(lengths, batch: int, samples: int, name: str = "lengths") -> torch.Tensor:
    """``lengths`` as a CPU int64 (batch,) tensor of true sample counts in 1 … samples (None: all full).

    Raises ValueError for a wrong shape, a non-integer type or a count outside that range.
    """
    if lengths is None:
        return torch.full((batch,), samples, dtype=torch.int64)
    lengths = torch.as_tensor(lengths)
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer sample counts, got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(f"{name} must have shape ({batch},), one sample count per item, got {tuple(lengths.shape)}")
    lengths = lengths.detach().to("cpu", torch.int64)
    if batch and (int(lengths.min()) < 1 or int(lengths.max()) > samples):
        raise ValueError(
            f"{name} must lie in 1 … {samples} (the tensor's time axis), "
            f"got {int(lengths.min())} … {int(lengths.max())}"
        )
    return lengths


def zero_beyond(waveforms: torch.Tensor, lengths: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    """``waveforms`` (B, ..., T) with every sample at or after item b's ``lengths[b]`` set to 0.

    Returns the input itself when nothing lies past the lengths; otherwise a masked copy, or the
    input zeroed in place with ``in_place=True``.
    """
    if bool((lengths >= waveforms.shape[-1]).all()):
        return waveforms
    positions = torch.arange(waveforms.shape[-1], device=waveforms.device)
    past = positions >= lengths.to(waveforms.device).view(-1, *([1] * (waveforms.ndim - 1)))
    return waveforms.masked_fill_(past, 0) if in_place else waveforms.masked_fill(past, 0)


def stft_batch(
    waveforms: torch.Tensor, lengths: torch.Tensor | None = None, settings: AnalysisSettings = ISDRAMA_ANALYSIS
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`stft` of each item of a zero-padded batch as if it were alone.

    ``waveforms`` is (B, C, T); item b holds ``lengths[b]`` true samples (all T when None). Its
    centred STFT reflects at *its own* end, as a clip of that length would, and has
    ``1 + lengths[b] // hop`` frames; frames past that are zero.

    Returns:
        (spectra (B, C, frames_max, bins) complex, frames (B,) int64 on the batch's device).

    Raises:
        ValueError: when an item has no more than n_fft/2 samples (too short for reflect padding).

    Example:
        >>> import torch
        >>> x = torch.randn(2, 2, 4000)
        >>> spec, frames = stft_batch(x, torch.tensor([4000, 1000]))
        >>> frames.tolist(), torch.allclose(spec[1, :, :4], stft(x[1, :, :1000]))
        ([13, 4], True)
    """
    batch, channels, samples = waveforms.shape
    lengths = check_lengths(lengths, batch, samples)
    half, hop = settings.n_fft // 2, settings.hop_length
    if batch and int(lengths.min()) <= half:
        raise ValueError(
            f"{int(lengths.min())} samples is too short for a {settings.n_fft}-point centred STFT "
            f"(needs more than {half})"
        )
    frames = (1 + lengths // hop).to(waveforms.device)
    if bool((lengths == samples).all()):
        return stft(waveforms, settings), frames
    longest = int(lengths.max())
    waveforms = waveforms[..., :longest]
    # Reflect-pad every item at its own end: padded position p reads sample |q| for q = p − n_fft/2 < 0,
    # q inside the clip, and 2(L−1) − q past its end L. Positions further out only feed frames that
    # are dropped, so they are clamped to any valid index.
    q = torch.arange(longest + 2 * half, device=waveforms.device) - half
    end = lengths.to(waveforms.device)[:, None]
    source = torch.where(q < 0, -q, torch.where(q < end, q, 2 * (end - 1) - q)).clamp(0, longest - 1)
    padded = waveforms.gather(-1, source[:, None, :].expand(batch, channels, -1))
    window = torch.hann_window(settings.n_fft, periodic=True, dtype=waveforms.dtype, device=waveforms.device)
    spec = torch.stft(
        padded.reshape(batch * channels, -1),
        n_fft=settings.n_fft,
        hop_length=hop,
        win_length=settings.n_fft,
        window=window,
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    spec = spec.transpose(-1, -2).reshape(batch, channels, spec.shape[-1], spec.shape[-2])
    valid = torch.arange(spec.shape[2], device=spec.device)[None, :] < frames[:, None]
    # where, not a product: a product leaves −0.0 parts, whose angle is ±π rather than 0
    return torch.where(valid[:, None, :, None], spec, torch.zeros((), dtype=spec.dtype, device=spec.device)), frames
