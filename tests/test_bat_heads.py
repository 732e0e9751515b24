"""BAT heads in degrees and metres: decoding, wrap-around, great-circle error, window averaging, the model's heads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spatialeval.metrics.bat_heads import (
    bat_to_spatialeval_azimuth,
    circular_mean_deg,
    decode_heads,
    great_circle_deg,
    head_errors,
    mean_direction_deg,
    spatialeval_to_bat_azimuth,
    summarize_predictions,
    wrap180,
)
from spatialeval.synth import angular_distance_deg


def one_hot_logits(azimuths, elevations, distances, peak=30.0):
    """Logits whose argmax is the given class per window (azimuth/elevation/distance classes)."""
    n = len(azimuths)
    az, el, dist = np.zeros((n, 360)), np.zeros((n, 180)), np.zeros((n, 21))
    for i, (a, e, d) in enumerate(zip(azimuths, elevations, distances)):
        az[i, a], el[i, e], dist[i, d] = peak, peak, peak
    return az, el, dist


def test_argmax_decoding_maps_classes_to_degrees_and_metres():
    rng = np.random.default_rng(1)
    az, el, dist = rng.normal(size=(4, 360)), rng.normal(size=(4, 180)), rng.normal(size=(4, 21))
    predictions = decode_heads(az, el, dist)
    np.testing.assert_array_equal(predictions.azimuth_deg, np.argmax(az, axis=1))
    np.testing.assert_array_equal(predictions.elevation_deg, np.argmax(el, axis=1) - 90)
    np.testing.assert_array_equal(predictions.distance_m, np.argmax(dist, axis=1) * 0.5)
    # confidence = the largest softmax probability, computed here independently
    expected = np.exp(az.max(axis=1)) / np.exp(az).sum(axis=1)
    np.testing.assert_allclose(predictions.azimuth_confidence, expected, rtol=1e-12)
    assert np.all((predictions.distance_confidence > 1 / 21) & (predictions.distance_confidence <= 1))


def test_decoding_extremes_and_torch_input():
    az, el, dist = one_hot_logits([0, 359], [0, 179], [0, 20])
    predictions = decode_heads(
        torch.from_numpy(az).float(), torch.from_numpy(el).float(), torch.from_numpy(dist).float()
    )
    assert predictions.azimuth_deg.tolist() == [0.0, 359.0]
    assert predictions.elevation_deg.tolist() == [-90.0, 89.0]
    assert predictions.distance_m.tolist() == [0.0, 10.0]
    single = decode_heads(az[1], el[1], dist[1])  # one window given as 1-D logits
    assert len(single) == 1 and single.azimuth_deg[0] == 359.0


def test_flat_logits_give_minimal_confidence():
    predictions = decode_heads(np.zeros(360), np.zeros(180), np.zeros(21))
    assert math.isclose(predictions.azimuth_confidence[0], 1 / 360)
    assert math.isclose(predictions.distance_confidence[0], 1 / 21)


@pytest.mark.parametrize("bad", [np.zeros((2, 359)), np.zeros((2, 3, 360)), np.full((2, 360), np.nan)])
def test_malformed_logits_raise(bad):
    _, el, dist = one_hot_logits([0, 0], [90, 90], [2, 2])
    with pytest.raises(ValueError):
        decode_heads(bad, el, dist)


def test_window_count_mismatch_between_heads_raises():
    az, el, dist = one_hot_logits([0, 0], [90, 90], [2, 2])
    with pytest.raises(ValueError, match="number of windows"):
        decode_heads(az, el[:1], dist)


def test_convention_conversion_round_trip_and_landmarks():
    # BAT: 0 right, 90 front, 180 left, 270 back  →  spatialeval: -90 right, 0 front, 90 left, 180 back
    assert bat_to_spatialeval_azimuth(np.array([0.0, 90.0, 180.0, 270.0])).tolist() == [-90.0, 0.0, 90.0, 180.0]
    angles = np.arange(0.0, 360.0, 7.5)
    np.testing.assert_allclose(spatialeval_to_bat_azimuth(bat_to_spatialeval_azimuth(angles)), angles)
    wrapped = wrap180(np.linspace(-720, 720, 97))
    assert np.all((wrapped > -180) & (wrapped <= 180))


def test_great_circle_wraps_around_zero_and_360():
    assert great_circle_deg(359.0, 0.0, 1.0, 0.0) == 2.0
    assert great_circle_deg(0.0, 0.0, 360.0, 0.0) == 0.0
    assert great_circle_deg(-179.0, 0.0, 179.0, 0.0) == 2.0
    assert great_circle_deg(90.0, 0.0, 270.0, 0.0) == 180.0


def spatial_ast_formula(az1, el1, az2, el2):
    """Spatial-AST's arccos(sin·sin + cos·cos·cos Δaz) in degrees, written out independently."""
    az1, el1, az2, el2 = (np.radians(v) for v in (az1, el1, az2, el2))
    return np.degrees(
        np.arccos(np.clip(np.sin(el1) * np.sin(el2) + np.cos(el1) * np.cos(el2) * np.cos(az1 - az2), -1, 1))
    )


