"""The tensor API against the file-based per-clip functions on the fixture pairs (different rates and lengths)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spatialeval.features.resample import resample_polyphase
from spatialeval.io.audio import load_audio
from spatialeval.metrics.cosine_similarity import cosine, cosine_rows, isdrama_cosine, isdrama_cosine_rows
from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
from spatialeval.metrics.ipd_ild import (
    isdrama_features,
    isdrama_features_batch,
    isdrama_ipd_ild_mae,
    isdrama_mae_batch,
    mae_over_time,
    strict_ipd_ild_mae,
)
from spatialeval.training import BATEmbeddingBatch, bat_cosines, bat_embeddings, bat_inputs, ipd_ild_mae, window_cosines


def _pad(clips, dtype=torch.float32, fill: float = 0.0):
    """A zero-padded (B, 2, T) batch of (time, 2) clips and their lengths; ``fill`` goes past each clip's end."""
    longest = max(c.samples.shape[0] for c in clips)
    batch = torch.full((len(clips), 2, longest), fill, dtype=dtype)
    for index, clip in enumerate(clips):
        batch[index, :, : clip.samples.shape[0]] = torch.from_numpy(clip.samples.T)
    return batch, torch.tensor([c.samples.shape[0] for c in clips])


@pytest.fixture(scope="module")
def fixture_pairs(pairs_dir):
    names = sorted(path.stem for path in (pairs_dir / "gt").glob("*.wav"))
    return [
        (name, load_audio(pairs_dir / "gt" / f"{name}.wav"), load_audio(pairs_dir / "infer" / f"{name}.wav"))
        for name in names
    ]


@pytest.fixture(scope="module")
def per_clip(fixture_pairs):
    """The file-based per-clip results, computed once: features of both sides and the MAE under both protocols."""
    out = {}
    for name, gt, gen in fixture_pairs:
        out[name] = {
            "features": (isdrama_features(gt.samples, gt.sample_rate), isdrama_features(gen.samples, gen.sample_rate)),
            "isdrama": isdrama_ipd_ild_mae(gt.samples, gen.samples, gt.sample_rate, gen.sample_rate),
            "strict": strict_ipd_ild_mae(gt.samples, gen.samples, gt.sample_rate, gen.sample_rate),
        }
    return out


def _rate_groups(pairs):
    """Pairs grouped by (gt rate, gen rate); each group mixes clip lengths (3.2 s … 14 s)."""
    groups = {}
    for name, gt, gen in pairs:
        groups.setdefault((gt.sample_rate, gen.sample_rate), []).append((name, gt, gen))
    return groups


def _close(value: float, target: float, rel: float, floor: float = 1e-12) -> bool:
    if math.isnan(target):
        return math.isnan(value)
    return abs(value - target) <= max(rel * abs(target), floor)


def test_fixture_groups_mix_rates_and_lengths(fixture_pairs):
    groups = _rate_groups(fixture_pairs)
    assert set(groups) == {(32000, 32000), (16000, 16000), (32000, 48000)}
    lengths = {gen.frames for _, _, gen in groups[(32000, 32000)]}
    assert len(lengths) >= 4


# items_per_pass: None = one item at a time (the CPU default); 64 = the whole padded batch in one pass
# (the accelerator default), so both paths are checked here on CPU.
PASSES = [None, 64]


@pytest.mark.slow
@pytest.mark.parametrize("items_per_pass", PASSES)
def test_isdrama_features_batch_equal_per_clip(fixture_pairs, per_clip, items_per_pass):
    for (gt_rate, gen_rate), items in _rate_groups(fixture_pairs).items():
        for side, rate in ((1, gt_rate), (2, gen_rate)):
            clips = [item[side] for item in items]
            waves, lengths = _pad(clips)
            batch = isdrama_features_batch(waves, lengths, rate, items_per_pass=items_per_pass)
            for index, clip in enumerate(clips):
                ipd, ild = per_clip[items[index][0]]["features"][side - 1]
                frames = len(ipd)
                assert int(batch.frames[index]) == frames
                for ours, ref in ((batch.ipd[index, :frames], ipd), (batch.ild[index, :frames], ild)):
                    assert float((ours.numpy() - ref).__abs__().max()) <= 1e-5 * float(np.abs(ref).max())
                assert not batch.ipd[index, frames:].any() and not batch.ild[index, frames:].any()


