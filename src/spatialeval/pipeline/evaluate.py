"""``evaluate()``: the one pipeline behind the CLI and the notebook API.

pairs → shard → (resume: skip finished ids) → decode each pair once → every stage on a
chunk of pairs → rows appended to ``items.jsonl`` as they finish → summary.
A bad item gets an ``error`` message and NaN metrics; it never stops the run.
"""
from __future__ import annotations

import hashlib
import json
import math
import platform
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from spatialeval.io.audio import load_audio
from spatialeval.io.pairing import Pair, find_pairs
from spatialeval.pipeline.config import EvalConfig, config_from_dict
from spatialeval.pipeline.results import ItemLog, atomic_write_text, read_rows, rows_to_frame, write_outputs
from spatialeval.pipeline.stages import Stage, StageUnavailable, stage_class
from spatialeval.pipeline.stages.base import LoadedPair

MIN_CLIP_SECONDS = 0.02  # shorter clips cannot hold one 1024-point STFT frame at 32 kHz


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

    from spatialeval import __version__

    return {"spatialeval": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__}


def prepare_stages(config: EvalConfig, checkpoint: str | None = None, embeddings_dir: Path | None = None,
                   ) -> tuple[list[Stage], dict[str, StageStatus]]:
    """Instantiate and set up every configured stage; one that cannot run is skipped with its reason."""
    ready, statuses = [], {}
    for name in config.stages:
        try:
            cls = stage_class(name)
            stage = cls(config, checkpoint=checkpoint, embeddings_dir=embeddings_dir) if name == "bat" else cls(config)
            stage.setup()
        except StageUnavailable as exc:
            statuses[name] = StageStatus(name, "skipped", str(exc))
            continue
        except ImportError as exc:
            statuses[name] = StageStatus(name, "skipped", f"optional dependency missing: {exc}. "
                                         "Install it with: pip install 'spatialeval[speech]'")
            continue
        ready.append(stage)
        statuses[name] = StageStatus(name, "ran", details=stage.describe())
    return ready, statuses


def load_pair(pair: Pair) -> LoadedPair | Exception:
    try:
        return LoadedPair(pair=pair, gt=load_audio(pair.gt, min_seconds=MIN_CLIP_SECONDS),
                          infer=load_audio(pair.infer, min_seconds=MIN_CLIP_SECONDS))
    except Exception as exc:
        return exc


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_stages(stages: list[Stage], loaded: list[LoadedPair | Exception], pairs: list[Pair]) -> list[dict[str, Any]]:
    """Rows for one chunk: every stage on the decodable pairs; errors recorded per item and stage."""
    rows = [{"id": p.id, "gt": p.gt, "infer": p.infer} for p in pairs]
    errors: list[list[str]] = [[] for _ in pairs]
    ok = [i for i, item in enumerate(loaded) if not isinstance(item, Exception)]
    for i, item in enumerate(loaded):
        if isinstance(item, Exception):
            errors[i].append(f"load: {item}")
    for stage in stages:
        for name in stage.fields:
            for row in rows:
                row[name] = math.nan
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
                rows[i].update(result)
    for row, messages in zip(rows, errors):
        row["error"] = "; ".join(messages) if messages else None
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def summarize(rows: list[dict[str, Any]], stages: list[Stage], statuses: dict[str, StageStatus],
              config: EvalConfig, left_out: dict[str, list[str]] | None = None) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r["id"])  # means independent of pair order (shards merge exactly)
    summary: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for stage in stages:
        for name in stage.fields:
            values = np.array([r.get(name) for r in rows if r.get(name) is not None], dtype=float)
            values = values[np.isfinite(values)]
            summary[name] = float(values.mean()) if values.size else None
            counts[name] = int(values.size)
    extra: dict[str, Any] = {}
    for stage in stages:
        headline = stage.fields[0]
        extra.update(stage.summarize([r for r in rows if _is_number(r.get(headline))]))
    failed = {r["id"]: r["error"] for r in rows if r.get("error")}
    summary.update({
        "protocol": config.protocol, "n_items": len(rows), "n_failed": len(failed), "failed_items": failed,
        "counts": counts, "extra": extra, "stages": {n: s.as_dict() for n, s in statuses.items()},
        "left_out": left_out or {}, "shard": config.shard, "versions": versions(),
        "config": config.to_dict(),
    })
    return summary


