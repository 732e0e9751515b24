"""Fixture pairs and expected values for the HASPI v2 better-ear parity test, from pyclarity's own code.

Two steps, two environments (pyclarity cannot live in the project venv: it pins another torch):

1. Render the pairs with spatialeval (KEMAR renders of the shipped speech), in the project venv:

       PYTHONPATH=src .venv/bin/python scripts/reference_haspi.py render tests/data/intelligibility/haspi

2. Score them with ``clarity.evaluator.haspi.haspi_v2_be`` in a separate venv holding only what
   its haspi modules import:

       python3 -m venv /tmp/clarity-h
       /tmp/clarity-h/bin/pip install numpy==2.4.6 scipy==1.17.1 numba
       /tmp/clarity-h/bin/pip install --no-deps pyclarity==0.9.0
       /tmp/clarity-h/bin/python scripts/reference_haspi.py expected tests/data/intelligibility/haspi \\
           > tests/data/intelligibility/expected_haspi.json

The released model adds a 0.1 dB Gaussian dither to the envelopes from numpy's *global* random
state (``clarity.evaluator.haspi.ebm.add_noise``), so it is not repeatable. For the expected
values that one function is replaced by the same dither drawn from
``numpy.random.default_rng(0)``, restarted for each ear (reference draw, then processed draw),
which is what spatialeval's ``haspi_v2_better_ear(dither_seed=0)`` does; everything else is
pyclarity's code unchanged. The spread the unseeded dither causes is measured too (``dither_spread``:
the released function run with 5 global seeds).

The listener has normal hearing (audiogram 0 dB HL at 250-6000 Hz on both ears); ``level`` is
pyclarity's default (100 dB SPL for RMS 1) except for the entries with ``level`` set.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

CLIP = "rms_glue"
SECONDS = 2.0
AZIMUTH_GT, AZIMUTH_OTHER = 30.0, -60.0
PEAK = 0.3

#: id → (sample rate, what the generated clip is). All pairs: the same sentence, gt at +30°.
PAIRS = {
    "same": (16000, "the gt itself"),
    "snr10": (16000, "gt + independent pink noise per ear at +10 dB SNR"),
    "snr0": (16000, "gt + pink noise at 0 dB SNR"),
    "snr_m10": (16000, "gt + pink noise at -10 dB SNR"),
    "direction": (16000, "the sentence rendered at -60 deg instead of +30 deg"),
    "gain_delay": (16000, "gt x 0.25 (-12 dB), delayed by 15 ms, so 15 ms longer"),
    "shorter": (16000, "the -60 deg render cut to its first 1.5 s (pyclarity crops both to 1.5 s)"),
    "rate44k": (44100, "gt + pink noise at 0 dB SNR, both at 44.1 kHz (resampled as 44 kHz)"),
}
#: extra scorings of existing pairs with another calibration
LEVEL_VARIANTS = {"snr0@65": ("snr0", 65.0)}
#: pairs scored by pyclarity with both clips cut to the shorter (``crop_to_shorter=True`` here)
CROPPED = ("shorter",)


def _add_noise(gt: np.ndarray, snr_db: float, sr: int, seed: int) -> np.ndarray:
    from spatialeval.synth.speech import pink_noise

    n = len(gt)
    noise = np.stack([pink_noise(n / sr, sr, seed=seed)[:n], pink_noise(n / sr, sr, seed=seed + 1)[:n]], axis=1)
    gain = np.sqrt(np.mean(gt**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return gt + gain * noise


def render(out_dir: str) -> None:
    import soundfile as sf

    from spatialeval.example import example_speech
    from spatialeval.synth import spatialize

    root = Path(out_dir)
    for item, (sr, _) in PAIRS.items():
        source = example_speech(CLIP, sr)[: int(SECONDS * sr)]
        gt = spatialize(source, sr, AZIMUTH_GT)
        other = spatialize(source, sr, AZIMUTH_OTHER)
        scale = PEAK / max(np.abs(gt).max(), np.abs(other).max())
        gt, other = gt * scale, other * scale
        if item == "same":
            gen = gt.copy()
        elif item.startswith("snr") or item == "rate44k":
            snr = {"snr10": 10.0, "snr0": 0.0, "snr_m10": -10.0, "rate44k": 0.0}[item]
            gen = _add_noise(gt, snr, sr, seed=7)
        elif item == "direction":
            gen = other
        elif item == "gain_delay":
            gen = np.concatenate([np.zeros((int(0.015 * sr), 2)), 0.25 * gt])
        elif item == "shorter":
            gen = other[: int(1.5 * sr)]
        peak = max(np.abs(gt).max(), np.abs(gen).max())
        if peak >= 1.0:
            gt, gen = gt * (0.99 / peak), gen * (0.99 / peak)
        for side, audio in (("gt", gt), ("infer", gen)):
            path = root / side / f"{item}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio, sr, subtype="PCM_16")
    (root / "README.md").write_text(
        "Fixture pairs for the HASPI v2 better-ear parity test, made by `scripts/reference_haspi.py render`.\n\n"
        + "\n".join(f"- `{item}` ({sr} Hz): {what}" for item, (sr, what) in PAIRS.items())
        + "\n"
    )


def _read(path: Path) -> tuple[np.ndarray, int]:
    """PCM-16 wav as float64 in [-1, 1), exactly as soundfile reads it (int / 32768)."""
    from scipy.io import wavfile

    sr, data = wavfile.read(path)
    assert data.dtype == np.int16, data.dtype
    return data.astype(np.float64) / 32768.0, sr


def expected(pairs_dir: str) -> None:
    from importlib.metadata import version

    import clarity.evaluator.haspi.ebm as ebm
    import clarity.evaluator.haspi.haspi as haspi_module
    import numba
    import scipy
    from clarity.utils.audiogram import Audiogram, Listener

    released_dither, released_haspi_v2 = ebm.add_noise, haspi_module.haspi_v2
    state: dict = {}

    def seeded_dither(envelope_db, dither_db):  # the released add_noise, with its draws from a known stream
        return envelope_db + dither_db * state["rng"].standard_normal(envelope_db.shape)

    def per_ear(*args, **kwargs):
        state["rng"] = np.random.default_rng(0)
        score, features = released_haspi_v2(*args, **kwargs)
        state.setdefault("ears", []).append({"haspi": float(score), "features": [float(v) for v in features]})
        return score, features

    audiogram = Audiogram(levels=np.zeros(6), frequencies=np.array([250, 500, 1000, 2000, 4000, 6000]))
    listener = Listener(audiogram_left=audiogram, audiogram_right=audiogram)
    root = Path(pairs_dir)

    def score(item: str, level: float | None, seeded: bool = True) -> dict:
        gt, sr = _read(root / "gt" / f"{item}.wav")
        gen, sr_gen = _read(root / "infer" / f"{item}.wav")
        assert sr == sr_gen
        ebm.add_noise = seeded_dither if seeded else released_dither
        haspi_module.haspi_v2 = per_ear if seeded else released_haspi_v2
        state.clear()
        kwargs = {} if level is None else {"level": level}
        value = haspi_module.haspi_v2_be(gt[:, 0], gt[:, 1], gen[:, 0], gen[:, 1], sr, listener, **kwargs)
        return {"haspi_be": float(value), "ears": state.get("ears", [])}

    out = {
        "produced_by": "scripts/reference_haspi.py expected (pyclarity clarity.evaluator.haspi.haspi_v2_be)",
        "versions": {
            "pyclarity": version("pyclarity"),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "numba": numba.__version__,
        },
        "listener": "normal hearing, 0 dB HL at 250-6000 Hz, both ears",
        "dither": "released add_noise drawing from numpy.random.default_rng(0), restarted per ear",
        "pairs": {},
    }
    for item, (sr, what) in PAIRS.items():
        entry = score(item, None)
        out["pairs"][item] = {"sample_rate": sr, "what": what, "level": 100.0, "crop_to_shorter": item in CROPPED}
        out["pairs"][item].update(entry)
    for name, (item, level) in LEVEL_VARIANTS.items():
        out["pairs"][name] = {"pair": item, "level": level, "crop_to_shorter": item in CROPPED, **score(item, level)}
    spread = {}
    for item in ("snr0", "direction"):
        values = []
        for seed in range(5):
            np.random.seed(seed)
            values.append(score(item, None, seeded=False)["haspi_be"])
        spread[item] = {"global_seeds_0_to_4": values, "max_minus_min": max(values) - min(values)}
    out["dither_spread"] = spread
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    {"render": render, "expected": expected}[sys.argv[1]](sys.argv[2])
