"""Decoding audio files into validated float arrays.

Every failure is raised as :class:`AudioError` with a message that names the file
and what is wrong with it, so the pipeline can record it against one item and go on.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf


class AudioError(ValueError):
    """An audio file that cannot be evaluated (unreadable, empty, wrong shape, non-finite)."""


@dataclass(frozen=True)
class AudioClip:
    """Decoded audio: ``samples`` is float64 of shape (frames, channels), as soundfile returns it."""

    samples: np.ndarray
    sample_rate: int
    path: str = ""
    subtype: str = ""
    sha256: str = field(default="", compare=False)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def seconds(self) -> float:
        return self.frames / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        """Downmix to mono as the mean of the channels (the rule stated in every result)."""
        return self.samples.mean(axis=1)

    def require_channels(self, expected: int = 2) -> "AudioClip":
        if self.channels != expected:
            kind = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}-channel")
            raise AudioError(f"{self.path}: expected {expected}-channel (binaural) audio, got {kind}")
        return self


def as_mono_signal(audio, consumer: str) -> np.ndarray:
    """``audio`` as a non-empty 1-D float64 array, or a ValueError naming ``consumer`` (e.g. "ASR")."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1:
        raise ValueError(f"{consumer} expects mono audio (1-D), got shape {audio.shape}")
    if audio.size == 0:
        raise ValueError(f"{consumer} got an empty signal")
    return audio


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def load_audio(path: str | Path, *, min_seconds: float = 0.0) -> AudioClip:
    """Read ``path`` with soundfile as float64 and check that it is usable.

    Raises :class:`AudioError` for unreadable or corrupt files, files with no samples,
    clips shorter than ``min_seconds`` and clips containing NaN or infinite samples.
    The file's SHA-256 is recorded for content-keyed caching.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: file not found")
    try:
        with sf.SoundFile(str(path)) as handle:
            sample_rate = int(handle.samplerate)
            subtype = handle.subtype
            samples = handle.read(dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: cannot decode audio ({exc})") from exc
    if samples.size == 0 or samples.shape[0] == 0:
        raise AudioError(f"{path}: file contains no samples")
    if sample_rate <= 0:
        raise AudioError(f"{path}: invalid sample rate {sample_rate}")
    if not np.all(np.isfinite(samples)):
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise AudioError(f"{path}: {bad} NaN or infinite samples")
    seconds = samples.shape[0] / sample_rate
    if seconds < min_seconds:
        raise AudioError(f"{path}: clip is {seconds * 1000:.1f} ms long, shorter than the {min_seconds * 1000:.0f} ms minimum")
    return AudioClip(samples=samples, sample_rate=sample_rate, path=str(path), subtype=subtype, sha256=file_sha256(path))
