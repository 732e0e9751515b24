"""Interaural phase and level differences of a binaural STFT.

Channel 0 is the left ear (X1), channel 1 the right ear (X2), as in ISDrama.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def spectra_cues(spec: torch.Tensor) -> InterauralSpectra:
    """Per-bin cues of a (..., 2, frames, bins) STFT: IPD = ∠X2 − ∠X1 (not wrapped), ILD = 20·log10((|X2|+ε)/(|X1|+ε)).

    Leading dimensions are kept (a batch's cues are (B, frames, bins)); ``frames`` is only meaningful without them.
    """
    left, right = spec[..., 0, :, :], spec[..., 1, :, :]
    mag_left, mag_right = left.abs(), right.abs()
    ipd = torch.angle(right) - torch.angle(left)
    ild = 20.0 * torch.log10((mag_right + LEVEL_EPSILON) / (mag_left + LEVEL_EPSILON))
    return InterauralSpectra(ipd=ipd, ild=ild, power=torch.maximum(mag_left, mag_right) ** 2)


def interaural_spectra(binaural: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS) -> InterauralSpectra:
    """:func:`spectra_cues` of the STFT of a (2, time) waveform."""
    return spectra_cues(stft(binaural, settings))


def mel_cues_of_spectra(spec: torch.Tensor, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ISDrama's mel-projected IPD/ILD of a (2, frames, bins) STFT block, each (frames, n_mels)."""
    cues = spectra_cues(spec)
    ipd, ild = cues.ipd, cues.ild
    if ipd.shape[0] == 1:
        # A one-row product takes BLAS's matrix-vector path, whose rounding differs from the
        # matrix-matrix path every other block size takes: pad to two rows so any blocking gives
        # the same values.
        ipd, ild = (torch.cat([m, torch.zeros_like(m)]) for m in (ipd, ild))
        return (ipd @ mel)[:1], (ild @ mel)[:1]
    return ipd @ mel, ild @ mel


def stft_blocks(
    chunks: Iterable[torch.Tensor], settings: AnalysisSettings = ISDRAMA_ANALYSIS, block_frames: int = 2048
) -> Iterator[torch.Tensor]:
    """The centred, reflect-padded STFT of a (channels, time) signal given as consecutive chunks,
    yielded as (channels, frames, bins) blocks of ``block_frames`` frames (the last may be shorter).

    Only a rolling buffer of samples and one block of spectra exist at a time, so memory is bounded
    by ``block_frames``, not by the signal's length; every frame sees exactly the samples it sees in
    ``spectral.stft`` of the whole signal (same frames, same values). Raises ValueError for a signal
    of at most n_fft/2 samples, as ``spectral.stft`` does.
    """
    n_fft, hop, pad = settings.n_fft, settings.hop_length, settings.n_fft // 2
    buffer: torch.Tensor | None = None
    padded = False
    total = done = start = 0  # samples seen; frames emitted; padded-signal index of buffer[..., 0]

    def ready(limit: int | None) -> Iterator[torch.Tensor]:
        nonlocal buffer, done, start
        while True:
            offset = done * hop - start
            available = (buffer.shape[-1] - offset - n_fft) // hop + 1
            if limit is not None:
                available = min(available, limit - done)
            elif available < block_frames:
                break
            if available <= 0:
                break
            count = min(available, block_frames)
            segment = buffer[..., offset : offset + (count - 1) * hop + n_fft]
            window = torch.hann_window(n_fft, periodic=True, dtype=segment.dtype, device=segment.device)
            spec = torch.stft(
                segment,
                n_fft=n_fft,
                hop_length=hop,
                win_length=n_fft,
                window=window,
                center=False,
                normalized=False,
                onesided=True,
                return_complex=True,
            )
            done += count
            yield spec.transpose(-1, -2)
        drop = done * hop - start  # samples before the next frame's start are no longer needed
        buffer, start = buffer[..., drop:], start + drop

    for chunk in chunks:
        total += chunk.shape[-1]
        buffer = chunk if buffer is None else torch.cat([buffer, chunk], dim=-1)
        if not padded and total > pad:
            buffer = torch.cat([buffer[..., 1 : pad + 1].flip(-1), buffer], dim=-1)  # reflect padding at the start
            padded = True
        if padded:
            yield from ready(None)
    if not padded:
        raise ValueError(f"{total} samples is too short for a {n_fft}-point centred STFT (needs more than {pad})")
    buffer = torch.cat([buffer, buffer[..., -(pad + 1) : -1].flip(-1)], dim=-1)  # reflect padding at the end
    yield from ready(1 + total // hop)


def streamed_mel_cues(
    chunks: Iterable[torch.Tensor], settings: AnalysisSettings = ISDRAMA_ANALYSIS, block_frames: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mel_projected_cues` of a (2, time) signal given as chunks, in memory bounded by ``block_frames``
    (apart from the (frames, n_mels) results). Equal to the whole-signal computation for any blocking."""
    mel = torch.from_numpy(mel_matrix(settings))
    ipd_parts, ild_parts = [], []
    for spec in stft_blocks(chunks, settings, block_frames):
        ipd, ild = mel_cues_of_spectra(spec, mel.to(spec.real.dtype))
        ipd_parts.append(ipd.numpy())
        ild_parts.append(ild.numpy())
    return np.concatenate(ipd_parts), np.concatenate(ild_parts)


def mel_projected_cues(
    binaural: torch.Tensor, settings: AnalysisSettings = ISDRAMA_ANALYSIS
) -> tuple[np.ndarray, np.ndarray]:
    """ISDrama's IPD/ILD features: per-bin cues times the mel matrix, each (frames, n_mels).

    This is a mel-weighted sum of a difference, not a log-mel spectrogram.
    """
    mel = torch.from_numpy(mel_matrix(settings)).to(binaural.dtype)
    ipd, ild = mel_cues_of_spectra(stft(binaural, settings), mel)
    return ipd.numpy(), ild.numpy()


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
        raise ValueError(
            f"{name} must be a (B, 2, T) tensor (batch, ears: left then right, samples), got shape {tuple(waves.shape)}"
        )
    if not waves.is_floating_point():  # integer PCM would be read as full-scale-32767 audio, silently wrong
        raise ValueError(
            f"{name} must be floating-point audio in [-1, 1], got dtype {waves.dtype} "
            "(convert PCM first, e.g. int16 / 32768 as soundfile does)"
        )
    # A sum is a cheap screen (NaN and ±inf propagate into it); only a non-finite sum needs the exact check,
    # since finite samples could in principle overflow it.
    if not bool(torch.isfinite(waves.sum())) and not bool(torch.isfinite(waves).all()):
        raise ValueError(f"{name} contains NaN or infinite samples")
    return waves


def interaural_spectra_batch(
    waves: torch.Tensor, lengths: torch.Tensor | None = None, settings: AnalysisSettings = ISDRAMA_ANALYSIS
) -> BatchInterauralSpectra:
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
    cues = spectra_cues(spec)
    return BatchInterauralSpectra(ipd=cues.ipd, ild=cues.ild, power=cues.power, frames=frames)


def mel_projected_cues_batch(
    waves: torch.Tensor, lengths: torch.Tensor | None = None, settings: AnalysisSettings = ISDRAMA_ANALYSIS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`mel_projected_cues` of a batch, as tensors on its device: (ipd, ild) each (B, frames_max, n_mels),
    and the frame counts (B,)."""
    from spatialeval.precision import ieee_float32

    cues = interaural_spectra_batch(waves, lengths, settings)
    mel = torch.from_numpy(mel_matrix(settings)).to(waves.dtype).to(waves.device)
    with ieee_float32(waves.device):  # the projection must not run in TF32 on CUDA
        return cues.ipd @ mel, cues.ild @ mel, cues.frames
