"""Binaural speech intelligibility of the generated clip, with the gt clip as the clean reference.

``mbstoi``: MBSTOI (Andersen et al. 2018), the Clarity challenge's binaural intelligibility
measure, as :mod:`spatialeval.metrics.mbstoi` computes it (equal to Clarity's implementation to
float64 rounding). ``haspi_be``: HASPI v2 better ear (Kates & Arehart 2021) for normal hearing, as
:mod:`spatialeval.metrics.haspi` computes it (equal to Clarity's ``haspi_v2_be`` within 2e-8, with
a fixed dither seed where Clarity draws from numpy's global state). Each metric of this stage is one entry of :data:`SCORERS`: a function of the
two ``(2, n)`` clips at one rate, aligned and cut to a common length here; a second binaural
intelligibility metric is one more ``MetricInfo`` and one more scorer.

Inputs the definition cannot score, and what this stage does with them:

* other rates: each clip is resampled from its own rate to the metric's rate (MBSTOI: FFT
  resampling to 10 kHz, Clarity's rule), so gt and generated clip may differ in rate; HASPI's ear
  model takes one rate: the generated clip is resampled to the gt's (polyphase) first;
* lengths that differ by at most ``max_length_difference_s``: both are cut to the shorter
  duration (the end of the longer is dropped; the released code needs equal lengths); a longer
  difference leaves the stage's metrics unmeasurable — the clips are not aligned;
* a silent or constant (DC) gt (no speech reference) or a generated clip more than 100 dB below
  the gt (digital silence: every correlation is 0/0): unmeasurable; a gt ear without speech
  (silent or constant) leaves ``haspi_be`` unmeasurable (HASPI of that ear is undefined) while
  MBSTOI, which scores both ears jointly, is scored;
* less than 30 frames (384 ms) of speech at 10 kHz left after MBSTOI's silent-frame removal:
  ``mbstoi`` unmeasurable; pairs shorter than ``haspi_min_seconds`` (1.25 s): ``haspi_be``
  unmeasurable — its network saturates on few envelope frames: two independent noises score
  0.998 at 20 ms, 0.97 at 0.3 s, 0.56 at 0.5 s, 0.01-0.53 at 1 s and 0.02-0.05 at 1.25 s;
* a gt never above 2.5 dB SL at ``haspi_level_db`` (e.g. speech at 1e-6 of full scale at the
  default 100 dB, or any clip at 0 dB): ``haspi_be`` unmeasurable; MBSTOI is level-free (1.0);
* NaN or infinite samples (files with them are refused by the loader): unmeasurable; mono or
  multichannel files are refused (the item fails: "expected 2-channel (binaural) audio");
* pairs longer than ``max_seconds`` (default 60 s): unmeasurable, before any array is built.
  Both measures hold whole-clip arrays (HASPI: 2 × 32 bands × samples at 24 kHz in float64, a few
  copies before the ear model went band by band); peak resident memory measured at 44.1 kHz:
  HASPI 0.54 / 1.9 / 1.7 GB for 10 / 30 / 60 s (the allocator's fragmentation, not live arrays,
  makes 30 s the worst: 0.75 GB traced), about 2 s of CPU per second of audio; MBSTOI 0.4 / 0.6 /
  0.9 GB. Live arrays grow by about 20 MB per second (HASPI) and 11 MB (MBSTOI): an hour-long
  pair would need some 70 GB.

What the definitions make of other inputs (scored, as the reference implementations score them):

* a generation delayed against the gt: MBSTOI compares the frames as they are (a 40 ms delay
  takes the same speech from 1.0 to 0.17), HASPI aligns the clips itself (±100 ms: still 1.0);
* a generation silent in one ear: MBSTOI's better-ear step prefers the ear with the larger ratio
  of gt to generated envelope variance, i.e. the silent one, whose correlation is 0, so MBSTOI
  falls to about 0; HASPI's better ear takes the other ear (about 1 for otherwise equal speech);
* only the selected metrics are scored (``Stage.selected``): ``--metrics haspi_be`` runs no
  MBSTOI and ``--metrics mbstoi`` no HASPI (the two scorers share nothing but the checks above;
  MBSTOI costs about a sixth of HASPI's time: 10 s at 44.1 kHz, 1.6 s against 9.5 s of CPU); the
  other metric is absent from the rows, and the selection is part of the run's identity, so a
  resumed or merged run never mixes rows of another selection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import at_least, in_range, positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class IntelligibilitySettings:
    max_length_difference_s: float = setting(
        0.05,
        help="pairs whose durations differ by at most this are cut to the shorter one; longer differences are "
        "unmeasurable (the measures compare time-aligned clips)",
        check=at_least(0),
    )
    max_seconds: float = setting(
        60.0,
        help="pairs longer than this (after the cut to the common duration) are unmeasurable: the measures hold "
        "whole-clip arrays, about 20 MB of memory and 2 s of CPU per second of audio (HASPI's ear model)",
        check=positive(),
    )
    haspi_min_seconds: float = setting(
        1.25,
        help="HASPI: shorter pairs leave haspi_be unmeasurable; its network saturates on few envelope frames "
        "(two independent noises score 0.99 at 20 ms, 0.97 at 0.3 s, about 0.5 at 1 s; 0.02-0.05 at 1.25 s)",
        check=at_least(0),
    )
    haspi_level_db: float = setting(
        100.0,
        help="HASPI: the sound level (dB SPL) of a clip whose RMS is 1 (Clarity's haspi_v2_be default: 100)",
        check=in_range(0, 140),
    )


ANDERSEN = (
    "Andersen, de Haan, Tan, Jensen 2018, Speech Communication 102 (MBSTOI); parity with "
    "pyclarity 0.9 clarity.evaluator.mbstoi"
)
KATES = (
    "Kates & Arehart 2021, Speech Communication 131 (HASPI v2); parity with pyclarity 0.9 "
    "clarity.evaluator.haspi.haspi_v2_be (fixed dither seed)"
)
#: A generated clip this far below the gt (RMS over both ears, 5 orders of magnitude as Clarity's
#: own zero-signal test) is digital silence for the measures: their correlations are 0/0.
SILENCE_RATIO = 1e-5
#: Growth of HASPI's live arrays per second of audio (tracemalloc, 44.1 kHz: 0.75 GB at 30 s; peak
#: resident memory, with the allocator's overhead: 1.9 GB at 30 s, 1.7 GB at 60 s): ``max_seconds``' message.
MEGABYTES_PER_SECOND = 20

DEGENERATE = degenerate_outcomes(
    "scored: the correlation of the gt's and the generation's speech envelopes (≈ 0: no speech)",
    silent="unmeasurable",
    short="unmeasurable",
    long_gap="unmeasurable",
    clipped="scored: intelligibility of the distorted speech",
)
#: The stage's rules decide silence and length first (as for MBSTOI); the ear model scores the rest.
HASPI_DEGENERATE = degenerate_outcomes(
    "scored: noise or a constant has no speech envelope, about 0.02-0.03",
    silent="unmeasurable",
    short="unmeasurable",
    long_gap="unmeasurable",
    clipped="scored: clipping keeps the speech envelope, so HASPI stays about 1 (it does not measure distortion)",
)


def _score_mbstoi(gt: np.ndarray, gt_rate: int, gen: np.ndarray, gen_rate: int, settings) -> float:
    """Each clip FFT-resampled to 10 kHz from its own rate (Clarity's rule), cut to one length, scored."""
    from spatialeval.metrics.mbstoi import RATE, mbstoi, to_analysis_rate

    gt, gen = to_analysis_rate(gt, gt_rate), to_analysis_rate(gen, gen_rate)
    n = min(gt.shape[1], gen.shape[1])
    return mbstoi(gt[:, :n], gen[:, :n], RATE)


def _score_haspi(gt: np.ndarray, gt_rate: int, gen: np.ndarray, gen_rate: int, settings) -> float:
    """The generated clip resampled to the gt's rate (the ear model takes one), cut to one length, scored
    at ``settings.haspi_level_db``; a clip never audible at that level is unmeasurable, the level named."""
    from spatialeval.features.resample import resample_polyphase
    from spatialeval.metrics.haspi import haspi_v2_better_ear

    gen = resample_polyphase(gen.T, gen_rate, gt_rate)
    n = min(gt.shape[1], gen.shape[0])
    level_db = settings.haspi_level_db
    try:
        return haspi_v2_better_ear(gt[:, :n].T, gen[:n], gt_rate, level_db)
    except ValueError as exc:
        raise ValueError(f"{exc} (at intelligibility.haspi_level_db = {level_db:g} dB SPL)") from exc


#: metric name → function of (gt, gt_rate, gen, gen_rate, stage settings) → value, the clips ``(2, n)``
#: float64 cut to one duration. A ValueError (e.g. ``TooShortForMBSTOI``) makes the metric unmeasurable, with its message.
SCORERS = {"mbstoi": _score_mbstoi, "haspi_be": _score_haspi}


class IntelligibilityStage(Stage):
    name = "intelligibility"
    Settings = IntelligibilitySettings
    metrics = (
        MetricInfo(
            "mbstoi",
            "MBSTOI",
            "intelligibility",
            True,
            "binaural intelligibility of the generation against the gt (modified binaural STOI, EC + better ear)",
            reference=ANDERSEN,
            degenerate=DEGENERATE,
        ),
        MetricInfo(
            "haspi_be",
            "HASPI v2 BE",
            "intelligibility",
            True,
            "better-ear HASPI v2 (normal hearing) of the generation against the gt, as the Clarity challenge scores it",
            reference=KATES,
            degenerate=HASPI_DEGENERATE,
        ),
    )
    extra_fields = ("intelligibility_seconds",)
    #: A report of this stage alone draws the maps of its least intelligible items.
    item_ranking = ("mbstoi", "haspi_be")

    def describe(self):
        return {
            "method": "MBSTOI (Andersen et al. 2018) and HASPI v2 better ear (Kates & Arehart 2021) as the Clarity "
            "challenge computes them, gt as clean reference",
            "analysis_rate": 10000,
            "resampler": "scipy.signal.resample (FFT) to int(n · 10000 / rate + 1) samples, per clip",
            "max_length_difference_s": self.settings.max_length_difference_s,
            "max_seconds": self.settings.max_seconds,
            "haspi": "HASPI v2 better ear, normal hearing, dither seed 0, gen resampled to the gt's rate (polyphase)",
            "haspi_level_db": self.settings.haspi_level_db,
            "haspi_min_seconds": self.settings.haspi_min_seconds,
        }

    def compute_one(self, item: LoadedPair):
        gt_clip, gen_clip = item.gt.require_channels(2), item.gen.require_channels(2)
        names = list(self.selected_fields)  # an unasked metric's scorer is never called
        result = {name: math.nan for name in names}
        difference_s = abs(gt_clip.seconds - gen_clip.seconds)
        limit = self.settings.max_length_difference_s
        if difference_s > limit + 0.5 / min(gt_clip.sample_rate, gen_clip.sample_rate):
            reason = (
                f"durations differ by {difference_s:.4f} s (> intelligibility.max_length_difference_s = {limit}): "
                "the clips are not time-aligned"
            )
            return {**result, "intelligibility_seconds": 0.0, "unmeasurable": dict.fromkeys(names, reason)}
        seconds = min(gt_clip.seconds, gen_clip.seconds)
        result["intelligibility_seconds"] = seconds
        if seconds > self.settings.max_seconds:
            reason = (
                f"{seconds:.1f} s of audio > intelligibility.max_seconds = {self.settings.max_seconds:g}: HASPI's ear "
                f"model needs at least {MEGABYTES_PER_SECOND} MB of memory per second of audio, "
                f"{seconds * MEGABYTES_PER_SECOND / 1024:.1f} GiB here (raise the setting to measure it)"
            )
            return {**result, "unmeasurable": dict.fromkeys(names, reason)}
        unmeasurable = {}
        gt = gt_clip.samples[: int(round(seconds * gt_clip.sample_rate))].astype(np.float64).T
        gen = gen_clip.samples[: int(round(seconds * gen_clip.sample_rate))].astype(np.float64).T
        reasons = _input_reasons(gt, gen, names)
        if "haspi_be" in names and not reasons.get("haspi_be") and seconds < self.settings.haspi_min_seconds:
            reasons["haspi_be"] = (
                f"{seconds:.3f} s of audio < intelligibility.haspi_min_seconds = {self.settings.haspi_min_seconds:g}: "
                "on so few envelope frames HASPI scores unrelated signals near 1"
            )
        for name in names:
            if reasons.get(name):
                unmeasurable[name] = reasons[name]
                continue
            try:
                result[name] = SCORERS[name](gt, gt_clip.sample_rate, gen, gen_clip.sample_rate, self.settings)
            except ValueError as exc:  # too little speech left to analyse, or never audible
                unmeasurable[name] = str(exc)
        if unmeasurable:
            result["unmeasurable"] = unmeasurable
        return result


def _input_reasons(gt: np.ndarray, gen: np.ndarray, names: list[str]) -> dict[str, str]:
    """metric → why the clips ``(2, n)`` cannot be scored by it ('' where they can)."""
    if not (np.isfinite(gt).all() and np.isfinite(gen).all()):
        return dict.fromkeys(names, "the audio contains NaN or infinite samples")
    # A constant (DC) carries no speech: measured around the mean, it is as silent as digital zero.
    gt_rms, gen_rms = float(np.sqrt(np.mean(gt**2))), float(np.sqrt(np.mean(gen**2)))
    if float(np.sqrt(np.mean(np.var(gt, axis=1)))) <= SILENCE_RATIO * gt_rms:
        return dict.fromkeys(names, "the gt clip is silent or constant: there is no speech to be intelligible")
    if gen_rms <= SILENCE_RATIO * gt_rms:
        reason = "the generated clip is silent (more than 100 dB below the gt): every envelope correlation is 0/0"
        return dict.fromkeys(names, reason)
    # HASPI is defined per ear and has no value for an ear whose reference carries no speech.
    ear_ac, ear_rms = np.sqrt(np.var(gt, axis=1)), np.sqrt(np.mean(gt**2, axis=1))
    dead = [side for side, ac, rms in zip(("left", "right"), ear_ac, ear_rms) if ac <= SILENCE_RATIO * rms]
    if dead and "haspi_be" in names:
        return {
            "haspi_be": f"the gt's {dead[0]} ear is silent or constant: HASPI of that ear, so the better ear, is undefined"
        }
    return {}
