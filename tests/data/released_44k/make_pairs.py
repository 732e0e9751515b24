"""Assembles the 44.1 kHz pairs of expected_isdrama.json from audio already in tests/data, as WAV (the
released code reads *.wav): OUT/gt/NAME.wav and OUT/infer/NAME.wav, PCM16, samples unchanged.

    python tests/data/released_44k/make_pairs.py OUT          # from the repository root

PAIRS is imported by tests/test_release_44k.py, which reads the same files directly.
"""

import sys
from pathlib import Path

import soundfile as sf

HASPI = "tests/data/intelligibility/haspi"
NOISE = "tests/data/intelligibility"
# name: (gt file, generated file); both 44.1 kHz binaural, PCM16, ~2 s
PAIRS = {
    "haspi_gt_vs_noise5db_gt": (f"{HASPI}/gt/rate44k.wav", f"{NOISE}/gt/rate_44k_noise_5db.flac"),
    "haspi_infer_vs_noise5db_infer": (f"{HASPI}/infer/rate44k.wav", f"{NOISE}/infer/rate_44k_noise_5db.flac"),
}

if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, files in PAIRS.items():
        for side, path in zip(("gt", "infer"), files):
            samples, rate = sf.read(path, dtype="int16")
            assert rate == 44100, (path, rate)
            (out / side).mkdir(parents=True, exist_ok=True)
            sf.write(out / side / f"{name}.wav", samples, rate, subtype="PCM_16")
