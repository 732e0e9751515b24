"""Time × frequency IPD/ILD maps of a gt/generated pair, drawn in the report for the worst items.

The maps use the ISDrama analysis (32 kHz, 1024-point STFT, hop 320) in linear STFT
bins. For display, IPD is wrapped to (−π, π] and the IPD difference is the wrapped
phase difference; bins more than ``floor_db`` below a clip's peak power are masked
(NaN), because their phase and level ratio are noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spatialeval.features.spectral import ISDRAMA_ANALYSIS


class MapUnavailable(ValueError):
    """The pair's maps cannot be drawn (audio missing, not binaural, too short); the message says why."""


@dataclass
class InterauralMaps:
    """Masked cue maps, each (bins, frames) for plotting: frequency on axis 0, time on axis 1."""

    ipd_gt: np.ndarray
    ipd_gen: np.ndarray
    ipd_diff: np.ndarray
    ild_gt: np.ndarray
    ild_gen: np.ndarray
    ild_diff: np.ndarray
    seconds_gt: float
    seconds_gen: float
    seconds_common: float
    sample_rate: int = ISDRAMA_ANALYSIS.sample_rate
    hop_length: int = ISDRAMA_ANALYSIS.hop_length
    floor_db: float = 60.0

    @property
    def max_hz(self) -> float:
        return self.sample_rate / 2.0


def wrap_phase(phase: np.ndarray) -> np.ndarray:
    """Wrap angles to (−π, π].

    >>> wrap_phase(np.array([0.0, 3 * np.pi / 2, -3 * np.pi / 2])).round(4).tolist()
    [0.0, -1.5708, 1.5708]
    """
    wrapped = np.angle(np.exp(1j * phase))
    return np.where(wrapped == -np.pi, np.pi, wrapped)


def _binaural_32k(path: Path):
    import torch

    from spatialeval.features.resample import TARGET_RATE, resample_sinc
    from spatialeval.io.audio import AudioError, load_audio

    try:
        clip = load_audio(path)
    except AudioError as exc:
        raise MapUnavailable(str(exc)) from exc
    if clip.channels != 2:
        raise MapUnavailable(f"{path}: {clip.channels}-channel audio, IPD/ILD maps need 2 channels (binaural)")
    wave = torch.from_numpy(np.ascontiguousarray(clip.samples.T))
    return resample_sinc(wave, clip.sample_rate, TARGET_RATE), clip.seconds


def _mask(power: np.ndarray, floor_db: float) -> np.ndarray:
    """True where a bin is within ``floor_db`` of the clip's peak power."""
    peak = float(power.max())
    if peak <= 0:
        return np.zeros(power.shape, dtype=bool)
    return power >= peak * 10.0 ** (-floor_db / 10.0)


def compute_maps(gt_path: str | Path, gen_path: str | Path, floor_db: float = 60.0) -> InterauralMaps:
    """IPD/ILD maps of both clips and their differences (generated − gt, IPD difference wrapped).

    The difference covers the frames both clips have (the common leading part), like the metrics.
    Raises :class:`MapUnavailable` when either file cannot be used.
    """
    from spatialeval.features.interaural_spectra import interaural_spectra

    gt_wave, gt_seconds = _binaural_32k(Path(gt_path))
    gen_wave, gen_seconds = _binaural_32k(Path(gen_path))
    try:
        gt, gen = interaural_spectra(gt_wave), interaural_spectra(gen_wave)
    except ValueError as exc:
        raise MapUnavailable(str(exc)) from exc
    gt_valid = _mask(gt.power.numpy(), floor_db)
    gen_valid = _mask(gen.power.numpy(), floor_db)
    ipd_gt, ipd_gen = gt.ipd.numpy(), gen.ipd.numpy()
    ild_gt, ild_gen = gt.ild.numpy(), gen.ild.numpy()
    frames = min(ipd_gt.shape[0], ipd_gen.shape[0])
    common = gt_valid[:frames] & gen_valid[:frames]
    ipd_diff = np.where(common, wrap_phase(ipd_gen[:frames] - ipd_gt[:frames]), np.nan)
    ild_diff = np.where(common, ild_gen[:frames] - ild_gt[:frames], np.nan)

    def show(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return np.where(valid, values, np.nan).T.astype(np.float32)

    hop_seconds = ISDRAMA_ANALYSIS.hop_length / ISDRAMA_ANALYSIS.sample_rate
    return InterauralMaps(
        ipd_gt=show(wrap_phase(ipd_gt), gt_valid),
        ipd_gen=show(wrap_phase(ipd_gen), gen_valid),
        ipd_diff=ipd_diff.T.astype(np.float32),
        ild_gt=show(ild_gt, gt_valid),
        ild_gen=show(ild_gen, gen_valid),
        ild_diff=ild_diff.T.astype(np.float32),
        seconds_gt=gt_seconds,
        seconds_gen=gen_seconds,
        seconds_common=frames * hop_seconds,
        floor_db=floor_db,
    )
