"""SIM stage: speaker-embedding cosine of the generated clip against the gt clip (or the
manifest's prompt audio when ``sim.use_prompt`` is set).

Both clips are downmixed to mono (mean of channels) and resampled to the encoder's
rate (16 kHz) with ``scipy.signal.resample_poly``; see :mod:`spatialeval.metrics.sim` and
:mod:`spatialeval.models.speaker`. The encoder is loaded once per stage instance.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from spatialeval.io.audio import file_sha256, load_audio
from spatialeval.metrics.sim import downmix_resample, speaker_similarity
from spatialeval.models.speaker import NoSpeech
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage


class SIMStage(Stage):
    name = "sim"
    fields = ("sim",)
    extra_fields = ("sim_reference", "sim_note")

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
            "no_speech": "generated clip without speech (silence, or nothing left after VAD): SIM = 0 "
                         "(scored, with sim_note); reference without speech: unmeasurable",
        }

    def input_identity(self, pair) -> dict[str, str | None]:
        """The prompt audio's content when SIM compares with it (gt and generated are bound anyway)."""
        if not self.config.sim.use_prompt or not pair.prompt:
            return {}
        return {"prompt_sha256": file_sha256(pair.prompt) if Path(pair.prompt).is_file() else None}

    def _embedding(self, item: LoadedPair, side: str, path: str):
        rate = self._encoder.sample_rate
        if side == "prompt":
            def prompt_audio():
                clip = load_audio(path)
                return downmix_resample(clip.samples, clip.sample_rate, rate)
            audio = item.derived(f"mono{rate // 1000}k:prompt", prompt_audio)
        else:
            audio = item.mono(side, rate)
        try:
            return item.derived(f"spk:{self._encoder.name}:{side}", lambda: self._encoder.embed(audio))
        except NoSpeech:
            raise
        except Exception as exc:
            raise RuntimeError(f"{path}: {self._encoder.name} speaker embedding failed: {exc}") from exc

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        if self.config.sim.use_prompt:
            if not item.pair.prompt:
                raise ValueError(f"{item.pair.gt}: sim.use_prompt is set but item {item.id!r} has no prompt "
                                 "audio in the manifest (add a 'prompt' column)")
            side, path = "prompt", item.pair.prompt
        else:
            side, path = "gt", item.gt.path or item.pair.gt
        try:
            reference = self._embedding(item, side, path)
        except NoSpeech as exc:
            return {"sim": math.nan, "sim_reference": side,
                    "unmeasurable": {"sim": f"the reference ({side}) has no speech to compare with: {exc}"}}
        try:
            generated = self._embedding(item, "infer", item.infer.path or item.pair.infer)
        except NoSpeech as exc:
            # A generation without speech is the worst case, not a missing value: it must count in the mean.
            return {"sim": 0.0, "sim_reference": side, "sim_note": f"no speech in the generated clip ({exc}); scored 0"}
        return {"sim": speaker_similarity(generated, reference), "sim_reference": side}
