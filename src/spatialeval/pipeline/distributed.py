"""Running shards on an existing engine through the standard ``concurrent.futures`` interface.

Any executor works: ``ProcessPoolExecutor`` on one machine (use the "spawn" start method once
torch has run in the parent: forked children of a multi-threaded process can deadlock), ``dask.distributed.Client(...).get_executor()``
on a Dask cluster, ``ray.util.multiprocessing.Pool`` wrapped, or one SLURM array task per shard
(``scripts/slurm_shards.sh``). Each shard writes its own output directory (so a failed shard
is simply rerun and resumes), then :func:`merge_results` combines them.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from spatialeval.io.files import DirectoryLock
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.merge import merge_results


def _run_shard(gt: str, gen: str | None, config: dict[str, Any], out_dir: str, checkpoint: str | None) -> str:
    from spatialeval.pipeline.evaluate import evaluate

    evaluate(gt, gen, config, out_dir=out_dir, checkpoint=checkpoint)
    return out_dir


def evaluate_sharded(
    gt: str | Path,
    gen: str | Path | None,
    config: EvalConfig | dict | None,
    out_dir: str | Path,
    n_shards: int,
    executor: Executor,
    checkpoint: str | None = None,
) -> dict:
    """Evaluate ``n_shards`` slices in parallel on ``executor``; merge into ``out_dir``; return the summary.

    Shard outputs go to ``out_dir/shards/K-of-N``.
    """
    base = config.to_dict() if isinstance(config, EvalConfig) else dict(config or {})
    out_dir = Path(out_dir)
    futures = []
    for k in range(1, n_shards + 1):
        shard_dir = out_dir / "shards" / f"{k}-of-{n_shards}"
        futures.append(
            executor.submit(
                _run_shard,
                str(gt),
                str(gen) if gen else None,
                {**base, "shard": f"{k}/{n_shards}"},
                str(shard_dir),
                checkpoint,
            )
        )
    shard_dirs = [f.result() for f in futures]
    return merge_results(shard_dirs, out_dir)


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def evaluate_parallel(
    gt: str | Path,
    gen: str | Path | None,
    config: EvalConfig | dict | None,
    out_dir: str | Path,
    jobs: int,
    checkpoint: str | None = None,
) -> dict:
    """All stages in ``jobs`` local worker processes (one shard each, CPU threads split between them), merged."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # spawn, not fork: forking a process whose torch/OpenMP threads are running can deadlock the children.
    context = multiprocessing.get_context("spawn")
    with (
        DirectoryLock(out_dir),
        ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_limit_threads, initargs=(threads,)
        ) as pool,
    ):
        return evaluate_sharded(gt, gen, config, out_dir, jobs, pool, checkpoint)
