"""Human-readable renderings of a summary (the CLI prints these; no logic lives in the CLI)."""

from __future__ import annotations

from typing import Any

from spatialeval.pipeline.registry import METRICS, stage_classes


def _headline(status: dict[str, Any]) -> str:
    """The most telling provenance entry of a stage: its model, else its method or definition."""
    for key in ("model", "asr", "encoder", "f0", "method", "definition"):
        value = status.get(key)
        if isinstance(value, dict):
            value = value.get("model") or value.get("backend")
        if value:
            text = str(value)
            return text if len(text) <= 90 else text[:87] + "..."
    return ""


def format_stages(summary: dict[str, Any]) -> str:
    lines = []
    for name, status in summary.get("stages", {}).items():
        if status["status"] == "ran":
            what = _headline(status)
            sha = status.get("checkpoint_sha256")
            lines.append(f"  ran      {name:<11} {what}" + (f" (sha256 {sha[:12]})" if sha else ""))
        else:
            lines.append(f"  skipped  {name:<11} {status['reason']}")
    return "\n".join(lines)


def format_table(summary: dict[str, Any]) -> str:
    """Metric table; labels, scales and directions come from the metric metadata for the summary's protocol
    (ISDrama's IPD/ILD are shown ×100 as in the paper, labelled as such)."""
    rows = []
    protocol = summary.get("protocol")
    for name, info in METRICS.items():
        if name not in summary:
            continue
        value = summary[name]
        scale, label = info.scale_for(protocol), info.label_for(protocol)
        shown = "n/a" if value is None else f"{value * scale:.4f}"
        arrow = f"{info.direction} is better"
        missing = summary.get("n_unmeasurable", {}).get(name, 0)
        rows.append((label, shown, str(summary.get("counts", {}).get(name, "")), str(missing or ""), arrow))
    extra = summary.get("extra", {})
    for name, info in METRICS.items():  # dataset means weighted by clip length (the released code's, where it does so)
        weighted = extra.get(f"{name}_sample_weighted")
        if name in summary and weighted is not None and weighted == weighted:
            scale = info.scale_for(protocol)
            rows.append(
                (
                    f"{info.label_for(protocol)}, sample-weighted",
                    f"{weighted * scale:.4f}",
                    "",
                    "",
                    f"{info.direction} is better",
                )
            )
    for stage in stage_classes().values():  # corpus-level values a stage declares lines for
        for line in stage.summary_lines(extra, protocol):
            rows.append((line.label, f"{line.value:.4f}", "", "", line.note))
    if not rows:
        return "  (no metric ran)"
    names = ("metric", "value", "n", "unmeasurable")
    widths = [max(len(r[i]) for r in rows + [names]) for i in range(4)]
    if not any(r[3] for r in rows):  # the column only appears when some metric could not be measured
        widths[3] = -2

    def line(cells):
        text = f"  {cells[0]:<{widths[0]}}  {cells[1]:>{widths[1]}}  {cells[2]:>{widths[2]}}"
        if widths[3] >= 0:
            text += f"  {cells[3]:>{widths[3]}}"
        return text + (f"  {cells[4]}" if len(cells) > 4 else "")

    return "\n".join([line(names), *(line(r) for r in rows)])


def format_report(summary: dict[str, Any]) -> str:
    precision = summary.get("precision") or {}
    numbers = (
        f"   precision: {precision.get('precision')} (TF32 {'on' if precision.get('tf32') else 'off'})"
        if precision
        else ""
    )
    parts = [
        f"protocol: {summary.get('protocol')}   items: {summary.get('n_items')}   failed: {summary.get('n_failed')}"
        + numbers,
        "stages:",
        format_stages(summary),
        "results:",
        format_table(summary),
    ]
    # a stage's summary may carry warnings about what a reproduced number means (``*_warning`` in extra)
    parts += [
        f"warning: {text}"
        for key, text in sorted((summary.get("extra") or {}).items())
        if key.endswith("_warning") and text
    ]
    failed = summary.get("failed_items") or {}
    if failed:
        parts.append(f"failed items ({len(failed)}):")
        parts += [f"  {item}: {message}" for item, message in list(failed.items())[:20]]
        if len(failed) > 20:
            parts.append(f"  ... and {len(failed) - 20} more (see items.jsonl)")
    for stage in stage_classes().values():  # what a stage's mean hides, in its own words
        parts += stage.summary_notes(summary.get("extra") or {})
    reasons = summary.get("unmeasurable_reasons") or {}
    if reasons:
        parts.append("unmeasurable (counted, not in the means):")
        for metric, counts in reasons.items():
            for reason, count in list(counts.items())[:3]:
                shown = reason if len(reason) <= 110 else reason[:107] + "..."
                parts.append(f"  {metric} x{count}: {shown}")
    resume = (summary.get("run") or {}).get("resume") or {}
    if resume.get("recomputed_changed") or resume.get("recomputed_invalid"):
        changed, invalid = resume.get("recomputed_changed", []), resume.get("recomputed_invalid", [])
        parts.append(
            f"resume: reused {resume.get('reused', 0)} stored results; recomputed {len(changed)} whose audio "
            f"or reference changed ({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''}) and "
            f"{len(invalid)} whose stored row was not a valid result"
        )
    cache = (summary.get("run") or {}).get("cache") or {}
    if cache.get("discarded"):
        parts.append(f"cache: {cache['discarded']} damaged entries discarded and recomputed")
    left = summary.get("left_out") or {}
    if left.get("only_gt") or left.get("only_gen"):
        parts.append(f"left out (no partner): {len(left.get('only_gt', []))} gt, {len(left.get('only_gen', []))} gen")
    return "\n".join(parts)


