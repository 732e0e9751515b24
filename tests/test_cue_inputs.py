"""Input conventions, degenerate audio, determinism, bounded memory and invariants of the binaural cues.

Issue 8 items 4 (degenerate audio is scored or unmeasurable, never an error), 5 (one array
layout, (time, 2), for numpy and torch; ambiguous layouts rejected), 10 (bit-identical
whatever the thread count) and 11 (memory bounded by a setting, not by the clip length).
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from spatialeval.features.frame_cues import (
    CueError,
    analyze_binaural,
    as_binaural,
    band_ild,
    iacc,
    itd_gcc_phat,
)
from spatialeval.metrics.cues import spatial_cue_errors
from spatialeval.metrics.doa import estimate_direction
from spatialeval.pipeline.registry import metric_fields
from spatialeval.synth import render, spatialize, speech_like

SR = 16000
FIELDS = metric_fields("cues")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return spatialize(speech_like(2.0, SR, seed=2), SR, 40.0)


PUBLIC = {
    "as_binaural": lambda x: as_binaural(x),
    "analyze_binaural": lambda x: analyze_binaural(x, SR).itd_s,
    "itd_gcc_phat": lambda x: itd_gcc_phat(x, SR),
    "band_ild": lambda x: band_ild(x, SR),
    "iacc": lambda x: iacc(x, SR),
    "iacc_framed": lambda x: iacc(x, SR, frame_s=0.05),
    "estimate_direction": lambda x: estimate_direction(x, SR).lateral_deg,
    "spatial_cue_errors_gt": lambda x: spatial_cue_errors(x, _reference(), SR)["doa_error_deg"],
    "spatial_cue_errors_gen": lambda x: spatial_cue_errors(_reference(), x, SR)["doa_error_deg"],
}


def _reference() -> np.ndarray:
    return spatialize(speech_like(2.0, SR, seed=2), SR, 40.0)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_function_takes_time_by_2_and_rejects_the_rest(name, clip):
    function = PUBLIC[name]
    expected = function(clip)
    # torch tensors in the same (time, 2) layout give the same result
    same = function(torch.from_numpy(clip.copy()))
    np.testing.assert_array_equal(np.asarray(same, dtype=float), np.asarray(expected, dtype=float))
    with pytest.raises(CueError, match=r"looks like \(channels, time\); expected \(time, 2\)"):
        function(clip.T.copy())  # (2, time): rejected, never silently transposed
    with pytest.raises(CueError, match=r"looks like \(channels, time\)"):
        function(torch.from_numpy(clip.T.copy()))
    with pytest.raises(CueError, match="mono"):
        function(clip[:, 0].copy())
    with pytest.raises(CueError, match=r"\(time, 2\)"):
        function(np.zeros((SR, 3)))
    if name != "as_binaural":
        with pytest.raises(CueError, match="too short|at least"):
            function(clip[:160])  # 10 ms: shorter than one analysis frame
    with pytest.raises(CueError, match="NaN"):
        bad = clip.copy()
        bad[100, 1] = np.nan
        function(bad)


def _assert_same_result(a: dict, b: dict, rel: float = 0.0) -> None:
    """Equal results; ``rel`` > 0 for two code paths (float64: a few hundred ulps), 0 for the same computation."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float) and math.isnan(a[key]):
            assert isinstance(b[key], float) and math.isnan(b[key]), key
        elif rel and isinstance(a[key], float) and isinstance(b[key], float):
            assert math.isclose(a[key], b[key], rel_tol=rel, abs_tol=rel), key
        else:
            assert a[key] == b[key], key


def test_degenerate_generated_audio_is_scored_or_unmeasurable(clip):
    cases = {
        "digital silence": np.zeros_like(clip),
        "near silence (-130 dBFS)": clip * 10 ** (-130 / 20),
        "DC only": np.full_like(clip, 0.3),
    }
    for label, generated in cases.items():
        result = spatial_cue_errors(clip, generated, SR)
        for name in FIELDS:
            assert math.isnan(result[name]), (label, name)
            assert "generated clip is silent" in result["unmeasurable"][name], label
        assert result["front_back"] == "ambiguous"

    # Valid, audible audio is scored: quiet, with a DC offset, or clipped.
    quiet = spatial_cue_errors(clip, clip * 10 ** (-30 / 20), SR)  # the cues do not depend on level
    assert quiet["itd_error_us"] == pytest.approx(0, abs=1e-6) and quiet["doa_error_deg"] == pytest.approx(0, abs=0.1)
    assert quiet["ild_band_error_db"] == pytest.approx(0, abs=1e-9)
    offset = spatial_cue_errors(clip, clip + 0.3, SR)
    assert offset["itd_error_us"] == pytest.approx(0, abs=0.01) and offset["doa_error_deg"] == pytest.approx(0, abs=0.1)
    assert offset["iacc_error"] == pytest.approx(0, abs=1e-9)  # the clip mean is removed before IACC
    clipped = spatial_cue_errors(clip, np.clip(8 * clip, -1, 1), SR)
    assert clipped["unmeasurable"].keys() <= {"front_back_confusion"}
    assert clipped["doa_error_deg"] <= 5.0

    # One silent ear: no ITD, IACC or direction (named), an ILD that is large but finite.
    one_ear = clip.copy()
    one_ear[:, 1] = 0.0
    result = spatial_cue_errors(clip, one_ear, SR)
    for name in ("itd_error_us", "iacc_error", "doa_error_deg"):
        assert math.isnan(result[name]) and "right ear is silent" in result["unmeasurable"][name]
    assert 20.0 < result["ild_band_error_db"] <= 60.0


