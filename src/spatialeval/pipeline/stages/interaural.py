"""IPD/ILD MAE stage (see :mod:`spatialeval.metrics.ipd_ild` for the two protocols)."""

from __future__ import annotations

from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.presentation import Figure, ReportView, Section, Subheading, Text
from spatialeval.pipeline.settings import positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage

ISDRAMA_PAPER = "ISDrama (ACM MM 2025, arXiv 2504.20630), released evaluation code"


@dataclass
class InterauralSettings:
    floor_db: float = setting(
        60.0,
        cli="--floor-db",
        check=positive(),
        help="strict protocol: time-frequency bins within this many dB of the gt's peak count",
    )
    # Changes the FFT batch shape, and with it the float rounding (ild_mae moved by 2.6e-11 between
    # 2048 and 64): part of the run identity, so resumed rows never mix block sizes.
    block_frames: int = setting(
        2048,
        check=positive(),
        help="STFT frames analysed at once: bounds memory on long clips (values equal to float rounding)",
    )


# The released definition applies to any audio: a generation without interaural cues (silence, DC,
# noise) is scored by how far the gt's cues are from its own; a shorter one over the common frames.
DEGENERATE = degenerate_outcomes(
    "scored: the error against the generation's own cues (zero for silence), over the frames both clips have"
)