def test_great_circle_matches_known_vectors_and_the_reference_formula():
    # known: front vs. straight up = 90°, opposite points = 180°, 45° up at the same azimuth = 45°
    assert great_circle_deg(0.0, 0.0, 123.0, 90.0) == 90.0
    assert great_circle_deg(30.0, 20.0, 210.0, -20.0) == 180.0
    assert great_circle_deg(77.0, 0.0, 77.0, 45.0) == 45.0
    rng = np.random.default_rng(0)
    az1, az2 = rng.uniform(0, 360, 500), rng.uniform(0, 360, 500)
    el1, el2 = rng.uniform(-90, 89, 500), rng.uniform(-90, 89, 500)
    ours = great_circle_deg(az1, el1, az2, el2)
    np.testing.assert_allclose(ours, spatial_ast_formula(az1, el1, az2, el2), atol=1e-6)
    np.testing.assert_allclose(ours, angular_distance_deg(az1, el1, az2, el2), atol=1e-6)
    np.testing.assert_allclose(ours, great_circle_deg(az2, el2, az1, el1))  # symmetric


def test_circular_and_spherical_means():
    assert circular_mean_deg([350.0, 10.0, 0.0]) == 0.0
    assert circular_mean_deg([179.0, -179.0]) == 180.0
    s, c = (
        3 * math.sin(math.radians(10)) + math.sin(math.radians(20)),
        3 * math.cos(math.radians(10)) + math.cos(math.radians(20)),
    )
    assert math.isclose(
        circular_mean_deg([10.0, 20.0], weights=[3.0, 1.0]), math.degrees(math.atan2(s, c)), abs_tol=1e-9
    )
    assert math.isnan(circular_mean_deg([0.0, 120.0, 240.0]))  # no mean direction
    assert circular_mean_deg([np.nan, 30.0]) == 30.0  # NaN ignored
    assert mean_direction_deg([350.0, 10.0], [0.0, 0.0]) == (0.0, 0.0)
    az, el = mean_direction_deg([40.0, 40.0], [10.0, 30.0])
    assert math.isclose(az, 40.0) and math.isclose(el, 20.0)


def test_head_errors_average_per_window_errors_over_common_windows():
    # gt: 3 windows; generated: 2 windows → the first two are compared, like the cosines
    gt = decode_heads(*one_hot_logits([0, 100, 200], [90, 90, 90], [2, 4, 6]))
    gen = decode_heads(*one_hot_logits([350, 130], [90, 90], [3, 8]))
    errors = head_errors(gt, gen)
    assert errors["bat_windows"] == 2
    assert errors["bat_angle_error_deg"] == pytest.approx((10 + 30) / 2)  # 0 vs 350 wraps to 10°
    assert errors["bat_angle_error_rate"] == 0.5  # 30° > 20°, 10° is not
    assert errors["bat_distance_error_m"] == pytest.approx((0.5 + 2.0) / 2)
    assert errors["bat_distance_agreement"] == 0.5  # classes 2 vs 3 agree, 4 vs 8 not
    assert "unmeasurable" not in errors


