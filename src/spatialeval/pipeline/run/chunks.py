"""The evaluation loop: decode the pairs chunk by chunk, run the stages, hand each row on as it finishes."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from spatialeval.io.pairing import Pair
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.loader import iterate_chunks
from spatialeval.pipeline.results import RowWriter
from spatialeval.pipeline.run.rows import run_stages
from spatialeval.pipeline.stages.base import Stage
from spatialeval.precision import precision_scope

CACHE_COUNTS = ("hits", "misses", "writes", "discarded")


def run_chunks(
    todo: list[Pair],
    stages: list[Stage],
    config: EvalConfig,
    done: dict[str, dict[str, Any]],
    writer: RowWriter | None = None,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> None:
    """Evaluate ``todo`` into ``done`` (id → row), writing each row with ``writer`` as its chunk finishes.

    ``progress(advance, total)`` is told each finished chunk; the precision mode holds for the whole loop.
    The writer is closed at the end, also when a stage or the loader raises.
    """
    try:
        with precision_scope(config.precision_mode()):
            for chunk, loaded in iterate_chunks(todo, config.chunk_size, config.workers):
                for row in run_stages(stages, loaded, chunk):
                    done[row["id"]] = row
                    if writer:
                        writer.write(row)
                if progress:
                    progress(len(chunk), total)
    finally:
        if writer:
            writer.close()


def cache_counts(stages: list[Stage]) -> dict[str, int]:
    """The feature cache's hits, misses, writes and discarded entries, summed over the stages."""
    counts: Counter = Counter()
    for stage in stages:
        counts.update(stage.cache.stats)
    return {k: counts.get(k, 0) for k in CACHE_COUNTS}
