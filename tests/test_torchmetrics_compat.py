"""torchmetrics classes: equal to the per-clip functions' means, distributed sync, clear error without torchmetrics."""

from __future__ import annotations

import pickle
import socket
import sys

import numpy as np
import pytest
import torch

import spatialeval.torchmetrics_compat as compat
from spatialeval.io.audio import load_audio
from spatialeval.metrics.ipd_ild import ipd_ild_mae as per_clip_ipd_ild_mae

torchmetrics = pytest.importorskip("torchmetrics")

PAIRS = ("same", "az_shift_small", "front_back", "shorter_infer")  # 32 kHz, two lengths


def _batch(clips):
    longest = max(c.frames for c in clips)
    waves = torch.zeros(len(clips), 2, longest)
    for index, clip in enumerate(clips):
        waves[index, :, : clip.frames] = torch.from_numpy(clip.samples.T)
    return waves, torch.tensor([c.frames for c in clips])


def _load(pairs_dir, names):
    return [(load_audio(pairs_dir / "gt" / f"{n}.wav"), load_audio(pairs_dir / "infer" / f"{n}.wav")) for n in names]


def _update_in_two_batches(metric, pairs):
    for part in (pairs[:2], pairs[2:]):
        gt, gt_lengths = _batch([g for g, _ in part])
        gen, gen_lengths = _batch([i for _, i in part])
        metric.update(gt, gen, gt_lengths, gen_lengths)


@pytest.mark.parametrize("protocol", ["isdrama", "strict"])
def test_ipd_ild_metric_equals_mean_of_per_clip_values(pairs_dir, protocol):
    pairs = _load(pairs_dir, PAIRS)
    metric = compat.IPDILDMAE(sample_rate=32000, protocol=protocol)
    _update_in_two_batches(metric, pairs)
    result = metric.compute()
    for name in ("ipd_mae", "ild_mae"):
        expected = np.mean([per_clip_ipd_ild_mae(g.samples, i.samples, 32000, protocol)[name] for g, i in pairs])
        assert abs(float(result[name]) - expected) <= 1e-6 * abs(expected) + 1e-15, (
            name,
            float(result[name]),
            expected,
        )
    assert float(result["unmeasurable"]) == 0.0
    metric.reset()
    assert int(metric.measured) == 0


def test_unmeasurable_pairs_are_counted_not_averaged():
    metric = compat.IPDILDMAE(sample_rate=16000, protocol="strict")
    clip = torch.randn(2, 2, 8000, dtype=torch.float64) * 0.1
    gt = clip.clone()
    gt[1] = 0.0  # silent ground truth: strict IPD/ILD cannot be measured
    metric.update(gt, clip)
    result = metric.compute()
    assert float(result["ipd_mae"]) == 0.0 and float(result["unmeasurable"]) == 1.0


def test_states_reduce_by_sum_and_metric_pickles():
    metric = compat.IPDILDMAE(sample_rate=32000)
    assert set(metric._reductions) == {"ipd_mae_sum", "ild_mae_sum", "measured", "unmeasurable"}
    assert all(fx is torchmetrics.utilities.data.dim_zero_sum for fx in metric._reductions.values())
    clone = pickle.loads(pickle.dumps(metric))
    assert type(clone) is compat.IPDILDMAE and clone.sample_rate == 32000


def test_missing_torchmetrics_names_the_extra(monkeypatch):
    compat._classes.cache_clear()
    monkeypatch.setitem(sys.modules, "torchmetrics", None)
    try:
        with pytest.raises(ImportError, match=r"pip install 'spatialeval\[torchmetrics\]'"):
            _ = compat.IPDILDMAE
    finally:
        compat._classes.cache_clear()


def _free_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def _distributed_worker(rank: int, world: int, port: int, pairs_dir: str, out: str) -> None:
    from pathlib import Path

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        pairs = _load(Path(pairs_dir), PAIRS[rank::world])
        metric = compat.IPDILDMAE(sample_rate=32000)
        gt, gt_lengths = _batch([g for g, _ in pairs])
        gen, gen_lengths = _batch([i for _, i in pairs])
        metric.update(gt, gen, gt_lengths, gen_lengths)
        result = metric.compute()  # synchronises the states across both processes
        if rank == 0:
            torch.save({k: v.clone() for k, v in result.items()}, out)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_distributed_sync_over_two_processes_equals_one_process(pairs_dir, tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "rank0.pt"
    mp.spawn(_distributed_worker, args=(2, _free_port(), str(pairs_dir), str(out)), nprocs=2, join=True)
    synced = torch.load(out)
    single = compat.IPDILDMAE(sample_rate=32000)
    pairs = _load(pairs_dir, PAIRS)
    gt, gt_lengths = _batch([g for g, _ in pairs])
    gen, gen_lengths = _batch([i for _, i in pairs])
    single.update(gt, gen, gt_lengths, gen_lengths)
    expected = single.compute()
    for name in ("ipd_mae", "ild_mae"):
        assert abs(float(synced[name]) - float(expected[name])) <= 1e-12 * abs(float(expected[name]))
    assert float(synced["unmeasurable"]) == 0.0


@pytest.fixture(scope="module")
def bat_model(test_checkpoint):
    from spatialeval.models.checkpoint import load_bat

    return load_bat(test_checkpoint, "cpu")


@pytest.mark.slow
def test_bat_cosine_metric_matches_the_release_means(pairs_dir, bat_model, expected):
    names = ("same", "shorter_infer")
    pairs = _load(pairs_dir, names)
    metric = compat.BATCosine(bat_model, sample_rate=32000)
    assert not any(key.startswith("_model") or "blocks" in key for key in metric.state_dict())
    gt, gt_lengths = _batch([g for g, _ in pairs])
    gen, gen_lengths = _batch([i for _, i in pairs])
    metric.update(gt, gen, gt_lengths, gen_lengths)
    result = metric.compute()
    for name in ("ang_cos", "dis_cos"):
        reference = np.mean([expected["pairs"][n][name] for n in names])
        assert abs(float(result[name]) - reference) <= 1e-5, (name, float(result[name]), reference)


@pytest.mark.parametrize("rate", (0, -1, 32000.5))
def test_metric_classes_refuse_a_rate_that_is_not_a_positive_whole_number(rate):
    """Issue 16 item 9: the classes took int(rate), truncating 32000.5 and deferring 0/-1 to obscure errors."""
    with pytest.raises(ValueError, match="positive whole number"):
        compat.IPDILDMAE(sample_rate=rate)
    with pytest.raises(ValueError, match="positive whole number"):
        compat.IPDILDMAE(sample_rate=32000, gen_sample_rate=rate)
    with pytest.raises(ValueError, match="positive whole number"):
        compat.BATCosine(None, sample_rate=rate)