class InterauralStage(Stage):
    name = "interaural"
    Settings = InterauralSettings
    metrics = (
        MetricInfo(
            "ipd_mae",
            "IPD MAE",
            "interaural",
            False,
            "mean absolute interaural phase difference error vs. gt",
            unit={"isdrama": "ISDrama units", "strict": "rad"},
            scale={"isdrama": 100.0, "strict": 1.0},
            devices=("cpu", "cuda"),
            reference=ISDRAMA_PAPER,
            degenerate=DEGENERATE,
        ),
        MetricInfo(
            "ild_mae",
            "ILD MAE",
            "interaural",
            False,
            "mean absolute interaural level difference error vs. gt",
            unit={"isdrama": "ISDrama units", "strict": "dB"},
            scale={"isdrama": 100.0, "strict": 1.0},
            devices=("cpu", "cuda"),
            reference=ISDRAMA_PAPER,
            degenerate=DEGENERATE,
        ),
    )

    protocol_notes = {
        "isdrama": (
            "IPD/ILD MAE follow the released ISDrama code (mel-projected cues, mean error divided by "
            "the frame count, IPD not wrapped); tables print them ×100."
        ),
        "strict": (
            "IPD/ILD MAE use the strict protocol: wrapped IPD error in radians and ILD error in dB, "
            "averaged over the time-frequency bins where the ground truth has energy."
        ),
    }
    item_ranking = ("ipd_mae", "ild_mae")

    @classmethod
    def report_figures(cls, view: ReportView) -> list[Section]:
        """IPD/ILD time × frequency maps of the chosen items, drawn from their audio (any results with audio)."""
        if not view.chosen_items:
            return [Section("IPD / ILD maps", [Text("No items to draw.")])]
        blocks: list = [
            Text(
                f"Items: {view.chosen_why}. Time × frequency maps of the interaural phase difference "
                "(IPD, wrapped to ±π) and level difference (ILD) of the ground truth and the generated "
                "clip, and their difference; 1024-point STFT, hop 320 at 32 kHz, as the metrics use."
            )
        ]
        floor_db = float(((view.summary.get("config") or {}).get(cls.name) or {}).get("floor_db", 60.0))
        for item_id in view.chosen_items:
            blocks += [Subheading(f"`{item_id}`")] + cls._item_maps(view, item_id, floor_db)
        return [Section("IPD / ILD maps", blocks)]

    @classmethod
    def _item_maps(cls, view: ReportView, item_id: str, floor_db: float) -> list:
        from spatialeval.features.cue_maps import MapUnavailable, compute_maps
        from spatialeval.pipeline.stages.figures import maps_png

        row = view.row(item_id) or {}
        metric_text = view.metric_text(item_id)
        blocks: list = [Text(metric_text)] if metric_text else []
        gt_path, gen_path = view.resolve_audio(row.get("gt")), view.resolve_audio(row.get("gen"))
        missing = [
            f"{side} audio {row.get(side)!r}" for side, path in (("gt", gt_path), ("gen", gen_path)) if path is None
        ]
        if missing:
            return blocks + [
                Text(
                    f"Maps skipped: {' and '.join(missing)} not found "
                    f"(looked as stored, and relative to `{view.directory}` and its parent)."
                )
            ]
        try:
            maps = compute_maps(gt_path, gen_path, floor_db=floor_db)
        except (MapUnavailable, ValueError, RuntimeError, OSError) as exc:
            return blocks + [Text(f"Maps skipped: {exc}")]
        png = maps_png(item_id, maps, view.metric_text(item_id, list(cls.fields)))
        caption = f"gt: {gt_path} · generated: {gen_path}"
        return blocks + [Figure("maps", item_id, png, f"IPD/ILD maps of {item_id}", caption)]

    def describe(self):
        if self.config.protocol == "isdrama":
            return {
                "protocol": "isdrama",
                "definition": "mean |Δ(mel-projected IPD/ILD)| over the common frames, "
                "divided by the frame count; tables show ×100",
                "stft": "32 kHz, n_fft 1024, hop 320, Hann",
                "resampler": "Hann-windowed sinc (torchaudio default equivalent)",
                "precision": "float32",
            }
        return {
            "protocol": "strict",
            "definition": "mean wrapped |ΔIPD| (rad) and |ΔILD| (dB) over common frames "
            f"in STFT bins within {self.settings.floor_db} dB of the gt's peak",
            "stft": "32 kHz, n_fft 1024, hop 320, Hann",
            "precision": "float64",
        }

    @staticmethod
    def _feature_key(clip) -> str | None:
        """The feature-cache key of ``clip``'s isdrama IPD/ILD maps; None (never cached) without a content hash."""
        return FeatureCache.key(clip.sha256, feature="isdrama_ipd_ild_v1") if clip.sha256 else None

    def _cached_features(self, key: str | None):
        """``(ipd, ild)`` stored under ``key``, or None."""
        cached = self.cache.get("interaural", key, required=("ipd", "ild"))
        return None if cached is None else (cached["ipd"], cached["ild"])

    def _isdrama_features(self, clip):
        from spatialeval.metrics.ipd_ild import isdrama_features

        key = self._feature_key(clip)
        cached = self._cached_features(key)
        if cached is not None:
            return cached
        ipd, ild = isdrama_features(clip.samples, clip.sample_rate, self.settings.block_frames)
        self.cache.put("interaural", key, {"ipd": ipd, "ild": ild})  # no-op without a key
        return ipd, ild

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.ipd_ild import mae_over_time, strict_ipd_ild_mae

        item.gt.require_channels(2)
        item.gen.require_channels(2)
        if self.config.protocol == "strict":
            return strict_ipd_ild_mae(
                item.gt.samples,
                item.gen.samples,
                item.gt.sample_rate,
                item.gen.sample_rate,
                floor_db=self.settings.floor_db,
                block_frames=self.settings.block_frames,
            )
        gt_ipd, gt_ild = self._isdrama_features(item.gt)
        gen_ipd, gen_ild = self._isdrama_features(item.gen)
        return {"ipd_mae": mae_over_time(gt_ipd, gen_ipd), "ild_mae": mae_over_time(gt_ild, gen_ild)}

    def compute_batch(self, items: list[LoadedPair]):
        """With device kernels (``device_kernels``), the chunk's clips go through the batched IPD/ILD
        kernels on the device; otherwise each item takes the per-clip reference path."""
        if not self.config.use_device_kernels():
            return super().compute_batch(items)
        results: list = [None] * len(items)
        usable = []
        for index, item in enumerate(items):
            try:
                item.gt.require_channels(2)
                item.gen.require_channels(2)
                usable.append(index)
            except Exception as exc:
                results[index] = exc
        try:
            computed = (self._strict_on_device if self.config.protocol == "strict" else self._isdrama_on_device)(
                [items[i] for i in usable]
            )
        except Exception:  # a batch the kernels refuse (e.g. a clip too short): every item alone, with its own error
            computed = super().compute_batch([items[i] for i in usable])
        for index, result in zip(usable, computed):
            results[index] = result
        return results

    def _isdrama_on_device(self, items: list[LoadedPair]) -> list:
        from spatialeval.metrics.ipd_ild import isdrama_features_batch, mae_over_time
        from spatialeval.pipeline.device import by_rate, padded_batch

        device = self.config.resolved_device()
        clips = [clip for item in items for clip in (item.gt, item.gen)]
        keys = [self._feature_key(clip) for clip in clips]
        features: list = [self._cached_features(key) for key in keys]
        pending = [index for index, cached in enumerate(features) if cached is None]
        for rate, members in by_rate([clips[i] for i in pending]).items():
            group = [pending[m] for m in members]
            waves, lengths = padded_batch([clips[i] for i in group], device)
            batch = isdrama_features_batch(waves, lengths.to(device), rate)
            for row, index in enumerate(group):
                frames = int(batch.frames[row])
                ipd = batch.ipd[row, :frames].cpu().numpy()
                ild = batch.ild[row, :frames].cpu().numpy()
                features[index] = (ipd, ild)
                self.cache.put("interaural", keys[index], {"ipd": ipd, "ild": ild})  # no-op without a key
        return [
            {
                "ipd_mae": mae_over_time(features[2 * i][0], features[2 * i + 1][0]),
                "ild_mae": mae_over_time(features[2 * i][1], features[2 * i + 1][1]),
            }
            for i in range(len(items))
        ]

    def _strict_on_device(self, items: list[LoadedPair]) -> list:
        import math
        from collections import defaultdict

        from spatialeval.metrics.ipd_ild import strict_ipd_ild_mae_batch
        from spatialeval.pipeline.device import padded_batch

        device = self.config.resolved_device()
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            groups[(item.gt.sample_rate, item.gen.sample_rate)].append(index)
        results: list = [None] * len(items)
        reason = "the ground truth is digital silence: no time-frequency bin carries interaural cues"
        for (gt_rate, gen_rate), members in groups.items():
            gt, gt_lengths = padded_batch([items[i].gt for i in members], device)
            gen, gen_lengths = padded_batch([items[i].gen for i in members], device)
            mae = strict_ipd_ild_mae_batch(
                gt.double(),
                gen.double(),
                gt_rate,
                gen_rate,
                gt_lengths.to(device),
                gen_lengths.to(device),
                self.settings.floor_db,
            )
            for row, index in enumerate(members):
                ipd, ild = float(mae["ipd_mae"][row]), float(mae["ild_mae"][row])
                result = {"ipd_mae": ipd, "ild_mae": ild}
                if math.isnan(ipd):
                    result["unmeasurable"] = {"ipd_mae": reason, "ild_mae": reason}
                results[index] = result
        return results
