"""SIM stage: speaker-embedding cosine of the generated clip against the gt clip (or the
manifest's prompt audio when ``sim.use_prompt`` is set).

Both clips are downmixed to mono (mean of channels) and resampled to the encoder's
rate (16 kHz) with ``scipy.signal.resample_poly``; see :mod:`spatialeval.metrics.sim` and
:mod:`spatialeval.models.speaker`. The encoder is loaded once per stage instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialeval.errors import NoSpeech
from spatialeval.features.speech import RULE as SPEECH_RULE
from spatialeval.features.speech import speech_presence
from spatialeval.io.audio import file_sha256, load_audio
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import non_empty, positive, setting
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage


def _speaker_backends() -> list[str]:
    from spatialeval.models.registry import SPEAKER_BACKENDS

    return SPEAKER_BACKENDS.names()


@dataclass
class SIMSettings:
    backend: str = setting("resemblyzer", cli="--sim-backend", choices=_speaker_backends, help="speaker encoder")
    # wavlm: a local Hugging Face WavLMForXVector folder; wavlm-ecapa: the path of seed-tts-eval's
    # wavlm_large_finetune.pth (the paper's SIM model). resemblyzer takes none.
    model_path: str | None = setting(
        None,
        cli="--sim-model-path",
        metavar="PATH",
        check=non_empty(),
        help="wavlm: a local WavLMForXVector folder; wavlm-ecapa: wavlm_large_finetune.pth",
    )
    batch_size: int = setting(
        8, affects_numbers=False, help="clips per WavLM forward pass (wavlm, wavlm-ecapa)", check=positive()
    )
    use_prompt: bool = setting(False, help="compare with the manifest's prompt audio instead of gt")


# A generation without speech has no speaker: SIM 0 (sim_note says why).
DEGENERATE = degenerate_outcomes(
    "scored: the speaker-embedding cosine",
    silent="value:0.0",
    dc="value:0.0",
    noise="value:0.0",
    short="value:0.0 (too little speech to embed)",
)


class SIMStage(Stage):
    name = "sim"
    Settings = SIMSettings
    metrics = (
        MetricInfo(
            "sim",
            "SIM",
            "sim",
            True,
            "speaker-embedding cosine, generated vs. gt (or prompt)",
            unit="cosine",
            devices=("cpu", "cuda"),
            dependencies=("resemblyzer",),
            reference="seed-tts-eval SIM; ISDrama reports it (WavLM-large speaker verification)",
            degenerate=DEGENERATE,
        ),
    )
    extra_fields = ("sim_reference", "sim_note")
    identity_fields = ("prompt_sha256",)

    def setup(self) -> None:
        from spatialeval.models.registry import SPEAKER_BACKENDS

        self._encoder = SPEAKER_BACKENDS.build(self.settings, self.config.resolved_device())

    def describe(self) -> dict[str, Any]:
        return {
            "encoder": self._encoder.describe(),
            "reference": "manifest prompt audio" if self.settings.use_prompt else "gt audio",
            "downmix": DOWNMIX_RULE.format(rate=self._encoder.sample_rate),
            "formula": "cosine of speaker embeddings, generated vs. reference",
            "speech_presence": SPEECH_RULE,
            "no_speech": "generated clip without speech (speech_presence, or nothing left after the encoder's VAD): "
            "SIM = 0 (scored, with sim_note); reference without speech: unmeasurable",
        }

    def input_identity(self, pair) -> dict[str, str | None]:
        """The prompt audio's content when SIM compares with it (gt and generated are bound anyway)."""
        if not self.settings.use_prompt or not pair.prompt:
            return {}
        return {"prompt_sha256": file_sha256(pair.prompt) if Path(pair.prompt).is_file() else None}

    def _audio(self, item: LoadedPair, side: str, path: str):
        rate = self._encoder.sample_rate
        if side == "prompt":

            def prompt_audio():
                clip = load_audio(path)
                from spatialeval.features.resample import downmix_resample

                return downmix_resample(clip.samples, clip.sample_rate, rate)

            return item.derived(f"mono{rate // 1000}k:prompt", prompt_audio)
        return item.mono(side, rate)

    def _key(self, side: str) -> str:
        """The item's derived-value key of ``side``'s speaker embedding (shared by compute_batch and compute_one)."""
        return f"spk:{self._encoder.name}:{side}"

    def _speech(self, item: LoadedPair, side: str, path: str):
        """Speech presence of ``side`` (:mod:`spatialeval.features.speech`), decided once per item and side."""
        rate = self._encoder.sample_rate
        return item.derived(f"speech:{side}:{rate}", lambda: speech_presence(self._audio(item, side, path), rate))

    def _embedding(self, item: LoadedPair, side: str, path: str):
        presence = self._speech(item, side, path)
        if not presence.has_speech:  # an encoder embeds noise as a voice: never let it see such a clip
            raise NoSpeech(presence.reason)
        audio = self._audio(item, side, path)
        try:
            return item.derived(self._key(side), lambda: self._encoder.embed(audio))
        except NoSpeech:
            raise
        except Exception as exc:
            raise RuntimeError(f"{path}: {self._encoder.name} speaker embedding failed: {exc}") from exc

    def _sides(self, item: LoadedPair) -> list[tuple[str, str]]:
        reference = ("prompt", item.pair.prompt) if self.settings.use_prompt else ("gt", item.gt.path or item.pair.gt)
        return [reference, ("gen", item.gen.path or item.pair.gen)]

    def compute_batch(self, items: list[LoadedPair]) -> list:
        """Embed the chunk's clips with the encoder's ``embed_batch`` (several clips per forward pass on
        the backends that ``supports_batch``), then score each item; any failure falls back to per-item
        embedding, which reports the error against its own item."""
        if self._encoder.supports_batch:
            wanted = []
            for item in items:
                for side, path in self._sides(item):
                    if path and self._key(side) not in item.cache:
                        try:
                            if not self._speech(item, side, path).has_speech:
                                continue  # compute_one scores it without the encoder
                            wanted.append((item, side, self._audio(item, side, path)))
                        except Exception:  # an unreadable prompt: compute_one reports it
                            continue
            try:
                embeddings = self._encoder.embed_batch([audio for _, _, audio in wanted])
            except Exception:
                embeddings = []
            for (item, side, _), embedding in zip(wanted, embeddings):
                item.cache[self._key(side)] = embedding
        return super().compute_batch(items)

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        if self.settings.use_prompt and not item.pair.prompt:
            raise ValueError(
                f"{item.pair.gt}: sim.use_prompt is set but item {item.id!r} has no prompt "
                "audio in the manifest (add a 'prompt' column)"
            )
        (side, path), (_, gen_path) = self._sides(item)
        try:
            reference = self._embedding(item, side, path)
        except NoSpeech as exc:
            return {
                "sim": math.nan,
                "sim_reference": side,
                "unmeasurable": {"sim": f"the reference ({side}) has no speech to compare with: {exc}"},
            }
        try:
            generated = self._embedding(item, "gen", gen_path)
        except NoSpeech as exc:
            # A generation without speech is the worst case, not a missing value: it must count in the mean.
            return {"sim": 0.0, "sim_reference": side, "sim_note": f"no speech in the generated clip ({exc}); scored 0"}
        from spatialeval.metrics.sim import speaker_similarity

        return {"sim": speaker_similarity(generated, reference), "sim_reference": side}
