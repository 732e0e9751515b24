"""Rendering a check report as the plain-text table CI logs show."""

from __future__ import annotations

import math

from spatialeval.numbers import format_number
from spatialeval.pipeline.display import plain_table


def format_report(report) -> str:
    """A plain-text table (one line per metric) followed by the verdict and what regressed by how much."""
    header = ("metric", "better", "baseline", "current", "delta", "rel.delta", "tolerance", "allowed", "status")
    lines = [header]
    for row in report.rows:
        rel = (
            "—" if row.relative_delta is None or math.isnan(row.relative_delta) else f"{row.relative_delta * 100:+.2f}%"
        )
        status = row.status.upper() if row.failed else row.status
        lines.append(
            (
                row.metric,
                "higher" if row.higher_is_better else "lower",
                format_number(row.baseline, 6),
                format_number(row.current, 6),
                format_number(row.delta, signed=True),
                rel,
                row.tolerance.describe(),
                format_number(row.allowed),
                status,
            )
        )
    text = plain_table(lines)
    failures = report.failures
    text.append("")
    if failures:
        text.append(f"FAIL: {len(failures)} of {len(report.rows)} checks failed")
        for row in failures:
            text.append(f"  - {row.metric}: {row.reason}")
    else:
        improved = [row.metric for row in report.rows if row.improved]
        text.append(
            f"PASS: {len(report.rows)} checks within tolerance"
            + (f" ({', '.join(improved)} improved; consider updating the baseline)" if improved else "")
        )
    for note in report.notes:
        text.append(f"note: {note}")
    return "\n".join(text)
