"""``evaluate()``: the one pipeline behind the CLI and the notebook API.

pairs → shard → (resume: skip finished ids) → decode each pair once → every stage on a
chunk of pairs → rows appended to ``items.jsonl`` as they finish → summary.
A bad item gets an ``error`` message and NaN metrics; it never stops the run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import platform
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from spatialeval.errors import StageUnavailable, UsageError
from spatialeval.io.audio import file_sha256
from spatialeval.io.files import DirectoryLock, atomic_write_text
from spatialeval.io.pairing import Pair, find_pairs
from spatialeval.names import legacy_identity, note_renamed, renamed_keywords
from spatialeval.pipeline.config import EvalConfig, RunSettings, config_from_dict, validate
from spatialeval.pipeline.loader import iterate_chunks
from spatialeval.pipeline.registry import stage_class
from spatialeval.pipeline.results import ItemLog, RowWriter, rows_to_frame, write_outputs
from spatialeval.pipeline.rundir import latest_by_id, read_rows
from spatialeval.pipeline.settings import speed_settings
from spatialeval.pipeline.stages.base import LoadedPair, RunContext, Stage
from spatialeval.precision import describe as describe_precision
from spatialeval.precision import precision_scope


@dataclass
class StageStatus:
    name: str
    status: str  # "ran" | "skipped"
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **self.details}


@dataclass
class EvaluationResult:
    items: pd.DataFrame
    summary: dict[str, Any]
    stages: dict[str, StageStatus]

    @property
    def failed(self) -> pd.DataFrame:
        return self.items[self.items["error"].notna()] if "error" in self.items else self.items.iloc[0:0]


def shard_pairs(pairs: list[Pair], shard: str | None) -> list[Pair]:
    """The K-th of N slices (``"K/N"``, 1-based), by a stable hash of the id: adding items never moves others."""
    if not shard:
        return pairs
    try:
        k, n = (int(v) for v in shard.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like K/N (e.g. 2/8), got {shard!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {shard}: K must be between 1 and N")
    return [p for p in pairs if int(hashlib.sha1(p.id.encode()).hexdigest(), 16) % n == k - 1]


def versions() -> dict[str, str]:
    import torch

    from spatialeval._version import __version__

    return {
        "spatialeval": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def prepare_stages(config: EvalConfig, context: RunContext | None = None) -> tuple[list[Stage], dict[str, StageStatus]]:
    """Instantiate and set up every configured stage; one that cannot run is skipped with its reason."""
    ready, statuses = [], {}
    for name in config.active_stages():
        try:
            stage = stage_class(name)(config, context)
            stage.setup()
        except StageUnavailable as exc:
            statuses[name] = StageStatus(name, "skipped", str(exc))
            continue
        except ImportError as exc:
            statuses[name] = StageStatus(
                name,
                "skipped",
                f"optional dependency missing: {exc}. Install it with: pip install 'spatialeval[speech]'",
            )
            continue
        ready.append(stage)
        statuses[name] = StageStatus(name, "ran", details=stage.describe())
    return ready, statuses


def require_named(config: EvalConfig, stages: list[Stage], statuses: dict[str, StageStatus]) -> None:
    """Stop before any item is evaluated when a stage named with ``stages`` or a metric named with
    ``metrics`` cannot be computed here (a default stage that cannot run is only skipped)."""
    ready = {stage.name: stage for stage in stages}
    problems = []
    for name, metrics in config.named_metrics().items():
        status = statuses.get(name)
        if status is not None and status.status == "skipped":
            what = ", ".join(metrics) if metrics else f"stage {name}"
            problems.append(f"{what} cannot be computed: {status.reason}")
        elif name in ready:
            missing = ready[name].unavailable_metrics()
            problems += [f"{metric} cannot be computed: {missing[metric]}" for metric in metrics if metric in missing]
    if problems:
        raise UsageError("; ".join(problems) + " (named with --metrics/--stages; leave them out to run without)")


def _stage_result_into_row(stage: Stage, result: dict[str, Any], row: dict[str, Any]) -> None:
    """Copy a stage's result into the row; a metric left NaN always gets an unmeasurable reason."""
    reasons = dict(result.get("unmeasurable") or {})
    row.update({k: v for k, v in result.items() if k != "unmeasurable"})
    for name in stage.fields:
        if not _is_number(row.get(name)):
            row[name] = math.nan
            reasons.setdefault(name, f"{stage.name} gave no value and no reason")
        else:
            reasons.pop(name, None)
    if reasons:
        row.setdefault("unmeasurable", {}).update(reasons)


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
        for name in stage.fields:
            for row in rows:
                row[name] = math.nan
        for i in ok:
            rows[i].update(stage.input_identity(pairs[i]))
        if not ok:
            continue
        try:
            results = stage.compute_batch([loaded[i] for i in ok])
        except Exception as exc:  # a stage failing on a whole batch still only marks those items
            results = [exc] * len(ok)
        for i, result in zip(ok, results):
            if isinstance(result, Exception):
                errors[i].append(f"{stage.name}: {result}")
            else:
                _stage_result_into_row(stage, result, rows[i])
    for row, messages in zip(rows, errors):
        row["error"] = "; ".join(messages) if messages else None
    return rows


