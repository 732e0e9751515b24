"""ANG/Dis cosine stage: spatial-encoder embeddings of gt vs. generated (BAT by default).

The metric definitions (resampling, loudness normalisation, windows, window-averaged cosine) are in
:mod:`spatialeval.metrics.encoder_windows`; the encoder is a backend from
:data:`spatialeval.models.registry.SPATIAL_ENCODERS` (``bat.encoder``). This stage batches: all
windows of a chunk of items go through the encoder together (every input is exactly one encoder
window, so no padding is wasted), and embeddings are cached by audio content.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from spatialeval.errors import StageUnavailable
from spatialeval.metrics.encoder_windows import MODES
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.embeddings import clip_embeddings, embedding_key, encoder_inputs
from spatialeval.pipeline.settings import in_range, non_empty, positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


def _encoders() -> list[str]:
    from spatialeval.models.registry import SPATIAL_ENCODERS

    return SPATIAL_ENCODERS.names()


@dataclass
class BATSettings:
    encoder: str = setting("bat", choices=_encoders, help="spatial encoder backend")
    checkpoint: str | None = setting(
        None,
        cli="--ckpt",
        metavar="PATH",
        check=non_empty(),
        help="BAT finetuned.pth (else $SPATIALEVAL_CKPT, ckpt/finetuned.pth)",
    )
    # first-window: first 10 s of each clip, as ISDrama's release; segments: the paper's 1-s segments,
    # each zero-padded to the encoder's 10 s input, cosines averaged; windowed: 10-s windows
    # covering the whole clip, cosines averaged.
    mode: str = setting(
        "first-window",
        cli="--bat-mode",
        choices=MODES,
        help="first-window: first 10 s (as ISDrama's release); segments: 1-s segments; windowed: 10-s windows over the clip",
    )
    # Both are cut from (and zero-padded to) the encoder's 10-s input, so longer ones would lose audio.
    segment_seconds: float = setting(1.0, help="segment length in segments mode", check=in_range(0, 10, low_open=True))
    window_seconds: float = setting(10.0, help="window length in windowed mode", check=in_range(0, 10, low_open=True))
    normalize_dbfs: float | None = setting(
        -14.0, help="RMS level each clip is scaled to before the encoder", check=in_range(-100, 0)
    )
    batch_size: int = setting(
        8, cli="--batch-size", affects_numbers=False, help="encoder inputs per forward pass", check=positive()
    )
    autocast: str | None = setting(
        None, cli="--autocast", choices=("bf16", "fp16"), help="mixed precision for the encoder"
    )
    save_embeddings: bool = setting(
        False, cli="--save-embeddings", affects_numbers=False, help="write OUT/embeddings/<id>.npz"
    )


BAT_PAPER = "Zheng et al., BAT (arXiv 2402.01591); ISDrama (arXiv 2504.20630) ANG/Dis Cos"
SPATIAL_AST_EVAL = (
    "BAT's trained heads, scored as Spatial-AST's engine_finetune.py evaluate does, with the gt "
    "clip's prediction as label"
)


# ANG/Dis cosines keep the released definition on any audio (the parity fixtures include a silent
# generation); the heads' predictions for a clip without signal are not a direction, so their errors are
# unmeasurable there.
COSINE_DEGENERATE = degenerate_outcomes(
    "scored: the cosine of the embeddings the encoder gives that audio, as the released code computes it"
)
HEAD_DEGENERATE = degenerate_outcomes(
    "scored: the disagreement of the heads' predictions", silent="unmeasurable", dc="unmeasurable"
)


def _bat_metric(name: str, label: str, higher: bool, description: str, unit: str, reference: str) -> MetricInfo:
    degenerate = COSINE_DEGENERATE if reference == BAT_PAPER else HEAD_DEGENERATE
    return MetricInfo(
        name,
        label,
        "bat",
        higher,
        description,
        unit=unit,
        requires_checkpoint=True,
        devices=("cpu", "cuda"),
        reference=reference,
        degenerate=degenerate,
    )


class BATStage(Stage):
    name = "bat"
    Settings = BATSettings
    metrics = (
        _bat_metric(
            "ang_cos", "ANG Cos", True, "cosine of BAT direction embeddings, gt vs. generated", "cosine", BAT_PAPER
        ),
        _bat_metric(
            "dis_cos", "Dis Cos", True, "cosine of BAT distance embeddings, gt vs. generated", "cosine", BAT_PAPER
        ),
        _bat_metric(
            "bat_angle_error_deg",
            "BAT angle err",
            False,
            "great-circle angle between BAT's direction-head predictions for gt and generated, mean over windows",
            "degrees",
            SPATIAL_AST_EVAL,
        ),
        _bat_metric(
            "bat_angle_error_rate",
            "BAT angle >20°",
            False,
            "fraction of windows whose BAT angle error exceeds 20° (Spatial-AST's doa_error)",
            "fraction",
            SPATIAL_AST_EVAL,
        ),
        _bat_metric(
            "bat_distance_error_m",
            "BAT dist err",
            False,
            "|distance-head prediction of generated − of gt|, mean over windows",
            "m",
            SPATIAL_AST_EVAL,
        ),
        _bat_metric(
            "bat_distance_agreement",
            "BAT dist ±0.5m",
            True,
            "fraction of windows whose distance classes differ by at most one (Spatial-AST's distance accuracy)",
            "fraction",
            SPATIAL_AST_EVAL,
        ),
    )
    extra_fields = (
        "bat_windows",
        *(
            f"bat_{side}_{name}"
            for side in ("gt", "gen")
            for name in ("azimuth_deg", "elevation_deg", "distance_m", "azimuth_confidence", "distance_confidence")
        ),
    )
    #: embedding name → the metric its window-averaged cosine fills
    EMBEDDING_METRICS = {"azi": "ang_cos", "dis": "dis_cos"}
    #: ``evaluate(checkpoint=..., save_embeddings=True)`` set these settings
    api_shorthands = {"checkpoint": "checkpoint", "save_embeddings": "save_embeddings"}

    def setup(self):
        from spatialeval.models.registry import SPATIAL_ENCODERS

        try:
            self.encoder = SPATIAL_ENCODERS.build(self.settings, self.config.resolved_device(), self.settings.encoder)
        except StageUnavailable as exc:
            raise StageUnavailable(f"ANG/Dis cosines were skipped: {exc}") from None
        self.device = getattr(self.encoder, "device", "cpu")
        out = self.context.out_dir
        self.embeddings_dir = out / "embeddings" if (out is not None and self.settings.save_embeddings) else None

    def describe(self):
        s = self.settings
        return {
            **self.encoder.describe(),
            "mode": s.mode,
            "normalize_dbfs": s.normalize_dbfs,
            "resampler": f"scipy.signal.resample_poly to {self.encoder.sample_rate // 1000} kHz",
            "cosine": "isdrama (wrap heuristic, eps 1e-8)" if self.config.protocol == "isdrama" else "plain",
            "device": self.device,
            "autocast": s.autocast,
            "batch_size": s.batch_size,
        }

    def autocast_mode(self) -> str | None:
        return self.settings.autocast

    def _settings_key(self) -> dict:
        s = self.settings
        return embedding_key(s, self.encoder, s.mode, s.segment_seconds)

    def _windows(self, clip) -> np.ndarray:
        s = self.settings
        return encoder_inputs(clip, self.encoder, s.mode, s.normalize_dbfs, s.segment_seconds, s.window_seconds)

    def _windows_on_device(self, clips, indices: list[int], results: list):
        """The encoder windows of ``clips[indices]`` built by the batched device kernels (resampling, loudness
        normalisation and cutting on the device, per sample-rate group); clips that fail get their error."""
        import torch

        from spatialeval.pipeline.device import by_rate, padded_batch
        from spatialeval.training import bat_inputs

        s, device = self.settings, self.config.resolved_device()
        usable = []
        for index in indices:
            try:
                clips[index].require_channels(2)
            except Exception as exc:
                results[index] = exc
                continue
            usable.append(index)
        pending, parts = [], []
        for rate, members in by_rate([clips[i] for i in usable]).items():
            group = [usable[m] for m in members]
            waves, lengths = padded_batch([clips[i] for i in group], device)
            inputs = bat_inputs(
                waves,
                rate,
                lengths.to(device),
                mode=s.mode,
                normalize_dbfs=s.normalize_dbfs,
                segment_seconds=s.segment_seconds,
                window_seconds=s.window_seconds,
            )
            owner = inputs.item.cpu()
            for row, index in enumerate(group):
                selected = inputs.windows[owner == row]
                pending.append((index, selected))
                parts.append(selected)
        return pending, (torch.cat(parts) if parts else None)

    def _clip_embeddings(self, clips) -> list[dict[str, np.ndarray] | Exception]:
        """Embeddings for each clip (cached by content), encoding all uncached windows in shared batches."""
        s = self.settings
        return clip_embeddings(
            self.cache,
            self.encoder,
            clips,
            self._settings_key(),
            self._windows,
            batch_size=s.batch_size,
            autocast=s.autocast,
            windows_on_device=self._windows_on_device if self.config.use_device_kernels() else None,
            nonfinite=self._nonfinite,
        )

    def _nonfinite(self, clip) -> FloatingPointError:
        return FloatingPointError(
            f"{clip.path}: the {self.encoder.name} encoder returned NaN/Inf embeddings (the "
            "checkpoint's weights or the input produce invalid values); ANG/Dis cannot be computed"
        )

    def _save(self, item_id: str, gt: dict, gen: dict) -> None:
        from spatialeval.io.files import atomic_write_bytes
        from spatialeval.io.ids import item_file

        squeeze = (lambda a: a[0]) if self.settings.mode == "first-window" else (lambda a: a)
        arrays = {
            f"{side}_{name}": squeeze(values[name])
            for side, values in (("gt", gt), ("gen", gen))
            for name in self.encoder.embeddings
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(item_file(self.embeddings_dir, item_id, ".npz"), buffer.getvalue())

    def compute_batch(self, items: list[LoadedPair]):
        from spatialeval.metrics.encoder_windows import window_cosine

        embeddings = self._clip_embeddings([clip for item in items for clip in (item.gt, item.gen)])
        results = []
        for index, item in enumerate(items):
            gt, gen = embeddings[2 * index], embeddings[2 * index + 1]
            failed = next((e for e in (gt, gen) if isinstance(e, Exception)), None)
            if failed is not None:
                results.append(failed)
                continue
            if self.embeddings_dir is not None:
                self._save(item.id, gt, gen)
            row = {
                metric: window_cosine(gt[name], gen[name], self.config.protocol)
                for name, metric in self.EMBEDDING_METRICS.items()
            }
            row.update(self._head_errors(gt, gen, item))
            results.append(row)
        return results

    def _head_errors(self, gt: dict, gen: dict, item: LoadedPair) -> dict:
        """Angle and distance disagreement of the encoder's trained heads (BAT: azimuth/elevation/distance).

        The heads always answer, but their answer for a clip without signal (silence, DC) is not a
        direction: the errors are then unmeasurable."""
        from spatialeval.io.audio import NO_SIGNAL_DBFS, has_signal
        from spatialeval.metrics.bat_heads import decode_heads, head_errors

        gt_logits, gen_logits = self.encoder.head_logits(gt), self.encoder.head_logits(gen)
        reason = None
        if gt_logits is None or gen_logits is None:
            reason = f"the {self.encoder.name} encoder has no direction/distance heads"
        else:
            silent = [
                side
                for side, clip in (("ground-truth", item.gt), ("generated", item.gen))
                if not has_signal(clip.samples)
            ]
            if silent:
                reason = (
                    f"the {' and '.join(silent)} clip has no signal (AC level below {NO_SIGNAL_DBFS:g} dBFS): "
                    "the heads' prediction is not a direction"
                )
        if reason:
            names = [info.name for info in self.metrics[2:]]
            return {**{name: float("nan") for name in names}, "unmeasurable": {name: reason for name in names}}
        return head_errors(
            decode_heads(gt_logits["azimuth"], gt_logits["elevation"], gt_logits["distance"]),
            decode_heads(gen_logits["azimuth"], gen_logits["elevation"], gen_logits["distance"]),
        )
