"""BEWO GCC mode: parity with the released code's numbers, known delays, degenerate clips, the released 'KL'."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spatialeval.metrics.bewo import (
    WINDOW,
    TooShortForBEWO,
    bewo_released_kl,
    clip_itd_ms,
    gcc_phat_frame_itd_ms,
)
from spatialeval.pipeline.evaluate import evaluate

BEWO_DATA = Path(__file__).parent / "data" / "bewo"
# One argmax moved by one sample in one of 513 patches moves a frame by 0.0625/513 ms and a clip mean
# (100 frames) by 1.2e-6 ms; float32 FFT/mean rounding between torch and scipy reached 5.8e-8 ms here.
ITD_ATOL_MS = 1e-7


def delayed_noise(seconds: float, delay: int, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """(time, 2) noise whose left ear lags the right by ``delay`` samples (negative: the right lags)."""
    n = int(seconds * sr)
    s = np.random.default_rng(seed).normal(scale=0.1, size=n + abs(delay))
    left, right = (s[:n], s[delay : delay + n]) if delay >= 0 else (s[-delay : -delay + n], s[:n])
    return np.stack([left, right], axis=1)


def write_pairs(root: Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]], sr: int = 16000) -> tuple[Path, Path]:
    for side in ("gt", "infer"):
        (root / side).mkdir(parents=True, exist_ok=True)
    for name, (gt, gen) in pairs.items():
        sf.write(root / "gt" / f"{name}.wav", gt, sr, subtype="FLOAT")
        sf.write(root / "infer" / f"{name}.wav", gen, sr, subtype="FLOAT")
    return root / "gt", root / "infer"


@pytest.mark.parametrize("delay", [-8, 0, 5, 24])
def test_known_whole_sample_delays_give_their_itd(delay):
    # the left ear lagging by d samples: ITD = −d/16 ms (the release's sign: positive when the right ear lags)
    assert clip_itd_ms(delayed_noise(0.3, delay), 16000)["itd_ms"] == pytest.approx(-delay / 16, abs=1e-6)


def test_delays_beyond_the_search_range_are_not_reported_as_their_value():
    # 30 samples (1.875 ms) is outside ±24: the whole-sample argmax cannot reach it
    assert abs(clip_itd_ms(delayed_noise(0.3, 30), 16000)["itd_ms"]) <= 1.5 + 1e-9


def test_an_all_zero_patch_scores_plus_1_5_ms_as_released_and_is_counted():
    window = np.zeros((2, WINDOW), dtype=np.float32)
    itd, empty = gcc_phat_frame_itd_ms(window)
    assert itd == pytest.approx(1.5) and empty == 513


def test_silent_and_too_short_clips_are_unmeasurable_with_reasons(tmp_path):
    gt = delayed_noise(0.3, 4)
    with pytest.raises(ValueError, match="silent"):
        clip_itd_ms(np.zeros_like(gt), 16000)
    with pytest.raises(TooShortForBEWO):
        clip_itd_ms(gt[: WINDOW - 1], 16000)
    gt_dir, infer_dir = write_pairs(
        tmp_path,
        {
            "silent": (gt, np.zeros_like(gt)),
            "short": (gt, gt[:4000]),
            "longer": (gt, delayed_noise(0.5, 4)),
            "ok": (gt, gt),
        },
    )
    result = evaluate(gt_dir, infer_dir, {"stages": ["bewo"]})
    items = result.items.set_index("id")
    assert math.isnan(items.loc["silent"].bewo_itd_mse) and "silent" in items.loc["silent"].unmeasurable["bewo_itd_mse"]
    assert "too short" in items.loc["short"].unmeasurable["bewo_itd_mse"]
    # the clips are measured separately: unequal lengths are fine
    assert items.loc["longer"].bewo_itd_mse == pytest.approx(0.0, abs=1e-9)
    assert result.summary["counts"]["bewo_itd_mse"] == 2 and result.summary["n_unmeasurable"]["bewo_itd_mse"] == 2


@pytest.mark.slow
def test_the_released_kl_ignores_the_generated_set_while_the_histogram_distances_do_not(tmp_path):
    gts = {f"c{i}": delayed_noise(0.3, d, seed=i) for i, d in enumerate([2, 4, 6, -3])}
    runs = []
    for name, shift in (("a", 0), ("b", 9)):
        pairs = {k: (v, delayed_noise(0.3, shift - 2 * i, seed=i)) for i, (k, v) in enumerate(gts.items())}
        runs.append(evaluate(*write_pairs(tmp_path / name, pairs), {"stages": ["bewo"]}).summary["extra"])
    assert runs[0]["bewo_released_kl"] == runs[1]["bewo_released_kl"]  # the same computation on gt only
    assert runs[0]["bewo_itd_w1_us"] != runs[1]["bewo_itd_w1_us"]
    assert "does not depend on the generated audio" in runs[0]["bewo_released_kl_warning"]
    gt_means = [-v / 16 for v in (2, 4, 6, -3)]
    assert runs[0]["bewo_released_kl"] == pytest.approx(bewo_released_kl(gt_means), rel=1e-6)


@pytest.mark.slow
def test_parity_with_the_released_gcc_chain_on_fixture_cutouts():
    """Expected values: scripts/bewo_reference.py (the released code) on tests/data/bewo (scripts/make_bewo_fixtures.py)."""
    expected = json.loads((BEWO_DATA / "expected.json").read_text())
    result = evaluate(BEWO_DATA / "gt", BEWO_DATA / "infer", {"stages": ["bewo"]})
    items = result.items.set_index("id")
    for name, ref in expected["pairs"].items():
        assert abs(items.loc[name].bewo_gt_itd_ms - ref["gt_itd_ms"]) <= ITD_ATOL_MS, name
        assert abs(items.loc[name].bewo_gen_itd_ms - ref["gen_itd_ms"]) <= ITD_ATOL_MS, name
    gcc = expected["printed"].split("Results for GCC mode:")[1]
    released_mse = float(re.search(r"Overall ITD MSE: (\S+)", gcc).group(1))
    released_kl = float(re.search(r"KL-divergence (\S+)", gcc).group(1))
    assert result.summary["bewo_itd_mse"] == pytest.approx(released_mse, rel=1e-5)
    assert result.summary["extra"]["bewo_released_kl"] == pytest.approx(released_kl, rel=1e-6)


def test_the_report_prints_the_released_kl_with_its_warning():
    from spatialeval.pipeline.display import format_report
    from spatialeval.pipeline.stages.bewo import KL_WARNING

    summary = {
        "protocol": "isdrama",
        "n_items": 2,
        "n_failed": 0,
        "stages": {},
        "bewo_itd_mse": 1.5,
        "counts": {"bewo_itd_mse": 2},
        "extra": {
            "bewo_released_kl": 0.25,
            "bewo_released_kl_warning": KL_WARNING,
            "bewo_itd_kl_hist": 0.1,
            "bewo_itd_w1_us": 50.0,
        },
    }
    text = format_report(summary)
    assert "BEWO 'KL' (as released)    0.2500" in text and f"warning: {KL_WARNING}" in text
    assert "BEWO ITD W1 [us]" in text
