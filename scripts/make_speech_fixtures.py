"""Synthesise the small English speech fixtures under ``tests/data/speech/``.

Run once, by hand, on a machine with ``flite`` (``apt-get install -y flite``); the WAVs
it writes are committed, so the tests never need flite::

    .venv/bin/python scripts/make_speech_fixtures.py

Each utterance is a Harvard sentence (IEEE 1969 recommended practice, public domain)
spoken by one of flite's built-in diphone/cluster-unit voices (``rms`` male, ``slt``
female; flite was chosen over espeak-ng because pocketsphinx recognises its speech far
better: mean CER ≈ 0.1 against ≈ 0.6 for espeak-ng's formant voices), resampled to 16 kHz with ``scipy.signal.resample_poly`` and
written as 16-bit mono PCM; ``transcripts.json`` holds the text that was spoken.
One binaural copy (``*_binaural.wav``: the mono clip on both channels, the right one
6 dB quieter and 0.5 ms later) checks the downmix path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "speech"
RATE = 16000

# id -> (flite voice, sentence)
UTTERANCES = {
    "en_rms_glue": ("rms", "glue the sheet to the dark blue background"),
    "en_rms_chicken": ("rms", "these days a chicken leg is a rare dish"),
    "en_slt_well": ("slt", "it is easy to tell the depth of a well"),
}


def synthesise(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "out.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(target)], check=True)
        samples, rate = sf.read(target, dtype="float64", always_2d=True)
    mono = samples.mean(axis=1)
    divisor = gcd(rate, RATE)
    mono = resample_poly(mono, RATE // divisor, rate // divisor)
    return 0.5 * mono / np.max(np.abs(mono))  # peak at -6 dBFS


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    texts = {}
    for name, (voice, text) in UTTERANCES.items():
        mono = synthesise(voice, text)
        sf.write(OUT / f"{name}.wav", mono, RATE, subtype="PCM_16")
        texts[name] = text
        print(f"{name}: {len(mono) / RATE:.2f} s, voice {voice}")
    mono = sf.read(OUT / "en_rms_glue.wav", dtype="float64")[0]
    delay = int(round(0.0005 * RATE))
    right = 0.5 * np.concatenate([np.zeros(delay), mono[: len(mono) - delay]])
    sf.write(OUT / "en_rms_glue_binaural.wav", np.stack([mono, right], axis=1), RATE, subtype="PCM_16")
    texts["en_rms_glue_binaural"] = texts["en_rms_glue"]
    (OUT / "transcripts.json").write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
