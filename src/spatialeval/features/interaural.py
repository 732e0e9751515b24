"""Interaural phase and level differences of a binaural STFT.

Channel 0 is the left ear (X1), channel 1 the right ear (X2), as in ISDrama.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spatialeval.features.spectral import ISDRAMA_ANALYSIS, AnalysisSettings, mel_matrix, stft, stft_batch

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


@dataclass(frozen=True)
class BatchInterauralSpectra:
    """:class:`InterauralSpectra` of a batch, each (B, frames_max, bins); ``frames`` (B,) counts each item's
    frames, and frames past an item's count are zero in every map."""

    ipd: torch.Tensor
    ild: torch.Tensor
    power: torch.Tensor
    frames: torch.Tensor


def check_binaural_batch(waves, name: str = "waves") -> torch.Tensor:
    """``waves`` if it is a finite floating-point (B, 2, T) tensor, else ValueError saying what is expected.

    Example:
        >>> check_binaural_batch(torch.zeros(2, 5))
        Traceback (most recent call last):
        ...
        ValueError: waves must be a (B, 2, T) tensor (batch, ears: left then right, samples), got shape (2, 5)
    """
    if not isinstance(waves, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor shaped (B, 2, T), got {type(waves).__name__}")
    if waves.ndim != 3 or waves.shape[1] != 2 or waves.shape[2] == 0:
        raise ValueError(f"{name} must be a (B, 2, T) tensor (batch, ears: left then right, samples), "
                         f"got shape {tuple(waves.shape)}")
    if not waves.is_floating_point():  # integer PCM would be read as full-scale-32767 audio, silently wrong
        raise ValueError(f"{name} must be floating-point audio in [-1, 1], got dtype {waves.dtype} "
                         "(convert PCM first, e.g. int16 / 32768 as soundfile does)")
    # A sum is a cheap screen (NaN and ±inf propagate into it); only a non-finite sum needs the exact check,
    # since finite samples could in principle overflow it.
    if not bool(torch.isfinite(waves.sum())) and not bool(torch.isfinite(waves).all()):
        raise ValueError(f"{name} contains NaN or infinite samples")
    return waves


def interaural_spectra_batch(waves: torch.Tensor, lengths: torch.Tensor | None = None,
                             settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> BatchInterauralSpectra:
    """:func:`interaural_spectra` of every item of a zero-padded (B, 2, T) batch, each as if alone.

    Item b's true length is ``lengths[b]`` (all T when None); see :func:`stft_batch`.

    Example:
        >>> x = torch.randn(2, 2, 3000, dtype=torch.float64)
        >>> batch = interaural_spectra_batch(x, torch.tensor([3000, 2000]))
        >>> alone = interaural_spectra(x[1, :, :2000])
        >>> int(batch.frames[1]) == alone.frames, torch.equal(batch.ild[1, :alone.frames], alone.ild)
        (True, True)
    """
    spec, frames = stft_batch(waves, lengths, settings)
    left, right = spec[:, 0], spec[:, 1]
    ipd = torch.angle(right) - torch.angle(left)
    mag_left, mag_right = left.abs(), right.abs()
    ild = 20.0 * torch.log10((mag_right + LEVEL_EPSILON) / (mag_left + LEVEL_EPSILON))
    return BatchInterauralSpectra(ipd=ipd, ild=ild, power=torch.maximum(mag_left, mag_right) ** 2, frames=frames)


def mel_projected_cues_batch(waves: torch.Tensor, lengths: torch.Tensor | None = None,
                             settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`mel_projected_cues` of a batch, as tensors on its device: (ipd, ild) each (B, frames_max, n_mels),
    and the frame counts (B,)."""
    from spatialeval.precision import ieee_float32

    cues = interaural_spectra_batch(waves, lengths, settings)
    mel = torch.from_numpy(mel_matrix(settings)).to(waves.dtype).to(waves.device)
    with ieee_float32(waves.device):  # the projection must not run in TF32 on CUDA
        return cues.ipd @ mel, cues.ild @ mel, cues.frames
