"""IPD/ILD MAE stage (see :mod:`spatialeval.metrics.ipd_ild` for the two protocols)."""
from __future__ import annotations

from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo
from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.settings import setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage

ISDRAMA_PAPER = "ISDrama (ACM MM 2025, arXiv 2504.20630), released evaluation code"


@dataclass
class InterauralSettings:
    floor_db: float = setting(60.0, cli="--floor-db",
                              help="strict protocol: time-frequency bins within this many dB of the gt's peak count")
    block_frames: int = setting(2048, affects_numbers=False,
                                help="STFT frames analysed at once: bounds memory on long clips (values unchanged)")


class InterauralStage(Stage):
    name = "interaural"
    Settings = InterauralSettings
    metrics = (
        MetricInfo("ipd_mae", "IPD MAE", "interaural", False,
                   "mean absolute interaural phase difference error vs. gt",
                   unit={"isdrama": "ISDrama units", "strict": "rad"}, scale={"isdrama": 100.0, "strict": 1.0},
                   devices=("cpu", "cuda"), reference=ISDRAMA_PAPER),
        MetricInfo("ild_mae", "ILD MAE", "interaural", False,
                   "mean absolute interaural level difference error vs. gt",
                   unit={"isdrama": "ISDrama units", "strict": "dB"}, scale={"isdrama": 100.0, "strict": 1.0},
                   devices=("cpu", "cuda"), reference=ISDRAMA_PAPER),
    )

    def describe(self):
        if self.config.protocol == "isdrama":
            return {"protocol": "isdrama", "definition": "mean |Δ(mel-projected IPD/ILD)| over the common frames, "
                    "divided by the frame count; tables show ×100", "stft": "32 kHz, n_fft 1024, hop 320, Hann",
                    "resampler": "Hann-windowed sinc (torchaudio default equivalent)", "precision": "float32"}
        return {"protocol": "strict", "definition": "mean wrapped |ΔIPD| (rad) and |ΔILD| (dB) over common frames "
                f"in STFT bins within {self.settings.floor_db} dB of the gt's peak",
                "stft": "32 kHz, n_fft 1024, hop 320, Hann", "precision": "float64"}

    def _isdrama_features(self, clip):
        from spatialeval.metrics.ipd_ild import isdrama_features

        key = FeatureCache.key(clip.sha256, feature="isdrama_ipd_ild_v1")
        cached = self.cache.get("interaural", key if clip.sha256 else None, required=("ipd", "ild"))
        if cached is not None:
            return cached["ipd"], cached["ild"]
        ipd, ild = isdrama_features(clip.samples, clip.sample_rate, self.settings.block_frames)
        if clip.sha256:
            self.cache.put("interaural", key, {"ipd": ipd, "ild": ild})
        return ipd, ild

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.ipd_ild import mae_over_time, strict_ipd_ild_mae

        item.gt.require_channels(2)
        item.infer.require_channels(2)
        if self.config.protocol == "strict":
            return strict_ipd_ild_mae(item.gt.samples, item.infer.samples, item.gt.sample_rate, item.infer.sample_rate,
                                      floor_db=self.settings.floor_db, block_frames=self.settings.block_frames)
        gt_ipd, gt_ild = self._isdrama_features(item.gt)
        inf_ipd, inf_ild = self._isdrama_features(item.infer)
        return {"ipd_mae": mae_over_time(gt_ipd, inf_ipd), "ild_mae": mae_over_time(gt_ild, inf_ild)}
