"""Shards on an executor and as SLURM array tasks, run locally; both merge to the single-run result."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from spatialeval.pipeline.distributed import evaluate_sharded
from spatialeval.pipeline.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"stages": ["interaural"]}


def test_executor_shards_match_single_run(pairs_dir, tmp_path):
    single = evaluate(pairs_dir / "gt", pairs_dir / "infer", CONFIG, out_dir=tmp_path / "single")
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        merged = evaluate_sharded(pairs_dir / "gt", pairs_dir / "infer", CONFIG, tmp_path / "merged", 3, pool)
    assert merged["ipd_mae"] == single.summary["ipd_mae"] and merged["ild_mae"] == single.summary["ild_mae"]
    assert (tmp_path / "merged" / "items.jsonl").read_bytes() == (tmp_path / "single" / "items.jsonl").read_bytes()


def test_slurm_array_script_runs_locally(pairs_dir, tmp_path):
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
    single = evaluate(pairs_dir / "gt", pairs_dir / "infer", CONFIG)
    assert merged["n_items"] == 16 and merged["ipd_mae"] == single.summary["ipd_mae"]


def test_cli_jobs_run_worker_processes(pairs_dir, tmp_path, capsys):
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
    evaluate(pairs_dir / "gt", pairs_dir / "infer", CONFIG, out_dir=tmp_path / "single")
    assert (tmp_path / "par" / "items.jsonl").read_bytes() == (tmp_path / "single" / "items.jsonl").read_bytes()
    assert sorted(p.name for p in (tmp_path / "par" / "shards").iterdir()) == ["1-of-2", "2-of-2"]
    assert "IPD MAE" in capsys.readouterr().out


def test_dask_local_cluster_shards_match_single_run(pairs_dir, tmp_path):
    # A real dask.distributed LocalCluster of worker processes (no network beyond loopback).
    distributed = __import__("pytest").importorskip("distributed")
    single = evaluate(pairs_dir / "gt", pairs_dir / "infer", CONFIG, out_dir=tmp_path / "single")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        merged = evaluate_sharded(
            pairs_dir / "gt", pairs_dir / "infer", CONFIG, tmp_path / "merged", 4, client.get_executor()
        )
    assert merged["ipd_mae"] == single.summary["ipd_mae"] and merged["n_items"] == 16
    assert (tmp_path / "merged" / "items.jsonl").read_bytes() == (tmp_path / "single" / "items.jsonl").read_bytes()


def test_worker_processes_and_device_kernels_give_the_reference_numbers(pairs_dir, tmp_path):
    # workers > 0: a DataLoader of spawned decoding processes; device_kernels=on: the batched kernels on the CPU.
    import numpy as np

    evaluate(pairs_dir / "gt", pairs_dir / "infer", {"stages": ["interaural"]}, out_dir=tmp_path / "ref")
    processes = evaluate(
        pairs_dir / "gt", pairs_dir / "infer", {"stages": ["interaural"], "workers": 2}, out_dir=tmp_path / "workers"
    )
    assert (tmp_path / "workers" / "items.jsonl").read_bytes() == (tmp_path / "ref" / "items.jsonl").read_bytes()
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
