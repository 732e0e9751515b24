"""Resume: which rows stored in an output directory may stand for this run's items."""

from __future__ import annotations

from typing import Any

from spatialeval.io.audio import file_sha256
from spatialeval.io.pairing import Pair
from spatialeval.pipeline.run.rows import AUDIO_IDENTITY
from spatialeval.pipeline.rundir import latest_by_id
from spatialeval.pipeline.stages.base import Stage


def plan_resume(
    pairs: list[Pair], stored: list[dict[str, Any]], stages: list[Stage]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Stored rows that may be reused: valid, and made from the same audio (and reference text, prompt).

    Returns the reusable rows by id and a report: how many were reused, the ids recomputed because
    their inputs changed or their stored row is not a valid result, and how many failed items were retried.
    """
    latest = {row["id"]: row for row in latest_by_id(stored)}  # a later run's row of an id supersedes
    allowed = allowed_fields(stages)
    reused, changed, invalid, retried = {}, [], [], 0
    for pair in pairs:
        row = latest.get(pair.id)
        if row is None:
            continue
        if row_problem(row, stages, allowed):
            invalid.append(pair.id)
            continue
        if row.get("error") and not row.get("gt_sha256"):
            retried += 1  # it failed to load last time: try again (the file may have been fixed)
            continue
        current = input_identity(pair, stages)
        if any(row.get(key) != value for key, value in current.items()):
            changed.append(pair.id)
            continue
        reused[pair.id] = {**unselected_removed(row, stages), "gt": pair.gt, "gen": pair.gen}
    return reused, {
        "reused": len(reused),
        "recomputed_changed": changed,
        "recomputed_invalid": invalid,
        "retried_failed": retried,
    }


def allowed_fields(stages: list[Stage]) -> set[str]:
    """Every field a row of these stages may hold."""
    allowed = {"id", "gt", "gen", "error", "unmeasurable", *AUDIO_IDENTITY}
    for stage in stages:
        allowed.update(stage.fields, stage.extra_fields, stage.identity_fields)
    return allowed


def row_problem(row: dict[str, Any], stages: list[Stage], allowed: set[str]) -> str | None:
    """Why a stored row cannot be trusted as a result of these stages, or None."""
    unknown = sorted(set(row) - allowed)
    if unknown:
        return f"unknown field(s) {', '.join(unknown[:5])}"
    for key in AUDIO_IDENTITY:
        if not isinstance(row.get(key), str) and not row.get("error"):
            return f"no {key}"
    if row.get("error") is not None and not isinstance(row["error"], str):
        return "error is not text"
    for stage in stages:
        for name in stage.selected_fields:
            if name not in row:
                return f"no {name}"
            value = row[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"{name} is not a number"
    marks = row.get("unmeasurable")
    if marks is not None and not (isinstance(marks, dict) and all(isinstance(v, str) for v in marks.values())):
        return "unmeasurable is not a mapping of reasons"
    return None


def unselected_removed(row: dict[str, Any], stages: list[Stage]) -> dict[str, Any]:
    """``row`` without the metrics (values and unmeasurable reasons) these stages did not select: a directory
    written before stages knew their selection holds every metric of a stage; a resumed row then holds what a
    new row of this run holds."""
    unasked = {name for stage in stages for name in stage.fields if name not in stage.selected}
    if not unasked & set(row) and not unasked & set(row.get("unmeasurable") or {}):
        return row
    kept = {k: v for k, v in row.items() if k not in unasked}
    if isinstance(row.get("unmeasurable"), dict):
        marks = {k: v for k, v in row["unmeasurable"].items() if k not in unasked}
        if marks:
            kept["unmeasurable"] = marks
        else:
            kept.pop("unmeasurable")
    return kept


def input_identity(pair: Pair, stages: list[Stage]) -> dict[str, str | None]:
    """What the pair's rows depend on besides the settings: the audio hashes and each stage's own inputs."""
    try:
        identity = {"gt_sha256": file_sha256(pair.gt), "gen_sha256": file_sha256(pair.gen)}
    except OSError:
        return {"gt_sha256": None, "gen_sha256": None}  # unreadable now: recompute (it will fail clearly)
    for stage in stages:
        try:
            identity.update(stage.input_identity(pair))
        except Exception:  # the stage cannot resolve its inputs now: recompute and let it report why
            identity[f"{stage.name}_inputs"] = "unresolvable"
    return identity
