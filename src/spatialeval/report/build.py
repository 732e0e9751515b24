"""Assemble the Markdown/HTML report of a results directory (see :func:`write_report`)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from spatialeval.pipeline.registry import METRICS
from spatialeval.report.data import ReportInputError, ResultsData, as_number, choose_items, load_results_dir
from spatialeval.report.document import Block, Bullets, Code, Heading, Image, Paragraph, Table, to_html, to_markdown

MAX_FAILED_ROWS = 100
MAX_LEFT_OUT = 20

PROTOCOL_NOTES = {
    "isdrama": (
        "IPD/ILD MAE follow the released ISDrama code (mel-projected cues, mean error divided by "
        "the frame count, IPD not wrapped); tables print them ×100."
    ),
    "strict": (
        "IPD/ILD MAE use the strict protocol: wrapped IPD error in radians and ILD error in dB, "
        "averaged over the time-frequency bins where the ground truth has energy."
    ),
}


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "—"
        if isinstance(value, int):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def _scaled(metric: str, value: Any, protocol: str | None) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—"
    return _fmt(float(value) * METRICS[metric].scale_for(protocol))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _safe_name(item_id: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "item"
    name, counter = f"maps_{stem}.png", 2
    while name in taken:
        name, counter = f"maps_{stem}_{counter}.png", counter + 1
    taken.add(name)
    return name


def _stage_reason(data: ResultsData, metric: str) -> str:
    stage = (data.summary.get("stages") or {}).get(METRICS[metric].stage)
    if isinstance(stage, dict) and stage.get("status") == "skipped":
        return "stage skipped"
    if isinstance(stage, dict):
        return "no valid item"
    return "stage not run"


def _summary_table(data: ResultsData) -> tuple[Table, list[str]]:
    counts = data.summary.get("counts") or {}
    protocol = data.protocol
    rows, notes = [], []
    for metric in data.metric_names():
        info = METRICS[metric]
        values = data.values(metric)
        numbers = [value for _, value in values]
        mean = data.summary.get(metric)
        if not isinstance(mean, (int, float)) or isinstance(mean, bool) or not math.isfinite(mean):
            mean_text = f"— ({_stage_reason(data, metric)})"
        else:
            mean_text = _scaled(metric, mean, protocol)
        if numbers:
            worst_id, _ = (min if info.higher_is_better else max)(values, key=lambda pair: pair[1])
            stats = [_scaled(metric, value, protocol) for value in (_median(numbers), min(numbers), max(numbers))]
        else:
            worst_id, stats = "—", ["—", "—", "—"]
        n_valid = counts.get(metric, len(numbers))
        scale = info.scale_for(protocol)
        rows.append(
            [
                info.label,
                f"`{metric}`",
                "↑ higher" if info.higher_is_better else "↓ lower",
                mean_text,
                *stats,
                str(n_valid),
                f"×{scale:g}" if scale != 1 else "",
                info.unit_for(protocol),
                worst_id,
            ]
        )
    if any(METRICS[m].scale_for(protocol) != 1 for m in data.metric_names()):
        notes.append("Values in rows with a scale are printed multiplied by it (summary.json stores them unscaled).")
    table = Table(
        ["Metric", "Field", "Better", "Mean", "Median", "Min", "Max", "n", "Scale", "Unit", "Worst item"],
        rows,
        align_right={3, 4, 5, 6, 7},
    )
    return table, notes


def _provenance_text(details: dict[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        if key in ("status", "reason"):
            continue
        text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else _fmt(value, 6)
        parts.append(f"{key}: {text}")
    return "; ".join(parts) or "—"


def _overview(data: ResultsData) -> list[Block]:
    summary = data.summary
    versions = summary.get("versions") or {}
    n_items = summary.get("n_items", len(data.rows))
    n_failed = summary.get("n_failed", len(data.failed()))
    lines = [
        f"Results: `{data.directory}`",
        f"Protocol: `{data.protocol}` · items: {n_items} · failed: {n_failed}"
        + (f" · shard {summary['shard']}" if summary.get("shard") else ""),
        f"spatialeval {versions.get('spatialeval', '?')} · report written "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    blocks: list[Block] = [Heading("spatialeval report", 1), Paragraph("  \n".join(lines))]
    if data.protocol in PROTOCOL_NOTES:
        blocks.append(Paragraph(PROTOCOL_NOTES[data.protocol]))
    return blocks


def _stages(data: ResultsData) -> list[Block]:
    stages = data.summary.get("stages") or {}
    if not stages:
        return []
    rows = [
        [
            name,
            str(info.get("status", "?")) if isinstance(info, dict) else str(info),
            str(info.get("reason") or "") if isinstance(info, dict) else "",
            _provenance_text(info) if isinstance(info, dict) else "",
        ]
        for name, info in stages.items()
    ]
    return [Heading("Stages"), Table(["Stage", "Status", "Reason", "Provenance"], rows)]


def _failures(data: ResultsData) -> list[Block]:
    failed = data.failed()
    blocks: list[Block] = [Heading("Failed items")]
    if not failed:
        return blocks + [Paragraph("None: every item was evaluated by every stage that ran.")]
    rows = [[item, message] for item, message in list(failed.items())[:MAX_FAILED_ROWS]]
    blocks.append(Table(["Item", "Error"], rows))
    if len(failed) > MAX_FAILED_ROWS:
        blocks.append(Paragraph(f"… and {len(failed) - MAX_FAILED_ROWS} more (see summary.json `failed_items`)."))
    return blocks


def _left_out(data: ResultsData) -> list[Block]:
    left_out = data.summary.get("left_out") or {}
    entries = []
    for key, label in (("only_gt", "only in gt (no generated file)"), ("only_gen", "only in gen (no gt file)")):
        ids = left_out.get(key) or []
        if ids:
            shown = ", ".join(f"`{i}`" for i in ids[:MAX_LEFT_OUT])
            more = f" … and {len(ids) - MAX_LEFT_OUT} more" if len(ids) > MAX_LEFT_OUT else ""
            entries.append(f"{len(ids)} {label}: {shown}{more}")
    return [Heading("Unpaired files"), Bullets(entries)] if entries else []


def _extra(data: ResultsData) -> list[Block]:
    extra = data.summary.get("extra") or {}
    if not extra:
        return []
    rows = [
        [f"`{key}`", json.dumps(value, default=str) if isinstance(value, (dict, list)) else _fmt(value, 6)]
        for key, value in extra.items()
    ]
    return [Heading("Corpus-level values"), Table(["Name", "Value"], rows, align_right={1})]


def _unmeasurable(data: ResultsData) -> list[Block]:
    reasons = data.summary.get("unmeasurable_reasons") or {}
    counts = data.summary.get("n_unmeasurable") or {}
    rows = [
        [METRICS[m].label if m in METRICS else m, f"`{m}`", str(counts.get(m, sum(per_reason.values()))), why, str(n)]
        for m, per_reason in reasons.items()
        for why, n in per_reason.items()
    ]
    if not rows:
        return []
    return [
        Heading("Unmeasurable"),
        Paragraph(
            "Valid audio on which a metric had nothing to measure: counted here, left out of that metric's "
            "mean (and gated by `spatialeval check`), never scored as a confident value."
        ),
        Table(["Metric", "Field", "Items", "Reason", "With this reason"], rows, align_right={2, 4}),
    ]


DOA_COLUMNS = (
    "doa_gt_azimuth_deg",
    "doa_gen_azimuth_deg",
    "doa_gt_lateral_deg",
    "doa_gen_lateral_deg",
    "doa_gt_reliability",
    "doa_gen_reliability",
    "front_back",
    "doa_error_scope",
    "doa_error_deg",
)


def _largest_first(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """``rows`` by ``metric``, largest first; rows without a finite value last (stable)."""

    def key(row: dict[str, Any]) -> float:
        value = as_number(row.get(metric))
        return value if math.isfinite(value) else -1.0

    return sorted(rows, key=key, reverse=True)


def _directions(data: ResultsData, limit: int = 30) -> list[Block]:
    """The checkpoint-free direction estimates per item, with their reliability (cues stage)."""
    rows_with = _largest_first(
        [row for row in data.rows if any(column in row for column in DOA_COLUMNS)], "doa_error_deg"
    )
    if not rows_with:
        return []
    table = [[f"`{row['id']}`", *(_fmt(row.get(column)) for column in DOA_COLUMNS)] for row in rows_with[:limit]]
    more = f" (the {limit} largest DoA errors of {len(rows_with)})" if len(rows_with) > limit else ""
    return [
        Heading("Direction of arrival per item"),
        Paragraph(
            "Checkpoint-free estimates (cues stage) with their reliability: azimuth is empty where "
            "front/back could not be told (the lateral angle, from the median plane, is still given) "
            f"and the DoA error then covers the lateral angle only (scope `lateral`){more}."
        ),
        Table(
            [
                "Item",
                "gt az",
                "gen az",
                "gt lateral",
                "gen lateral",
                "gt reliability",
                "gen reliability",
                "front/back",
                "scope",
                "DoA err",
            ],
            table,
            align_right=set(range(1, 7)) | {9},
        ),
    ]


def _trajectories(data: ResultsData, out_dir: Path, written: dict[str, Path], limit: int = 6) -> list[Block]:
    """Azimuth over time, gt vs generated, for the items with direction tracks (trajectory stage)."""
    items = _largest_first(
        [row for row in data.rows if isinstance(row.get("cues_track_gt"), dict)], "cues_trajectory_error_deg"
    )
    if not items:
        return []
    try:
        import matplotlib  # noqa: F401  (the per-item distributions section already says plots are left out)
    except ImportError:
        return []
    from spatialeval.report import plots

    blocks: list[Block] = [
        Heading("Direction trajectories"),
        Paragraph(
            f"Per-segment directions of moving sources, gt vs. generated (the {min(limit, len(items))} "
            "largest checkpoint-free trajectory errors)."
        ),
    ]
    taken: set[str] = set()
    for row in items[:limit]:
        tracks = {"checkpoint-free DoA": (row["cues_track_gt"], row["cues_track_gen"])}
        if isinstance(row.get("bat_track_gt"), dict):
            tracks["BAT direction head"] = (row["bat_track_gt"], row["bat_track_gen"])
        png = plots.trajectory_png(str(row["id"]), tracks)
        path = out_dir / _safe_name(str(row["id"]), taken).replace("maps_", "trajectory_")
        path.write_bytes(png)
        written[f"trajectory:{row['id']}"] = path
        text = _item_metric_text(data, str(row["id"]), [m for m in METRICS if "trajectory" in m])
        blocks += [
            Heading(f"`{row['id']}`", 3),
            Paragraph(text or "no trajectory error could be measured"),
            Image(
                f"direction trajectory of {row['id']}",
                path.name,
                png,
                "filled: azimuth; hollow: lateral angle where front/back is ambiguous",
            ),
        ]
    return blocks


def _provenance(data: ResultsData) -> list[Block]:
    blocks: list[Block] = [Heading("Provenance")]
    versions = data.summary.get("versions") or {}
    if versions:
        blocks.append(Table(["Package", "Version"], [[k, str(v)] for k, v in versions.items()]))
    config = data.summary.get("config")
    if config:
        blocks.append(Code(json.dumps(config, indent=2, ensure_ascii=False, default=str), summary="Configuration"))
    if len(blocks) == 1:
        blocks.append(Paragraph("summary.json records no versions or configuration."))
    return blocks


def _item_metric_text(data: ResultsData, item_id: str, metrics: list[str] | None = None) -> str:
    row = data.row(item_id) or {}
    parts = []
    for metric in metrics or data.metric_names():
        value = row.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            scale = METRICS[metric].scale_for(data.protocol)
            parts.append(
                f"{METRICS[metric].label}{'' if scale == 1 else f' ×{scale:g}'} = "
                f"{_scaled(metric, value, data.protocol)}"
            )
    return ", ".join(parts)


def _figures(data: ResultsData, chosen: list[str], why: str, out_dir: Path, written: dict[str, Path]) -> list[Block]:
    """The plot sections; PNGs are written to ``out_dir`` and recorded in ``written``."""
    blocks: list[Block] = [Heading("Per-item distributions")]
    try:
        import matplotlib  # noqa: F401  (only to fail early with a clear note)

        from spatialeval.report import plots
    except ImportError:
        note = "Plots left out: matplotlib is not installed (pip install 'spatialeval[report]')."
        print(f"spatialeval report: {note}", file=sys.stderr)
        return blocks + [Paragraph(note)]

    values = {metric: data.values(metric) for metric in data.metric_names()}
    plotted = {metric: pairs for metric, pairs in values.items() if pairs}
    empty = [metric for metric, pairs in values.items() if not pairs]
    if plotted:
        png = plots.distributions_png(plotted, {m: data.summary.get(m) for m in plotted}, data.protocol)
        path = out_dir / "distributions.png"
        path.write_bytes(png)
        written["distributions"] = path
        caption = (
            f"One dot per item with a box of the quartiles and the worst item labelled (a histogram where "
            f"a metric has more than {plots.STRIP_LIMIT} items)"
        )
        blocks.append(
            Image(
                "Per-item metric distributions",
                path.name,
                png,
                f"{caption}; red line: summary mean. Values on the table scale.",
            )
        )
    else:
        blocks.append(Paragraph("No metric has a per-item value to plot."))
    if empty:
        blocks.append(Paragraph(f"No per-item values for: {', '.join(f'`{m}`' for m in empty)}."))

    blocks.append(Heading("IPD / ILD maps"))
    if not chosen:
        return blocks + [Paragraph("No items to draw.")]
    blocks.append(
        Paragraph(
            f"Items: {why}. Time × frequency maps of the interaural phase difference "
            "(IPD, wrapped to ±π) and level difference (ILD) of the ground truth and the generated "
            "clip, and their difference; 1024-point STFT, hop 320 at 32 kHz, as the metrics use."
        )
    )
    from spatialeval.report.maps import MapUnavailable, compute_maps

    floor_db = float(((data.summary.get("config") or {}).get("interaural") or {}).get("floor_db", 60.0))
    taken: set[str] = set()
    for item_id in chosen:
        blocks.append(Heading(f"`{item_id}`", 3))
        row = data.row(item_id) or {}
        metric_text = _item_metric_text(data, item_id)
        if metric_text:
            blocks.append(Paragraph(metric_text))
        gt_path, gen_path = data.resolve_audio(row.get("gt")), data.resolve_audio(row.get("gen"))
        missing = [
            f"{side} audio {row.get(side)!r}" for side, path in (("gt", gt_path), ("gen", gen_path)) if path is None
        ]
        if missing:
            blocks.append(
                Paragraph(
                    f"Maps skipped: {' and '.join(missing)} not found "
                    f"(looked as stored, and relative to `{data.directory}` and its parent)."
                )
            )
            continue
        try:
            maps = compute_maps(gt_path, gen_path, floor_db=floor_db)
        except (MapUnavailable, ValueError, RuntimeError, OSError) as exc:
            blocks.append(Paragraph(f"Maps skipped: {exc}"))
            continue
        png = plots.maps_png(item_id, maps, _item_metric_text(data, item_id, ["ipd_mae", "ild_mae"]))
        path = out_dir / _safe_name(item_id, taken)
        path.write_bytes(png)
        written[f"maps:{item_id}"] = path
        blocks.append(Image(f"IPD/ILD maps of {item_id}", path.name, png, f"gt: {gt_path} · generated: {gen_path}"))
    return blocks


def write_report(
    results_dir: str | Path, out_dir: str | Path | None = None, items: list[str] | None = None, max_items: int = 3
) -> dict[str, Path]:
    """Write ``report.md`` and a self-contained ``report.html`` (plots embedded) for a results directory.

    ``out_dir`` defaults to ``RESULTS/report``. IPD/ILD maps are drawn for ``items`` (ids from
    items.jsonl) or, by default, up to ``max_items`` worst items by ``ipd_mae``/``ild_mae``; the PNGs
    are saved beside the reports. Returns the written files: ``"markdown"``, ``"html"``,
    ``"distributions"`` and ``"maps:<item id>"`` (plots only when matplotlib is installed and there
    is something to draw). Raises :class:`ReportInputError` for an unusable results directory or
    unknown item ids.
    """
    data = load_results_dir(results_dir)
    chosen, why = choose_items(data, items, max_items)
    out = Path(out_dir) if out_dir is not None else data.directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    table, table_notes = _summary_table(data)
    blocks: list[Block] = _overview(data)
    blocks.append(Heading("Summary"))
    blocks.append(table if table.rows else Paragraph("No metric fields in these results."))
    blocks += [Paragraph(note) for note in table_notes]
    blocks += _extra(data) + _stages(data) + _failures(data) + _unmeasurable(data) + _left_out(data)
    blocks += _directions(data)
    blocks += _figures(data, chosen, why, out, written)
    blocks += _trajectories(data, out, written)
    blocks += _provenance(data)

    markdown_path, html_path = out / "report.md", out / "report.html"
    markdown_path.write_text(to_markdown(blocks), encoding="utf-8")
    html_path.write_text(to_html(blocks, title=f"spatialeval report: {data.directory.name}"), encoding="utf-8")
    return {"markdown": markdown_path, "html": html_path, **written}


def run_report(results_dir: str | Path, out_dir: str | Path | None = None, items: list[str] | None = None) -> int:
    """CLI entry point: write the report, print the written paths; 0 on success, 2 for unusable input."""
    try:
        written = write_report(results_dir, out_dir, items)
    except ReportInputError as exc:
        print(f"spatialeval report: error: {exc}", file=sys.stderr)
        return 2
    for key, path in written.items():
        print(f"{key}: {path}")
    return 0
