"""The beyond-ISDrama stages end to end: moving-source trajectories, the binaural-generation table, set distances."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spatialeval.cli import main
from spatialeval.pipeline.evaluate import evaluate
from spatialeval.synth import spatialize, speech_like
from spatialeval.synth.moving import linear_sweep, render_moving_source

SR = 32000


def _pair(root: Path, gt: np.ndarray, gen: np.ndarray, name: str = "a") -> Path:
    for side, audio in (("gt", gt), ("infer", gen)):
        (root / side).mkdir(parents=True, exist_ok=True)
        sf.write(root / side / f"{name}.wav", 0.5 * audio, SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def moving(tmp_path_factory) -> Path:
    source = speech_like(4.0, SR, seed=2)
    gt = render_moving_source(source, SR, linear_sweep(-60.0, 60.0, 4.0))  # right → left across the front
    root = tmp_path_factory.mktemp("moving")
    _pair(root, gt, gt, "same")
    _pair(root, gt, render_moving_source(source, SR, linear_sweep(-60.0, 0.0, 4.0)), "slower")
    return root


def test_trajectory_stage_tracks_moving_sources(moving, tmp_path):
    result = evaluate(moving / "gt", moving / "infer", {"stages": ["trajectory"]}, out_dir=tmp_path / "out")
    rows = result.items.set_index("id")
    assert rows.loc["same", "cues_trajectory_error_deg"] == 0.0
    # the generated source covers half the arc: its lag grows to ~30° lateral in the last segment
    assert 8.0 < rows.loc["slower", "cues_trajectory_error_deg"] < 30.0
    assert rows.loc["slower", "cues_trajectory_worst_deg"] > 20.0
    track = rows.loc["slower", "cues_track_gt"]
    assert len(track["lateral_deg"]) == 4 and track["lateral_deg"][0] < -30 < 30 < track["lateral_deg"][-1]
    # without a BAT checkpoint the BAT trajectories are unmeasurable with the reason, not missing silently
    assert result.summary["n_unmeasurable"]["bat_trajectory_error_deg"] == 2
    assert "BAT trajectories need the spatial encoder" in next(
        iter(result.summary["unmeasurable_reasons"]["bat_trajectory_error_deg"])
    )
    # the tracks survive the CSV as JSON text
    import csv

    with open(tmp_path / "out" / "items.csv", newline="", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert json.loads(first["cues_track_gt"])["source"] == "cues"


@pytest.fixture(scope="module")
def bat_trajectory_run(moving, test_checkpoint, tmp_path_factory):
    """The trajectory stage with the real-size BAT encoder on ``moving``, run once for the two tests below
    (each BAT window costs about 2 s on a CPU), with a feature cache and every encoder call counted.

    Returns (result, config, the windows per encoder call)."""
    from spatialeval.models.spatial_encoder import BATEncoder

    embedded: list[int] = []
    embed = BATEncoder.embed

    def counting(self, windows, *args, **kwargs):
        embedded.append(len(windows))
        return embed(self, windows, *args, **kwargs)

    config = {"stages": ["trajectory"], "cache_dir": str(tmp_path_factory.mktemp("trajectory_cache"))}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BATEncoder, "embed", counting)
        result = evaluate(moving / "gt", moving / "infer", config, checkpoint=str(test_checkpoint))
    return result, config, embedded


@pytest.mark.slow
def test_trajectory_stage_with_bat_heads(bat_trajectory_run):
    result = bat_trajectory_run[0]
    rows = result.items.set_index("id")
    assert rows.loc["same", "bat_trajectory_error_deg"] == 0.0
    assert len(rows.loc["same", "bat_track_gt"]["azimuth_deg"]) == 4  # one encoder window per 1-s segment
    assert result.summary["stages"]["trajectory"]["bat"]["checkpoint_sha256"]


@pytest.mark.slow
def test_bat_trajectory_leaves_out_the_segments_the_cue_trajectory_rejects(tmp_path, test_checkpoint):
    """Regression (issue 16 item 3): a 0.4-s pair gave BAT 1 segment with error 0.0 (cues: unmeasurable);
    a silent middle second gave cues 2 compared segments and BAT 3 (silence scored as agreement)."""
    stub = spatialize(speech_like(0.4, SR, seed=1), SR, 40.0)
    gap = spatialize(speech_like(3.0, SR, seed=2), SR, 40.0)
    gap[SR : 2 * SR] = 0.0
    _pair(tmp_path, stub, stub, "stub")
    _pair(tmp_path, gap, gap, "gap")
    result = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["trajectory"]}, checkpoint=str(test_checkpoint))
    rows = result.items.set_index("id")
    assert math.isnan(rows.loc["stub", "bat_trajectory_error_deg"]) and rows.loc["stub", "bat_trajectory_segments"] == 0
    why = rows.loc["stub", "unmeasurable"]
    assert why["bat_trajectory_error_deg"] == why["cues_trajectory_error_deg"]
    assert "shorter than 0.50 s" in why["bat_trajectory_error_deg"]
    assert rows.loc["gap", "cues_trajectory_segments"] == rows.loc["gap", "bat_trajectory_segments"] == 2
    assert rows.loc["gap", "bat_track_gt"]["reasons"][1].startswith("the segment is silent")


@pytest.mark.slow
def test_trajectory_bat_embeddings_are_cached_and_shared_with_the_bat_stage(
    bat_trajectory_run, moving, test_checkpoint, monkeypatch
):
    from spatialeval.models.spatial_encoder import BATEncoder

    first, config, first_calls = bat_trajectory_run
    columns = ["bat_trajectory_error_deg", "bat_track_gt", "bat_track_gen"]
    # per item, the 1-s segments of gt and generated go through the encoder in one call; "same"'s generated
    # clip has its gt's bytes, so its 4 segments go through once (pipeline/embeddings: identical files in
    # one call are embedded once); "slower" shares its gt with "same", so only its generated clip's 4 are new
    assert first_calls == [4, 4]
    # two distinct clips, A (same's gt = same's generated = slower's gt) and B (slower's generated): A is
    # looked up once in same's call (a miss, computed, written) and read back in slower's (a hit); B is computed
    assert first.summary["run"]["cache"] == {"hits": 1, "misses": 2, "writes": 2, "discarded": 0}
    embedded: list[int] = []
    embed = BATEncoder.embed

    def counting(self, windows, *args, **kwargs):
        embedded.append(len(windows))
        return embed(self, windows, *args, **kwargs)

    monkeypatch.setattr(BATEncoder, "embed", counting)
    again = evaluate(moving / "gt", moving / "infer", config, checkpoint=str(test_checkpoint))
    assert embedded == [] and again.summary["run"]["cache"]["hits"] == 3  # A twice (one per call), B once
    assert again.items[columns].to_dict() == first.items[columns].to_dict()
    # the bat stage in segments mode (same segment length) reads the very entries the trajectory stage wrote
    both = evaluate(
        moving / "gt",
        moving / "infer",
        {**config, "stages": ["bat", "trajectory"], "bat": {"mode": "segments"}},
        checkpoint=str(test_checkpoint),
    )
    # hits: the bat stage's one call for the chunk (A, B) and trajectory's calls (same: A; slower: A, B)
    assert embedded == [] and both.summary["run"]["cache"] == {"hits": 5, "misses": 0, "writes": 0, "discarded": 0}
    assert both.items[columns].to_dict() == first.items[columns].to_dict()


def test_binaural_generation_table(tmp_path):
    source = speech_like(1.5, SR, seed=4)
    gt = spatialize(source, SR, 40.0)
    _pair(tmp_path, gt, gt, "same")
    _pair(tmp_path, gt, spatialize(source, SR, -40.0), "mirrored")
    _pair(tmp_path, gt, gt[: SR // 2], "truncated")
    rows = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["binaural_gen"]}).items.set_index("id")
    assert rows.loc["same", "stft_distance"] == 0.0 and rows.loc["same", "envelope_distance"] == 0.0
    assert rows.loc["mirrored", "stft_distance"] > 0.01 and rows.loc["mirrored", "lr_phase_distance"] > 0.5
    assert rows.loc["same", "wave_snr_db"] > rows.loc["mirrored", "wave_snr_db"]
    # waveform metrics of clips that are not sample-aligned renderings are unmeasurable, not huge numbers
    assert math.isnan(rows.loc["truncated", "stft_distance"])
    assert "lengths differ" in rows.loc["truncated", "unmeasurable"]["stft_distance"]


def test_compare_sets_command(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for side, azimuths in (("ref", rng.uniform(-80, 80, 10)), ("gen", rng.uniform(30, 80, 8))):
        (tmp_path / side).mkdir()
        for i, az in enumerate(azimuths):
            sf.write(
                tmp_path / side / f"c{i}.wav",
                0.4 * spatialize(speech_like(1.0, 16000, seed=i), 16000, az),
                16000,
                subtype="PCM_16",
            )
    (tmp_path / "gen" / "broken.wav").write_bytes(b"not audio")
    assert (
        main(
            [
                "compare-sets",
                str(tmp_path / "gen"),
                str(tmp_path / "ref"),
                "--resamples",
                "100",
                "--out",
                str(tmp_path / "cs.json"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "cs.json").read_text())
    assert result["n_reference_clips"] == 10 and result["n_generated_clips"] == 8  # different sizes, unpaired
    assert list(result["failed"]["generated"]) == ["broken"]  # counted, not dropped
    assert result["itd_wasserstein_us"] > 100 and result["itd_wasserstein_us_ci_low"] <= result["itd_wasserstein_us"]
    assert "ITD W1" in printed and "skipped:" in printed  # no checkpoint: FD skipped
    same = tmp_path / "ref"
    assert main(["compare-sets", str(same), str(same), "--resamples", "50", "--out", str(tmp_path / "self.json")]) == 0
    assert json.loads((tmp_path / "self.json").read_text())["itd_wasserstein_us"] == 0.0


def _clip_folder(folder: Path, azimuths, seed: int = 0, silent: tuple = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, az in enumerate(azimuths):
        sf.write(
            folder / f"c{i}.wav",
            0.4 * spatialize(speech_like(1.0, 16000, seed=seed + i), 16000, az),
            16000,
            subtype="PCM_16",
        )
    for name in silent:
        sf.write(folder / name, np.zeros((16000, 2)), 16000, subtype="PCM_16")
    return folder


def test_compare_sets_names_the_clips_left_out_of_the_itd_histogram(tmp_path, capsys):
    """Regression (issue 16 item 11a): a silent clip was dropped while the console said "(4 clips)"."""
    gen = _clip_folder(tmp_path / "gen", [-50, 10, 50], seed=10, silent=("x.wav",))
    ref = _clip_folder(tmp_path / "ref", [-60, -20, 20, 60, 0, 40])
    assert main(["compare-sets", str(gen), str(ref), "--resamples", "50", "--out", str(tmp_path / "cs.json")]) == 0
    printed = capsys.readouterr().out
    assert f"generated: {gen} (3 of 4 clips; left out: x.wav (silent))" in printed
    assert f"reference: {ref} (6 clips)" in printed
    result = json.loads((tmp_path / "cs.json").read_text())
    assert result["n_generated_clips"] == 3 and result["itd_left_out"]["generated"] == {"x.wav": "silent"}
    # the interval and the no-difference column are explained on the console
    assert "interval: the 95% bootstrap quantiles" in printed and "no-diff 95%:" in printed


def test_compare_sets_of_one_clip_each_prints_no_interval(tmp_path, capsys):
    """Regression (issue 16 item 11b): one clip per set printed a zero-width "95% interval" without a word."""
    a, b = _clip_folder(tmp_path / "a", [30]), _clip_folder(tmp_path / "b", [-30], seed=5)
    assert main(["compare-sets", str(a), str(b), "--resamples", "20", "--out", str(tmp_path / "one.json")]) == 0
    printed = capsys.readouterr().out
    assert "not computable (n=1)" in printed and "warning: ITD W1 (µs) interval: not computable (n=1;" in printed
    result = json.loads((tmp_path / "one.json").read_text())
    assert result["itd_wasserstein_us"] > 0 and result["itd_wasserstein_us_ci_low"] is None


@pytest.mark.slow
def test_compare_sets_with_a_checkpoint_keeps_what_it_can_compute(tmp_path, capsys, test_checkpoint, monkeypatch):
    """Regression (issue 16 item 11c): with --ckpt, one clip per set exited 2 and threw the ITD result away."""
    a, b = _clip_folder(tmp_path / "a", [30]), _clip_folder(tmp_path / "b", [-30], seed=5)
    out = tmp_path / "one.json"
    assert (
        main(["compare-sets", str(a), str(b), "--resamples", "20", "--ckpt", str(test_checkpoint), "--out", str(out)])
        == 2
    )  # the Fréchet distances were asked for by --ckpt
    captured = capsys.readouterr()
    assert "ITD W1 (µs)" in captured.out and "FD direction (BAT)              —   not computable:" in captured.out
    assert "error: fd_direction, fd_distance not computable" in captured.err
    result = json.loads(out.read_text())
    assert result["itd_wasserstein_us"] > 0 and "at least 2 embeddings" in result["not_computable"]["fd_direction"]
    # a checkpoint that comes from the environment is not a request: the same report, exit 0
    monkeypatch.setenv("SPATIALEVAL_CKPT", str(test_checkpoint))
    assert main(["compare-sets", str(a), str(b), "--resamples", "20"]) == 0
    assert "FD distance (BAT)" in capsys.readouterr().out


def test_report_shows_trajectories_direction_reliability_and_unmeasurable(moving, tmp_path):
    from spatialeval.report import write_report

    evaluate(moving / "gt", moving / "infer", {"stages": ["trajectory", "cues"]}, out_dir=tmp_path / "out")
    written = write_report(tmp_path / "out")
    markdown = written["markdown"].read_text(encoding="utf-8")
    assert "## Direction trajectories" in markdown and "trajectory:slower" in written
    assert written["trajectory:slower"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Direction of arrival per item" in markdown and "gt reliability" in markdown
    assert "## Unmeasurable" in markdown and "BAT trajectories need the spatial encoder" in markdown
