"""Metric definitions on hand-made signals: identity, pure interaural delay, pure interaural gain."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spatialeval.features.interaural_spectra import interaural_spectra
from spatialeval.features.resample import resample_sinc
from spatialeval.features.spectral import mel_matrix
from spatialeval.metrics.cosine_similarity import cosine, isdrama_cosine
from spatialeval.metrics.ipd_ild import ipd_ild_mae, isdrama_features, mae_over_time

SR = 32000


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 0.1, SR + 64)


def binaural(left, right):
    return np.stack([left, right], axis=1)


@pytest.mark.parametrize("protocol", ["isdrama", "strict"])
def test_identical_pair_has_zero_error(noise, protocol):
    clip = binaural(noise[:SR], noise[7 : SR + 7])
    assert ipd_ild_mae(clip, clip, SR, protocol=protocol) == {"ipd_mae": 0.0, "ild_mae": 0.0}


def test_identical_embeddings_have_cosine_one():
    v = np.random.default_rng(1).normal(size=(768, 1)).astype(np.float32)
    assert isdrama_cosine(v, v) == pytest.approx(1.0, abs=1e-6)
    assert cosine(v, v) == pytest.approx(1.0, abs=1e-12)


def test_pure_gain_gives_expected_ild(noise):
    gain_db = 6.0
    gt = binaural(noise[:SR], noise[:SR])  # ILD 0 dB everywhere
    gen = binaural(noise[:SR], noise[:SR] * 10 ** (gain_db / 20))  # right ear +6 dB
    _, ild = isdrama_features(gen, SR)
    column_sums = mel_matrix().sum(axis=0)
    np.testing.assert_allclose(ild, np.broadcast_to(gain_db * column_sums, ild.shape), rtol=1e-4, atol=1e-6)
    result = ipd_ild_mae(gt, gen, SR)
    frames = ild.shape[0]
    assert result["ild_mae"] == pytest.approx(gain_db * column_sums.mean() / frames, rel=1e-4)
    assert result["ipd_mae"] == pytest.approx(0.0, abs=1e-5)  # float32 phase rounding only
    strict = ipd_ild_mae(gt, gen, SR, protocol="strict")
    assert strict["ild_mae"] == pytest.approx(gain_db, rel=1e-6)  # plain dB, not divided by T


def test_pure_delay_gives_expected_ipd(noise):
    delay = 1  # right ear one sample late: IPD_k = −2πk/N for bin k
    gt = binaural(noise[delay : SR + delay], noise[delay : SR + delay])
    gen = binaural(noise[delay : SR + delay], noise[:SR])
    cues = interaural_spectra(torch.from_numpy(gen.T.copy()))
    expected_bins = -2 * np.pi * np.arange(513) / 1024
    # Per bin, IPD = ∠X_R − ∠X_L equals −2πk/N modulo 2π (the release does not wrap it), up to
    # the window's edge effects, so compare wrapped values by their median over middle frames.
    wrapped = np.angle(np.exp(1j * cues.ipd[5:-5].numpy()))
    error = np.angle(np.exp(1j * (wrapped - expected_bins)))
    assert np.median(np.abs(error), axis=0)[1:-1].max() < 0.05
    strict = ipd_ild_mae(gt, gen, SR, protocol="strict")
    assert strict["ipd_mae"] == pytest.approx(np.abs(expected_bins).mean(), rel=3e-2)
    assert strict["ild_mae"] < 0.5


def test_strict_wraps_phase_differences(noise):
    # 3 samples of delay: per-bin IPD runs past ±π; wrapped errors can never exceed π.
    gt = binaural(noise[:SR], noise[:SR])
    gen = binaural(noise[3 : SR + 3], noise[:SR])
    assert ipd_ild_mae(gt, gen, SR, protocol="strict")["ipd_mae"] <= math.pi


def test_strict_ignores_silent_bins():
    rng = np.random.default_rng(2)
    tone = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)
    gt = binaural(tone, tone)
    gen = gt + rng.normal(0, 1e-9, gt.shape)  # rounding-level noise where gt has no energy
    strict = ipd_ild_mae(gt, gen, SR, protocol="strict")["ipd_mae"]
    frames = isdrama_features(gt, SR)[0].shape[0]
    isdrama_undivided = ipd_ild_mae(gt, gen, SR, protocol="isdrama")["ipd_mae"] * frames
    assert strict < 1e-3
    assert isdrama_undivided > 10 * strict  # the release's value is dominated by the silent bins


def test_strict_on_silent_ground_truth_is_nan():
    silent = np.zeros((SR, 2))
    result = ipd_ild_mae(silent, silent + 0.1, SR, protocol="strict")
    assert math.isnan(result["ipd_mae"]) and math.isnan(result["ild_mae"])


def test_isdrama_mae_divides_by_frame_count():
    a, b = np.zeros((10, 4), np.float32), np.ones((12, 4), np.float32)
    assert mae_over_time(a, b) == pytest.approx(1.0 / 10)


def test_isdrama_cosine_wrap_heuristic():
    gt = np.array([4.0, 0.5, 0.5], np.float32)  # 4 > π: the release wraps both vectors first
    gen = np.array([4.0 - 2 * np.pi, 0.5, 0.5], np.float32)
    assert isdrama_cosine(gt, gen) == pytest.approx(1.0, abs=1e-6)
    assert cosine(gt, gen) < 0.5


def test_sinc_resampler_length_and_passband():
    t = np.arange(16000) / 16000
    tone = torch.from_numpy(np.sin(2 * np.pi * 440 * t)).float()[None]
    up = resample_sinc(tone, 16000, 32000)
    assert up.shape == (1, 32000)
    expected = np.sin(2 * np.pi * 440 * np.arange(32000) / 32000)
    assert np.max(np.abs(up[0, 200:-200].numpy() - expected[200:-200])) < 1e-2
    down = resample_sinc(torch.from_numpy(np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).float(), 48000, 32000)
    assert down.shape == (32000,)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="2-channel"):
        ipd_ild_mae(np.zeros((1000, 3)), np.zeros((1000, 3)), SR)


def test_unknown_protocol():
    with pytest.raises(ValueError, match="unknown protocol"):
        ipd_ild_mae(np.zeros((1000, 2)), np.zeros((1000, 2)), SR, protocol="paper")