def _stage_backend(stage_cls) -> str:
    """The stage's default backend and the others registered (``pocketsphinx (+whisper, paraformer-zh)``)."""
    import dataclasses

    from spatialeval.pipeline.settings import choices_of

    for item in dataclasses.fields(stage_cls.Settings):
        if item.name in ("backend", "encoder"):
            others = [c for c in (choices_of(item) or []) if c != item.default]
            return f"{item.default}" + (f" (+{', '.join(others)})" if others else "")
    return "—"


def plain_table(rows: list[tuple]) -> list[str]:
    """Left-aligned columns two spaces apart, a dashed rule under the first row (the header)."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def format_metric_list(protocol: str = "isdrama", as_json: bool = False) -> str:
    """Every registered metric with its direction, unit (under ``protocol``), stage, backend and needs."""
    import json

    stages = stage_classes()
    entries = []
    for info in METRICS.values():
        entry = info.as_dict(protocol)
        entry["backend"] = _stage_backend(stages[info.stage])
        entry["gpu"] = "cuda" in info.devices
        entries.append(entry)
    if as_json:
        return json.dumps(entries, indent=2, ensure_ascii=False)
    header = ("metric", "better", "unit", "stage", "backend", "checkpoint", "text", "gpu")
    rows = [header] + [
        (
            e["name"],
            e["better"],
            e["unit"] + (f" x{e['scale']:g}" if e["scale"] != 1 else ""),
            e["stage"],
            e["backend"],
            "yes" if e["requires_checkpoint"] else "",
            "yes" if e["requires_text"] else "",
            "yes" if e["gpu"] else "",
        )
        for e in entries
    ]
    lines = plain_table(rows)
    lines.append(
        f"\n(units and scales under the {protocol!r} protocol; `spatialeval metrics --json` gives every field, "
        "descriptions and references included; select with `spatialeval run --metrics NAME,...`)"
    )
    return "\n".join(lines)


def format_degenerate_table() -> str:
    """A Markdown table: each registered metric's documented outcome on each degenerate generation
    (:data:`~spatialeval.metrics.registry.DEGENERATE_CASES`), read from its declaration. ``docs/reliability.md``
    holds this table (a test compares), and the conformance suite holds every metric to it."""
    from spatialeval.metrics.registry import DEGENERATE_CASES, parse_outcome

    def short(outcome: str | None) -> str:
        if outcome is None:
            return "undeclared"
        kind, value, _ = parse_outcome(outcome)
        return f"**{value:g}**" if kind == "value" else kind

    lines = ["| metric | " + " | ".join(DEGENERATE_CASES) + " |", "| --- |" + " --- |" * len(DEGENERATE_CASES)]
    for info in METRICS.values():
        lines.append(f"| `{info.name}` | " + " | ".join(short(info.degenerate.get(c)) for c in DEGENERATE_CASES) + " |")
    lines.append("")
    lines.append("Cases: " + "; ".join(f"**{name}**: {text}" for name, text in DEGENERATE_CASES.items()) + ".")
    notes: dict[str, list[str]] = {}  # note → the stages that give it
    for info in METRICS.values():
        for outcome in info.degenerate.values():
            kind, _, note = parse_outcome(outcome)
            if kind in ("scored", "error") and note and info.stage not in notes.setdefault(f"{kind}: {note}", []):
                notes[f"{kind}: {note}"].append(info.stage)
    if notes:
        lines += ["", "What a score or an error means there:"]
        lines += [f"- {', '.join(f'`{s}`' for s in stages)} — {note}" for note, stages in notes.items()]
    return "\n".join(lines)
