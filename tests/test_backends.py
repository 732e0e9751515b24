"""The one backend contract (load / describe / one and batch) that ASR, speaker and spatial encoders keep,
and the stages' use of ``supports_batch`` instead of inspecting which methods a backend overrides."""

from __future__ import annotations

import numpy as np
import pytest
from plugins.echo_asr import EchoASR
from plugins.tiny_encoder import TinySpatialEncoder

from spatialeval.errors import StageUnavailable
from spatialeval.models.asr import ASRBackend
from spatialeval.models.backend import Backend
from spatialeval.models.registry import ASR_BACKENDS, SPATIAL_ENCODERS, SPEAKER_BACKENDS
from spatialeval.models.spatial_encoder import SpatialEncoder
from spatialeval.models.speaker import SpeakerEncoder

FAMILIES = [(ASR_BACKENDS, ASRBackend), (SPEAKER_BACKENDS, SpeakerEncoder), (SPATIAL_ENCODERS, SpatialEncoder)]


@pytest.mark.parametrize("registry, family", FAMILIES, ids=lambda x: getattr(x, "kind", ""))
def test_every_built_in_backend_keeps_the_one_contract(registry, family):
    for name in registry.names():
        cls = registry.get(name)
        assert issubclass(cls, family) and issubclass(cls, Backend), name
        assert cls.name == name and cls.label == family.label and cls.devices, name
        assert cls.from_config is not Backend.from_config, f"{name} does not say how it loads"
        # A class that declares batching must have a batch of its own (else the stages gather chunks for a loop).
        if cls.supports_batch:
            assert cls.batch is not family.batch and cls.batch is not Backend.batch, name


def test_load_moves_a_backend_to_the_cpu_and_check_device_says_why():
    class CPUOnly(ASRBackend):
        name = "cpu-only"

        @classmethod
        def from_config(cls, settings, device="cpu"):
            cls.check_device(device)
            return cls()

    assert isinstance(CPUOnly.load(None, "cuda:1"), CPUOnly)  # load: the CPU instead of a device it cannot use
    with pytest.raises(StageUnavailable, match=r"CER backend cpu-only runs on cpu, not 'cuda:1'"):
        CPUOnly.from_config(None, "cuda:1")


def test_the_family_verbs_are_one_and_batch():
    echo = EchoASR()
    assert echo.transcribe(np.zeros(16000)) == echo.one(np.zeros(16000)) == "hello world"
    assert echo.transcribe_batch([np.zeros(10)] * 3) == ["hello world"] * 3  # the default batch loops over one
    tiny = TinySpatialEncoder()
    windows = np.random.default_rng(0).standard_normal((3, 2, tiny.window_samples)).astype(np.float32)
    together = tiny.embed(windows, batch_size=2)
    alone = tiny.one(windows[1])
    for name in tiny.embeddings:  # the same computation on one window or in a batch of three: float32 rounding
        assert together[name].shape[0] == 3
        np.testing.assert_allclose(alone[name], together[name][1], rtol=1e-5, atol=1e-6)


class CountingEcho(EchoASR):
    """Echo with a batch of its own: records what the CER stage hands it."""

    name = "counting-echo"
    calls: list[int] = []

    def batch(self, audios):
        CountingEcho.calls.append(len(audios))
        return [self.heard for _ in audios]


@pytest.mark.parametrize("declared", [True, False])
def test_the_cer_stage_batches_exactly_when_the_backend_says_it_can(tmp_path, declared):
    from spatialeval.io.audio import AudioClip
    from spatialeval.io.pairing import Pair
    from spatialeval.pipeline.config import EvalConfig
    from spatialeval.pipeline.stages.base import LoadedPair
    from spatialeval.pipeline.stages.cer import CERStage
    from spatialeval.synth import speech_like

    backend = type("Declared" if declared else "Undeclared", (CountingEcho,), {"supports_batch": declared})
    CountingEcho.calls = []
    ASR_BACKENDS.register("counting-echo", backend)
    try:
        config = EvalConfig()
        config.cer.backend = "counting-echo"
        stage = CERStage(config)
        stage.setup()
        items = []
        for index in range(3):
            gt = tmp_path / f"gt{index}.wav"
            gt.with_suffix(".txt").write_text("hello world", encoding="utf-8")
            voice = speech_like(1.0, 16000, seed=index)[:, None].astype(np.float32)
            pair = Pair(id=f"u{index}", gt=str(gt), gen=f"gen{index}.wav")
            sha = f"{index:064d}"
            items.append(
                LoadedPair(
                    pair=pair,
                    gt=AudioClip(voice, 16000, str(gt), sha256=sha),
                    gen=AudioClip(voice, 16000, f"gen{index}.wav", sha256=sha[::-1]),
                )
            )
        rows = stage.compute_batch(items)
    finally:
        ASR_BACKENDS.unregister("counting-echo")
    assert [row["cer"] for row in rows] == [0.0, 0.0, 0.0]
    assert CountingEcho.calls == ([3] if declared else [])
