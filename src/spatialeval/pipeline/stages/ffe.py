"""FFE stage: F0 frame error of the generated clip against the gt clip.

Both clips are downmixed to mono (mean of channels) and resampled to 16 kHz
(``scipy.signal.resample_poly``, the same cached signal the CER and SIM stages use);
F0 by WORLD, scored as in :mod:`spatialeval.metrics.ffe`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from spatialeval.errors import StageUnavailable, TooShortError
from spatialeval.metrics.ffe import ALIGNMENTS, METHODS
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import in_range, positive, setting
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage

F0_RATE = 16000


@dataclass
class FFESettings:
    method: str = setting(
        "dio", cli="--ffe-method", choices=METHODS, help="WORLD F0 tracker: dio (+ stonemask) or harvest"
    )
    frame_period_ms: float = setting(10.0, help="F0 frame period", check=in_range(0, 1000, low_open=True))
    f0_floor: float = setting(71.0, help="lowest F0 searched (Hz)", check=positive())
    f0_ceil: float = setting(
        800.0,
        help="highest F0 searched (Hz; below the 8 kHz Nyquist of the 16-kHz analysis)",
        check=in_range(0, F0_RATE / 2, low_open=True, high_open=True),
    )
    alignment: str = setting(
        "nearest", cli="--ffe-alignment", choices=ALIGNMENTS, help="nearest frame in time, or dtw on MFCCs"
    )
    threshold: float = setting(
        0.2, help="gross pitch error when |f_gen/f_gt - 1| exceeds this", check=in_range(0, 1, low_open=True)
    )

    def validate(self, config) -> None:
        if not self.f0_floor < self.f0_ceil:
            raise ValueError(f"config.ffe.f0_floor ({self.f0_floor}) must be below config.ffe.f0_ceil ({self.f0_ceil})")


CHU_ALWAN = "Chu & Alwan 2009, F0 frame error (ISDrama reports FFE)"


# Rates over the gt's frames: a generation without voiced frames (or shorter than the gt) has voicing
# errors wherever the gt is voiced and, GPE counting over all gt frames too, no gross pitch errors.
DEGENERATE = degenerate_outcomes("scored: gt frames the generation leaves unvoiced are voicing errors")


def _f0_metric(name: str, label: str, description: str) -> MetricInfo:
    return MetricInfo(
        name,
        label,
        "ffe",
        False,
        description,
        unit="fraction",
        dependencies=("pyworld",),
        reference=CHU_ALWAN,
        degenerate=DEGENERATE,
    )


class FFEStage(Stage):
    name = "ffe"
    Settings = FFESettings
    metrics = (
        _f0_metric("ffe", "FFE", "F0 frame error: (GPE frames + VDE frames) / frames"),
        _f0_metric("gpe", "GPE", "gross pitch error frames / frames"),
        _f0_metric("vde", "VDE", "voicing decision error frames / frames"),
    )
    extra_fields = ("gpe_voiced", "f0_frames", "gpe_frames", "vde_frames", "voiced_both_frames")

    def setup(self) -> None:
        try:
            import pyworld  # noqa: F401
        except ImportError:
            raise StageUnavailable(
                "FFE needs WORLD's Python binding: pip install 'spatialeval[speech]' (or pip install pyworld-prebuilt)"
            ) from None

    def describe(self) -> dict[str, Any]:
        s = self.settings
        try:
            from importlib.metadata import version

            world = version("pyworld-prebuilt")
        except Exception:
            world = None
        return {
            "f0": f"pyworld {'dio + stonemask' if s.method == 'dio' else 'harvest'}",
            "pyworld_version": world,
            "frame_period_ms": s.frame_period_ms,
            "f0_range_hz": [s.f0_floor, s.f0_ceil],
            "threshold": s.threshold,
            "alignment": s.alignment,
            "downmix": DOWNMIX_RULE.format(rate=F0_RATE),
            "formula": (
                "FFE = (GPE frames + VDE frames) / gt frames; GPE and VDE also over all gt frames "
                "(gpe_voiced: GPE frames / frames voiced in both)"
            ),
            "reference": "gt F0 contour; generated frames past the gt end are ignored, "
            "gt frames past the generated end count as unvoiced (nearest alignment)",
        }

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        from spatialeval.metrics.ffe import ffe

        s = self.settings
        gt, gen = item.mono("gt", F0_RATE), item.mono("gen", F0_RATE)
        try:
            result = ffe(
                gt,
                gen,
                F0_RATE,
                method=s.method,
                frame_period_ms=s.frame_period_ms,
                f0_floor=s.f0_floor,
                f0_ceil=s.f0_ceil,
                alignment=s.alignment,
                threshold=s.threshold,
            )
        except TooShortError as exc:  # valid audio, too short for F0 analysis: counted, not failed
            return {
                **{name: math.nan for name in self.fields},
                "unmeasurable": {name: str(exc) for name in self.fields},
            }
        except Exception as exc:
            raise RuntimeError(f"{item.gen.path} vs {item.gt.path}: F0 frame error failed: {exc}") from exc
        return {
            "ffe": result["ffe"],
            "gpe": result["gpe"],
            "vde": result["vde"],
            "gpe_voiced": result["gpe_voiced"],
            "f0_frames": result["frames"],
            "gpe_frames": result["gpe_frames"],
            "vde_frames": result["vde_frames"],
            "voiced_both_frames": result["voiced_both_frames"],
        }

    def summarize(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        frames = sum(r.get("f0_frames", 0) for r in rows)
        gross = sum(r.get("gpe_frames", 0) for r in rows)
        voicing = sum(r.get("vde_frames", 0) for r in rows)
        both = sum(r.get("voiced_both_frames", 0) for r in rows)
        corpus = {
            "ffe_corpus": (gross + voicing) / frames if frames else math.nan,
            "gpe_voiced_corpus": gross / both if both else math.nan,
        }
        # a corpus value of a metric the run did not select is no more reported than its mean
        return {key: value for key, value in corpus.items() if self.wants(key.split("_")[0])}
