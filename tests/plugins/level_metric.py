"""A test-only metric in one module: the broadband level difference of generated vs. gt, in dB.

Registered with ``spatialeval.pipeline.registry.register_stage(LevelStage)`` — nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class LevelSettings:
    floor_db: float = setting(-100.0, cli="--level-floor-db", help="levels below this count as silence (dBFS)")


class LevelStage(Stage):
    name = "level"
    Settings = LevelSettings
    metrics = (
        MetricInfo(
            "level_diff_db",
            "Level diff",
            "level",
            False,
            "|RMS level of generated − RMS level of gt| over both channels",
            unit="dB",
            degenerate=degenerate_outcomes("scored: the level difference, silence at floor_db"),
        ),
    )
    extra_fields = ("level_gt_db",)

    def describe(self):
        return {"method": "RMS over all samples and channels", "floor_db": self.settings.floor_db}

    def compute_one(self, item: LoadedPair):
        def level(clip) -> float:
            rms = float(np.sqrt(np.mean(np.asarray(clip.samples, dtype=np.float64) ** 2)))
            return 20 * math.log10(rms) if rms > 0 else -math.inf

        gt, gen = level(item.gt), level(item.gen)
        if gt < self.settings.floor_db:
            return {"level_diff_db": math.nan, "unmeasurable": {"level_diff_db": "the ground truth is silent"}}
        return {"level_diff_db": abs(max(gen, self.settings.floor_db) - gt), "level_gt_db": gt}
