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
from typing import NamedTuple

import numpy as np
import torch

from spatialeval.features.interaural_spectra import (
    check_binaural_batch,
    interaural_spectra_batch,
    mel_projected_cues_batch,
    spectra_cues,
    stft_blocks,
    streamed_mel_cues,
)
from spatialeval.features.resample import TARGET_RATE, resample_sinc, resample_sinc_chunks
from spatialeval.features.spectral import check_lengths, zero_beyond
from spatialeval.features.threads import single_threaded
from spatialeval.io.audio import as_time_channels
from spatialeval.metrics.registry import PROTOCOLS
from spatialeval.names import renamed_keywords

BLOCK_FRAMES = 2048  # STFT frames analysed at once (20 s at 32 kHz, hop 320): bounds memory for long clips


def _as_channels_first(samples, dtype: torch.dtype, what: str = "ipd_ild_mae") -> torch.Tensor:
    """A (time, 2) binaural array or tensor (the public layout) as a (2, time) tensor for the STFT."""
    numpy_dtype = np.float32 if dtype == torch.float32 else np.float64
    # A transposed view: the streaming resampler copies only one block at a time.
    return torch.from_numpy(as_time_channels(samples, what, channels=2, dtype=numpy_dtype)).T


def _resampled_chunks(samples, sample_rate: int, dtype: torch.dtype, what: str):
    """A (time, 2) clip as (2, n) chunks of its 32-kHz resampling (see ``resample_sinc_chunks``), in ``dtype``.

    The sinc kernel is computed in ``dtype`` too: float32 for ``isdrama`` (the release builds it in float32,
    see ``features.resample._sinc_kernel``), float64 for ``strict`` (the accurate kernel).
    """
    wave = _as_channels_first(samples, dtype, what)
    return resample_sinc_chunks(
        wave, int(sample_rate), TARGET_RATE, chunk_samples=BLOCK_FRAMES * 320, kernel_dtype=dtype
    )


