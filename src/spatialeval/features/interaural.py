"""Interaural phase and level differences of a binaural STFT.

Channel 0 is the left ear (X1), channel 1 the right ear (X2), as in ISDrama.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spatialeval.features.spectral import ISDRAMA_ANALYSIS, AnalysisSettings, mel_matrix, stft

LEVEL_EPSILON = 1e-10  # added to both magnitudes before the ILD ratio, as the released code does


@dataclass(frozen=True)
class InterauralSpectra:
    """Per-bin cues of one clip, each (frames, bins): unwrapped IPD in (-2π, 2π), ILD in dB, and power."""

    ipd: torch.Tensor
    ild: torch.Tensor
    power: torch.Tensor  # max over the two ears of |X|^2, for energy masks

    @property
    def frames(self) -> int:
        return int(self.ipd.shape[0])


def interaural_spectra(binaural: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> InterauralSpectra:
    """IPD = ∠X2 − ∠X1 (not wrapped), ILD = 20·log10((|X2|+ε)/(|X1|+ε)) from a (2, time) waveform."""
    spec = stft(binaural, settings)  # (2, frames, bins)
    left, right = spec[0], spec[1]
    ipd = torch.angle(right) - torch.angle(left)
    mag_left, mag_right = left.abs(), right.abs()
    ild = 20.0 * torch.log10((mag_right + LEVEL_EPSILON) / (mag_left + LEVEL_EPSILON))
    return InterauralSpectra(ipd=ipd, ild=ild, power=torch.maximum(mag_left, mag_right) ** 2)


def mel_projected_cues(binaural: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> tuple[np.ndarray, np.ndarray]:
    """ISDrama's IPD/ILD features: per-bin cues times the mel matrix, each (frames, n_mels).

    This is a mel-weighted sum of a difference, not a log-mel spectrogram.
    """
    cues = interaural_spectra(binaural, settings)
    mel = torch.from_numpy(mel_matrix(settings)).to(binaural.dtype)
    return (cues.ipd @ mel).numpy(), (cues.ild @ mel).numpy()
