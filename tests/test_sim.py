"""Speaker similarity with resemblyzer on the committed flite speech (tests/data/speech)."""

from pathlib import Path

import numpy as np
import pytest

from spatialeval.io.audio import load_audio
from spatialeval.io.pairing import Pair
from spatialeval.metrics.sim import downmix_resample
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import LoadedPair, StageUnavailable

SPEECH = Path(__file__).parent / "data" / "speech"
pytest.importorskip("resemblyzer")


def loaded(gt: str, infer: str, prompt: str | None = None) -> LoadedPair:
    pair = Pair(
        id=infer,
        gt=str(SPEECH / f"{gt}.wav"),
        gen=str(SPEECH / f"{infer}.wav"),
        prompt=str(SPEECH / f"{prompt}.wav") if prompt else None,
    )
    return LoadedPair(pair=pair, gt=load_audio(pair.gt), gen=load_audio(pair.gen))


@pytest.fixture(scope="module")
def stage():
    from spatialeval.pipeline.stages.sim import SIMStage

    stage = SIMStage(EvalConfig())
    stage.setup()
    return stage


@pytest.mark.slow
def test_same_clip_is_one_and_other_voice_is_lower(stage):
    same = stage.compute_one(loaded("en_rms_glue", "en_rms_glue"))["sim"]
    same_voice = stage.compute_one(loaded("en_rms_glue", "en_rms_chicken"))["sim"]
    other_voice = stage.compute_one(loaded("en_rms_glue", "en_slt_well"))["sim"]
    binaural = stage.compute_one(loaded("en_rms_glue", "en_rms_glue_binaural"))["sim"]
    # measured (level rule: -30 dBFS RMS before and after the VAD): same 1.0, same voice / other sentence 0.870,
    # male vs female voice 0.668, binaural copy 0.977 (before the rule: 0.871, 0.658, 0.965)
    assert same == pytest.approx(1.0, abs=1e-6)
    assert binaural > 0.9
    assert same_voice > other_voice + 0.1
    assert other_voice < 0.8


def test_deterministic_and_describe(stage):
    a = stage.compute_one(loaded("en_rms_glue", "en_rms_chicken"))
    b = stage.compute_one(loaded("en_rms_glue", "en_rms_chicken"))
    assert a == b and a["sim_reference"] == "gt"
    info = stage.describe()
    assert info["encoder"]["backend"] == "resemblyzer" and len(info["encoder"]["weights_sha256"]) == 64
    assert "mean of channels" in info["downmix"] and "16000" in info["downmix"]
    assert "webrtcvad" in info["encoder"]["preprocessing"]


def test_use_prompt_compares_with_prompt(stage):
    config = EvalConfig()
    config.sim.use_prompt = True
    from spatialeval.pipeline.stages.sim import SIMStage

    prompt_stage = SIMStage(config)
    prompt_stage._encoder = stage._encoder  # share the loaded model
    row = prompt_stage.compute_one(loaded("en_slt_well", "en_rms_glue", prompt="en_rms_glue"))
    assert row["sim_reference"] == "prompt" and row["sim"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="has no prompt"):
        prompt_stage.compute_one(loaded("en_slt_well", "en_rms_glue"))


def test_silence_is_scored_or_unmeasurable_never_dropped(stage, tmp_path):
    # Issue 8.4: a silent generation is the worst case (SIM 0, in the mean); a silent reference is unmeasurable.
    import soundfile as sf

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32000), 16000)
    speech = SPEECH / "en_rms_glue.wav"
    item = LoadedPair(pair=Pair(id="s", gt=str(speech), gen=str(silent)), gt=load_audio(speech), gen=load_audio(silent))
    row = stage.compute_one(item)
    assert row["sim"] == 0.0 and "no speech in the generated clip" in row["sim_note"] and "unmeasurable" not in row
    flipped = LoadedPair(
        pair=Pair(id="s", gt=str(silent), gen=str(speech)), gt=load_audio(silent), gen=load_audio(speech)
    )
    row = stage.compute_one(flipped)
    assert np.isnan(row["sim"]) and "reference (gt) has no speech" in row["unmeasurable"]["sim"]


def test_downmix_resample_is_mean_then_rate():
    x = np.random.default_rng(1).standard_normal((3200, 2))
    assert np.allclose(downmix_resample(x, 16000, 16000), x.mean(axis=1))
    assert downmix_resample(x, 32000, 16000).shape == (1600,)


def test_wavlm_missing_model_message(monkeypatch, tmp_path):
    from spatialeval.models.registry import SPEAKER_BACKENDS

    config = EvalConfig()
    config.sim.backend = "wavlm"
    config.sim.model_path = str(tmp_path / "nowhere")
    with pytest.raises(StageUnavailable) as info:
        SPEAKER_BACKENDS.build(config.sim)
    message = str(info.value)
    assert "huggingface-cli download microsoft/wavlm-base-plus-sv" in message and "--sim-model-path" in message
    config.sim.backend = "ecapa"
    with pytest.raises(StageUnavailable, match="unknown SIM backend 'ecapa'"):
        SPEAKER_BACKENDS.build(config.sim)
