"""Checkpoint-free spatial-cue stage: ITD, band ILD, IACC, DoA and front-back errors.

See :mod:`spatialeval.metrics.cues` for the definitions. Both sides are streamed block by
block (``cues.block_seconds``), resampled to ``CuesConfig.analysis_rate`` (32 kHz by
default) with ``scipy.signal.resample_poly`` and compared over the band both natively
contain (up to 0.45 × the lower native rate). A metric that cannot be measured on a pair
is NaN in the row and named with its reason in the row's ``unmeasurable`` dict.
"""
from __future__ import annotations

from spatialeval.features.binaural_cues import DEFAULT_BANDS
from spatialeval.metrics.cues import CuesConfig, spatial_cue_errors
from spatialeval.metrics.doa import REFERENCE_RADIUS_M, kemar_templates
from spatialeval.metrics.registry import metric_fields
from spatialeval.pipeline.stages.base import LoadedPair, Stage, StageUnavailable

__all__ = ["CuesConfig", "CuesStage"]


class CuesStage(Stage):
    name = "cues"
    fields = metric_fields("cues")

    def __init__(self, config):
        super().__init__(config)
        settings = getattr(config, "cues", None)
        self.settings: CuesConfig = settings if settings is not None else CuesConfig()

    def setup(self):
        s = self.settings
        if s.elevations not in ("horizontal", "all"):
            raise StageUnavailable(f"cues.elevations must be 'horizontal' or 'all', got {s.elevations!r}")
        if int(s.analysis_rate) < 8000:
            raise StageUnavailable(f"cues.analysis_rate must be at least 8000 Hz, got {s.analysis_rate}")
        if not s.block_seconds > 0:
            raise StageUnavailable(f"cues.block_seconds must be positive, got {s.block_seconds}")
        for option in ("min_doa_reliability", "min_front_back_confidence"):
            if not 0.0 <= float(getattr(s, option)) <= 1.0:
                raise StageUnavailable(f"cues.{option} must lie in [0, 1], got {getattr(s, option)}")
        try:  # build the templates once up front; fails early if the packaged HRIR file is missing
            kemar_templates(int(s.analysis_rate), 0.45 * int(s.analysis_rate), s.elevations)
        except (OSError, KeyError) as exc:
            raise StageUnavailable(f"cannot load the KEMAR HRIRs packaged with spatialeval ({exc}); "
                                   "reinstall spatialeval so spatialeval/data/kemar_hrir_44k1.npz is present") from exc

    def describe(self):
        s = self.settings
        return {
            "method": "GCC-PHAT ITD (Hann 40 ms frames, 20 ms hop, parabolic sub-sample peak, "
                      f"±{s.max_itd_s * 1e3:g} ms); third-octave band ILD (64 ms STFT, energy-weighted over "
                      f"frames); whole-clip IACC (max |normalised cross-correlation| within ±{s.max_itd_s * 1e3:g} ms); "
                      "DoA from direct-sound frames only (GCC-PHAT coherence >= 0.8, or onsets with coherence >= 0.3): "
                      f"lateral angle from the ITD by Woodworth's model (effective head radius "
                      f"{REFERENCE_RADIUS_M * 100:g} cm), front/back from the band-ILD pattern matched to KEMAR pinna "
                      "templates, decided only when it beats the other hemifield and a smooth pinna-free curve",
            "sign": "positive ITD/ILD = source on the left (left ear leads / is louder); azimuth 90 = left",
            "bands_hz": f"{len(DEFAULT_BANDS)} third-octave bands, centres "
                        f"{(DEFAULT_BANDS[0].prod() ** 0.5):.0f}–{(DEFAULT_BANDS[-1].prod() ** 0.5):.0f} Hz",
            "templates": "MIT KEMAR HRIRs (spatialeval/data/kemar_hrir_44k1.npz), band ILDs for front/back only; "
                         + ("ear-level directions interpolated to 1°, no elevation"
                            if s.elevations == "horizontal" else "all 710 measured directions"),
            "energy_gate_db": s.gate_db,
            "analysis_rate": int(s.analysis_rate),
            "resampler": "scipy.signal.resample_poly (streamed in blocks, bit-identical to one call)",
            "band_limit": "0.45 × the lower native sample rate of the pair",
            "reliability": f"DoA unmeasurable below reliability {s.min_doa_reliability:g}; front/back decided from "
                           f"confidence {s.min_front_back_confidence:g}, otherwise 'ambiguous' (flag unmeasurable, "
                           "DoA error then covers the lateral angle only)",
            "front_back": "1 when gt and generated estimates lie in opposite front/back hemifields; "
                          "directions within 10° of the interaural axis count as neither",
        }

    def compute_one(self, item: LoadedPair):
        item.gt.require_channels(2)
        item.infer.require_channels(2)
        s = self.settings
        return spatial_cue_errors(item.gt.samples, item.infer.samples, item.gt.sample_rate, item.infer.sample_rate,
                                  analysis_rate=int(s.analysis_rate), elevations=s.elevations, gate_db=s.gate_db,
                                  max_itd_s=s.max_itd_s, block_seconds=s.block_seconds,
                                  min_reliability=s.min_doa_reliability,
                                  min_front_back_confidence=s.min_front_back_confidence)
