"""Binaural-generation benchmark metrics (FAIR-Play / 2.5D Visual Sound table) of generated vs. gt audio.

Definitions and the original evaluation's conventions (16 kHz, peak normalisation, STFT 512/160/400)
are in :mod:`spatialeval.metrics.binaural_gen`. These compare waveforms sample by sample, so they are
meant for mono-to-binaural output rendered from the gt's own signal; pairs whose lengths differ by
more than ``max_length_difference_s`` are unmeasurable, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo
from spatialeval.pipeline.settings import at_least, in_range, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class BinauralGenSettings:
    normalize: bool = setting(True, help="divide each clip by its peak over both channels first (as the "
                                         "2.5D Visual Sound evaluation is run)")
    analysis_rate: int = setting(16000, help="rate the clips are resampled to (the original evaluation's 16 kHz)",
                                 check=in_range(8000, 192000))
    max_length_difference_s: float = setting(0.05, help="pairs whose lengths differ more are unmeasurable",
                                             check=at_least(0))
    pad_mode: str = setting("reflect", choices=("reflect", "constant"),
                            help="STFT edge padding (librosa < 0.10 default, as the 2019 scripts ran)")


FAIR_PLAY = "Gao & Grauman 2019, 2.5D Visual Sound evaluate.py (FAIR-Play); Mag/Phase as in PseudoBinaural/CCStereo"


def _gen_metric(name: str, label: str, description: str, unit: str = "", higher: bool = False) -> MetricInfo:
    return MetricInfo(name, label, "binaural_gen", higher, description, unit=unit, dependencies=("librosa",),
                      reference=FAIR_PLAY)


class BinauralGenStage(Stage):
    name = "binaural_gen"
    Settings = BinauralGenSettings
    metrics = (
        _gen_metric("stft_distance", "STFT dist", "Σ_channels mean squared difference of the STFTs (real, imag)"),
        _gen_metric("envelope_distance", "ENV dist", "Σ_channels RMS difference of the Hilbert envelopes"),
        _gen_metric("magnitude_distance", "Mag dist", "Σ_channels mean |ΔSTFT|² (= 2 × STFT distance)"),
        _gen_metric("lr_phase_distance", "L−R phase", "mean wrapped phase difference of STFT(L − R)", unit="rad"),
        _gen_metric("lr_magnitude_distance_db", "L−R mag dB", "RMS difference of the dB magnitude of STFT(L − R)",
                    unit="dB"),
        _gen_metric("wave_snr_db", "SNR", "waveform signal-to-noise ratio of generated vs. gt", unit="dB", higher=True),
    )
    extra_fields = ("length_difference_s",)

    def describe(self):
        s = self.settings
        return {"method": "FAIR-Play / 2.5D Visual Sound STFT and envelope distances, L−R magnitude and phase",
                "analysis_rate": s.analysis_rate, "normalize": s.normalize, "pad_mode": s.pad_mode,
                "resampler": "librosa soxr_hq (as librosa.load)", "max_length_difference_s": s.max_length_difference_s}

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.binaural_gen import binaural_generation_metrics

        item.gt.require_channels(2)
        item.infer.require_channels(2)
        s = self.settings
        return binaural_generation_metrics(item.gt.samples, item.infer.samples, item.gt.sample_rate,
                                           item.infer.sample_rate, normalize=s.normalize,
                                           analysis_rate=s.analysis_rate,
                                           max_length_difference_s=s.max_length_difference_s, pad_mode=s.pad_mode)
