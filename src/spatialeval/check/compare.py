"""Comparing a run's summary with a baseline: one row per checked quantity, in the metric's direction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spatialeval.check.identity import identity_differences
from spatialeval.check.tolerances import UNMEASURABLE, CheckInputError, Tolerance, Tolerances
from spatialeval.numbers import format_number, parse_number
from spatialeval.pipeline.registry import METRICS

#: Changes smaller than this fraction of the compared values are float rounding, not regressions.
FLOAT_SLACK = 1e-9

STATUS_OK = "ok"
STATUS_REGRESSED = "regressed"
STATUS_IMPROVED = "improved"
STATUS_MISSING = "missing"
FAILING_STATUSES = (STATUS_REGRESSED, STATUS_MISSING)


@dataclass
class CheckRow:
    """One compared quantity. ``delta`` = current − baseline; ``worsening`` is the change in the bad direction."""

    metric: str
    label: str
    higher_is_better: bool
    baseline: float
    current: float | None
    delta: float | None
    relative_delta: float | None
    tolerance: Tolerance
    allowed: float
    status: str
    reason: str = ""

    @property
    def worsening(self) -> float | None:
        if self.delta is None:
            return None
        return -self.delta if self.higher_is_better else self.delta

    @property
    def failed(self) -> bool:
        return self.status in FAILING_STATUSES

    @property
    def improved(self) -> bool:
        return self.status == STATUS_IMPROVED

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON-serialisable values."""
        return {
            "metric": self.metric,
            "label": self.label,
            "higher_is_better": self.higher_is_better,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
            "relative_delta": self.relative_delta,
            "tolerance_abs": self.tolerance.abs,
            "tolerance_rel": self.tolerance.rel,
            "allowed": self.allowed,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class CheckReport:
    """Outcome of :func:`check_results`: one row per compared quantity plus notes that do not fail the check."""

    rows: list[CheckRow]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(row.failed for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        return [row for row in self.rows if row.failed]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values, e.g. to save as JSON beside the CI log."""
        return {"passed": self.passed, "rows": [row.as_dict() for row in self.rows], "notes": list(self.notes)}

    def format(self) -> str:
        """A plain-text table (one line per metric) followed by the verdict and what regressed by how much."""
        from spatialeval.check.render import format_report

        return format_report(self)


def _as_float(value: Any) -> float | None:
    """A summary value as float (NaN kept): a number, or a string spelling a non-finite one; else None."""
    return parse_number(value, strings="nonfinite")


def _is_missing(value: Any) -> bool:
    number = _as_float(value)
    return number is None or not math.isfinite(number)


def _missing_reason(name: str, results: Mapping[str, Any]) -> str:
    info = METRICS.get(name)
    stages = results.get("stages") if isinstance(results.get("stages"), Mapping) else {}
    stage = stages.get(info.stage) if info else None
    value = results.get(name, None)
    where = "absent from the results" if name not in results else f"is {value!r} in the results"
    if info is None:
        return where
    if isinstance(stage, Mapping) and stage.get("status") == "skipped":
        return f"{where}: stage {info.stage!r} was skipped ({stage.get('reason') or 'no reason given'})"
    if info and isinstance(stages, Mapping) and stages and info.stage not in stages:
        return f"{where}: stage {info.stage!r} did not run"
    config = results.get("config") if isinstance(results.get("config"), Mapping) else {}
    chosen = config.get("metrics")
    if isinstance(chosen, list) and chosen and name not in chosen:
        return f"{where}: not selected (the run's --metrics was {','.join(map(str, chosen))})"
    return f"{where} (every item failed for this metric?)"


def _compare(
    name: str,
    label: str,
    higher_is_better: bool,
    base: float,
    current_raw: Any,
    tolerance: Tolerance,
    results: Mapping[str, Any],
) -> CheckRow:
    allowed = tolerance.allowed(base)
    if _is_missing(current_raw):
        return CheckRow(
            name,
            label,
            higher_is_better,
            base,
            None,
            None,
            None,
            tolerance,
            allowed,
            STATUS_MISSING,
            f"in the baseline ({format_number(base, 6)}) but {_missing_reason(name, results)}",
        )
    current = float(_as_float(current_raw))
    delta = current - base
    relative = delta / abs(base) if base != 0 else (0.0 if delta == 0 else None)  # None: undefined vs. a 0 baseline
    worsening = -delta if higher_is_better else delta
    slack = FLOAT_SLACK * max(abs(base), abs(current))
    if worsening > allowed + slack:
        direction = "fell" if higher_is_better else "rose"
        rel_text = "" if relative is None else f", {relative * 100:+.2f}%"
        reason = (
            f"{direction} from {format_number(base, 6)} to {format_number(current, 6)} "
            f"({format_number(delta, signed=True)}{rel_text}); allowed worsening {format_number(allowed)} "
            f"({tolerance.describe()}), exceeded by {format_number(worsening - allowed)}"
        )
        status = STATUS_REGRESSED
    elif -worsening > slack:
        status, reason = STATUS_IMPROVED, f"improved by {format_number(-worsening)}"
    else:
        status, reason = STATUS_OK, ""
    return CheckRow(name, label, higher_is_better, base, current, delta, relative, tolerance, allowed, status, reason)


def check_results(
    results: Mapping[str, Any],
    baseline: Mapping[str, Any],
    tolerances: Tolerances | None = None,
    *,
    allow_settings_change: bool = False,
    allow_fewer_items: bool = False,
) -> CheckReport:
    """Compare the metrics of ``results`` (a summary mapping) with ``baseline`` under ``tolerances``.

    Every metric with a finite baseline value is checked (or only those in ``tolerances.metrics``);
    directions come from the metric registry. ``n_failed`` is checked against the baseline's
    (0 when the baseline does not give one). Raises :class:`CheckInputError` when the two were made
    under different protocols (their IPD/ILD values are on different scales), under other settings
    or models (their run identities differ; ``allow_settings_change`` turns that into notes), or a
    listed metric has no baseline value. Fewer items than the baseline fails (the mean covers other
    items) unless ``allow_fewer_items`` or a tolerance for ``n_items`` allows it.
    """
    tolerances = tolerances or Tolerances()
    notes: list[str] = []
    differences = identity_differences(results, baseline)
    if differences is None:
        notes.append(
            "settings could not be compared: the "
            + ("baseline" if "identity" not in baseline else "results")
            + " records no run identity (a plain metric map, or a summary from an older spatialeval)"
        )
    elif differences and not allow_settings_change:
        raise CheckInputError(
            "the results were made under other settings or models than the baseline: "
            + "; ".join(differences)
            + " (pass --allow-settings-change to compare anyway)"
        )
    elif differences:
        notes.append("compared across a settings change (--allow-settings-change): " + "; ".join(differences))
    base_protocol, cur_protocol = baseline.get("protocol"), results.get("protocol")
    if base_protocol and cur_protocol and base_protocol != cur_protocol:
        raise CheckInputError(
            f"the baseline was made with protocol {base_protocol!r} and the results with "
            f"{cur_protocol!r}; their values are not comparable (re-run with --protocol {base_protocol})"
        )

    selected = tolerances.metrics
    if selected is not None:
        absent = [name for name in selected if name in METRICS and _is_missing(baseline.get(name))]
        if absent:
            raise CheckInputError(f"metric(s) {', '.join(absent)} listed under 'metrics' have no value in the baseline")
        names = [name for name in METRICS if name in selected]
    else:
        names = [name for name in METRICS if name in baseline]

    rows: list[CheckRow] = []
    for name in names:
        base_value = _as_float(baseline.get(name))
        if base_value is None or not math.isfinite(base_value):
            notes.append(f"{name} is null/NaN in the baseline and was not checked")
            continue
        info = METRICS[name]
        rows.append(
            _compare(
                name,
                info.label,
                info.higher_is_better,
                base_value,
                results.get(name),
                tolerances.for_metric(name),
                results,
            )
        )

    # Failed items are always gated (also under a `metrics:` restriction); loosen with a tolerance for n_failed.
    base_failed = _as_float(baseline.get("n_failed"))
    if base_failed is None:
        base_failed = 0.0
        notes.append("the baseline gives no n_failed; failed items are compared with 0")
    cur_failed = _as_float(results.get("n_failed"))
    if cur_failed is None:
        failed_items = results.get("failed_items")
        cur_failed = float(len(failed_items)) if isinstance(failed_items, Mapping) else None
    tolerance = tolerances.per_metric.get("n_failed", Tolerance(abs=0.0))
    row = _compare("n_failed", "failed items", False, base_failed, cur_failed, tolerance, results)
    if row.status == STATUS_REGRESSED:
        failed_items = results.get("failed_items")
        if isinstance(failed_items, Mapping) and failed_items:
            shown = list(failed_items.items())[:5]
            row.reason += "; e.g. " + "; ".join(f"{key}: {message}" for key, message in shown)
            if len(failed_items) > len(shown):
                row.reason += f" (+{len(failed_items) - len(shown)} more)"
    rows.append(row)

    # Items on which a metric could not be measured leave its mean, so more of them is a regression too
    # (a model that outputs silence on its hardest items must not look better).
    base_counts = baseline.get(UNMEASURABLE) if isinstance(baseline.get(UNMEASURABLE), Mapping) else None
    cur_counts = results.get(UNMEASURABLE) if isinstance(results.get(UNMEASURABLE), Mapping) else {}
    if base_counts is None and any(cur_counts.get(name) for name in names):
        notes.append("the baseline gives no n_unmeasurable; unmeasurable items are compared with 0")
    tolerance = tolerances.per_metric.get(UNMEASURABLE, Tolerance(abs=0.0))
    reasons = results.get("unmeasurable_reasons") if isinstance(results.get("unmeasurable_reasons"), Mapping) else {}
    for name in names:
        base_count = _as_float((base_counts or {}).get(name)) or 0.0
        cur_count = _as_float(cur_counts.get(name)) or 0.0
        if base_count or cur_count:
            row = _compare(
                f"{UNMEASURABLE}.{name}",
                f"unmeasurable {METRICS[name].label}",
                False,
                base_count,
                cur_count,
                tolerance,
                results,
            )
            if row.status == STATUS_REGRESSED and isinstance(reasons.get(name), Mapping):
                row.reason += "; " + "; ".join(f"{why} (x{n})" for why, n in list(reasons[name].items())[:3])
            rows.append(row)

    new = [name for name in METRICS if name not in baseline and not _is_missing(results.get(name))]
    if new and selected is None:
        notes.append(f"in the results but not the baseline (not checked): {', '.join(new)}")
    base_items, cur_items = _as_float(baseline.get("n_items")), _as_float(results.get("n_items"))
    if base_items is not None and cur_items is not None and cur_items < base_items and not allow_fewer_items:
        row = _compare(
            "n_items",
            "items evaluated",
            True,
            base_items,
            cur_items,
            tolerances.per_metric.get("n_items", Tolerance(abs=0.0)),
            results,
        )
        if row.status == STATUS_REGRESSED:
            row.reason += "; the means cover fewer items (pass --allow-fewer-items if intended)"
        rows.append(row)
    elif base_items is not None and cur_items is not None and base_items != cur_items:
        notes.append(
            f"n_items differs: baseline {int(base_items)}, results {int(cur_items)}; "
            "the means cover different item sets"
        )
    return CheckReport(rows=rows, notes=notes)
