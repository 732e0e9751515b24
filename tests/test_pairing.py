"""Pairing gt and generated files by relative path and stem, or from a manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from spatialeval.io.pairing import PairingError, find_pairs, pair_directories, pair_from_manifest


def _wav(path, fmt="WAV"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((800, 2)), 16000, format=fmt)


def test_recursive_pairing_by_stem_across_formats(tmp_path):
    _wav(tmp_path / "gt" / "spk1" / "a.wav")
    _wav(tmp_path / "infer" / "spk1" / "a.flac", "FLAC")
    _wav(tmp_path / "gt" / "b c ü.wav")
    _wav(tmp_path / "infer" / "b c ü.wav")
    (tmp_path / "gt" / "notes.txt").write_text("not audio")
    result = pair_directories(tmp_path / "gt", tmp_path / "infer")
    assert [p.id for p in result.pairs] == ["b c ü", "spk1/a"]
    assert result.pairs[1].gen.endswith("a.flac")


def test_unmatched_files_are_listed_in_one_error(tmp_path):
    _wav(tmp_path / "gt" / "a.wav")
    _wav(tmp_path / "gt" / "only_gt.wav")
    _wav(tmp_path / "infer" / "a.wav")
    _wav(tmp_path / "infer" / "sub" / "only_infer.wav")
    with pytest.raises(PairingError) as info:
        pair_directories(tmp_path / "gt", tmp_path / "infer")
    message = str(info.value)
    assert "gt without gen: only_gt" in message and "gen without gt: sub/only_infer" in message
    assert "--allow-partial" in message
    partial = pair_directories(tmp_path / "gt", tmp_path / "infer", allow_partial=True)
    assert [p.id for p in partial.pairs] == ["a"]
    assert partial.left_out == {"only_gt": ["only_gt"], "only_gen": ["sub/only_infer"]}


def test_ambiguous_stems_are_refused(tmp_path):
    _wav(tmp_path / "gt" / "a.wav")
    _wav(tmp_path / "gt" / "a.flac", "FLAC")
    _wav(tmp_path / "infer" / "a.wav")
    with pytest.raises(PairingError, match="share the id 'a'"):
        pair_directories(tmp_path / "gt", tmp_path / "infer")


def test_csv_and_jsonl_manifests(tmp_path):
    _wav(tmp_path / "g" / "x.wav")
    _wav(tmp_path / "i" / "x.wav")
    _wav(tmp_path / "p.wav")
    (tmp_path / "m.csv").write_text("id,gt,gen,text,prompt\nitem1,g/x.wav,i/x.wav,hello world,p.wav\n")
    pairs = pair_from_manifest(tmp_path / "m.csv").pairs
    assert pairs[0].id == "item1" and pairs[0].text == "hello world" and pairs[0].prompt.endswith("p.wav")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"gt": "g/x.wav", "infer": "i/x.wav"})
        + "\n"
        + json.dumps({"id": "gone", "gt": "g/x.wav", "infer": "i/missing.wav"})
        + "\n"
    )
    with pytest.raises(PairingError, match="gt without gen: gone"):
        find_pairs(tmp_path / "m.jsonl")
    partial = find_pairs(tmp_path / "m.jsonl", allow_partial=True)
    assert [p.id for p in partial.pairs] == ["g/x"] and partial.only_gt == ["gone"]


def test_malformed_manifest_rows(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"gt": "a.wav"}\n')
    with pytest.raises(PairingError, match="lacks gen"):
        pair_from_manifest(tmp_path / "bad.jsonl")
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(PairingError, match="invalid JSON"):
        pair_from_manifest(tmp_path / "broken.jsonl")


def test_missing_directory(tmp_path):
    with pytest.raises(PairingError, match="not a directory"):
        pair_directories(tmp_path / "nope", tmp_path)