@pytest.mark.slow
@pytest.mark.parametrize("items_per_pass", PASSES)
@pytest.mark.parametrize("protocol", ["isdrama", "strict"])
def test_ipd_ild_mae_equal_per_clip(fixture_pairs, per_clip, protocol, items_per_pass):
    rel = 1e-6 if protocol == "isdrama" else 1e-12  # isdrama: the release averages float32 maps in float32
    for (gt_rate, gen_rate), items in _rate_groups(fixture_pairs).items():
        gt, gt_lengths = _pad([gt for _, gt, _ in items])
        gen, gen_lengths = _pad([gen for _, _, gen in items])
        ours = ipd_ild_mae(
            gt,
            gen,
            gt_rate,
            protocol,
            gen_sample_rate=gen_rate,
            gt_lengths=gt_lengths,
            gen_lengths=gen_lengths,
            items_per_pass=items_per_pass,
        )
        assert ours["ipd_mae"].dtype == torch.float64 and ours["ipd_mae"].shape == (len(items),)
        for index, (name, gt_clip, gen_clip) in enumerate(items):
            ref = per_clip[name][protocol]
            for metric in ("ipd_mae", "ild_mae"):
                value = float(ours[metric][index])
                assert _close(value, ref[metric], rel), (protocol, name, metric, value, ref[metric])


@pytest.mark.slow
def test_padding_content_and_batch_company_do_not_matter(fixture_pairs):
    # the whole-batch pass (items padded to the longest) is where padding could leak in
    items = [pair for pair in fixture_pairs if pair[0] in ("long_14s", "shorter_infer", "longer_infer")]
    gt, gt_lengths = _pad([gt for _, gt, _ in items], fill=0.0)
    gen, gen_lengths = _pad([gen for _, _, gen in items], fill=0.0)
    noisy_gen, _ = _pad([gen for _, _, gen in items], fill=0.3)  # garbage past each clip's end
    for protocol in ("isdrama", "strict"):
        together = ipd_ild_mae(
            gt, gen, 32000, protocol, gt_lengths=gt_lengths, gen_lengths=gen_lengths, items_per_pass=8
        )
        noisy = ipd_ild_mae(
            gt, noisy_gen, 32000, protocol, gt_lengths=gt_lengths, gen_lengths=gen_lengths, items_per_pass=8
        )
        for index, (_, gt_clip, gen_clip) in enumerate(items):
            alone = ipd_ild_mae(*(_pad([c])[0] for c in (gt_clip, gen_clip)), 32000, protocol)
            for metric in ("ipd_mae", "ild_mae"):
                assert _close(float(together[metric][index]), float(alone[metric][0]), 1e-6)
                assert float(noisy[metric][index]) == float(together[metric][index])


def test_isdrama_mae_batch_matches_mae_over_time():
    rng = np.random.default_rng(0)
    gt, gen = rng.normal(size=(3, 40, 128)).astype(np.float32), rng.normal(size=(3, 35, 128)).astype(np.float32)
    frames = torch.tensor([40, 20, 35])  # common counts per item (the maps are cropped to them)
    ours = isdrama_mae_batch(torch.from_numpy(gt), torch.from_numpy(gen), torch.minimum(frames, torch.tensor(35)))
    for b, rows in enumerate([35, 20, 35]):
        assert _close(float(ours[b]), mae_over_time(gt[b, :rows], gen[b, :rows]), 1e-6)


def test_strict_is_nan_for_silent_ground_truth_only():
    clip = torch.randn(2, 2, 8000, dtype=torch.float64) * 0.1
    gt = clip.clone()
    gt[1] = 0.0
    result = ipd_ild_mae(gt, clip, 16000, "strict")
    assert result["ipd_mae"][0] == 0.0 and math.isnan(float(result["ipd_mae"][1]))
    assert math.isnan(strict_ipd_ild_mae(gt[1].T.numpy(), clip[1].T.numpy(), 16000)["ipd_mae"])


@pytest.mark.parametrize("shape", [(2, 16000), (2, 1, 16000), (2, 3, 16000), (1, 2, 16000, 1), (2, 2, 0)])
def test_wrong_layout_raises_with_the_expected_layout(shape):
    bad, good = torch.zeros(shape), torch.zeros(2, 2, 16000)
    with pytest.raises(ValueError, match=r"\(B, 2, T\)"):
        ipd_ild_mae(bad, good, 16000)
    with pytest.raises(ValueError, match=r"\(B, 2, T\)"):
        bat_inputs(bad, 16000)


