"""Content-keyed cache of per-clip features (e.g. ground-truth BAT embeddings).

A key is the SHA-256 of the audio file's bytes plus everything that changes the feature
(protocol, model checkpoint hash, settings), so re-evaluating new generations against the
same ground truth computes the gt side once. Entries are written atomically.

An entry that cannot be read back whole — truncated, empty, not a zip, a missing or
malformed array, whatever exception reading it raises — is deleted and recomputed, never
trusted; :attr:`FeatureCache.stats` counts hits, misses, writes and discarded entries for the
run summary.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from spatialeval.io.files import atomic_write_bytes


class FeatureCache:
    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root else None
        self.stats: Counter = Counter()

    @staticmethod
    def key(audio_sha256: str, **settings) -> str:
        blob = json.dumps({"audio": audio_sha256, **settings}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, namespace: str, key: str) -> Path:
        assert self.root is not None
        return self.root / namespace / key[:2] / f"{key}.npz"

    def get(self, namespace: str, key: str | None, required: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None (absent, or damaged and now deleted).

        ``required`` names arrays the entry must hold; an entry lacking one counts as damaged.
        """
        if self.root is None or not key:
            return None
        path = self._path(namespace, key)
        if not path.is_file():
            self.stats["misses"] += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}  # each read whole, a fresh array
            missing = [name for name in required if name not in arrays]
            if missing:
                raise KeyError(f"entry lacks {', '.join(missing)}")
        except Exception:  # any damage: BadZipFile, EOFError, KeyError, ValueError, OSError, ...
            self.stats["discarded"] += 1
            path.unlink(missing_ok=True)
            return None
        self.stats["hits"] += 1
        return arrays

    def put(self, namespace: str, key: str | None, arrays: dict[str, np.ndarray]) -> None:
        if self.root is None or not key:
            return
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(self._path(namespace, key), buffer.getvalue())
        self.stats["writes"] += 1
