"""Shards on an executor and as SLURM array tasks, run locally; both merge to the single-run result."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from spatialeval.pipeline.distributed import evaluate_sharded
from spatialeval.pipeline.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"stages": ["interaural"]}


@pytest.fixture(scope="module")
def single(pairs_dir, tmp_path_factory):
    """The one-process reference every test here compares its shards or workers with (computed once)."""
    out = tmp_path_factory.mktemp("single")
    result = evaluate(pairs_dir / "gt", pairs_dir / "infer", CONFIG, out_dir=out)
    return result.summary, (out / "items.jsonl").read_bytes()


def test_executor_shards_match_single_run(pairs_dir, tmp_path, single):
    summary, items = single
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        merged = evaluate_sharded(pairs_dir / "gt", pairs_dir / "infer", CONFIG, tmp_path / "merged", 3, pool)
    assert merged["ipd_mae"] == summary["ipd_mae"] and merged["ild_mae"] == summary["ild_mae"]
    assert (tmp_path / "merged" / "items.jsonl").read_bytes() == items


def test_slurm_array_script_runs_locally(pairs_dir, tmp_path, single):
    script = ROOT / "scripts" / "slurm_shards.sh"
    env = {**os.environ, "SPATIALEVAL": str(Path(sys.executable).parent / "spatialeval"), "SLURM_ARRAY_TASK_COUNT": "2"}
    out = tmp_path / "res"
    for task in ("1", "2"):
        subprocess.run(
            ["bash", str(script), str(pairs_dir / "gt"), str(pairs_dir / "infer"), str(out), "--stages", "interaural"],
            env={**env, "SLURM_ARRAY_TASK_ID": task},
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["bash", str(script), str(pairs_dir / "gt"), str(pairs_dir / "infer"), str(out)],
        env={**env, "MERGE": "1", "N_SHARDS": "2"},
        check=True,
        capture_output=True,
    )
    merged = json.loads((out / "summary.json").read_text())
    assert merged["n_items"] == 16 and merged["ipd_mae"] == single[0]["ipd_mae"]


def test_cli_jobs_run_worker_processes(pairs_dir, tmp_path, capsys, single):
    from spatialeval.cli import main

    assert (
        main(
            [
                "run",
                str(pairs_dir / "gt"),
                str(pairs_dir / "infer"),
                "--stages",
                "interaural",
                "--jobs",
                "2",
                "--out",
                str(tmp_path / "par"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "par" / "items.jsonl").read_bytes() == single[1]
    assert sorted(p.name for p in (tmp_path / "par" / "shards").iterdir()) == ["1-of-2", "2-of-2"]
    assert "IPD MAE" in capsys.readouterr().out


def test_dask_local_cluster_shards_match_single_run(pairs_dir, tmp_path, single):
    # A real dask.distributed LocalCluster of worker processes (no network beyond loopback).
    distributed = pytest.importorskip("distributed")
    summary, items = single
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        merged = evaluate_sharded(
            pairs_dir / "gt", pairs_dir / "infer", CONFIG, tmp_path / "merged", 4, client.get_executor()
        )
    assert merged["ipd_mae"] == summary["ipd_mae"] and merged["n_items"] == 16
    assert (tmp_path / "merged" / "items.jsonl").read_bytes() == items


def test_worker_processes_and_device_kernels_give_the_reference_numbers(pairs_dir, tmp_path, single):
    # workers > 0: a DataLoader of spawned decoding processes; device_kernels=on: the batched kernels on the CPU.
    import numpy as np

    processes = evaluate(
        pairs_dir / "gt", pairs_dir / "infer", {"stages": ["interaural"], "workers": 2}, out_dir=tmp_path / "workers"
    )
    assert (tmp_path / "workers" / "items.jsonl").read_bytes() == single[1]
    for protocol in ("isdrama", "strict"):
        a = evaluate(pairs_dir / "gt", pairs_dir / "infer", {"stages": ["interaural"], "protocol": protocol}).items
        b = evaluate(
            pairs_dir / "gt",
            pairs_dir / "infer",
            {"stages": ["interaural"], "protocol": protocol, "device_kernels": "on"},
        ).items
        for column in ("ipd_mae", "ild_mae"):
            np.testing.assert_allclose(b[column], a[column], rtol=1e-6, atol=1e-12)
    assert processes.summary["precision"] == {"precision": "fp32", "tf32": False, "autocast": None}
