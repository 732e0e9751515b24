"""Offline example data: binaural gt/gen pairs rendered from the speech that ships with spatialeval.

The sources are real (synthesised) English sentences (``spatialeval/data/speech``, see its
ATTRIBUTION.md), rendered at a direction with the MIT KEMAR HRIRs. Each pair varies one thing
between ground truth and "generated" audio, so every metric has something to tell apart:
identical, azimuth +15°, mirrored azimuth, −6 dB, pitch +30 % (phase-vocoder pitch shift, same
duration), and another voice saying the same sentence. The sentence of each pair is written beside
its gt file (``.txt``), so CER is scored against the text that was spoken.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from spatialeval.synth import spatialize

SAMPLE_RATE = 32000
CONDITIONS = ("same", "azimuth_plus15", "mirrored", "quieter_6db", "pitch_up_30pct", "other_voice")
SENTENCES = ("glue", "chicken", "well")
VOICES = ("rms", "slt")


@lru_cache(maxsize=1)
def example_transcripts() -> dict[str, str]:
    """What each packaged speech clip says, by clip name (``rms_glue``, ...)."""
    text = resources.files("spatialeval.data").joinpath("speech/transcripts.json").read_text(encoding="utf-8")
    return json.loads(text)


def example_speech(name: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A packaged speech clip (mono float64) resampled to ``rate``."""
    with resources.files("spatialeval.data").joinpath(f"speech/{name}.wav").open("rb") as handle:
        mono, native = sf.read(handle, dtype="float64")
    divisor = math.gcd(rate, native)
    return resample_poly(mono, rate // divisor, native // divisor)


def _pitch_up(mono: np.ndarray, factor: float) -> np.ndarray:
    import librosa

    return librosa.effects.pitch_shift(mono, sr=SAMPLE_RATE, n_steps=12.0 * math.log2(factor))


def _render(condition: str, sentence: str, voice: str, azimuth: float) -> tuple[np.ndarray, np.ndarray]:
    source = example_speech(f"{voice}_{sentence}")
    gt = spatialize(source, SAMPLE_RATE, azimuth)
    if condition == "same":
        gen = gt.copy()
    elif condition == "azimuth_plus15":
        gen = spatialize(source, SAMPLE_RATE, azimuth + 15.0)
    elif condition == "mirrored":
        gen = spatialize(source, SAMPLE_RATE, -azimuth)
    elif condition == "quieter_6db":
        gen = gt * 10.0 ** (-6.0 / 20.0)
    elif condition == "pitch_up_30pct":
        gen = spatialize(_pitch_up(source, 1.3), SAMPLE_RATE, azimuth)
    elif condition == "other_voice":
        other = VOICES[(VOICES.index(voice) + 1) % len(VOICES)]
        gen = spatialize(example_speech(f"{other}_{sentence}"), SAMPLE_RATE, azimuth)
    else:
        raise ValueError(f"unknown condition {condition!r}")
    peak = max(np.abs(gt).max(), np.abs(gen).max(), 1e-9)
    scale = 0.8 / peak  # one gain for both sides keeps their level difference
    return gt * scale, gen * scale


def write_example_pairs(out_dir: str | Path, n_pairs: int = 6, seed: int = 0) -> list[str]:
    """Write ``out_dir/gt/spkK/NAME.wav`` (+ ``.txt``) and ``out_dir/gen/...`` (32 kHz, 16-bit, stereo); return the ids."""
    out_dir = Path(out_dir)
    ids = []
    for index in range(n_pairs):
        condition = CONDITIONS[index % len(CONDITIONS)]
        sentence, voice = SENTENCES[index % len(SENTENCES)], VOICES[(index // len(SENTENCES)) % len(VOICES)]
        item_id = f"spk{index % 2 + 1}/utt{index:03d}_{condition}"
        azimuth = float(np.random.default_rng(seed + index).choice([30.0, 60.0, 300.0]))
        gt, gen = _render(condition, sentence, voice, azimuth)
        for side, audio in (("gt", gt), ("gen", gen)):
            path = out_dir / side / f"{item_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
        (out_dir / "gt" / f"{item_id}.txt").write_text(
            example_transcripts()[f"{voice}_{sentence}"] + "\n", encoding="utf-8"
        )
        ids.append(item_id)
    return ids
