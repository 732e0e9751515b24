"""MBSTOI against the Clarity challenge's own implementation, and the intelligibility stage's input handling.

Expected values: tests/data/intelligibility/expected_mbstoi.json, produced by pyclarity 0.9.0's
``clarity.evaluator.mbstoi.mbstoi`` on the fixture pairs (scripts/reference_mbstoi.py; the pairs by
scripts/make_intelligibility_pairs.py). Clarity's MBSTOI is deterministic (its EC jitter is the
analytic expectation, no random draws), so no seed is involved.

Tolerance: both implementations compute in float64 from the same decoded samples and differ only
in the order of summations; the largest deviation measured on these pairs is 8.9e-16. atol = 1e-10
(≈ 5·10⁵ float64 ε) leaves room for other FFT/BLAS builds and still resolves the smallest detail
of the definition we checked (whether the better-ear stage scores the last segment: 2.7e-7 on
noise_0db). Both are far below what MBSTOI results are reported to (2–3 decimals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spatialeval.io.audio import AudioClip
from spatialeval.io.pairing import Pair
from spatialeval.metrics.mbstoi import mbstoi
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import LoadedPair
from spatialeval.pipeline.stages.intelligibility import IntelligibilityStage

DATA = Path(__file__).parent / "data" / "intelligibility"
EXPECTED = json.loads((DATA / "expected_mbstoi.json").read_text())["mbstoi"]
ATOL = 1e-10


def _read(side: str, name: str) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(DATA / side / f"{name}.flac", dtype="float64", always_2d=True)
    return audio, rate


@pytest.mark.parametrize("pair", ["spatial_noise_m5db", "noise_0db"])
def test_mbstoi_equals_clarity(pair):
    (gt, rate), (gen, _) = _read("gt", pair), _read("infer", pair)
    assert mbstoi(gt.T, gen.T, rate) == pytest.approx(EXPECTED[pair], abs=ATOL)


@pytest.mark.slow
def test_stage_equals_clarity_on_every_pair(tmp_path):
    """Every pair through the whole pipeline: 16, 44.1 and 10 kHz, noise, directions, gain, offset,
    reverb, another voice, and a generation 20 ms longer (cut to the gt's length, as the reference)."""
    from spatialeval.pipeline.evaluate import evaluate

    result = evaluate(DATA / "gt", DATA / "infer", {"stages": ["intelligibility"]}, out_dir=tmp_path / "out")
    items = result.items.set_index("id")
    assert sorted(items.index) == sorted(EXPECTED)
    for pair, expected in EXPECTED.items():
        assert float(items.loc[pair, "mbstoi"]) == pytest.approx(expected, abs=ATOL), pair
    # and the reference's own numbers behave as an intelligibility measure should
    assert EXPECTED["other_voice"] < EXPECTED["noise_m10db"] < EXPECTED["noise_0db"] < EXPECTED["noise_10db"] < 1.0
    assert EXPECTED["same"] == 1.0


def _row(gt: np.ndarray, gt_rate: int, gen: np.ndarray, gen_rate: int, **settings) -> dict:
    config = EvalConfig()
    for name, value in settings.items():
        setattr(config.intelligibility, name, value)
    item = LoadedPair(
        pair=Pair(id="x", gt="gt.wav", gen="gen.wav"),
        gt=AudioClip(gt.astype(np.float32), gt_rate),
        gen=AudioClip(gen.astype(np.float32), gen_rate),
    )
    return IntelligibilityStage(config).compute_one(item)


def _unmeasurable(row: dict) -> str:
    assert math.isnan(row["mbstoi"]), row
    return row["unmeasurable"]["mbstoi"]


@pytest.fixture(scope="module")
def speech():
    return _read("gt", "same")


def test_silence_and_misalignment_are_unmeasurable_with_their_reason(speech):
    gt, rate = speech
    assert "gt clip is silent" in _unmeasurable(_row(np.zeros_like(gt), rate, gt, rate))
    assert "generated clip is silent" in _unmeasurable(_row(gt, rate, np.zeros_like(gt), rate))
    # 120 dB down is digital silence for the measure; 12 dB down is scored (quieter_12db: 0.99999)
    assert "generated clip is silent" in _unmeasurable(_row(gt, rate, gt * 1e-6, rate))
    longer = np.concatenate([gt, gt[: int(0.2 * rate)]])
    assert "durations differ by 0.2000 s" in _unmeasurable(_row(gt, rate, longer, rate))


def test_too_little_speech_is_unmeasurable(speech):
    gt, rate = speech
    loud = int(np.argmax(np.abs(gt[:, 0])))
    short = gt[loud - int(0.15 * rate) : loud + int(0.15 * rate)]  # 0.3 s: < 30 frames of 12.8 ms
    assert "MBSTOI needs at least 30" in _unmeasurable(_row(short, rate, short, rate))


def test_gt_and_generation_at_different_rates(speech):
    """Each clip is resampled from its own rate: the same audio at 44.1 kHz scores as the same audio."""
    import soxr

    gt, rate = speech
    gen = soxr.resample(gt, rate, 44100, quality="VHQ")
    row = _row(gt, rate, gen, 44100)
    assert row["mbstoi"] > 0.99 and "unmeasurable" not in row
    assert row["intelligibility_seconds"] == pytest.approx(min(len(gt) / rate, len(gen) / 44100))


def test_clips_longer_than_max_seconds_are_unmeasurable_before_any_work(speech):
    """An hour-long pair would need some 70 GB; past max_seconds it is refused with the reason."""
    gt, rate = speech
    row = _row(gt, rate, gt, rate, max_seconds=1.0)
    assert "2.3 s of audio > intelligibility.max_seconds = 1" in _unmeasurable(row)
    assert math.isnan(row["haspi_be"]) and "max_seconds" in row["unmeasurable"]["haspi_be"]


def test_constant_gt_is_no_speech_reference(speech):
    """A DC gt has no speech: before, HASPI scored a speech generation against it 0.995."""
    gt, rate = speech
    row = _row(np.full_like(gt, 0.1), rate, gt, rate)
    assert "gt clip is silent or constant" in _unmeasurable(row)
    assert "gt clip is silent or constant" in row["unmeasurable"]["haspi_be"]


def test_gt_ear_without_speech_leaves_only_haspi_unmeasurable_and_names_the_ear(speech):
    gt, rate = speech
    one_ear = gt.copy()
    one_ear[:, 1] = 0.25  # right ear: a constant
    row = _row(one_ear, rate, gt, rate)
    assert "the gt's right ear is silent or constant" in row["unmeasurable"]["haspi_be"]
    assert 0 < row["mbstoi"] < 1  # MBSTOI scores both ears jointly; the speech of the left ear is there


def test_non_finite_samples_are_unmeasurable_with_a_reason(speech):
    """The loader refuses such files; arrays handed to the stage directly got a reasonless NaN for MBSTOI."""
    gt, rate = speech
    broken = gt.copy()
    broken[100, 0] = np.inf
    row = _row(gt, rate, broken, rate)
    assert "NaN or infinite" in _unmeasurable(row) and "NaN or infinite" in row["unmeasurable"]["haspi_be"]


def test_inaudible_at_the_haspi_level_names_the_setting(speech):
    gt, rate = speech
    loud = int(np.argmax(np.abs(gt[:, 0])))
    short = gt[loud - int(0.15 * rate) : loud + int(0.15 * rate)]
    row = _row(short, rate, short, rate, haspi_level_db=0.0, haspi_min_seconds=0.0)
    assert "intelligibility.haspi_level_db = 0 dB SPL" in row["unmeasurable"]["haspi_be"]


def test_report_of_this_stage_alone_draws_the_least_intelligible_items(tmp_path):
    """Before, a report of an intelligibility run drew the first items ('no spatial error metric to rank by')."""
    from spatialeval.report.data import ResultsData, choose_items

    rows = [
        {"id": "good", "mbstoi": 0.95, "haspi_be": 1.0},
        {"id": "worst_mbstoi", "mbstoi": 0.2, "haspi_be": 0.9},
        {"id": "worst_haspi", "mbstoi": 0.5, "haspi_be": 0.3},
    ]
    chosen, why = choose_items(ResultsData(path=tmp_path, summary={}, rows=rows), None, 2)
    assert chosen == ["worst_mbstoi", "worst_haspi"] and "mbstoi" in why


def test_haspi_of_a_short_pair_is_unmeasurable():
    """HASPI's network saturates on few envelope frames: two independent noises of 0.5 s scored 0.56
    (0.97 at 0.3 s), as if half intelligible; below haspi_min_seconds the stage does not score it."""
    rng = np.random.default_rng(0)
    gt, gen = rng.standard_normal((2, 8000, 2)) * 0.1
    row = _row(gt, 16000, gen, 16000)
    assert "0.500 s of audio < intelligibility.haspi_min_seconds = 1.25" in row["unmeasurable"]["haspi_be"]
    assert abs(row["mbstoi"]) < 0.2  # MBSTOI, averaged over 15 bands x 10 segments, stays near 0
    assert _row(gt, 16000, gen, 16000, haspi_min_seconds=0.0)["haspi_be"] > 0.4  # what the rule keeps out


def test_the_report_prints_a_stage_protocol_note_only_when_that_stage_ran(tmp_path):
    """An intelligibility-only report printed the interaural stage's 'IPD/ILD MAE ... x100' note."""
    from spatialeval.report.build import _overview
    from spatialeval.report.data import ResultsData

    def notes(stages):
        summary = {"protocol": "isdrama", "stages": stages}
        blocks = _overview(ResultsData(path=tmp_path, summary=summary, rows=[{"id": "a", "mbstoi": 0.5}]))
        return " ".join(getattr(block, "text", "") for block in blocks)

    assert "IPD/ILD MAE" not in notes({"intelligibility": {"status": "ran"}})
    assert "IPD/ILD MAE" in notes({"intelligibility": {"status": "ran"}, "interaural": {"status": "ran"}})
