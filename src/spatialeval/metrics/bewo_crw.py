"""BEWO's CRW-mode ITD and FSAD from StereoCRW patch features, as the released code computes them.

Re-implemented from reading PeiwenSun2000/Both-Ears-Wide-Open ``evaluations/`` (the same code as
SonyResearch/soundreactor_v2a_eval ``stereoFAD/``): ``vis_scripts/vis_video_itd.py`` ``inference``,
``vis_scripts/vis_functs.py`` ``estimate_crw_itd`` / ``inference_crw_itd_simple`` /
``mask_by_max_delay_window``, ``models/stereo_loss.py`` ``StereoCRWLoss.inference``, and
``cal_avg_mean_itd.py`` / ``cal_avg_idt_fad.py``; run by ``scripts/visualization_video.sh`` with
``--patch_num 512 --patch_stride 1 --clip_length 0.24 --mode mean`` and defaults
``--select soft_weight``, no ``--cycle_filter``, no ``--bidirectional``, ``tau`` 0.05, max delay 1.5 ms.

Per frame (a (2, 3840 + 512) window at 16 kHz, placed as in GCC mode, :func:`spatialeval.metrics.bewo.frame_starts`):

* the 513 patches (3840 samples, hop 1) of each ear → StereoCRW features f_L, f_R (513 × 128), each
  row L2-normalised; affinity A = f_L f_Rᵀ / 0.05;
* band mask |j − i| ≤ 24 (1.5 ms / stride 1): entries outside, **and entries exactly 0 inside**, are
  set to −1e20 (the release tests ``masked == 0``); softmax over j;
* patch ITD_i = Σ_j softmax_ij · (j − i) / 16000 s; the 24 patches at each end are dropped (465 left);
* frame ITD = their mean; the frame's **FSAD feature** = the 465 patch ITDs (s) average-pooled to 256
  (``nn.AdaptiveAvgPool1d(256)``).

Per clip: CRW ITD = mean of the frame ITDs (ms); ``ITD MSE`` = 1000 · mean over clips of
(m_gt − m_gen)², as in GCC mode. FSAD: each clip's 100 × 256 frame features are averaged over
consecutive groups of 5 frames (20 × 256) and flattened (5120-d); FSAD = 1000 · Fréchet distance
(``np.cov`` sample covariance, FID formula) between the gt clips' and the generated clips' vectors.
Units: the ITD features are in seconds, so FSAD is in s² × 1000.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

RATE = 16000
TAU = 0.05  # StereoCRWLoss's temperature (pr.tau)
MAX_DELAY_S = 1.5e-3
POOLED = 256  # nn.AdaptiveAvgPool1d(256) of the per-patch ITDs
GROUP = 5  # frames averaged per FSAD group (view(n, 20, 5, 256).mean(2) for the release's 100 frames)
MASKED = -1e20


def max_delay_offset(patch_stride: int = 1) -> int:
    """Patches per 1.5 ms: ``floor(16000 · 1.5e-3 / stride)`` (24 at the release's stride 1).

    >>> max_delay_offset(1), max_delay_offset(4), max_delay_offset(24)
    (24, 6, 1)
    """
    return int(np.floor(RATE * MAX_DELAY_S / patch_stride))


def delay_matrix(patches: int, patch_stride: int = 1) -> torch.Tensor:
    """(patches, patches) float32 lags in seconds: entry (i, j) = (j − i) · stride / 16000.

    >>> (delay_matrix(3) * 16000).tolist()
    [[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]
    """
    index = torch.arange(patches)
    return ((index.view(1, -1) - index.view(-1, 1)) * patch_stride / RATE).float()


def band_softmax(affinity: torch.Tensor, offset: int) -> torch.Tensor:
    """Softmax over j of the affinities with |j − i| ≤ ``offset``; others, and exact zeros inside, → −1e20 first."""
    rows, cols = affinity.shape[-2:]
    i = torch.arange(rows).view(-1, 1)
    j = torch.arange(cols).view(1, -1)
    band = ((j - i).abs() <= offset).to(affinity.dtype)
    masked = affinity * band
    masked = masked.masked_fill(masked == 0, MASKED)
    return F.softmax(masked, dim=-1)


def crw_frame_itds(left: torch.Tensor, right: torch.Tensor, patch_stride: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame ITDs (B,) and FSAD features (B, 256), both float32 seconds, from patch features (B, P, D) of each ear.

    Raises:
        ValueError: mismatched shapes, or too few patches to leave any after dropping ``offset`` at each end.

    >>> f = torch.randn(1, 62, 64, generator=torch.Generator().manual_seed(0))
    >>> itd, pooled = crw_frame_itds(f[:, 2:], f[:, :60])   # right patch i + 2 = left patch i: a 2-sample lag
    >>> round(float(itd[0]) * 16000, 4), tuple(pooled.shape)
    (2.0, (1, 256))
    """
    if left.shape != right.shape or left.dim() != 3:
        raise ValueError(f"expected two feature arrays of the same shape (B, P, D), got {left.shape}, {right.shape}")
    offset = max_delay_offset(patch_stride)
    patches = left.shape[1]
    if patches <= 2 * offset:
        raise ValueError(f"{patches} patches leave no ITD after dropping {offset} at each end")
    left, right = F.normalize(left, p=2, dim=-1), F.normalize(right, p=2, dim=-1)
    affinity = torch.matmul(left, right.transpose(-2, -1)) / TAU
    weights = band_softmax(affinity, offset)
    patch_itds = torch.sum(weights * delay_matrix(patches, patch_stride), dim=-1)[:, offset:-offset]
    pooled = F.adaptive_avg_pool1d(patch_itds.unsqueeze(1), POOLED).squeeze(1)
    return patch_itds.mean(dim=-1), pooled


def fsad_vector(frame_features: np.ndarray) -> np.ndarray:
    """One clip's FSAD vector: its (frames, 256) frame features averaged over consecutive groups of 5, flattened.

    Raises:
        ValueError: a frame count that is not a multiple of 5 (the release's reshape needs 100 = 20 × 5).

    >>> fsad_vector(np.arange(10 * 256, dtype=np.float32).reshape(10, 256)).shape
    (512,)
    """
    x = np.asarray(frame_features, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != POOLED or x.shape[0] % GROUP:
        raise ValueError(f"FSAD needs (frames, 256) features with frames a multiple of 5, got {x.shape}")
    grouped = torch.from_numpy(x).view(x.shape[0] // GROUP, GROUP, POOLED).mean(dim=1)
    return grouped.reshape(-1).numpy()


def fsad(gt_vectors, gen_vectors) -> float:
    """BEWO's ``fsad_score``: 1000 · Fréchet distance (sample covariances) of the gt and generated clip vectors.

    The Fréchet part is :func:`spatialeval.metrics.set_distances.frechet_distance` (exact: with fewer clips than
    dimensions it works in the span of the vectors; the release's general ``scipy.linalg.sqrtm`` of the singular
    5120 × 5120 product gives the same value to rounding).

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(4, 6))
    >>> round(fsad(x, x), 9), round(fsad(x, x + 0.001), 9)
    (0.0, 0.006)
    """
    from spatialeval.metrics.set_distances import frechet_distance

    return 1000.0 * frechet_distance(gt_vectors, gen_vectors, covariance="sample")
