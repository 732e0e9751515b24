"""SIM stage: speaker-embedding cosine of the generated clip against the gt clip (or the
manifest's prompt audio when ``sim.use_prompt`` is set).

Both clips are downmixed to mono (mean of channels) and resampled to the encoder's
rate (16 kHz) with ``scipy.signal.resample_poly``; see :mod:`spatialeval.metrics.sim` and
:mod:`spatialeval.models.speaker`. The encoder is loaded once per stage instance.
"""
from __future__ import annotations

from typing import Any

from spatialeval.io.audio import load_audio
from spatialeval.metrics.sim import downmix_resample, speaker_similarity
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage


class SIMStage(Stage):
    name = "sim"
    fields = ("sim",)
    extra_fields = ("sim_reference",)

    def setup(self) -> None:
        from spatialeval.models.speaker import load_speaker_encoder

        settings = self.config.sim
        device = "cpu" if settings.backend == "resemblyzer" else self.config.resolved_device()
        self._encoder = load_speaker_encoder(settings, device)

    def describe(self) -> dict[str, Any]:
        return {
            "encoder": self._encoder.describe(),
            "reference": "manifest prompt audio" if self.config.sim.use_prompt else "gt audio",
            "downmix": DOWNMIX_RULE.format(rate=self._encoder.sample_rate),
            "formula": "cosine of speaker embeddings, generated vs. reference",
        }

    def _audio(self, item: LoadedPair, side: str, path: str):
        rate = self._encoder.sample_rate
        if side == "prompt":
            def prompt_audio():
                clip = load_audio(path)
                return downmix_resample(clip.samples, clip.sample_rate, rate)
            return item.derived(f"mono{rate // 1000}k:prompt", prompt_audio)
        return item.mono(side, rate)

    def _embedding(self, item: LoadedPair, side: str, path: str):
        audio = self._audio(item, side, path)
        try:
            return item.derived(f"spk:{self._encoder.name}:{side}", lambda: self._encoder.embed(audio))
        except Exception as exc:
            raise RuntimeError(f"{path}: {self._encoder.name} speaker embedding failed: {exc}") from exc

    def _sides(self, item: LoadedPair) -> list[tuple[str, str]]:
        reference = ("prompt", item.pair.prompt) if self.config.sim.use_prompt else ("gt", item.gt.path or item.pair.gt)
        return [reference, ("infer", item.infer.path or item.pair.infer)]

    def compute_batch(self, items: list[LoadedPair]) -> list:
        """Embed the chunk's clips with the encoder's ``embed_batch`` (several clips per forward pass on
        the WavLM backends), then score each item; any failure falls back to per-item embedding, which
        reports the error against its own item."""
        from spatialeval.models.speaker import SpeakerEncoder

        if type(self._encoder).embed_batch is not SpeakerEncoder.embed_batch:
            wanted = []
            for item in items:
                for side, path in self._sides(item):
                    if path and f"spk:{self._encoder.name}:{side}" not in item.cache:
                        try:
                            wanted.append((item, side, self._audio(item, side, path)))
                        except Exception:  # an unreadable prompt: compute_one reports it
                            continue
            try:
                embeddings = self._encoder.embed_batch([audio for _, _, audio in wanted])
            except Exception:
                embeddings = []
            for (item, side, _), embedding in zip(wanted, embeddings):
                item.cache[f"spk:{self._encoder.name}:{side}"] = embedding
        return super().compute_batch(items)

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        if self.config.sim.use_prompt:
            if not item.pair.prompt:
                raise ValueError(f"{item.pair.gt}: sim.use_prompt is set but item {item.id!r} has no prompt "
                                 "audio in the manifest (add a 'prompt' column)")
            side, path = "prompt", item.pair.prompt
        else:
            side, path = "gt", item.gt.path or item.pair.gt
        reference = self._embedding(item, side, path)
        generated = self._embedding(item, "infer", item.infer.path or item.pair.infer)
        return {"sim": speaker_similarity(generated, reference), "sim_reference": side}
