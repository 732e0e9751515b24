"""Assemble the Markdown/HTML report of a results directory (see :func:`write_report`)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from spatialeval.numbers import format_number
from spatialeval.pipeline.presentation import Figure, Section, Subheading, Text
from spatialeval.pipeline.presentation import Table as StageTable
from spatialeval.pipeline.registry import METRICS, stage_classes
from spatialeval.report.data import ReportInputError, ResultsData, choose_items, load_results_dir
from spatialeval.report.document import Block, Bullets, Code, Heading, Image, Paragraph, Table, to_html, to_markdown

MAX_FAILED_ROWS = 100
MAX_LEFT_OUT = 20


def _scaled(metric: str, value: Any, protocol: str | None) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—"
    return format_number(float(value) * METRICS[metric].scale_for(protocol))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


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
        text = (
            json.dumps(value, ensure_ascii=False, default=str)
            if isinstance(value, (dict, list))
            else format_number(value, 6)
        )
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
    ran = {name for name, status in (data.summary.get("stages") or {}).items() if (status or {}).get("status") == "ran"}
    for stage in stage_classes().values():  # a note on how a stage's numbers are defined, for the stages that ran
        if stage.name in ran and data.protocol in stage.protocol_notes:
            blocks.append(Paragraph(stage.protocol_notes[data.protocol]))
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
        [f"`{key}`", json.dumps(value, default=str) if isinstance(value, (dict, list)) else format_number(value, 6)]
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


class _View:
    """The :class:`~spatialeval.pipeline.presentation.ReportView` handed to the stages' report hooks."""

    def __init__(self, data: ResultsData, chosen: list[str], why: str) -> None:
        self._data, self.chosen_items, self.chosen_why = data, chosen, why
        self.rows, self.summary = data.rows, data.summary

    @property
    def protocol(self) -> str:
        return self._data.protocol

    @property
    def directory(self) -> Path:
        return self._data.directory

    def row(self, item_id: str) -> dict[str, Any] | None:
        return self._data.row(item_id)

    def values(self, metric: str) -> list[tuple[str, float]]:
        return self._data.values(metric)

    def resolve_audio(self, path_value: Any) -> Path | None:
        return self._data.resolve_audio(path_value)

    def metric_text(self, item_id: str, metrics: list[str] | None = None) -> str:
        return _item_metric_text(self._data, item_id, metrics)

    def number(self, value: Any) -> str:
        return format_number(value)


def _safe_name(kind: str, item_id: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "item"
    name, counter = f"{kind}_{stem}.png", 2
    while name in taken:
        name, counter = f"{kind}_{stem}_{counter}.png", counter + 1
    taken.add(name)
    return name


def _render(sections: list[Section], out_dir: Path, written: dict[str, Path]) -> list[Block]:
    """Report blocks of stage sections; each figure is saved beside the report and recorded in ``written``."""
    blocks: list[Block] = []
    for section in sections:
        blocks.append(Heading(section.title))
        for block in section.blocks:
            if isinstance(block, Text):
                blocks.append(Paragraph(block.text))
            elif isinstance(block, Subheading):
                blocks.append(Heading(block.text, 3))
            elif isinstance(block, StageTable):
                blocks.append(Table(block.headers, block.rows, align_right=set(block.align_right)))
            elif isinstance(block, Figure):
                taken = {path.name for path in written.values()}
                path = out_dir / _safe_name(block.kind, block.item, taken)
                path.write_bytes(block.png)
                written[f"{block.kind}:{block.item}"] = path
                blocks.append(Image(block.alt, path.name, block.png, block.caption))
            else:
                raise TypeError(f"a report section holds {type(block).__name__}, not a presentation block")
    return blocks


def _stage_sections(hook: str, view: _View, out_dir: Path, written: dict[str, Path]) -> list[Block]:
    """The sections every registered stage returns from ``hook`` (registry order), rendered."""
    return _render([s for stage in stage_classes().values() for s in getattr(stage, hook)(view)], out_dir, written)


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


def _distributions(data: ResultsData, out_dir: Path, written: dict[str, Path]) -> tuple[list[Block], bool]:
    """The per-item distributions section (its PNG written to ``out_dir``, recorded in ``written``), and
    whether figures can be drawn at all (False without matplotlib: the section then says so)."""
    blocks: list[Block] = [Heading("Per-item distributions")]
    try:
        import matplotlib  # noqa: F401  (only to fail early with a clear note)

        from spatialeval.report import plots
    except ImportError:
        note = "Plots left out: matplotlib is not installed (pip install 'spatialeval[report]')."
        print(f"spatialeval report: {note}", file=sys.stderr)
        blocks.append(Paragraph(note))
        return blocks, False

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
    return blocks, True


def write_report(
    results_dir: str | Path, out_dir: str | Path | None = None, items: list[str] | None = None, max_items: int = 3
) -> dict[str, Path]:
    """Write ``report.md`` and a self-contained ``report.html`` (plots embedded) for a results directory.

    ``out_dir`` defaults to ``RESULTS/report``. Besides the run's own tables and the per-item
    distributions, every registered stage adds the sections it declares
    (:meth:`~spatialeval.pipeline.stages.base.Stage.report_tables`, ``report_figures``); per-item
    figures are drawn for ``items`` (ids from items.jsonl) or, by default, up to ``max_items`` worst
    items by the stages' ``item_ranking``; the PNGs are saved beside the reports. Returns the written
    files: ``"markdown"``, ``"html"``, ``"distributions"`` and ``"<kind>:<item id>"`` per stage figure
    (plots only when matplotlib is installed and there is something to draw). Raises
    :class:`ReportInputError` for an unusable results directory or unknown item ids.
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
    view = _View(data, chosen, why)
    blocks += _stage_sections("report_tables", view, out, written)
    distributions, can_draw = _distributions(data, out, written)
    blocks += distributions
    if can_draw:
        blocks += _stage_sections("report_figures", view, out, written)
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
