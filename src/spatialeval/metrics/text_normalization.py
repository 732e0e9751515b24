"""Named text normalisations for CER/WER, selectable and recorded with every result.

A text normalisation turns a reference or an ASR transcript into scoring units. Three are
registered (:data:`TEXT_NORMALIZATIONS`; rules and examples in ``docs/text-normalisation.md``):

``seed-tts-eval`` (the default; what ISDrama's CER follows)
    The rules of BytedanceSpeech/seed-tts-eval ``run_wer.py``. Mandarin ASR transcripts
    are converted to mainland simplified Chinese with ``zhconv`` (``zh-cn``); the
    reference is left as it is. Every character of ``string.punctuation`` and of
    ``zhon.hanzi.punctuation`` (CJK and full-width punctuation, typographic quotes and
    apostrophes, dashes, ``…``, the ideographic space U+3000) is *deleted* — not replaced
    by a space — except the ASCII apostrophe. English is then lower-cased and scored per
    word; Mandarin is scored per character with every whitespace dropped and no case
    folding. Nothing else: no NFKC (``Ａ`` ≠ ``A``), no number verbalisation.
    Units — ``zh``: char and word are both characters (seed-tts-eval's Mandarin "WER" is
    a character rate); ``en``: word = whitespace-separated words (seed-tts-eval's WER),
    char = the non-space characters of those words (seed-tts-eval defines no English
    CER; spaces do not count, as in its Mandarin scoring).

``whisper-en`` (English only)
    OpenAI Whisper's ``EnglishTextNormalizer`` (lower case, bracketed and parenthesised
    spans and fillers removed, contractions expanded, spelled numbers to digits, titles
    spelled out, British→American spelling, symbols to spaces). The class is the one
    ``transformers`` ships (a copy of openai-whisper's); its British→American map is
    OpenAI's ``english.json`` as packaged by ``whisper-normalizer``. Units: word =
    words of the normalised text; char = their non-space characters.

``spatialeval-text-1``
    :func:`spatialeval.metrics.text.normalize_text`: NFKC, every Unicode punctuation or
    symbol replaced by a space (word-internal apostrophes kept), optional traditional →
    simplified on both sides. Stricter scoring: an English CER counts the single spaces
    between words (a split or joined word costs an edit) and Mandarin has no word rate.

Example:
    >>> scheme = get_text_normalization("spatialeval-text-1")
    >>> scheme.units(scheme.normalize("Well-known, isn't it?", "en"), "en", "word")
    ['well', 'known', "isn't", 'it']
    >>> TEXT_NORMALIZATIONS
    ('seed-tts-eval', 'whisper-en', 'spatialeval-text-1')
"""

from __future__ import annotations

import importlib.metadata
import string
import warnings
from functools import lru_cache
from typing import Any, Callable, ClassVar

from spatialeval.metrics.text import LANGUAGES, NORMALIZER_VERSION, check_language, normalize_text

DEFAULT_TEXT_NORMALIZATION = "seed-tts-eval"
UNIT_KINDS = ("char", "word")
SIDES = ("reference", "hypothesis")


class TraditionalReferenceWarning(UserWarning):
    """A Mandarin reference holds characters that seed-tts-eval converts only in the ASR transcript."""


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _non_space(text: str) -> list[str]:
    return [ch for ch in text if not ch.isspace()]


