"""Text normalisation applied to both reference and ASR output before CER/WER.

The rule (version :data:`NORMALIZER_VERSION`, recorded in every summary):

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
from functools import lru_cache
from typing import Callable

NORMALIZER_VERSION = "spatialeval-text-1"
LANGUAGES = ("en", "zh")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_KEPT_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_PLACEHOLDER = "\uf8ff"  # private-use character, never a letter, never punctuation after NFKC


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