def reason_kind(reason: str) -> str:
    """A reason with its numbers masked (``#``), so the summary counts kinds of reasons, not each item's values.

    Example:
        >>> reason_kind("front/back ambiguous (confidence 0.14 < 0.50), fit 2.3 dB")
        'front/back ambiguous (confidence # < #), fit # dB'
    """
    return re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", "#", reason)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
    count); failed items (``n_failed``) could not be evaluated at all.
    """
    rows = sorted(rows, key=lambda r: r["id"])  # means independent of pair order (shards merge exactly)
    summary: dict[str, Any] = {}
    counts: dict[str, int] = {}
    unmeasurable: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for stage in stages:
        for name in stage.fields:
            values = np.array([r[name] for r in rows if _is_number(r.get(name))], dtype=float)
            summary[name] = float(values.mean()) if values.size else None
            counts[name] = int(values.size)
            why = [(r.get("unmeasurable") or {}).get(name) for r in rows if not r.get("error")]
            why = [reason_kind(w) for w in why if w]
            unmeasurable[name] = len(why)
            if why:
                reasons[name] = dict(sorted(Counter(why).items()))
    extra: dict[str, Any] = {}
    for stage in stages:
        headline = stage.fields[0]
        extra.update(stage.summarize([r for r in rows if _is_number(r.get(headline))]))
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
            "extra": extra,
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
    encoder_ran = "bat" in statuses and statuses["bat"].status == "ran"
    summary["precision"] = describe_precision(config.precision_mode(), config.bat.autocast if encoder_ran else None)
    return summary


# Top-level settings that never change a number (speed, slicing, where files go).
SPEED_SETTINGS = speed_settings(RunSettings)
# Provenance entries that describe how fast or where a stage ran, not what it computed.
SPEED_PROVENANCE = ("device", "batch_size")


def run_identity(config: dict[str, Any], stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What makes two runs' rows interchangeable: the settings that change numbers and each stage's
    provenance (checkpoint hash, models), without what only changes speed, outputs or the slice."""
    settings = {}
    for key, value in config.items():
        if key in SPEED_SETTINGS:
            continue
        if isinstance(value, dict):
            if key not in stages:
                continue  # settings of a stage that was not asked for cannot change any number
            speed = _stage_speed_settings(key)
            value = {k: v for k, v in value.items() if k not in speed}
        settings[key] = value
    provenance = {
        name: {k: v for k, v in status.items() if k not in SPEED_PROVENANCE} for name, status in stages.items()
    }
    return {"config": settings, "stages": provenance}


def _stage_speed_settings(name: str) -> tuple[str, ...]:
    try:
        return tuple(stage_class(name).speed_settings)
    except Exception:  # an unknown stage in an old summary: compare everything
        return ()


def identity_fingerprint(identity: dict[str, Any]) -> str:
    """A short hash of a :func:`run_identity`: equal exactly when the identities are."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _identity(config: EvalConfig, statuses: dict[str, StageStatus]) -> dict[str, Any]:
    return run_identity(config.to_dict(), {n: s.as_dict() for n, s in statuses.items()})


def _fingerprint(config: EvalConfig, statuses: dict[str, StageStatus]) -> str:
    return identity_fingerprint(_identity(config, statuses))


def _check_run_marker(out_dir: Path, config: EvalConfig, statuses: dict[str, StageStatus]) -> None:
    """Refuse to mix rows of runs whose number-changing settings or models differ."""
    marker = out_dir / "run.json"
    identity = _identity(config, statuses)
    fingerprint = identity_fingerprint(identity)
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
        except (json.JSONDecodeError, AttributeError):
            previous = None
        if previous == identity_fingerprint(legacy_identity(identity)) != fingerprint:
            # written before the renames (spatialeval.names): the same settings under their old names
            note_renamed("run.json fingerprint (old setting names)", "the current names", str(marker))
            atomic_write_text(marker, json.dumps({"fingerprint": fingerprint}) + "\n")
        elif previous != fingerprint:
            raise UsageError(
                f"{out_dir} holds results of a run with other settings or models; "
                "choose another --out directory or delete it"
            )
    else:
        atomic_write_text(marker, json.dumps({"fingerprint": fingerprint}) + "\n")


def _allowed_fields(stages: list[Stage]) -> set[str]:
    allowed = {"id", "gt", "gen", "error", "unmeasurable", *AUDIO_IDENTITY}
    for stage in stages:
        allowed.update(stage.fields, stage.extra_fields, stage.identity_fields)
    return allowed


AUDIO_IDENTITY = ("gt_sha256", "gen_sha256")


def _row_problem(row: dict[str, Any], stages: list[Stage], allowed: set[str]) -> str | None:
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
        for name in stage.fields:
            if name not in row:
                return f"no {name}"
            value = row[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"{name} is not a number"
    marks = row.get("unmeasurable")
    if marks is not None and not (isinstance(marks, dict) and all(isinstance(v, str) for v in marks.values())):
        return "unmeasurable is not a mapping of reasons"
    return None


def _plan_resume(
    pairs: list[Pair], stored: list[dict[str, Any]], stages: list[Stage]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Stored rows that may be reused: valid, and made from the same audio (and reference text, prompt).

    Returns the reusable rows by id and a report: how many were reused, the ids recomputed because
    their inputs changed or their stored row is not a valid result, and how many failed items were retried.
    """
    latest = {row["id"]: row for row in latest_by_id(stored)}  # a later run's row of an id supersedes
    allowed = _allowed_fields(stages)
    reused, changed, invalid, retried = {}, [], [], 0
    for pair in pairs:
        row = latest.get(pair.id)
        if row is None:
            continue
        if _row_problem(row, stages, allowed):
            invalid.append(pair.id)
            continue
        if row.get("error") and not row.get("gt_sha256"):
            retried += 1  # it failed to load last time: try again (the file may have been fixed)
            continue
        current = _input_identity(pair, stages)
        if any(row.get(key) != value for key, value in current.items()):
            changed.append(pair.id)
            continue
        reused[pair.id] = {**row, "gt": pair.gt, "gen": pair.gen}
    return reused, {
        "reused": len(reused),
        "recomputed_changed": changed,
        "recomputed_invalid": invalid,
        "retried_failed": retried,
    }


