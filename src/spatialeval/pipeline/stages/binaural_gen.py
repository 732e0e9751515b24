"""Binaural-generation benchmark metrics (FAIR-Play / 2.5D Visual Sound table) of generated vs. gt audio.

Definitions and the original evaluation's conventions (16 kHz, peak normalisation, STFT 512/160/400)
are in :mod:`spatialeval.metrics.binaural_gen`. These compare waveforms sample by sample, so they are
meant for mono-to-binaural output rendered from the gt's own signal; pairs whose lengths differ by
more than ``max_length_difference_s`` are unmeasurable, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import at_least, in_range, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class BinauralGenSettings:
    normalize: bool = setting(
        True, help="divide each clip by its peak over both channels first (as the 2.5D Visual Sound evaluation is run)"
    )
    analysis_rate: int = setting(
        16000, help="rate the clips are resampled to (the original evaluation's 16 kHz)", check=in_range(8000, 192000)
    )
    max_length_difference_s: float = setting(
        0.05, help="pairs whose lengths differ more are unmeasurable", check=at_least(0)
    )
    pad_mode: str = setting(
        "reflect",
        choices=("reflect", "constant"),
        help="STFT edge padding (librosa < 0.10 default, as the 2019 scripts ran)",
    )
    stack: str = setting(
        "librosa",
        choices=("librosa", "fairplay-2019"),
        help="librosa: float64, soxr_hq resampling (librosa >= 0.10); fairplay-2019: the stack the "
        "released evaluate.py ran on (float32, resampy kaiser_best; needs resampy)",
    )


FAIR_PLAY = "Gao & Grauman 2019, 2.5D Visual Sound evaluate.py (FAIR-Play); Mag/Phase as in PseudoBinaural/CCStereo"


# Waveform-aligned distances: a generation whose length differs from the gt's by more than
# max_length_difference_s is not aligned with it (unmeasurable); otherwise the definitions apply.
DEGENERATE = degenerate_outcomes("scored: the released distance", short="unmeasurable", long_gap="unmeasurable")
MASKED = (
    "spatialeval's own: FAIR-Play's L−R phase over the bins kept by the mask of Meta "
    "BinauralSpeechSynthesis PhaseLoss (not a published FAIR-Play column)"
)


def _gen_metric(
    name: str,
    label: str,
    description: str,
    unit: str = "",
    higher: bool = False,
    reference: str = FAIR_PLAY,
    degenerate=DEGENERATE,
) -> MetricInfo:
    return MetricInfo(
        name,
        label,
        "binaural_gen",
        higher,
        description,
        unit=unit,
        dependencies=("librosa",),
        reference=reference,
        degenerate=degenerate,
    )


class BinauralGenStage(Stage):
    name = "binaural_gen"
    Settings = BinauralGenSettings
    metrics = (
        _gen_metric("stft_distance", "STFT dist", "Σ_channels mean squared difference of the STFTs (real, imag)"),
        _gen_metric("envelope_distance", "ENV dist", "Σ_channels RMS difference of the Hilbert envelopes"),
        _gen_metric("magnitude_distance", "Mag dist", "Σ_channels mean |ΔSTFT|² (= 2 × STFT distance)"),
        _gen_metric(
            "lr_phase_distance",
            "L−R phase",
            "mean wrapped phase difference of STFT(L − R), every bin "
            "(FAIR-Play 'Phase'; near-silent bins' rounding noise dominates it)",
            unit="rad",
        ),
        _gen_metric(
            "lr_phase_distance_masked",
            "L−R phase (masked)",
            "mean wrapped phase difference of STFT(L − R) over bins above 0.1 × mean energy (Meta PhaseLoss mask)",
            unit="rad",
            reference=MASKED,
            degenerate={**DEGENERATE, "silent": "unmeasurable", "dc": "unmeasurable"},
        ),
        _gen_metric(
            "lr_magnitude_distance_db", "L−R mag dB", "RMS difference of the dB magnitude of STFT(L − R)", unit="dB"
        ),
        _gen_metric("wave_snr_db", "SNR", "waveform signal-to-noise ratio of generated vs. gt", unit="dB", higher=True),
    )
    extra_fields = ("length_difference_s",)

    def describe(self):
        s = self.settings
        return {
            "method": "FAIR-Play / 2.5D Visual Sound STFT and envelope distances, L−R magnitude and phase",
            "analysis_rate": s.analysis_rate,
            "normalize": s.normalize,
            "pad_mode": s.pad_mode,
            **(
                {"resampler": "resampy kaiser_best on float32 (librosa < 0.10, as the 2019 evaluation)"}
                if s.stack == "fairplay-2019"
                else {"resampler": "librosa soxr_hq (as librosa.load >= 0.10)"}
            ),
            "stack": s.stack,
            "max_length_difference_s": s.max_length_difference_s,
        }

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.binaural_gen import binaural_generation_metrics

        item.gt.require_channels(2)
        item.gen.require_channels(2)
        s = self.settings
        return binaural_generation_metrics(
            item.gt.samples,
            item.gen.samples,
            item.gt.sample_rate,
            item.gen.sample_rate,
            normalize=s.normalize,
            analysis_rate=s.analysis_rate,
            max_length_difference_s=s.max_length_difference_s,
            pad_mode=s.pad_mode,
            stack=s.stack,
        )
