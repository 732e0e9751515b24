"""io.audio.has_signal: its per-channel AC power is numpy's axis-0 mean formula, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from spatialeval.io.audio import NO_SIGNAL_DBFS, ac_power, has_signal


def _power_by_numpy(x: np.ndarray) -> np.ndarray:
    """The check's definition before its fast path: numpy's mean over the time axis."""
    return np.mean((x - x.mean(axis=0)) ** 2, axis=0)


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ac_power_is_numpys_mean_bit_for_bit(channels, dtype):
    rng = np.random.default_rng(channels)
    for length in (1, 3, 1000, 8193, 441000):
        x = (rng.normal(size=(length, channels)) * 10.0 ** rng.uniform(-6, 0) + 0.01).astype(dtype)
        x = np.asarray(x, dtype=np.float64)  # as has_signal converts decoded float32 audio
        assert np.array_equal(ac_power(x), _power_by_numpy(x)), (length, channels, dtype)
    pcm = np.round(rng.normal(scale=3000, size=(441000, 2))) / 32768.0  # a decoded 16-bit stereo clip
    assert np.array_equal(ac_power(pcm), _power_by_numpy(pcm))


def test_silence_dc_and_the_floor():
    assert not has_signal(np.zeros((44100, 2)))
    assert not has_signal(np.full((44100, 2), 0.25, dtype=np.float32))
    assert has_signal(np.column_stack([np.zeros(44100), np.r_[1e-2, np.zeros(44099)]]))
    x = np.random.default_rng(0).normal(size=(44100, 2)) * 1e-6  # about -120 dBFS
    assert not has_signal(x) and has_signal(x, floor_dbfs=-130.0)
    assert has_signal(x[:, :1]) == bool(_power_by_numpy(x[:, :1])[0] > 10.0 ** (NO_SIGNAL_DBFS / 10.0))