def _input_identity(pair: Pair, stages: list[Stage]) -> dict[str, str | None]:
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


def _renamed_gen(gen, renamed: dict[str, Any], where: str):
    """``gen``, or the deprecated ``infer=`` keyword given in its place; any other keyword is a TypeError."""
    options = renamed_keywords(renamed, where)
    unknown = sorted(set(options) - {"gen"})
    if unknown:
        raise TypeError(f"{where} got unexpected keyword argument(s) {', '.join(unknown)}")
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
    ``progress(advance, total)`` is called as items finish. ``checkpoint`` and
    ``save_embeddings`` are shorthands for the settings ``bat.checkpoint`` and ``bat.save_embeddings``.
    The old keyword ``infer=`` is read as ``gen=`` (deprecated).
    """
    gen = _renamed_gen(gen, renamed, "evaluate()")
    if not isinstance(config, EvalConfig):
        config = config_from_dict(config)
    validate(config)  # an EvalConfig edited in Python is held to the same rules as a YAML file
    if checkpoint is not None or save_embeddings:  # shorthands: one route into the settings, not a second one
        config = copy.deepcopy(config)
        if checkpoint is not None:
            config.bat.checkpoint = str(checkpoint)
        if save_embeddings:
            config.bat.save_embeddings = True
    config.resolved_device()  # fail before any work if the requested device does not exist
    pairing = None
    if pairs is None:
        pairing = find_pairs(gt, gen, allow_partial=config.allow_partial)
        pairs = pairing.pairs
    pairs = shard_pairs(pairs, config.shard)
    out = Path(out_dir) if out_dir else None
    lock = DirectoryLock(out).acquire() if out else None
    try:
        return _evaluate_locked(pairs, pairing, config, out, progress)
    finally:
        if lock:
            lock.release()


def _evaluate_locked(pairs, pairing, config, out, progress) -> EvaluationResult:
    stages, statuses = prepare_stages(config, RunContext(out_dir=out))
    require_named(config, stages, statuses)

    done: dict[str, dict[str, Any]] = {}
    run_info: dict[str, Any] = {}
    if out is not None:
        _check_run_marker(out, config, statuses)
        done, run_info["resume"] = _plan_resume(pairs, read_rows(out / "items.jsonl"), stages)
    todo = [p for p in pairs if p.id not in done]
    writer = RowWriter(ItemLog(out / "items.jsonl")) if out else None
    if progress:
        progress(len(done), len(pairs))
    try:
        with precision_scope(config.precision_mode()):
            for chunk, loaded in iterate_chunks(todo, config.chunk_size, config.workers):
                for row in run_stages(stages, loaded, chunk):
                    done[row["id"]] = row
                    if writer:
                        writer.write(row)
                if progress:
                    progress(len(chunk), len(pairs))
    finally:
        if writer:
            writer.close()

    rows = [done[p.id] for p in pairs]
    cache = Counter()
    for stage in stages:
        cache.update(stage.cache.stats)
    if config.cache_dir:
        run_info["cache"] = {k: cache.get(k, 0) for k in ("hits", "misses", "writes", "discarded")}
    summary = summarize(rows, stages, statuses, config, pairing.left_out if pairing else None, run_info)
    if pairing is not None and pairing.outside_manifest:
        summary["manifest_paths_outside_folder"] = len(pairing.outside_manifest)
    if out:
        write_outputs(out, rows, summary)
    return EvaluationResult(items=rows_to_frame(rows), summary=summary, stages=statuses)
