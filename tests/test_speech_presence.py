"""Issue 16 items 2, 10, 13: one speech-presence decision before any recogniser or speaker encoder.

Noise-only, DC, tone-only and silent clips hold no speech; real speech (committed flite and VoxCeleb
clips), quiet or in noise at 10 dB SNR, does. The CER and SIM stages score a generation without
speech as documented (empty transcript: CER 1; SIM 0) and a reference without speech as unmeasurable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatialeval.features.speech import speech_presence
from spatialeval.io.audio import AudioClip, load_audio
from spatialeval.io.pairing import Pair
from spatialeval.metrics.sim import downmix_resample
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import LoadedPair

DATA = Path(__file__).parent / "data"
BUNDLED = Path(__file__).parents[1] / "src" / "spatialeval" / "data" / "speech"
FIXTURE_PAIRS = [
    p for p in sorted((DATA / "pairs").glob("*/*.wav")) if p.stem != "silent_infer" or p.parent.name == "gt"
]
SPEECH_FILES = (
    sorted((DATA / "speech").glob("*.wav"))
    + sorted((DATA / "voxceleb").glob("*.flac"))
    + sorted(BUNDLED.glob("*.wav"))
    + FIXTURE_PAIRS
)
RATE = 16000


def mono16k(path: Path) -> np.ndarray:
    clip = load_audio(path)
    return downmix_resample(clip.samples, clip.sample_rate, RATE)


def pink(n: int, seed: int = 0) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    out = np.fft.irfft(spectrum, n)
    return 0.3 * out / np.max(np.abs(out))


def no_speech_clips(n: int = 2 * RATE) -> dict[str, np.ndarray]:
    t = np.arange(n) / RATE
    rng = np.random.default_rng(1)
    return {
        "silence": np.zeros(n),
        "dc": np.full(n, 0.25),
        "pink noise": pink(n),
        "white noise": 0.1 * rng.standard_normal(n),
        "tone": 0.5 * np.sin(2 * np.pi * 440 * t),
        "tone switched on": 0.5 * np.sin(2 * np.pi * 440 * t) * (t > 0.7),
        "brown noise": np.cumsum(rng.standard_normal(n)) * 1e-3,
        "click": np.eye(1, n, n // 2)[0],
    }


@pytest.mark.parametrize("name", list(no_speech_clips()))
def test_signals_without_speech_hold_no_speech(name):
    decision = speech_presence(no_speech_clips()[name], RATE)
    assert not decision.has_speech and decision.reason


@pytest.mark.parametrize("path", SPEECH_FILES, ids=lambda p: f"{p.parent.name}/{p.stem[:24]}")
def test_real_speech_is_speech_quiet_or_in_noise_at_10_db(path):
    x = mono16k(path)
    noise = pink(x.size, seed=2)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) * 10 ** (-10 / 20)  # 10 dB SNR
    for version in (x, 10 ** (-50 / 20) * x, x + noise, x + 0.5 * np.full(x.size, 1.0)):
        assert speech_presence(version, RATE).has_speech


def _item(gt: np.ndarray, infer: np.ndarray, gt_path: str = "gt.wav") -> LoadedPair:
    pair = Pair(id="x", gt=gt_path, gen="infer.wav")
    return LoadedPair(
        pair=pair,
        gt=AudioClip(gt[:, None].astype(np.float32), RATE, gt_path),
        gen=AudioClip(infer[:, None].astype(np.float32), RATE, "infer.wav"),
    )


@pytest.fixture
def echo_cer(tmp_path):
    """The CER stage with the test-only echo recogniser: it 'hears' its sentence in any audio."""
    from plugins.echo_asr import EchoASR

    from spatialeval.models.registry import ASR_BACKENDS
    from spatialeval.pipeline.stages.cer import CERStage

    ASR_BACKENDS.register("echo", EchoASR)
    try:
        config = EvalConfig()
        config.cer.backend = "echo"
        stage = CERStage(config)
        stage.setup()
        yield stage
    finally:
        ASR_BACKENDS.unregister("echo")


@pytest.mark.parametrize("name", ["silence", "pink noise", "tone"])
def test_a_generation_without_speech_scores_cer_1_not_what_the_recogniser_hears(echo_cer, tmp_path, name):
    """Issue 16 item 2: an all-zero generation was transcribed ("dog" by pocketsphinx, CER 0.943)."""
    gt_path = tmp_path / "gt.wav"
    gt_path.with_suffix(".txt").write_text("hello world", encoding="utf-8")
    speech = mono16k(SPEECH_FILES[0])
    row = echo_cer.compute_batch([_item(speech, no_speech_clips()[name], str(gt_path))])[0]
    assert row["cer"] == 1.0 and row["wer"] == 1.0 and row["asr_text"] == ""
    assert "no speech in the generated clip" in row["cer_note"]


def test_a_gt_without_speech_cannot_be_the_reference(echo_cer):
    row = echo_cer.compute_one(_item(no_speech_clips()["pink noise"], mono16k(SPEECH_FILES[0])))
    assert np.isnan(row["cer"]) and "gt audio holds no speech" in row["unmeasurable"]["cer"]


def test_mixed_cer_references_are_counted_and_said_on_the_console(echo_cer, tmp_path):
    """Issue 16 item 13: items with a .txt and items scored against the gt's ASR were averaged silently."""
    from spatialeval.pipeline.display import format_report

    speech = mono16k(SPEECH_FILES[0])
    with_text = tmp_path / "a.wav"
    with_text.with_suffix(".txt").write_text("hello world", encoding="utf-8")
    rows = [
        echo_cer.compute_one(_item(speech, speech, str(with_text))),
        echo_cer.compute_one(_item(speech, speech, str(tmp_path / "b.wav"))),
    ]
    extra = echo_cer.summarize(rows)
    assert extra["cer_reference_sources"] == {"text": 1, "gt_asr": 1}
    report = format_report({"protocol": "isdrama", "n_items": 2, "n_failed": 0, "extra": extra})
    assert "CER references are mixed: 1 items scored against a reference text, 1 against the ASR transcript" in report


