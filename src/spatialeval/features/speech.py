"""Is there speech in a clip? One decision shared by the CER and SIM stages.

A recogniser transcribes noise as words ("dog" for digital silence) and a speaker
encoder embeds noise as a voice, so a clip must be found to hold speech *before* either
model sees it. The rule (``RULE`` below, documented in docs/reliability.md) is
level-independent and reads only the signal:

1. Frames of 25 ms every 10 ms (Hann window); per frame the energy in the speech band
   100–4000 Hz (so DC, rumble and hiss above 4 kHz do not count), in dB.
2. *Syllabic modulation*: speech alternates loud vowels with quiet consonants and pauses,
   so its frame energies spread widely; stationary noise (white, pink, brown), a tone or a
   DC offset keep them within a few dB. A frame is *active* when its energy is at least
   ``MODULATION_DB`` above the clip's noise floor (the 10th percentile of frame energies).
3. *Not a pure tone*: in an active speech frame the band energy spreads over harmonics and
   formants; a frame whose three strongest FFT bins hold more than ``TONE_FRACTION`` of it
   is tonal and does not count.
4. The clip holds speech when at least ``MIN_SPEECH_SECONDS`` of active, non-tonal frames
   remain. All-zero (or nothing in the speech band) is "no speech" before any of this.

Known limit: noise switched on and off (bursts of noise between digital silence) is
modulated and broadband, so it reads as speech; a recogniser then decides what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.025
HOP_SECONDS = 0.010
BAND_HZ = (100.0, 4000.0)
MODULATION_DB = 10.0
FLOOR_PERCENTILE = 10.0
TONE_FRACTION = 0.9
MIN_SPEECH_SECONDS = 0.15

RULE = (
    f"speech present when at least {MIN_SPEECH_SECONDS:g} s of 25-ms frames have {BAND_HZ[0]:g}-{BAND_HZ[1]:g} Hz "
    f"energy >= {MODULATION_DB:g} dB above the clip's {FLOOR_PERCENTILE:g}th-percentile frame energy and are not "
    f"a pure tone (3 strongest bins < {TONE_FRACTION:g} of the band energy); level-independent "
    "(spatialeval.features.speech)"
)


@dataclass(frozen=True)
class SpeechPresence:
    """The decision, the seconds of speech-like frames behind it, and a reason when there is no speech."""

    has_speech: bool
    speech_seconds: float
    reason: str = ""


def speech_presence(audio: np.ndarray, sample_rate: int) -> SpeechPresence:
    """Decide whether mono ``audio`` holds speech (the rule in the module docstring).

    Args:
        audio: mono float samples, shape (time,).
        sample_rate: its rate in Hz (at least 8000, so the speech band fits).

    Returns:
        :class:`SpeechPresence`; ``reason`` says why a clip holds no speech.

    Raises:
        ValueError: audio that is not one-dimensional, or a rate below 8000 Hz.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> speech_presence(np.zeros(16000), 16000).has_speech
        False
        >>> speech_presence(rng.standard_normal(16000), 16000).reason
        'no syllabic modulation: stationary noise, a tone or silence (0.00 s speech-like)'
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"speech_presence takes mono audio shaped (time,), got shape {x.shape}")
    if sample_rate < 8000:
        raise ValueError(f"speech_presence needs a sample rate of at least 8000 Hz, got {sample_rate}")
    frame = int(round(FRAME_SECONDS * sample_rate))
    hop = int(round(HOP_SECONDS * sample_rate))
    if x.size < frame:
        return SpeechPresence(False, 0.0, f"too short to hold speech ({x.size} samples)")
    starts = np.arange(0, x.size - frame + 1, hop)
    frames = x[starts[:, None] + np.arange(frame)] * np.hanning(frame)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate)
    band = power[:, (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])]
    energy = band.sum(axis=1)
    if not np.any(energy > 0):
        return SpeechPresence(False, 0.0, "no energy in the speech band (digital silence or DC only)")
    # Relative to the loudest frame, so the rule does not depend on level; 1e-12 keeps log finite.
    level_db = 10.0 * np.log10(np.maximum(energy / energy.max(), 1e-12))
    floor_db = np.percentile(level_db, FLOOR_PERCENTILE)
    active = level_db >= floor_db + MODULATION_DB
    top3 = np.sort(band, axis=1)[:, -3:].sum(axis=1)
    tonal = top3 > TONE_FRACTION * np.maximum(energy, np.finfo(float).tiny)
    speech_seconds = float(np.count_nonzero(active & ~tonal)) * HOP_SECONDS
    if speech_seconds >= MIN_SPEECH_SECONDS:
        return SpeechPresence(True, speech_seconds)
    if np.count_nonzero(active) * HOP_SECONDS >= MIN_SPEECH_SECONDS:
        return SpeechPresence(
            False, speech_seconds, f"tonal only: a tone, not speech ({speech_seconds:.2f} s speech-like)"
        )
    return SpeechPresence(
        False,
        speech_seconds,
        f"no syllabic modulation: stationary noise, a tone or silence ({speech_seconds:.2f} s speech-like)",
    )
