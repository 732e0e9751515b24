"""Deterministic test and example audio (never used by the metrics themselves).

* :mod:`~spatialeval.synth.speech` — mono sources: :func:`speech_like`, :func:`pink_noise`;
* :mod:`~spatialeval.synth.kemar` — :func:`spatialize` with the MIT KEMAR HRIRs;
* :mod:`~spatialeval.synth.heads` — head models independent of KEMAR (rigid sphere, exact
  Rayleigh series; Brown & Duda 1998 spherical-head filter) for validating the cue metrics;
* :mod:`~spatialeval.synth.reverb` — diffuse reverberant tails with a controlled RT60 and DRR;
* :mod:`~spatialeval.synth.scene` — :func:`render`: one call for any head, with optional reverberation.

Conventions (the same everywhere in spatialeval): binaural arrays are ``(time, 2)`` with
channel 0 = left ear; azimuth in degrees counter-clockwise seen from above, 0 = front,
90 = left, 180 = back, 270 (or −90) = right; elevation 0 = ear level, 90 = overhead.

``load_kemar``, ``HRIRSet`` and ``angular_distance_deg`` live in :mod:`spatialeval.io.hrir`
and are re-exported here for compatibility.
"""

from spatialeval.io.hrir import (
    KEMAR_ELEVATION_RANGE,
    HRIRSet,
    angular_distance_deg,
    load_kemar,
)
from spatialeval.synth.heads import render_head
from spatialeval.synth.kemar import spatialize
from spatialeval.synth.scene import ALL_HEADS, render
from spatialeval.synth.speech import pink_noise, speech_like

__all__ = [
    "ALL_HEADS",
    "KEMAR_ELEVATION_RANGE",
    "HRIRSet",
    "angular_distance_deg",
    "load_kemar",
    "pink_noise",
    "render",
    "render_head",
    "spatialize",
    "speech_like",
]
