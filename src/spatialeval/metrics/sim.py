"""Speaker similarity (SIM): cosine of speaker embeddings, generated vs. reference.

    SIM = e_gen · e_ref / (‖e_gen‖ ‖e_ref‖)

where ``e`` is a speaker embedding (:mod:`spatialeval.models.speaker`) of the clip
downmixed to mono as the mean of its channels and resampled to the encoder's rate
(16 kHz for every registered backend: resemblyzer, wavlm, wavlm-ecapa) with ``scipy.signal.resample_poly``. The reference is the
ground-truth clip, or the manifest's speaker prompt when ``sim.use_prompt`` is set (the
zero-shot TTS convention of seed-tts-eval). Range [-1, 1]; higher is more similar.
"""

from __future__ import annotations

import numpy as np

from spatialeval.features.resample import downmix_resample  # noqa: F401  (re-exported for notebook use)
from spatialeval.metrics.cosine_similarity import cosine


def speaker_similarity(embedding_gen: np.ndarray, embedding_ref: np.ndarray) -> float:
    """Cosine of two speaker embeddings; NaN if either is all zeros.

    Example:
        >>> speaker_similarity(np.array([0.6, 0.8]), np.array([0.6, 0.8]))
        1.0
        >>> round(speaker_similarity(np.array([1.0, 0.0]), np.array([0.6, 0.8])), 2)
        0.6
    """
    a = np.asarray(embedding_gen, dtype=np.float64).reshape(-1)
    b = np.asarray(embedding_ref, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in size: {a.size} vs {b.size}")
    return float(np.clip(cosine(a, b), -1.0, 1.0))
