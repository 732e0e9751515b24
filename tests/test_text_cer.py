"""Text normalisation and CER/WER against hand-computed values."""

import math
import sys

import pytest

from spatialeval.io.pairing import Pair
from spatialeval.io.transcripts import TranscriptError, load_transcripts, resolve_reference
from spatialeval.metrics import text
from spatialeval.metrics.cer import cer, char_edit_counts, corpus_cer, wer, word_edit_counts
from spatialeval.metrics.text import NORMALIZER_VERSION, LanguageMismatchWarning, normalize_text


def test_english_normalisation_punctuation_fullwidth_case_spaces():
    raw = "Hello,  World!\tIt’s　ＦＵＬＬ-width… (really)?"
    assert normalize_text(raw, "en") == "hello world it's full width really"


def test_mandarin_normalisation_removes_cjk_punctuation_and_spaces():
    raw = "你好，世界！「测试」『引号』（一）《书》…——·；：、？ ＡＢＣ １２３。"
    assert normalize_text(raw, "zh") == "你好世界测试引号一书abc123"


def test_normalizer_is_versioned_and_language_checked():
    assert NORMALIZER_VERSION.startswith("spatialeval-text-")
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        normalize_text("bonjour", "fr")


def test_mandarin_cer_hand_computed():
    # 今天天气很好 (6 chars) vs 今天天汽很好啊: one substitution (气→汽) + one insertion (啊)
    assert char_edit_counts("今天天气很好。", "今天天汽很好啊！", "zh") == (2, 6)
    assert cer("今天天气很好。", "今天天汽很好啊！", "zh") == pytest.approx(2 / 6)
    # spatialeval-text-1: full-width letters/digits (NFKC) and spaces do not count in Mandarin
    # (no longer the default protocol: seed-tts-eval scores these 6 characters as 6 substitutions)
    with pytest.warns(LanguageMismatchWarning):  # explicit zh on Latin-only text: honoured, with a warning
        assert cer("ＡＢＣ，１２３", "abc 123", "zh", text_normalization="spatialeval-text-1") == 0.0


def test_english_cer_and_wer_hand_computed():
    # spatialeval-text-1 (its space-counting English CER is no longer the default, hence explicit)
    old = "spatialeval-text-1"
    # "the cat sat" (11 chars incl. 2 spaces) vs "the bat sat on": c→b, +" on" (3 insertions)
    assert char_edit_counts("The cat sat.", "the bat sat on", "en", text_normalization=old) == (4, 11)
    assert cer("The cat sat.", "the bat sat on", text_normalization=old) == pytest.approx(4 / 11)
    # words: cat→bat, +on over 3 reference words
    assert word_edit_counts("The cat sat.", "the bat sat on", text_normalization=old) == (2, 3)
    assert wer("The cat sat.", "the bat sat on", text_normalization=old) == pytest.approx(2 / 3)
    # a split word costs one edit (the space)
    assert char_edit_counts("notebook", "note book", text_normalization=old) == (1, 8)


def test_empty_reference_and_hypothesis_rules():
    assert cer("", "") == 0.0
    assert cer("?!", "hello") == 1.0  # reference empty after normalisation
    assert char_edit_counts("", "abc") == (3, 0)
    assert cer("abc", "") == 1.0
    assert wer("", "") == 0.0


def test_wer_refuses_mandarin():
    with pytest.raises(ValueError, match="Mandarin"):
        wer("你好", "你好", "zh", text_normalization="spatialeval-text-1")


def test_corpus_cer_pools_counts():
    assert corpus_cer([(2, 6), (4, 11), (3, 0)]) == pytest.approx(9 / 17)
    assert math.isnan(corpus_cer([]))


def test_traditional_to_simplified():
    pytest.importorskip("opencc")
    text.simplifier.cache_clear()
    assert cer("語音識別", "语音识别", "zh", text_normalization="spatialeval-text-1") == pytest.approx(3 / 4)
    assert (
        cer("語音識別", "语音识别", "zh", text_normalization="spatialeval-text-1", traditional_to_simplified=True)
        == 0.0
    )


def test_simplifier_missing_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "opencc", None)
    monkeypatch.setitem(sys.modules, "zhconv", None)
    text.simplifier.cache_clear()
    try:
        with pytest.raises(ImportError, match="pip install opencc-python-reimplemented"):
            normalize_text("語音", "zh", traditional_to_simplified=True)
    finally:
        text.simplifier.cache_clear()


def test_transcripts_formats(tmp_path):
    (tmp_path / "t.json").write_text('{"a": " Hello. ", "b": "你好"}', encoding="utf-8")
    assert load_transcripts(tmp_path / "t.json") == {"a": "Hello.", "b": "你好"}
    (tmp_path / "t.csv").write_text('text,id\n"Hi, there",a\nYo,b\n', encoding="utf-8")
    assert load_transcripts(tmp_path / "t.csv") == {"a": "Hi, there", "b": "Yo"}
    (tmp_path / "t.tsv").write_text("id\ttext\na\tone two\n", encoding="utf-8")
    assert load_transcripts(tmp_path / "t.tsv") == {"a": "one two"}
    (tmp_path / "plain.txt").write_text("spk/a\tone two\nb three\n", encoding="utf-8")
    assert load_transcripts(tmp_path / "plain.txt") == {"spk/a": "one two", "b": "three"}


def test_transcripts_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TranscriptError, match="bad.json: expected a JSON object"):
        load_transcripts(bad)
    dup = tmp_path / "dup.tsv"
    dup.write_text("a\tx\na\ty\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"dup.tsv:2: duplicate id 'a'"):
        load_transcripts(dup)
    with pytest.raises(TranscriptError, match="not found"):
        load_transcripts(tmp_path / "missing.json")


def test_reference_precedence(tmp_path):
    gt = tmp_path / "utt.wav"
    gt.write_bytes(b"")
    pair = Pair(id="spk/utt", gt=str(gt), gen=str(gt))
    assert resolve_reference(pair) == (None, "asr_gt")
    (tmp_path / "utt.lab").write_text("from sidecar\n", encoding="utf-8")
    assert resolve_reference(pair) == ("from sidecar", "sidecar")
    with_text = Pair(id="spk/utt", gt=str(gt), gen=str(gt), text="from manifest")
    assert resolve_reference(with_text) == ("from manifest", "manifest")
    assert resolve_reference(with_text, {"utt": "from file"}) == ("from file", "transcripts")
    with pytest.raises(TranscriptError, match="'spk/utt' has no entry in t.json"):
        resolve_reference(with_text, {"other": "x"}, "t.json")
