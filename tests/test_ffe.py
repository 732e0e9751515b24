"""FFE / GPE / VDE on synthetic harmonic signals with known F0."""

import math

import numpy as np
import pytest

from spatialeval.metrics.ffe import align_nearest, f0_contour, f0_frame_error, ffe

SR = 16000
# (start s, end s, F0 Hz) of voiced "syllables"; silence (faint noise) in between.
SYLLABLES = [(0.10, 0.40, 110.0), (0.50, 0.80, 180.0), (0.90, 1.20, 130.0), (1.30, 1.60, 220.0), (1.70, 1.95, 150.0)]
DURATION = 2.1


def harmonic(scale: float = 1.0, shift_s: float = 0.0, syllables=SYLLABLES) -> np.ndarray:
    """Sum of 8 harmonics with 1/k amplitudes per syllable, 10-ms raised-cosine ramps."""
    t = np.arange(int(DURATION * SR)) / SR
    out = 1e-4 * np.random.default_rng(0).standard_normal(t.size)
    for start, end, f0 in syllables:
        start, end = start + shift_s, end + shift_s
        inside = (t >= start) & (t < end)
        local = t[inside] - start
        ramp = np.minimum(1.0, np.minimum(local, end - start - local) / 0.01)
        tone = sum(np.sin(2 * np.pi * k * f0 * scale * local) / k for k in range(1, 9))
        out[inside] += 0.3 * ramp * tone
    return out


def voiced_fraction() -> float:
    return sum(e - s for s, e, _ in SYLLABLES) / DURATION


def test_f0_contour_recovers_known_pitch():
    f0 = f0_contour(harmonic(), SR)
    assert f0.size == int(DURATION * 1000 / 10) + 1
    for start, end, expected in SYLLABLES:
        middle = f0[int((start + 0.05) * 100) : int((end - 0.05) * 100)]
        assert np.all(middle > 0)
        assert np.median(middle) == pytest.approx(expected, rel=0.02)
    assert np.all(f0[int(1.97 * 100) + 2 :] == 0)  # trailing silence unvoiced


def test_identical_is_zero_and_stereo_downmix_matches_mono():
    x = harmonic()
    result = ffe(x, x, SR)
    assert result["ffe"] == 0.0 and result["gpe"] == 0.0 and result["vde"] == 0.0
    assert result["frames"] == int(DURATION * 100) + 1
    stereo = np.stack([x, 0.5 * x], axis=1)
    assert np.array_equal(f0_contour(stereo, SR), f0_contour(0.75 * x, SR))


@pytest.mark.parametrize("method", ["dio", pytest.param("harvest", marks=pytest.mark.slow)])
def test_pitch_shift_30_percent_is_gross_5_percent_is_not(method):
    x = harmonic()
    up30 = ffe(x, harmonic(scale=1.3), SR, method=method)
    up5 = ffe(x, harmonic(scale=1.05), SR, method=method)
    assert up30["ffe"] > 0.5
    assert up30["gpe"] > 0.9 * voiced_fraction()  # nearly every voiced frame is a gross error
    assert up30["gpe_voiced"] > 0.9  # measured: dio 1.0, harvest 0.92 (onsets)
    assert up5["ffe"] < 0.1
    assert up5["gpe"] < 0.02
    assert up30["ffe"] == pytest.approx(up30["gpe"] + up30["vde"])


def test_voicing_errors_are_counted():
    x = harmonic()
    # drop the 4th syllable from the generated clip: its frames become voicing errors
    gen = harmonic(syllables=SYLLABLES[:3] + SYLLABLES[4:])
    result = ffe(x, gen, SR)
    assert result["gpe"] == 0.0
    dropped_frames = (SYLLABLES[3][1] - SYLLABLES[3][0]) * 100
    assert result["vde_frames"] == pytest.approx(dropped_frames, abs=4)
    assert result["vde"] == pytest.approx(result["vde_frames"] / result["frames"])


def test_frame_error_hand_counts():
    ref = np.array([0, 100, 100, 100, 200, 200, 0, 0], dtype=float)
    gen = np.array([0, 100, 119, 121, 0, 150, 90, 0], dtype=float)
    # frame 3: |121/100 - 1| = 0.21 > 0.2 (gross); frame 5: 0.25 (gross); frame 2: 0.19 (fine)
    # frame 4: voiced → unvoiced; frame 6: unvoiced → voiced
    result = f0_frame_error(ref, gen)
    assert (result["gpe_frames"], result["vde_frames"], result["voiced_both_frames"]) == (2, 2, 4)
    assert result["ffe"] == 4 / 8 and result["gpe"] == 2 / 8 and result["vde"] == 2 / 8
    assert result["gpe_voiced"] == 2 / 4
    assert f0_frame_error(ref, gen, threshold=0.3)["gpe_frames"] == 0
    empty = f0_frame_error(np.array([]), np.array([]))
    assert math.isnan(empty["ffe"]) and empty["frames"] == 0
    with pytest.raises(ValueError, match="same length"):
        f0_frame_error(ref, gen[:-1])


def test_truncated_estimate_counts_missing_frames_as_unvoiced():
    x = harmonic()
    short = x[: int(1.45 * SR)]  # cuts the 4th syllable at 1.45 s and drops the 5th
    result = ffe(x, short, SR)
    missing_voiced = (1.60 - 1.45 + SYLLABLES[4][1] - SYLLABLES[4][0]) * 100
    assert result["vde_frames"] == pytest.approx(missing_voiced, abs=5)
    assert align_nearest(np.array([1.0, 2.0]), 4).tolist() == [1.0, 2.0, 0.0, 0.0]


@pytest.mark.slow  # librosa MFCC/DTW first-call set-up takes ~3 s
def test_dtw_realigns_a_time_shifted_copy():
    x = harmonic()
    shifted = harmonic(shift_s=0.08)  # every syllable 80 ms late
    nearest = ffe(x, shifted, SR, alignment="nearest")
    warped = ffe(x, shifted, SR, alignment="dtw")
    assert nearest["ffe"] > 0.3
    assert warped["ffe"] < 0.05
    assert ffe(x, x, SR, alignment="dtw")["ffe"] == 0.0


def test_bad_arguments_raise():
    x = harmonic()
    with pytest.raises(ValueError, match="unknown F0 method"):
        f0_contour(x, SR, method="yin")
    with pytest.raises(ValueError, match="unknown alignment"):
        ffe(x, x, SR, alignment="linear")
    with pytest.raises(ValueError, match="empty signal"):
        f0_contour(np.array([]), SR)
