"""Reading the results and the baseline a check compares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spatialeval.check.tolerances import COUNT_FIELDS, CheckInputError
from spatialeval.numbers import parse_number
from spatialeval.pipeline.registry import METRICS
from spatialeval.pipeline.rundir import ResultsError, read_summary, summary_file


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
    try:
        return summary_file(path, what)
    except ResultsError as exc:
        raise CheckInputError(str(exc)) from None


def load_results(path: str | Path) -> dict[str, Any]:
    """Read the summary of a run: ``path`` is a results directory (its ``summary.json`` is read) or a summary file."""
    try:
        data = read_summary(path, "results")
    except ResultsError as exc:
        raise CheckInputError(str(exc)) from None
    if not any(name in data for name in list(METRICS) + ["n_items"]):
        raise CheckInputError(
            f"{summary_file(path)}: does not look like a spatialeval summary (no metric fields and no n_items)"
        )
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
            raise CheckInputError(
                f"{summary}: unknown metric name(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(METRICS)}, n_failed)"
            )
    for name in list(METRICS) + list(COUNT_FIELDS):
        if name in data and data[name] is not None and parse_number(data[name], strings="nonfinite") is None:
            raise CheckInputError(f"{summary}: {name} must be a number or null, got {data[name]!r}")
    if not any(name in data for name in METRICS):
        raise CheckInputError(f"{summary}: the baseline holds no metric values to check against")
    return data