def test_other_malformed_inputs_raise():
    good = torch.randn(2, 2, 16000) * 0.1
    nan = good.clone()
    nan[0, 0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ipd_ild_mae(good, nan, 16000)
    with pytest.raises(ValueError, match="32768"):
        bat_inputs((good * 32767).to(torch.int16), 16000)
    with pytest.raises(ValueError, match="same number of items"):
        ipd_ild_mae(good, good[:1], 16000)
    with pytest.raises(ValueError, match="lie in 1"):
        ipd_ild_mae(good, good, 16000, gt_lengths=torch.tensor([16000, 16001]))
    with pytest.raises(ValueError, match="shape"):
        ipd_ild_mae(good, good, 16000, gt_lengths=torch.tensor([16000]))
    with pytest.raises(ValueError, match="too short"):
        ipd_ild_mae(good, good, 16000, gen_lengths=torch.tensor([16000, 100]))
    with pytest.raises(ValueError, match="protocol"):
        ipd_ild_mae(good, good, 16000, protocol="paper")
    with pytest.raises(ValueError, match="mode"):
        bat_inputs(good, 16000, mode="chunks")


# --------------------------------------------------------------------------- BAT


@pytest.mark.slow
@pytest.mark.parametrize("items_per_pass", PASSES)
@pytest.mark.parametrize("mode", ["first-window", "segments", "windowed"])
def test_bat_inputs_equal_the_stage_windows(fixture_pairs, mode, items_per_pass):
    clips = [clip for _, gt, gen in fixture_pairs for clip in (gt, gen)]
    by_rate = {}
    for clip in clips:
        by_rate.setdefault(clip.sample_rate, []).append(clip)
    for rate, group in by_rate.items():
        waves, lengths = _pad(group, dtype=torch.float64)
        inputs = bat_inputs(waves.float(), rate, lengths, mode=mode, items_per_pass=items_per_pass)
        assert inputs.windows.dtype == torch.float32
        for index, clip in enumerate(group):
            ref = encoder_windows(loudness_normalize(resample_polyphase(clip.samples, rate), -14.0), mode)
            ours = inputs.windows[inputs.item == index].numpy()
            assert ours.shape == ref.shape, (mode, clip.path)
            # float64 resampling and scaling as the stage does (float32 input: PCM values are exact in it), so the
            # float32 windows agree to the last bit (all fixture clips) or, with another summation order, one ulp
            np.testing.assert_allclose(ours, ref, rtol=2e-7, atol=1e-12, err_msg=f"{mode} {clip.path}")


def test_window_cosines_equal_the_numpy_cosines():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(5, 768)).astype(np.float32)
    gt[1, 3] = 4.0  # > π: the release wraps both vectors of this pair
    gen = rng.normal(size=(5, 768)).astype(np.float32)
    ours = isdrama_cosine_rows(torch.from_numpy(gt), torch.from_numpy(gen))
    plain = cosine_rows(torch.from_numpy(gt), torch.from_numpy(gen))
    for row in range(5):
        assert abs(float(ours[row]) - isdrama_cosine(gt[row], gen[row])) < 1e-6
        assert abs(float(plain[row]) - cosine(gt[row], gen[row])) < 1e-12
    # items with 2/3 and 1/1 windows: the mean over the windows both clips have
    embeddings = torch.from_numpy(gt)
    gt_batch = BATEmbeddingBatch(embeddings[:3], embeddings[:3], torch.tensor([0, 0, 1]))
    gen_batch = BATEmbeddingBatch(torch.from_numpy(gen[:4]), torch.from_numpy(gen[:4]), torch.tensor([0, 0, 0, 1]))
    result = window_cosines(gt_batch, gen_batch, 2, "isdrama")
    expected0 = np.mean([isdrama_cosine(gt[0], gen[0]), isdrama_cosine(gt[1], gen[1])])
    assert abs(float(result["ang_cos"][0]) - expected0) < 1e-6
    assert abs(float(result["dis_cos"][1]) - isdrama_cosine(gt[2], gen[3])) < 1e-6


BAT_PAIRS = ("rate_mixed", "rate_16k", "long_14s", "shorter_infer", "silent_infer")


@pytest.fixture(scope="module")
def bat_model(test_checkpoint):
    from spatialeval.models.checkpoint import load_bat

    return load_bat(test_checkpoint, "cpu")


