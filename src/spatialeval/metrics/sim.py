"""Speaker similarity (SIM): cosine of speaker embeddings, generated vs. reference.

    SIM = e_gen · e_ref / (‖e_gen‖ ‖e_ref‖)

where ``e`` is a speaker embedding (:mod:`spatialeval.models.speaker`) of the clip
downmixed to mono as the mean of its channels and resampled to the encoder's rate
(16 kHz for both backends) with ``scipy.signal.resample_poly``. The reference is the
ground-truth clip, or the manifest's speaker prompt when ``sim.use_prompt`` is set (the
zero-shot TTS convention of seed-tts-eval). Range [-1, 1]; higher is more similar.
"""
from __future__ import annotations

import numpy as np

from spatialeval.features.resample import downmix_resample  # noqa: F401  (re-exported for notebook use)
from spatialeval.io.audio import as_time_channels
from spatialeval.metrics.cosine import cosine


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


def sim(gt: np.ndarray, gen: np.ndarray, sample_rate: int, gen_sample_rate: int | None = None, encoder=None) -> float:
    """Speaker similarity of two clips (numpy or torch, shaped (time,) or (time, channels)): cosine of resemblyzer embeddings.

    A (channels, time) array is refused with a message (see :func:`spatialeval.io.audio.as_time_channels`);
    a clip without speech raises :class:`spatialeval.models.speaker.NoSpeech`.

    Both clips are downmixed (mean of channels) and resampled to the encoder's rate. Pass a
    loaded ``encoder`` (:func:`spatialeval.models.speaker.load_speaker_encoder`) to reuse it across calls.

    Example:
        >>> import numpy as np
        >>> from spatialeval.synth import speech_like
        >>> voice = speech_like(2.0, 16000, seed=1)
        >>> round(sim(voice, voice, 16000), 3)
        1.0
    """
    if encoder is None:
        from spatialeval.models.speaker import ResemblyzerEncoder

        encoder = _default_encoder(ResemblyzerEncoder)
    rate = encoder.sample_rate
    embeddings = [encoder.embed(downmix_resample(as_time_channels(audio, "sim"), sr, rate))
                  for audio, sr in ((gen, gen_sample_rate or sample_rate), (gt, sample_rate))]
    return speaker_similarity(*embeddings)


_ENCODERS: dict = {}


def _default_encoder(cls):
    # One model per process: loading resemblyzer's weights costs more than embedding a clip.
    if cls not in _ENCODERS:
        _ENCODERS[cls] = cls("cpu")
    return _ENCODERS[cls]
