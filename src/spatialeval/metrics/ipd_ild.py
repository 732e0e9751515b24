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

from spatialeval.features.interaural import interaural_spectra, mel_projected_cues
from spatialeval.features.resample import TARGET_RATE, resample_sinc
from spatialeval.features.threads import single_threaded

PROTOCOLS = ("isdrama", "strict")


def _as_channels_first(samples: np.ndarray | torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Accept (time, 2) like soundfile or (2, time) like torch; return (2, time)."""
    tensor = torch.as_tensor(np.asarray(samples)).to(dtype)
    if tensor.ndim != 2 or 2 not in tensor.shape:
        raise ValueError(f"expected a 2-channel array, got shape {tuple(tensor.shape)}")
    return tensor if tensor.shape[0] == 2 and tensor.shape[1] != 2 else tensor.T.contiguous()


def isdrama_features(samples, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """ISDrama's mel-projected (IPD, ILD) features, each float32 (T, 128), at 32 kHz.

    Computed on one thread so the values do not depend on the core count (see
    :mod:`spatialeval.features.threads`).
    """
    with single_threaded():
        wave = resample_sinc(_as_channels_first(samples, torch.float32), int(sample_rate), TARGET_RATE)
        return mel_projected_cues(wave)


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
                       floor_db: float = 60.0) -> dict[str, float]:
    """Wrapped, energy-masked IPD MAE (radians) and ILD MAE (dB) over common frames.

    A bin counts when the ground truth's louder ear is within ``floor_db`` of the
    clip's loudest bin. When the ground truth is digital silence no bin counts: both are
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
        gt_wave = resample_sinc(_as_channels_first(gt, torch.float64), int(sample_rate), TARGET_RATE)
        inf_wave = resample_sinc(_as_channels_first(infer, torch.float64), int(infer_sample_rate or sample_rate),
                                 TARGET_RATE)
        gt_cues, inf_cues = interaural_spectra(gt_wave), interaural_spectra(inf_wave)
    frames = min(gt_cues.frames, inf_cues.frames)
    power = gt_cues.power[:frames]
    peak = float(power.max())
    if peak <= 0.0:
        reason = "the ground truth is digital silence: no time-frequency bin carries interaural cues"
        return {"ipd_mae": math.nan, "ild_mae": math.nan, "unmeasurable": {"ipd_mae": reason, "ild_mae": reason}}
    mask = power >= peak * 10.0 ** (-floor_db / 10.0)
    ipd_error = torch.angle(torch.polar(torch.ones_like(power), gt_cues.ipd[:frames] - inf_cues.ipd[:frames])).abs()
    ild_error = (gt_cues.ild[:frames] - inf_cues.ild[:frames]).abs()
    return {"ipd_mae": float(ipd_error[mask].mean()), "ild_mae": float(ild_error[mask].mean())}


def ipd_ild_mae(gt, infer, sample_rate: int, protocol: str = "isdrama", infer_sample_rate: int | None = None,
                **options) -> dict[str, float]:
    """IPD and ILD MAE under ``protocol`` (``isdrama`` or ``strict``); arrays are (time, 2) or (2, time).

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
