"""Bad inputs, resumable runs, determinism, sharding and the feature cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rowcompare import assert_same_rows, differences

from spatialeval.cli import main
from spatialeval.pipeline.evaluate import evaluate
from spatialeval.pipeline.merge import merge_results

SR = 32000


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    from spatialeval.synth import spatialize, speech_like

    return 0.5 * spatialize(speech_like(seconds, SR, seed=seed), SR, 30.0)


def _write(path: Path, data, sr=SR, subtype=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, subtype=subtype)


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> Path:
    """One good pair and one pair per kind of bad input; returns the root with gt/ and infer/."""
    root = tmp_path_factory.mktemp("bad")
    good = _speech(1.5)
    gt, inf = root / "gt", root / "infer"
    _write(gt / "good.wav", good)
    _write(inf / "good.wav", good * 0.9)
    _write(gt / "mono.wav", good)
    _write(inf / "mono.wav", good[:, 0])
    _write(gt / "three_channels.wav", good)
    _write(inf / "three_channels.wav", np.c_[good, good[:, :1]])
    _write(gt / "empty_file.wav", good)
    (inf / "empty_file.wav").write_bytes(b"")
    _write(gt / "zero_frames.wav", good)
    _write(inf / "zero_frames.wav", np.zeros((0, 2)))
    _write(gt / "truncated_header.wav", good)
    (inf / "truncated_header.wav").write_bytes((gt / "truncated_header.wav").read_bytes()[:30])
    _write(gt / "not_audio.wav", good)
    (inf / "not_audio.wav").write_text("<html>this is not audio</html>")
    nan = good.copy()
    nan[100, 0] = np.nan
    _write(gt / "nan_samples.wav", good)
    _write(inf / "nan_samples.wav", nan, subtype="FLOAT")
    inf_samples = good.copy()
    inf_samples[5, 1] = np.inf
    _write(gt / "inf_samples.wav", good)
    _write(inf / "inf_samples.wav", inf_samples, subtype="FLOAT")
    _write(gt / "clip_10ms.wav", good)
    _write(inf / "clip_10ms.wav", good[:320])
    long = _speech(40.0, seed=3)
    _write(gt / "long_40s.wav", long)
    _write(inf / "long_40s.wav", long)
    _write(gt / "rates_16k_48k.wav", good[::2], sr=16000)
    from scipy.signal import resample_poly

    _write(inf / "rates_16k_48k.wav", resample_poly(good, 3, 2, axis=0), sr=48000)
    _write(gt / "pcm_u8.wav", good)
    _write(inf / "pcm_u8.wav", good, subtype="PCM_U8")
    _write(gt / "pcm_24.wav", good)
    _write(inf / "pcm_24.wav", good, subtype="PCM_24")
    _write(gt / "float.wav", good, subtype="DOUBLE")
    _write(inf / "float.wav", good, subtype="FLOAT")
    _write(gt / "only_gt.wav", good)
    _write(gt / "ünïcode name with spaces.wav", good)
    _write(inf / "ünïcode name with spaces.wav", good)
    _write(gt / "silent.wav", np.zeros((SR, 2)))
    _write(inf / "silent.wav", np.zeros((SR, 2)))
    return root


EXPECTED_ERRORS = {
    "mono": "expected 2-channel (binaural) audio, got mono",
    "three_channels": "got 3-channel",
    "empty_file": "cannot decode audio",
    "zero_frames": "no samples",
    "truncated_header": "cannot decode audio",
    "not_audio": "cannot decode audio",
    "nan_samples": "NaN or infinite samples",
    "inf_samples": "NaN or infinite samples",
    "clip_10ms": "shorter than the 20 ms minimum",
}


@pytest.fixture
def tiny_encoder():
    """The small stand-in spatial encoder (tests/plugins/tiny_encoder.py) as ``bat.encoder: tiny``."""
    from plugins.tiny_encoder import TinySpatialEncoder

    from spatialeval.models.registry import SPATIAL_ENCODERS

    SPATIAL_ENCODERS.register("tiny", TinySpatialEncoder)
    yield
    SPATIAL_ENCODERS.unregister("tiny")


@pytest.mark.slow
def test_bad_inputs_get_clear_per_item_errors(bad_corpus, tmp_path, tiny_encoder, capsys):
    # What is tested is how the pipeline loads, refuses or scores each input, not BAT's weights (tests/test_parity.py
    # and the resume test below run those): the small stand-in encoder, with BAT's 32-kHz 10-s input contract,
    # spares about 20 real-size ViT windows.
    settings = tmp_path / "tiny.yaml"
    settings.write_text("bat:\n  encoder: tiny\n", encoding="utf-8")
    out = tmp_path / "res"
    code = main(
        [
            "run",
            str(bad_corpus / "gt"),
            str(bad_corpus / "infer"),
            "--stages",
            "interaural,bat",
            "--config",
            str(settings),
            "--allow-partial",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 3  # some items failed, the run completed
    rows = {
        json.loads(line)["id"]: json.loads(line)
        for line in (out / "items.jsonl").read_text(encoding="utf-8").splitlines()
    }
    for item, fragment in EXPECTED_ERRORS.items():
        assert rows[item]["error"] and fragment in rows[item]["error"], (item, rows[item]["error"])
        assert "infer" in rows[item]["error"] or "load" in rows[item]["error"]
        assert rows[item]["ipd_mae"] is None and rows[item]["ang_cos"] is None
    documented_ok = [
        "good",
        "long_40s",
        "rates_16k_48k",
        "pcm_u8",
        "pcm_24",
        "float",
        "ünïcode name with spaces",
        "silent",
    ]
    for item in documented_ok:
        assert rows[item]["error"] is None, (item, rows[item]["error"])
        assert rows[item]["ipd_mae"] is not None and rows[item]["ang_cos"] is not None
    assert rows["silent"]["ipd_mae"] == 0.0 and rows["silent"]["ild_mae"] == 0.0
    assert rows["float"]["ild_mae"] < 1e-6  # float64 vs float32 encodings of the same samples
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_failed"] == len(EXPECTED_ERRORS) and summary["left_out"]["only_gt"] == ["only_gt"]
    assert summary["stages"]["bat"]["model"] == "tiny test encoder"
    assert summary["n_items"] == len(EXPECTED_ERRORS) + len(documented_ok)
    assert not [p for p in out.rglob("*.tmp")]  # atomic writes leave no temporaries
    printed = capsys.readouterr().out
    assert "failed items (9)" in printed


def test_strict_protocol_on_silence_is_nan_not_crash(tmp_path):
    _write(tmp_path / "gt" / "s.wav", np.zeros((SR, 2)))
    _write(tmp_path / "infer" / "s.wav", np.zeros((SR, 2)))
    res = evaluate(tmp_path / "gt", tmp_path / "infer", {"protocol": "strict", "stages": ["interaural"]})
    assert res.items.loc[0, "error"] is None and np.isnan(res.items.loc[0, "ipd_mae"])


@pytest.fixture(scope="module")
def six_pairs(pairs_dir, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("six")
    for side in ("gt", "infer"):
        (root / side).mkdir()
        for name in ("same", "az_shift_small", "quieter", "rate_mixed", "long_14s", "shorter_infer"):
            shutil.copy(pairs_dir / side / f"{name}.wav", root / side / f"{name}.wav")
    return root


@pytest.fixture(scope="module")
def four_pairs(six_pairs, tmp_path_factory) -> Path:
    """Four of the six pairs (the multi-window, mixed-rate and length-mismatch ones kept): two chunks of two."""
    root = tmp_path_factory.mktemp("four")
    for side in ("gt", "infer"):
        (root / side).mkdir()
        for name in ("az_shift_small", "long_14s", "rate_mixed", "shorter_infer"):
            shutil.copy(six_pairs / side / f"{name}.wav", root / side / f"{name}.wav")
    return root


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "spatialeval.cli", *map(str, args)]


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(four_pairs, tmp_path, test_checkpoint):
    # Real BAT weights on purpose: the resumed rows must equal a clean run's to float32 rounding. Chunks of two
    # pairs, so that the process is killed with one chunk written and one in flight. Only the killed run needs its
    # own process (SIGKILL); the resume and the clean run go through the same CLI entry point in this process,
    # which saves two interpreter and model start-ups.
    args = [
        "run",
        four_pairs / "gt",
        four_pairs / "infer",
        "--stages",
        "interaural,bat",
        "--ckpt",
        test_checkpoint,
        "--batch-size",
        "2",
        "--chunk-size",
        "2",
        "--quiet",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(*args, "--out", killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = killed / "items.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not log.is_file() or len(log.read_text().splitlines()) < 2):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = len(log.read_text().splitlines())
    assert 2 <= finished_before < 4, "the run must be interrupted mid-way"
    assert not (killed / "summary.json").exists()
    assert main([*map(str, args), "--out", str(killed)]) == 0
    clean = tmp_path / "clean"
    assert main([*map(str, args), "--out", str(clean)]) == 0
    # The killed process's rows and the in-process rows may come from other thread counts (and, if the kill
    # lands mid-write, other batches): equal to float32 rounding (tests/rowcompare.py), not bit for bit.
    assert_same_rows(killed / "items.jsonl", clean / "items.jsonl")
    a, b = (json.loads((d / "summary.json").read_text()) for d in (killed, clean))
    assert a.pop("run")["resume"]["reused"] >= 2 and b.pop("run")["resume"]["reused"] == 0  # how this execution went
    assert not differences(a, b)


def test_two_runs_are_byte_identical(six_pairs, tmp_path):
    for name in ("a", "b"):
        evaluate(six_pairs / "gt", six_pairs / "infer", {"stages": ["interaural"]}, out_dir=tmp_path / name)
    for file in ("items.jsonl", "items.csv", "summary.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_resume_refuses_other_settings(six_pairs, tmp_path):
    evaluate(six_pairs / "gt", six_pairs / "infer", {"stages": ["interaural"]}, out_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="other settings"):
        evaluate(
            six_pairs / "gt",
            six_pairs / "infer",
            {"stages": ["interaural"], "protocol": "strict"},
            out_dir=tmp_path / "r",
        )


def test_shards_merge_into_the_single_run_summary(pairs_dir, tmp_path):
    config = {"stages": ["interaural"]}
    single = evaluate(pairs_dir / "gt", pairs_dir / "infer", config, out_dir=tmp_path / "single")
    shard_dirs = []
    for k in (1, 2, 3):
        shard_dirs.append(tmp_path / f"shard{k}")
        part = evaluate(pairs_dir / "gt", pairs_dir / "infer", {**config, "shard": f"{k}/3"}, out_dir=shard_dirs[-1])
        assert 0 < len(part.items) < len(single.items)
    assert main(["merge", *map(str, shard_dirs), "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    reference = json.loads((tmp_path / "single" / "summary.json").read_text())
    for key in ("ipd_mae", "ild_mae", "n_items", "n_failed", "counts", "protocol", "stages"):
        assert merged[key] == reference[key], key
    assert (tmp_path / "merged" / "items.jsonl").read_bytes() == (tmp_path / "single" / "items.jsonl").read_bytes()


def test_cache_computes_ground_truth_once(six_pairs, tmp_path):
    cache = tmp_path / "cache"
    config = {"stages": ["interaural"], "cache_dir": str(cache)}
    first = evaluate(six_pairs / "gt", six_pairs / "infer", config)
    entries = set(cache.rglob("*.npz"))
    distinct = {hashlib.sha256(p.read_bytes()).hexdigest() for p in six_pairs.rglob("*.wav")}
    assert len(entries) == len(distinct)  # keyed by content: identical files share one entry
    new_infer = tmp_path / "infer2"
    shutil.copytree(six_pairs / "infer", new_infer)
    for path in new_infer.glob("*.wav"):  # a "new generation": same gt, other infer audio
        data, sr = sf.read(path)
        sf.write(path, data * 0.5, sr)
    evaluate(six_pairs / "gt", new_infer, config)
    added = set(cache.rglob("*.npz")) - entries
    assert len(added) == 6  # only the new generations were analysed; gt came from the cache
    again = evaluate(six_pairs / "gt", six_pairs / "infer", config)
    assert again.items.equals(first.items)


def test_asr_transcripts_are_cached_by_content(tmp_path, monkeypatch):
    from spatialeval.pipeline.stages import cer as cer_stage

    voice = _speech(2.0)
    _write(tmp_path / "gt" / "a.wav", voice)
    _write(tmp_path / "infer" / "a.wav", voice * 0.5)
    calls = []
    config = {"stages": ["cer"], "cache_dir": str(tmp_path / "cache")}
    first = evaluate(tmp_path / "gt", tmp_path / "infer", config)
    original = cer_stage.CERStage._transcribe
    monkeypatch.setattr(
        cer_stage.CERStage, "_transcribe", lambda self, item, side: calls.append(side) or original(self, item, side)
    )
    import spatialeval.models.asr as asr_module

    monkeypatch.setattr(asr_module.PocketSphinxASR, "transcribe", lambda self, audio: pytest.fail("ASR ran again"))
    again = evaluate(tmp_path / "gt", tmp_path / "infer", config)
    assert sorted(calls) == ["gen", "gt"] and again.items.loc[0, "cer"] == first.items.loc[0, "cer"]


@pytest.mark.slow
def test_resume_and_merge_refuse_results_of_other_models(pairs_dir, tmp_path, test_checkpoint, monkeypatch):
    import spatialeval.pipeline.config as config_module
    from spatialeval.io.pairing import Pair

    pairs = [
        Pair(n, str(pairs_dir / "gt" / f"{n}.wav"), str(pairs_dir / "infer" / f"{n}.wav")) for n in ("same", "quieter")
    ]
    monkeypatch.setattr(config_module, "DEFAULT_STAGES", ("interaural", "bat"))  # default, not named: may skip
    config = {}
    evaluate(None, None, config, pairs=pairs, out_dir=tmp_path / "run")  # no checkpoint: bat skipped
    with pytest.raises(ValueError, match="other settings or models"):
        evaluate(None, None, config, pairs=pairs, out_dir=tmp_path / "run", checkpoint=str(test_checkpoint))
    evaluate(None, None, {**config, "shard": "1/2"}, pairs=pairs, out_dir=tmp_path / "s1")
    evaluate(
        None, None, {**config, "shard": "2/2"}, pairs=pairs, out_dir=tmp_path / "s2", checkpoint=str(test_checkpoint)
    )
    with pytest.raises(ValueError, match="different settings or models"):
        merge_results([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
