"""Reading a results directory for the report: summary, per-item rows, metric values, item choice."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from spatialeval.numbers import parse_number
from spatialeval.pipeline.registry import METRICS, stage_classes
from spatialeval.pipeline.rundir import ResultsError, RunDirectory


class ReportInputError(ValueError):
    """The results directory cannot be reported on; the message says why."""


class ResultsData(RunDirectory):
    """A results directory read back for the report (``summary``, ``rows`` one per id), with lookups."""

    @property
    def directory(self) -> Path:
        return self.path

    @property
    def protocol(self) -> str:
        return str(self.summary.get("protocol") or "unknown")

    def metric_names(self) -> list[str]:
        """Registry metrics that the summary or any item holds, in registry order."""
        return [name for name in METRICS if name in self.summary or any(name in row for row in self.rows)]

    def values(self, metric: str) -> list[tuple[str, float]]:
        """(item id, value) for every item with a finite value of ``metric``."""
        out = []
        for row in self.rows:
            value = parse_number(row.get(metric), default=math.nan)
            if math.isfinite(value):
                out.append((str(row["id"]), value))
        return out

    def row(self, item_id: str) -> dict[str, Any] | None:
        return next((row for row in self.rows if str(row.get("id")) == item_id), None)

    def failed(self) -> dict[str, str]:
        """id → error message for every failed item (summary's failed_items plus rows with an error)."""
        failed = {str(k): str(v) for k, v in (self.summary.get("failed_items") or {}).items()}
        for row in self.rows:
            if row.get("error"):
                failed.setdefault(str(row["id"]), str(row["error"]))
        return failed

    def resolve_audio(self, path_value: Any) -> Path | None:
        """Find an audio path stored in items.jsonl: as stored, else relative to the results directory or its parent."""
        if not path_value:
            return None
        path = Path(str(path_value))
        candidates = [path] if path.is_absolute() else [path, self.directory / path, self.directory.parent / path]
        return next((candidate for candidate in candidates if candidate.is_file()), None)


def load_results_dir(results_dir: str | Path) -> ResultsData:
    """Read ``summary.json`` and ``items.jsonl`` (or ``items.csv``) from a ``spatialeval run --out`` directory.

    Raises :class:`ReportInputError` when the directory or its summary is missing or unreadable.
    When an id occurs more than once (a resumed run), its last row wins.
    """
    try:
        return ResultsData.open(results_dir, numeric=frozenset(METRICS))
    except ResultsError as exc:
        raise ReportInputError(str(exc)) from None


def choose_items(data: ResultsData, items: list[str] | None, max_items: int) -> tuple[list[str], str]:
    """Items to draw IPD/ILD maps for, and a sentence saying why these.

    Given ``items``, they are validated against the results (unknown ids raise
    :class:`ReportInputError` with close matches). Otherwise the worst items are taken, up to
    ``max_items``, alternating between the metrics of the first registered stage whose
    ``item_ranking`` metrics have values (:attr:`~spatialeval.pipeline.stages.base.Stage.item_ranking`).
    """
    if items:
        known = [str(row["id"]) for row in data.rows]
        unknown = [item for item in items if item not in known]
        if unknown:
            hints = []
            for item in unknown:
                close = difflib.get_close_matches(item, known, n=3)
                hints.append(f"{item!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
            raise ReportInputError(f"item id(s) not in {data.directory / 'items.jsonl'}: {'; '.join(hints)}")
        return list(dict.fromkeys(items)), "chosen on the command line"
    if max_items <= 0:
        return [], "no items requested"
    for ranking in (stage.item_ranking for stage in stage_classes().values() if stage.item_ranking):
        ranked = []
        for metric in ranking:
            info = METRICS[metric]
            values = sorted(data.values(metric), key=lambda pair: pair[1], reverse=not info.higher_is_better)
            if values:
                ranked.append((metric, [item for item, _ in values]))
        if not ranked:
            continue
        chosen: list[str] = []
        depth = 0
        while len(chosen) < max_items and any(depth < len(order) for _, order in ranked):
            for _, order in ranked:
                if depth < len(order) and order[depth] not in chosen and len(chosen) < max_items:
                    chosen.append(order[depth])
            depth += 1
        return chosen, f"the worst items by {' / '.join(metric for metric, _ in ranked)}"
    fallback = [str(row["id"]) for row in data.rows if not row.get("error")][:max_items]
    return fallback, "the first items (no spatial error metric to rank by)"