def test_language_mismatch_is_one_console_line_not_a_warning_per_item(echo_cer, tmp_path, recwarn):
    from spatialeval.pipeline.display import format_report

    gt_path = tmp_path / "zh.wav"
    gt_path.with_suffix(".txt").write_text("今天天气很好", encoding="utf-8")
    speech = mono16k(SPEECH_FILES[0])
    rows = [echo_cer.compute_one(_item(speech, speech, str(gt_path))) for _ in range(2)]
    assert not [w for w in recwarn if "LanguageMismatch" in w.category.__name__]
    extra = echo_cer.summarize(rows)
    report = format_report({"protocol": "isdrama", "n_items": 2, "n_failed": 0, "extra": extra})
    assert "CER language: 2 items scored in cer.language" in report


@pytest.fixture(scope="module")
def resemblyzer_sim():
    pytest.importorskip("resemblyzer")
    from spatialeval.pipeline.stages.sim import SIMStage

    stage = SIMStage(EvalConfig())
    stage.setup()
    return stage


@pytest.mark.parametrize("name", ["pink noise", "white noise", "tone", "dc"])
def test_sim_of_a_generation_without_speech_is_0(resemblyzer_sim, name):
    """Issue 16 item 10: a pink-noise generation scored SIM 0.534 (resemblyzer's VAD let the noise through)."""
    speech = mono16k(SPEECH_FILES[0])
    row = resemblyzer_sim.compute_batch([_item(speech, no_speech_clips()[name])])[0]
    assert row["sim"] == 0.0 and "no speech in the generated clip" in row["sim_note"]
    flipped = resemblyzer_sim.compute_one(_item(no_speech_clips()[name], speech))
    assert np.isnan(flipped["sim"]) and "has no speech" in flipped["unmeasurable"]["sim"]
