"""Moving decoded clips onto the device in batches, for the stages' batched kernels.

Clips of one sample rate are zero-padded into one ``(B, 2, T)`` float32 tensor with their true
``lengths`` (every batched kernel treats item b as ``waves[b, :, :lengths[b]]``, reflecting at its
own end). On CUDA the host copy is page-locked first, so the transfer is asynchronous.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from spatialeval.io.audio import AudioClip


def to_device(array: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``device`` (from page-locked memory, non-blocking, on CUDA)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor


def by_rate(clips: list[AudioClip]) -> dict[int, list[int]]:
    """Indices of ``clips`` grouped by sample rate (insertion order kept)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, clip in enumerate(clips):
        groups[int(clip.sample_rate)].append(index)
    return dict(groups)


def padded_batch(clips: list[AudioClip], device: str | torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Binaural clips of one rate as a zero-padded (B, 2, T) float32 tensor on ``device`` and their lengths (B,).

    Example:
        >>> a = AudioClip(np.ones((3, 2), dtype=np.float32), 16000)
        >>> b = AudioClip(np.ones((5, 2), dtype=np.float32), 16000)
        >>> waves, lengths = padded_batch([a, b], "cpu")
        >>> tuple(waves.shape), lengths.tolist(), float(waves[0, 0, 4])
        ((2, 2, 5), [3, 5], 0.0)
    """
    longest = max(clip.frames for clip in clips)
    host = np.zeros((len(clips), 2, longest), dtype=np.float32)
    for row, clip in enumerate(clips):
        host[row, :, : clip.frames] = clip.samples.T
    return to_device(host, device), torch.tensor([clip.frames for clip in clips], dtype=torch.int64)
