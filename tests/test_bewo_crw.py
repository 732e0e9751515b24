"""BEWO CRW mode and FSAD: the StereoCRW network's parameter table, safe loading, and parity with the released code.

Expected values: scripts/bewo_crw_reference.py (the released model and post-processing, run with the seed-0
stand-in weights) → tests/data/bewo/crw_expected.json and stereocrw_keys.json.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from spatialeval.errors import CheckpointError
from spatialeval.metrics.bewo import to_bewo_rate
from spatialeval.metrics.bewo_crw import crw_frame_itds, fsad, fsad_vector
from spatialeval.models.stereocrw import (
    WHERE_TO_GET,
    StereoCRWEncoder,
    encode_patches,
    load_stereocrw,
    read_crw_state_dict,
)
from spatialeval.pipeline.evaluate import evaluate

BEWO_DATA = Path(__file__).parent / "data" / "bewo"
EXPECTED = json.loads((BEWO_DATA / "crw_expected.json").read_text())
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    from spatialeval.models.standins.stereocrw import write_test_checkpoint

    return write_test_checkpoint(tmp_path_factory.mktemp("crw") / "crw_seed0.pth.tar", seed=0)


@pytest.fixture(scope="module")
def encoder(standin):
    return load_stereocrw(standin).model


def test_the_parameter_table_is_the_released_models():
    # stereocrw_keys.json: the released WaveNet(resnet9, --wav2spec) state_dict, names and shapes in order
    released = json.loads((BEWO_DATA / "stereocrw_keys.json").read_text())
    with torch.device("meta"):
        ours = {key: list(value.shape) for key, value in StereoCRWEncoder().state_dict().items()}
    assert list(ours.items()) == list(released.items())


def test_the_checkpoint_is_loaded_strictly_without_running_its_code(standin, tmp_path):
    loaded = load_stereocrw(standin)
    assert loaded.sha256 == hashlib.sha256(standin.read_bytes()).hexdigest()
    state = read_crw_state_dict(standin, standin.read_bytes())  # "module." prefixes removed
    assert set(state) == set(loaded.model.state_dict())
    plain = tmp_path / "plain.pth.tar"  # saved without DataParallel: loads too
    torch.save({"epoch": 1, "state_dict": state}, plain)
    assert torch.equal(load_stereocrw(plain).model.net.fc.weight, loaded.model.net.fc.weight)
    for name, broken in (
        ("missing", {k: v for k, v in state.items() if k != "net.fc.bias"}),
        ("unexpected", {**state, "net.fc2.weight": torch.zeros(1)}),
        ("shape", {**state, "net.fc.bias": torch.zeros(3)}),
    ):
        torch.save({"state_dict": broken}, tmp_path / f"{name}.pth")
        with pytest.raises(CheckpointError):
            load_stereocrw(tmp_path / f"{name}.pth")
    torch.save({"state_dict": state, "hook": np.random.default_rng(0)}, tmp_path / "code.pth")
    with pytest.raises(CheckpointError, match="refused"):
        load_stereocrw(tmp_path / "code.pth")


def test_network_features_match_the_released_model(encoder):
    import soundfile as sf

    audio, sr = sf.read(BEWO_DATA / "gt" / "same.wav", dtype="float64")
    left = torch.from_numpy(to_bewo_rate(audio, sr)[0, : 3840 + 3])
    ours = encode_patches(encoder, left, 1).numpy()
    released = np.array(EXPECTED["network_features_same_left"])
    # float32 through an STFT and 10 convolution / linear layers (≤ 4608 products per output): rounding differs
    # by summation order, ~√n·eps per layer relative to the layer's scale; 200·eps of the feature scale bounds it
    assert ours.shape == released.shape == (4, 128)
    np.testing.assert_allclose(ours, released, rtol=0, atol=200 * EPS32 * np.abs(released).max())


def test_crw_itd_and_pooled_features_match_the_released_post_processing():
    # the release's size: 513 patches of stride 1, features drawn as scripts/bewo_crw_reference.py draws them
    features = torch.from_numpy(np.random.default_rng(7).standard_normal((2, 513, 128)).astype(np.float32))
    itd, pooled = crw_frame_itds(features[0:1], features[1:2])
    released = EXPECTED["synthetic_crw"]
    # ITDs are softmax-weighted sums of lags ≤ 1.5 ms over 49 patches in float32: ~49·eps·1.5 ms apart at most
    atol_s = 49 * EPS32 * 1.5e-3
    assert abs(float(itd[0]) - released["itd_s"]) <= atol_s
    np.testing.assert_allclose(pooled[0].numpy(), released["pooled"], rtol=0, atol=atol_s)


def test_fsad_matches_the_released_fad_code():
    # 12 + 12 clips of one 5-frame group (256-d): scripts/bewo_crw_reference.py runs the released
    # cal_avg_idt_fad.py on them with its group count 20 → 1 (its 5120-d sqrtm takes ≈ 40 CPU-minutes)
    rng = np.random.default_rng(11)
    gt = rng.normal(0.0, 2e-4, size=(12, 5, 256)).astype(np.float32)
    gen = (gt * 0.7 + rng.normal(1e-5, 1.5e-4, size=gt.shape)).astype(np.float32)
    ours = fsad([fsad_vector(x) for x in gt], [fsad_vector(x) for x in gen])
    released = float(re.search(r"fsad_score: (\S+)", EXPECTED["synthetic_fsad_printed"]).group(1))
    # the release takes a general scipy sqrtm of the singular 256² product (rank ≤ 11), which leaves up to
    # √eps-sized square roots of its 245 null eigenvalues in the trace; ours is exact (a nuclear norm). Measured 3e-7.
    assert ours == pytest.approx(released, rel=1e-5)


def test_fsad_groups_five_consecutive_frames_as_the_released_view():
    frames = np.random.default_rng(3).normal(size=(100, 256)).astype(np.float32)
    released_layout = torch.from_numpy(frames).view(1, 20, 5, 256).mean(dim=2).numpy().reshape(1, -1)[0]
    np.testing.assert_array_equal(fsad_vector(frames), released_layout)
    assert not np.array_equal(fsad_vector(frames), frames.reshape(5, 20, 256).mean(axis=0).reshape(-1))
    with pytest.raises(ValueError, match="multiple of 5"):
        fsad_vector(frames[:99])


@pytest.mark.slow  # 4 clips through GCC (5 frames) and the network (2 windows × 6 patches): a few CPU seconds
def test_the_stage_prints_fsad_over_the_items_it_measured(standin, tmp_path):
    """Two items in the light configuration with 5 frames: fsad is 1000 × the Fréchet distance of their vectors."""
    from spatialeval.pipeline.stages.bewo import _unpack

    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
    import soundfile as sf

    rng = np.random.default_rng(5)
    for name in ("a", "b"):
        for side in ("gt", "infer"):
            sf.write(tmp_path / side / f"{name}.wav", rng.normal(0, 0.1, size=(4400, 2)), 16000, subtype="FLOAT")
    light = {"frames": 5, "crw_patches": 2, "crw_patch_stride": 24, "crw_checkpoint": str(standin)}
    result = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["bewo"], "bewo": light})
    rows = result.items.to_dict("records")
    vectors = [[fsad_vector(_unpack(r[f"bewo_{side}_crw_features"])) for r in rows] for side in ("gt", "gen")]
    assert result.summary["extra"]["fsad"] == pytest.approx(fsad(*vectors), rel=1e-12)
    assert result.summary["extra"]["fsad_items"] == 2 and result.summary["extra"]["fsad"] > 0
    # merged shards: merge summarises stages it never set up, so the rows alone must carry FSAD's input
    import json

    from spatialeval.pipeline.merge import merge_results

    config = {"stages": ["bewo"], "bewo": light}
    for k in (1, 2):
        evaluate(tmp_path / "gt", tmp_path / "infer", {**config, "shard": f"{k}/2"}, out_dir=tmp_path / f"s{k}")
    merge_results([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged")
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text(encoding="utf-8"))["extra"]
    assert merged["fsad"] == pytest.approx(result.summary["extra"]["fsad"], rel=1e-12) and merged["fsad_items"] == 2


def test_without_a_checkpoint_crw_is_skipped_with_where_to_find_the_weights(tmp_path):
    import shutil

    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
        shutil.copy(BEWO_DATA / side / "az_shift_large.wav", tmp_path / side)
    result = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["bewo"], "bewo": {"frames": 3}})
    row = result.items.iloc[0]
    assert math.isfinite(row.bewo_itd_mse) and math.isnan(row.bewo_crw_itd_mse)
    assert WHERE_TO_GET in row.unmeasurable["bewo_crw_itd_mse"]
    assert "dead" in WHERE_TO_GET and "fsad" not in result.summary.get("extra", {})


def test_naming_the_crw_metric_without_a_checkpoint_exits_2(tmp_path, capsys):
    from spatialeval.cli import main

    code = main(["run", str(BEWO_DATA / "gt"), str(BEWO_DATA / "infer"), "--metrics", "bewo_crw_itd_mse",
                 "--out", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert code == 2 and "StereoCRW checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "out" / "items.jsonl").exists()


@pytest.mark.slow  # 2 clips × 11 distinct windows × 18 patches through the network: ≈ 6 s of CPU
def test_crw_mode_matches_the_released_chain_on_a_fixture_pair(standin, tmp_path):
    """The whole chain (resampling, frame windows, network, CRW ITD, per-clip mean, MSE) in the reduced configuration
    the reference ran (--patch_num 8 --patch_stride 8: 9 patches per frame instead of 513, same code)."""
    import shutil

    name = "unequal_lengths"  # 0.5 s vs 0.8 s clips at 16 kHz: frames past the ends repeat the last window
    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
        shutil.copy(BEWO_DATA / side / f"{name}.wav", tmp_path / side)
    reduced = EXPECTED["reduced_config"]
    config = {"crw_checkpoint": str(standin), "crw_patches": reduced["patch_num"]}
    config["crw_patch_stride"] = reduced["patch_stride"]
    row = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["bewo"], "bewo": config}).items.iloc[0]
    released = EXPECTED["pairs"][name]
    # per-clip means of 100 float32 frame ITDs (the release averages in float32): 100·eps of 1.5 ms
    atol_ms = 100 * EPS32 * 1.5
    assert abs(row.bewo_gt_crw_itd_ms - released["gt_crw_itd_ms"]) <= atol_ms
    assert abs(row.bewo_gen_crw_itd_ms - released["gen_crw_itd_ms"]) <= atol_ms
    expected_mse = 1000 * (released["gt_crw_itd_ms"] - released["gen_crw_itd_ms"]) ** 2
    assert row.bewo_crw_itd_mse == pytest.approx(expected_mse, abs=2000 * 3.0 * atol_ms)
