"""Combining shard outputs into the summary a single run over all items gives."""

from __future__ import annotations

from pathlib import Path

from spatialeval.io.files import DirectoryLock
from spatialeval.pipeline.config import config_from_dict
from spatialeval.pipeline.registry import stage_class
from spatialeval.pipeline.results import write_outputs
from spatialeval.pipeline.run.identity import run_identity
from spatialeval.pipeline.run.prepare import StageStatus
from spatialeval.pipeline.run.summary import summarize
from spatialeval.pipeline.rundir import RunDirectory


def merge_results(shard_dirs: list[str | Path], out_dir: str | Path) -> dict:
    """Merge ``items.jsonl`` of several shard runs (same settings) into ``out_dir``; returns the summary."""
    if not shard_dirs:
        raise ValueError("merge needs at least one shard directory")
    with DirectoryLock(out_dir):
        return _merge_locked(shard_dirs, out_dir)


def _merge_locked(shard_dirs: list[str | Path], out_dir: str | Path) -> dict:
    shards = [RunDirectory.open(directory, "shard") for directory in shard_dirs]
    summaries = [shard.summary for shard in shards]
    identities = [run_identity(s["config"], s["stages"]) for s in summaries]
    if any(identity != identities[0] for identity in identities[1:]):
        raise ValueError("shards were run with different settings or models; only shards of one run can be merged")
    rows, seen = [], set()
    for shard in shards:
        for row in shard.rows:
            if row["id"] in seen:
                raise ValueError(f"item {row['id']!r} appears in more than one shard")
            seen.add(row["id"])
            rows.append(row)
    rows.sort(key=lambda r: r["id"])
    config = config_from_dict({**summaries[0]["config"], "shard": None})
    stage_info = summaries[0]["stages"]
    statuses = {n: StageStatus.from_dict(n, s) for n, s in stage_info.items()}
    ran = [stage_class(n)(config) for n, s in stage_info.items() if s["status"] == "ran"]
    left_out = {
        "only_gt": sorted({i for s in summaries for i in s.get("left_out", {}).get("only_gt", [])}),
        "only_gen": sorted({i for s in summaries for i in s.get("left_out", {}).get("only_gen", [])}),
    }
    summary = summarize(rows, ran, statuses, config, left_out)
    write_outputs(out_dir, rows, summary)
    return summary