def isdrama_features(samples, sample_rate: int, block_frames: int = BLOCK_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """ISDrama's mel-projected (IPD, ILD) features, each float32 (T, 128), at 32 kHz.

    Streamed in blocks of ``block_frames`` STFT frames (memory does not grow with the clip beyond
    its (T, 128) results) and computed on one thread, so the values depend neither on the
    blocking nor on the core count (see :mod:`spatialeval.features.threads`).
    """
    with single_threaded():
        return streamed_mel_cues(
            _resampled_chunks(samples, sample_rate, torch.float32, "isdrama_features"), block_frames=block_frames
        )


def mae_over_time(gt: np.ndarray, gen: np.ndarray) -> float:
    """``calculate_mae_time``: mean |gt − gen| over the top-left common block, divided by its row count."""
    rows, cols = min(gt.shape[0], gen.shape[0]), min(gt.shape[1], gen.shape[1])
    mae = np.mean(np.abs(gt[:rows, :cols] - gen[:rows, :cols]))
    return float(mae) / rows


def isdrama_ipd_ild_mae(gt, gen, sample_rate: int, gen_sample_rate: int | None = None) -> dict[str, float]:
    """IPD/ILD MAE exactly as the released ISDrama code defines it (not ×100).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> clip = rng.normal(0, 0.1, (32000, 2))
        >>> isdrama_ipd_ild_mae(clip, clip, 32000)
        {'ipd_mae': 0.0, 'ild_mae': 0.0}
    """
    gt_ipd, gt_ild = isdrama_features(gt, sample_rate)
    gen_ipd, gen_ild = isdrama_features(gen, gen_sample_rate or sample_rate)
    return {"ipd_mae": mae_over_time(gt_ipd, gen_ipd), "ild_mae": mae_over_time(gt_ild, gen_ild)}


def strict_ipd_ild_mae(
    gt,
    gen,
    sample_rate: int,
    gen_sample_rate: int | None = None,
    floor_db: float = 60.0,
    block_frames: int = BLOCK_FRAMES,
) -> dict[str, float]:
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
        for gt_block, gen_block in zip(spectra(gt, sample_rate), spectra(gen, gen_sample_rate or sample_rate)):
            frames = min(gt_block.shape[1], gen_block.shape[1])
            gt_cues, gen_cues = spectra_cues(gt_block[:, :frames]), spectra_cues(gen_block[:, :frames])
            mask = gt_cues.power >= floor
            ipd_error = torch.angle(torch.polar(torch.ones_like(gt_cues.ipd), gt_cues.ipd - gen_cues.ipd)).abs()
            ild_error = (gt_cues.ild - gen_cues.ild).abs()
            ipd_sums.append(torch.where(mask, ipd_error, 0.0).sum(dim=1))
            ild_sums.append(torch.where(mask, ild_error, 0.0).sum(dim=1))
            counts.append(mask.sum(dim=1))
    count = int(torch.cat(counts).sum())
    return {
        "ipd_mae": math.fsum(torch.cat(ipd_sums).tolist()) / count,
        "ild_mae": math.fsum(torch.cat(ild_sums).tolist()) / count,
    }


def ipd_ild_mae(
    gt, gen, sample_rate: int, protocol: str = "isdrama", gen_sample_rate: int | None = None, **options
) -> dict[str, float]:
    """IPD and ILD MAE under ``protocol`` (``isdrama`` or ``strict``) of two binaural clips shaped (time, 2).

    ``gt`` and ``gen`` are numpy arrays or torch tensors, column 0 the left ear. A (2, time)
    array is refused with a message (see :func:`spatialeval.io.audio.as_time_channels`).

    Example:
        >>> import numpy as np
        >>> clip = np.random.default_rng(1).normal(0, 0.1, (16000, 2))
        >>> ipd_ild_mae(clip, clip, 16000, protocol="strict")
        {'ipd_mae': 0.0, 'ild_mae': 0.0}
    """
    if options:  # keywords renamed since (infer_sample_rate → gen_sample_rate) are read with a note
        options = renamed_keywords(options, "ipd_ild_mae()")
        gen_sample_rate = options.pop("gen_sample_rate", gen_sample_rate)
    if protocol == "isdrama":
        return isdrama_ipd_ild_mae(gt, gen, sample_rate, gen_sample_rate)
    if protocol == "strict":
        return strict_ipd_ild_mae(gt, gen, sample_rate, gen_sample_rate, **options)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")


# --------------------------------------------------------------------------- batched, on the device


class IsdramaFeatureBatch(NamedTuple):
    """ISDrama's mel-projected maps of a batch: ``ipd`` and ``ild`` (B, frames_max, 128) float32 (zero past
    each item's frames) and ``frames`` (B,) int64."""

    ipd: torch.Tensor
    ild: torch.Tensor
    frames: torch.Tensor


def resample_batch_sinc(
    waves: torch.Tensor, lengths: torch.Tensor, sample_rate: int, *, kernel_dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`resample_sinc` to 32 kHz of a zero-padded batch; returns the waves and their new lengths (CPU).

    Samples past an item's length are zeroed first, so each item is resampled as if alone
    (the sinc filter reads zeros past the clip's end either way). ``kernel_dtype``: the arithmetic
    of the sinc kernel, as in the per-clip path (float32 for ``isdrama``, float64 for ``strict``).
    """
    if int(sample_rate) == TARGET_RATE:
        return waves, lengths
    divisor = math.gcd(int(sample_rate), TARGET_RATE)
    orig, new = int(sample_rate) // divisor, TARGET_RATE // divisor
    out = resample_sinc(zero_beyond(waves, lengths), int(sample_rate), TARGET_RATE, kernel_dtype=kernel_dtype)
    new_lengths = (lengths * new + orig - 1) // orig
    return zero_beyond(out, new_lengths), new_lengths


def check_batch_pair(gt: torch.Tensor, gen: torch.Tensor) -> None:
    """ValueError unless ``gt`` and ``gen`` are valid (B, 2, T) batches (finite) with the same number of items."""
    check_binaural_batch(gt, "gt")
    check_binaural_batch(gen, "gen")
    if gt.shape[0] != gen.shape[0]:
        raise ValueError(f"gt and gen must hold the same number of items, got {gt.shape[0]} and {gen.shape[0]}")


def isdrama_features_batch(
    waves: torch.Tensor,
    lengths: torch.Tensor | None = None,
    sample_rate: int = TARGET_RATE,
    *,
    items_per_pass: int | None = None,
    checked: bool = False,
) -> IsdramaFeatureBatch:
    """:func:`isdrama_features` of every item of a (B, 2, T) batch, on the batch's device.

    Item b is ``waves[b, :, :lengths[b]]`` (the whole T when ``lengths`` is None); samples past
    it are ignored, and the STFT reflects at each item's own end, so every item gets what it
    gets alone (up to float32 rounding). Computed in float32, as the release does.
    ``items_per_pass`` bounds how many items are transformed together (memory; default: the
    whole batch on an accelerator, one on CPU). ``checked=True`` skips validating ``waves``
    (for callers that already did).

    Raises:
        ValueError: for a tensor not shaped (B, 2, T), non-finite samples, bad lengths, or
            an item too short for the STFT.

    Example:
        >>> import numpy as np, torch
        >>> clips = torch.randn(2, 2, 8000) * 0.1
        >>> batch = isdrama_features_batch(clips, torch.tensor([8000, 5000]), 16000)
        >>> ipd, ild = isdrama_features(clips[1, :, :5000].T.numpy(), 16000)   # per clip: (time, 2)
        >>> int(batch.frames[1]) == len(ild), np.allclose(batch.ild[1, :len(ild)].numpy(), ild, atol=1e-4)
        (True, True)
    """
    if not checked:
        check_binaural_batch(waves)
    lengths = check_lengths(lengths, waves.shape[0], waves.shape[2])
    parts = []
    for rows in device_chunks(waves.shape[0], waves.device, items_per_pass):
        longest = int(lengths[rows].max())
        wave, new_lengths = resample_batch_sinc(
            waves[rows, :, :longest].to(torch.float32), lengths[rows], sample_rate, kernel_dtype=torch.float32
        )
        parts.append(mel_projected_cues_batch(wave, new_lengths))
    if len(parts) == 1:
        return IsdramaFeatureBatch(*parts[0])
    frames = max(part[0].shape[1] for part in parts)

    def padded(index: int) -> torch.Tensor:  # maps of every part, zero-padded to the most frames
        return torch.cat([torch.nn.functional.pad(p[index], (0, 0, 0, frames - p[index].shape[1])) for p in parts])

    return IsdramaFeatureBatch(padded(0), padded(1), torch.cat([p[2] for p in parts]))


def device_chunks(batch: int, device: torch.device, items_per_pass: int | None = None) -> list[slice]:
    """Slices of at most ``items_per_pass`` items; by default the whole batch on an accelerator and one item
    at a time on CPU, where per-item tensors stay in cache and need no padding to the longest item
    (measured faster there than whole-batch passes)."""
    step = int(items_per_pass) if items_per_pass else (1 if device.type == "cpu" else batch)
    step = max(1, step)
    return [slice(start, min(batch, start + step)) for start in range(0, batch, step)]


def isdrama_mae_batch(gt: torch.Tensor, gen: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """:func:`mae_over_time` per item: mean |gt − gen| over each item's first ``frames[b]`` rows, divided by ``frames[b]``.

    ``gt`` and ``gen`` are (B, F_gt, M) and (B, F_gen, M) maps; ``frames`` (B,) is the common frame
    count of each pair (the smaller of the two items' counts). Sums are taken in float64.

    Returns:
        (B,) float64 tensor on the maps' device.

    Example:
        >>> import torch
        >>> gt, gen = torch.zeros(1, 4, 2), torch.ones(1, 3, 2)
        >>> isdrama_mae_batch(gt, gen, torch.tensor([3])).tolist()   # mean 1, divided by 3 frames
        [0.3333333333333333]
    """
    frames = torch.as_tensor(frames, device=gt.device)
    rows = int(frames.max())
    diff = (gt[:, :rows].double() - gen[:, :rows].double()).abs()
    valid = torch.arange(rows, device=gt.device)[None, :] < frames[:, None]
    total = (diff * valid[:, :, None]).sum(dim=(1, 2))
    count = frames.double() * min(gt.shape[2], gen.shape[2])
    return total / count / frames.double()


def isdrama_ipd_ild_mae_batch(
    gt: torch.Tensor,
    gen: torch.Tensor,
    sample_rate: int,
    gen_sample_rate: int | None = None,
    gt_lengths=None,
    gen_lengths=None,
    *,
    items_per_pass: int | None = None,
) -> dict[str, torch.Tensor]:
    """:func:`isdrama_ipd_ild_mae` of each pair of two (B, 2, T) batches → {"ipd_mae", "ild_mae"} (B,) float64."""
    check_batch_pair(gt, gen)
    options = dict(items_per_pass=items_per_pass, checked=True)
    gt_feats = isdrama_features_batch(gt, gt_lengths, sample_rate, **options)
    gen_feats = isdrama_features_batch(gen.to(gt.device), gen_lengths, gen_sample_rate or sample_rate, **options)
    frames = torch.minimum(gt_feats.frames, gen_feats.frames)
    return {
        "ipd_mae": isdrama_mae_batch(gt_feats.ipd, gen_feats.ipd, frames),
        "ild_mae": isdrama_mae_batch(gt_feats.ild, gen_feats.ild, frames),
    }


def strict_ipd_ild_mae_batch(
    gt: torch.Tensor,
    gen: torch.Tensor,
    sample_rate: int,
    gen_sample_rate: int | None = None,
    gt_lengths=None,
    gen_lengths=None,
    floor_db: float = 60.0,
    *,
    items_per_pass: int | None = None,
) -> dict[str, torch.Tensor]:
    """:func:`strict_ipd_ild_mae` of each pair of two (B, 2, T) batches, in float64 on their device.

    ``items_per_pass`` as in :func:`isdrama_features_batch`.

    Returns {"ipd_mae", "ild_mae"}, each (B,) float64; NaN for a pair whose ground truth is silent.

    Example:
        >>> import torch
        >>> clip = torch.randn(2, 2, 16000, dtype=torch.float64) * 0.1
        >>> strict_ipd_ild_mae_batch(clip, clip, 16000)["ipd_mae"].tolist()
        [0.0, 0.0]
    """
    check_batch_pair(gt, gen)
    gt_lengths = check_lengths(gt_lengths, gt.shape[0], gt.shape[2], "gt_lengths")
    gen_lengths = check_lengths(gen_lengths, gen.shape[0], gen.shape[2], "gen_lengths")
    gen = gen.to(gt.device)
    parts = [
        _strict_chunk(
            gt[rows, :, : int(gt_lengths[rows].max())],
            gen[rows, :, : int(gen_lengths[rows].max())],
            gt_lengths[rows],
            gen_lengths[rows],
            sample_rate,
            gen_sample_rate or sample_rate,
            floor_db,
        )
        for rows in device_chunks(gt.shape[0], gt.device, items_per_pass)
    ]
    return {name: torch.cat([part[name] for part in parts]) for name in ("ipd_mae", "ild_mae")}


def _strict_chunk(
    gt: torch.Tensor,
    gen: torch.Tensor,
    gt_lengths: torch.Tensor,
    gen_lengths: torch.Tensor,
    sample_rate: int,
    gen_sample_rate: int,
    floor_db: float,
) -> dict[str, torch.Tensor]:
    gt_wave, gt_lengths = resample_batch_sinc(gt.to(torch.float64), gt_lengths, sample_rate, kernel_dtype=torch.float64)
    gen_wave, gen_lengths = resample_batch_sinc(
        gen.to(torch.float64), gen_lengths, gen_sample_rate, kernel_dtype=torch.float64
    )
    gt_cues, gen_cues = interaural_spectra_batch(gt_wave, gt_lengths), interaural_spectra_batch(gen_wave, gen_lengths)
    frames = torch.minimum(gt_cues.frames, gen_cues.frames)
    rows = int(frames.max())
    valid = torch.arange(rows, device=gt.device)[None, :, None] < frames[:, None, None]
    power = gt_cues.power[:, :rows] * valid  # frames past the common count cannot be the peak or pass the mask
    peak = power.amax(dim=(1, 2))
    mask = valid & (power >= (peak * 10.0 ** (-floor_db / 10.0))[:, None, None])
    delta = gt_cues.ipd[:, :rows] - gen_cues.ipd[:, :rows]
    ipd_error = torch.angle(torch.polar(torch.ones_like(delta), delta)).abs()
    ild_error = (gt_cues.ild[:, :rows] - gen_cues.ild[:, :rows]).abs()
    count = mask.sum(dim=(1, 2)).double()
    silent = peak <= 0.0
    nan = torch.tensor(math.nan, dtype=torch.float64, device=gt.device)
    return {
        "ipd_mae": torch.where(silent, nan, (ipd_error * mask).sum(dim=(1, 2)) / count),
        "ild_mae": torch.where(silent, nan, (ild_error * mask).sum(dim=(1, 2)) / count),
    }
