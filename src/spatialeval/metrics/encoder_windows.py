"""ANG/Dis-style metrics: cosines of spatial-encoder embeddings, gt vs. generated, averaged over windows.

The encoder input, as BAT's evaluation dataset prepares it (ISDrama uses it unchanged):

1. resample to the encoder's rate (32 kHz) with ``scipy.signal.resample_poly``;
2. scale the whole clip to ``target_dbfs`` RMS over all samples and channels
   (:func:`loudness_normalize`; gain = 10^((target − 20·log10 rms)/20), digital silence left as is);
3. cut into encoder inputs of exactly ``window`` samples (:func:`encoder_windows`):

   * ``first-window`` — the first window only (zero-padded), as ISDrama's released code;
   * ``segments`` — consecutive segments of ``segment_seconds`` (the paper's 1 s), each
     zero-padded to a whole encoder window;
   * ``windowed`` — consecutive whole windows covering the clip, the last zero-padded.

Per item, with E_gt(w), E_gen(w) the embeddings of window w and W = min(windows of gt, of gen):

    score = (1/W) Σ_{w<W} cos(E_gt(w), E_gen(w))

where ``cos`` is :func:`spatialeval.metrics.cosine_similarity.isdrama_cosine` (the release's quirks) under the
``isdrama`` protocol and the plain cosine under ``strict`` (:func:`window_cosine`).
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.metrics.cosine_similarity import cosine, isdrama_cosine
from spatialeval.names import renamed_value

MODES = ("first-window", "segments", "windowed")


def loudness_normalize(samples: np.ndarray, target_dbfs: float | None) -> np.ndarray:
    """Scale to ``target_dbfs`` RMS over all samples and channels; silence (or ``None``) is returned unchanged.

    Example:
        >>> x = np.full((100, 2), 0.5)
        >>> round(float(20 * np.log10(np.sqrt(np.mean(loudness_normalize(x, -14.0) ** 2)))), 6)
        -14.0
    """
    if target_dbfs is None:
        return samples
    rms = float(np.sqrt(np.mean(samples**2)))
    if rms == 0.0:
        return samples
    return samples * 10.0 ** ((target_dbfs - 20.0 * np.log10(rms)) / 20.0)


def encoder_windows(
    samples: np.ndarray,
    mode: str,
    segment_seconds: float = 1.0,
    window_seconds: float = 10.0,
    *,
    sample_rate: int = 32000,
    window_samples: int = 320000,
) -> np.ndarray:
    """Cut a (frames, 2) clip at the encoder's rate into (n, 2, window_samples) float32 encoder inputs.

    Example:
        >>> encoder_windows(np.ones((50000, 2)), "segments").shape   # 1.56 s in 1-s segments
        (2, 2, 320000)
        >>> encoder_windows(np.ones((50000, 2)), "first-window").shape
        (1, 2, 320000)
    """
    mode = renamed_value("bat.mode", mode, "encoder_windows()")  # the old name "isdrama" is read with a note
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    wave = samples.T.astype(np.float32)
    if mode == "first-window":
        pieces = [wave[:, :window_samples]]
    else:
        step = int(round((segment_seconds if mode == "segments" else window_seconds) * sample_rate))
        count = max(1, math.ceil(wave.shape[1] / step))
        pieces = [wave[:, i * step : (i + 1) * step] for i in range(count)]
    out = np.zeros((len(pieces), 2, window_samples), dtype=np.float32)
    for index, piece in enumerate(pieces):
        out[index, :, : piece.shape[1]] = piece[:, :window_samples]
    return out


def window_cosine(gt: np.ndarray, gen: np.ndarray, protocol: str = "isdrama") -> float:
    """Mean cosine of per-window embeddings ``(windows, dim)`` over the windows both clips have.

    Example:
        >>> a = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> window_cosine(a, np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), "strict")  # windows 0 and 1
        0.5
    """
    n = min(len(gt), len(gen))
    score = isdrama_cosine if protocol == "isdrama" else cosine
    return float(np.mean([score(gt[i], gen[i]) for i in range(n)]))
