"""The shared spatial-embedding service: encoder inputs of a clip, their cache key, and cached batched embeddings.

The ``bat`` stage, the ``trajectory`` stage (BAT per segment) and ``compare-sets`` (Fréchet distances of
embedding sets) all embed clips with the configured spatial encoder (:data:`spatialeval.models.registry.
SPATIAL_ENCODERS`); they depend on this module, not on each other, and share cache entries through
:func:`embedding_key`.
"""

from __future__ import annotations

import numpy as np

from spatialeval.pipeline.cache import FeatureCache


def encoder_inputs(
    clip, encoder, mode: str, normalize_dbfs: float | None, segment_seconds: float = 1.0, window_seconds: float = 10.0
) -> np.ndarray:
    """A binaural clip as the encoder's (n, 2, window) inputs (resample, loudness, windows: see
    :mod:`spatialeval.metrics.encoder_windows`)."""
    from spatialeval.features.resample import resample_polyphase
    from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize

    clip.require_channels(2)
    samples = loudness_normalize(
        resample_polyphase(clip.samples, clip.sample_rate, encoder.sample_rate), normalize_dbfs
    )
    return encoder_windows(
        samples,
        mode,
        segment_seconds,
        window_seconds,
        sample_rate=encoder.sample_rate,
        window_samples=encoder.window_samples,
    )


def embedding_key(settings, encoder, mode: str, segment_seconds: float) -> dict:
    """The :class:`FeatureCache` key fields of a clip's encoder embeddings in ``mode`` (namespace ``"bat"``).

    ``settings`` is the ``bat`` settings section (encoder, window_seconds, normalize_dbfs, autocast). The bat
    stage passes its own mode and segment length, the trajectory stage ``"segments"`` and its segment
    length; the rest comes from the ``bat`` settings, so both stages share entries.
    """
    key = {
        "ckpt": encoder.sha256,
        "mode": mode,
        "segment": segment_seconds,
        "window": settings.window_seconds,
        "dbfs": settings.normalize_dbfs,
        "autocast": settings.autocast,
        "v": 1,
    }
    if settings.encoder != "bat":  # keys of the default encoder stay as they were (existing caches remain valid)
        key["encoder"] = settings.encoder
    return key


def clip_embeddings(
    cache: FeatureCache,
    encoder,
    clips,
    key_fields: dict,
    windows,
    *,
    batch_size: int,
    autocast: str | None,
    windows_on_device=None,
    nonfinite=None,
) -> list:
    """Encoder embeddings of each clip, cached by content under ``FeatureCache.key(sha256, **key_fields)``.

    Cached entries are reused; the windows of the other clips (``windows(clip)`` each, or
    ``windows_on_device(clips, indices, results)`` for all of them) go through ``encoder.embed``
    together, ``batch_size`` per forward pass, and are stored; a clip whose file has the same bytes (SHA-256) as
    an earlier clip of the call gets that clip's embeddings (the same windows, embedded once). Per clip: ``{embedding name: (n, dim)}``,
    or the exception building its windows raised. A new entry holding NaN/Inf is never stored; it is
    replaced by ``nonfinite(clip)`` (an exception) when that is given.
    """
    names = encoder.embeddings
    results: list = [None] * len(clips)
    pending, keys = [], {}
    uncached = []
    first: dict[str, int] = {}  # key → the first clip of this call with it
    copies: dict[int, int] = {}  # a clip whose file has the same bytes as an earlier one's → that clip
    for index, clip in enumerate(clips):
        key = FeatureCache.key(clip.sha256, **key_fields) if clip.sha256 else None
        if key is not None and key in first:  # e.g. one gt paired with several generations: embedded once
            copies[index] = first[key]
            continue
        cached = cache.get("bat", key, required=names)
        if cached is not None:
            results[index] = cached
        else:
            keys[index] = key
            uncached.append(index)
        if key is not None:
            first[key] = index
    if windows_on_device is not None:
        pending, windows_all = windows_on_device(clips, uncached, results)
    else:
        for index in uncached:
            try:
                pending.append((index, windows(clips[index])))
            except Exception as exc:
                results[index] = exc
        windows_all = np.concatenate([w for _, w in pending]) if pending else None
    if pending:
        embedded = encoder.embed(windows_all, batch_size, autocast)
        offset = 0
        for index, clip_windows in pending:
            entry = {name: embedded[name][offset : offset + len(clip_windows)] for name in names}
            offset += len(clip_windows)
            if not all(np.isfinite(values).all() for values in entry.values()):
                results[index] = nonfinite(clips[index]) if nonfinite is not None else entry
                continue
            results[index] = entry
            cache.put("bat", keys[index], entry)
    for index, source in copies.items():
        done = results[source]
        results[index] = done if isinstance(done, Exception) else {name: done[name].copy() for name in done}
    return results
