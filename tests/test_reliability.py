"""No silently wrong number: one regression test per finding of the reliability review (issue 8).

Each test failed on the code before the fix (the comment above it says how) and passes now.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from rowcompare import differences

from spatialeval.cli import main
from spatialeval.errors import EXIT_LOCKED, EXIT_OK, EXIT_OS_ERROR, EXIT_USAGE
from spatialeval.io.pairing import PairingError, pair_directories, pair_from_manifest
from spatialeval.pipeline.evaluate import evaluate
from spatialeval.pipeline.rundir import read_rows

SR = 16000


def _voice(seconds: float = 1.2, seed: int = 0, azimuth: float = 30.0) -> np.ndarray:
    from spatialeval.synth import spatialize, speech_like

    return 0.5 * spatialize(speech_like(seconds, SR, seed=seed), SR, azimuth)


def _write(path: Path, data, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, subtype="PCM_16")
    return path


def _tree(root: Path, items: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    for name, (gt, infer) in items.items():
        _write(root / "gt" / f"{name}.wav", gt)
        _write(root / "infer" / f"{name}.wav", infer)
    return root


def _rows(out: Path) -> dict[str, dict]:
    return {row["id"]: row for row in read_rows(out / "items.jsonl")}


# --------------------------------------------------------------------------- 1. resume binds rows to inputs


def test_resume_recomputes_items_whose_audio_changed(tmp_path):
    # Before: a rerun into the same --out with other audio under the same names reused A's numbers.
    a = _tree(
        tmp_path / "A", {"x": (_voice(seed=1), _voice(seed=1, azimuth=60)), "y": (_voice(seed=2), _voice(seed=2))}
    )
    b = _tree(
        tmp_path / "B", {"x": (_voice(seed=3), _voice(seed=3, azimuth=-40)), "y": (_voice(seed=2), _voice(seed=2))}
    )
    config = {"stages": ["interaural"]}
    out = tmp_path / "R"
    first = evaluate(a / "gt", a / "infer", config, out_dir=out)
    second = evaluate(b / "gt", b / "infer", config, out_dir=out)
    fresh = evaluate(b / "gt", b / "infer", config)
    assert second.items.set_index("id")["ipd_mae"].equals(fresh.items.set_index("id")["ipd_mae"])
    assert second.items.set_index("id").loc["x", "ipd_mae"] != first.items.set_index("id").loc["x", "ipd_mae"]
    assert second.summary["run"]["resume"] == {
        "reused": 1,
        "recomputed_changed": ["x"],
        "recomputed_invalid": [],
        "retried_failed": 0,
    }
    stored = _rows(out)
    assert stored["x"]["gt"].startswith(str(b)) and stored["y"]["gt"].startswith(str(b))  # rows name B's files


def test_resume_recomputes_items_whose_reference_text_changed(tmp_path, monkeypatch):
    import spatialeval.models.asr as asr

    monkeypatch.setattr(asr.PocketSphinxASR, "transcribe", lambda self, audio: "hello world")
    root = _tree(tmp_path / "d", {"u": (_voice(), _voice())})
    (root / "gt" / "u.txt").write_text("hello world")
    out = tmp_path / "R"
    assert evaluate(root / "gt", root / "infer", {"stages": ["cer"]}, out_dir=out).items.loc[0, "cer"] == 0.0
    (root / "gt" / "u.txt").write_text("goodbye world")
    again = evaluate(root / "gt", root / "infer", {"stages": ["cer"]}, out_dir=out)
    assert again.items.loc[0, "cer"] > 0.3 and again.summary["run"]["resume"]["recomputed_changed"] == ["u"]


# --------------------------------------------------------------------------- 2. per-item files stay under --out


def test_manifest_ids_cannot_escape_the_output_directory(tmp_path, test_checkpoint):
    # Before: id "../../x" wrote embeddings/../../x.npz outside --out; an id defaulting to an absolute
    # gt path wrote next to the audio.
    gt, infer = _write(tmp_path / "a" / "g.wav", _voice()), _write(tmp_path / "a" / "i.wav", _voice())
    (tmp_path / "evil.csv").write_text(f"id,gt,infer\n../../x,{gt},{infer}\n")
    with pytest.raises(PairingError, match=r"'\.\./\.\./x' has a '\.\.' component"):
        pair_from_manifest(tmp_path / "evil.csv")
    assert main(["run", str(tmp_path / "evil.csv"), "--stages", "interaural", "--quiet"]) == EXIT_USAGE
    (tmp_path / "abs.jsonl").write_text(json.dumps({"gt": str(gt), "infer": str(infer)}) + "\n")
    out = tmp_path / "out"
    evaluate(
        tmp_path / "abs.jsonl",
        None,
        {"stages": ["bat"]},
        out_dir=out,
        checkpoint=str(test_checkpoint),
        save_embeddings=True,
    )
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.npz"))
    assert written == ["out/embeddings/g.npz"]


def test_item_file_refuses_unsafe_ids(tmp_path):
    from spatialeval.io.ids import ItemIdError, item_file

    assert item_file(tmp_path, "spk1/u 1", ".npz") == tmp_path / "spk1" / "u 1.npz"
    for bad in ("../x", "/etc/x", "a//b", "a\\b", "a\rb", "a\u2028b", ""):
        with pytest.raises(ItemIdError):
            item_file(tmp_path, bad, ".npz")


# --------------------------------------------------------------------------- 3. damaged cache entries


@pytest.mark.parametrize("damage", ["truncate", "empty", "wrong_key", "garbage"])
def test_damaged_cache_entries_are_discarded_and_recomputed(tmp_path, damage):
    # Before: every rerun failed its items with "File is not a zip file" / KeyError.
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice(azimuth=50))})
    config = {"stages": ["interaural"], "cache_dir": str(tmp_path / "cache")}
    clean = evaluate(root / "gt", root / "infer", config)
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    assert entries
    for entry in entries:
        if damage == "truncate":
            entry.write_bytes(entry.read_bytes()[:40])
        elif damage == "empty":
            entry.write_bytes(b"")
        elif damage == "wrong_key":
            np.savez(entry, something_else=np.zeros(3))
        else:
            entry.write_bytes(os.urandom(300))
    again = evaluate(root / "gt", root / "infer", config, out_dir=tmp_path / "out")
    assert again.items.loc[0, "error"] is None
    assert again.items.loc[0, "ipd_mae"] == clean.items.loc[0, "ipd_mae"]
    assert again.summary["run"]["cache"]["discarded"] == len(entries)


def test_interaural_per_clip_and_device_paths_share_their_cache_entries(tmp_path):
    # The per-clip path and the batched device kernels (on the CPU here) read and write one key per clip.
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice(azimuth=50)), "b": (_voice(seed=2), _voice(seed=3))})
    config = {"stages": ["interaural"], "cache_dir": str(tmp_path / "cache")}
    first = evaluate(root / "gt", root / "infer", config, out_dir=tmp_path / "first")
    assert first.summary["run"]["cache"] == {"hits": 0, "misses": 4, "writes": 4, "discarded": 0}
    second = evaluate(root / "gt", root / "infer", {**config, "device_kernels": "on"}, out_dir=tmp_path / "second")
    assert second.summary["run"]["cache"] == {"hits": 4, "misses": 0, "writes": 0, "discarded": 0}
    assert second.items["ipd_mae"].tolist() == first.items["ipd_mae"].tolist()
    assert second.items["ild_mae"].tolist() == first.items["ild_mae"].tolist()


# --------------------------------------------------------------------------- 4. degenerate audio is scored or counted


def test_silent_generation_is_scored_or_unmeasurable_and_never_leaves_a_mean_silently(tmp_path, capsys):
    # Before: a silent generation failed SIM and cues (exit 3) and left their means, so a model that
    # outputs silence on hard items looked better.
    root = _tree(
        tmp_path / "d", {"ok": (_voice(seed=1), _voice(seed=1)), "silent": (_voice(seed=2), np.zeros((SR, 2)))}
    )
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(root / "gt"),
            str(root / "infer"),
            "--stages",
            "interaural,sim,ffe,cues",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == EXIT_OK
    rows = _rows(out)
    assert rows["silent"]["error"] is None and rows["silent"]["sim"] == 0.0
    assert rows["silent"]["ffe"] > 0.3 and rows["silent"]["ipd_mae"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["sim"] == 2 and summary["n_failed"] == 0
    assert summary["n_unmeasurable"]["doa_error_deg"] == 1 and summary["counts"]["doa_error_deg"] == 1
    assert "unmeasurable" in printed and "doa_error_deg x1" in printed
    # The gate: one more unmeasurable item than the baseline fails `check` like a failed item.
    baseline = dict(summary, n_unmeasurable={**summary["n_unmeasurable"], "doa_error_deg": 0})
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    assert main(["check", str(out), "--baseline", str(tmp_path / "baseline.json")]) == 1
    assert "n_unmeasurable.doa_error_deg" in capsys.readouterr().out


def test_strict_protocol_silent_ground_truth_is_unmeasurable(tmp_path):
    root = _tree(tmp_path / "d", {"s": (np.zeros((SR, 2)), _voice())})
    res = evaluate(root / "gt", root / "infer", {"protocol": "strict", "stages": ["interaural"]})
    assert res.summary["n_unmeasurable"] == {"ipd_mae": 1, "ild_mae": 1}
    assert "digital silence" in res.items.loc[0, "unmeasurable"]["ipd_mae"]


# --------------------------------------------------------------------------- 5. one array convention


def _public_functions():
    import spatialeval

    return {
        "ipd_ild_mae": lambda a, b: spatialeval.ipd_ild_mae(a, b, SR),
        "ipd_ild_mae_strict": lambda a, b: spatialeval.ipd_ild_mae(a, b, SR, protocol="strict"),
        "ffe": lambda a, b: spatialeval.ffe(a, b, SR),
        "sim": lambda a, b: spatialeval.sim(a, b, SR),
        "spatial_cue_errors": lambda a, b: spatialeval.spatial_cue_errors(a, b, SR),
    }


BINAURAL_ONLY = {"ipd_ild_mae", "ipd_ild_mae_strict", "spatial_cue_errors"}


@pytest.mark.parametrize("name", list(_public_functions()))
def test_every_public_function_takes_time_by_channels_and_refuses_the_rest(name):
    # Before: ffe() on a (2, T) array averaged over time and returned FFE 0.0 ("perfect").
    fn = _public_functions()[name]
    clip = _voice()
    reference = fn(clip, clip)
    tensor = fn(torch.from_numpy(clip), torch.from_numpy(clip))  # torch tensors alike
    assert json.dumps(tensor, sort_keys=True, default=str) == json.dumps(reference, sort_keys=True, default=str)
    with pytest.raises(ValueError, match=r"\(time, .*\).*pass x\.T|expected .*\(time, 2\)"):
        fn(clip.T, clip.T)
    if name in BINAURAL_ONLY:
        with pytest.raises(ValueError, match="2-channel|two-channel|binaural"):
            fn(clip[:, 0], clip[:, 0])
    else:
        fn(clip[:, 0], clip[:, 0])  # mono is a valid input for mono metrics
    with pytest.raises(ValueError, match="short|speech|samples|s long"):
        fn(clip[:80], clip[:80])


# --------------------------------------------------------------------------- 6. explicit checkpoints


def _bad_checkpoints(tmp_path: Path, good: Path) -> dict[str, Path]:
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:200_000])
    wrong = tmp_path / "wrong_shape.pth"
    state = torch.load(good, weights_only=False)["model"]
    state["head.weight"] = torch.zeros(3, 3)
    torch.save({"model": state}, wrong)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-never-run",))

    code = tmp_path / "code.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "x": Payload()}, code)
    return {"missing": tmp_path / "nope.pth", "truncated": truncated, "wrong_shape": wrong, "code": code}


def test_unusable_explicit_checkpoints_are_errors_not_skips(tmp_path, test_checkpoint, capfd, monkeypatch):
    # Before: each of these skipped the ANG/Dis stage and exited 0.
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    for kind, path in _bad_checkpoints(tmp_path, test_checkpoint).items():
        code = main(
            ["run", str(root / "gt"), str(root / "infer"), "--stages", "interaural,bat", "--ckpt", str(path), "--quiet"]
        )
        captured = capfd.readouterr()
        assert code == EXIT_USAGE, kind
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and "weights_only" not in lines[0], (kind, captured.err)
        assert "should-never-run" not in captured.out + captured.err
    # Only the absence of any configured checkpoint skips the stage, and only when nobody named it
    # (issue 16 item 7: a stage named with --stages that cannot run is an error).
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(root / "gt"), str(root / "infer"), "--stages", "interaural,bat", "--quiet"]) == EXIT_USAGE
    import spatialeval.pipeline.config as config_module

    monkeypatch.setattr(config_module, "DEFAULT_STAGES", ("interaural", "bat"))
    assert main(["run", str(root / "gt"), str(root / "infer"), "--quiet"]) == EXIT_OK


def test_checkpoint_producing_nan_embeddings_gives_per_item_errors(tmp_path, test_checkpoint):
    nan_ckpt = tmp_path / "nan.pth"
    payload = torch.load(test_checkpoint, weights_only=False)
    payload["model"]["doa_norm.weight"] = torch.full_like(payload["model"]["doa_norm.weight"], float("nan"))
    torch.save(payload, nan_ckpt)
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    res = evaluate(root / "gt", root / "infer", {"stages": ["bat"]}, checkpoint=str(nan_ckpt))
    assert res.summary["n_failed"] == 1 and "NaN/Inf embeddings" in res.items.loc[0, "error"]
    assert res.summary["ang_cos"] is None


# --------------------------------------------------------------------------- 7. OS errors


def test_out_that_is_a_file_is_an_os_error_with_its_own_exit_code(tmp_path, capsys):
    # Before: a traceback and exit code 1 (the code `check` uses for a regression).
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    (tmp_path / "file").write_text("x")
    assert (
        main(
            [
                "run",
                str(root / "gt"),
                str(root / "infer"),
                "--stages",
                "interaural",
                "--out",
                str(tmp_path / "file"),
                "--quiet",
            ]
        )
        == EXIT_OS_ERROR
    )
    assert "is not a directory" in capsys.readouterr().err


def test_disk_full_mid_run_exits_4_and_the_rerun_resumes(tmp_path, monkeypatch, capsys):
    from spatialeval.pipeline import results

    root = _tree(tmp_path / "d", {n: (_voice(seed=i), _voice(seed=i, azimuth=45)) for i, n in enumerate("abcd")})
    out = tmp_path / "out"
    original, calls = results.ItemLog.write, []

    def full_after_two(self, row):
        calls.append(row["id"])
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, row)

    monkeypatch.setattr(results.ItemLog, "write", full_after_two)
    args = [
        "run",
        str(root / "gt"),
        str(root / "infer"),
        "--stages",
        "interaural",
        "--out",
        str(out),
        "--quiet",
        "--batch-size",
        "2",
    ]
    assert main(args) == EXIT_OS_ERROR
    assert "No space left on device" in capsys.readouterr().err and len(read_rows(out / "items.jsonl")) == 2
    monkeypatch.setattr(results.ItemLog, "write", original)
    assert main(args) == EXIT_OK
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["resume"]["reused"] == 2 and summary["n_items"] == 4


# --------------------------------------------------------------------------- 8. odd ids and manifests


def test_rows_with_line_separators_in_values_are_not_lost(tmp_path):
    # Before: read_rows used str.splitlines, which also splits on U+2028/U+2029/U+0085 inside values.
    path = tmp_path / "items.jsonl"
    rows = [{"id": "a", "asr_text": "one\u2028two\u0085three\u2029"}, {"id": "b", "asr_text": "x"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert read_rows(path) == rows


def test_csv_output_quotes_every_field(tmp_path, monkeypatch):
    import spatialeval.models.asr as asr

    monkeypatch.setattr(asr.PocketSphinxASR, "transcribe", lambda self, audio: 'say "hi",\r\nthen go')
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    (root / "gt" / "a.txt").write_text("say hi then go")
    evaluate(root / "gt", root / "infer", {"stages": ["cer"]}, out_dir=tmp_path / "out")
    with open(tmp_path / "out" / "items.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 1 and table[0]["asr_text"] == 'say "hi",\r\nthen go'


def test_manifest_byte_order_mark_quoted_newlines_and_non_objects(tmp_path):
    _write(tmp_path / "g.wav", _voice()), _write(tmp_path / "i.wav", _voice())
    # Before: a UTF-8 BOM turned the first column into "\ufeffid", so ids were silently replaced.
    (tmp_path / "bom.csv").write_bytes("\ufeffid,gt,infer\nmy_item,g.wav,i.wav\n".encode("utf-8"))
    assert [p.id for p in pair_from_manifest(tmp_path / "bom.csv").pairs] == ["my_item"]
    # Before: a quoted newline inside an id was silently removed.
    (tmp_path / "nl.csv").write_text('id,gt,infer\n"a\nb",g.wav,i.wav\n')
    with pytest.raises(PairingError, match="control character U\\+000A"):
        pair_from_manifest(tmp_path / "nl.csv")
    (tmp_path / "cr.csv").write_text('id,gt,infer\n"a\rb",g.wav,i.wav\n')
    with pytest.raises(PairingError, match="control character U\\+000D"):
        pair_from_manifest(tmp_path / "cr.csv")
    # Before: a JSONL line that is not an object raised a traceback.
    (tmp_path / "list.jsonl").write_text('["g.wav", "i.wav"]\n')
    with pytest.raises(PairingError, match="expected a JSON object"):
        pair_from_manifest(tmp_path / "list.jsonl")
    assert main(["run", str(tmp_path / "list.jsonl"), "--quiet"]) == EXIT_USAGE


def test_file_names_that_cannot_be_ids_are_refused(tmp_path):
    _tree(tmp_path, {"ok": (_voice(), _voice()), "bad\u2028name": (_voice(), _voice())})
    with pytest.raises(PairingError, match="U\\+2028"):
        pair_directories(tmp_path / "gt", tmp_path / "infer")


# --------------------------------------------------------------------------- 9. one run per output directory


def test_a_second_run_on_a_locked_output_directory_exits_5(tmp_path, capsys):
    # Before: no lock; two concurrent runs with different settings could interleave in one items.jsonl.
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from spatialeval.io.files import DirectoryLock;"
            "lock = DirectoryLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert (
            main(["run", str(root / "gt"), str(root / "infer"), "--stages", "interaural", "--out", str(out), "--quiet"])
            == EXIT_LOCKED
        )
        assert f"pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert (
        main(["run", str(root / "gt"), str(root / "infer"), "--stages", "interaural", "--out", str(out), "--quiet"])
        == EXIT_OK
    )  # released when the holder died


# --------------------------------------------------------------------------- 10. bit-identical reruns


@pytest.mark.slow
def test_default_pipeline_is_byte_identical_across_runs_and_thread_counts(tmp_path, test_checkpoint):
    # Before: sim differed at 1e-9, ild_band_error_db at 1e-16, and IPD at 1e-9 between thread counts.
    # One pair (two utterances, two directions) is enough: thread counts split the work inside each item's
    # computation; a second pair doubled the three runs' BAT/ASR/SIM time and checked nothing more.
    root = _tree(tmp_path / "d", {"b": (_voice(1.5, seed=2, azimuth=-30), _voice(1.5, seed=5, azimuth=-60))})
    outputs = []
    for threads in ("1", "2", "2"):
        out = tmp_path / f"out{len(outputs)}"
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "spatialeval.cli",
                "run",
                str(root / "gt"),
                str(root / "infer"),
                "--ckpt",
                str(test_checkpoint),
                "--out",
                str(out),
                "--quiet",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        outputs.append((out / "items.jsonl").read_bytes())
    assert outputs[1] == outputs[2]  # the same command twice: the same computation, byte for byte
    # Another thread count may split the encoder's matmuls differently: equal to float32 rounding.
    one, two = ([json.loads(line) for line in output.splitlines()] for output in outputs[:2])
    assert not differences(one, two)
    row = json.loads(outputs[0].splitlines()[0])
    assert all(row[m] is not None for m in ("ipd_mae", "ang_cos", "cer", "sim", "ffe", "itd_error_us"))


# --------------------------------------------------------------------------- 11. bounded memory on long clips


def test_streamed_interaural_features_equal_the_whole_clip_computation():
    # Before: the whole clip's STFT was held at once (about 0.2 GB per minute of pair).
    from spatialeval.features.interaural_spectra import mel_projected_cues, streamed_mel_cues
    from spatialeval.features.resample import resample_sinc, resample_sinc_chunks
    from spatialeval.features.threads import single_threaded

    clip = torch.from_numpy(_voice(2.0).astype(np.float32)).T
    with single_threaded():
        whole = mel_projected_cues(resample_sinc(clip, SR, 32000))
        for block_frames, chunk in ((1, 700), (3, 5000), (64, 40000), (2048, 1 << 18)):
            streamed = streamed_mel_cues(resample_sinc_chunks(clip, SR, 32000, chunk), block_frames=block_frames)
            for a, b in zip(streamed, whole):
                # Different FFT batch shapes may sum in another order: float32 rounding (3e-8 relative seen on
                # another CPU), so within 64 float32 ulps of the clip's largest value, not bit for bit.
                tolerance = 64 * np.finfo(np.float32).eps * float(np.max(np.abs(b)))
                np.testing.assert_allclose(
                    a, b, rtol=64 * np.finfo(np.float32).eps, atol=tolerance, err_msg=f"block_frames={block_frames}"
                )


# --------------------------------------------------------------------------- 12. smaller findings


def test_manifest_paths_outside_its_folder_are_recorded_resolved(tmp_path):
    gt, _ = _write(tmp_path / "audio" / "g.wav", _voice()), _write(tmp_path / "audio" / "i.wav", _voice())
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "m.csv").write_text("id,gt,infer\nu,../audio/g.wav,../audio/i.wav\n")
    result = pair_from_manifest(tmp_path / "lists" / "m.csv")
    assert result.pairs[0].gt == str(gt.resolve()) and result.outside_manifest == ["u"]
    summary = evaluate(tmp_path / "lists" / "m.csv", None, {"stages": ["interaural"]}).summary
    assert summary["manifest_paths_outside_folder"] == 1


def test_symlinked_subfolders_are_followed_without_looping(tmp_path):
    _tree(tmp_path / "real", {"a": (_voice(), _voice())})
    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "linked").symlink_to(tmp_path / "real" / side, target_is_directory=True)
        (tmp_path / "real" / side / "loop").symlink_to(tmp_path / side, target_is_directory=True)
    assert [p.id for p in pair_directories(tmp_path / "gt", tmp_path / "infer").pairs] == ["linked/a"]


def test_output_files_follow_the_umask(tmp_path):
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    previous = os.umask(0o022)
    try:
        import importlib

        import spatialeval.io.files as files

        importlib.reload(files)  # the default mode is read from the umask at import
        evaluate(root / "gt", root / "infer", {"stages": ["interaural"]}, out_dir=tmp_path / "out")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out" / "summary.json").stat().st_mode) == 0o644


def test_resume_accepts_speed_settings_and_refuses_number_settings(tmp_path):
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice())})
    out = tmp_path / "out"
    evaluate(root / "gt", root / "infer", {"stages": ["interaural"]}, out_dir=out)
    fast = {"stages": ["interaural"], "workers": 3, "device": "cpu", "bat": {"batch_size": 32}, "chunk_size": 1}
    assert evaluate(root / "gt", root / "infer", fast, out_dir=out).summary["run"]["resume"]["reused"] == 1
    with pytest.raises(ValueError, match="other settings"):
        evaluate(root / "gt", root / "infer", {"stages": ["interaural"], "protocol": "strict"}, out_dir=out)
    # block_frames changes float rounding (issue 16 item 14): rows of two block sizes never mix
    with pytest.raises(ValueError, match="other settings"):
        evaluate(
            root / "gt", root / "infer", {"stages": ["interaural"], "interaural": {"block_frames": 256}}, out_dir=out
        )


def test_injected_or_malformed_rows_are_not_reused(tmp_path):
    root = _tree(tmp_path / "d", {"a": (_voice(), _voice(azimuth=60)), "b": (_voice(seed=4), _voice(seed=4))})
    out = tmp_path / "out"
    clean = evaluate(root / "gt", root / "infer", {"stages": ["interaural"]}, out_dir=out)
    rows = read_rows(out / "items.jsonl")
    forged = {**rows[0], "ipd_mae": 0.0, "gt_sha256": "0" * 64}  # a row claiming other audio
    odd = {**rows[1], "ipd_mae": "zero", "surprise": 1}  # wrong type, unknown field
    (out / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (forged, odd)))
    again = evaluate(root / "gt", root / "infer", {"stages": ["interaural"]}, out_dir=out)
    resume = again.summary["run"]["resume"]
    assert resume["reused"] == 0 and resume["recomputed_changed"] == ["a"] and resume["recomputed_invalid"] == ["b"]
    assert again.items["ipd_mae"].tolist() == clean.items["ipd_mae"].tolist()
