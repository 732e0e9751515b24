"""BAT's trained heads in degrees and metres: decoding, great-circle errors, window averaging.

The BAT checkpoint (Spatial-AST, zszheng147/Spatial-AST) carries three spatial heads
beside the embeddings: ``azimuth_head`` (360 classes), ``elevation_head`` (180) and
``distance_head`` (21). :meth:`spatialeval.models.bat.SpatialAST.head_logits` applies
them as Spatial-AST's ``forward`` does (azimuth and elevation on the normalised
direction token, distance on the normalised distance token); this module turns the
logits into angles and metres and compares ground truth with generated audio.

BAT's coordinate convention (Spatial-AST ``data/dataset.py`` ``fetch_spatial_targets``;
README figure: right-handed, +y up, front = −z, right = +x, left = −x):

* azimuth class ``k`` = ``k`` degrees, from ``round(degrees(atan2(−dz, dx))) mod 360``:
  **0° = right, 90° = front, 180° = left, 270° = back**, counter-clockwise seen from
  above (dx, dz = source − listener; the listener is taken to face −z);
* elevation class ``k`` = ``k − 90`` degrees, from ``(round(elevation) + 90) mod 180``,
  so classes cover −90…+89° (a source straight overhead, +90°, was labelled class 0);
* distance class ``k`` = ``k / 2`` metres, from ``round(2 · metres)``: 0–10 m by 0.5 m.

spatialeval's own convention (MIT KEMAR: 0° = front, 90° = left, counter-clockwise) is
the same rotation sense turned by 90°: ``azimuth_spatialeval = azimuth_BAT − 90°``
(:func:`bat_to_spatialeval_azimuth`). Angle *errors* do not depend on the convention.

Spatial-AST's evaluation (``engine_finetune.py`` ``evaluate``) decodes every head by
argmax, scores direction by the great-circle angle between predicted and labelled
(azimuth, elevation − 90) (``distance_between_spherical_coordinates_rad``), reports its
mean (``doa_angular_error``) and the fraction above 20° (``doa_error``), and counts a
distance as correct when the classes differ by at most one (``distance_accuracy``,
i.e. within ±0.5 m). Here the "label" is the prediction on the ground-truth clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from spatialeval.io.hrir import wrap180

AZIMUTH_CLASSES = 360
ELEVATION_CLASSES = 180
DISTANCE_CLASSES = 21
DISTANCE_STEP_M = 0.5
ELEVATION_OFFSET_DEG = 90
DOA_ERROR_THRESHOLD_DEG = 20.0  # Spatial-AST's "doa_error": fraction of errors above this
BAT_TO_SPATIALEVAL_DEG = -90.0  # BAT 90° (front) → spatialeval 0°


def bat_to_spatialeval_azimuth(azimuth_deg):
    """BAT azimuth (0 = right, 90 = front, 180 = left) → spatialeval azimuth (0 = front, 90 = left), in (−180, 180].

    >>> bat_to_spatialeval_azimuth(np.array([90.0, 180.0, 0.0, 270.0])).tolist()
    [0.0, 90.0, -90.0, 180.0]
    """
    return wrap180(np.asarray(azimuth_deg, dtype=np.float64) + BAT_TO_SPATIALEVAL_DEG)


def spatialeval_to_bat_azimuth(azimuth_deg):
    """spatialeval azimuth (0 = front, 90 = left) → BAT azimuth in [0, 360) (0 = right, 90 = front).

    >>> spatialeval_to_bat_azimuth(np.array([0.0, 90.0, -90.0])).tolist()
    [90.0, 180.0, 0.0]
    """
    return np.mod(np.asarray(azimuth_deg, dtype=np.float64) - BAT_TO_SPATIALEVAL_DEG, 360.0)


def _unit_vectors(azimuth_deg, elevation_deg) -> np.ndarray:
    az, el = (
        np.radians(np.asarray(azimuth_deg, dtype=np.float64)),
        np.radians(np.asarray(elevation_deg, dtype=np.float64)),
    )
    az, el = np.broadcast_arrays(az, el)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def great_circle_deg(azimuth1_deg, elevation1_deg, azimuth2_deg, elevation2_deg) -> np.ndarray:
    """Great-circle angle (degrees, 0…180) between directions given as azimuth/elevation in degrees.

    The same quantity as Spatial-AST's ``distance_between_spherical_coordinates_rad``
    (arccos of sin·sin + cos·cos·cos Δaz), computed as atan2(‖u×v‖, u·v) of unit
    vectors, which stays accurate for tiny and near-180° angles. Any azimuth convention
    works as long as both directions use the same one; azimuths wrap (359° vs 0° is 1°).

    >>> float(great_circle_deg(359.0, 0.0, 0.0, 0.0))
    1.0
    >>> float(great_circle_deg(0.0, 0.0, 180.0, 0.0)), float(great_circle_deg(10.0, 90.0, 200.0, 90.0))
    (180.0, 0.0)
    >>> round(float(great_circle_deg(0.0, 0.0, 90.0, 45.0)), 6)   # arccos(cos 45° · cos 90°)
    90.0
    """
    u, v = _unit_vectors(azimuth1_deg, elevation1_deg), _unit_vectors(azimuth2_deg, elevation2_deg)
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    dot = np.sum(u * v, axis=-1)
    return np.round(np.degrees(np.arctan2(cross, dot)), 10)


def circular_mean_deg(angles_deg, weights=None, min_resultant: float = 1e-9) -> float:
    """Circular mean of angles (degrees) in (−180, 180]; NaN when the mean resultant length is below ``min_resultant``.

    mean = atan2(Σ w sin θ, Σ w cos θ). Angles spread evenly round the circle have no
    mean direction, hence NaN rather than an arbitrary angle. NaN inputs are ignored.

    >>> circular_mean_deg([350.0, 10.0])
    0.0
    >>> circular_mean_deg([170.0, -170.0])
    180.0
    >>> import math; math.isnan(circular_mean_deg([0.0, 180.0]))
    True
    """
    theta = np.radians(np.asarray(angles_deg, dtype=np.float64).reshape(-1))
    w = np.ones_like(theta) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    keep = np.isfinite(theta) & np.isfinite(w)
    if not keep.any() or w[keep].sum() <= 0:
        return float("nan")
    s, c = np.sum(w[keep] * np.sin(theta[keep])), np.sum(w[keep] * np.cos(theta[keep]))
    if np.hypot(s, c) / w[keep].sum() < min_resultant:
        return float("nan")
    return float(wrap180(np.round(np.degrees(np.arctan2(s, c)), 10)))


def mean_direction_deg(azimuth_deg, elevation_deg, weights=None, min_resultant: float = 1e-9) -> tuple[float, float]:
    """Direction of the (weighted) mean unit vector: (azimuth in (−180, 180], elevation); NaNs when undefined.

    The spherical counterpart of :func:`circular_mean_deg`, used to average per-window
    predicted directions; at elevation 0 it equals the circular mean of the azimuths.

    >>> mean_direction_deg([350.0, 10.0], [0.0, 0.0])
    (0.0, 0.0)
    >>> az, el = mean_direction_deg([0.0, 180.0], [45.0, 45.0]); el   # opposite azimuths, same height: overhead
    90.0
    """
    vectors = _unit_vectors(
        np.asarray(azimuth_deg, dtype=np.float64).reshape(-1), np.asarray(elevation_deg, dtype=np.float64).reshape(-1)
    )
    w = np.ones(len(vectors)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    keep = np.all(np.isfinite(vectors), axis=1) & np.isfinite(w)
    if not keep.any() or w[keep].sum() <= 0:
        return float("nan"), float("nan")
    mean = np.sum(w[keep, None] * vectors[keep], axis=0) / w[keep].sum()
    length = float(np.linalg.norm(mean))
    if length < min_resultant:
        return float("nan"), float("nan")
    mean /= length
    elevation = float(np.round(np.degrees(np.arcsin(np.clip(mean[2], -1.0, 1.0))), 10))
    azimuth = float(wrap180(np.round(np.degrees(np.arctan2(mean[1], mean[0])), 10))) if abs(elevation) < 90.0 else 0.0
    return azimuth, elevation


@dataclass(frozen=True)
class HeadPredictions:
    """Per-window decoded BAT head outputs, in **BAT's convention** (see the module docstring).

    ``azimuth_deg`` in [0, 360) (0 = right, 90 = front), ``elevation_deg`` in [−90, 89],
    ``distance_m`` in [0, 10]; ``azimuth_confidence`` and ``distance_confidence`` are that head's
    largest softmax probability (1/classes for a flat output, 1 for a certain one). Arrays have
    shape (windows,).
    """

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    distance_m: np.ndarray
    azimuth_confidence: np.ndarray
    distance_confidence: np.ndarray

    def __len__(self) -> int:
        return int(self.azimuth_deg.shape[0])

    @property
    def spatialeval_azimuth_deg(self) -> np.ndarray:
        """Azimuths in spatialeval's convention (0 = front, 90 = left), in (−180, 180]."""
        return bat_to_spatialeval_azimuth(self.azimuth_deg)

    @property
    def distance_class(self) -> np.ndarray:
        return np.rint(self.distance_m / DISTANCE_STEP_M).astype(int)


