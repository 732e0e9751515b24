"""CER stage: ASR of the generated clip scored against a reference text.

Per item: the generated clip is downmixed (mean of channels), resampled to 16 kHz
(``scipy.signal.resample_poly``) and transcribed; the reference text comes from the
transcripts file, the manifest, a sidecar ``.txt``/``.lab`` or — when none exists — the
ASR transcript of the gt clip (:mod:`spatialeval.io.transcripts`, ``ref_source`` per
item). Both texts are normalised (:mod:`spatialeval.metrics.text`) and scored with
:mod:`spatialeval.metrics.cer`.

The headline ``cer`` in the summary is the mean of per-utterance CERs (as seed-tts-eval
and ISDrama report it); the pooled corpus CER ``Σ edits / Σ reference characters`` is
reported beside it as ``cer_corpus``.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from spatialeval.io.transcripts import TranscriptError, load_transcripts, resolve_reference
from spatialeval.metrics.cer import char_edit_counts, corpus_cer, error_rate, word_edit_counts
from spatialeval.metrics.text import NORMALIZER_VERSION, simplifier
from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage, StageUnavailable

class CERStage(Stage):
    name = "cer"
    fields = ("cer", "wer")
    extra_fields = ("asr_text", "ref_text", "ref_source", "cer_edits", "cer_ref_chars")

    def __init__(self, config):
        super().__init__(config)
        self._cache = FeatureCache(config.cache_dir)
        self._memo: dict[str, str] = {}  # identical clips within a run are transcribed once

    def setup(self) -> None:
        from spatialeval.models.asr import load_asr

        settings = self.config.cer
        if settings.language not in ("en", "zh"):
            raise StageUnavailable(f"cer.language must be 'en' or 'zh', not {settings.language!r}")
        if settings.traditional_to_simplified:
            try:
                simplifier()
            except ImportError as exc:
                raise StageUnavailable(str(exc)) from None
        self._transcripts = None
        if settings.transcripts:
            try:
                self._transcripts = load_transcripts(settings.transcripts)
            except TranscriptError as exc:
                raise StageUnavailable(f"cannot read the CER transcripts: {exc}") from None
        device = "cpu" if settings.backend == "pocketsphinx" else self.config.resolved_device()
        self._asr = load_asr(settings, device)

    def describe(self) -> dict[str, Any]:
        settings = self.config.cer
        if settings.transcripts:
            reference = f"transcripts file {settings.transcripts} (every item must be listed)"
        else:
            reference = ("per item: manifest text, else a .txt/.lab beside the gt audio, else the ASR "
                         "transcript of the gt audio (see ref_source per item)")
        return {
            "asr": self._asr.describe(),
            "language": settings.language,
            "normalizer": NORMALIZER_VERSION,
            "traditional_to_simplified": bool(settings.traditional_to_simplified),
            "unit": "characters incl. single spaces between words" if settings.language == "en"
                    else "characters, whitespace removed",
            "downmix": DOWNMIX_RULE.format(rate=self._asr.sample_rate),
            "reference": reference,
            "headline": "cer = mean of per-utterance CER; cer_corpus = total edits / total reference characters",
            "wer": "word error rate, English only (NaN for zh)",
            "empty_reference": "CER = 0 if the hypothesis is empty too, else 1",
        }

    def _key(self, item: LoadedPair, side: str) -> str | None:
        clip = getattr(item, side)
        return FeatureCache.key(clip.sha256, asr=self._asr.describe(), rate=self._asr.sample_rate, v=1) if clip.sha256 else None

    def _known(self, key: str | None) -> str | None:
        if key in self._memo:
            return self._memo[key]
        cached = self._cache.get("asr", key) if key else None
        return None if cached is None else str(cached["text"])

    def _remember(self, key: str | None, text: str) -> None:
        if key:
            self._memo[key] = text
            self._cache.put("asr", key, {"text": np.array(text)})

    def _transcribe(self, item: LoadedPair, side: str) -> str:
        """ASR of one side, cached by audio content (gt transcripts are computed once across runs)."""
        clip = getattr(item, side)
        key = self._key(item, side)
        known = self._known(key)
        if known is not None:
            return known
        audio = item.mono(side, self._asr.sample_rate)
        try:
            text = self._asr.transcribe(audio)
        except Exception as exc:
            raise RuntimeError(f"{clip.path}: {self._asr.name} ASR failed: {exc}") from exc
        self._remember(key, text)
        return text

    def compute_batch(self, items: list[LoadedPair]) -> list:
        """Transcribe the chunk's generated clips with the recogniser's ``transcribe_batch`` (several clips
        per forward pass on the Whisper and Paraformer backends), then score each item; any failure falls
        back to per-item transcription, which reports the error against its own item."""
        from spatialeval.models.asr import ASRBackend

        if type(self._asr).transcribe_batch is not ASRBackend.transcribe_batch:
            wanted = {}
            for item in items:
                key = self._key(item, "infer")
                if key and key not in wanted and self._known(key) is None:
                    wanted[key] = item.mono("infer", self._asr.sample_rate)
            try:
                texts = self._asr.transcribe_batch(list(wanted.values()))
            except Exception:
                texts = []
            for key, text in zip(wanted, texts):
                self._remember(key, text)
        return super().compute_batch(items)

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        settings = self.config.cer
        reference, source = resolve_reference(item.pair, self._transcripts, settings.transcripts)
        hypothesis = self._transcribe(item, "infer")
        if reference is None:
            reference = item.derived(f"asr:{self._asr.name}:gt", lambda: self._transcribe(item, "gt"))
        edits, ref_chars = char_edit_counts(reference, hypothesis, settings.language,
                                            traditional_to_simplified=settings.traditional_to_simplified)
        cer_value = error_rate(edits, ref_chars)
        wer_value = error_rate(*word_edit_counts(reference, hypothesis, "en")) if settings.language == "en" else math.nan
        return {
            "cer": float(cer_value),
            "wer": float(wer_value),
            "asr_text": hypothesis,
            "ref_text": reference,
            "ref_source": source,
            "cer_edits": int(edits),
            "cer_ref_chars": int(ref_chars),
        }

    def summarize(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        counted = [(r["cer_edits"], r["cer_ref_chars"]) for r in rows if "cer_edits" in r]
        return {
            "cer_corpus": corpus_cer(counted),
            "cer_headline": "mean_per_utterance",
            "cer_ref_sources": dict(sorted(Counter(r["ref_source"] for r in rows if "ref_source" in r).items())),
        }
