"""The mono-to-binaural speech table against the released code's own numbers, and its degenerate inputs.

Expected values: tests/data/binaural_speech/expected_released.json, produced by the released
BinauralSpeechSynthesis losses, auraloss and speechmetrics (scripts/reference_binaural_speech.md).
Tolerance: the released code runs in float32 (torchaudio loads float32), spatialeval in float64.
Its means run over 10⁵–10⁶ float32 terms and its log-magnitudes of near-zero bins are clamped at
1e-8 in float32; the measured largest deviation on these pairs is 3.6e-6 relative (MRSTFT), so
rtol = 1e-5 (≈ 80 float32 ε) with atol = 1e-9 for the zero values. PESQ takes the same float64
path (resampy, then the same C code) in both, so it is held to rtol = 1e-9.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spatialeval.metrics import binaural_speech as bs

pytest.importorskip("pesq")
pytest.importorskip("resampy")

DATA = Path(__file__).parent / "data" / "binaural_speech"
EXPECTED = json.loads((DATA / "expected_released.json").read_text())
FIELDS = {"wave_l2": "l2", "amplitude_l2": "amplitude", "phase_l2": "phase", "mrstft": "mrstft", "pesq": "pesq"}
RTOL = {"wave_l2": 1e-5, "amplitude_l2": 1e-5, "phase_l2": 1e-5, "mrstft": 1e-5, "pesq": 1e-9}


def _pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    gt = sf.read(DATA / "gt" / f"{name}.flac", always_2d=True)[0].T
    gen = sf.read(DATA / "infer" / f"{name}.flac", always_2d=True)[0].T
    n = min(gt.shape[1], gen.shape[1])
    return gen[:, :n], gt[:, :n]


def _close(name: str, got: float, expected: float) -> bool:
    return math.isclose(got, expected, rel_tol=RTOL[name], abs_tol=1e-9)


@pytest.mark.parametrize(
    "pair",
    [
        "noise_10db",
        pytest.param("az_shift_large", marks=pytest.mark.slow),
        pytest.param("quieter_1s", marks=pytest.mark.slow),
    ],
)
def test_metric_functions_equal_the_released_code(pair):
    gen, gt = _pair(pair)
    amplitude, phase = bs.spectral_errors(gen, gt)
    got = {
        "wave_l2": bs.wave_l2(gen, gt),
        "amplitude_l2": amplitude,
        "phase_l2": phase,
        "mrstft": bs.mrstft(gen, gt),
        "pesq": bs.pesq_left_first_window(gen, gt, 48000),
    }
    expected = EXPECTED["items"][pair]
    for name, value in got.items():
        assert _close(name, value, expected[FIELDS[name]]), (pair, name, value, expected[FIELDS[name]])


@pytest.mark.slow
def test_stage_reproduces_every_pair_and_the_released_sample_weighted_means(tmp_path):
    from spatialeval.pipeline.evaluate import evaluate

    config = {"stages": ["binaural_speech"], "binaural_speech": {"max_length_difference_s": 0.03}}
    result = evaluate(DATA / "gt", DATA / "infer", config, out_dir=tmp_path / "out")
    items = result.items.set_index("id")
    assert len(items) == len(EXPECTED["items"])
    for pair, expected in EXPECTED["items"].items():
        row = items.loc[pair]
        assert row["samples_compared"] == expected["samples"]
        for name, key in FIELDS.items():
            assert _close(name, float(row[name]), expected[key]), (pair, name, row[name], expected[key])
    weighted = EXPECTED["sample_weighted_means"]
    extra = result.summary["extra"]
    for name, key in FIELDS.items():
        assert _close(name, extra[f"{name}_sample_weighted"], weighted[key]), name
    # the 1 s pair makes the plain per-item mean differ from the released dataset mean
    assert not _close("wave_l2", result.summary["wave_l2"], weighted["l2"])


def test_sample_weighted_mean_skips_unmeasured_items():
    assert bs.sample_weighted_mean([2.0, float("nan"), None, 5.0], [1, 10, 10, 2]) == 4.0
    assert math.isnan(bs.sample_weighted_mean([float("nan")], [3]))


def _write(path: Path, audio: np.ndarray, rate: int = 48000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.T, rate, subtype="FLOAT")


def test_degenerate_inputs_of_the_metric_functions():
    rng = np.random.default_rng(3)
    clip = rng.standard_normal((2, 14400)) * 0.1
    silent = np.zeros_like(clip)
    amplitude, phase = bs.spectral_errors(clip, silent)  # silent gt: empty phase mask
    assert amplitude > 0 and math.isnan(phase)
    assert math.isnan(bs.spectral_errors(silent, clip)[1])  # silent generated clip: likewise
    assert bs.mrstft(clip, silent) > 0 and math.isfinite(bs.mrstft(clip, silent))
    with pytest.raises(ValueError, match="1/4 s"):
        bs.pesq_left_first_window(clip[:, :4000], clip[:, :4000], 48000)
    with pytest.raises(ValueError, match="silent"):
        bs.pesq_left_first_window(silent, clip, 48000)
    with pytest.raises(ValueError, match="at least 1025"):
        bs.mrstft(clip[:, :1024], clip[:, :1024])


@pytest.mark.slow
def test_degenerate_pairs_are_unmeasurable_with_reasons_or_scored_as_documented(tmp_path):
    from spatialeval.pipeline.evaluate import evaluate

    rng = np.random.default_rng(7)
    speechy = rng.standard_normal((2, 24000)) * 0.1 * np.sin(np.linspace(0, 6 * np.pi, 24000)) ** 2
    cases = {
        "silent_gt": (np.zeros_like(speechy), speechy),
        "silent_gen": (speechy, np.zeros_like(speechy)),
        "short_1000": (speechy[:, :1000], speechy[:, :1000] * 0.5),
        "one_sample": (speechy[:, :1], speechy[:, :1] * 0.5),
        "diff_100ms": (speechy, speechy[:, :19200]),
        "diff_10ms": (speechy, speechy[:, :23520] * 0.5),
    }
    for name, (gt, gen) in cases.items():
        _write(tmp_path / "gt" / f"{name}.wav", gt)
        _write(tmp_path / "infer" / f"{name}.wav", gen)
    config = {"stages": ["binaural_speech"], "binaural_speech": {"max_length_difference_s": 0.02}}
    items = evaluate(tmp_path / "gt", tmp_path / "infer", config).items.set_index("id")

    def unmeasurable(name):
        value = items.loc[name, "unmeasurable"]
        return value if isinstance(value, dict) else {}

    # silent gt: errors against silence are defined; phase has no bin to measure, PESQ no utterance
    row = items.loc["silent_gt"]
    assert row["wave_l2"] == pytest.approx(np.mean(speechy**2), rel=1e-6)
    assert row["amplitude_l2"] > 0 and math.isfinite(row["mrstft"])
    assert math.isnan(row["phase_l2"]) and "silent" in unmeasurable("silent_gt")["phase_l2"]
    assert math.isnan(row["pesq"]) and "NoUtterances" in unmeasurable("silent_gt")["pesq"]
    assert math.isnan(items.loc["silent_gen", "phase_l2"]) and "silent" in unmeasurable("silent_gen")["pesq"]
    # too short for the released STFT (and PESQ): only wave_l2 is a number
    row = items.loc["short_1000"]
    assert row["wave_l2"] == pytest.approx(np.mean((0.5 * cases["short_1000"][0]) ** 2), rel=1e-6)
    for metric in ("amplitude_l2", "phase_l2", "mrstft", "pesq"):
        assert math.isnan(row[metric]) and metric in unmeasurable("short_1000")
    # a 1-sample clip is refused by the loader: a failed item with its reason, never a number
    assert "clip" in items.loc["one_sample", "error"] and all(math.isnan(items.loc["one_sample", m]) for m in FIELDS)
    assert bs.wave_l2(speechy[:, :1], np.zeros((2, 1))) == pytest.approx(np.mean(speechy[:, :1] ** 2))
    with pytest.raises(ValueError, match="at least 1025"):
        bs.spectral_errors(speechy[:, :1024], speechy[:, :1024])
    # lengths: beyond the tolerance nothing is scored; within it, the common length is
    assert all(math.isnan(items.loc["diff_100ms", m]) for m in FIELDS)
    assert "lengths differ" in unmeasurable("diff_100ms")["wave_l2"]
    row = items.loc["diff_10ms"]
    assert row["samples_compared"] == 23520
    assert row["wave_l2"] == pytest.approx(np.mean((0.5 * speechy[:, :23520]) ** 2), rel=1e-6)
    amplitude, _ = bs.spectral_errors(speechy[:, :23520] * 0.5, speechy[:, :23520])
    assert row["amplitude_l2"] == pytest.approx(amplitude, rel=1e-6)


def test_listed_and_selectable_by_name():
    from spatialeval.pipeline.registry import METRICS

    for name in FIELDS:
        assert METRICS[name].stage == "binaural_speech"
    assert METRICS["wave_l2"].scale_for(None) == 1000.0 and METRICS["pesq"].higher_is_better
