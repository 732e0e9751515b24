"""A test-only spatial encoder: BAT's input contract (32 kHz, 10-s binaural windows) and outputs (``azi``/``dis``
embeddings, azimuth/elevation/distance head logits) from a small seeded network, so suites that run the ``bat``
and ``trajectory`` stages many times stay fast. Registered with ``SPATIAL_ENCODERS.register("tiny", TinySpatialEncoder)``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from spatialeval.models.spatial_encoder import SpatialEncoder


class TinySpatialEncoder(SpatialEncoder):
    name = "tiny"
    seed = 0

    def __init__(self):
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        self.frames = torch.nn.Conv1d(2, 16, kernel_size=320, stride=320, bias=False)  # 10-ms frames of both ears
        self.azi = torch.nn.Linear(16, 32)
        self.dis = torch.nn.Linear(16, 32)
        self.heads = {
            "azimuth": torch.nn.Linear(32, 360),
            "elevation": torch.nn.Linear(32, 180),
            "distance": torch.nn.Linear(32, 21),
        }
        with torch.no_grad():
            for module in (self.frames, self.azi, self.dis, *self.heads.values()):
                for parameter in module.parameters():
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
        self.sha256 = hashlib.sha256(f"tiny-spatial-encoder-seed-{self.seed}".encode()).hexdigest()

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "TinySpatialEncoder":
        return cls()

    def describe(self):
        return {"model": "tiny test encoder", "checkpoint_sha256": self.sha256}

    def batch(self, windows, batch_size: int = 8, autocast: str | None = None) -> dict[str, np.ndarray]:
        import torch

        out = {"azi": [], "dis": []}
        with torch.no_grad():
            for start in range(0, len(windows), max(1, int(batch_size))):
                chunk = windows[start : start + batch_size]
                chunk = chunk if isinstance(chunk, torch.Tensor) else torch.from_numpy(np.asarray(chunk))
                pooled = torch.relu(self.frames(chunk.float())).mean(dim=-1)
                out["azi"].append(self.azi(pooled).numpy())
                out["dis"].append(self.dis(pooled).numpy())
        return {name: np.concatenate(parts) for name, parts in out.items()}

    def head_logits(self, embeddings):
        import torch

        with torch.no_grad():
            azi = torch.from_numpy(np.ascontiguousarray(embeddings["azi"], dtype=np.float32))
            dis = torch.from_numpy(np.ascontiguousarray(embeddings["dis"], dtype=np.float32))
            return {
                "azimuth": self.heads["azimuth"](azi).numpy(),
                "elevation": self.heads["elevation"](azi).numpy(),
                "distance": self.heads["distance"](dis).numpy(),
            }
