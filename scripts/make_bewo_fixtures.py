"""Write the short BEWO parity clips (tests/data/bewo/{gt,infer}) from the fixture pairs.

Half-second cut-outs keep the released GCC chain (100 frames × 513 patches) fast while covering
directions, a gain, a time offset, unequal lengths, additive noise and other sample rates.
Run: python scripts/make_bewo_fixtures.py tests/data/pairs tests/data/bewo
"""

import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def cut(path: Path, start_s: float, seconds: float):
    audio, sr = sf.read(path, dtype="float64")
    a = int(start_s * sr)
    return audio[a : a + int(seconds * sr)], sr


def main(pairs: str, out: str) -> None:
    pairs_dir, out_dir = Path(pairs), Path(out)
    (out_dir / "gt").mkdir(parents=True, exist_ok=True)
    (out_dir / "infer").mkdir(parents=True, exist_ok=True)
    cases = {}
    for name in ("same", "az_shift_small", "az_shift_large", "front_back", "quieter", "rate_16k", "rate_mixed"):
        cases[name] = (
            cut(pairs_dir / "gt" / f"{name}.wav", 1.0, 0.5),
            cut(pairs_dir / "infer" / f"{name}.wav", 1.0, 0.5),
        )
    gt = cut(pairs_dir / "gt" / "az_shift_small.wav", 1.0, 0.5)
    cases["offset_37ms"] = (gt, cut(pairs_dir / "gt" / "az_shift_small.wav", 1.037, 0.5))
    cases["unequal_lengths"] = (
        cut(pairs_dir / "gt" / "longer_infer.wav", 0.8, 0.5),
        cut(pairs_dir / "infer" / "longer_infer.wav", 0.8, 0.8),
    )
    noisy = gt[0] + np.random.default_rng(18).normal(scale=0.3 * np.std(gt[0]), size=gt[0].shape)
    cases["noise_10db"] = (gt, (noisy / max(1.0, np.max(np.abs(noisy))), gt[1]))
    for name, ((a, sr_a), (b, sr_b)) in cases.items():
        sf.write(out_dir / "gt" / f"{name}.wav", a, sr_a, subtype="PCM_16")
        sf.write(out_dir / "infer" / f"{name}.wav", b, sr_b, subtype="PCM_16")


if __name__ == "__main__":
    main(*sys.argv[1:3])
