"""One chunk's result rows: every stage on the decodable pairs, errors recorded per item and stage."""

from __future__ import annotations

import math
from typing import Any

from spatialeval.io.pairing import Pair
from spatialeval.pipeline.stages.base import LoadedPair, Stage

# The row fields that tie a row to the two audio files it was computed from.
AUDIO_IDENTITY = ("gt_sha256", "gen_sha256")


def is_number(value) -> bool:
    """A finite int or float (not a bool): what may enter a mean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def run_stages(stages: list[Stage], loaded: list[LoadedPair | Exception], pairs: list[Pair]) -> list[dict[str, Any]]:
    """Rows for one chunk: every stage on the decodable pairs; errors recorded per item and stage."""
    rows: list[dict[str, Any]] = [{"id": p.id, "gt": p.gt, "gen": p.gen} for p in pairs]
    errors: list[list[str]] = [[] for _ in pairs]
    ok = [i for i, item in enumerate(loaded) if not isinstance(item, Exception)]
    for i, item in enumerate(loaded):
        if isinstance(item, Exception):
            errors[i].append(f"load: {item}")
        else:
            rows[i].update(gt_sha256=item.gt.sha256, gen_sha256=item.gen.sha256)
    for stage in stages:
        _stage_into_rows(stage, loaded, pairs, ok, rows, errors)
    for row, messages in zip(rows, errors):
        row["error"] = "; ".join(messages) if messages else None
    return rows


def _stage_into_rows(
    stage: Stage,
    loaded: list[LoadedPair | Exception],
    pairs: list[Pair],
    ok: list[int],
    rows: list[dict[str, Any]],
    errors: list[list[str]],
) -> None:
    """One stage on the decoded items ``ok`` of the chunk; its selected metrics stay NaN on every other item
    (a metric not selected is absent from the rows)."""
    for name in stage.selected_fields:
        for row in rows:
            row[name] = math.nan
    for i in ok:
        rows[i].update(stage.input_identity(pairs[i]))
    if not ok:
        return
    try:
        results = stage.compute_batch([loaded[i] for i in ok])
    except Exception as exc:  # a stage failing on a whole batch still only marks those items
        results = [exc] * len(ok)
    for i, result in zip(ok, results):
        if isinstance(result, Exception):
            errors[i].append(f"{stage.name}: {result}")
        else:
            _result_into_row(stage, result, rows[i])


def _result_into_row(stage: Stage, result: dict[str, Any], row: dict[str, Any]) -> None:
    """Copy a stage's result into the row; a metric left NaN always gets an unmeasurable reason. Metrics the
    run did not select (``Stage.selected``) are left out, values and reasons alike, whatever the stage returned."""
    unasked = set(stage.fields) - stage.selected
    reasons = {k: v for k, v in (result.get("unmeasurable") or {}).items() if k not in unasked}
    row.update({k: v for k, v in result.items() if k != "unmeasurable" and k not in unasked})
    for name in stage.selected_fields:
        if not is_number(row.get(name)):
            row[name] = math.nan
            reasons.setdefault(name, f"{stage.name} gave no value and no reason")
        else:
            reasons.pop(name, None)
    if reasons:
        row.setdefault("unmeasurable", {}).update(reasons)
