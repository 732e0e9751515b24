"""Content-keyed cache of per-clip features (e.g. ground-truth BAT embeddings).

A key is the SHA-256 of the audio file's bytes plus everything that changes the feature
(protocol, model checkpoint hash, settings), so re-evaluating new generations against the
same ground truth computes the gt side once. Entries are written atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


class FeatureCache:
    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root else None

    @staticmethod
    def key(audio_sha256: str, **settings) -> str:
        blob = json.dumps({"audio": audio_sha256, **settings}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, namespace: str, key: str) -> Path:
        assert self.root is not None
        return self.root / namespace / key[:2] / f"{key}.npz"

    def get(self, namespace: str, key: str) -> dict[str, np.ndarray] | None:
        if self.root is None:
            return None
        path = self._path(namespace, key)
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError):  # a damaged entry is recomputed, never trusted
            return None

    def put(self, namespace: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.root is None:
            return
        path = self._path(namespace, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
