"""CER stage: ASR of the generated clip scored against a reference text.

Per item: the generated clip is downmixed (mean of channels), resampled to 16 kHz
(``scipy.signal.resample_poly``) and transcribed; the reference text comes from the
transcripts file, the manifest, a sidecar ``.txt``/``.lab`` or — when none exists — the
ASR transcript of the gt clip (:mod:`spatialeval.io.transcripts`, ``ref_source`` per
item). Both texts are normalised by the text normalisation ``cer.text_normalization``
(:mod:`spatialeval.metrics.text_normalization`: seed-tts-eval under ``isdrama``) and scored
with :mod:`spatialeval.metrics.cer`, in ``cer.language`` or — with ``auto`` — in the
language detected from each reference (``cer_language`` per item). ``wer`` is the word
rate; under seed-tts-eval a Mandarin item's ``wer`` is its character rate.

The headline ``cer`` in the summary is the mean of per-utterance CERs (as seed-tts-eval
and ISDrama report it); the pooled corpus CER ``Σ edits / Σ reference characters`` is
reported beside it as ``cer_corpus``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatialeval.errors import StageUnavailable, UsageError
from spatialeval.features.speech import RULE as SPEECH_RULE
from spatialeval.features.speech import SpeechPresence, speech_presence
from spatialeval.io.transcripts import TranscriptError, load_transcripts, resolve_reference
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.presentation import SummaryLine
from spatialeval.pipeline.settings import non_empty, positive, setting
from spatialeval.pipeline.stages.base import DOWNMIX_RULE, LoadedPair, Stage

#: The text normalisation each evaluation protocol defaults to (docs/text-normalisation.md).
TEXT_NORMALIZATION_BY_PROTOCOL = {"isdrama": "seed-tts-eval", "strict": "spatialeval-text-1"}
CER_LANGUAGES = ("en", "zh", "auto")


def _asr_backends() -> list[str]:
    from spatialeval.models.registry import ASR_BACKENDS

    return ASR_BACKENDS.names()


def _text_normalizations() -> list[str]:
    from spatialeval.metrics.text_normalization import TEXT_NORMALIZATIONS

    return list(TEXT_NORMALIZATIONS)


# whisper: float32 | float16 | bfloat16; faster-whisper: CTranslate2's compute types; auto: per backend and device.
COMPUTE_TYPES = (
    "auto",
    "default",
    "float32",
    "float16",
    "bfloat16",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
)


@dataclass
class CERSettings:
    backend: str = setting("pocketsphinx", cli="--cer-backend", choices=_asr_backends, help="speech recogniser")
    # en | zh: the ASR's language and the scoring language. auto: the ASR's language is the
    # backend's only one (pocketsphinx en, paraformer-zh zh; whisper needs en or zh) and each
    # item is scored in the language detected from its reference (CJK → zh), recorded per item.
    language: str = setting(
        "en",
        cli="--language",
        choices=CER_LANGUAGES,
        help="en, zh, or auto (detected per item from the reference text)",
    )
    model_path: str | None = setting(
        None,
        cli="--cer-model-path",
        metavar="DIR",
        check=non_empty(),
        help="local model directory for whisper / faster-whisper / paraformer-zh",
    )
    # auto: whisper float32 on CPU / float16 on CUDA; faster-whisper int8 on CPU / float16 on CUDA.
    # whisper also takes float32 | float16 | bfloat16; faster-whisper any CTranslate2 compute type.
    compute_type: str = setting(
        "auto", help="numeric precision of the Whisper backends (recorded in the summary)", choices=COMPUTE_TYPES
    )
    batch_size: int = setting(
        8, affects_numbers=False, check=positive(), help="30-s windows (Whisper) or clips (Paraformer) per forward pass"
    )
    beam_size: int = setting(
        1, help="Whisper backends: 1 = greedy (deterministic, as seed-tts-eval decodes)", check=positive()
    )
    transcripts: str | None = setting(
        None,
        cli="--transcripts",
        metavar="FILE",
        check=non_empty(),
        help="reference texts: JSON id→text, or CSV/TSV with id,text",
    )
    # seed-tts-eval always converts Mandarin ASR output to simplified; true also converts the
    # reference. spatialeval-text-1: true converts both sides.
    traditional_to_simplified: bool = setting(False, help="also convert the reference to simplified Chinese")
    # seed-tts-eval | whisper-en | spatialeval-text-1 (docs/text-normalisation.md);
    # null: by protocol (isdrama → seed-tts-eval, strict → spatialeval-text-1)
    text_normalization: str | None = setting(
        None,
        cli="--text-normalization",
        choices=_text_normalizations,
        help="text normalisation (default: seed-tts-eval under isdrama, spatialeval-text-1 under strict)",
    )


def text_normalization_for(config) -> str:
    """The CER stage's text normalisation: ``cer.text_normalization``, else the evaluation protocol's default."""
    return config.cer.text_normalization or TEXT_NORMALIZATION_BY_PROTOCOL[config.protocol]


SEED_TTS = "seed-tts-eval (BytedanceSpeech/seed-tts-eval run_wer.py), as the ISDrama paper reports CER"


# A generation without speech is an empty transcript: every reference unit deleted.
DEGENERATE = degenerate_outcomes(
    "scored: the recogniser's transcript of that audio", silent="value:1.0", dc="value:1.0", noise="value:1.0"
)


class CERStage(Stage):
    name = "cer"
    Settings = CERSettings
    metrics = (
        MetricInfo(
            "cer",
            "CER",
            "cer",
            False,
            "character error rate of ASR(generated) vs. reference text",
            unit="fraction",
            requires_text=True,
            devices=("cpu", "cuda"),
            dependencies=("jiwer", "pocketsphinx"),
            reference=SEED_TTS,
            degenerate=DEGENERATE,
        ),
        MetricInfo(
            "wer",
            "WER",
            "cer",
            False,
            "word error rate of ASR(generated) vs. reference text (Mandarin under seed-tts-eval: the character rate)",
            unit="fraction",
            requires_text=True,
            devices=("cpu", "cuda"),
            dependencies=("jiwer", "pocketsphinx"),
            reference=SEED_TTS,
            degenerate=DEGENERATE,
        ),
    )
    extra_fields = ("asr_text", "ref_text", "ref_source", "cer_edits", "cer_ref_chars", "cer_language", "cer_note")
    identity_fields = ("ref_text_sha256",)

    def __init__(self, config, context=None, selected=None):
        super().__init__(config, context, selected)
        self._memo: dict[str, str] = {}  # identical clips within a run are transcribed once

    def setup(self) -> None:
        from spatialeval.metrics.text import simplifier
        from spatialeval.models.registry import ASR_BACKENDS

        settings = self.settings
        self._transcripts = None
        if settings.transcripts:
            # A reference file the user named and we cannot read is a usage error (exit 2), never a skip:
            # skipping would drop CER from a run whose user asked for it by naming its references.
            try:
                self._transcripts = load_transcripts(settings.transcripts)
            except TranscriptError as exc:
                raise UsageError(f"cannot read the CER transcripts (cer.transcripts / --transcripts): {exc}") from None
        try:
            normalization = self._text_normalization()
            if settings.language != "auto":  # with auto, a missing package fails the items that need it
                normalization.prepare(settings.language)
            if settings.traditional_to_simplified and normalization.name == "spatialeval-text-1":
                simplifier()
        except (ValueError, ImportError) as exc:
            raise StageUnavailable(f"cer.text_normalization: {exc}") from None
        self._asr_language = settings.language
        if settings.language == "auto":  # the recogniser still needs one language
            languages = getattr(ASR_BACKENDS.get(settings.backend), "languages", ())
            if len(languages) != 1:
                raise StageUnavailable(
                    f"the {settings.backend} backend transcribes in one forced language: "
                    "set cer.language to en or zh (auto needs a single-language backend)"
                )
            self._asr_language = languages[0]
        self._asr = ASR_BACKENDS.build(
            dataclasses.replace(settings, language=self._asr_language), self.config.resolved_device()
        )

    def _text_normalization(self):
        """The text normalisation: cer.text_normalization, else the evaluation protocol's default."""
        from spatialeval.metrics.text_normalization import get_text_normalization

        return get_text_normalization(text_normalization_for(self.config))

    def describe(self) -> dict[str, Any]:
        settings = self.settings
        if settings.transcripts:
            reference = f"transcripts file {settings.transcripts} (every item must be listed)"
        else:
            reference = (
                "per item: manifest text, else a .txt/.lab beside the gt audio, else the ASR "
                "transcript of the gt audio (see ref_source per item)"
            )
        normalization = self._text_normalization().describe()
        return {
            "asr": self._asr.describe(),
            "language": settings.language,
            "asr_language": getattr(self, "_asr_language", settings.language),  # set by setup()
            "language_rule": (
                "detected per item from the reference: zh when CJK characters are at least as many "
                "as other-letter words, else en (cer_language)"
                if settings.language == "auto"
                else "as configured (cer_language per item)"
            ),
            "text_normalization": normalization["name"],
            "text_normalization_version": normalization["version"],
            "text_normalization_packages": normalization["packages"],
            "traditional_to_simplified": bool(settings.traditional_to_simplified),
            "unit": {language: units["char"] for language, units in normalization["units"].items()},
            "downmix": DOWNMIX_RULE.format(rate=self._asr.sample_rate),
            "reference": reference,
            "headline": "cer = mean of per-utterance CER; cer_corpus = total edits / total reference characters",
            "wer": {language: units["word"] for language, units in normalization["units"].items()},
            "speech_presence": SPEECH_RULE,
            "no_speech": (
                "generated clip without speech: not transcribed, scored as an empty transcript (every "
                "reference character deleted: CER 1, WER 1; cer_note says why); gt without speech when its "
                "ASR transcript is the reference: unmeasurable"
            ),
            "empty_reference": "unmeasurable (an empty reference has no characters to err on); "
            "an empty ASR transcript of the generated clip scores every reference character as deleted",
        }

    def input_identity(self, pair) -> dict[str, str | None]:
        """The reference text this item is scored against (None: the gt's ASR transcript, bound by the gt hash)."""
        import hashlib

        reference, source = resolve_reference(pair, self._transcripts, self.settings.transcripts)
        digest = hashlib.sha256(reference.encode("utf-8")).hexdigest() if reference is not None else None
        return {"ref_text_sha256": digest}

    def _key(self, item: LoadedPair, side: str) -> str | None:
        clip = getattr(item, side)
        return (
            FeatureCache.key(clip.sha256, asr=self._asr.describe(), rate=self._asr.sample_rate, v=1)
            if clip.sha256
            else None
        )

    def _known(self, key: str | None) -> str | None:
        if key in self._memo:
            return self._memo[key]
        cached = self.cache.get("asr", key, required=("text",))
        return None if cached is None else str(cached["text"])

    def _remember(self, key: str | None, text: str) -> None:
        if key:
            self._memo[key] = text
            self.cache.put("asr", key, {"text": np.array(text)})

    def _speech(self, item: LoadedPair, side: str) -> SpeechPresence:
        """Whether ``side`` holds speech (:mod:`spatialeval.features.speech`), decided once per item and side."""
        rate = self._asr.sample_rate
        return item.derived(f"speech:{side}:{rate}", lambda: speech_presence(item.mono(side, rate), rate))

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
        per forward pass on the backends that ``supports_batch``), then score each item; any failure falls
        back to per-item transcription, which reports the error against its own item."""
        if self._asr.supports_batch:
            wanted = {}
            for item in items:
                key = self._key(item, "gen")
                if key and key not in wanted and self._speech(item, "gen").has_speech and self._known(key) is None:
                    wanted[key] = item.mono("gen", self._asr.sample_rate)
            try:
                texts = self._asr.transcribe_batch(list(wanted.values()))
            except Exception:
                texts = []
            for key, text in zip(wanted, texts):
                self._remember(key, text)
        return super().compute_batch(items)

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        from spatialeval.metrics.cer import error_rate, text_error_counts
        from spatialeval.metrics.text import LanguageMismatchWarning

        settings = self.settings
        reference, source = resolve_reference(item.pair, self._transcripts, settings.transcripts)
        note = {}
        if reference is None:
            gt_speech = self._speech(item, "gt")
            if not gt_speech.has_speech:
                reason = f"the gt audio holds no speech to transcribe as the reference: {gt_speech.reason}"
                return {
                    "cer": math.nan,
                    "wer": math.nan,
                    "ref_source": source,
                    "unmeasurable": {"cer": reason, "wer": reason},
                }
            reference = item.derived(f"asr:{self._asr.name}:gt", lambda: self._transcribe(item, "gt"))
        generated = self._speech(item, "gen")
        if generated.has_speech:
            hypothesis = self._transcribe(item, "gen")
        else:  # a recogniser hears words in noise and silence ("dog"): the clip says nothing
            hypothesis = ""
            note = {"cer_note": f"no speech in the generated clip ({generated.reason}): scored as an empty transcript"}
        with warnings.catch_warnings():
            # An explicit cer.language that the reference's script contradicts is honoured and counted
            # (cer_language_mismatch in the summary, one console line), not warned about once per item.
            warnings.simplefilter("ignore", LanguageMismatchWarning)
            counts = text_error_counts(
                reference,
                hypothesis,
                None if settings.language == "auto" else settings.language,
                text_normalization=self._text_normalization(),
                traditional_to_simplified=settings.traditional_to_simplified,
            )
        edits, ref_chars = counts["char"]
        unmeasurable = {}
        if ref_chars == 0:
            what = "the ASR transcript of the gt audio" if source == "asr_gt" else f"the reference text ({source})"
            unmeasurable["cer"] = unmeasurable["wer"] = f"{what} is empty after normalisation: no characters to score"
            cer_value = wer_value = math.nan
        else:
            cer_value = error_rate(edits, ref_chars)
            wer_value = math.nan if counts["word"] is None else error_rate(*counts["word"])
            if counts["word"] is None:
                unmeasurable["wer"] = (
                    f"the {self._text_normalization()} normalisation defines no word rate for {counts['language']} (read cer)"
                )
        result = {
            "cer": float(cer_value),
            "wer": float(wer_value),
            "asr_text": hypothesis,
            "ref_text": reference,
            "ref_source": source,
            "cer_edits": int(edits),
            "cer_ref_chars": int(ref_chars),
            "cer_language": counts["language"],
            **note,
        }
        if unmeasurable:
            result["unmeasurable"] = unmeasurable
        return result

    def summarize(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from spatialeval.metrics.cer import corpus_cer
        from spatialeval.metrics.text import detect_language

        counted = [(r["cer_edits"], r["cer_ref_chars"]) for r in rows if "cer_edits" in r]
        corpus = {"cer_corpus": corpus_cer(counted)} if self.wants("cer") else {}  # no CER number when unasked
        return {
            **corpus,
            "cer_headline": "mean_per_utterance",
            "cer_ref_sources": dict(sorted(Counter(r["ref_source"] for r in rows if "ref_source" in r).items())),
            # text vs. the gt's ASR transcript: two kinds of reference in one mean (the console says so)
            "cer_reference_sources": {
                "text": sum(1 for r in rows if r.get("ref_source") not in (None, "asr_gt")),
                "gt_asr": sum(1 for r in rows if r.get("ref_source") == "asr_gt"),
            },
            "cer_languages": dict(sorted(Counter(r["cer_language"] for r in rows if "cer_language" in r).items())),
            # items scored in a language their reference's script contradicts (an explicit cer.language)
            "cer_language_mismatch": sum(
                1
                for r in rows
                if "cer_language" in r
                and any(ch.isalpha() for ch in r["ref_text"])
                and detect_language(r["ref_text"]) != r["cer_language"]
            ),
        }

    @classmethod
    def summary_lines(cls, extra: dict[str, Any], protocol: str | None) -> list[SummaryLine]:
        """The corpus CER (total edits over total reference characters) under the per-utterance mean."""
        if extra.get("cer_corpus") is None:
            return []
        return [SummaryLine("CER (corpus)", extra["cer_corpus"], "lower is better")]

    @classmethod
    def summary_notes(cls, extra: dict[str, Any]) -> list[str]:
        """What the CER mean hides: references of two kinds, and scored-language mismatches."""
        lines = []
        kinds = extra.get("cer_reference_sources") or {}
        if kinds.get("text") and kinds.get("gt_asr"):
            lines.append(
                f"CER references are mixed: {kinds['text']} items scored against a reference text, "
                f"{kinds['gt_asr']} against the ASR transcript of their gt audio (no text found); the mean "
                "averages both kinds (ref_source per item; give every item a text for a comparable number)"
            )
        mismatch = extra.get("cer_language_mismatch") or 0
        if mismatch:
            lines.append(
                f"CER language: {mismatch} items scored in cer.language although their reference text looks like "
                "another language (cer_language per item; set cer.language=auto to detect it)"
            )
        return lines
