"""``evaluate()``: the one pipeline behind the CLI and the notebook API.

pairs → shard → (resume: skip finished ids) → decode each pair once → every stage on a
chunk of pairs → rows appended to ``items.jsonl`` as they finish → summary.
A bad item gets an ``error`` message and NaN metrics; it never stops the run.
Each step is a module of :mod:`spatialeval.pipeline.run`; this module only orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from spatialeval.io.files import DirectoryLock
from spatialeval.io.pairing import Pair, PairingResult
from spatialeval.names import renamed_keyword
from spatialeval.pipeline.config import EvalConfig, config_from_dict, validate
from spatialeval.pipeline.results import ItemLog, RowWriter, rows_to_frame, write_outputs
from spatialeval.pipeline.run.chunks import cache_counts, run_chunks
from spatialeval.pipeline.run.identity import check_run_marker, identity_fingerprint, run_identity
from spatialeval.pipeline.run.plan import plan_pairs, shard_pairs
from spatialeval.pipeline.run.prepare import StageStatus, apply_shorthands, prepare_stages, require_named
from spatialeval.pipeline.run.resume import plan_resume
from spatialeval.pipeline.run.rows import run_stages
from spatialeval.pipeline.run.summary import reason_kind, summarize, versions
from spatialeval.pipeline.rundir import read_rows
from spatialeval.pipeline.stages.base import RunContext

# Re-exported: the names callers imported from here before the pipeline was split into parts.
__all__ = [
    "EvaluationResult",
    "StageStatus",
    "evaluate",
    "identity_fingerprint",
    "prepare_stages",
    "reason_kind",
    "require_named",
    "run_identity",
    "run_stages",
    "shard_pairs",
    "summarize",
    "versions",
]


@dataclass
class EvaluationResult:
    items: pd.DataFrame
    summary: dict[str, Any]
    stages: dict[str, StageStatus]

    @property
    def failed(self) -> pd.DataFrame:
        return self.items[self.items["error"].notna()] if "error" in self.items else self.items.iloc[0:0]


def _renamed_gen(gen, renamed: dict[str, Any], where: str):
    """``gen``, or the deprecated ``infer=`` keyword given in its place; any other keyword is a TypeError."""
    options = renamed_keyword(renamed, "gen", where)
    if "gen" in options:
        if gen is not None:
            raise TypeError(f"{where}: give gen (the generated audio) once, not also as infer")
        return options["gen"]
    return gen


def evaluate(
    gt: str | Path,
    gen: str | Path | None = None,
    config: EvalConfig | dict | None = None,
    *,
    out_dir: str | Path | None = None,
    checkpoint: str | None = None,
    save_embeddings: bool = False,
    progress: Callable[[int, int], None] | None = None,
    pairs: list[Pair] | None = None,
    **renamed: Any,
) -> EvaluationResult:
    """Evaluate generated binaural speech against ground truth.

    ``gt``/``gen`` are two directories (matched by relative path and stem), or ``gt`` is a
    manifest (CSV/TSV/JSONL) and ``gen`` is None. Returns per-item results as a DataFrame
    (``id``, ``ipd_mae``, ``ild_mae``, ``ang_cos``, ``dis_cos``, ...) and a summary dict holding
    the mean of each metric under the same name, plus protocol, stage provenance
    (model, checkpoint SHA-256) and versions. With ``out_dir``, rows are appended to
    ``items.jsonl`` as they finish and a rerun completes only what is missing.
    ``progress(advance, total)`` is called as items finish. ``checkpoint`` and ``save_embeddings``
    are shorthands for the spatial encoder's settings of those names: the stage that owns them
    declares them in ``Stage.api_shorthands``. The old keyword ``infer=`` is read as ``gen=`` (deprecated).
    """
    gen = _renamed_gen(gen, renamed, "evaluate()")
    if not isinstance(config, EvalConfig):
        config = config_from_dict(config)
    validate(config)  # an EvalConfig edited in Python is held to the same rules as a YAML file
    config = apply_shorthands(config, {"checkpoint": checkpoint, "save_embeddings": save_embeddings})
    config.resolved_device()  # fail before any work if the requested device does not exist
    pairs, pairing = plan_pairs(gt, gen, pairs, config.shard, config.allow_partial)
    out = Path(out_dir) if out_dir else None
    lock = DirectoryLock(out).acquire() if out else None
    try:
        return _evaluate_locked(pairs, pairing, config, out, progress)
    finally:
        if lock:
            lock.release()


def _evaluate_locked(
    pairs: list[Pair],
    pairing: PairingResult | None,
    config: EvalConfig,
    out: Path | None,
    progress: Callable[[int, int], None] | None,
) -> EvaluationResult:
    stages, statuses = prepare_stages(config, RunContext(out_dir=out))
    require_named(config, stages, statuses)
    done: dict[str, dict[str, Any]] = {}
    run_info: dict[str, Any] = {}
    if out is not None:
        check_run_marker(out, config, statuses)
        done, run_info["resume"] = plan_resume(pairs, read_rows(out / "items.jsonl"), stages)
    if progress:
        progress(len(done), len(pairs))
    todo = [p for p in pairs if p.id not in done]
    writer = RowWriter(ItemLog(out / "items.jsonl")) if out else None
    run_chunks(todo, stages, config, done, writer, progress, total=len(pairs))

    rows = [done[p.id] for p in pairs]
    if config.cache_dir:
        run_info["cache"] = cache_counts(stages)
    summary = summarize(rows, stages, statuses, config, pairing.left_out if pairing else None, run_info)
    if pairing is not None and pairing.outside_manifest:
        summary["manifest_paths_outside_folder"] = len(pairing.outside_manifest)
    if out:
        write_outputs(out, rows, summary)
    return EvaluationResult(items=rows_to_frame(rows), summary=summary, stages=statuses)
