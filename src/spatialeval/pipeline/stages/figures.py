"""Figures of the built-in stages' report sections, rendered to PNG bytes with matplotlib's Agg canvas.

No pyplot and no global backend change; matplotlib is imported inside the functions so importing a
stage stays light. Each function takes what one stage stores (or computes) for one item.
"""

from __future__ import annotations

import math

import numpy as np

from spatialeval.pipeline.presentation import png_bytes

MASK_COLOUR = "#9a9a9a"  # mid grey: distinct from the white of the colour maps' ends/centres


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

    ``maps`` is an :class:`~spatialeval.features.cue_maps.InterauralMaps`; ``metric_text`` (e.g. the
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
    return png_bytes(figure)


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
    return png_bytes(figure)
