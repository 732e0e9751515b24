"""The one reader of a results directory (``spatialeval run --out DIR``), used by resume, merge, report and check.

A results directory holds ``summary.json`` (written last, atomically), ``items.jsonl`` (appended
as items finish; a torn last line from a killed run is skipped), ``items.csv`` (every field
quoted) and ``run.json`` (the fingerprint of the settings that change numbers). Files written under
old names (``infer``, ``infer_sha256``, ``cer.normalizer``, ...) are read under the new ones
(:mod:`spatialeval.names`, one note per old name).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialeval.errors import UsageError
from spatialeval.names import FIELD_RENAMES, upgrade_row, upgrade_summary


class ResultsError(UsageError):
    """A results directory or file that cannot be read; the message says which and why."""


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of an items.jsonl; a torn last line (from a killed run) and non-object lines are ignored.

    Lines are split on ``\\n`` only: JSON escapes every control character, so a U+2028 or
    U+0085 inside a value is data, not a line break.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "id" in row:
            rows.append(upgrade_row(row, str(path)))
    return rows


def read_csv_rows(path: str | os.PathLike, numeric: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Rows of an items.csv; ``numeric`` fields become floats (NaN when empty), an empty ``error`` None."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if any(name in FIELD_RENAMES for name in reader.fieldnames or ()):
            reader.fieldnames = list(upgrade_row(dict.fromkeys(reader.fieldnames), str(path)))
        rows = [dict(row) for row in reader]
    for row in rows:
        for key, value in row.items():
            if key in numeric:
                try:
                    row[key] = float(value) if value not in ("", None) else math.nan
                except ValueError:
                    row[key] = math.nan
            elif key == "error" and value == "":
                row[key] = None
    return rows


def latest_by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per id, the last one written (a resumed run appends newer rows), in first-seen order."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_id[str(row["id"])] = row
    return list(by_id.values())


def summary_file(path: str | os.PathLike, what: str = "results") -> Path:
    """``path/summary.json`` for a results directory, ``path`` itself for a file; ResultsError when absent."""
    path = Path(path)
    if path.is_dir():
        summary = path / "summary.json"
        if not summary.is_file():
            raise ResultsError(
                f"{what} directory {path} has no summary.json "
                "(is it a `spatialeval run --out` directory, and did that run finish?)"
            )
        return summary
    if not path.exists():
        raise ResultsError(f"{what} {path} not found")
    return path


def read_summary(path: str | os.PathLike, what: str = "results") -> dict[str, Any]:
    """The summary mapping of a results directory or a ``summary.json`` file."""
    summary = summary_file(path, what)
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{summary}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{summary}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{summary}: expected a JSON object at the top level, got {type(data).__name__}")
    return upgrade_summary(data, str(summary))


@dataclass
class RunDirectory:
    """A results directory read back: its summary and its rows (the latest per id)."""

    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]

    @classmethod
    def open(
        cls, path: str | os.PathLike, what: str = "results", numeric: frozenset[str] = frozenset()
    ) -> "RunDirectory":
        """Read ``summary.json`` and ``items.jsonl`` (or ``items.csv``, parsing ``numeric`` fields)."""
        directory = Path(path)
        if not directory.is_dir():
            raise ResultsError(f"{what} directory {directory} not found")
        summary = read_summary(directory, what)
        if (directory / "items.jsonl").is_file():
            rows = read_rows(directory / "items.jsonl")
        elif (directory / "items.csv").is_file():
            rows = read_csv_rows(directory / "items.csv", numeric)
        else:
            rows = []
        return cls(path=directory, summary=summary, rows=latest_by_id(rows))
