"""BEWO's ITD table (Sun et al., ICLR 2025), GCC mode, as its released ``evaluations/`` compute it.

Definitions in :mod:`spatialeval.metrics.bewo`. Per item: each clip's mean GCC-PHAT ITD over
BEWO's fixed 100 frames and ``bewo_itd_mse`` = 1000·(m_gt − m_gen)², whose mean over the run is
the released "ITD MSE". The clips are measured separately, so unequal lengths are fine; a clip
shorter than one 0.272-s window, or with an ear silent throughout, is unmeasurable.

In the summary (``extra``): ``bewo_released_kl`` — the released "KL-divergence", reproduced for
comparison with published tables only, with ``bewo_released_kl_warning`` saying why it does not
measure the generated audio — and, as the meaningful distance between the two sets of per-clip
ITDs, ``bewo_itd_kl_hist`` (smoothed-histogram KL, nats) and ``bewo_itd_w1_us`` (Wasserstein-1, µs)
from :mod:`spatialeval.metrics.set_distances`.
"""

from __future__ import annotations

from dataclasses import dataclass

from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.settings import positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage

BEWO = (
    "Sun et al. 2025, Both-Ears-Wide-Open evaluations/ cal_avg_mean_itd.py (GCC mode) with "
    "StereoCRW vis_functs.gcc_phat"
)

KL_WARNING = (
    "bewo_released_kl is BEWO's printed 'KL-divergence' reproduced as released: it compares the reference "
    "folder's per-clip ITDs with their own mean and does not depend on the generated audio at all; use it only "
    "to compare with published numbers. bewo_itd_kl_hist / bewo_itd_w1_us compare the two sets."
)


@dataclass
class BEWOSettings:
    frames: int = setting(
        100,
        help="frames per clip at 10 frames/s (the release's fixed 100: BEWO's 10-s clips; "
        "frames past a shorter clip's end repeat its last window, as released)",
        check=positive(),
    )
    kl_folder: str = setting(
        "gt", choices=("gt", "gen"), help="which side is the released script's folder 1, the only one its 'KL' reads"
    )


class BEWOStage(Stage):
    name = "bewo"
    Settings = BEWOSettings
    light_settings = {"frames": 3}  # each frame is 513 GCC-PHAT patches: the release's 100 cost ~2 s per clip
    metrics = (
        MetricInfo(
            "bewo_itd_mse",
            "BEWO ITD MSE (GCC)",
            "bewo",
            False,
            "1000·(m_gt − m_gen)² of the clips' mean GCC-PHAT ITDs (ms); its mean is BEWO's 'ITD MSE'",
            unit="ms² ×1000",
            reference=BEWO,
            degenerate=degenerate_outcomes(
                "scored: the released GCC-PHAT ITDs of that audio (silent patches score +1.5 ms, as released)",
                silent="unmeasurable",
                short="unmeasurable",
            ),
        ),
    )
    extra_fields = ("bewo_gt_itd_ms", "bewo_gen_itd_ms", "bewo_empty_patch_frames")

    def describe(self):
        return {
            "method": "BEWO GCC mode: StereoCRW GCC-PHAT, 0.24 s + 512-sample windows at 16 kHz, ±1.5 ms, "
            "mean over 513 patches and 100 frames at 10 frames/s",
            "frames": self.settings.frames,
            "kl_folder": self.settings.kl_folder,
            "resampler": "scipy.signal.resample (FFT) to 16 kHz, then float32, as the release",
        }

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.bewo import TooShortForBEWO, bewo_itd_squared_error, clip_itd_ms

        item.gt.require_channels(2)
        item.gen.require_channels(2)
        values, reasons = {}, []
        for side in ("gt", "gen"):
            clip = getattr(item, side)
            try:
                values[side] = clip_itd_ms(clip.samples, clip.sample_rate, self.settings.frames)
            except TooShortForBEWO as exc:
                reasons.append(f"{side} too short: {exc}")
            except ValueError as exc:
                if "silent" not in str(exc):
                    raise
                reasons.append(f"{side}: {exc}")
        result = {
            "bewo_gt_itd_ms": values["gt"]["itd_ms"] if "gt" in values else float("nan"),
            "bewo_gen_itd_ms": values["gen"]["itd_ms"] if "gen" in values else float("nan"),
            "bewo_empty_patch_frames": sum(v["empty_patch_frames"] for v in values.values()),
        }
        if reasons:
            result.update({"bewo_itd_mse": float("nan"), "unmeasurable": {"bewo_itd_mse": "; ".join(reasons)}})
        else:
            result["bewo_itd_mse"] = bewo_itd_squared_error(values["gt"]["itd_ms"], values["gen"]["itd_ms"])
        return result

    def summarize(self, rows):
        from spatialeval.metrics.bewo import bewo_released_kl
        from spatialeval.metrics.set_distances import itd_kl_divergence, itd_wasserstein_us

        gt = [r["bewo_gt_itd_ms"] for r in rows]
        gen = [r["bewo_gen_itd_ms"] for r in rows]
        if not gt:
            return {}
        folder1 = gt if self.settings.kl_folder == "gt" else gen
        return {
            "bewo_released_kl": bewo_released_kl(folder1),
            "bewo_released_kl_warning": KL_WARNING,
            "bewo_itd_kl_hist": itd_kl_divergence([1000 * v for v in gt], [1000 * v for v in gen]),
            "bewo_itd_w1_us": itd_wasserstein_us([1000 * v for v in gt], [1000 * v for v in gen]),
        }
