"""Checkpoint-free spatial-cue stage: ITD, band ILD, IACC and KEMAR-template DoA errors.

See :mod:`spatialeval.metrics.cues` for the definitions. Both sides are resampled to
``CuesConfig.analysis_rate`` (32 kHz by default) with ``scipy.signal.resample_poly`` and
compared over the band both natively contain (up to 0.45 × the lower native rate).
"""
from __future__ import annotations

from spatialeval.features.resample import resample_polyphase
import math

from spatialeval.metrics.cues import DEFAULT_BANDS, CueError, CuesConfig, kemar_templates, spatial_cue_errors
from spatialeval.metrics.registry import metric_fields
from spatialeval.pipeline.stages.base import LoadedPair, Stage, StageUnavailable

__all__ = ["CuesConfig", "CuesStage"]


class CuesStage(Stage):
    name = "cues"
    fields = metric_fields("cues")
    extra_fields = ("itd_gt_us", "itd_gen_us", "iacc_gt", "iacc_gen", "doa_gt_azimuth_deg", "doa_gen_azimuth_deg",
                    "doa_gt_elevation_deg", "doa_gen_elevation_deg", "itd_frames", "ild_bands")

    def __init__(self, config):
        super().__init__(config)
        settings = getattr(config, "cues", None)
        self.settings: CuesConfig = settings if settings is not None else CuesConfig()

    def setup(self):
        if self.settings.elevations not in ("horizontal", "all"):
            raise StageUnavailable(f"cues.elevations must be 'horizontal' or 'all', got {self.settings.elevations!r}")
        if int(self.settings.analysis_rate) < 8000:
            raise StageUnavailable(f"cues.analysis_rate must be at least 8000 Hz, got {self.settings.analysis_rate}")
        try:  # build the templates once up front; fails early if the packaged HRIR file is missing
            kemar_templates(int(self.settings.analysis_rate), 0.45 * int(self.settings.analysis_rate),
                            self.settings.elevations, self.settings.max_itd_s)
        except (OSError, KeyError) as exc:
            raise StageUnavailable(f"cannot load the KEMAR HRIRs packaged with spatialeval ({exc}); "
                                   "reinstall spatialeval so spatialeval/data/kemar_hrir_44k1.npz is present") from exc

    def describe(self):
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
        clip = getattr(item, side)
        rate = int(self.settings.analysis_rate)
        return item.derived(f"cues:poly{rate}:{side}",
                            lambda: resample_polyphase(clip.samples, clip.sample_rate, rate))

    def compute_one(self, item: LoadedPair):
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
