"""The command line on the fixture pairs: with and without a BAT checkpoint."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spatialeval.cli import main


@pytest.fixture
def subset(pairs_dir, tmp_path):
    """Three fixture pairs in a fresh gt/infer tree (keeps the encoder runs short)."""
    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
        for name in ("same", "az_shift_large", "rate_mixed"):
            shutil.copy(pairs_dir / side / f"{name}.wav", tmp_path / side / f"{name}.wav")
    return tmp_path


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "spatialeval"  # installed beside the interpreter running the tests
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("spatialeval ")


def test_run_without_checkpoint_skips_ang_dis_and_exits_zero(subset, tmp_path, monkeypatch, capsys):
    """bat is a default stage: without a checkpoint it is skipped with the reason (named, it is an error)."""
    import spatialeval.pipeline.config as config_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config_module, "DEFAULT_STAGES", ("interaural", "bat"))  # the defaults, cut to two
    code = main(["run", str(subset / "gt"), str(subset / "infer"), "--out", str(tmp_path / "res"), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "IPD MAE (x100)" in printed and "ILD MAE (x100)" in printed
    assert "skipped  bat" in printed and "finetuned.pth" in printed and "Hugging Face" in printed
    assert "ANG Cos" not in printed
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["stages"]["bat"]["status"] == "skipped" and "ang_cos" not in summary
    rows = [json.loads(line) for line in (tmp_path / "res" / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["az_shift_large", "rate_mixed", "same"]
    header = next(csv.reader(io.StringIO((tmp_path / "res" / "items.csv").read_text())))
    assert header[:5] == ["id", "gt", "gen", "ipd_mae", "ild_mae"]


@pytest.mark.slow
def test_run_with_checkpoint_prints_all_four(subset, tmp_path, test_checkpoint, monkeypatch, capsys):
    # What is checked is what the command prints, not BAT's numbers (tests/test_parity.py): one pair (the
    # resampled one) instead of three runs the same code for a third of the encoder time.
    for side in ("gt", "infer"):
        for name in ("same", "az_shift_large"):
            (subset / side / f"{name}.wav").unlink()
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "run",
            str(subset / "gt"),
            str(subset / "infer"),
            "--stages",
            "interaural,bat",
            "--ckpt",
            str(test_checkpoint),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    for label in ("IPD MAE (x100)", "ILD MAE (x100)", "ANG Cos", "Dis Cos"):
        assert label in printed
    assert "ran      bat" in printed and "sha256" in printed


def test_missing_explicit_checkpoint_is_a_usage_error(subset, tmp_path, monkeypatch, capsys):
    # Issue 8.6: a checkpoint that was asked for but cannot be used is an error (exit 2), not a skip.
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "run",
            str(subset / "gt"),
            str(subset / "infer"),
            "--stages",
            "interaural,bat",
            "--ckpt",
            str(tmp_path / "nope.pth"),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2 and "nope.pth, which does not exist" in captured.err and captured.out == ""


def test_unmatched_files_exit_with_usage_error(subset, tmp_path, capsys):
    (subset / "infer" / "same.wav").unlink()
    assert main(["run", str(subset / "gt"), str(subset / "infer"), "--quiet"]) == 2
    assert "gt without gen: same" in capsys.readouterr().err


def test_unavailable_cuda_device_is_a_clear_error(subset, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert main(["run", str(subset / "gt"), str(subset / "infer"), "--device", "cuda", "--quiet"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err
