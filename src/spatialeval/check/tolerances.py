"""Tolerances of the regression gate: per-metric absolute/relative allowances, parsed from YAML or ``METRIC=VALUE``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialeval.errors import UsageError
from spatialeval.numbers import format_number, parse_number
from spatialeval.pipeline.registry import METRICS

#: Count fields a baseline may hold besides metrics; ``n_failed`` is gated (lower is better).
COUNT_FIELDS = ("n_failed", "n_items")
#: Tolerance key for the per-metric counts of items on which a metric could not be measured.
UNMEASURABLE = "n_unmeasurable"


class CheckInputError(UsageError):
    """A results, baseline or tolerance input that cannot be used; the message says which and why."""


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
        return Tolerance(
            abs=self.abs if other.abs is None else other.abs, rel=self.rel if other.rel is None else other.rel
        )

    def describe(self) -> str:
        """Short text such as ``abs 0.01``, ``rel 2%`` or ``abs 0.01 | rel 2%``."""
        parts = []
        if self.abs is not None:
            parts.append(f"abs {format_number(self.abs, 6)}")
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
    number = parse_number(value)  # a YAML number, or the text after "=" on the command line
    if number is None:
        raise CheckInputError(f"{where}: tolerance must be a number, got {value!r}")
    if not math.isfinite(number) or number < 0:
        raise CheckInputError(f"{where}: tolerance must be a finite number ≥ 0, got {number!r}")
    return number


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
    return Tolerance(
        abs=None if value.get("abs") is None else _tolerance_value(value["abs"], f"{where}.abs"),
        rel=None if value.get("rel") is None else _tolerance_value(value["rel"], f"{where}.rel"),
    )


def tolerances_from_dict(data: Mapping[str, Any] | None, where: str = "tolerances") -> Tolerances:
    """Build :class:`Tolerances` from the parsed YAML shape ``{tolerances: {...}, default: {...}, metrics: [...]}``."""
    data = data or {}
    if not isinstance(data, Mapping):
        raise CheckInputError(f"{where}: expected a mapping at the top level")
    unknown = set(data) - {"tolerances", "default", "metrics"}
    if unknown:
        raise CheckInputError(
            f"{where}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))} "
            "(expected tolerances, default, metrics)"
        )
    per_metric_raw = data.get("tolerances") or {}
    if not isinstance(per_metric_raw, Mapping):
        raise CheckInputError(f"{where}: 'tolerances' must map metric names to {{abs: ..., rel: ...}}")
    per_metric = {
        _known_name(str(name), f"{where}: tolerances"): _tolerance_from_mapping(value, f"{where}: tolerances.{name}")
        for name, value in per_metric_raw.items()
    }
    default = (
        _tolerance_from_mapping(data["default"], f"{where}: default")
        if data.get("default") is not None
        else Tolerance(abs=0.0)
    )
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
