"""The shared spatial-embedding service (:mod:`spatialeval.pipeline.embeddings`): clips with the same file
bytes in one call are embedded once, and every clip still gets its own embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.embeddings import clip_embeddings


@dataclass
class _Clip:
    sha256: str
    level: float


class _CountingEncoder:
    """Embeds a window as its mean level and counts the windows it was given."""

    embeddings = ("azi", "dis")

    def __init__(self):
        self.windows = 0

    def embed(self, windows, batch_size, autocast):
        self.windows += len(windows)
        level = windows.reshape(len(windows), -1).mean(axis=1, keepdims=True)
        return {"azi": np.repeat(level, 3, axis=1), "dis": -level}


def _windows(clip):
    return np.full((2, 2, 4), clip.level, dtype=np.float32)  # two windows per clip


def test_clips_with_the_same_bytes_are_embedded_once_and_each_gets_its_embeddings(tmp_path):
    clips = [_Clip("gt", 1.0), _Clip("gen-a", 2.0), _Clip("gt", 1.0), _Clip("gen-b", 3.0), _Clip("", 4.0)]
    encoder = _CountingEncoder()
    results = clip_embeddings(FeatureCache(None), encoder, clips, {"mode": "x"}, _windows, batch_size=8, autocast=None)
    assert encoder.windows == 2 * 4  # the repeated gt once; a clip without a hash is never merged
    for clip, result in zip(clips, results):
        np.testing.assert_array_equal(result["azi"], np.full((2, 3), clip.level, dtype=np.float32))
        np.testing.assert_array_equal(result["dis"], np.full((2, 1), -clip.level, dtype=np.float32))
    assert results[2]["azi"] is not results[0]["azi"]  # a copy: one row's consumer cannot change another's
    # with a cache directory: the same, and the entry is written once
    cache = FeatureCache(tmp_path)
    again = _CountingEncoder()
    clip_embeddings(cache, again, clips, {"mode": "x"}, _windows, batch_size=8, autocast=None)
    assert again.windows == 2 * 4 and cache.stats["writes"] == 3
