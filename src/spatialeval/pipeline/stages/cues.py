"""Checkpoint-free spatial-cue stage: ITD, band ILD, IACC and KEMAR-template DoA errors.

See :mod:`spatialeval.metrics.cues` for the definitions. Both sides are resampled to
``cues.analysis_rate`` (32 kHz by default) with ``scipy.signal.resample_poly`` and
compared over the band both natively contain (up to 0.45 × the lower native rate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from spatialeval.errors import StageUnavailable
from spatialeval.metrics.registry import MetricInfo
from spatialeval.pipeline.settings import setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class CuesSettings:
    analysis_rate: int = setting(32000, help="both sides are resampled (scipy resample_poly) to this rate")
    elevations: str = setting("horizontal", choices=("horizontal", "all"),
                              help="KEMAR templates: ear level (1° grid) or all 710 measured directions")
    gate_db: float = setting(40.0, help="frames more than this below the loudest frame are ignored")
    max_itd_s: float = setting(0.001, help="GCC-PHAT / IACC lag search range (s)")


CuesConfig = CuesSettings  # the name the settings had before stages declared their own


def _cue(name: str, label: str, unit: str, description: str, flag: bool = False) -> MetricInfo:
    return MetricInfo(name, label, "cues", False, description, unit=unit, flag=flag,
                      reference="checkpoint-free binaural cues (GCC-PHAT, ISO 3382 IACC, MIT KEMAR)")


class CuesStage(Stage):
    name = "cues"
    Settings = CuesSettings
    metrics = (
        _cue("itd_error_us", "ITD err", "µs", "median |ITD_gen − ITD_gt| per frame, GCC-PHAT"),
        _cue("ild_band_error_db", "Band ILD err", "dB", "mean |ILD_gen − ILD_gt| over auditory bands"),
        _cue("iacc_error", "IACC err", "coefficient", "|IACC_gen − IACC_gt|"),
        _cue("doa_error_deg", "DoA err", "degrees",
             "angle between estimated directions (azimuth difference on the circle at ear level)"),
        _cue("front_back_confusion", "F/B conf", "0/1", "1 when gt and generated lie in opposite hemifields front/back",
             flag=True),
    )
    extra_fields = ("itd_gt_us", "itd_gen_us", "iacc_gt", "iacc_gen", "doa_gt_azimuth_deg", "doa_gen_azimuth_deg",
                    "doa_gt_elevation_deg", "doa_gen_elevation_deg", "itd_frames", "ild_bands")

    def setup(self):
        if self.settings.elevations not in ("horizontal", "all"):
            raise StageUnavailable(f"cues.elevations must be 'horizontal' or 'all', got {self.settings.elevations!r}")
        if int(self.settings.analysis_rate) < 8000:
            raise StageUnavailable(f"cues.analysis_rate must be at least 8000 Hz, got {self.settings.analysis_rate}")
        from spatialeval.metrics.cues import kemar_templates

        try:  # build the templates once up front; fails early if the packaged HRIR file is missing
            kemar_templates(int(self.settings.analysis_rate), 0.45 * int(self.settings.analysis_rate),
                            self.settings.elevations, self.settings.max_itd_s)
        except (OSError, KeyError) as exc:
            raise StageUnavailable(f"cannot load the KEMAR HRIRs packaged with spatialeval ({exc}); "
                                   "reinstall spatialeval so spatialeval/data/kemar_hrir_44k1.npz is present") from exc

    def describe(self):
        from spatialeval.metrics.cues import DEFAULT_BANDS

        s = self.settings
        return {
            "method": "GCC-PHAT ITD (Hann 40 ms frames, 20 ms hop, parabolic sub-sample peak, "
                      f"±{s.max_itd_s * 1e3:g} ms); third-octave band ILD (64 ms STFT, energy-weighted over "
                      f"frames); whole-clip IACC (max |normalised cross-correlation| within ±{s.max_itd_s * 1e3:g} ms); "
                      "DoA = nearest KEMAR template in (ITD, band ILD) space normalised by each cue's spread",
            "sign": "positive ITD/ILD = source on the left (left ear leads / is louder); azimuth 90 = left",
            "bands_hz": f"{len(DEFAULT_BANDS)} third-octave bands, centres "
                        f"{(DEFAULT_BANDS[0].prod() ** 0.5):.0f}–{(DEFAULT_BANDS[-1].prod() ** 0.5):.0f} Hz",
            "templates": "MIT KEMAR HRIRs (spatialeval/data/kemar_hrir_44k1.npz), "
                         + ("ear-level directions interpolated to 1°, no elevation"
                            if s.elevations == "horizontal" else "all 710 measured directions"),
            "energy_gate_db": s.gate_db,
            "analysis_rate": int(s.analysis_rate),
            "resampler": "scipy.signal.resample_poly",
            "band_limit": "0.45 × the lower native sample rate of the pair",
            "front_back": "1 when gt and generated estimates lie in opposite front/back hemifields; "
                          "directions within 10° of the interaural axis count as neither",
        }

    def _resampled(self, item: LoadedPair, side: str):
        from spatialeval.features.resample import resample_polyphase

        clip = getattr(item, side)
        rate = int(self.settings.analysis_rate)
        return item.derived(f"cues:poly{rate}:{side}",
                            lambda: resample_polyphase(clip.samples, clip.sample_rate, rate))

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.cues import CueError, spatial_cue_errors

        item.gt.require_channels(2)
        item.infer.require_channels(2)
        rate = int(self.settings.analysis_rate)
        native = min(item.gt.sample_rate, item.infer.sample_rate, rate)
        try:
            return spatial_cue_errors(self._resampled(item, "gt"), self._resampled(item, "infer"), rate,
                                      fmax=0.45 * native, elevations=self.settings.elevations,
                                      gate_db=self.settings.gate_db, max_itd_s=self.settings.max_itd_s)
        except CueError as exc:  # valid audio without measurable cues (silence): counted, not failed
            return {**{name: math.nan for name in self.fields}, "unmeasurable": {name: str(exc) for name in self.fields}}
