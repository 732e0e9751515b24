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


@lru_cache(maxsize=8)
def mel_matrix(settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> np.ndarray:
    """librosa's Slaney mel filterbank, transposed to (n_bins, n_mels), float32."""
    import librosa  # heavy import: only when a mel matrix is first needed

    fb = librosa.filters.mel(sr=settings.sample_rate, n_fft=settings.n_fft, n_mels=settings.n_mels,
                             fmin=settings.fmin, fmax=settings.fmax)
    return np.ascontiguousarray(fb.T.astype(np.float32))


def stft(waveform: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> torch.Tensor:
    """Complex STFT of (..., time) → (..., frames, bins): periodic Hann, centred, reflect-padded.

    Raises ValueError for signals too short for reflect padding (fewer than n_fft/2 + 1 samples).
    """
    if waveform.shape[-1] <= settings.n_fft // 2:
        raise ValueError(f"{waveform.shape[-1]} samples is too short for a {settings.n_fft}-point centred STFT "
                         f"(needs more than {settings.n_fft // 2})")
    window = torch.hann_window(settings.n_fft, periodic=True, dtype=waveform.dtype, device=waveform.device)
    shape = waveform.shape
    spec = torch.stft(waveform.reshape(-1, shape[-1]), n_fft=settings.n_fft, hop_length=settings.hop_length,
                      win_length=settings.n_fft, window=window, center=True, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True)
    return spec.transpose(-1, -2).reshape(*shape[:-1], spec.shape[-1], spec.shape[-2])