def run_identity(config: dict[str, Any], stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What makes two runs' rows interchangeable: settings and each stage's provenance (checkpoint
    hash, models), without what only changes speed or the slice (workers, cache, device, shard)."""
    settings = {k: v for k, v in config.items() if k not in ("workers", "cache_dir", "device", "shard")}
    provenance = {name: {k: v for k, v in status.items() if k != "device"} for name, status in stages.items()}
    return {"config": settings, "stages": provenance}


def _fingerprint(config: EvalConfig, statuses: dict[str, StageStatus]) -> str:
    identity = run_identity(config.to_dict(), {n: s.as_dict() for n, s in statuses.items()})
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _resume_rows(out_dir: Path | None, config: EvalConfig, statuses: dict[str, StageStatus],
                 wanted: set[str]) -> list[dict[str, Any]]:
    if out_dir is None:
        return []
    marker = out_dir / "run.json"
    if marker.is_file():
        previous = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
        if previous != _fingerprint(config, statuses):
            raise ValueError(f"{out_dir} holds results of a run with other settings or models; "
                             "choose another --out directory or delete it")
    else:
        atomic_write_text(marker, json.dumps({"fingerprint": _fingerprint(config, statuses)}) + "\n")
    return [r for r in read_rows(out_dir / "items.jsonl") if r.get("id") in wanted]


def evaluate(gt: str | Path, infer: str | Path | None = None, config: EvalConfig | dict | None = None, *,
             out_dir: str | Path | None = None, checkpoint: str | None = None, save_embeddings: bool = False,
             progress: Callable[[int, int], None] | None = None, pairs: list[Pair] | None = None) -> EvaluationResult:
    """Evaluate generated binaural speech against ground truth.

    ``gt``/``infer`` are two directories (matched by relative path and stem), or ``gt`` is a
    manifest (CSV/TSV/JSONL) and ``infer`` is None. Returns per-item results as a DataFrame
    (``id``, ``ipd_mae``, ``ild_mae``, ``ang_cos``, ``dis_cos``, ...) and a summary dict holding
    the mean of each metric under the same name, plus protocol, stage provenance
    (model, checkpoint SHA-256) and versions. With ``out_dir``, rows are appended to
    ``items.jsonl`` as they finish and a rerun completes only what is missing.
    ``progress(advance, total)`` is called as items finish.
    """
    if not isinstance(config, EvalConfig):
        config = config_from_dict(config)
    config.resolved_device()  # fail before any work if the requested device does not exist
    pairing = None
    if pairs is None:
        pairing = find_pairs(gt, infer, allow_partial=config.allow_partial)
        pairs = pairing.pairs
    pairs = shard_pairs(pairs, config.shard)
    out = Path(out_dir) if out_dir else None
    embeddings_dir = out / "embeddings" if (out and (save_embeddings or config.bat.save_embeddings)) else None
    stages, statuses = prepare_stages(config, checkpoint, embeddings_dir)

    done = {r["id"]: r for r in _resume_rows(out, config, statuses, {p.id for p in pairs})}
    todo = [p for p in pairs if p.id not in done]
    log = ItemLog(out / "items.jsonl") if out else None
    chunk_size = max(1, config.bat.batch_size // 2)
    if progress:
        progress(len(done), len(pairs))
    try:
        with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
            chunks = list(_chunks(todo, chunk_size))
            upcoming = [pool.submit(load_pair, p) for p in chunks[0]] if chunks else []
            for index, chunk in enumerate(chunks):
                loaded = [f.result() for f in upcoming]
                if index + 1 < len(chunks):  # decode the next chunk while this one is computed
                    upcoming = [pool.submit(load_pair, p) for p in chunks[index + 1]]
                for row in run_stages(stages, loaded, chunk):
                    done[row["id"]] = row
                    if log:
                        log.write(row)
                if progress:
                    progress(len(chunk), len(pairs))
    finally:
        if log:
            log.close()

    rows = [done[p.id] for p in pairs]
    summary = summarize(rows, stages, statuses, config, pairing.left_out if pairing else None)
    if out:
        write_outputs(out, rows, summary)
    return EvaluationResult(items=rows_to_frame(rows), summary=summary, stages=statuses)
