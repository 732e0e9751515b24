"""Character and word error rates of an ASR transcript against a reference text.

Both strings are first normalised by :func:`spatialeval.metrics.text.normalize_text`
(punctuation removed, NFKC, lower case; see that module for the exact rule and its
version). With S substitutions, D deletions and I insertions of the minimum-cost
(Levenshtein) alignment computed by ``jiwer``, and N reference units::

    CER = (S + D + I) / N        units = characters (English: spaces between words count;
                                 Mandarin: whitespace removed)
    WER = (S + D + I) / N        units = whitespace-separated words (English only)

Both can exceed 1 when the hypothesis has many insertions. Corpus CER pools the counts:
``Σ edits / Σ N`` over utterances.

Empty reference (N = 0 after normalisation): the rate is 0.0 when the hypothesis is
empty too and 1.0 otherwise (every hypothesis unit is an insertion; capped at 1 so a
single empty reference cannot dominate a mean). :func:`char_edit_counts` still returns
the raw insertion count, so the corpus CER counts those insertions in full.
"""
from __future__ import annotations

import math

import jiwer

from spatialeval.metrics.text import check_language, normalize_text


def _edits(output) -> int:
    return int(output.substitutions + output.deletions + output.insertions)


def char_edit_counts(reference: str, hypothesis: str, language: str = "en", *,
                     traditional_to_simplified: bool = False) -> tuple[int, int]:
    """``(S + D + I, N)`` at character level after normalisation.

    Example:
        >>> char_edit_counts("Hello, world!", "hello word")
        (1, 11)
        >>> char_edit_counts("你好，世界。", "你号世界", "zh")
        (1, 4)
        >>> char_edit_counts("", "ab")
        (2, 0)
    """
    ref = normalize_text(reference, language, traditional_to_simplified=traditional_to_simplified)
    hyp = normalize_text(hypothesis, language, traditional_to_simplified=traditional_to_simplified)
    if not ref:
        return len(hyp), 0
    if not hyp:
        return len(ref), len(ref)
    return _edits(jiwer.process_characters(ref, hyp)), len(ref)


def error_rate(edits: int, units: int) -> float:
    """``edits / units``, with the empty-reference rule: 0.0 if both are 0, 1.0 if only ``units`` is.

    Example:
        >>> error_rate(3, 12), error_rate(0, 0), error_rate(4, 0)
        (0.25, 0.0, 1.0)
    """
    if units == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / units


def cer(reference: str, hypothesis: str, language: str = "en", *, traditional_to_simplified: bool = False) -> float:
    """Character error rate ``(S + D + I) / N`` after normalisation.

    Example:
        >>> cer("The cat sat.", "the cat sad")  # 1 substitution / 11 characters
        0.09090909090909091
        >>> cer("今天天气很好！", "今天天汽很好", "zh")  # 1 / 6
        0.16666666666666666
        >>> cer("", "")
        0.0
    """
    return error_rate(*char_edit_counts(reference, hypothesis, language, traditional_to_simplified=traditional_to_simplified))


def word_edit_counts(reference: str, hypothesis: str, language: str = "en") -> tuple[int, int]:
    """``(S + D + I, N)`` at word level after normalisation (English only).

    Example:
        >>> word_edit_counts("The cat sat on the mat.", "the cat sat on a mat")
        (1, 6)
    """
    if check_language(language) != "en":
        raise ValueError("WER needs space-delimited words; for Mandarin use cer()")
    ref = normalize_text(reference, language).split()
    hyp = normalize_text(hypothesis, language).split()
    if not ref:
        return len(hyp), 0
    if not hyp:
        return len(ref), len(ref)
    return _edits(jiwer.process_words(" ".join(ref), " ".join(hyp))), len(ref)


def wer(reference: str, hypothesis: str, language: str = "en") -> float:
    """Word error rate ``(S + D + I) / N`` after normalisation; English only (raises for zh).

    Example:
        >>> wer("The cat sat on the mat.", "the cat sat on a mat")
        0.16666666666666666
        >>> wer("hello world", "")
        1.0
    """
    return error_rate(*word_edit_counts(reference, hypothesis, language))


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
