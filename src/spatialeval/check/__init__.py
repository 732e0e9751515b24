"""Regression gate: compare a run's ``summary.json`` with a stored baseline.

A metric *regresses* when it moves in its bad direction (taken from
:data:`spatialeval.pipeline.registry.METRICS`) by more than its tolerance.
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

import sys
from collections.abc import Iterable
from pathlib import Path

from spatialeval.check.compare import (
    FAILING_STATUSES,
    FLOAT_SLACK,
    STATUS_IMPROVED,
    STATUS_MISSING,
    STATUS_OK,
    STATUS_REGRESSED,
    CheckReport,
    CheckRow,
    check_results,
)
from spatialeval.check.inputs import load_baseline, load_results
from spatialeval.check.tolerances import (
    COUNT_FIELDS,
    UNMEASURABLE,
    CheckInputError,
    Tolerance,
    Tolerances,
    load_tolerances,
    tolerances_from_dict,
)
from spatialeval.errors import EXIT_OK, EXIT_REGRESSION, EXIT_USAGE
from spatialeval.pipeline.registry import METRICS

__all__ = [
    "COUNT_FIELDS",
    "FAILING_STATUSES",
    "FLOAT_SLACK",
    "STATUS_IMPROVED",
    "STATUS_MISSING",
    "STATUS_OK",
    "STATUS_REGRESSED",
    "UNMEASURABLE",
    "CheckInputError",
    "CheckReport",
    "CheckRow",
    "Tolerance",
    "Tolerances",
    "check_results",
    "load_baseline",
    "load_results",
    "load_tolerances",
    "run_check",
    "tolerances_from_dict",
]


def run_check(
    results_path: str | Path,
    baseline_path: str | Path,
    tol: Iterable[str] = (),
    rel_tol: Iterable[str] = (),
    tolerances_yaml: str | Path | None = None,
    *,
    allow_settings_change: bool = False,
    allow_fewer_items: bool = False,
) -> int:
    """Load everything, compare, print the table to stdout and return the exit code.

    0: every check passed; 1: a metric regressed beyond its tolerance, is missing, or more items
    failed (or fewer were evaluated) than in the baseline; 2: an input could not be used, or the
    two runs were made under different settings or models (message on stderr, naming them).
    """
    try:
        tolerances = load_tolerances(tolerances_yaml) if tolerances_yaml else Tolerances()
        tolerances = tolerances.with_overrides(tol, rel_tol)
        results = load_results(results_path)
        baseline = load_baseline(baseline_path)
        report = check_results(
            results,
            baseline,
            tolerances,
            allow_settings_change=allow_settings_change,
            allow_fewer_items=allow_fewer_items,
        )
    except CheckInputError as exc:
        print(f"spatialeval check: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not any(row.metric in METRICS for row in report.rows):
        print("spatialeval check: error: nothing to compare (no metric in the baseline has a value)", file=sys.stderr)
        return EXIT_USAGE
    print(f"results:  {results_path}\nbaseline: {baseline_path}\n")
    print(report.format())
    return EXIT_OK if report.passed else EXIT_REGRESSION