@pytest.mark.slow
def test_bat_cosines_and_embeddings_match_the_release(fixture_pairs, bat_model, expected):
    """The release's numbers (seed-0 checkpoint) within the parity tolerances: cosines 1e-5, embeddings 1e-4."""
    chosen = [pair for pair in fixture_pairs if pair[0] in BAT_PAIRS]
    for (gt_rate, gen_rate), items in _rate_groups(chosen).items():
        gt, gt_lengths = _pad([gt for _, gt, _ in items])
        gen, gen_lengths = _pad([gen for _, _, gen in items])
        gt_emb = bat_embeddings(bat_model, gt, gt_rate, lengths=gt_lengths)
        gen_emb = bat_embeddings(bat_model, gen, gen_rate, lengths=gen_lengths)
        scores = window_cosines(gt_emb, gen_emb, len(items), "isdrama")
        for index, (name, _, _) in enumerate(items):
            ref = expected["pairs"][name]
            assert abs(float(scores["ang_cos"][index]) - ref["ang_cos"]) <= 1e-5, name
            assert abs(float(scores["dis_cos"][index]) - ref["dis_cos"]) <= 1e-5, name
            for ours, key in (
                (gt_emb.direction, "gt_azi"),
                (gt_emb.distance, "gt_dis"),
                (gen_emb.direction, "infer_azi"),
                (gen_emb.distance, "infer_dis"),
            ):
                np.testing.assert_allclose(ours[index].numpy(), np.asarray(ref[key]), rtol=0, atol=1e-4, err_msg=name)
        # one call on both sides gives the same as the two embedding passes
        together = bat_cosines(
            bat_model,
            gt,
            gen,
            gt_rate,
            gen_sample_rate=gen_rate,
            gt_lengths=gt_lengths,
            gen_lengths=gen_lengths,
            batch_size=4,
        )
        for metric in ("ang_cos", "dis_cos"):
            torch.testing.assert_close(together[metric], scores[metric], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_tensor_api_equals_the_file_based_pipeline_on_the_fixtures(pairs_dir):
    # Same-rate fixture pairs as one (B, 2, T) batch per side, vs evaluate() on the files.
    import soundfile as sf

    from spatialeval.pipeline.evaluate import evaluate

    names = ["same", "az_shift_small", "az_shift_large", "quieter", "pitch_up_5pct"]

    def batch(side):
        clips = [sf.read(pairs_dir / side / f"{name}.wav", dtype="float32")[0] for name in names]
        longest = max(len(c) for c in clips)
        waves = torch.zeros(len(clips), 2, longest)
        for row, clip in enumerate(clips):
            waves[row, :, : len(clip)] = torch.from_numpy(clip.T)
        return waves, torch.tensor([len(c) for c in clips])

    rate = sf.info(str(pairs_dir / "gt" / "same.wav")).samplerate
    (gt, gt_lengths), (gen, gen_lengths) = batch("gt"), batch("infer")
    files = evaluate(pairs_dir / "gt", pairs_dir / "infer", {"stages": ["interaural"]}).items.set_index("id")
    got = ipd_ild_mae(gt, gen, rate, gt_lengths=gt_lengths, gen_lengths=gen_lengths)
    for column in ("ipd_mae", "ild_mae"):
        assert np.allclose(got[column].numpy(), files.loc[names, column].to_numpy(), rtol=1e-5, atol=1e-12), column


BAD_RATES = (0, -1, 32000.5, float("nan"), True, "32000")


@pytest.mark.parametrize("rate", BAD_RATES)
def test_every_rate_taking_function_refuses_a_rate_that_is_not_a_positive_whole_number(rate):
    """Issue 16 item 9: rate 0 raised ZeroDivisionError, -1 a RuntimeError, 32000.5 was truncated to 32000."""
    waves = torch.zeros(1, 2, 3200)
    calls = {
        "ipd_ild_mae": lambda: ipd_ild_mae(waves, waves, rate),
        "ipd_ild_mae strict": lambda: ipd_ild_mae(waves, waves, rate, protocol="strict"),
        "ipd_ild_mae gen rate": lambda: ipd_ild_mae(waves, waves, 32000, gen_sample_rate=rate),
        "bat_inputs": lambda: bat_inputs(waves, rate),
        "bat_embeddings": lambda: bat_embeddings(None, waves, rate),
        "bat_cosines": lambda: bat_cosines(None, waves, waves, rate),
        "bat_cosines gen rate": lambda: bat_cosines(None, waves, waves, 32000, gen_sample_rate=rate),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match="positive whole number"):
            call()


def test_an_integral_float_rate_is_the_same_rate():
    waves = torch.randn(1, 2, 16000) * 0.1
    gen = waves.clone()
    gen[0, 1] *= 0.5
    assert torch.equal(
        ipd_ild_mae(waves, gen, 16000.0, protocol="strict")["ild_mae"],
        ipd_ild_mae(waves, gen, 16000, protocol="strict")["ild_mae"],
    )
