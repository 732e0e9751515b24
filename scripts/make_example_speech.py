"""Synthesise the speech that ships with spatialeval for its example pairs (``spatialeval example``).

Run once, by hand, on a machine with ``flite`` (``apt-get install -y flite``); the WAVs it writes
under ``src/spatialeval/data/speech/`` are committed and packaged, so users never need flite::

    .venv/bin/python scripts/make_example_speech.py

Three Harvard sentences (IEEE 1969 recommended practice for speech quality measurements, public
domain), each spoken by two of flite's voices (``rms`` male, ``slt`` female; CMU ARCTIC voices,
distributed with flite under its BSD-style licence), resampled to 16 kHz with
``scipy.signal.resample_poly`` and written as 16-bit mono PCM at a −6 dBFS peak;
``transcripts.json`` holds the sentences.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import soundfile as sf
from make_speech_fixtures import RATE, synthesise  # the same flite → 16 kHz rule (scripts/ is on sys.path)

OUT = Path(__file__).resolve().parents[1] / "src" / "spatialeval" / "data" / "speech"
SENTENCES = {
    "glue": "glue the sheet to the dark blue background",
    "chicken": "these days a chicken leg is a rare dish",
    "well": "it is easy to tell the depth of a well",
}
VOICES = ("rms", "slt")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    texts = {}
    for key, text in SENTENCES.items():
        for voice in VOICES:
            name = f"{voice}_{key}"
            sf.write(OUT / f"{name}.wav", synthesise(voice, text), RATE, subtype="PCM_16")
            texts[name] = text
    (OUT / "transcripts.json").write_text(json.dumps(texts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