def test_degenerate_ground_truth_is_unmeasurable_too(clip):
    result = spatial_cue_errors(np.zeros_like(clip), clip, SR)
    assert all(math.isnan(result[name]) for name in FIELDS)
    assert "ground-truth clip is silent" in result["unmeasurable"]["doa_error_deg"]


def test_results_do_not_depend_on_blas_threads_or_blocks(clip):
    gen = spatialize(speech_like(2.0, SR, seed=3), SR, 55.0)
    with threadpool_limits(limits=1):
        single = spatial_cue_errors(clip, gen, SR, 24000)
    with threadpool_limits(limits=2):
        double = spatial_cue_errors(clip, gen, SR, 24000)
    _assert_same_result(single, double)  # the cue path uses no BLAS: the same computation, bit for bit
    # Other block sizes stream the resampler differently (another summation order): float64 rounding only.
    _assert_same_result(single, spatial_cue_errors(clip, gen, SR, 24000, block_seconds=0.3), rel=1e-9)


def test_streamed_resampling_equals_one_shot():
    from scipy import signal

    x = spatialize(speech_like(1.5, 44100, seed=5), 44100, -30.0)
    streamed = analyze_binaural(x, 44100, analysis_rate=32000, block_seconds=0.25)
    whole = analyze_binaural(signal.resample_poly(x, 320, 441, axis=0), 32000)
    # Two code paths (streamed polyphase blocks vs one call): equal to float64 rounding, not bit for bit.
    for field in ("power", "itd_s", "coherence", "band_power", "ild_power", "ild_band_power"):
        a, b = getattr(streamed, field), getattr(whole, field)
        scale = np.nanmax(np.abs(b)) if np.isfinite(b).any() else 1.0
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * scale, equal_nan=True, err_msg=field)
    np.testing.assert_allclose(streamed.xcorr, whole.xcorr, rtol=1e-12, atol=1e-9)


