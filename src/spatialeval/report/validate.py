"""The ``spatialeval validate`` outputs: one PNG per metric, a report section (HTML + Markdown) and CSV tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from spatialeval.io.files import atomic_write_text
from spatialeval.pipeline.presentation import DPI
from spatialeval.pipeline.validate import COLUMNS, HEADERS, ValidationResult, format_cell
from spatialeval.report.document import Block, Bullets, Heading, Image, Paragraph, Table, to_html, to_markdown
from spatialeval.report.plots import axis_label

#: (sweep, x-axis label) of the panels, left to right.
PANELS = (
    ("azimuth", "generated azimuth − gt azimuth (°)"),
    ("elevation", "elevation change (°)"),
    ("level", "attenuation (dB)"),
    ("drr", "DRR of the generated clip (dB; right = dry)"),
)


def sweep_png(result: ValidationResult, metric: str) -> bytes:
    """Five panels: the metric along each sweep (grey: the floor's 95th percentile), and floor vs mirrored pairs."""
    import io

    from matplotlib.figure import Figure

    values = result.values[result.values["metric"] == metric]
    threshold = float(result.table.at[metric, "floor_p95"])
    line = -threshold if result.higher_is_better[metric] else threshold  # back to the metric's own sign
    figure = Figure(figsize=(17.0, 3.2), layout="constrained")
    axes = figure.subplots(1, 5)
    for axis, (sweep, xlabel) in zip(axes, PANELS):
        part = values[values["sweep"] == sweep].sort_values("label")
        x = part["label"].to_numpy(dtype=float)
        if sweep == "drr":  # dry (inf) drawn right of the highest DRR
            finite = x[np.isfinite(x)]
            x = np.where(np.isfinite(x), x, (finite.max() + 5.0) if finite.size else 0.0)
        axis.plot(x, part["value"].to_numpy(dtype=float), "o-" if sweep != "azimuth" else "o", ms=3)
        if math.isfinite(line):
            axis.axhline(line, color="0.5", ls="--", lw=1)
        axis.set_xlabel(xlabel)
        rho = result.table.at[metric, f"rho_{sweep}"]
        axis.set_title(f"{sweep}: ρ = {format_cell(float(rho), 'rho_' + sweep)}", fontsize=9)
    axes[0].set_ylabel(axis_label(metric))
    box = axes[4]
    groups = [values[values["sweep"] == s]["value"].dropna().to_numpy(dtype=float) for s in ("floor", "mirror")]
    for position, group in enumerate(groups):
        if group.size:
            box.plot(np.full(group.size, position) + np.linspace(-0.1, 0.1, group.size), group, "o", ms=3)
    box.set_xticks([0, 1], ["same direction,\nother utterance", "front/back\nmirror"])
    box.set_xlim(-0.6, 1.6)
    if math.isfinite(line):
        box.axhline(line, color="0.5", ls="--", lw=1)
    box.set_title(
        f"front/back: {format_cell(float(result.table.at[metric, 'front_back']), 'front_back')} of a 90° change",
        fontsize=9,
    )
    figure.suptitle(f"{metric} — head {result.head} (dashed: noise floor, 95th percentile)", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def validation_blocks(result: ValidationResult, images: dict[str, bytes]) -> list[Block]:
    """The report section: the table, the n/a reasons, and one figure per metric."""
    headers = ["Metric", "Better", *(HEADERS.get(c, c) for c in COLUMNS)]
    rows = [
        [
            metric,
            "higher" if result.higher_is_better[metric] else "lower",
            *(format_cell(float(row[c]), c) for c in COLUMNS),
        ]
        for metric, row in result.table.iterrows()
    ]
    blocks: list[Block] = [
        Heading("Metric validation", 2),
        Paragraph(
            f"Head `{result.head}`, {result.n_pairs} rendered pairs of the shipped speech, "
            f"{result.seconds:.0f} s. ρ: Spearman correlation of the metric (oriented so larger is worse) "
            "with the true change; mono: fraction of azimuth steps that get worse; L/R asym: relative "
            "|m(+θ) − m(−θ)|; front/back: median change a front/back mirror causes, as a fraction of a 90° "
            "azimuth change's; f/b > floor: fraction of mirrored pairs above the noise floor (95th "
            "percentile on same-direction pairs of different utterances); min: smallest change above it."
        ),
        Table(headers, rows, align_right=set(range(2, len(headers)))),
    ]
    reasons = [
        f"`{metric}` {HEADERS.get(column, column)}: {reason}"
        for metric, by_column in result.reasons.items()
        for column, reason in by_column.items()
        if not math.isfinite(float(result.table.at[metric, column]))
    ]
    reasons += [f"`{metric}` skipped: {reason}" for metric, reason in result.skipped.items()]
    reasons += [f"note: {note}" for note in result.notes]
    if reasons:
        blocks += [Heading("Not available, and why", 3), Bullets(reasons)]
    for metric, png in images.items():
        blocks.append(
            Image(
                f"{metric} along the sweeps",
                f"validate_{metric}.png",
                png,
                "the metric along each sweep; dashed: the noise floor's 95th percentile",
            )
        )
    return blocks


def write_validation(result: ValidationResult, out_dir: str | Path) -> list[Path]:
    """Write ``validate.html``, ``validate.md``, one ``validate_METRIC.png`` per metric, ``table.csv``,
    ``values.csv`` and ``validation.json`` under ``out_dir``; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, images = [], {}
    for metric in result.table.index:
        images[metric] = sweep_png(result, metric)
        path = out / f"validate_{metric}.png"
        path.write_bytes(images[metric])
        written.append(path)
    blocks = validation_blocks(result, images)
    for name, text in (
        ("validate.html", to_html(blocks, "spatialeval validate")),
        ("validate.md", to_markdown(blocks)),
        ("table.csv", result.table.to_csv(index_label="metric")),
        ("values.csv", result.values.to_csv(index=False)),
        ("validation.json", json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"),
    ):
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written
