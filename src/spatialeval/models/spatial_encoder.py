"""Spatial encoders: models that map fixed-length binaural windows to named embeddings.

A :class:`SpatialEncoder` is the backend of the ANG/Dis-style cosine stage and keeps the
:class:`~spatialeval.models.backend.Backend` contract (``load`` from the ``bat`` settings, ``describe``,
``one``/``batch``): it says its input ``sample_rate`` and ``window_samples``, the ``embeddings`` it
produces (by name, e.g. ``azi`` for direction and ``dis`` for distance) and the ``devices`` it runs on.
Its ``batch`` takes an array of windows and returns one array per embedding, a row per window. A second
encoder is one subclass registered in :data:`spatialeval.models.registry.SPATIAL_ENCODERS`; the stage
needs no change.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from spatialeval.errors import StageUnavailable
from spatialeval.models.backend import Backend

_LOADED: dict = {}  # the last loaded BAT checkpoint, by (path, size, mtime, device)
_TWINS: dict = {}  # autocast dtype → (the loaded model, its twin with the linear layers in that dtype)


def autocast_twin(model, dtype):
    """``model`` with the weights and biases of every ``nn.Linear`` stored in ``dtype``, the rest as it is.

    Under autocast a linear layer computes in the autocast dtype from its float32 weights rounded to that
    dtype, and it rounds them again on every forward pass (about 86 M values per batch for ViT-B). The twin
    holds them rounded once, by the same round-to-nearest cast, so it computes the same numbers under the
    same autocast; measured on this CPU, ~5-10 % less time per bf16 batch. Built once per loaded model.
    """
    import copy

    from torch import nn

    entry = _TWINS.get(dtype)
    if entry is None or entry[0] is not model:  # identity, not id(): the twin is of this very model
        twin = copy.deepcopy(model)
        for module in twin.modules():
            if isinstance(module, nn.Linear):
                module.to(dtype)
        _TWINS[dtype] = entry = (model, twin)
    return entry[1]


class SpatialEncoder(Backend):
    label: ClassVar[str] = "spatial encoder"
    sample_rate: int = 32000
    window_samples: int = 320000
    embeddings: tuple[str, ...] = ("azi", "dis")
    #: Encoders run windows through the model ``batch_size`` at a time.
    supports_batch = True
    #: Hash of the weights, recorded in the summary and in cache keys.
    sha256: str = ""

    def describe(self) -> dict[str, Any]:
        return {"model": self.name}

    def embed(self, windows, batch_size: int = 8, autocast: str | None = None) -> dict[str, np.ndarray]:
        """The embeddings of several windows (:meth:`batch`, under its callers' name)."""
        return self.batch(windows, batch_size, autocast)

    def one(self, window) -> dict[str, np.ndarray]:
        """The embeddings of one (2, window_samples) window: ``{embedding name: (dim,) float32}``."""
        return {name: rows[0] for name, rows in self.batch(window[None]).items()}

    def batch(self, windows, batch_size: int = 8, autocast: str | None = None) -> dict[str, np.ndarray]:
        """(n, 2, window_samples) float32 windows (numpy, or a tensor already on the device) →
        ``{embedding name: (n, dim) float32}``, ``batch_size`` windows per forward pass."""
        raise NotImplementedError

    def head_logits(self, embeddings: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """Trained direction/distance heads applied to ``embeddings`` (``azimuth``, ``elevation``,
        ``distance`` logits per window), or None for an encoder without such heads."""
        return None


class BATEncoder(SpatialEncoder):
    """BAT's Spatial-AST (Zheng et al. 2024) from ``finetuned.pth``: token 1 → direction (``azi``), token 0 → distance (``dis``)."""

    name = "bat"
    devices = ("cpu", "cuda")

    def __init__(self, loaded, device: str = "cpu"):
        self.loaded, self.device, self.sha256 = loaded, device, loaded.sha256

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "BATEncoder":
        from spatialeval.models.checkpoint import WHERE_TO_GET, load_bat, resolve_checkpoint

        # Only the absence of any configured checkpoint skips the stage; a checkpoint that was
        # configured but cannot be used raises CheckpointError (a usage error: exit code 2).
        path = resolve_checkpoint(settings.checkpoint)
        if path is None:
            raise StageUnavailable(f"no BAT checkpoint found. {WHERE_TO_GET}")
        stat = Path(path).stat()
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, str(device))
        if key not in _LOADED:  # stages of one run (bat, trajectory) share one copy of the weights
            _LOADED.clear()
            _TWINS.clear()
            _LOADED[key] = load_bat(path, device)
        return cls(_LOADED[key], device)

    def describe(self) -> dict[str, Any]:
        return {
            "model": "BAT Spatial-AST (ViT-B, 3 class tokens)",
            "checkpoint": self.loaded.path,
            "checkpoint_sha256": self.loaded.sha256,
        }

    def batch(self, windows, batch_size: int = 8, autocast: str | None = None) -> dict[str, np.ndarray]:
        import torch

        from spatialeval.precision import AUTOCAST_DTYPES

        directions, distances = [], []
        batch = max(1, int(batch_size))
        device_type = torch.device(self.device).type
        dtype = AUTOCAST_DTYPES[autocast] if autocast else None
        context = torch.autocast(device_type, dtype=dtype) if dtype else contextlib.nullcontext()
        model = autocast_twin(self.loaded.model, dtype) if dtype else self.loaded.model
        with torch.no_grad():
            for start in range(0, len(windows), batch):
                chunk = windows[start : start + batch]
                chunk = (
                    chunk.to(self.device)
                    if isinstance(chunk, torch.Tensor)
                    else torch.from_numpy(chunk).to(self.device)
                )
                with context:
                    out = model(chunk)
                directions.append(out.direction.float().cpu().numpy())
                distances.append(out.distance.float().cpu().numpy())
        return {"azi": np.concatenate(directions), "dis": np.concatenate(distances)}

    def head_logits(self, embeddings: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """BAT's azimuth/elevation heads on the direction embeddings, its distance head on the distance
        embeddings (linear layers, so cached embeddings suffice; computed in float32 on the CPU)."""
        import torch

        model = self.loaded.model
        with torch.no_grad():
            direction = torch.from_numpy(np.ascontiguousarray(embeddings["azi"], dtype=np.float32))
            distance = torch.from_numpy(np.ascontiguousarray(embeddings["dis"], dtype=np.float32))
            device = next(model.parameters()).device
            logits = model.head_logits(direction.to(device), distance.to(device))
        return {
            "azimuth": logits.azimuth.float().cpu().numpy(),
            "elevation": logits.elevation.float().cpu().numpy(),
            "distance": logits.distance.float().cpu().numpy(),
        }
