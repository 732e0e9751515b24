"""The mono-to-binaural speech table (Richard et al. 2021, BinauralGrad, DopplerBAS, BinauralFlow).

Definitions and the released codes' conventions are in :mod:`spatialeval.metrics.binaural_speech`.
Handling of inputs the released code cannot score (it raises or prints NaN):

* rates other than 48 kHz are resampled to 48 kHz (soxr HQ) for the four waveform/STFT metrics;
  PESQ resamples each clip from its own rate to 16 kHz with resampy ``kaiser_best``, as released;
* the released code needs equal lengths; pairs whose lengths differ by at most
  ``max_length_difference_s`` are cut to the common length (the end is dropped), longer
  differences leave every metric unmeasurable, with the reason;
* fewer than 1025 samples at 48 kHz: the STFT metrics are unmeasurable (the released STFT cannot
  pad them), ``wave_l2`` is still defined;
* a silent gt or generated clip: ``phase_l2`` is unmeasurable (no bin passes the energy mask),
  ``pesq`` too when the PESQ implementation finds no utterance; ``wave_l2``, ``amplitude_l2`` and
  ``mrstft`` are the errors against silence as defined.

The summary's plain means weight every item equally; ``summarize`` adds the released code's
sample-weighted means (``<metric>_sample_weighted``), which the papers print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import at_least, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class BinauralSpeechSettings:
    ignore_below: float = setting(
        0.2,
        help="phase error: bins below this fraction of the gt's mean |re|+|im| are ignored (evaluate.py: 0.2)",
        check=at_least(0),
    )
    max_length_difference_s: float = setting(
        0.0,
        help="pairs whose lengths differ by at most this are cut to "
        "the common length; 0: equal lengths only, as released",
        check=at_least(0),
    )


RICHARD = "Richard et al. ICLR 2021, facebookresearch/BinauralSpeechSynthesis evaluate.py + src/losses.py"
BINAURALGRAD = "Leng et al. 2022, microsoft/NeuralSpeech BinauralGrad metric.py (auraloss, speechmetrics)"


# Waveform-aligned like the released code: other lengths are unmeasurable ("lengths differ"); a silent
# generation leaves no bin for the phase mask and nothing for PESQ to align.
DEGENERATE = degenerate_outcomes("scored: the released definition", short="unmeasurable", long_gap="unmeasurable")
SILENCE_UNMEASURABLE = {**DEGENERATE, "silent": "unmeasurable"}


def _metric(
    name, label, description, reference, unit="", scale=1.0, higher=False, deps=("torch",), degenerate=DEGENERATE
):
    return MetricInfo(
        name,
        label,
        "binaural_speech",
        higher,
        description,
        unit=unit,
        scale=scale,
        dependencies=deps,
        reference=reference,
        degenerate=degenerate,
    )


class BinauralSpeechStage(Stage):
    name = "binaural_speech"
    Settings = BinauralSpeechSettings
    metrics = (
        _metric("wave_l2", "Wave L2", "mean squared waveform error, both channels", RICHARD, scale=1000.0),
        _metric(
            "amplitude_l2", "Amplitude", "mean | |STFT gen| − |STFT gt| | (2048 FFT, 40 ms, 100 Hz, 48 kHz)", RICHARD
        ),
        _metric(
            "phase_l2",
            "Phase",
            "mean wrapped phase difference over bins above 0.2 × mean gt energy",
            RICHARD,
            unit="rad",
            degenerate=SILENCE_UNMEASURABLE,
        ),
        _metric(
            "mrstft",
            "MRSTFT",
            "auraloss default multi-resolution STFT loss (spectral convergence + log mag)",
            BINAURALGRAD,
        ),
        _metric(
            "pesq",
            "PESQ",
            "wide-band PESQ, left channel, first 5 s at 16 kHz (resampy kaiser_best)",
            BINAURALGRAD,
            higher=True,
            deps=("pesq", "resampy"),
            degenerate=SILENCE_UNMEASURABLE,
        ),
    )
    extra_fields = ("samples_compared",)

    def describe(self):
        s = self.settings
        return {
            "method": "mono-to-binaural speech table (BinauralSpeechSynthesis evaluate.py; BinauralGrad metric.py)",
            "analysis_rate": 48000,
            "resampler": "soxr HQ to 48 kHz; PESQ: resampy kaiser_best to 16 kHz",
            "ignore_below": s.ignore_below,
            "max_length_difference_s": s.max_length_difference_s,
            "headline": "sample-weighted means (<metric>_sample_weighted), as the released code prints",
        }

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics import binaural_speech as bs

        gt_clip, gen_clip = item.gt.require_channels(2), item.gen.require_channels(2)
        gt48, gen48 = _at_48k(gt_clip), _at_48k(gen_clip)
        result = {name: math.nan for name in bs.METRIC_NAMES}
        unmeasurable: dict[str, str] = {}
        difference_s = abs(gt_clip.frames / gt_clip.sample_rate - gen_clip.frames / gen_clip.sample_rate)
        if difference_s > self.settings.max_length_difference_s + 0.5 / bs.RATE:
            reason = (
                f"lengths differ by {difference_s:.4f} s (> binaural_speech.max_length_difference_s = "
                f"{self.settings.max_length_difference_s}); the released evaluation needs equal lengths"
            )
            return {**result, "samples_compared": 0, "unmeasurable": dict.fromkeys(bs.METRIC_NAMES, reason)}
        n = min(gt48.shape[1], gen48.shape[1])
        gt48, gen48 = gt48[:, :n], gen48[:, :n]
        result["samples_compared"] = n
        result["wave_l2"] = bs.wave_l2(gen48, gt48)
        if self.wants("amplitude_l2", "phase_l2", "mrstft"):  # the STFTs serve only these three
            self._spectral(result, unmeasurable, gt48, gen48, n)
        if self.wants("pesq"):  # PESQ works on the clips at their own rates: independent of the rest
            result["pesq"], reason = _pesq(gen_clip, gt_clip)
            if reason:
                unmeasurable["pesq"] = reason
        if unmeasurable:
            result["unmeasurable"] = unmeasurable
        return result

    def _spectral(self, result: dict, unmeasurable: dict, gt48, gen48, n: int) -> None:
        """``amplitude_l2``, ``phase_l2`` and ``mrstft`` of the 48-kHz clips cut to ``n`` samples, into ``result``."""
        from spatialeval.metrics import binaural_speech as bs

        if n < bs.MIN_STFT_SAMPLES:
            reason = f"{n} samples at 48 kHz: the released STFT needs at least {bs.MIN_STFT_SAMPLES}"
            unmeasurable.update(dict.fromkeys(("amplitude_l2", "phase_l2", "mrstft"), reason))
        else:
            result["amplitude_l2"], result["phase_l2"] = bs.spectral_errors(gen48, gt48, self.settings.ignore_below)
            if math.isnan(result["phase_l2"]):
                unmeasurable["phase_l2"] = (
                    "no time-frequency bin of both gt and generated above "
                    f"{self.settings.ignore_below} × the gt's mean energy (silent clip)"
                )
            result["mrstft"] = bs.mrstft(gen48, gt48)

    def summarize(self, rows):
        from spatialeval.metrics.binaural_speech import METRIC_NAMES, sample_weighted_mean

        samples = [r.get("samples_compared", 0) for r in rows]
        names = [name for name in METRIC_NAMES if name in self.selected]
        means = {name: sample_weighted_mean([r.get(name) for r in rows], samples) for name in names}
        # None, not NaN, when no item was measured: summary.json stays strict JSON
        return {f"{name}_sample_weighted": None if math.isnan(v) else v for name, v in means.items()}


def _at_48k(clip):
    """``(2, T)`` float64 at 48 kHz (soxr HQ when resampling, as librosa.load does)."""
    import numpy as np

    samples = clip.samples.astype(np.float64)
    if clip.sample_rate != 48000:
        import soxr

        samples = soxr.resample(samples, clip.sample_rate, 48000, quality="HQ")
    return samples.T


def _pesq(gen_clip, gt_clip) -> tuple[float, str]:
    """PESQ from each clip at its own rate (cut to the common duration), or NaN and the reason."""
    import numpy as np
    from pesq import PesqError

    from spatialeval.metrics.binaural_speech import pesq_left_first_window

    seconds = min(gt_clip.seconds, gen_clip.seconds)
    gt = gt_clip.samples[: int(round(seconds * gt_clip.sample_rate))].astype(np.float64).T
    gen = gen_clip.samples[: int(round(seconds * gen_clip.sample_rate))].astype(np.float64).T
    try:
        return pesq_left_first_window(gen, gt, gt_clip.sample_rate, gen_clip.sample_rate), ""
    except (PesqError, ValueError) as exc:
        return math.nan, f"PESQ: {type(exc).__name__} ({exc})"
