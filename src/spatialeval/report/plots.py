"""Report figures, rendered to PNG bytes with matplotlib's Agg canvas (no pyplot, no global backend change).

matplotlib is imported inside the functions so importing spatialeval stays light.
"""

from __future__ import annotations

import io
import math

import numpy as np

from spatialeval.pipeline.registry import METRICS

DPI = 100
MASK_COLOUR = "#9a9a9a"  # mid grey: distinct from the white of the colour maps' ends/centres
#: Above this many values a histogram replaces the strip plot.
STRIP_LIMIT = 80


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


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
    return _png(figure)


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


def _pi_ticks(colourbar) -> None:
    colourbar.set_ticks([-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi])
    colourbar.set_ticklabels(["−π", "−π/2", "0", "π/2", "π"])


def _robust_limit(*arrays: np.ndarray, floor: float, cap: float) -> float:
    finite = np.concatenate([np.abs(a[np.isfinite(a)]).ravel() for a in arrays])
    if finite.size == 0:
        return floor
    return float(np.clip(np.percentile(finite, 99), floor, cap))


def maps_png(item_id: str, maps, metric_text: str = "") -> bytes:
    """A 2 × 3 figure: IPD (top) and ILD (bottom) for gt, generated and generated − gt, over time × frequency.

    ``maps`` is an :class:`~spatialeval.report.maps.InterauralMaps`; ``metric_text`` (e.g. the
    item's IPD/ILD MAE) goes into the title. Masked (low-energy) bins are drawn grey.
    """
    import matplotlib
    from matplotlib.figure import Figure

    def cmap(name):
        return matplotlib.colormaps[name].with_extremes(bad=MASK_COLOUR)

    figure = Figure(figsize=(15, 7.6), layout="constrained")
    axes = figure.subplots(2, 3, sharey=True)
    top_khz = maps.max_hz / 1000.0
    ild_limit = _robust_limit(maps.ild_gt, maps.ild_gen, floor=3.0, cap=40.0)
    ild_diff_limit = _robust_limit(maps.ild_diff, floor=1.0, cap=40.0)
    panels = [
        (
            maps.ipd_gt,
            maps.seconds_gt,
            "IPD, ground truth",
            cmap("twilight"),
            (-math.pi, math.pi),
            "IPD ∠R−∠L (rad)",
            True,
        ),
        (
            maps.ipd_gen,
            maps.seconds_gen,
            "IPD, generated",
            cmap("twilight"),
            (-math.pi, math.pi),
            "IPD ∠R−∠L (rad)",
            True,
        ),
        (
            maps.ipd_diff,
            maps.seconds_common,
            "IPD difference, generated − gt (wrapped)",
            cmap("twilight_shifted"),
            (-math.pi, math.pi),
            "ΔIPD (rad)",
            True,
        ),
        (
            maps.ild_gt,
            maps.seconds_gt,
            "ILD, ground truth",
            cmap("RdBu_r"),
            (-ild_limit, ild_limit),
            "ILD (dB, + = right louder)",
            False,
        ),
        (
            maps.ild_gen,
            maps.seconds_gen,
            "ILD, generated",
            cmap("RdBu_r"),
            (-ild_limit, ild_limit),
            "ILD (dB, + = right louder)",
            False,
        ),
        (
            maps.ild_diff,
            maps.seconds_common,
            "ILD difference, generated − gt",
            cmap("PuOr_r"),
            (-ild_diff_limit, ild_diff_limit),
            "ΔILD (dB)",
            False,
        ),
    ]
    for axis, (image, _, title, colour_map, (vmin, vmax), bar_label, is_phase) in zip(axes.ravel(), panels):
        frames = image.shape[1]
        extent = (0.0, frames * maps.hop_length / maps.sample_rate, 0.0, top_khz)
        drawn = axis.imshow(
            image,
            origin="lower",
            aspect="auto",
            extent=extent,
            cmap=colour_map,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        colourbar = figure.colorbar(drawn, ax=axis, pad=0.01, fraction=0.05)
        colourbar.set_label(bar_label, fontsize=8)
        colourbar.ax.tick_params(labelsize=7.5)
        if is_phase:
            _pi_ticks(colourbar)
        if np.isfinite(image).sum() == 0:
            axis.text(0.5, 0.5, "no bin above the energy floor", transform=axis.transAxes, ha="center", va="center")
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("time (s)", fontsize=9)
        axis.tick_params(labelsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel("frequency (kHz)", fontsize=9)
    subtitle = (
        f"grey: bins more than {maps.floor_db:g} dB below the clip's peak"
        f" (either clip's, in the differences); differences over the first {maps.seconds_common:.2f} s"
    )
    figure.suptitle(
        f"{item_id}: interaural cues, gt vs. generated"
        + (f"   [{metric_text}]" if metric_text else "")
        + f"\n{subtitle}",
        fontsize=11,
    )
    return _png(figure)


def trajectory_png(item_id: str, tracks: dict[str, tuple[dict, dict]]) -> bytes:
    """Direction over time, gt vs generated, one panel per source (``{"cues": (gt, gen), "bat": ...}``, each a
    :meth:`spatialeval.metrics.trajectory.DirectionTrack.to_dict`). The azimuth is drawn where known (90° = left);
    segments whose front/back is ambiguous show their lateral angle as hollow markers, unmeasurable ones nothing."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.2 * len(tracks), 3.0), layout="constrained")
    axes = figure.subplots(1, len(tracks), squeeze=False)[0]
    for axis, (source, (gt, gen)) in zip(axes, tracks.items()):
        for track, colour, label in ((gt, "#4c72b0", "ground truth"), (gen, "#c44e52", "generated")):
            centres = [s + d / 2 for s, d in zip(track["start_s"], track["duration_s"])]
            azimuth = [np.nan if a is None else a for a in track["azimuth_deg"]]
            lateral = [np.nan if v is None else v for v in track.get("lateral_deg", [None] * len(centres))]
            axis.plot(centres, azimuth, "o-", color=colour, label=f"{label} azimuth", linewidth=1.4)
            ambiguous = [lat if not np.isfinite(az) else np.nan for az, lat in zip(azimuth, lateral)]
            if np.isfinite(ambiguous).any():
                axis.plot(centres, ambiguous, "o", mfc="none", color=colour, label=f"{label} lateral (front/back ?)")
        axis.set_title(f"{source}: {item_id}", fontsize=10)
        axis.set_xlabel("time (s)", fontsize=9)
        axis.set_ylabel("degrees (90 = left)", fontsize=9)
        axis.set_ylim(-185, 185)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="best")
    return _png(figure)
