"""Write the fixture pairs of the MBSTOI parity test (tests/data/intelligibility).

KEMAR renders (spatialeval.synth.kemar.spatialize) of the shipped speech
(src/spatialeval/data/speech), stored as 16-bit FLAC so that every reader decodes the same
float values. Each pair exercises one thing the Clarity implementation must agree on: identical
audio, additive noise at several SNRs (independent per ear, and a spatial noise source that the EC
stage can cancel), another direction, a gain, a time offset, reverberation, a mono downmix on both
ears, another voice, another rate (44.1 kHz and 10 kHz: no resampling), and a generated clip
20 ms longer than the gt (spatialeval cuts it to the gt's length; the reference is run on the cut
pair). Run from the repository root:

    PYTHONPATH=src python scripts/make_intelligibility_pairs.py
"""

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import fftconvolve

from spatialeval.synth.kemar import spatialize

SPEECH = Path("src/spatialeval/data/speech")
OUT = Path("tests/data/intelligibility")
RATE = 16000


def speech(name: str) -> np.ndarray:
    audio, rate = sf.read(SPEECH / f"{name}.wav", dtype="float64")
    assert rate == RATE
    return audio


def render(mono: np.ndarray, azimuth: float, peak: float = 0.5) -> np.ndarray:
    out = spatialize(mono, RATE, azimuth)
    return out * (peak / np.max(np.abs(out)))


def with_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return clean + gain * noise


def main() -> None:
    rng = np.random.default_rng(18)
    well = speech("slt_well")
    gt = render(well, 30)
    n = len(gt)
    white = rng.standard_normal((n, 2))
    spatial_noise = render(rng.standard_normal(n), -60)
    decay = np.exp(-6.9 * np.arange(int(0.4 * RATE)) / (0.4 * RATE))  # T60 = 0.4 s
    rir = rng.standard_normal((decay.size, 2)) * decay[:, None] * 0.05
    rir[0] = 1.0
    reverb = np.stack([fftconvolve(gt[:, ear], rir[:, ear])[:n] for ear in (0, 1)], axis=1)
    other = render(speech("rms_well")[:n], 30)
    n_other = len(other)
    pairs = {
        "same": (gt, gt, RATE),
        "noise_10db": (gt, with_snr(gt, white, 10), RATE),
        "noise_0db": (gt, with_snr(gt, white, 0), RATE),
        "noise_m10db": (gt, with_snr(gt, white, -10), RATE),
        "spatial_noise_m5db": (gt, with_snr(gt, spatial_noise, -5), RATE),
        "other_direction": (gt, render(well, -45), RATE),
        "quieter_12db": (gt, gt * 10 ** (-12 / 20), RATE),
        "offset_10ms": (gt, np.concatenate([np.zeros((160, 2)), gt[:-160]]), RATE),
        "reverb": (gt, reverb * (0.5 / np.max(np.abs(reverb))), RATE),
        "mono_both_ears": (gt, np.repeat(gt.mean(axis=1, keepdims=True), 2, axis=1), RATE),
        "other_voice": (gt[:n_other], other, RATE),
        "rate_44k_noise_5db": (
            *(soxr.resample(x, RATE, 44100, quality="VHQ") for x in (gt, with_snr(gt, white, 5))),
            44100,
        ),
        "rate_10k_noise_5db": (
            *(soxr.resample(x, RATE, 10000, quality="VHQ") for x in (gt, with_snr(gt, white, 5))),
            10000,
        ),
        "longer_infer": (gt, np.concatenate([with_snr(gt, white, 5), 0.01 * white[:320]]), RATE),
    }
    for side in ("gt", "infer"):
        (OUT / side).mkdir(parents=True, exist_ok=True)
    for name, (a, b, rate) in pairs.items():
        for side, audio in (("gt", a), ("infer", b)):
            sf.write(OUT / side / f"{name}.flac", np.clip(audio, -1, 32767 / 32768), rate, subtype="PCM_16")


if __name__ == "__main__":
    main()
