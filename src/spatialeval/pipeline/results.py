"""Result rows and files: ``items.jsonl`` (appended as items finish), ``items.csv``, ``summary.json``.

Files other than the append-only ``items.jsonl`` are written atomically (temp file +
rename), so an interrupted run never leaves a half-written summary or table.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from spatialeval.io.files import atomic_write_text
from spatialeval.pipeline.registry import METRICS

BASE_FIELDS = ("id", "gt", "gen")


def order_row(row: dict[str, Any]) -> dict[str, Any]:
    """Stable field order: id, paths, metrics in registry order, other fields sorted, error last."""
    ordered = {k: row[k] for k in BASE_FIELDS if k in row}
    ordered.update({k: row[k] for k in METRICS if k in row})
    ordered.update({k: row[k] for k in sorted(row) if k not in ordered and k != "error"})
    ordered["error"] = row.get("error")
    return ordered


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN: a metric that could not be computed is null
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return _jsonable(value.item())
    return value


def clean(value):
    """Recursively replace NaN/inf by None and numpy scalars by Python ones, for strict JSON."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return _jsonable(value)


def dumps_row(row: dict[str, Any]) -> str:
    return json.dumps({k: _jsonable(v) for k, v in order_row(row).items()}, ensure_ascii=False, allow_nan=False)


class RowWriter:
    """Writes finished rows to an :class:`ItemLog` on a background thread, so the metrics never wait on disk.

    ``write`` queues a row; ``close`` waits for every queued row to be written and fsynced. An error
    in the writer (disk full, ...) is raised by the next ``write`` or by ``close``; rows written
    before it stay in ``items.jsonl`` and a rerun resumes from them.
    """

    _STOP = object()

    def __init__(self, log: "ItemLog"):
        import queue
        import threading

        self._log = log
        self._queue: queue.Queue = queue.Queue(maxsize=256)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="spatialeval-row-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            row = self._queue.get()
            if row is self._STOP:
                return
            if self._error is None:
                try:
                    self._log.write(row)
                except BaseException as exc:  # kept and re-raised in the producer's thread
                    self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, row: dict[str, Any]) -> None:
        self._raise_if_failed()
        self._queue.put(row)

    def close(self) -> None:
        self._queue.put(self._STOP)
        self._thread.join()
        self._log.close()
        self._raise_if_failed()


class ItemLog:
    """Append-only items.jsonl: each finished item is flushed and fsynced before the next starts."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._stream = open(self.path, "a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        if self.path.is_file() and self.path.stat().st_size:
            data = self.path.read_bytes()
            if not data.endswith(b"\n"):
                self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def write(self, row: dict[str, Any]) -> None:
        self._stream.write(dumps_row(row) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        self._stream.close()


def rows_to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    rows = [order_row(r) for r in rows]
    frame = pd.DataFrame(rows)
    for name in METRICS:
        if name in frame:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def write_outputs(out_dir: str | os.PathLike, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "items.jsonl", "".join(dumps_row(r) + "\n" for r in rows))
    # Every field quoted: transcripts and error messages may hold commas, quotes and line breaks;
    # structured values (unmeasurable reasons, direction tracks) are written as JSON text.
    frame = rows_to_frame(rows)
    for column in frame.columns[frame.dtypes == object]:  # noqa: E721 (a pandas Series comparison)
        frame[column] = [
            json.dumps(clean(v), ensure_ascii=False) if isinstance(v, (dict, list)) else v for v in frame[column]
        ]
    atomic_write_text(out_dir / "items.csv", frame.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL))
    atomic_write_text(
        out_dir / "summary.json", json.dumps(clean(summary), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )
