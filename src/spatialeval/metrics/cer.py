"""Character and word error rates of an ASR transcript against a reference text.

Both strings are normalised and cut into units by a named text normalisation
(:mod:`spatialeval.metrics.text_normalization`; default ``seed-tts-eval``, the practice
ISDrama's CER follows). With S substitutions, D deletions and I insertions of the
minimum-cost (Levenshtein, unit costs) alignment of the two unit sequences and N
reference units::

    CER = (S + D + I) / N        units = the normalisation's characters
    WER = (S + D + I) / N        units = the normalisation's words

What a unit is depends on the text normalisation and the language:

==================  ===========================================  ===========================================
normalisation       ``zh``                                       ``en``
==================  ===========================================  ===========================================
seed-tts-eval       char = word = character (whitespace          word = word; char = non-space character
                    dropped): the Mandarin "WER" is the CER
whisper-en          not defined (ValueError)                     word = word; char = non-space character
spatialeval-text-1  char = character; no WER (ValueError)        word = word; char = character incl. the
                                                                 single spaces between words
==================  ===========================================  ===========================================

The language is detected from the reference when not given
(:func:`spatialeval.metrics.text.resolve_language`: CJK → ``zh``, else ``en``); an explicit
language that contradicts the reference's script is honoured with a warning.

Rates can exceed 1 when the hypothesis has many insertions (not capped, as in
seed-tts-eval). Corpus rates pool the counts: ``Σ edits / Σ N`` over utterances;
seed-tts-eval and ISDrama report the mean of per-utterance rates instead.

Empty reference (N = 0 after normalisation; seed-tts-eval stops with an error there):
the rate is 0.0 when the hypothesis is empty too and 1.0 otherwise (capped at 1 so a
single empty reference cannot dominate a mean). The edit counts still carry the raw
insertion count, so a corpus rate counts those insertions in full.
"""

from __future__ import annotations

import math
from typing import Any

from rapidfuzz.distance import Levenshtein

from spatialeval.metrics.text import resolve_language
from spatialeval.metrics.text_normalization import DEFAULT_TEXT_NORMALIZATION, TextNormalization, get_text_normalization
from spatialeval.names import TEXT_KEYWORD_RENAMES, renamed_keyword


def _edits(reference_units: list[str], hypothesis_units: list[str]) -> tuple[int, int]:
    if not reference_units:
        return len(hypothesis_units), 0
    return int(Levenshtein.distance(reference_units, hypothesis_units)), len(reference_units)


def text_error_counts(
    reference: str,
    hypothesis: str,
    language: str | None = None,
    *,
    text_normalization: str | TextNormalization = DEFAULT_TEXT_NORMALIZATION,
    traditional_to_simplified: bool = False,
) -> dict[str, Any]:
    """Normalise both texts once and count edits at character and word level.

    Returns a dict: ``language`` (as scored), ``text_normalization`` (its name), the normalised
    ``reference`` and ``hypothesis``, ``char`` = ``(S + D + I, N)`` over characters and
    ``word`` = the same over words, or ``None`` where the normalisation defines no word rate
    for the language (spatialeval-text-1 in Mandarin).

    ``traditional_to_simplified``: seed-tts-eval always converts a Mandarin *hypothesis*;
    this flag converts the reference as well. spatialeval-text-1 converts both sides only
    with the flag. Raises ValueError for a language the normalisation does not score.

    Example:
        >>> counts = text_error_counts("今天天气很好，出去走走吧！", "今天天气很好出去走走吧")
        >>> counts["language"], counts["char"], counts["word"]
        ('zh', (0, 11), (0, 11))
    """
    scheme = get_text_normalization(text_normalization)
    language = scheme.check_language(resolve_language(language, reference, hypothesis))
    ref = scheme.normalize(reference, language, side="reference", traditional_to_simplified=traditional_to_simplified)
    hyp = scheme.normalize(hypothesis, language, side="hypothesis", traditional_to_simplified=traditional_to_simplified)
    char = _edits(scheme.units(ref, language, "char"), scheme.units(hyp, language, "char"))
    try:
        word = _edits(scheme.units(ref, language, "word"), scheme.units(hyp, language, "word"))
    except ValueError:
        word = None
    return {
        "language": language,
        "text_normalization": scheme.name,
        "reference": ref,
        "hypothesis": hyp,
        "char": char,
        "word": word,
    }


def _counts(
    kind: str, reference: str, hypothesis: str, language: str | None, text_normalization, traditional_to_simplified
):
    scheme = get_text_normalization(text_normalization)
    language = scheme.check_language(resolve_language(language, reference, hypothesis))
    units = []
    for side, text in (("reference", reference), ("hypothesis", hypothesis)):
        normalized = scheme.normalize(text, language, side=side, traditional_to_simplified=traditional_to_simplified)
        units.append(scheme.units(normalized, language, kind))
    return _edits(*units)


def char_edit_counts(
    reference: str,
    hypothesis: str,
    language: str | None = None,
    *,
    text_normalization: str | TextNormalization = DEFAULT_TEXT_NORMALIZATION,
    traditional_to_simplified: bool = False,
) -> tuple[int, int]:
    """``(S + D + I, N)`` over the normalisation's characters (``language=None``: detected).

    Example:
        >>> char_edit_counts("Hello, world!", "hello word")  # helloworld vs helloword
        (1, 10)
        >>> char_edit_counts("Hello, world!", "hello word", text_normalization="spatialeval-text-1")  # space counts
        (1, 11)
        >>> char_edit_counts("你好，世界。", "你号世界")
        (1, 4)
        >>> char_edit_counts("", "ab")
        (2, 0)
    """
    return _counts("char", reference, hypothesis, language, text_normalization, traditional_to_simplified)


def word_edit_counts(
    reference: str,
    hypothesis: str,
    language: str | None = None,
    *,
    text_normalization: str | TextNormalization = DEFAULT_TEXT_NORMALIZATION,
    traditional_to_simplified: bool = False,
) -> tuple[int, int]:
    """``(S + D + I, N)`` over the normalisation's words; under seed-tts-eval Mandarin words are characters.

    Example:
        >>> word_edit_counts("The cat sat on the mat.", "the cat sat on a mat")
        (1, 6)
        >>> word_edit_counts("今天天气很好", "今天天汽很好")  # seed-tts-eval: Mandarin per character
        (1, 6)
    """
    return _counts("word", reference, hypothesis, language, text_normalization, traditional_to_simplified)


def error_rate(edits: int, units: int) -> float:
    """``edits / units``, with the empty-reference rule: 0.0 if both are 0, 1.0 if only ``units`` is.

    Example:
        >>> error_rate(3, 12), error_rate(0, 0), error_rate(4, 0)
        (0.25, 0.0, 1.0)
    """
    if units == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / units


def _renamed_text_normalization(text_normalization, renamed: dict, where: str):
    """``text_normalization``, or the deprecated ``protocol=`` given in its place (read with a note)."""
    options = renamed_keyword(renamed, "text_normalization", where, TEXT_KEYWORD_RENAMES)
    return options.get("text_normalization", text_normalization)


def cer(
    reference: str,
    hypothesis: str,
    language: str | None = None,
    *,
    text_normalization: str | TextNormalization = DEFAULT_TEXT_NORMALIZATION,
    traditional_to_simplified: bool = False,
    **renamed,
) -> float:
    """Character error rate ``(S + D + I) / N`` of ``hypothesis`` against ``reference``.

    Args:
        reference: the text that was to be spoken.
        hypothesis: the ASR transcript.
        language: ``en``, ``zh``, or ``None``/``"auto"`` to detect it from the reference.
        text_normalization: ``seed-tts-eval`` (default), ``whisper-en`` or ``spatialeval-text-1``.
        traditional_to_simplified: also convert the reference to simplified Chinese.

    Returns:
        The rate (0 = identical after normalisation; may exceed 1).

    Raises:
        ValueError: a language the normalisation does not score; ImportError: a package the
        normalisation needs is missing (the message names it).

    Example:
        >>> cer("The cat sat.", "the cat sad")  # 1 substitution / 9 non-space characters
        0.1111111111111111
        >>> cer("今天天气很好！", "今天天汽很好")  # detected zh: 1 / 6
        0.16666666666666666
        >>> cer("", "")
        0.0
    """
    text_normalization = _renamed_text_normalization(text_normalization, renamed, "cer()")
    return error_rate(
        *char_edit_counts(
            reference,
            hypothesis,
            language,
            text_normalization=text_normalization,
            traditional_to_simplified=traditional_to_simplified,
        )
    )


def wer(
    reference: str,
    hypothesis: str,
    language: str | None = None,
    *,
    text_normalization: str | TextNormalization = DEFAULT_TEXT_NORMALIZATION,
    traditional_to_simplified: bool = False,
    **renamed,
) -> float:
    """Word error rate ``(S + D + I) / N``; arguments as :func:`cer`.

    Under ``seed-tts-eval`` the "WER" of Mandarin is its character rate (equal to
    :func:`cer`), as seed-tts-eval reports it; ``spatialeval-text-1`` raises ValueError for
    Mandarin and ``whisper-en`` for any non-English text.

    Example:
        >>> wer("The cat sat on the mat.", "the cat sat on a mat")
        0.16666666666666666
        >>> wer("I don't have 3 cats.", "i do not have three cats", text_normalization="whisper-en")
        0.0
        >>> wer("hello world", "")
        1.0
    """
    text_normalization = _renamed_text_normalization(text_normalization, renamed, "wer()")
    return error_rate(
        *word_edit_counts(
            reference,
            hypothesis,
            language,
            text_normalization=text_normalization,
            traditional_to_simplified=traditional_to_simplified,
        )
    )


def corpus_cer(counts) -> float:
    """Pooled CER ``Σ edits / Σ N`` over ``(edits, N)`` pairs; NaN when ``Σ N`` is 0.

    Example:
        >>> corpus_cer([(1, 10), (3, 30)])
        0.1
        >>> import math; math.isnan(corpus_cer([]))
        True
    """
    edits = units = 0
    for item_edits, item_units in counts:
        edits += int(item_edits)
        units += int(item_units)
    return edits / units if units else math.nan
