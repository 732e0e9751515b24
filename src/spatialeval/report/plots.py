"""The report's own figure, per-item metric distributions, as PNG bytes (matplotlib's Agg canvas, no pyplot).

matplotlib is imported inside the functions so importing spatialeval stays light. The figures of
stage sections are drawn by the stages (:meth:`spatialeval.pipeline.stages.base.Stage.report_figures`).
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.pipeline.presentation import png_bytes
from spatialeval.pipeline.registry import METRICS

#: Above this many values a histogram replaces the strip plot.
STRIP_LIMIT = 80


def scale_suffix(scale: float) -> str:
    """`` ×100`` for a table scale of 100, empty for 1."""
    return "" if scale == 1 else f" ×{scale:g}"


def axis_label(metric: str, protocol: str | None = None) -> str:
    """``LABEL ×scale (unit)`` for a registry metric under ``protocol``."""
    info = METRICS[metric]
    return f"{info.label}{scale_suffix(info.scale_for(protocol))} ({info.unit_for(protocol)})"


def distributions_png(
    values: dict[str, list[tuple[str, float]]], means: dict[str, float | None], protocol: str | None = None
) -> bytes:
    """One panel per metric: the per-item values (strip plot with a box, or a histogram for many items).

    ``values`` maps metric → [(item id, value)] with finite values only; values are drawn on the
    registry's table scale. ``means`` are the summary means (marked in red). The worst item is labelled.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    metrics = [name for name in values if values[name]]
    if not metrics:
        raise ValueError("no metric has a finite per-item value to plot")
    ncols = 2 if len(metrics) in (2, 4) else min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    figure = Figure(figsize=(5.2 * ncols, 2.5 * nrows + 0.6), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    rng = np.random.default_rng(0)  # fixed jitter: the same results give the same picture
    kinds: set[str] = set()
    for index, metric in enumerate(metrics):
        axis = axes[index // ncols][index % ncols]
        info = METRICS[metric]
        ids = [item for item, _ in values[metric]]
        scale = info.scale_for(protocol)
        data = np.array([value for _, value in values[metric]]) * scale
        if len(data) > STRIP_LIMIT:
            bins = int(min(40, max(10, math.sqrt(len(data)))))
            axis.hist(data, bins=bins, color="#4c72b0", alpha=0.85)
            axis.set_ylabel("items")
            kinds.add("hist")
        else:
            _horizontal_box(axis, data)
            kinds.add("strip")
            jitter = 1 + rng.uniform(-0.17, 0.17, len(data))
            axis.scatter(data, jitter, s=22, color="#4c72b0", alpha=0.8, edgecolors="white", linewidths=0.5, zorder=3)
            axis.set_yticks([])
            axis.set_ylim(0.5, 1.5)
            worst = int(np.argmax(data) if not info.higher_is_better else np.argmin(data))
            span = float(data.max() - data.min())
            at_right = span > 0 and data[worst] > data.min() + 0.7 * span
            at_left = span > 0 and data[worst] < data.min() + 0.3 * span
            # Label above the box, with a thin line down to the point, so it never covers other dots.
            # When every item scores the same there is no worst item to name.
            if span > 0:
                axis.annotate(
                    f"worst: {ids[worst]}",
                    (data[worst], jitter[worst]),
                    xytext=(data[worst], 1.4),
                    textcoords="data",
                    ha="right" if at_right else "left" if at_left else "center",
                    va="center",
                    fontsize=7.5,
                    color="#444444",
                    arrowprops={"arrowstyle": "-", "color": "#aaaaaa", "linewidth": 0.6, "shrinkB": 3},
                )
        mean = means.get(metric)
        if mean is not None and math.isfinite(mean):
            axis.axvline(mean * scale, color="#c44e52", linewidth=1.4, zorder=4)
        low, high = float(data.min()), float(data.max())
        pad = 0.08 * (high - low) if high > low else max(abs(high) * 0.1, 1e-3 * max(scale, 1.0))
        if info.flag:  # a flag: show its whole range, not a sliver around one value
            low, high, pad = 0.0, 1.0, 0.08
        axis.set_xlim(low - pad, high + pad)
        direction = f"{info.direction} is better"
        axis.set_title(f"{info.label}  ·  {direction}  ·  n={len(data)}", fontsize=10)
        axis.set_xlabel(axis_label(metric, protocol), fontsize=9)
        axis.tick_params(labelsize=8)
        axis.grid(axis="x", alpha=0.3)
    for index in range(len(metrics), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    handles = [Line2D([], [], color="#c44e52", linewidth=1.4, label="summary mean")]
    if "strip" in kinds:
        handles.append(Line2D([], [], marker="o", linestyle="", color="#4c72b0", label="one item (box: quartiles)"))
    if "hist" in kinds:
        handles.append(Patch(color="#4c72b0", alpha=0.85, label="items per bin"))
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    figure.suptitle("Per-item metric distributions", fontsize=12)
    return png_bytes(figure)


def _horizontal_box(axis, data: np.ndarray) -> None:
    style = dict(
        widths=0.5,
        showfliers=False,
        medianprops={"color": "#333333"},
        boxprops={"color": "#888888"},
        whiskerprops={"color": "#888888"},
        capprops={"color": "#888888"},
    )
    try:
        axis.boxplot(data, orientation="horizontal", **style)  # matplotlib ≥ 3.10
    except TypeError:
        axis.boxplot(data, vert=False, **style)