class TextNormalization:
    """Base class: ``normalize`` a text, then cut it into scoring ``units``."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = ""
    languages: ClassVar[tuple[str, ...]] = LANGUAGES
    description: ClassVar[str] = ""
    packages: ClassVar[tuple[str, ...]] = ()

    def check_language(self, language: str) -> str:
        """``language`` if this normalisation scores it, else ValueError."""
        check_language(language)
        if language not in self.languages:
            raise ValueError(
                f"text normalisation {self.name!r} scores {', '.join(self.languages)} only, not "
                f"{language!r}; use text_normalization='seed-tts-eval' or 'spatialeval-text-1'"
            )
        return language

    def normalize(
        self, text: str, language: str, *, side: str = "reference", traditional_to_simplified: bool = False
    ) -> str:
        """The normalised text; ``side`` is ``reference`` or ``hypothesis`` (the ASR transcript)."""
        raise NotImplementedError

    def units(self, normalized: str, language: str, kind: str = "char") -> list[str]:
        """Scoring units of a normalised text; ``kind`` is ``char`` (CER) or ``word`` (WER)."""
        raise NotImplementedError

    def unit_description(self, language: str, kind: str) -> str:
        raise NotImplementedError

    def prepare(self, language: str) -> None:
        """Import what scoring ``language`` needs now; ImportError names the package to install."""
        self.check_language(language)

    def describe(self) -> dict[str, Any]:
        """Provenance for a summary: name, version, packages and the unit of each rate."""
        return {
            "name": self.name,
            "version": self.version,
            "packages": {name: _package_version(name) for name in self.packages},
            "units": {lang: {kind: self._describe_unit(lang, kind) for kind in UNIT_KINDS} for lang in self.languages},
        }

    def _describe_unit(self, language: str, kind: str) -> str:
        try:
            return self.unit_description(language, kind)
        except ValueError as exc:
            return f"not defined ({exc})"

    def _check(self, language: str, kind: str, side: str = "reference") -> None:
        self.check_language(language)
        if kind not in UNIT_KINDS:
            raise ValueError(f"unit kind must be one of {', '.join(UNIT_KINDS)}, not {kind!r}")
        if side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {side!r}")


# ---------------------------------------------------------------------------- seed-tts-eval


@lru_cache(maxsize=1)
def seed_tts_punctuation() -> dict[int, None]:
    """Deletion table: ``string.punctuation`` + ``zhon.hanzi.punctuation``, less the ASCII apostrophe.

    Example:
        >>> "Don't — stop，OK？".translate(seed_tts_punctuation())
        "Don't  stopOK"
    """
    try:
        from zhon.hanzi import punctuation as hanzi_punctuation
    except ImportError:
        raise ImportError(
            "the seed-tts-eval normalisation needs zhon's punctuation list: pip install zhon  "
            "(or: pip install 'spatialeval[speech]')"
        ) from None
    removed = set(string.punctuation) | set(hanzi_punctuation)
    removed.discard("'")
    return dict.fromkeys(map(ord, removed))


@lru_cache(maxsize=1)
def mainland_simplifier() -> Callable[[str], str]:
    """seed-tts-eval's converter: ``zhconv.convert(text, "zh-cn")`` (characters and mainland vocabulary)."""
    try:
        with warnings.catch_warnings():  # zhconv 1.4 imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            import zhconv
    except ImportError:
        raise ImportError(
            "the seed-tts-eval normalisation converts Mandarin ASR output with zhconv: pip install zhconv  "
            "(or: pip install 'spatialeval[chinese]')"
        ) from None
    return lambda text: zhconv.convert(text, "zh-cn")


class SeedTTSEval(TextNormalization):
    name = "seed-tts-eval"
    version = "BytedanceSpeech/seed-tts-eval run_wer.py @95003fe"
    packages = ("zhon", "zhconv")
    description = (
        "seed-tts-eval run_wer.py: ASCII + zhon CJK punctuation deleted (ASCII apostrophe kept); "
        "Mandarin ASR output to simplified (zhconv zh-cn); en lower-cased, per word; zh per character"
    )

    def prepare(self, language: str) -> None:
        self.check_language(language)
        seed_tts_punctuation()
        if language == "zh":
            mainland_simplifier()

    def normalize(
        self, text: str, language: str, *, side: str = "reference", traditional_to_simplified: bool = False
    ) -> str:
        """Apply run_wer.py's rules; whitespace runs become one space (en) or vanish (zh).

        Example:
            >>> seed = SeedTTSEval()
            >>> seed.normalize("Well-known, isn't it? “Yes”…", "en")
            "wellknown isn't it yes"
            >>> seed.normalize("這是語音合成！", "zh", side="hypothesis")
            '这是语音合成'
            >>> seed.normalize("我用 iPhone，１２３", "zh")  # no case folding, no NFKC in Mandarin
            '我用iPhone１２３'
        """
        self._check(language, "char", side)
        if text is None:
            raise ValueError("cannot normalise None; expected a string")
        if language == "zh":
            convert = mainland_simplifier()
            if side == "hypothesis" or traditional_to_simplified:
                text = convert(text)
            elif convert(text) != text:
                warnings.warn(
                    "the Mandarin reference contains traditional characters (or non-mainland "
                    "vocabulary) that seed-tts-eval converts only in the ASR transcript, so they count "
                    "as errors; pass traditional_to_simplified=True to convert the reference too",
                    TraditionalReferenceWarning,
                    stacklevel=4,
                )
        text = text.translate(seed_tts_punctuation())
        if language == "en":
            return " ".join(text.lower().split())
        return "".join(text.split())

    def units(self, normalized: str, language: str, kind: str = "char") -> list[str]:
        """``zh``: characters (both kinds); ``en``: words, or the non-space characters for ``char``.

        Example:
            >>> SeedTTSEval().units("我用iPhone", "zh", "word")
            ['我', '用', 'i', 'P', 'h', 'o', 'n', 'e']
            >>> SeedTTSEval().units("the cat", "en", "char")
            ['t', 'h', 'e', 'c', 'a', 't']
        """
        self._check(language, kind)
        if language == "en" and kind == "word":
            return normalized.split()
        return _non_space(normalized)

    def unit_description(self, language: str, kind: str) -> str:
        self._check(language, kind)
        if language == "zh":
            return "characters, whitespace dropped (seed-tts-eval's Mandarin WER is this character rate)"
        if kind == "word":
            return "whitespace-separated words (seed-tts-eval's WER)"
        return "non-space characters of the words (spaces between words do not count)"


