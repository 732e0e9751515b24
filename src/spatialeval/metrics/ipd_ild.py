"""IPD and ILD mean absolute error between a generated and a ground-truth binaural clip.

Two protocols:

``isdrama`` — the released ISDrama evaluation, kept with its quirks so published
numbers can be reproduced: per clip, IPD = ∠X_R − ∠X_L (not wrapped) and
ILD = 20·log10((|X_R|+1e-10)/(|X_L|+1e-10)) per STFT bin, each multiplied by the
128-band mel matrix, giving F (T×128). With T = min(T_gt, T_gen) and the
top-left common block,

    MAE = mean(|F_gt[:T] − F_gen[:T]|) / T

(the division by T makes values fall with clip length). Tables report it ×100.

``strict`` — the defects fixed: the IPD difference is wrapped to (−π, π],
errors are plain means over frames (no division by T), both clips are compared
on the same frames, in linear STFT bins, and only in time-frequency bins where
the ground truth carries energy (within ``floor_db`` of its peak), so rounding
noise in silent bins cannot dominate. Units: radians (IPD) and dB (ILD).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from spatialeval.features.interaural import spectra_cues, stft_blocks, streamed_mel_cues
from spatialeval.features.resample import TARGET_RATE, resample_sinc_chunks
from spatialeval.io.audio import as_time_channels
from spatialeval.features.threads import single_threaded

PROTOCOLS = ("isdrama", "strict")
BLOCK_FRAMES = 2048  # STFT frames analysed at once (20 s at 32 kHz, hop 320): bounds memory for long clips


def _as_channels_first(samples, dtype: torch.dtype, what: str = "ipd_ild_mae") -> torch.Tensor:
    """A (time, 2) binaural array or tensor (the public layout) as a (2, time) tensor for the STFT."""
    numpy_dtype = np.float32 if dtype == torch.float32 else np.float64
    # A transposed view: the streaming resampler copies only one block at a time.
    return torch.from_numpy(as_time_channels(samples, what, channels=2, dtype=numpy_dtype)).T


def _resampled_chunks(samples, sample_rate: int, dtype: torch.dtype, what: str):
    """A (time, 2) clip as (2, n) chunks of its 32-kHz resampling (see ``resample_sinc_chunks``)."""
    wave = _as_channels_first(samples, dtype, what)
    return resample_sinc_chunks(wave, int(sample_rate), TARGET_RATE, chunk_samples=BLOCK_FRAMES * 320)


def isdrama_features(samples, sample_rate: int, block_frames: int = BLOCK_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """ISDrama's mel-projected (IPD, ILD) features, each float32 (T, 128), at 32 kHz.

    Streamed in blocks of ``block_frames`` STFT frames (memory does not grow with the clip beyond
    its (T, 128) results) and computed on one thread, so the values depend neither on the
    blocking nor on the core count (see :mod:`spatialeval.features.threads`).
    """
    with single_threaded():
        return streamed_mel_cues(_resampled_chunks(samples, sample_rate, torch.float32, "isdrama_features"),
                                 block_frames=block_frames)


def mae_over_time(gt: np.ndarray, infer: np.ndarray) -> float:
    """``calculate_mae_time``: mean |gt − infer| over the top-left common block, divided by its row count."""
    rows, cols = min(gt.shape[0], infer.shape[0]), min(gt.shape[1], infer.shape[1])
    mae = np.mean(np.abs(gt[:rows, :cols] - infer[:rows, :cols]))
    return float(mae) / rows


def isdrama_ipd_ild_mae(gt, infer, sample_rate: int, infer_sample_rate: int | None = None) -> dict[str, float]:
    """IPD/ILD MAE exactly as the released ISDrama code defines it (not ×100).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> clip = rng.normal(0, 0.1, (32000, 2))
        >>> isdrama_ipd_ild_mae(clip, clip, 32000)
        {'ipd_mae': 0.0, 'ild_mae': 0.0}
    """
    gt_ipd, gt_ild = isdrama_features(gt, sample_rate)
    inf_ipd, inf_ild = isdrama_features(infer, infer_sample_rate or sample_rate)
    return {"ipd_mae": mae_over_time(gt_ipd, inf_ipd), "ild_mae": mae_over_time(gt_ild, inf_ild)}


def strict_ipd_ild_mae(gt, infer, sample_rate: int, infer_sample_rate: int | None = None,
                       floor_db: float = 60.0, block_frames: int = BLOCK_FRAMES) -> dict[str, float]:
    """Wrapped, energy-masked IPD MAE (radians) and ILD MAE (dB) over common frames.

    A bin counts when the ground truth's louder ear is within ``floor_db`` of the
    clip's loudest bin. Both clips are streamed in blocks of ``block_frames`` STFT frames. When the ground truth is digital silence no bin counts: both are
    NaN and ``"unmeasurable"`` gives the reason.

    Example (a 0.5 ms interaural delay changed to 0.25 ms):
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> src = rng.normal(0, 0.1, 32016)
        >>> gt = np.stack([src[16:], src[:-16]], axis=1)     # right ear 16 samples late
        >>> gen = np.stack([src[16:], src[8:-8]], axis=1)    # right ear 8 samples late
        >>> r = strict_ipd_ild_mae(gt, gen, 32000)
        >>> 1.4 < r["ipd_mae"] < 1.7, r["ild_mae"] < 1.0
        (True, True)
    """
    with single_threaded():  # thread-count-independent results (see spatialeval.features.threads)
        def spectra(clip, rate):  # the clip's STFT, streamed block by block
            chunks = _resampled_chunks(clip, rate, torch.float64, "strict_ipd_ild_mae")
            return stft_blocks(chunks, block_frames=block_frames)

        # Pass 1: the ground truth's loudest bin sets the energy floor.
        peak = max(float(spectra_cues(block).power.max()) for block in spectra(gt, sample_rate))
        if peak <= 0.0:
            reason = "the ground truth is digital silence: no time-frequency bin carries interaural cues"
            return {"ipd_mae": math.nan, "ild_mae": math.nan, "unmeasurable": {"ipd_mae": reason, "ild_mae": reason}}
        floor = peak * 10.0 ** (-floor_db / 10.0)
        # Pass 2: both clips frame by frame over their common frames. Per-frame sums, added with
        # math.fsum at the end, make the result independent of the blocking.
        ipd_sums, ild_sums, counts = [], [], []
        for gt_block, inf_block in zip(spectra(gt, sample_rate), spectra(infer, infer_sample_rate or sample_rate)):
            frames = min(gt_block.shape[1], inf_block.shape[1])
            gt_cues, inf_cues = spectra_cues(gt_block[:, :frames]), spectra_cues(inf_block[:, :frames])
            mask = gt_cues.power >= floor
            ipd_error = torch.angle(torch.polar(torch.ones_like(gt_cues.ipd), gt_cues.ipd - inf_cues.ipd)).abs()
            ild_error = (gt_cues.ild - inf_cues.ild).abs()
            ipd_sums.append(torch.where(mask, ipd_error, 0.0).sum(dim=1))
            ild_sums.append(torch.where(mask, ild_error, 0.0).sum(dim=1))
            counts.append(mask.sum(dim=1))
    count = int(torch.cat(counts).sum())
    return {"ipd_mae": math.fsum(torch.cat(ipd_sums).tolist()) / count,
            "ild_mae": math.fsum(torch.cat(ild_sums).tolist()) / count}


def ipd_ild_mae(gt, infer, sample_rate: int, protocol: str = "isdrama", infer_sample_rate: int | None = None,
                **options) -> dict[str, float]:
    """IPD and ILD MAE under ``protocol`` (``isdrama`` or ``strict``) of two binaural clips shaped (time, 2).

    ``gt`` and ``infer`` are numpy arrays or torch tensors, column 0 the left ear. A (2, time)
    array is refused with a message (see :func:`spatialeval.io.audio.as_time_channels`).

    Example:
        >>> import numpy as np
        >>> clip = np.random.default_rng(1).normal(0, 0.1, (16000, 2))
        >>> ipd_ild_mae(clip, clip, 16000, protocol="strict")
        {'ipd_mae': 0.0, 'ild_mae': 0.0}
    """
    if protocol == "isdrama":
        return isdrama_ipd_ild_mae(gt, infer, sample_rate, infer_sample_rate)
    if protocol == "strict":
        return strict_ipd_ild_mae(gt, infer, sample_rate, infer_sample_rate, **options)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
