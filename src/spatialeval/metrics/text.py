"""Language detection, and the ``spatialeval-text-1`` normalisation rule.

The named normalisation protocols (``seed-tts-eval``, ``whisper-en`` and this module's
``spatialeval-text-1``) live in :mod:`spatialeval.metrics.text_normalization`; see
``docs/text-normalisation.md`` for how they differ.

**Language detection** (:func:`detect_language`): a text is Mandarin (``zh``) when it
holds at least one CJK character (Han ideograph, kana or bopomofo) and at least as many
CJK characters as runs of other letters (words), else English (``en``). ``我用iPhone打电话``
(5 CJK, 1 word) is ``zh``; ``The character 人 means person`` (1 CJK, 4 words) is ``en``.

The ``spatialeval-text-1`` rule (version :data:`NORMALIZER_VERSION`), applied to both
reference and ASR output:

1. optional traditional → simplified Chinese conversion (``opencc`` from
   ``opencc-python-reimplemented``, else ``zhconv``; imported only when asked for);
2. Unicode NFKC, which maps full-width forms to half-width (``Ａ１，`` → ``A1,``) and
   compatibility characters to their plain form (``…`` → ``...``);
3. typographic apostrophes (’ ‘ ʼ) become ``'``;
4. lower case;
5. every punctuation or symbol character (Unicode categories P* and S*: ASCII and
   CJK punctuation such as ，。！？、；：「」『』（）《》—·, currency and maths signs) is
   replaced by a space — except an apostrophe between two letters/digits in English
   (``don't`` stays one word, as ASR vocabularies spell it);
6. whitespace runs collapse to one space, leading/trailing space is dropped.

Then the unit of scoring:

* **English** (``en``): CER is per character of the normalised string, *including* the
  single spaces between words (so a word split or join costs one edit); WER is per
  whitespace-separated word.
* **Mandarin** (``zh``): all whitespace is removed and CER is per character.

Numbers are not verbalised ("3" and "three" differ), as in seed-tts-eval.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import lru_cache
from typing import Callable

NORMALIZER_VERSION = "spatialeval-text-1"
LANGUAGES = ("en", "zh")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_KEPT_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_PLACEHOLDER = "\uf8ff"  # private-use character, never a letter, never punctuation after NFKC


class LanguageMismatchWarning(UserWarning):
    """An explicit language contradicts the script of the reference text (it is honoured)."""


# Han ideographs (URO, extensions A-F, compatibility), kana, bopomofo.
_CJK = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)


def _script_counts(text: str) -> tuple[int, int]:
    """(CJK characters, runs of other letters) in ``text``."""
    cjk = len(_CJK.findall(text))
    words = 0
    in_word = False
    for ch in _CJK.sub(" ", text):
        letter = ch.isalpha()
        words += letter and not in_word
        in_word = letter
    return cjk, words


def detect_language(text: str) -> str:
    """``zh`` when CJK characters are present and at least as many as other-letter words, else ``en``.

    Example:
        >>> detect_language("今天天气很好，出去走走吧！"), detect_language("I don't have 3 cats.")
        ('zh', 'en')
        >>> detect_language("我用iPhone打电话"), detect_language("The character 人 means person")
        ('zh', 'en')
    """
    cjk, words = _script_counts(text or "")
    return "zh" if cjk and cjk >= words else "en"


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text or "")


def resolve_language(language: str | None, reference: str, hypothesis: str = "") -> str:
    """The scoring language: ``language`` if given, else detected from the text.

    ``None`` or ``"auto"``: detected from the reference (:func:`detect_language`); from
    the hypothesis when the reference has no letter at all; ``en`` when neither has.
    An explicit ``en``/``zh`` is honoured, with a :class:`LanguageMismatchWarning` when the
    reference's script says otherwise (e.g. ``en`` on Mandarin text).

    Example:
        >>> resolve_language(None, "你好，世界"), resolve_language("auto", "", "hello")
        ('zh', 'en')
        >>> resolve_language("en", "hello")
        'en'
    """
    if language is None or language == "auto":
        for text in (reference, hypothesis):
            if _has_letters(text):
                return detect_language(text)
        return "en"
    check_language(language)
    if _has_letters(reference) and detect_language(reference) != language:
        warnings.warn(
            f"language={language!r} is honoured, but the reference text looks like "
            f"{detect_language(reference)!r}; pass language=None to detect it",
            LanguageMismatchWarning,
            stacklevel=3,
        )
    return language


def check_language(language: str) -> str:
    """Return ``language`` if supported (``en`` or ``zh``), else raise ValueError.

    Example:
        >>> check_language("zh")
        'zh'
    """
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return language


@lru_cache(maxsize=1)
def simplifier() -> Callable[[str], str]:
    """A traditional → simplified Chinese converter, from opencc or zhconv (imported lazily).

    Raises ImportError naming the package to install when neither is present.

    Example:
        >>> convert = simplifier()  # doctest: +SKIP
        >>> convert("語音")  # doctest: +SKIP
        '语音'
    """
    try:
        from opencc import OpenCC  # opencc-python-reimplemented (or the C++ binding)
    except ImportError:
        pass
    else:
        try:
            converter = OpenCC("t2s")
        except Exception:  # the C++ binding names its configs "t2s.json"
            converter = OpenCC("t2s.json")
        return converter.convert
    try:
        import zhconv
    except ImportError:
        raise ImportError(
            "traditional→simplified conversion needs opencc or zhconv: "
            "pip install opencc-python-reimplemented  (or: pip install 'spatialeval[chinese]')"
        ) from None
    return lambda text: zhconv.convert(text, "zh-cn")


def _strip_punctuation(text: str, language: str) -> str:
    if language == "en":
        text = _KEPT_APOSTROPHE.sub(_PLACEHOLDER, text)
    chars = [" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text]
    return "".join(chars).replace(_PLACEHOLDER, "'")


def normalize_text(text: str, language: str = "en", *, traditional_to_simplified: bool = False) -> str:
    """Normalise ``text`` for scoring (see the module docstring for the rule).

    English keeps single spaces between words; Mandarin has all whitespace removed.

    Example:
        >>> normalize_text("Hello,  WORLD! Don’t   stop…")
        "hello world don't stop"
        >>> normalize_text("你好，世界！「ＡＢＣ」１２３。", "zh")
        '你好世界abc123'
        >>> normalize_text("well-known 'quotes'")
        'well known quotes'
    """
    check_language(language)
    if text is None:
        raise ValueError("cannot normalise None; expected a string")
    if traditional_to_simplified:
        text = simplifier()(text)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _strip_punctuation(text, language)
    if language == "zh":
        return "".join(text.split())
    return " ".join(text.split())


def words(normalized: str) -> list[str]:
    """Whitespace-separated words of a normalised string.

    Example:
        >>> words("the quick fox")
        ['the', 'quick', 'fox']
    """
    return normalized.split()