def _peak_bytes(seconds: float, unit: np.ndarray) -> int:
    repeats = int(round(seconds / (unit.shape[0] / SR)))
    gt = np.tile(unit, (repeats, 1))
    gen = np.roll(gt, 37, axis=0)
    tracemalloc.start()
    tracemalloc.reset_peak()
    spatial_cue_errors(gt, gen, SR, analysis_rate=SR, block_seconds=1.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_is_bounded_by_the_block_not_the_clip(clip):
    short, long = _peak_bytes(8.0, clip), _peak_bytes(64.0, clip)
    # measured 11.0 and 14.7 MB: 56 s more audio only adds per-frame cues (~30 KB per second of
    # pair); holding the audio instead would add ≥ 14 MB per float64 copy.
    assert long - short < 6e6, (short, long)
    assert long < 60e6, long


# ----------------------------------------------------------------------------- properties

_SOURCES = {seed: speech_like(1.5, SR, f0=110.0 + 30.0 * seed, seed=seed) for seed in (0, 1)}
_HEADS = st.sampled_from(["kemar", "sphere", "brown_duda"])
_AZIMUTHS = st.integers(min_value=-170, max_value=180).map(float)


def _render(head: str, azimuth: float, seed: int) -> np.ndarray:
    return render(_SOURCES[seed], SR, azimuth, head=head)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(head=_HEADS, azimuth=_AZIMUTHS, gain_db=st.floats(min_value=-30.0, max_value=0.0))
def test_property_same_audio_at_any_level_has_zero_error(head, azimuth, gain_db):
    x = _render(head, azimuth, 0)
    result = spatial_cue_errors(x, x * 10 ** (gain_db / 20), SR)
    assert result["itd_error_us"] == pytest.approx(0, abs=1e-6)
    assert result["ild_band_error_db"] == pytest.approx(0, abs=1e-6)
    assert result["iacc_error"] == pytest.approx(0, abs=1e-9)
    assert result["doa_error_deg"] == pytest.approx(0, abs=0.1)
    assert result["front_back"] in ("same", "ambiguous") and result["front_back_confusion"] != 1


@settings(max_examples=6, deadline=None, derandomize=True)
@given(head=_HEADS, a=_AZIMUTHS, b=_AZIMUTHS)
def test_property_errors_are_symmetric_and_mirror_left_right(head, a, b):
    gt, gen = _render(head, a, 0), _render(head, b, 1)
    forward, backward = spatial_cue_errors(gt, gen, SR), spatial_cue_errors(gen, gt, SR)
    for name in FIELDS:
        assert forward[name] == pytest.approx(backward[name], nan_ok=True, abs=1e-9), name
    assert forward["front_back"] == backward["front_back"]
    mirrored = estimate_direction(gt[:, ::-1].copy(), SR)  # swapping the ears mirrors left and right
    assert mirrored.lateral_deg == pytest.approx(-forward["doa_gt_lateral_deg"], abs=1.0)


def test_time_major_frame_sums_are_the_frames_first_sums():
    """The analysis sums over frames laid out (length, frames, 2): the same additions in the same order as
    ``mean(axis=1)`` / :func:`band_sums` of the (frames, length, 2) layout, so the values are identical."""
    from spatialeval.features.frame_cues import (
        _band_sums_time_major,
        _frame_means,
        band_bins,
        band_sums,
        third_octave_bands,
    )

    rng = np.random.default_rng(7)
    frames = rng.standard_normal((37, 1280, 2)) * rng.uniform(0.01, 10.0, (37, 1, 2))
    time_major = np.ascontiguousarray(frames.transpose(1, 0, 2))
    assert np.array_equal(_frame_means(time_major), frames.mean(axis=1))
    assert np.array_equal(_frame_means(time_major**2), np.mean(frames**2, axis=1))
    spectra = np.fft.rfft(frames, 4096, axis=1)
    power = spectra.real**2 + spectra.imag**2
    ranges, _ = band_bins(third_octave_bands(), 32000, 4096, None)
    assert np.array_equal(_band_sums_time_major(np.ascontiguousarray(power.transpose(1, 0, 2)), ranges),
                          band_sums(power, ranges))  # fmt: skip


def test_extra_ild_bands_are_those_of_a_second_analysis():
    """The cue stage takes the pair comparison's band levels from its own analysis (``extra_ild_bands``):
    the same frames, FFTs and band sums as analysing the clip again with those bands."""
    from spatialeval.metrics.front_back_pair import PAIR_BANDS, pair_spectrum, pair_spectrum_from_analysis

    x = spatialize(speech_like(1.7, 44100, seed=8), 44100, 150.0)
    options = dict(analysis_rate=32000, fmax=0.45 * 32000, block_seconds=0.6)
    both = analyze_binaural(x, 44100, extra_ild_bands=PAIR_BANDS, **options)
    again = analyze_binaural(x, 44100, bands=PAIR_BANDS, itd=False, xcorr=False, **options)
    assert np.array_equal(both.extra_ild_band_power, again.ild_band_power)
    assert np.array_equal(both.extra_ild_band_usable, again.ild_band_usable)
    shared = pair_spectrum_from_analysis(both, 0.9)
    alone = pair_spectrum(x, 44100, coherence=0.9, **options)
    assert np.array_equal(shared.level_db, alone.level_db, equal_nan=True)
    with pytest.raises(ValueError, match="PAIR_BANDS"):
        pair_spectrum_from_analysis(analyze_binaural(x, 44100, **options), 0.9)


@pytest.mark.parametrize("max_lag", [0, 1, 16])
def test_lag_sums_are_the_direct_lagged_sums(monkeypatch, max_lag):
    """Σ_t l(t)·r(t+τ) over the clip, however the stream is cut (several fixed segments here), against the
    plain definition; float64 rounding of sums over ~10⁴ products only."""
    from spatialeval.features.streaming import LagSums

    monkeypatch.setattr(LagSums, "SEGMENT", 997)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5003, 2)) + 0.3
    sums = LagSums(max_lag)
    for start in range(0, x.shape[0], 700):
        sums.push(x[start : start + 700])
    sums.finish()
    left, right = x[:, 0], x[:, 1]
    n = x.shape[0]
    expected = [
        np.sum(left[max(0, -lag) : n - max(0, lag)] * right[max(0, lag) : n + min(0, lag)])
        for lag in range(-max_lag, max_lag + 1)
    ]
    scale = math.sqrt(np.sum(left**2) * np.sum(right**2))
    # a sum of n float64 products: rounding below n · ε64 of the Cauchy–Schwarz bound
    np.testing.assert_allclose(sums.sums, expected, rtol=0, atol=n * np.finfo(np.float64).eps * scale)
    np.testing.assert_allclose(sums.energy, np.sum(x**2, axis=0), rtol=1e-12)
