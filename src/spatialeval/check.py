"""Regression gate: compare a run's ``summary.json`` with a stored baseline.

A metric *regresses* when it moves in its bad direction (taken from
:data:`spatialeval.metrics.registry.METRICS`) by more than its tolerance.
Improvements never fail. A metric that the baseline has but the results lack
(or hold as null/NaN) fails as ``missing``, and more failed items than the
baseline had (``n_failed``) fails too, as do more items on which a checked metric
could not be measured (``n_unmeasurable``, per metric: those items leave the mean).

Tolerances come from a YAML file and/or ``metric=value`` strings::

    default: {abs: 0.0}          # for metrics without their own entry
    tolerances:
      cer: {abs: 0.01}           # CER may rise by 0.01
      sim: {rel: 0.02}           # SIM may fall by 2 % of the baseline value
      ipd_mae: {abs: 1.0e-6, rel: 0.01}   # whichever allows more
      n_unmeasurable: {abs: 2}   # up to 2 more unmeasurable items per metric
    metrics: [ipd_mae, ild_mae, cer, sim]  # optional: check only these

The allowed worsening of a metric is ``max(abs, rel * |baseline|)``. Tolerances are
in the units stored in ``summary.json`` (not the ×100 of printed tables).

:func:`run_check` is the command-line entry point: exit code 0 when everything
passes, 1 when something regressed or is missing, 2 when an input is unusable.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialeval.pipeline.registry import METRICS

#: Count fields a baseline may hold besides metrics; ``n_failed`` is gated (lower is better).
COUNT_FIELDS = ("n_failed", "n_items")
#: Tolerance key for the per-metric counts of items on which a metric could not be measured.
UNMEASURABLE = "n_unmeasurable"
#: Changes smaller than this fraction of the compared values are float rounding, not regressions.
FLOAT_SLACK = 1e-9

STATUS_OK = "ok"
STATUS_REGRESSED = "regressed"
STATUS_IMPROVED = "improved"
STATUS_MISSING = "missing"
FAILING_STATUSES = (STATUS_REGRESSED, STATUS_MISSING)


class CheckInputError(ValueError):
    """A results, baseline or tolerance input that cannot be used; the message says which and why."""


# --------------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerance:
    """How much a metric may worsen: absolute (summary units) and/or relative to |baseline|."""

    abs: float | None = None
    rel: float | None = None

    def allowed(self, baseline: float) -> float:
        """The largest worsening that still passes: ``max(abs, rel * |baseline|)`` (0 when neither is set)."""
        candidates = [0.0]
        if self.abs is not None:
            candidates.append(self.abs)
        if self.rel is not None:
            candidates.append(self.rel * abs(baseline))
        return max(candidates)

    def merged(self, other: "Tolerance") -> "Tolerance":
        """This tolerance with the kinds that ``other`` sets replaced by ``other``'s values."""
        return Tolerance(abs=self.abs if other.abs is None else other.abs,
                         rel=self.rel if other.rel is None else other.rel)

    def describe(self) -> str:
        """Short text such as ``abs 0.01``, ``rel 2%`` or ``abs 0.01 | rel 2%``."""
        parts = []
        if self.abs is not None:
            parts.append(f"abs {_fmt(self.abs)}")
        if self.rel is not None:
            parts.append(f"rel {self.rel * 100:g}%")
        return " | ".join(parts) if parts else "0"


@dataclass
class Tolerances:
    """Per-metric tolerances, the default for the others, and an optional list restricting the check."""

    per_metric: dict[str, Tolerance] = field(default_factory=dict)
    default: Tolerance = field(default_factory=lambda: Tolerance(abs=0.0))
    metrics: list[str] | None = None

    def for_metric(self, name: str) -> Tolerance:
        """The tolerance that applies to ``name``: its own entry if there is one, else the default."""
        return self.per_metric.get(name, self.default)

    def with_overrides(self, tol: Iterable[str] = (), rel_tol: Iterable[str] = ()) -> "Tolerances":
        """A copy with ``metric=value`` strings applied (absolute from ``tol``, relative from ``rel_tol``).

        A command-line value replaces the same kind (abs or rel) for that metric and keeps the other kind
        from the file. The metric name ``default`` sets the default tolerance.
        """
        per_metric = dict(self.per_metric)
        default = self.default
        for kind, entries in (("abs", tol), ("rel", rel_tol)):
            for entry in entries:
                name, value = _parse_assignment(entry, "--tol" if kind == "abs" else "--rel-tol")
                update = Tolerance(**{kind: value})
                if name == "default":
                    default = default.merged(update)
                else:
                    per_metric[name] = per_metric.get(name, Tolerance()).merged(update)
        return Tolerances(per_metric=per_metric, default=default, metrics=self.metrics)


