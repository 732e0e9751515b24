"""Issue 19.1: the pair-relative front/back decision (spatialeval.metrics.front_back_pair) and what it feeds.

Calibrated on KEMAR and the rigid sphere only; these tests use the held-out heads (Brown & Duda's
pinna echoes, the sphere with a notch pinna). gt and generated are "the same text by the same
speaker": the same syllables at F0 ×1.05 through a ±1.5 dB random EQ (scripts/benchmark_cues.py).
Before this decision every pair below was 'ambiguous' on these heads (front_back_absolute).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatialeval.metrics.cues import spatial_cue_errors
from spatialeval.metrics.doa import DirectionEstimate
from spatialeval.metrics.front_back_pair import pair_front_back, pair_spectrum
from spatialeval.metrics.trajectory import reference_track, track_from_estimator, trajectory_error
from spatialeval.synth import render, speech_like

SR = 32000
HELD_OUT = ("brown_duda_pinna", "sphere_pinna_notch")
_CACHE: dict = {}


def _equalised(mono: np.ndarray, seed: int, depth_db: float = 1.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    octave = np.log2(np.maximum(np.fft.rfftfreq(mono.size, 1.0 / SR), 50.0) / 1000.0)
    gain = sum(rng.uniform(-1, 1) * np.cos(k * octave * math.pi / 3 + rng.uniform(0, 2 * math.pi)) for k in (1, 2, 3))
    return np.fft.irfft(np.fft.rfft(mono) * 10.0 ** (depth_db / math.sqrt(3.0) * gain / 20.0), mono.size)


def _source(kind: str) -> np.ndarray:
    if kind not in _CACHE:
        _CACHE[kind] = {
            "gt": lambda: speech_like(2.0, SR, f0=120.0, seed=0),
            "gen": lambda: _equalised(speech_like(2.0, SR, f0=126.0, seed=0), 100),
            "other": lambda: speech_like(2.0, SR, f0=220.0, seed=5),
        }[kind]()
    return _CACHE[kind]


def _spectrum(head: str, azimuth: float, kind: str):
    return pair_spectrum(render(_source(kind), SR, azimuth, head=head), SR, fmax=0.45 * SR)


@pytest.mark.parametrize("head", HELD_OUT)
def test_held_out_heads_same_direction_never_flagged_and_mirrors_detected(head):
    for azimuth in (0, 30, -60):
        lateral = math.degrees(math.asin(math.sin(math.radians(azimuth))))
        gt = _spectrum(head, azimuth, "gt")
        same = pair_front_back(gt, _spectrum(head, azimuth, "gen"), lateral, lateral)
        mirrored = pair_front_back(gt, _spectrum(head, 180 - azimuth, "gen"), lateral, lateral)
        assert same.relation == "same" and same.confidence >= 0.97, (azimuth, same)
        assert mirrored.relation == "mirrored" and mirrored.confidence >= 0.97, (azimuth, mirrored)


def test_different_speaker_is_unmeasurable_with_a_reason():
    gt, other = _spectrum("brown_duda_pinna", 30, "gt"), _spectrum("brown_duda_pinna", 150, "other")
    relation = pair_front_back(gt, other, 30.0, 30.0)
    assert relation.relation == "unmeasurable" and "0.3–3 kHz" in relation.reason
    assert relation.source_difference_db > 2.5


def test_mirrored_pair_is_a_confusion_with_the_mirror_doa_error():
    # Before: front_back 'ambiguous' (NaN flag) and a lateral-only DoA error of a few degrees.
    gt = render(_source("gt"), SR, 30, head="brown_duda_pinna")
    result = spatial_cue_errors(gt, render(_source("gen"), SR, 150, head="brown_duda_pinna"), SR)
    assert result["front_back_absolute"] == "ambiguous"
    assert result["front_back_confusion"] == 1 and result["front_back_method"] == "pair"
    lateral_gt, lateral_gen = result["doa_gt_lateral_deg"], result["doa_gen_lateral_deg"]
    assert result["doa_error_scope"] == "direction"
    assert result["doa_error_deg"] == pytest.approx(180.0 - lateral_gt - lateral_gen, abs=1e-6)
    assert result["doa_error_deg"] == pytest.approx(180.0 - 2 * 30.0, abs=10.0)  # measured 113°
    same = spatial_cue_errors(gt, render(_source("gen"), SR, 30, head="brown_duda_pinna"), SR)
    assert same["front_back_confusion"] == 0 and same["doa_error_deg"] <= 3.0
    other = spatial_cue_errors(gt, render(_source("other"), SR, 150, head="brown_duda_pinna"), SR)
    assert math.isnan(other["front_back_confusion"]) and other["front_back_pair"] == "unmeasurable"
    assert "0.3–3 kHz" in other["unmeasurable"]["front_back_confusion"]


def test_reverberation_on_one_clip_only_is_unmeasurable_not_a_mirror():
    # Only the generated clip reverberant: its long-term spectrum changes as a mirror's would (before the
    # coherence check the rigid sphere's same-direction pairs were flagged as confusions).
    gt = render(_source("gt"), SR, 30, head="sphere")
    wet = render(_source("gen"), SR, 30, head="sphere", rt60_s=0.5, drr_db=0.0)
    result = spatial_cue_errors(gt, wet, SR)
    assert result["front_back_confusion"] != 1 and result["front_back_pair"] == "unmeasurable"
    assert "coherence" in result["front_back_reason"]


def test_trajectory_segments_use_the_pair_decision():
    def cone(lateral):
        return lambda segment, sr: DirectionEstimate(float("nan"), None, lateral, "ambiguous")

    x = np.tile([[0.5, 0.5], [-0.5, -0.5]], (150, 1))  # sound in every segment (silent ones are left out)
    gt, gen = (track_from_estimator(x, 100, cone(30.0)), track_from_estimator(x, 100, cone(34.0)))
    lateral_only = trajectory_error(gt, gen)
    assert lateral_only["trajectory_error_deg"] == pytest.approx(4.0)
    decided = trajectory_error(gt, gen, front_back=["mirrored", "same", None])
    # 180 − 30 − 34 = 116 (mirrored), 4 (same), 4 (lateral only): mean 41.33
    assert decided["trajectory_worst_error_deg"] == pytest.approx(116.0)
    assert decided["trajectory_error_deg"] == pytest.approx((116.0 + 4.0 + 4.0) / 3)
    assert decided["trajectory_lateral_segments"] == 1
    known = reference_track([30.0, 30.0])  # azimuths known: the pair relation does not override them
    assert trajectory_error(known, known, front_back=["mirrored", None])["trajectory_error_deg"] == 0.0


def test_a_quieter_copy_is_the_same_even_where_a_band_holds_only_quantisation_noise():
    # Speech band-limited to 8 kHz, stored as 16-bit: above 8 kHz only quantisation noise, which does not
    # scale with the gain. A 6-dB quieter copy was read as a mirror (d = 3.2 dB) before such bands were left out.
    from scipy import signal

    binaural = render(_source("gt"), SR, 30, head="brown_duda_pinna")
    binaural = signal.sosfiltfilt(signal.butter(12, 7000, fs=SR, output="sos"), binaural, axis=0)
    quantised = [np.round(gain * binaural / np.abs(binaural).max() * 32767) / 32768 for gain in (0.2, 0.1)]
    spectra = [pair_spectrum(x, SR, fmax=0.45 * SR) for x in quantised]
    assert pair_front_back(*spectra, 30.0, 30.0).relation in ("same", "unmeasurable")


def test_trajectory_stage_decides_mirrored_segments(tmp_path):
    import soundfile as sf

    from spatialeval.io.audio import load_audio
    from spatialeval.io.pairing import Pair
    from spatialeval.pipeline.config import EvalConfig
    from spatialeval.pipeline.stages.base import LoadedPair
    from spatialeval.pipeline.stages.trajectory import TrajectoryStage

    for name, source, azimuth in (("gt", "gt", 30), ("gen", "gen", 150)):
        sf.write(
            tmp_path / f"{name}.wav",
            0.5 * render(_source(source), SR, azimuth, head="brown_duda_pinna"),
            SR,
            subtype="FLOAT",
        )
    config = EvalConfig()
    config.trajectory.bat = False
    stage = TrajectoryStage(config)
    stage.setup()
    item = LoadedPair(
        pair=Pair(id="x", gt=str(tmp_path / "gt.wav"), gen=str(tmp_path / "gen.wav")),
        gt=load_audio(tmp_path / "gt.wav"),
        gen=load_audio(tmp_path / "gen.wav"),
    )
    result = stage.compute_one(item)
    # Before: both 1-s segments 'ambiguous', lateral-only errors of a few degrees.
    assert result["cues_track_front_back"] == ["mirrored", "mirrored"]
    assert result["cues_trajectory_error_deg"] == pytest.approx(120.0, abs=15.0)
    assert result["cues_trajectory_lateral_segments"] == 0