def _logits(name: str, value, classes: int) -> np.ndarray:
    array = np.asarray(value.detach().cpu().float().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != classes:
        raise ValueError(f"{name} logits must have shape (windows, {classes}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} logits contain NaN or infinite values")
    return array


def decode_heads(azimuth_logits, elevation_logits, distance_logits) -> HeadPredictions:
    """Argmax-decode BAT's head logits (numpy arrays or torch tensors) into degrees and metres.

    Decoding follows Spatial-AST's evaluation: the argmax class of each head, with
    azimuth = class (degrees), elevation = class − 90 (degrees), distance = 0.5·class
    (metres). Azimuth and distance confidence = the largest softmax probability of that head.

    Args:
        azimuth_logits: (windows, 360) or (360,).
        elevation_logits: (windows, 180) or (180,).
        distance_logits: (windows, 21) or (21,).

    Raises:
        ValueError: wrong shapes, different window counts, or non-finite logits.

    >>> az, el, dist = np.zeros((2, 360)), np.zeros((2, 180)), np.zeros((2, 21))
    >>> az[0, 359] = az[1, 90] = 20.0; el[:, 90] = 20.0; dist[0, 4] = dist[1, 20] = 20.0
    >>> p = decode_heads(az, el, dist)
    >>> p.azimuth_deg.tolist(), p.elevation_deg.tolist(), p.distance_m.tolist()
    ([359.0, 90.0], [0.0, 0.0], [2.0, 10.0])
    >>> p.spatialeval_azimuth_deg.tolist()   # BAT 359°: 1° behind the right ear; BAT 90°: straight ahead
    [-91.0, 0.0]
    >>> bool(p.azimuth_confidence[0] > 0.99)
    True
    """
    az = _logits("azimuth", azimuth_logits, AZIMUTH_CLASSES)
    el = _logits("elevation", elevation_logits, ELEVATION_CLASSES)
    dist = _logits("distance", distance_logits, DISTANCE_CLASSES)
    if not az.shape[0] == el.shape[0] == dist.shape[0]:
        raise ValueError(f"heads disagree on the number of windows: {az.shape[0]}, {el.shape[0]}, {dist.shape[0]}")
    return HeadPredictions(
        azimuth_deg=np.argmax(az, axis=1).astype(np.float64),
        elevation_deg=np.argmax(el, axis=1).astype(np.float64) - ELEVATION_OFFSET_DEG,
        distance_m=np.argmax(dist, axis=1).astype(np.float64) * DISTANCE_STEP_M,
        azimuth_confidence=softmax(az, axis=1).max(axis=1),
        distance_confidence=softmax(dist, axis=1).max(axis=1),
    )


def summarize_predictions(predictions: HeadPredictions) -> dict[str, float]:
    """Window-averaged prediction of one clip, azimuth in **spatialeval's** convention.

    direction = direction of the mean unit vector over windows (:func:`mean_direction_deg`);
    distance and confidences = arithmetic means over windows.

    >>> az, el, dist = np.zeros((2, 360)), np.zeros((2, 180)), np.zeros((2, 21))
    >>> az[0, 100] = az[1, 80] = 50.0; el[:, 90] = 50.0; dist[0, 2] = dist[1, 4] = 50.0
    >>> s = summarize_predictions(decode_heads(az, el, dist))
    >>> s["azimuth_deg"], s["elevation_deg"], s["distance_m"]
    (0.0, 0.0, 1.5)
    """
    if len(predictions) == 0:
        nan = float("nan")
        return {
            "azimuth_deg": nan,
            "elevation_deg": nan,
            "distance_m": nan,
            "azimuth_confidence": nan,
            "distance_confidence": nan,
        }
    azimuth, elevation = mean_direction_deg(predictions.spatialeval_azimuth_deg, predictions.elevation_deg)
    return {
        "azimuth_deg": azimuth,
        "elevation_deg": elevation,
        "distance_m": float(np.mean(predictions.distance_m)),
        "azimuth_confidence": float(np.mean(predictions.azimuth_confidence)),
        "distance_confidence": float(np.mean(predictions.distance_confidence)),
    }


def head_errors(gt: HeadPredictions, gen: HeadPredictions) -> dict:
    """Angle and distance disagreement of BAT's heads between a ground-truth and a generated clip.

    Windows are paired by position over the windows both clips have (``n = min``), as
    the ANG/Dis cosines are, and the per-window values are averaged:

    * ``bat_angle_error_deg`` = mean_i great-circle(dir_gt,i, dir_gen,i) (degrees, lower is better);
    * ``bat_angle_error_rate`` = fraction of windows whose angle error exceeds 20°
      (Spatial-AST's ``doa_error`` criterion; lower is better);
    * ``bat_distance_error_m`` = mean_i |d_gen,i − d_gt,i| (metres, lower is better);
    * ``bat_distance_agreement`` = fraction of windows whose distance classes differ by
      at most one, i.e. ±0.5 m (Spatial-AST's ``distance_accuracy`` criterion; higher is better);
    * extras: ``bat_windows`` (windows compared) and, per side, the window-averaged
      prediction (:func:`summarize_predictions`): ``bat_gt_azimuth_deg``,
      ``bat_gt_elevation_deg``, ``bat_gt_distance_m``, ``bat_gt_azimuth_confidence``,
      ``bat_gt_distance_confidence`` and the same with ``bat_gen_``. These azimuths are
      in spatialeval's convention (0 = front, 90 = left), converted from BAT's.

    With no window on either side every metric is NaN and ``unmeasurable`` says why.

    >>> az, el, dist = np.zeros((1, 360)), np.zeros((1, 180)), np.zeros((1, 21))
    >>> az[0, 5] = el[0, 90] = dist[0, 4] = 9.0
    >>> gt = decode_heads(az, el, dist)
    >>> az2, dist2 = np.zeros((1, 360)), np.zeros((1, 21)); az2[0, 355] = dist2[0, 7] = 9.0
    >>> e = head_errors(gt, decode_heads(az2, el, dist2))
    >>> e["bat_angle_error_deg"], e["bat_distance_error_m"], e["bat_distance_agreement"]
    (10.0, 1.5, 0.0)
    """
    n = min(len(gt), len(gen))
    result: dict = {"bat_windows": n}
    names = ("bat_angle_error_deg", "bat_angle_error_rate", "bat_distance_error_m", "bat_distance_agreement")
    if n == 0:
        side = "ground truth" if len(gt) == 0 else "generated clip"
        result.update({name: float("nan") for name in names})
        result["unmeasurable"] = {name: f"the {side} has no encoder window" for name in names}
    else:
        angles = great_circle_deg(gt.azimuth_deg[:n], gt.elevation_deg[:n], gen.azimuth_deg[:n], gen.elevation_deg[:n])
        result.update(
            {
                "bat_angle_error_deg": float(np.mean(angles)),
                "bat_angle_error_rate": float(np.mean(angles > DOA_ERROR_THRESHOLD_DEG)),
                "bat_distance_error_m": float(np.mean(np.abs(gen.distance_m[:n] - gt.distance_m[:n]))),
                "bat_distance_agreement": float(np.mean(np.abs(gen.distance_class[:n] - gt.distance_class[:n]) <= 1)),
            }
        )
    for prefix, predictions in (("bat_gt_", gt), ("bat_gen_", gen)):
        for key, value in summarize_predictions(predictions).items():
            result[prefix + key] = value
    return result
