"""A deterministic stand-in for BAT's ``finetuned.pth``, for tests and offline demos.

It has exactly the real checkpoint's keys, shapes and dtypes and is saved the same way
(``{'model': state_dict, 'epoch': 0, 'args': argparse.Namespace(...)}``), but its
weights are pseudo-random: it exercises the code path, it does not localise anything.

Fill rule (shared with the workplace's reference generator, so seeds agree bit for bit):
one ``numpy.random.default_rng(seed)`` stream; keys visited in sorted order; each draw
in float64 then cast to float32; ``num_batches_tracked`` = 0 without a draw; the STFT
kernels and mel matrix hold their true values without a draw; the 3×3 downsampling conv
~ N(0, 0.1); LayerNorm/BatchNorm weights ~ 1 + N(0, 0.02); BatchNorm running means
~ N(0, 0.1) and running variances ~ 1 + U(0, 0.5); everything else ~ N(0, 0.02).
"""

from __future__ import annotations

import argparse
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from scipy.signal import get_window

from spatialeval.features.spectral import mel_matrix
from spatialeval.models.bat import N_FFT, SpatialAST

_NORM_LAYERS = ("norm1", "norm2", "dis_norm", "doa_norm", "fc_norm", "conv_downsample.1")


def _dft_kernels() -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary Conv1d kernels (bins, 1, n_fft) of a periodic-Hann-windowed DFT."""
    root_of_unity = np.exp(-2j * np.pi / N_FFT)
    exponents = np.outer(np.arange(N_FFT), np.arange(N_FFT // 2 + 1))
    windowed = np.power(root_of_unity, exponents) * get_window("hann", N_FFT, fftbins=True)[:, None]
    return (
        np.ascontiguousarray(windowed.real.T.astype(np.float32)[:, None, :]),
        np.ascontiguousarray(windowed.imag.T.astype(np.float32)[:, None, :]),
    )


def _draw(key: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    layer, _, leaf = key.rpartition(".")
    if key.endswith("running_mean"):
        return rng.normal(0.0, 0.1, size=shape)
    if key.endswith("running_var"):
        return 1.0 + rng.uniform(0.0, 0.5, size=shape)
    if key == "conv_downsample.0.weight":
        return rng.normal(0.0, 0.1, size=shape)
    if leaf == "weight" and layer.endswith(_NORM_LAYERS):
        return 1.0 + rng.normal(0.0, 0.02, size=shape)
    return rng.normal(0.0, 0.02, size=shape)


def build_test_state_dict(seed: int = 0) -> "OrderedDict[str, torch.Tensor]":
    template = SpatialAST().state_dict()
    real, imag = _dft_kernels()
    fixed = {
        "spectrogram_extractor.conv_real.weight": real,
        "spectrogram_extractor.conv_imag.weight": imag,
        "logmel_extractor.melW": mel_matrix(),
    }
    rng = np.random.default_rng(seed)
    values = {}
    for key in sorted(template):
        shape = tuple(template[key].shape)
        if key.endswith("num_batches_tracked"):
            array = np.zeros(shape, dtype=np.int64)
        elif key in fixed:
            array = fixed[key]
        else:
            array = _draw(key, shape, rng).astype(np.float32)
        values[key] = torch.from_numpy(np.require(array, requirements="C"))
    return OrderedDict((key, values[key]) for key in template)


def write_test_checkpoint(path: str | Path, seed: int = 0) -> Path:
    """Write the seed's stand-in checkpoint to ``path`` (about 350 MB) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": build_test_state_dict(seed),
        "epoch": 0,
        "args": argparse.Namespace(model="build_AST", nb_classes=355),
    }
    torch.save(payload, str(path))
    return path
