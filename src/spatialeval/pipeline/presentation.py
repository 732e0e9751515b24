"""What a stage hands to the report and to the console summary: plain data, no rendering.

The report (``spatialeval.report``) sits above the pipeline, so a stage cannot build report
blocks itself. Instead its hooks (:meth:`~spatialeval.pipeline.stages.base.Stage.report_tables`,
:meth:`~spatialeval.pipeline.stages.base.Stage.report_figures`,
:meth:`~spatialeval.pipeline.stages.base.Stage.summary_lines`) return the small dataclasses below,
built from the stage's own rows through a :class:`ReportView`, and the report renders them to
Markdown and HTML. Figures arrive as finished PNG bytes (:func:`png_bytes`), so the report needs no
knowledge of what they show.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spatialeval.numbers import parse_number

#: Resolution of every PNG in the report.
DPI = 100


@dataclass(frozen=True)
class Text:
    """A paragraph; `code` spans and Markdown hard line breaks (two spaces, newline) are kept."""

    text: str


@dataclass(frozen=True)
class Subheading:
    """A heading below the section's title (e.g. one per item)."""

    text: str


@dataclass(frozen=True)
class Table:
    """Cells already formatted as text (use :meth:`ReportView.number` for numbers)."""

    headers: list[str]
    rows: list[list[str]]
    align_right: frozenset[int] = frozenset()  # column indices holding numbers


@dataclass(frozen=True)
class Figure:
    """A finished PNG. The report saves it as ``<kind>_<item>.png`` beside the report (the item id made
    file-safe) and returns its path under ``"<kind>:<item>"`` from ``write_report``."""

    kind: str
    item: str
    png: bytes
    alt: str
    caption: str = ""


Block = Text | Subheading | Table | Figure


@dataclass(frozen=True)
class Section:
    """One titled part of the report."""

    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryLine:
    """A corpus-level row of the console's results table (under the per-metric means)."""

    label: str
    value: float
    note: str  # the last column: "lower is better", or what to read before trusting the value


class ReportView(Protocol):
    """What a stage's report hooks may read: one results directory, as the report loaded it."""

    #: One dict per item (the last row of an id that occurs twice), fields as in items.jsonl.
    rows: list[dict[str, Any]]
    #: summary.json.
    summary: dict[str, Any]

    @property
    def protocol(self) -> str: ...

    @property
    def directory(self) -> Path: ...

    #: Items chosen for per-item figures (``spatialeval report --items``, else the worst by the
    #: registered stages' ``item_ranking``), and a sentence saying why these.
    chosen_items: list[str]
    chosen_why: str

    def row(self, item_id: str) -> dict[str, Any] | None: ...

    def values(self, metric: str) -> list[tuple[str, float]]:
        """(item id, value) for every item with a finite value of ``metric``."""
        ...

    def resolve_audio(self, path_value: Any) -> Path | None:
        """An audio path stored in a row, found as stored or relative to the results directory or its parent."""
        ...

    def metric_text(self, item_id: str, metrics: list[str] | None = None) -> str:
        """``LABEL ×scale = value, ...`` of the item's finite metrics (all of them, or ``metrics``)."""
        ...

    def number(self, value: Any) -> str:
        """A table cell for a value, formatted as every report table formats numbers."""
        ...


def largest_first(rows: list[dict[str, Any]], field_name: str) -> list[dict[str, Any]]:
    """``rows`` by ``field_name``, largest first; rows without a finite value last (stable).

    >>> [r["id"] for r in largest_first([{"id": "a", "e": 1}, {"id": "b"}, {"id": "c", "e": 3}], "e")]
    ['c', 'a', 'b']
    """

    def key(row: dict[str, Any]) -> float:
        value = parse_number(row.get(field_name), default=math.nan)
        return value if math.isfinite(value) else -1.0

    return sorted(rows, key=key, reverse=True)


def png_bytes(figure) -> bytes:
    """A matplotlib ``Figure`` (built without pyplot) as PNG bytes at the report's resolution, white background."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