def _known_name(name: str, where: str) -> str:
    if name not in METRICS and name not in (COUNT_FIELDS[0], UNMEASURABLE):
        known = ", ".join(list(METRICS) + ["n_failed", UNMEASURABLE])
        raise CheckInputError(f"{where}: unknown metric {name!r} (known: {known})")
    return name


def _tolerance_value(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise CheckInputError(f"{where}: tolerance must be a number, got {value!r}") from None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise CheckInputError(f"{where}: tolerance must be a finite number ≥ 0, got {value!r}")
    return value


def _parse_assignment(entry: str, option: str) -> tuple[str, float]:
    if not isinstance(entry, str) or "=" not in entry:
        raise CheckInputError(f"{option} {entry!r}: expected METRIC=VALUE, e.g. {option} cer=0.01")
    name, _, value = entry.partition("=")
    name = name.strip()
    if name != "default":
        _known_name(name, f"{option} {entry!r}")
    return name, _tolerance_value(value.strip(), f"{option} {entry!r}")


def _tolerance_from_mapping(value: Any, where: str) -> Tolerance:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Tolerance(abs=_tolerance_value(value, where))  # shorthand: `cer: 0.01` means abs
    if not isinstance(value, Mapping):
        raise CheckInputError(f"{where}: expected a mapping like {{abs: 0.01}} or {{rel: 0.02}}, got {value!r}")
    unknown = set(value) - {"abs", "rel"}
    if unknown:
        raise CheckInputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (use abs and/or rel)")
    return Tolerance(abs=None if value.get("abs") is None else _tolerance_value(value["abs"], f"{where}.abs"),
                     rel=None if value.get("rel") is None else _tolerance_value(value["rel"], f"{where}.rel"))


def tolerances_from_dict(data: Mapping[str, Any] | None, where: str = "tolerances") -> Tolerances:
    """Build :class:`Tolerances` from the parsed YAML shape ``{tolerances: {...}, default: {...}, metrics: [...]}``."""
    data = data or {}
    if not isinstance(data, Mapping):
        raise CheckInputError(f"{where}: expected a mapping at the top level")
    unknown = set(data) - {"tolerances", "default", "metrics"}
    if unknown:
        raise CheckInputError(f"{where}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))} "
                              "(expected tolerances, default, metrics)")
    per_metric_raw = data.get("tolerances") or {}
    if not isinstance(per_metric_raw, Mapping):
        raise CheckInputError(f"{where}: 'tolerances' must map metric names to {{abs: ..., rel: ...}}")
    per_metric = {_known_name(str(name), f"{where}: tolerances"): _tolerance_from_mapping(value, f"{where}: tolerances.{name}")
                  for name, value in per_metric_raw.items()}
    default = (_tolerance_from_mapping(data["default"], f"{where}: default")
               if data.get("default") is not None else Tolerance(abs=0.0))
    metrics = data.get("metrics")
    if metrics is not None:
        if isinstance(metrics, str) or not isinstance(metrics, list) or not metrics:
            raise CheckInputError(f"{where}: 'metrics' must be a non-empty list of metric names")
        metrics = [_known_name(str(name), f"{where}: metrics") for name in metrics]
    return Tolerances(per_metric=per_metric, default=default, metrics=metrics)


def load_tolerances(yaml_path: str | Path) -> Tolerances:
    """Read a tolerance YAML file (see the module docstring for its shape) into :class:`Tolerances`."""
    import yaml

    path = Path(yaml_path)
    if not path.is_file():
        raise CheckInputError(f"tolerances file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CheckInputError(f"{path}: not valid YAML ({exc})") from exc
    return tolerances_from_dict(data, str(path))


# --------------------------------------------------------------------------- loading


def _read_mapping(path: Path) -> dict[str, Any]:
    """Parse a JSON or YAML file that must hold a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckInputError(f"{path}: cannot read ({exc})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CheckInputError(f"{path}: not valid YAML ({exc})") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CheckInputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckInputError(f"{path}: expected a JSON/YAML object at the top level, got {type(data).__name__}")
    return data


def _summary_path(path: str | Path, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        summary = path / "summary.json"
        if not summary.is_file():
            raise CheckInputError(f"{what} directory {path} has no summary.json (is it a `spatialeval run --out` directory?)")
        return summary
    if not path.exists():
        raise CheckInputError(f"{what} {path} not found")
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    """Read the summary of a run: ``path`` is a results directory (its ``summary.json`` is read) or a summary file."""
    summary = _summary_path(path, "results")
    data = _read_mapping(summary)
    if not any(name in data for name in list(METRICS) + ["n_items"]):
        raise CheckInputError(f"{summary}: does not look like a spatialeval summary (no metric fields and no n_items)")
    return data


def _is_summary(data: Mapping[str, Any]) -> bool:
    return any(key in data for key in ("n_items", "stages", "protocol", "versions", "config"))


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a baseline: a results directory, a ``summary.json``, or a plain JSON/YAML mapping metric → value.

    A plain mapping may also give ``n_failed``; any other key must be a known metric name, so a typo
    cannot silently switch a check off.
    """
    summary = _summary_path(path, "baseline")
    data = _read_mapping(summary)
    if not _is_summary(data):
        unknown = [key for key in data if key not in METRICS and key not in COUNT_FIELDS]
        if unknown:
            raise CheckInputError(f"{summary}: unknown metric name(s) {', '.join(map(repr, unknown))} "
                                  f"(known: {', '.join(METRICS)}, n_failed)")
    for name in list(METRICS) + list(COUNT_FIELDS):
        if name in data and data[name] is not None and _as_float(data[name]) is None:
            raise CheckInputError(f"{summary}: {name} must be a number or null, got {data[name]!r}")
    if not any(name in data for name in METRICS):
        raise CheckInputError(f"{summary}: the baseline holds no metric values to check against")
    return data


# --------------------------------------------------------------------------- comparison


def _as_float(value: Any) -> float | None:
    """A numeric value as float (NaN kept), or None when it is not a number at all."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return float(value.strip())
    return None


def _is_missing(value: Any) -> bool:
    number = _as_float(value)
    return number is None or not math.isfinite(number)


def _fmt(value: float | None, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}"


def _fmt_signed(value: float | None, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:+.{digits}g}"


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

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON-serialisable values."""
        return {"metric": self.metric, "label": self.label, "higher_is_better": self.higher_is_better,
                "baseline": self.baseline, "current": self.current, "delta": self.delta,
                "relative_delta": self.relative_delta, "tolerance_abs": self.tolerance.abs,
                "tolerance_rel": self.tolerance.rel, "allowed": self.allowed, "status": self.status,
                "reason": self.reason}


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
        header = ("metric", "better", "baseline", "current", "delta", "rel.delta", "tolerance", "allowed", "status")
        lines = [header]
        for row in self.rows:
            rel = "—" if row.relative_delta is None or math.isnan(row.relative_delta) else f"{row.relative_delta * 100:+.2f}%"
            status = row.status.upper() if row.failed else row.status
            lines.append((row.metric, "higher" if row.higher_is_better else "lower", _fmt(row.baseline),
                          _fmt(row.current), _fmt_signed(row.delta), rel, row.tolerance.describe(),
                          _fmt(row.allowed, 4), status))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
        text.insert(1, "  ".join("-" * width for width in widths))
        failures = self.failures
        text.append("")
        if failures:
            text.append(f"FAIL: {len(failures)} of {len(self.rows)} checks failed")
            for row in failures:
                text.append(f"  - {row.metric}: {row.reason}")
        else:
            improved = [row.metric for row in self.rows if row.status == STATUS_IMPROVED]
            text.append(f"PASS: {len(self.rows)} checks within tolerance"
                        + (f" ({', '.join(improved)} improved; consider updating the baseline)" if improved else ""))
        for note in self.notes:
            text.append(f"note: {note}")
        return "\n".join(text)


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
    return f"{where} (every item failed for this metric?)"


def _compare(name: str, label: str, higher_is_better: bool, base: float, current_raw: Any,
             tolerance: Tolerance, results: Mapping[str, Any]) -> CheckRow:
    allowed = tolerance.allowed(base)
    if _is_missing(current_raw):
        return CheckRow(name, label, higher_is_better, base, None, None, None, tolerance, allowed,
                        STATUS_MISSING, f"in the baseline ({_fmt(base)}) but {_missing_reason(name, results)}")
    current = float(_as_float(current_raw))
    delta = current - base
    relative = delta / abs(base) if base != 0 else (0.0 if delta == 0 else None)  # None: undefined vs. a 0 baseline
    worsening = -delta if higher_is_better else delta
    slack = FLOAT_SLACK * max(abs(base), abs(current))
    if worsening > allowed + slack:
        direction = "fell" if higher_is_better else "rose"
        rel_text = "" if relative is None else f", {relative * 100:+.2f}%"
        reason = (f"{direction} from {_fmt(base)} to {_fmt(current)} ({_fmt_signed(delta)}{rel_text}); "
                  f"allowed worsening {_fmt(allowed, 4)} ({tolerance.describe()}), exceeded by {_fmt(worsening - allowed, 4)}")
        status = STATUS_REGRESSED
    elif -worsening > slack:
        status, reason = STATUS_IMPROVED, f"improved by {_fmt(-worsening, 4)}"
    else:
        status, reason = STATUS_OK, ""
    return CheckRow(name, label, higher_is_better, base, current, delta, relative, tolerance, allowed, status, reason)


def check_results(results: Mapping[str, Any], baseline: Mapping[str, Any],
                  tolerances: Tolerances | None = None) -> CheckReport:
    """Compare the metrics of ``results`` (a summary mapping) with ``baseline`` under ``tolerances``.

    Every metric with a finite baseline value is checked (or only those in ``tolerances.metrics``);
    directions come from the metric registry. ``n_failed`` is checked against the baseline's
    (0 when the baseline does not give one). Raises :class:`CheckInputError` when the two were made
    under different protocols (their IPD/ILD values are on different scales) or a listed metric has
    no baseline value.
    """
    tolerances = tolerances or Tolerances()
    notes: list[str] = []
    base_protocol, cur_protocol = baseline.get("protocol"), results.get("protocol")
    if base_protocol and cur_protocol and base_protocol != cur_protocol:
        raise CheckInputError(f"the baseline was made with protocol {base_protocol!r} and the results with "
                              f"{cur_protocol!r}; their values are not comparable (re-run with --protocol {base_protocol})")

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
        rows.append(_compare(name, info.label, info.higher_is_better, base_value, results.get(name),
                             tolerances.for_metric(name), results))

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
            row = _compare(f"{UNMEASURABLE}.{name}", f"unmeasurable {METRICS[name].label}", False, base_count,
                           cur_count, tolerance, results)
            if row.status == STATUS_REGRESSED and isinstance(reasons.get(name), Mapping):
                row.reason += "; " + "; ".join(f"{why} (x{n})" for why, n in list(reasons[name].items())[:3])
            rows.append(row)

    new = [name for name in METRICS if name not in baseline and not _is_missing(results.get(name))]
    if new and selected is None:
        notes.append(f"in the results but not the baseline (not checked): {', '.join(new)}")
    base_items, cur_items = _as_float(baseline.get("n_items")), _as_float(results.get("n_items"))
    if base_items is not None and cur_items is not None and base_items != cur_items:
        notes.append(f"n_items differs: baseline {int(base_items)}, results {int(cur_items)}; "
                     "the means cover different item sets")
    return CheckReport(rows=rows, notes=notes)


def run_check(results_path: str | Path, baseline_path: str | Path, tol: Iterable[str] = (),
              rel_tol: Iterable[str] = (), tolerances_yaml: str | Path | None = None) -> int:
    """Load everything, compare, print the table to stdout and return the exit code.

    0: every check passed; 1: a metric regressed beyond its tolerance, is missing, or more items
    failed than in the baseline; 2: an input could not be used (message on stderr).
    """
    try:
        tolerances = load_tolerances(tolerances_yaml) if tolerances_yaml else Tolerances()
        tolerances = tolerances.with_overrides(tol, rel_tol)
        results = load_results(results_path)
        baseline = load_baseline(baseline_path)
        report = check_results(results, baseline, tolerances)
    except CheckInputError as exc:
        print(f"spatialeval check: error: {exc}", file=sys.stderr)
        return 2
    if not any(row.metric in METRICS for row in report.rows):
        print("spatialeval check: error: nothing to compare (no metric in the baseline has a value)", file=sys.stderr)
        return 2
    print(f"results:  {results_path}\nbaseline: {baseline_path}\n")
    print(report.format())
    return 0 if report.passed else 1
