"""The validation head models and the reverberation model against closed-form references.

Rigid sphere: Kuhn's low-frequency ITD 3(a/c)·sin θ and Woodworth's high-frequency delays,
+6 dB pressure doubling facing the ear. Brown & Duda: unit gain at DC and its own delay law.
Diffuse tail: the requested DRR exactly and the RT60 by Schroeder backward integration.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialeval.synth import render
from spatialeval.synth.heads import (
    HEAD_RADIUS_M,
    SPEED_OF_SOUND,
    brown_duda_transfer,
    head_hrir,
    sphere_transfer,
)
from spatialeval.synth.reverb import diffuse_tail, reverberant_brir

A_OVER_C = HEAD_RADIUS_M / SPEED_OF_SOUND


def _phase_delay(transfer, freq, incidence):
    h = transfer(np.array([freq]), incidence)[0]
    return -np.angle(h) / (2 * math.pi * freq)


@pytest.mark.parametrize("azimuth", [15.0, 30.0, 60.0, 90.0])
def test_sphere_low_frequency_itd_is_kuhns(azimuth):
    left = _phase_delay(sphere_transfer, 40.0, abs(azimuth - 90.0))
    right = _phase_delay(sphere_transfer, 40.0, abs(azimuth + 90.0))
    expected = 3 * A_OVER_C * math.sin(math.radians(azimuth))
    assert (right - left) == pytest.approx(expected, rel=0.01)


def test_sphere_high_frequency_delays_and_gain():
    # Group delay facing the ear: −a/c (arrives before the centre); at the far side ~ (a/c)·π/2.
    f, df = 12000.0, 2.0
    h = sphere_transfer(np.array([f - df, f + df]), 0.0)
    assert -np.angle(h[1] / h[0]) / (2 * math.pi * 2 * df) == pytest.approx(-A_OVER_C, rel=0.05)
    h = sphere_transfer(np.array([f - df, f + df]), 180.0)
    assert -np.angle(h[1] / h[0]) / (2 * math.pi * 2 * df) == pytest.approx(A_OVER_C * math.pi / 2, rel=0.05)
    assert 20 * math.log10(abs(sphere_transfer([16000.0], 0.0)[0])) == pytest.approx(6.0, abs=0.3)
    assert abs(sphere_transfer([20.0], 137.0)[0]) == pytest.approx(1.0, abs=1e-3)


def test_brown_duda_gain_and_delay():
    h = brown_duda_transfer(np.array([0.0, 1e6]), 0.0)
    assert abs(h[0]) == pytest.approx(1.0) and abs(h[1]) == pytest.approx(2.0, rel=1e-3)  # α(0) = 2
    # far above the pole/zero the group delay is the Woodworth-style delay: −(a/c)·cos θ for θ < 90°,
    # (a/c)·(θ − π/2) beyond
    for incidence, expected in ((60.0, -A_OVER_C * 0.5), (150.0, A_OVER_C * math.radians(60.0))):
        h = brown_duda_transfer(np.array([99999.0, 100001.0]), incidence)
        group_delay = -np.angle(h[1] / h[0]) / (2 * math.pi * 2.0)
        assert group_delay == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("head", ["sphere", "brown_duda"])
def test_heads_are_mirror_and_fore_aft_symmetric(head):
    sr = 32000
    front, back = np.asarray(head_hrir(head, sr, 30.0)), np.asarray(head_hrir(head, sr, 150.0))
    np.testing.assert_allclose(front, back, atol=1e-12)  # ears at ±90°: θ and 180° − θ are identical
    np.testing.assert_allclose(np.asarray(head_hrir(head, sr, -30.0)), front[:, ::-1], atol=1e-12)


def test_pinna_head_differs_front_and_back():
    sr = 32000
    front, back = head_hrir("brown_duda_pinna", sr, 30.0), head_hrir("brown_duda_pinna", sr, 150.0)
    assert np.max(np.abs(front - back)) > 0.05


def test_diffuse_tail_drr_and_rt60():
    sr = 16000
    direct = np.asarray(head_hrir("sphere", sr, 40.0))
    for drr in (-5.0, 0.0, 10.0):
        brir = reverberant_brir(direct, sr, rt60_s=0.6, drr_db=drr, seed=4)
        tail = brir.copy()
        tail[: direct.shape[0]] -= direct
        assert 10 * math.log10(np.sum(direct**2) / np.sum(tail**2)) == pytest.approx(drr, abs=1e-9)
    tail = diffuse_tail(sr, 0.6, seed=2, length_s=1.2)
    energy = np.sum(tail**2, axis=1)
    decay = 10 * np.log10(np.cumsum(energy[::-1])[::-1] / energy.sum())  # Schroeder integral
    t = np.arange(tail.shape[0]) / sr
    fit = (decay <= -5) & (decay >= -35)
    slope = np.polyfit(t[fit], decay[fit], 1)[0]  # dB per second
    assert -60.0 / slope == pytest.approx(0.6, rel=0.05)


def test_diffuse_tail_is_incoherent_at_high_frequency():
    sr = 16000
    tail = diffuse_tail(sr, 1.0, seed=1)
    tail = tail / np.exp(-3 * math.log(10) * np.arange(tail.shape[0]) / sr)[:, None]  # undo the decay
    spectra = np.fft.rfft(tail[: 16000 // 256 * 256].reshape(-1, 256, 2), axis=1)
    freqs = np.fft.rfftfreq(256, 1 / sr)
    cross = np.abs(np.mean(spectra[:, :, 0] * np.conj(spectra[:, :, 1]), axis=0))
    power = np.sqrt(np.mean(np.abs(spectra[:, :, 0]) ** 2, axis=0) * np.mean(np.abs(spectra[:, :, 1]) ** 2, axis=0))
    coherence = cross / power
    assert coherence[(freqs > 100) & (freqs < 250)].mean() > 0.7
    assert coherence[freqs > 3000].mean() < 0.2  # the estimate's own floor with 62 segments is ~0.11


def test_render_rejects_bad_requests():
    with pytest.raises(ValueError, match="head"):
        render(np.ones(100), 16000, 0.0, head="dummy")
    with pytest.raises(ValueError, match="both"):
        render(np.ones(100), 16000, 0.0, head="sphere", rt60_s=0.5)
