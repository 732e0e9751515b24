"""The audio of the conformance suite: a speech gt and each degenerate generation, rendered offline.

The cases are those of :data:`spatialeval.metrics.registry.DEGENERATE_CASES`; their documented
outcomes live in each metric's declaration (``MetricInfo.degenerate``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from spatialeval.example import example_speech, example_transcripts
from spatialeval.metrics.registry import DEGENERATE_CASES
from spatialeval.synth import spatialize

SR = 32000
CLIP = "rms_glue"

__all__ = ["DEGENERATE_CASES", "SR", "speech_pair", "degenerate_generation", "write_pair", "write_degenerate_pairs"]


def speech_pair(
    azimuth_gt: float = 30.0, azimuth_gen: float = 45.0, clip: str = CLIP, seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The same sentence (its first ``seconds``) rendered through KEMAR at two directions, ``(time, 2)``, peak 0.5."""
    source = example_speech(clip, SR)
    if seconds is not None:
        source = source[: int(seconds * SR)]
    gt, gen = spatialize(source, SR, azimuth_gt), spatialize(source, SR, azimuth_gen)
    scale = 0.5 / max(np.abs(gt).max(), np.abs(gen).max())
    return gt * scale, gen * scale


def degenerate_generation(case: str, gt: np.ndarray, seed: int = 0) -> np.ndarray:
    """The generated clip of ``case`` (see ``DEGENERATE_CASES``) for the ground truth ``gt``."""
    n = len(gt)
    if case == "silent":
        return np.zeros_like(gt)
    if case == "dc":
        return np.full_like(gt, 0.5)
    if case == "noise":
        from spatialeval.synth.speech import pink_noise

        noise = np.stack([pink_noise(n / SR, SR, seed=seed)[:n], pink_noise(n / SR, SR, seed=seed + 1)[:n]], axis=1)
        return noise * (0.1 / np.sqrt(np.mean(noise**2)))  # −20 dBFS RMS
    if case == "clipped":
        return np.clip(gt * 8.0, -1.0, 1.0)
    if case == "short":
        return gt[: int(0.2 * SR)].copy()
    if case == "one_sample":
        return gt[n // 2 : n // 2 + 1].copy()
    if case == "long_gap":
        half = n // 2
        return np.concatenate([gt[:half], np.zeros((2 * SR, 2)), gt[half:]])
    raise ValueError(f"unknown degenerate case {case!r}")


def write_pair(root: Path, item_id: str, gt: np.ndarray, gen: np.ndarray, text: str | None = None) -> None:
    for side, audio in (("gt", gt), ("infer", gen)):
        path = root / side / f"{item_id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, SR, subtype="FLOAT")
    if text is not None:
        (root / "gt" / f"{item_id}.txt").write_text(text + "\n", encoding="utf-8")


def write_degenerate_pairs(root: Path) -> list[str]:
    """``root/gt`` and ``root/infer``: a ``control`` pair (speech vs speech 15° away) and one pair per case."""
    gt, gen = speech_pair(seconds=1.6)
    text = example_transcripts()[CLIP]
    write_pair(root, "control", gt, gen, text)
    for case in DEGENERATE_CASES:
        write_pair(root, case, gt, degenerate_generation(case, gt), text)
    return ["control", *DEGENERATE_CASES]
