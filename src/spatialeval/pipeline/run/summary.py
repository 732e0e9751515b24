"""The summary of a run: metric means over the items that have a value, counts, reasons, provenance."""

from __future__ import annotations

import platform
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.run.identity import identity_fingerprint, run_identity
from spatialeval.pipeline.run.rows import is_number
from spatialeval.pipeline.stages.base import Stage
from spatialeval.precision import describe as describe_precision

if TYPE_CHECKING:
    from spatialeval.pipeline.run.prepare import StageStatus


def summarize(
    rows: list[dict[str, Any]],
    stages: list[Stage],
    statuses: dict[str, StageStatus],
    config: EvalConfig,
    left_out: dict[str, list[str]] | None = None,
    run_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Means of every metric over the items that have a value; failed and unmeasurable items are counted.

    ``counts[m]`` is the number of items in the mean of ``m``; ``n_unmeasurable[m]`` the number of
    evaluated items on which ``m`` could not be measured (with ``unmeasurable_reasons[m]``: reason →
    count); failed items (``n_failed``) could not be evaluated at all. ``stages`` are the stages that
    ran (set up or not: a merge of shards rebuilds them from their settings).
    """
    rows = sorted(rows, key=lambda r: r["id"])  # means independent of pair order (shards merge exactly)
    summary, counts, unmeasurable, reasons = metric_means(rows, stages)
    failed = {r["id"]: r["error"] for r in rows if r.get("error")}
    summary.update(
        {
            "protocol": config.protocol,
            "n_items": len(rows),
            "n_failed": len(failed),
            "failed_items": failed,
            "counts": counts,
            "n_unmeasurable": unmeasurable,
            "unmeasurable_reasons": reasons,
            "extra": stage_extras(rows, stages),
            "stages": {n: s.as_dict() for n, s in statuses.items()},
            "left_out": left_out or {},
            "shard": config.shard,
            "versions": versions(),
            "config": config.to_dict(),
        }
    )
    # What resume compares, stored so `spatialeval check` can refuse a baseline made under other settings.
    summary["identity"] = run_identity(summary["config"], summary["stages"])
    summary["fingerprint"] = identity_fingerprint(summary["identity"])
    if run_info:
        summary["run"] = run_info
    summary["precision"] = precision_entry(config, stages)
    return summary


def metric_means(rows: list[dict[str, Any]], stages: list[Stage]) -> tuple[dict, dict, dict, dict]:
    """Per metric field: the mean over the items with a value (None when none has one), how many
    items are in it, how many evaluated items could not be measured, and their reasons by kind."""
    means: dict[str, Any] = {}
    counts: dict[str, int] = {}
    unmeasurable: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for stage in stages:
        for name in stage.selected_fields:  # a metric the run did not select has no entry at all
            values = np.array([r[name] for r in rows if is_number(r.get(name))], dtype=float)
            means[name] = float(values.mean()) if values.size else None
            counts[name] = int(values.size)
            why = [(r.get("unmeasurable") or {}).get(name) for r in rows if not r.get("error")]
            why = [reason_kind(w) for w in why if w]
            unmeasurable[name] = len(why)
            if why:
                reasons[name] = dict(sorted(Counter(why).items()))
    return means, counts, unmeasurable, reasons


def stage_extras(rows: list[dict[str, Any]], stages: list[Stage]) -> dict[str, Any]:
    """Each stage's own summary values (e.g. corpus CER), from the rows where its headline metric has a value."""
    extra: dict[str, Any] = {}
    for stage in stages:
        headline = stage.selected_fields[0]
        extra.update(stage.summarize([r for r in rows if is_number(r.get(headline))]))
    return extra


def precision_entry(config: EvalConfig, stages: list[Stage]) -> dict[str, Any]:
    """The summary's ``precision`` entry: the run's TF32 mode and the autocast a stage that ran declares.

    One entry describes one autocast mode; should several stages declare one, the first (run order) is named.
    """
    modes = [mode for stage in stages if (mode := stage.autocast_mode())]
    return describe_precision(config.precision_mode(), modes[0] if modes else None)


def reason_kind(reason: str) -> str:
    """A reason with its numbers masked (``#``), so the summary counts kinds of reasons, not each item's values.

    Example:
        >>> reason_kind("front/back ambiguous (confidence 0.14 < 0.50), fit 2.3 dB")
        'front/back ambiguous (confidence # < #), fit # dB'
    """
    return re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", "#", reason)


def versions() -> dict[str, str]:
    """The versions that produced the numbers."""
    import torch

    from spatialeval._version import __version__

    return {
        "spatialeval": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
