"""How clips become 10-s encoder inputs in the first-window, segments and windowed modes."""

from __future__ import annotations

import numpy as np
import pytest

from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
from spatialeval.pipeline.evaluate import evaluate

SR = 32000


def test_first_window_mode_pads_or_crops_to_the_first_ten_seconds():
    short = np.ones((3 * SR, 2))
    out = encoder_windows(short, "first-window")
    assert out.shape == (1, 2, 10 * SR) and out[0, :, : 3 * SR].all() and not out[0, :, 3 * SR :].any()
    long = np.arange(14 * SR * 2, dtype=np.float64).reshape(14 * SR, 2)
    assert encoder_windows(long, "first-window")[0, 0, -1] == long[10 * SR - 1, 0]


def test_windowed_mode_covers_the_whole_clip():
    clip = np.random.default_rng(0).normal(size=(25 * SR, 2))
    out = encoder_windows(clip, "windowed", window_seconds=10.0)
    assert out.shape == (3, 2, 10 * SR)
    np.testing.assert_array_equal(out[2, :, : 5 * SR], clip[20 * SR :].T.astype(np.float32))
    assert not out[2, :, 5 * SR :].any()


def test_segments_mode_pads_each_second():
    clip = np.ones((int(2.5 * SR), 2))
    out = encoder_windows(clip, "segments", segment_seconds=1.0)
    assert out.shape == (3, 2, 10 * SR)
    assert [int(np.count_nonzero(w[0])) for w in out] == [SR, SR, SR // 2]


def test_loudness_normalisation_to_minus_14_dbfs():
    clip = np.random.default_rng(1).normal(0, 0.01, (SR, 2))
    out = loudness_normalize(clip, -14.0)
    assert 20 * np.log10(np.sqrt(np.mean(out**2))) == pytest.approx(-14.0, abs=1e-9)
    silent = np.zeros((SR, 2))
    assert loudness_normalize(silent, -14.0) is silent


WINDOWED = {"stages": ["bat"], "bat": {"mode": "windowed"}}


@pytest.fixture(scope="module")
def windowed_pairs(pairs_dir):
    from spatialeval.io.pairing import Pair

    return [
        Pair(n, str(pairs_dir / "gt" / f"{n}.wav"), str(pairs_dir / "infer" / f"{n}.wav"))
        for n in ("az_shift_large", "rate_mixed", "long_14s")  # long_14s: two windows
    ]


@pytest.fixture(scope="module")
def windowed_run(windowed_pairs, test_checkpoint, tmp_path_factory):
    """The windowed mode on three pairs through the file-based pipeline (per-clip scipy path): the end-to-end
    test reads its long_14s row and embeddings, the device-kernel test compares against all three rows. One run
    for both: a row does not depend on its neighbours (tests/test_conformance.py)."""
    out = tmp_path_factory.mktemp("windowed")
    result = evaluate(
        None, None, WINDOWED, pairs=windowed_pairs, out_dir=out, checkpoint=str(test_checkpoint), save_embeddings=True
    )
    return result, out


@pytest.mark.slow
def test_windowed_mode_end_to_end(windowed_run):
    result, out = windowed_run
    with np.load(out / "embeddings" / "long_14s.npz") as saved:
        assert saved["gt_azi"].shape == (2, 768)  # 14 s → two 10-s windows
    assert 0.9 < result.items.set_index("id").loc["long_14s", "ang_cos"] <= 1.0
    assert result.summary["stages"]["bat"]["mode"] == "windowed"


@pytest.mark.slow
def test_device_kernels_give_the_reference_cosines(windowed_pairs, windowed_run, test_checkpoint):
    # The batched device path (torch polyphase resampling, loudness and windows on the device) equals the
    # per-clip scipy path to float rounding, and so do the file-based results built on it.
    reference = windowed_run[0].items
    kernels = evaluate(
        None, None, {**WINDOWED, "device_kernels": "on"}, pairs=windowed_pairs, checkpoint=str(test_checkpoint)
    ).items
    assert list(kernels["id"]) == list(reference["id"])
    for column in ("ang_cos", "dis_cos"):
        np.testing.assert_allclose(kernels[column], reference[column], atol=1e-6)
