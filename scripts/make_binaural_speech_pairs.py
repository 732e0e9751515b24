"""Write the 48 kHz fixture pairs of the mono-to-binaural speech parity test (tests/data/binaural_speech).

Derived from tests/data/pairs (32 kHz): resampled to 48 kHz with soxr VHQ, cut to 1.5 s, stored as
16-bit FLAC (lossless; 16-bit so that soundfile, torchaudio and spatialeval decode the same
float values). Each pair exercises one case the released code must agree on: identical audio,
direction changes, a gain (on a 1 s clip, so that sample weighting matters), a time offset, additive noise, a different speaker, a length mismatch
(the released code needs equal lengths: its driver truncates, spatialeval does under
``max_length_difference_s``). Run from the repository root:

    PYTHONPATH=src python scripts/make_binaural_speech_pairs.py
"""

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SRC = Path("tests/data/pairs")
OUT = Path("tests/data/binaural_speech")
RATE = 48000
SECONDS = 1.5


def load48(side: str, name: str) -> np.ndarray:
    audio, rate = sf.read(SRC / side / f"{name}.wav", dtype="float64", always_2d=True)
    return soxr.resample(audio, rate, RATE, quality="VHQ")


def cut(audio: np.ndarray, seconds: float = SECONDS) -> np.ndarray:
    return audio[: int(round(seconds * RATE))]


def main() -> None:
    rng = np.random.default_rng(18)
    gt = cut(load48("gt", "same"))
    pairs = {
        "same": (gt, gt),
        "az_shift_large": (cut(load48("gt", "az_shift_large")), cut(load48("infer", "az_shift_large"))),
        "front_back": (cut(load48("gt", "front_back")), cut(load48("infer", "front_back"))),
        "quieter_1s": (cut(gt, 1.0), cut(gt, 1.0) * 10 ** (-12 / 20)),
        "offset_5ms": (gt, np.concatenate([np.zeros((240, 2)), gt[:-240]])),
        "noise_10db": (gt, gt + rng.standard_normal(gt.shape) * np.sqrt(np.mean(gt**2) / 10)),
        "other_voice": (cut(load48("gt", "other_voice")), cut(load48("infer", "other_voice"))),
        "longer_infer": (cut(load48("gt", "az_shift_small")), cut(load48("infer", "az_shift_small"), SECONDS + 0.02)),
    }
    for side in ("gt", "infer"):
        (OUT / side).mkdir(parents=True, exist_ok=True)
    for name, (a, b) in pairs.items():
        for side, audio in (("gt", a), ("infer", b)):
            sf.write(OUT / side / f"{name}.flac", np.clip(audio, -1, 32767 / 32768), RATE, subtype="PCM_16")


if __name__ == "__main__":
    main()
