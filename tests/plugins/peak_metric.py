"""A test-only stage that also declares its presentation: the peak-level difference of generated vs. gt.

Registered with ``spatialeval.pipeline.registry.register_stage(PeakStage)`` — nothing else: its report
section (a table and a figure), its console summary line and note come from the hooks below, with no
change to ``spatialeval.report`` or ``spatialeval.pipeline.display``.
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.presentation import Figure, Section, SummaryLine, Table, Text, png_bytes
from spatialeval.pipeline.stages.base import LoadedPair, Stage


def _peak_db(clip) -> float:
    peak = float(np.max(np.abs(np.asarray(clip.samples, dtype=np.float64)), initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


class PeakStage(Stage):
    name = "peak"
    metrics = (
        MetricInfo(
            "peak_diff_db",
            "Peak diff",
            "peak",
            False,
            "|peak level of generated − peak level of gt| over both channels",
            unit="dB",
            degenerate=degenerate_outcomes("scored: the peak difference", silent="unmeasurable"),
        ),
    )
    extra_fields = ("peak_gt_db", "peak_gen_db")

    def describe(self):
        return {"method": "largest absolute sample over both channels"}

    def compute_one(self, item: LoadedPair):
        gt, gen = _peak_db(item.gt), _peak_db(item.gen)
        if not (math.isfinite(gt) and math.isfinite(gen)):
            return {"peak_diff_db": math.nan, "unmeasurable": {"peak_diff_db": "a clip is digital silence"}}
        return {"peak_diff_db": abs(gen - gt), "peak_gt_db": gt, "peak_gen_db": gen}

    def summarize(self, rows):
        diffs = [row["peak_diff_db"] for row in rows if math.isfinite(row.get("peak_diff_db", math.nan))]
        return {"peak_largest_diff_db": max(diffs)} if diffs else {}

    # --- presentation

    @classmethod
    def report_tables(cls, view):
        rows = [row for row in view.rows if "peak_gt_db" in row]
        if not rows:
            return []
        table = Table(
            ["Item", "gt peak (dBFS)", "generated peak (dBFS)", "difference (dB)"],
            [
                [
                    f"`{r['id']}`",
                    view.number(r["peak_gt_db"]),
                    view.number(r["peak_gen_db"]),
                    view.number(r["peak_diff_db"]),
                ]
                for r in rows
            ],
            align_right=frozenset({1, 2, 3}),
        )
        return [Section("Peak levels per item", [Text("Largest absolute sample of each clip."), table])]

    @classmethod
    def report_figures(cls, view):
        from matplotlib.figure import Figure as MplFigure

        pairs = view.values("peak_diff_db")
        if not pairs:
            return []
        figure = MplFigure(figsize=(4, 2.5), layout="constrained")
        axis = figure.subplots()
        axis.bar([item for item, _ in pairs], [value for _, value in pairs], color="#4c72b0")
        axis.set_ylabel("peak difference (dB)")
        png = png_bytes(figure)
        return [
            Section("Peak differences", [Figure("peaks", "all", png, "peak difference per item", "one bar per item")])
        ]

    @classmethod
    def summary_lines(cls, extra, protocol):
        value = extra.get("peak_largest_diff_db")
        return [] if value is None else [SummaryLine("Peak diff (largest item)", value, "lower is better")]

    @classmethod
    def summary_notes(cls, extra):
        value = extra.get("peak_largest_diff_db")
        return [f"peak: one item's peak differs by {value:.1f} dB"] if value is not None and value > 3 else []