# ------------------------------------------------------------------------------- whisper-en


@lru_cache(maxsize=1)
def whisper_english_normalizer() -> Callable[[str], str]:
    """OpenAI Whisper's ``EnglishTextNormalizer`` (transformers' copy + OpenAI's spelling map)."""
    try:
        import json
        from importlib.resources import files

        from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

        spelling = json.loads(files("whisper_normalizer").joinpath("normalizers/english.json").read_text("utf-8"))
    except ImportError:
        raise ImportError(
            "the whisper-en normalisation needs transformers (Whisper's EnglishTextNormalizer) and "
            "whisper-normalizer (OpenAI's english.json spelling map): "
            "pip install transformers whisper-normalizer  (or: pip install 'spatialeval[english]')"
        ) from None
    return EnglishTextNormalizer(spelling)


class WhisperEnglish(TextNormalization):
    name = "whisper-en"
    version = "openai-whisper EnglishTextNormalizer (rules of openai-whisper 20250625)"
    languages = ("en",)
    packages = ("transformers", "whisper-normalizer")
    description = (
        "OpenAI Whisper's English normaliser: contractions, numbers, titles, British spellings, "
        "symbols; per word, CER over the words' characters"
    )

    def prepare(self, language: str) -> None:
        self.check_language(language)
        whisper_english_normalizer()

    def normalize(
        self, text: str, language: str = "en", *, side: str = "reference", traditional_to_simplified: bool = False
    ) -> str:
        """Whisper's English normalisation, whitespace collapsed and stripped.

        Example:
            >>> whisper = WhisperEnglish()
            >>> whisper.normalize("I don't have 3 cats."), whisper.normalize("i do not have three cats")
            ('i do not have 3 cats', 'i do not have 3 cats')
            >>> whisper.normalize("Mr. Smith's well-known colour, uh, $20 million")
            'mister smith is well known color $20000000'
        """
        self._check(language, "char", side)
        if text is None:
            raise ValueError("cannot normalise None; expected a string")
        return " ".join(whisper_english_normalizer()(text).split())

    def units(self, normalized: str, language: str = "en", kind: str = "char") -> list[str]:
        self._check(language, kind)
        return normalized.split() if kind == "word" else _non_space(normalized)

    def unit_description(self, language: str, kind: str) -> str:
        self._check(language, kind)
        return (
            "words of Whisper's normalised text"
            if kind == "word"
            else "non-space characters of Whisper's normalised text (spaces between words do not count)"
        )


# ----------------------------------------------------------------------- spatialeval-text-1


class SpatialevalText1(TextNormalization):
    name = NORMALIZER_VERSION
    version = NORMALIZER_VERSION
    packages = ("opencc-python-reimplemented", "zhconv")
    description = (
        "NFKC, Unicode punctuation/symbols to spaces (word-internal apostrophes kept), lower case; "
        "en CER counts the spaces between words; no Mandarin WER"
    )

    def normalize(
        self, text: str, language: str, *, side: str = "reference", traditional_to_simplified: bool = False
    ) -> str:
        """:func:`spatialeval.metrics.text.normalize_text`, the same for both sides."""
        self._check(language, "char", side)
        return normalize_text(text, language, traditional_to_simplified=traditional_to_simplified)

    def units(self, normalized: str, language: str, kind: str = "char") -> list[str]:
        """Characters including single spaces (``en``) or without whitespace (``zh``); words in ``en`` only.

        Example:
            >>> SpatialevalText1().units("the cat", "en")
            ['t', 'h', 'e', ' ', 'c', 'a', 't']
        """
        self._check(language, kind)
        if kind == "word":
            if language != "en":
                raise ValueError(
                    "WER needs space-delimited words; for Mandarin use cer() "
                    "(or text_normalization='seed-tts-eval', whose Mandarin WER is the character rate)"
                )
            return normalized.split()
        return list(normalized)

    def unit_description(self, language: str, kind: str) -> str:
        self._check(language, kind)
        if kind == "word":
            self.units("", language, "word")  # raises for zh
            return "whitespace-separated words"
        return (
            "characters, including the single spaces between words"
            if language == "en"
            else "characters, whitespace removed"
        )


_REGISTRY: dict[str, TextNormalization] = {p.name: p for p in (SeedTTSEval(), WhisperEnglish(), SpatialevalText1())}
TEXT_NORMALIZATIONS: tuple[str, ...] = tuple(_REGISTRY)


def get_text_normalization(name: str | TextNormalization) -> TextNormalization:
    """The registered text normalisation called ``name`` (a :class:`TextNormalization` is returned as is).

    Example:
        >>> get_text_normalization("whisper-en").languages
        ('en',)
    """
    if isinstance(name, TextNormalization):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown text normalisation {name!r}; choose one of {', '.join(TEXT_NORMALIZATIONS)}"
        ) from None