def test_head_errors_use_elevation_in_the_great_circle():
    gt = decode_heads(*one_hot_logits([90], [90], [2]))  # BAT front, ear level
    gen = decode_heads(*one_hot_logits([90], [90 + 60], [2]))  # front, 60° up
    assert head_errors(gt, gen)["bat_angle_error_deg"] == pytest.approx(60.0)
    up = decode_heads(*one_hot_logits([0], [179], [2]))
    down = decode_heads(*one_hot_logits([0], [1], [2]))  # same azimuth, 89° up vs. 89° down
    assert head_errors(up, down)["bat_angle_error_deg"] == pytest.approx(178.0)


def test_identical_predictions_score_perfectly():
    predictions = decode_heads(*one_hot_logits([10, 300, 359], [80, 95, 120], [0, 10, 20]))
    errors = head_errors(predictions, predictions)
    assert errors["bat_angle_error_deg"] == 0.0 and errors["bat_distance_error_m"] == 0.0
    assert errors["bat_distance_agreement"] == 1.0 and errors["bat_angle_error_rate"] == 0.0


def test_summary_is_in_spatialeval_convention_and_window_averaged():
    predictions = decode_heads(*one_hot_logits([170, 190], [90, 90], [2, 6]))  # BAT 170°/190° ≈ left
    summary = summarize_predictions(predictions)
    assert summary["azimuth_deg"] == pytest.approx(90.0)  # left in spatialeval's convention
    assert summary["elevation_deg"] == pytest.approx(0.0)
    assert summary["distance_m"] == pytest.approx(2.0)
    errors = head_errors(predictions, predictions)
    assert errors["bat_gt_azimuth_deg"] == pytest.approx(90.0) and errors["bat_gen_distance_m"] == pytest.approx(2.0)


def test_no_windows_is_unmeasurable_not_zero():
    gt = decode_heads(*one_hot_logits([0], [90], [2]))
    empty = decode_heads(np.zeros((0, 360)), np.zeros((0, 180)), np.zeros((0, 21)))
    errors = head_errors(gt, empty)
    assert math.isnan(errors["bat_angle_error_deg"]) and math.isnan(errors["bat_distance_error_m"])
    assert "generated" in errors["unmeasurable"]["bat_angle_error_deg"]


@pytest.fixture(scope="module")
def stand_in_model(test_checkpoint):
    from spatialeval.models.checkpoint import load_bat

    return load_bat(test_checkpoint, "cpu").model


def test_stand_in_checkpoint_heads_shapes_ranges_and_unchanged_embeddings(stand_in_model):
    from spatialeval.synth import spatialize, speech_like

    sr = 32000
    clip = spatialize(speech_like(1.0, sr, seed=2), sr, azimuth_deg=40).T.astype(np.float32)
    windows = np.zeros((2, 2, 320000), dtype=np.float32)
    windows[0, :, :sr] = clip
    windows[1, :, :sr] = clip[::-1]  # swapped ears
    x = torch.from_numpy(windows)
    with torch.no_grad():
        plain = stand_in_model(x)
        full = stand_in_model(x, with_heads=True)
        again = stand_in_model.head_logits(plain.direction, plain.distance)
    assert plain.heads is None
    # the embeddings do not change when the heads are requested
    torch.testing.assert_close(full.direction, plain.direction, rtol=0, atol=0)
    torch.testing.assert_close(full.distance, plain.distance, rtol=0, atol=0)
    assert full.heads.azimuth.shape == (2, 360) and full.heads.elevation.shape == (2, 180)
    assert full.heads.distance.shape == (2, 21)
    # heads applied to saved embeddings give the forward pass's logits
    torch.testing.assert_close(again.azimuth, full.heads.azimuth)
    predictions = decode_heads(full.heads.azimuth, full.heads.elevation, full.heads.distance)
    assert np.all((predictions.azimuth_deg >= 0) & (predictions.azimuth_deg < 360))
    assert np.all((predictions.elevation_deg >= -90) & (predictions.elevation_deg <= 89))
    assert np.all((predictions.distance_m >= 0) & (predictions.distance_m <= 10))
    assert np.all((predictions.azimuth_confidence >= 1 / 360) & (predictions.azimuth_confidence <= 1))
    errors = head_errors(predictions, predictions)
    assert errors["bat_angle_error_deg"] == 0.0
