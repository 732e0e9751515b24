"""BEWO's ITD table (Sun et al., ICLR 2025), GCC and CRW modes and FSAD, as its released ``evaluations/`` compute them.

Definitions in :mod:`spatialeval.metrics.bewo` (GCC), :mod:`spatialeval.metrics.bewo_crw` (CRW, FSAD) and
:mod:`spatialeval.models.stereocrw` (the StereoCRW network). Per item: each clip's mean GCC-PHAT ITD over
BEWO's fixed 100 frames and ``bewo_itd_mse`` = 1000·(m_gt − m_gen)², whose mean over the run is
the released "ITD MSE"; with a StereoCRW checkpoint the same from the network's CRW ITDs,
``bewo_crw_itd_mse``. The clips are measured separately, so unequal lengths are fine; a clip
shorter than one 0.272-s window, or with an ear silent throughout, is unmeasurable.

Without a StereoCRW checkpoint (``bewo.crw_checkpoint`` / ``--crw-ckpt`` / ``$SPATIALEVAL_STEREOCRW_CKPT``)
the CRW metrics are skipped with a message saying where the weights can be found; naming
``bewo_crw_itd_mse`` with ``--metrics`` then stops the run (exit 2).

In the summary (``extra``): ``bewo_released_kl`` — the released "KL-divergence", reproduced for
comparison with published tables only, with ``bewo_released_kl_warning`` saying why it does not
measure the generated audio — and, as the meaningful distance between the two sets of per-clip
ITDs, ``bewo_itd_kl_hist`` (smoothed-histogram KL, nats) and ``bewo_itd_w1_us`` (Wasserstein-1, µs)
from :mod:`spatialeval.metrics.set_distances`. With CRW: ``fsad`` — BEWO's ``fsad_score``, 1000 · the
Fréchet distance of the gt and generated clips' pooled CRW-ITD features (a set-level number: it is
not the mean of per-item values) — and ``bewo_crw_released_kl``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from spatialeval.errors import UsageError
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.presentation import SummaryLine
from spatialeval.pipeline.settings import non_empty, positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage

BEWO = (
    "Sun et al. 2025, Both-Ears-Wide-Open evaluations/ cal_avg_mean_itd.py (GCC mode) with "
    "StereoCRW vis_functs.gcc_phat"
)
BEWO_CRW = (
    "Sun et al. 2025, Both-Ears-Wide-Open evaluations/ cal_avg_mean_itd.py (CRW mode) with StereoCRW's "
    "network (Chen et al. 2022) and vis_functs.estimate_crw_itd; FSAD: cal_avg_idt_fad.py"
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
    crw_checkpoint: str | None = setting(
        None,
        cli="--crw-ckpt",
        metavar="PATH",
        check=non_empty(),
        help="StereoCRW FreeMusic-StereoCRW-1024.pth.tar for CRW mode and FSAD (else $SPATIALEVAL_STEREOCRW_CKPT; "
        "without one they are skipped)",
    )
    crw_patches: int = setting(
        512,
        help="CRW patches per frame after the first (the release's --patch_num 512); fewer only for quick checks",
        check=positive(),
    )
    crw_patch_stride: int = setting(
        1,
        help="samples between CRW patches (the release's --patch_stride 1); larger only for quick checks",
        check=positive(),
    )


class BEWOStage(Stage):
    name = "bewo"
    Settings = BEWOSettings
    # each frame is 513 GCC-PHAT patches (the release's 100 frames cost ~2 s per clip) and 2 × 513 StereoCRW
    # forward passes (~30 ms each on a CPU core): the light budget is 2 frames (one window at a clip's start,
    # computed once) of 3 CRW patches 24 samples apart
    light_settings = {"frames": 2, "crw_patches": 2, "crw_patch_stride": 24}
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
        MetricInfo(
            "bewo_crw_itd_mse",
            "BEWO ITD MSE (CRW)",
            "bewo",
            False,
            "1000·(m_gt − m_gen)² of the clips' mean StereoCRW (CRW-mode) ITDs (ms); its mean is BEWO's CRW 'ITD MSE'",
            unit="ms² ×1000",
            reference=BEWO_CRW,
            requires_checkpoint=True,
            devices=("cpu", "cuda"),
            degenerate=degenerate_outcomes(
                "scored: the released CRW ITDs of that audio through the StereoCRW network",
                silent="unmeasurable",
                short="unmeasurable",
            ),
        ),
    )
    extra_fields = (
        "bewo_gt_itd_ms",
        "bewo_gen_itd_ms",
        "bewo_empty_patch_frames",
        "bewo_gt_crw_itd_ms",
        "bewo_gen_crw_itd_ms",
        "bewo_gt_crw_features",
        "bewo_gen_crw_features",
    )

    def setup(self):
        from spatialeval.metrics.bewo_crw import max_delay_offset
        from spatialeval.models.stereocrw import WHERE_TO_GET, load_stereocrw, resolve_crw_checkpoint

        s = self.settings
        if s.crw_patches + 1 <= 2 * max_delay_offset(s.crw_patch_stride):
            raise UsageError(
                f"bewo.crw_patches {s.crw_patches} with crw_patch_stride {s.crw_patch_stride} leaves no CRW ITD: "
                f"needs more than {2 * max_delay_offset(s.crw_patch_stride) - 1} patches"
            )
        self.crw = None
        if not self.wants("bewo_crw_itd_mse"):  # CRW mode (a network per patch) only serves bewo_crw_itd_mse and FSAD
            self._no_crw = "CRW mode and FSAD were not selected (--metrics)"
            return
        self._no_crw = f"CRW mode and FSAD were skipped: no StereoCRW checkpoint was given. {WHERE_TO_GET}"
        path = resolve_crw_checkpoint(s.crw_checkpoint)
        if path is not None:
            self.crw = load_stereocrw(path, self.config.resolved_device())

    def unavailable_metrics(self):
        return {} if self.crw is not None or not self.wants("bewo_crw_itd_mse") else {"bewo_crw_itd_mse": self._no_crw}

    def describe(self):
        crw = (
            {
                "checkpoint": self.crw.path,
                "sha256": self.crw.sha256,
                "patches": self.settings.crw_patches + 1,
                "patch_stride": self.settings.crw_patch_stride,
                "method": "StereoCRW resnet9 features per 0.24-s patch, affinity / 0.05, softmax within ±1.5 ms, "
                "soft-weighted lag, 24 patches dropped at each end, mean per frame; FSAD features pooled to 256",
            }
            if self.crw is not None
            else self._no_crw
        )
        return {
            "crw": crw,
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
        unmeasurable = {}
        if reasons:
            result["bewo_itd_mse"] = float("nan")
            unmeasurable["bewo_itd_mse"] = "; ".join(reasons)
        else:
            result["bewo_itd_mse"] = bewo_itd_squared_error(values["gt"]["itd_ms"], values["gen"]["itd_ms"])
        if self.wants("bewo_crw_itd_mse"):  # CRW mode needs GCC mode's checks, not the other way round
            result.update(self._crw(item, reasons, unmeasurable))
        if unmeasurable:
            result["unmeasurable"] = unmeasurable
        return result

    @classmethod
    def summary_lines(cls, extra, protocol):
        """The corpus-level ITD distribution comparisons of :meth:`summarize`, the released 'KL' flagged."""
        lines = (
            ("bewo_released_kl", "BEWO 'KL' (as released)", "see the warning below"),
            ("bewo_itd_kl_hist", "BEWO ITD KL (histograms)", "lower is better"),
            ("bewo_itd_w1_us", "BEWO ITD W1 [us]", "lower is better"),
            ("bewo_crw_released_kl", "BEWO CRW 'KL' (as released)", "see the warning below"),
            ("fsad", "BEWO FSAD (x1000, set-level)", "lower is better"),
        )
        # a NaN FSAD comes with fsad_unmeasurable (its reason), not with a line of its own
        return [
            SummaryLine(label, extra[key], note)
            for key, label, note in lines
            if extra.get(key) is not None and extra[key] == extra[key]
        ]

    def _crw(self, item: LoadedPair, reasons: list[str], unmeasurable: dict) -> dict:
        """CRW-mode fields; the clips GCC mode could not measure (too short, an ear silent) are not measured either."""
        from spatialeval.metrics.bewo import bewo_itd_squared_error
        from spatialeval.models.stereocrw import clip_crw

        empty = {"bewo_gt_crw_itd_ms": float("nan"), "bewo_gen_crw_itd_ms": float("nan")}
        empty.update(bewo_gt_crw_features="", bewo_gen_crw_features="", bewo_crw_itd_mse=float("nan"))
        if self.crw is None:
            unmeasurable["bewo_crw_itd_mse"] = self._no_crw
            return empty
        if reasons:
            unmeasurable["bewo_crw_itd_mse"] = "; ".join(reasons)
            return empty
        s, out = self.settings, {}
        for side in ("gt", "gen"):
            clip = getattr(item, side)
            crw = clip_crw(self.crw.model, clip.samples, clip.sample_rate, s.frames, s.crw_patches, s.crw_patch_stride)
            out[f"bewo_{side}_crw_itd_ms"] = crw["itd_ms"]
            out[f"bewo_{side}_crw_features"] = _pack(crw["frame_features"])
        out["bewo_crw_itd_mse"] = bewo_itd_squared_error(out["bewo_gt_crw_itd_ms"], out["bewo_gen_crw_itd_ms"])
        return out

    def summarize(self, rows):
        from spatialeval.metrics.bewo import bewo_released_kl
        from spatialeval.metrics.set_distances import itd_kl_divergence, itd_wasserstein_us

        gt = [r["bewo_gt_itd_ms"] for r in rows]
        gen = [r["bewo_gen_itd_ms"] for r in rows]
        if not gt:
            return {}
        folder1 = gt if self.settings.kl_folder == "gt" else gen
        summary = {}
        if self.wants("bewo_itd_mse"):  # GCC mode's corpus values, not reported when only CRW mode was asked for
            summary = {
                "bewo_released_kl": bewo_released_kl(folder1),
                "bewo_released_kl_warning": KL_WARNING,
                "bewo_itd_kl_hist": itd_kl_divergence([1000 * v for v in gt], [1000 * v for v in gen]),
                "bewo_itd_w1_us": itd_wasserstein_us([1000 * v for v in gt], [1000 * v for v in gen]),
            }
        # a merge of shards summarises stages it never set up: the rows say whether CRW mode ran
        crw_ran = getattr(self, "crw", None) is not None or any(r.get("bewo_gt_crw_features") for r in rows)
        if crw_ran:
            summary.update(self._crw_summary(rows))
        return summary

    def _crw_summary(self, rows) -> dict:
        """BEWO's CRW-mode 'KL' and FSAD over the items both clips of which CRW mode measured."""
        from spatialeval.metrics.bewo import bewo_released_kl
        from spatialeval.metrics.bewo_crw import fsad, fsad_vector

        measured = [r for r in rows if r.get("bewo_gt_crw_features") and r.get("bewo_gen_crw_features")]
        if not measured:
            return {"fsad": float("nan"), "fsad_unmeasurable": "no item was measured in CRW mode"}
        side = "gt" if self.settings.kl_folder == "gt" else "gen"
        summary = {"bewo_crw_released_kl": bewo_released_kl([r[f"bewo_{side}_crw_itd_ms"] for r in measured])}
        if self.settings.frames % 5:
            reason = (
                f"FSAD averages groups of 5 frames (the release: 100 = 20 × 5); bewo.frames is {self.settings.frames}"
            )
            return {**summary, "fsad": float("nan"), "fsad_unmeasurable": reason}
        if len(measured) < 2:
            return {**summary, "fsad": float("nan"), "fsad_unmeasurable": "FSAD's covariances need at least 2 items"}
        vectors = {
            side: np.stack([fsad_vector(_unpack(r[f"bewo_{side}_crw_features"])) for r in measured])
            for side in ("gt", "gen")
        }
        return {**summary, "fsad": fsad(vectors["gt"], vectors["gen"]), "fsad_items": len(measured)}


def _pack(frame_features: np.ndarray) -> str:
    """(frames, 256) float32 → base64 text, so the per-item row (items.jsonl, resume, merge) carries FSAD's input."""
    array = np.ascontiguousarray(frame_features, dtype="<f4")
    return f"{array.shape[0]}:" + base64.b64encode(array.tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    frames, _, data = text.partition(":")
    return np.frombuffer(base64.b64decode(data), dtype="<f4").reshape(int(frames), -1)
