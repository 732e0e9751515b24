"""Offline example data: binaural gt/infer pairs synthesised from speech-like sources and KEMAR HRIRs.

Each pair varies one thing between ground truth and "generated" audio, so the metrics
have something to tell apart: identical, azimuth +15°, mirrored azimuth, −6 dB,
pitch +30 %, and another voice.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from spatialeval.synth import spatialize, speech_like

SAMPLE_RATE = 32000
CONDITIONS = ("same", "azimuth_plus15", "mirrored", "quieter_6db", "pitch_up_30pct", "other_voice")


def _render(condition: str, seconds: float, seed: int, azimuth: float) -> tuple[np.ndarray, np.ndarray]:
    source = speech_like(seconds, SAMPLE_RATE, f0=110.0 + 10.0 * (seed % 5), seed=seed)
    gt = spatialize(source, SAMPLE_RATE, azimuth)
    if condition == "same":
        infer = gt.copy()
    elif condition == "azimuth_plus15":
        infer = spatialize(source, SAMPLE_RATE, azimuth + 15.0)
    elif condition == "mirrored":
        infer = spatialize(source, SAMPLE_RATE, -azimuth)
    elif condition == "quieter_6db":
        infer = gt * 10.0 ** (-6.0 / 20.0)
    elif condition == "pitch_up_30pct":
        infer = spatialize(speech_like(seconds, SAMPLE_RATE, f0=1.3 * (110.0 + 10.0 * (seed % 5)), seed=seed),
                           SAMPLE_RATE, azimuth)
    elif condition == "other_voice":
        infer = spatialize(speech_like(seconds, SAMPLE_RATE, f0=210.0, seed=seed + 1000), SAMPLE_RATE, azimuth)
    else:
        raise ValueError(f"unknown condition {condition!r}")
    peak = max(np.abs(gt).max(), np.abs(infer).max(), 1e-9)
    scale = 0.8 / peak  # one gain for both sides keeps their level difference
    return gt * scale, infer * scale


def write_example_pairs(out_dir: str | Path, n_pairs: int = 6, seconds: float = 4.0, seed: int = 0) -> list[str]:
    """Write ``out_dir/gt/spkK/NAME.wav`` and ``out_dir/infer/...`` (32 kHz, 16-bit, stereo); return the ids."""
    out_dir = Path(out_dir)
    ids = []
    for index in range(n_pairs):
        condition = CONDITIONS[index % len(CONDITIONS)]
        item_id = f"spk{index % 2 + 1}/utt{index:03d}_{condition}"
        azimuth = float(np.random.default_rng(seed + index).choice([30.0, 60.0, 300.0]))
        gt, infer = _render(condition, seconds, seed + index, azimuth)
        for side, audio in (("gt", gt), ("infer", infer)):
            path = out_dir / side / f"{item_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
        ids.append(item_id)
    return ids
