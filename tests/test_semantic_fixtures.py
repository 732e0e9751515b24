"""CER / SIM / FFE stages on the shared binaural fixture pairs (tests/data/pairs, 32 kHz)."""

from pathlib import Path

import pytest

from spatialeval.io.audio import load_audio
from spatialeval.io.pairing import Pair
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import LoadedPair

PAIRS = Path(__file__).parent / "data" / "pairs"
pytest.importorskip("pyworld")

_loaded: dict[str, LoadedPair] = {}


def item(name: str) -> LoadedPair:
    """One LoadedPair per fixture, shared by all stages as in the pipeline (the 16 kHz downmix is cached on it)."""
    if name not in _loaded:
        pair = Pair(id=name, gt=str(PAIRS / "gt" / f"{name}.wav"), gen=str(PAIRS / "infer" / f"{name}.wav"))
        _loaded[name] = LoadedPair(pair=pair, gt=load_audio(pair.gt), gen=load_audio(pair.gen))
    return _loaded[name]


def stage_for(module: str, cls: str):
    import importlib

    stage = getattr(importlib.import_module(f"spatialeval.pipeline.stages.{module}"), cls)(EvalConfig())
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def ffe_stage():
    return stage_for("ffe", "FFEStage")


@pytest.fixture(scope="module")
def sim_stage():
    pytest.importorskip("resemblyzer")
    return stage_for("sim", "SIMStage")


def test_ffe_fixtures(ffe_stage):
    same = ffe_stage.compute_one(item("same"))
    up30 = ffe_stage.compute_one(item("pitch_up_30pct"))
    up5 = ffe_stage.compute_one(item("pitch_up_5pct"))
    # measured: same 0.0, pitch_up_30pct 0.698 (GPE 0.598), pitch_up_5pct 0.078 (GPE 0.006)
    assert same["ffe"] == 0.0 and same["gpe"] == 0.0 and same["vde"] == 0.0
    assert up30["ffe"] > 0.5 and up30["gpe_voiced"] > 0.9
    assert up5["ffe"] < 0.1
    assert same["f0_frames"] == up30["f0_frames"] == 321  # 3.2049 s at 10 ms
    assert "mono16k:gt" in item("same").cache  # shared 16 kHz downmix key
    summary = ffe_stage.summarize([same, up30, up5])
    assert summary["ffe_corpus"] == pytest.approx(
        sum(r["gpe_frames"] + r["vde_frames"] for r in (same, up30, up5)) / (3 * 321)
    )


def test_ffe_silent_and_truncated_infer(ffe_stage):
    silent = ffe_stage.compute_one(item("silent_infer"))
    assert silent["gpe"] == 0.0 and silent["vde"] == silent["ffe"] > 0.5  # every voiced gt frame missed
    shorter = ffe_stage.compute_one(item("shorter_infer"))
    assert shorter["vde_frames"] > 0 and shorter["f0_frames"] == 349


@pytest.mark.slow
def test_sim_fixtures(sim_stage):
    same = sim_stage.compute_one(item("same"))["sim"]
    quieter = sim_stage.compute_one(item("quieter"))["sim"]
    other = sim_stage.compute_one(item("other_voice"))["sim"]
    # measured: same 1.000, quieter 0.999999, other_voice 0.646
    assert same == pytest.approx(1.0, abs=1e-6)
    assert quieter > 0.99
    assert other < min(same, quieter) - 0.2


@pytest.mark.slow
def test_cer_same_with_gt_asr_reference():
    pytest.importorskip("pocketsphinx")
    stage = stage_for("cer", "CERStage")
    row = stage.compute_one(item("same"))
    assert row["ref_source"] == "asr_gt"
    assert row["cer"] == 0.0 and row["wer"] == 0.0 and row["cer_edits"] == 0
    assert row["asr_text"] == row["ref_text"] and row["cer_ref_chars"] > 0
