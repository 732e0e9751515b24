"""Human-readable renderings of a summary (the CLI prints these; no logic lives in the CLI)."""
from __future__ import annotations

from typing import Any

from spatialeval.metrics.registry import METRICS


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
    """Metric table; ISDrama IPD/ILD are shown ×100 as in the paper, labelled as such."""
    rows = []
    isdrama = summary.get("protocol") == "isdrama"
    for name, info in METRICS.items():
        if name not in summary:
            continue
        value = summary[name]
        scale = info.table_scale if isdrama else 1.0
        label = info.label + (f" (x{scale:g})" if scale != 1.0 else "")
        if not isdrama and name in ("ipd_mae", "ild_mae"):
            label += " [rad]" if name == "ipd_mae" else " [dB]"
        shown = "n/a" if value is None else f"{value * scale:.4f}"
        arrow = "higher is better" if info.higher_is_better else "lower is better"
        rows.append((label, shown, str(summary.get("counts", {}).get(name, "")), arrow))
    extra = summary.get("extra", {})
    if "cer_corpus" in extra and extra["cer_corpus"] is not None:
        rows.append(("CER (corpus)", f"{extra['cer_corpus']:.4f}", "", "lower is better"))
    if not rows:
        return "  (no metric ran)"
    widths = [max(len(r[i]) for r in rows + [("metric", "value", "n", "")]) for i in range(3)]
    header = f"  {'metric':<{widths[0]}}  {'value':>{widths[1]}}  {'n':>{widths[2]}}"
    body = [f"  {a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join([header, *body])


def format_report(summary: dict[str, Any]) -> str:
    parts = [f"protocol: {summary.get('protocol')}   items: {summary.get('n_items')}   failed: {summary.get('n_failed')}",
             "stages:", format_stages(summary), "results:", format_table(summary)]
    failed = summary.get("failed_items") or {}
    if failed:
        parts.append(f"failed items ({len(failed)}):")
        parts += [f"  {item}: {message}" for item, message in list(failed.items())[:20]]
        if len(failed) > 20:
            parts.append(f"  ... and {len(failed) - 20} more (see items.jsonl)")
    left = summary.get("left_out") or {}
    if left.get("only_gt") or left.get("only_infer"):
        parts.append(f"left out (no partner): {len(left.get('only_gt', []))} gt, {len(left.get('only_infer', []))} infer")
    return "\n".join(parts)
