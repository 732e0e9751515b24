"""Moving sources: per-segment direction trajectories of gt and generated, and the error between them.

Each clip is cut into ``segment_seconds`` segments (the ISDrama paper's 1 s). Per segment:

* **checkpoint-free** — the DoA estimator of the ``cues`` stage
  (:func:`spatialeval.metrics.doa.estimate_direction`, with the cue settings); a segment whose
  front/back is ambiguous is decided by the pair comparison of the gt and generated segments'
  pinna-band spectra (:mod:`spatialeval.metrics.front_back_pair`, ``cues.pair_front_back``:
  'same' or 'mirrored', the latter an error of 180° − α_gt − α_gen), otherwise (undecided, or on
  the interaural axis) it counts with its lateral angle;
* **BAT** — the spatial encoder's trained direction head on the segment (zero-padded to the
  encoder's 10-s input, as the ``segments`` mode does; the embeddings are the ``bat`` stage's,
  cached by content under the same keys), when a BAT checkpoint is configured; otherwise those
  metrics are unmeasurable with the reason.

Both tracks use one segment-validity rule (:func:`spatialeval.metrics.trajectory.segment_validity`:
a segment shorter than ``min_segment_seconds`` or silent within its clip is unmeasurable, with
the cue stage's ``gate_db``), so the cue and BAT tracks compare the same segments.

The trajectory error is the mean per-segment angle error over the segments measurable in both
clips, with the worst segment beside it (:mod:`spatialeval.metrics.trajectory`); the tracks
themselves are kept per item for the report's azimuth-over-time plot.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from spatialeval.errors import StageUnavailable
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.presentation import Figure, ReportView, Section, Subheading, Text, largest_first
from spatialeval.pipeline.settings import positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class TrajectorySettings:
    segment_seconds: float = setting(
        1.0, help="segment length of the direction tracks (the paper's 1 s)", check=positive()
    )
    min_segment_seconds: float = setting(0.5, help="a shorter last segment is unmeasurable", check=positive())
    bat: bool = setting(True, help="also track BAT's direction head per segment when a checkpoint is configured")

    def validate(self, config) -> None:
        if not self.min_segment_seconds <= self.segment_seconds:
            raise ValueError(
                f"config.trajectory.min_segment_seconds ({self.min_segment_seconds}) must not exceed "
                f"config.trajectory.segment_seconds ({self.segment_seconds})"
            )


TRACKS = "per-segment direction tracks (ISDrama's 1-s segmentation), gt vs. generated"


#: The two independent tracks' metrics: a run selecting none of one track's metrics does not compute that track.
CUES_METRICS = ("cues_trajectory_error_deg", "cues_trajectory_worst_deg")
BAT_METRICS = ("bat_trajectory_error_deg", "bat_trajectory_worst_deg")

# Both tracks compare the same segments: those long enough and with a measurable direction in both clips.
DEGENERATE = degenerate_outcomes(
    "unmeasurable",
    clipped="scored: the per-segment direction errors",
    long_gap="scored: over the segments measurable in both clips",
)
# BAT's head answers for any sound that is not silent: on noise it is the direction BAT hears (the cue
# track finds no coherent direct sound there, so it stays unmeasurable).
BAT_DEGENERATE = {**DEGENERATE, "noise": "scored: BAT's per-segment directions of the noise"}


def _metric(name: str, label: str, description: str, checkpoint: bool) -> MetricInfo:
    return MetricInfo(
        name,
        label,
        "trajectory",
        False,
        description,
        unit="degrees",
        requires_checkpoint=checkpoint,
        devices=("cpu", "cuda") if checkpoint else ("cpu",),
        reference=TRACKS,
        degenerate=BAT_DEGENERATE if checkpoint else DEGENERATE,
    )


class TrajectoryStage(Stage):
    name = "trajectory"
    Settings = TrajectorySettings
    metrics = (
        _metric(
            "cues_trajectory_error_deg",
            "Cue traj err",
            "mean per-segment angle error of the checkpoint-free DoA (lateral angle where front/back is ambiguous)",
            False,
        ),
        _metric(
            "cues_trajectory_worst_deg", "Cue traj worst", "largest per-segment angle error (checkpoint-free)", False
        ),
        _metric(
            "bat_trajectory_error_deg",
            "BAT traj err",
            "mean per-segment great-circle error of BAT's direction head",
            True,
        ),
        _metric(
            "bat_trajectory_worst_deg", "BAT traj worst", "largest per-segment error of BAT's direction head", True
        ),
    )
    extra_fields = tuple(
        f"{source}_{name}"
        for source in ("cues", "bat")
        for name in (
            "trajectory_worst_segment_s",
            "trajectory_segments",
            "trajectory_unmeasurable_segments",
            "trajectory_unpaired_segments",
            "trajectory_lateral_segments",
            "track_gt",
            "track_gen",
        )
    ) + ("cues_track_front_back",)

    @classmethod
    def report_figures(cls, view: ReportView, limit: int = 6) -> list[Section]:
        """Direction over time, gt vs generated, of the items with the largest checkpoint-free trajectory errors."""
        from spatialeval.pipeline.stages.figures import trajectory_png

        items = largest_first(
            [row for row in view.rows if isinstance(row.get("cues_track_gt"), dict)], "cues_trajectory_error_deg"
        )
        if not items:
            return []
        blocks: list = [
            Text(
                f"Per-segment directions of moving sources, gt vs. generated (the {min(limit, len(items))} "
                "largest checkpoint-free trajectory errors)."
            )
        ]
        for row in items[:limit]:
            tracks = {"checkpoint-free DoA": (row["cues_track_gt"], row["cues_track_gen"])}
            if isinstance(row.get("bat_track_gt"), dict):
                tracks["BAT direction head"] = (row["bat_track_gt"], row["bat_track_gen"])
            item_id = str(row["id"])
            text = view.metric_text(item_id, list(cls.fields))
            blocks += [
                Subheading(f"`{item_id}`"),
                Text(text or "no trajectory error could be measured"),
                Figure(
                    "trajectory",
                    item_id,
                    trajectory_png(item_id, tracks),
                    f"direction trajectory of {item_id}",
                    "filled: azimuth; hollow: lateral angle where front/back is ambiguous",
                ),
            ]
        return [Section("Direction trajectories", blocks)]

    def setup(self) -> None:
        s = self.settings
        self.encoder = None
        self._no_bat = "BAT trajectories are off (trajectory.bat: false)"
        if not self.wants(*BAT_METRICS):  # the encoder (and its padded passes) only serves the BAT track
            self._no_bat = "BAT trajectories not selected (--metrics)"
        elif s.bat:
            from spatialeval.models.registry import SPATIAL_ENCODERS

            try:
                self.encoder = SPATIAL_ENCODERS.build(
                    self.config.bat, self.config.resolved_device(), self.config.bat.encoder
                )
            except StageUnavailable as exc:  # no checkpoint: the checkpoint-free tracks still run
                self._no_bat = f"BAT trajectories need the spatial encoder: {exc}"

    def unavailable_metrics(self) -> dict[str, str]:
        if self.encoder is not None:
            return {}
        return {name: self._no_bat for name in BAT_METRICS if name in self.selected}

    def describe(self):
        s, cues = self.settings, self.config.cues
        return {
            "segment_seconds": s.segment_seconds,
            "min_segment_seconds": s.min_segment_seconds,
            "cues": f"metrics.doa.estimate_direction per segment (elevations {cues.elevations}, min reliability "
            f"{cues.min_doa_reliability:g}); where a segment's front/back is ambiguous, the pair comparison of the "
            "two segments' pinna-band spectra decides (cues.pair_front_back), else the lateral-angle error",
            "bat": (self.encoder.describe() if self.encoder else self._no_bat),
        }

    def _estimator(self):
        from spatialeval.metrics.doa import estimate_direction

        cues = self.config.cues
        return functools.partial(
            estimate_direction,
            elevations=cues.elevations,
            gate_db=cues.gate_db,
            max_itd_s=cues.max_itd_s,
            analysis_rate=int(cues.analysis_rate),
            min_reliability=cues.min_doa_reliability,
            min_front_back_confidence=cues.min_front_back_confidence,
        )

    def _validity(self, clip) -> tuple:
        """The segment-validity rule both tracks of ``clip`` share."""
        from spatialeval.metrics.trajectory import segment_validity

        s = self.settings
        return segment_validity(
            clip.samples,
            clip.sample_rate,
            segment_s=s.segment_seconds,
            min_segment_s=s.min_segment_seconds,
            gate_db=self.config.cues.gate_db,
        )

    def _segment_front_back(self, item: LoadedPair, gt, gen) -> list:
        """Per paired segment, the pair-relative front/back ('same', 'mirrored' or None when not decided or not
        needed): where either segment's hemifield is unknown, the two segments' pinna-band spectra are compared
        (:func:`spatialeval.metrics.front_back_pair.pair_front_back`, with the cue settings)."""
        from spatialeval.features.frame_cues import CueError
        from spatialeval.metrics.front_back_pair import pair_front_back, pair_spectrum
        from spatialeval.metrics.trajectory import segment_bounds

        cues, n = self.config.cues, min(len(gt), len(gen))
        relations: list = [None] * n
        if not cues.pair_front_back:
            return relations
        rate = int(cues.analysis_rate)
        limit = 0.45 * min(item.gt.sample_rate, item.gen.sample_rate, rate)
        bounds = [
            list(segment_bounds(clip.samples.shape[0], clip.sample_rate, self.settings.segment_seconds))
            for clip in (item.gt, item.gen)
        ]
        for index in range(n):
            lateral = (gt.lateral_deg[index], gen.lateral_deg[index])
            known = math.isfinite(gt.azimuth_deg[index]) and math.isfinite(gen.azimuth_deg[index])
            if known or not all(math.isfinite(value) for value in lateral):
                continue
            try:
                spectra = [
                    pair_spectrum(
                        clip.samples[start:stop], clip.sample_rate, analysis_rate=rate, fmax=limit, gate_db=cues.gate_db
                    )
                    for clip, (start, stop) in zip((item.gt, item.gen), (b[index] for b in bounds))
                ]
            except CueError:
                continue
            relation = pair_front_back(
                *spectra,
                *lateral,
                lateral_tolerance_deg=cues.pair_lateral_tolerance_deg,
                max_source_difference_db=cues.max_source_difference_db,
                min_confidence=cues.min_pair_confidence,
            ).relation
            relations[index] = relation if relation in ("same", "mirrored") else None
        return relations

    def _bat_tracks(self, item: LoadedPair, validity: dict) -> list:
        """BAT direction tracks of gt and generated: their segments' embeddings go through the encoder
        together, cached by content as the ``bat`` stage caches them (mode ``segments``, this stage's
        ``segment_seconds``), so a rerun or a bat stage in the same mode does not embed them again."""
        from spatialeval.metrics.bat_heads import decode_heads
        from spatialeval.metrics.trajectory import track_from_bat
        from spatialeval.pipeline.embeddings import clip_embeddings, embedding_key, encoder_inputs

        s, bat = self.settings, self.config.bat
        clips = (item.gt, item.gen)
        embedded = clip_embeddings(
            self.cache,
            self.encoder,
            clips,
            embedding_key(bat, self.encoder, "segments", s.segment_seconds),
            lambda clip: encoder_inputs(clip, self.encoder, "segments", bat.normalize_dbfs, s.segment_seconds),
            batch_size=bat.batch_size,
            autocast=bat.autocast,
        )
        tracks = []
        for side, clip, embeddings in zip(("gt", "gen"), clips, embedded):
            if isinstance(embeddings, Exception):
                raise embeddings
            logits = self.encoder.head_logits(embeddings)
            if logits is None:
                raise ValueError(f"the {self.encoder.name} encoder has no direction head")
            windows = len(next(iter(embeddings.values())))
            durations = [min(s.segment_seconds, clip.seconds - k * s.segment_seconds) for k in range(windows)]
            if len(validity[side]) != windows:
                raise ValueError(
                    f"{windows} BAT windows but {len(validity[side])} segments of "
                    f"{s.segment_seconds:g} s in the {side} clip"
                )
            tracks.append(
                track_from_bat(
                    decode_heads(logits["azimuth"], logits["elevation"], logits["distance"]),
                    segment_s=s.segment_seconds,
                    durations_s=durations,
                    validity=validity[side],
                )
            )
        return tracks

    def compute_one(self, item: LoadedPair):
        """The selected tracks only: the cue track (``cues_`` metrics) and the BAT track (``bat_`` metrics,
        the encoder's padded passes) are independent; an unselected one is not computed."""
        from spatialeval.metrics.trajectory import trajectory_error

        item.gt.require_channels(2)
        item.gen.require_channels(2)
        validity = {side: self._validity(getattr(item, side)) for side in ("gt", "gen")}
        result = self._cues_result(item, validity) if self.wants(*CUES_METRICS) else {}
        if not self.wants(*BAT_METRICS):
            return result
        if self.encoder is None:
            result.update(dict.fromkeys(BAT_METRICS, math.nan))
            result.setdefault("unmeasurable", {}).update(dict.fromkeys(BAT_METRICS, self._no_bat))
            return result
        gt, gen = self._bat_tracks(item, validity)
        bat = self._renamed(trajectory_error(gt, gen, prefix="bat_"), "bat")
        unmeasurable = {**result.pop("unmeasurable", {}), **bat.pop("unmeasurable", {})}
        result.update(bat, bat_track_gt=gt.to_dict(), bat_track_gen=gen.to_dict())
        if unmeasurable:
            result["unmeasurable"] = unmeasurable
        return result

    def _cues_result(self, item: LoadedPair, validity: dict) -> dict:
        """The cue-based track of both clips and its error (the ``cues_`` metrics and track fields)."""
        from spatialeval.metrics.trajectory import track_from_estimator, trajectory_error

        s = self.settings
        estimate = self._estimator()
        tracks = {
            side: track_from_estimator(
                getattr(item, side).samples,
                getattr(item, side).sample_rate,
                estimate,
                segment_s=s.segment_seconds,
                min_segment_s=s.min_segment_seconds,
                source="cues",
                validity=validity[side],
            )
            for side in ("gt", "gen")
        }
        front_back = self._segment_front_back(item, tracks["gt"], tracks["gen"])
        result = self._renamed(
            trajectory_error(tracks["gt"], tracks["gen"], prefix="cues_", front_back=front_back), "cues"
        )
        result.update(
            cues_track_gt=tracks["gt"].to_dict(),
            cues_track_gen=tracks["gen"].to_dict(),
            cues_track_front_back=front_back,
        )
        return result

    @staticmethod
    def _renamed(errors: dict, source: str) -> dict:
        """metrics.trajectory's names → this stage's (``..._trajectory_worst_error_deg`` → ``..._trajectory_worst_deg``)."""
        old, new = f"{source}_trajectory_worst_error_deg", f"{source}_trajectory_worst_deg"
        renamed = {(new if key == old else key): value for key, value in errors.items() if key != "unmeasurable"}
        if "unmeasurable" in errors:
            renamed["unmeasurable"] = {(new if key == old else key): why for key, why in errors["unmeasurable"].items()}
        return renamed
