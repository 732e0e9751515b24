"""A deterministic stand-in for StereoCRW's ``FreeMusic-StereoCRW-1024.pth.tar``, for tests and parity runs.

Exactly the released network's keys and shapes (``tests/data/bewo/stereocrw_keys.json``), saved as the
release's ``main.py`` saves (``{'epoch', 'state_dict', 'optimizer'}``, keys prefixed ``module.`` as
from ``nn.DataParallel``), with pseudo-random weights: it exercises the code, it localises nothing.

Fill rule (``scripts/bewo_crw_reference.py`` loads the same file into the released model): one
``numpy.random.default_rng(seed)`` stream, keys visited in sorted order, each draw float64 then cast to
float32; convolutions ~ N(0, 2 / fan_in) (He), ``fc.weight`` ~ N(0, 1 / 512), ``fc.bias`` ~ N(0, 0.01);
BatchNorm weights ~ 1 + N(0, 0.1²), biases and running means ~ N(0, 0.1²), running variances ~ 1 + U(0, 0.5);
``num_batches_tracked`` = 0 and ``trans.window`` = the periodic Hann window, without a draw.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from spatialeval.models.stereocrw import N_FFT, StereoCRWEncoder


def _draw(key: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    leaf = key.rpartition(".")[2]
    if len(shape) == 4:  # convolution kernels
        return rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), size=shape)
    if key == "net.fc.weight":
        return rng.normal(0.0, np.sqrt(1.0 / shape[1]), size=shape)
    if key == "net.fc.bias":
        return rng.normal(0.0, 0.01, size=shape)
    if leaf == "running_var":
        return 1.0 + rng.uniform(0.0, 0.5, size=shape)
    if leaf == "weight":  # BatchNorm scale
        return 1.0 + rng.normal(0.0, 0.1, size=shape)
    return rng.normal(0.0, 0.1, size=shape)  # BatchNorm bias and running mean


def build_test_state_dict(seed: int = 0) -> "OrderedDict[str, torch.Tensor]":
    """The seed's stand-in tensors under the released names (without the ``module.`` prefix)."""
    with torch.device("meta"):
        template = StereoCRWEncoder().state_dict()
    rng = np.random.default_rng(seed)
    values = {}
    for key in sorted(template):
        shape = tuple(template[key].shape)
        if key.endswith("num_batches_tracked"):
            values[key] = torch.zeros(shape, dtype=torch.int64)
        elif key == "trans.window":
            values[key] = torch.hann_window(N_FFT)
        else:
            values[key] = torch.from_numpy(_draw(key, shape, rng).astype(np.float32))
    return OrderedDict((key, values[key]) for key in template)


def write_test_checkpoint(path: str | Path, seed: int = 0) -> Path:
    """Write the seed's stand-in checkpoint (≈ 20 MB) to ``path`` in the released file layout; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = OrderedDict((f"module.{key}", value) for key, value in build_test_state_dict(seed).items())
    optimizer = {"state": {}, "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": list(range(len(state)))}]}
    torch.save({"epoch": 1, "state_dict": state, "optimizer": optimizer}, str(path))
    return path
