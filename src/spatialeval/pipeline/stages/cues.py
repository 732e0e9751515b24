"""Checkpoint-free spatial-cue stage: ITD, band ILD, IACC, DoA and front-back errors.

See :mod:`spatialeval.metrics.cues` for the definitions. Both sides are streamed block by
block (``cues.block_seconds``), resampled to ``cues.analysis_rate`` (32 kHz by default) with
``scipy.signal.resample_poly`` and compared over the band both natively contain (up to 0.45 ×
the lower native rate). A metric that cannot be measured on a pair is NaN in the row and named
with its reason in the row's ``unmeasurable`` dict.
"""

from __future__ import annotations

from dataclasses import dataclass

from spatialeval.errors import StageUnavailable
from spatialeval.metrics.registry import MetricInfo, degenerate_outcomes
from spatialeval.pipeline.presentation import ReportView, Section, Table, Text, largest_first
from spatialeval.pipeline.settings import in_range, positive, setting
from spatialeval.pipeline.stages.base import LoadedPair, Stage


@dataclass
class CuesSettings:
    analysis_rate: int = setting(
        32000,
        help="both sides are resampled (scipy resample_poly, block by block) to this rate",
        check=in_range(8000, 192000),
    )
    elevations: str = setting(
        "horizontal",
        choices=("horizontal", "all"),
        help="KEMAR pinna templates: ear level (1° grid) or all 710 measured directions",
    )
    gate_db: float = setting(40.0, help="frames more than this below the loudest frame are ignored", check=positive())
    # A human head's ITD stays under ~0.8 ms; ISO 3382 IACC uses ±1 ms. 5 ms bounds the lag search.
    max_itd_s: float = setting(
        0.001, help="GCC-PHAT / IACC lag search range (s)", check=in_range(0, 0.005, low_open=True)
    )
    # Peak working memory grows with the block (about 50 MB for a pair with 5 s at 32 kHz), never with the
    # clip length; results are bit-identical for any value.
    block_seconds: float = setting(
        5.0, affects_numbers=False, help="audio analysed per block (memory bound)", check=positive()
    )
    min_doa_reliability: float = setting(
        0.5, help="below this lateral reliability the DoA is unmeasurable", check=in_range(0, 1)
    )
    min_front_back_confidence: float = setting(
        0.5,
        help="front/back is decided only from this pinna-evidence confidence; below it the flag is 'ambiguous'",
        check=in_range(0, 1),
    )
    pair_front_back: bool = setting(
        True,
        help="where the templates cannot decide front/back, compare the pair's pinna-band spectra (same head, "
        "same speaker and text assumed and checked)",
    )
    pair_lateral_tolerance_deg: float = setting(
        10.0, help="the pair comparison needs lateral angles this close", check=in_range(0, 90)
    )
    max_source_difference_db: float = setting(
        2.5,
        help="0.3-3 kHz long-term spectra differing more than this (dB RMS): not the same speaker/text, pair "
        "front/back unmeasurable",
        check=positive(),
    )
    min_pair_confidence: float = setting(
        0.97, help="the pair comparison decides from this calibrated confidence", check=in_range(0, 1)
    )


CUES_REFERENCE = (
    "checkpoint-free binaural cues: GCC-PHAT ITD, third-octave ILD, ISO 3382 IACC; DoA from "
    "coherence/onset-selected direct-sound frames (Faller & Merimaa 2004), Woodworth lateral angle, "
    "MIT KEMAR pinna templates for front/back, else the pair's pinna-band spectra compared"
)


# No frame above the floor once DC is removed: no interaural cue exists. Noise in each ear has cues
# (random ones) but no coherent direct sound, so the direction and its hemifield are unmeasurable.
_NO_SIGNAL = {"silent": "unmeasurable", "dc": "unmeasurable"}
CUE_DEGENERATE = degenerate_outcomes("scored: the cue errors over the frames active in both clips", **_NO_SIGNAL)
DIRECTION_DEGENERATE = degenerate_outcomes(
    "scored: the direction estimated from the direct-sound frames", noise="unmeasurable", **_NO_SIGNAL
)
FRONT_BACK_DEGENERATE = degenerate_outcomes(
    "unmeasurable", short="scored: decided on the common frames", long_gap="scored: decided on the common frames"
)


def _cue(
    name: str, label: str, unit: str, description: str, flag: bool = False, degenerate=CUE_DEGENERATE
) -> MetricInfo:
    return MetricInfo(
        name, label, "cues", False, description, unit=unit, flag=flag, reference=CUES_REFERENCE, degenerate=degenerate
    )


class CuesStage(Stage):
    name = "cues"
    Settings = CuesSettings
    metrics = (
        _cue("itd_error_us", "ITD err", "µs", "median |ITD_gen − ITD_gt| per frame, GCC-PHAT"),
        _cue("ild_band_error_db", "Band ILD err", "dB", "mean |ILD_gen − ILD_gt| over auditory bands"),
        _cue("iacc_error", "IACC err", "coefficient", "|IACC_gen − IACC_gt|"),
        _cue(
            "doa_error_deg",
            "DoA err",
            "degrees",
            "angle between estimated directions (azimuth difference at ear level); the lateral-angle "
            "difference when front/back is ambiguous (doa_error_scope); unmeasurable when unreliable",
            degenerate=DIRECTION_DEGENERATE,
        ),
        _cue(
            "front_back_confusion",
            "F/B conf",
            "0/1",
            "1 when gt and generated lie in opposite hemifields front/back, 0 when not (KEMAR templates, else "
            "the pair's pinna-band spectra compared); unmeasurable ('ambiguous') when neither can tell",
            flag=True,
            degenerate=FRONT_BACK_DEGENERATE,
        ),
    )
    extra_fields = (
        "front_back",
        "doa_error_scope",
        "front_back_method",
        "front_back_absolute",
        "front_back_reason",
        "front_back_pair",
        "front_back_pair_confidence",
        "front_back_pair_distance_db",
        "front_back_source_difference_db",
        "itd_gt_us",
        "itd_gen_us",
        "iacc_gt",
        "iacc_gen",
        "itd_frames",
        "ild_bands",
        *(
            f"doa_{side}_{name}"
            for side in ("gt", "gen")
            for name in ("azimuth_deg", "lateral_deg", "reliability", "front_back_confidence", "elevation_deg")
        ),
    )

    # per-item figures fall back to the worst items by these when no stage ranked before ran
    item_ranking = ("ild_band_error_db", "itd_error_us", "iacc_error", "doa_error_deg")
    #: The direction table of the report: (field, column header), largest DoA error first.
    DIRECTION_COLUMNS = (
        ("doa_gt_azimuth_deg", "gt az"),
        ("doa_gen_azimuth_deg", "gen az"),
        ("doa_gt_lateral_deg", "gt lateral"),
        ("doa_gen_lateral_deg", "gen lateral"),
        ("doa_gt_reliability", "gt reliability"),
        ("doa_gen_reliability", "gen reliability"),
        ("front_back", "front/back"),
        ("doa_error_scope", "scope"),
        ("doa_error_deg", "DoA err"),
    )

    @classmethod
    def report_tables(cls, view: ReportView, limit: int = 30) -> list[Section]:
        """The checkpoint-free direction estimates per item, with their reliability."""
        columns = [name for name, _ in cls.DIRECTION_COLUMNS]
        rows = largest_first([row for row in view.rows if any(c in row for c in columns)], "doa_error_deg")
        if not rows:
            return []
        table = [[f"`{row['id']}`", *(view.number(row.get(c)) for c in columns)] for row in rows[:limit]]
        more = f" (the {limit} largest DoA errors of {len(rows)})" if len(rows) > limit else ""
        text = (
            f"Checkpoint-free estimates ({cls.name} stage) with their reliability: azimuth is empty where "
            "front/back could not be told (the lateral angle, from the median plane, is still given) "
            f"and the DoA error then covers the lateral angle only (scope `lateral`){more}."
        )
        headers = ["Item", *(header for _, header in cls.DIRECTION_COLUMNS)]
        align = frozenset(range(1, 7)) | {9}
        return [Section("Direction of arrival per item", [Text(text), Table(headers, table, align)])]

    def setup(self):
        from spatialeval.metrics.doa import kemar_templates

        s = self.settings
        try:  # build the templates once up front; fails early if the packaged HRIR file is missing
            kemar_templates(int(s.analysis_rate), 0.45 * int(s.analysis_rate), s.elevations)
        except (OSError, KeyError) as exc:
            raise StageUnavailable(
                f"cannot load the KEMAR HRIRs packaged with spatialeval ({exc}); "
                "reinstall spatialeval so spatialeval/data/kemar_hrir_44k1.npz is present"
            ) from exc

    def describe(self):
        from spatialeval.features.frame_cues import DEFAULT_BANDS
        from spatialeval.metrics.doa import REFERENCE_RADIUS_M

        s = self.settings
        return {
            "method": "GCC-PHAT ITD (Hann 40 ms frames, 20 ms hop, parabolic sub-sample peak, "
            f"±{s.max_itd_s * 1e3:g} ms); third-octave band ILD (64 ms STFT, energy-weighted over "
            f"frames); whole-clip IACC (max |normalised cross-correlation| within ±{s.max_itd_s * 1e3:g} ms); "
            "DoA from direct-sound frames only (GCC-PHAT coherence >= 0.8, or onsets with coherence >= 0.3): "
            f"lateral angle from the ITD by Woodworth's model (effective head radius "
            f"{REFERENCE_RADIUS_M * 100:g} cm), front/back from the band-ILD pattern matched to KEMAR pinna "
            "templates, decided only when it beats the other hemifield and a smooth pinna-free curve",
            "sign": "positive ITD/ILD = source on the left (left ear leads / is louder); azimuth 90 = left",
            "bands_hz": f"{len(DEFAULT_BANDS)} third-octave bands, centres "
            f"{(DEFAULT_BANDS[0].prod() ** 0.5):.0f}–{(DEFAULT_BANDS[-1].prod() ** 0.5):.0f} Hz",
            "templates": "MIT KEMAR HRIRs (spatialeval/data/kemar_hrir_44k1.npz), band ILDs for front/back only; "
            + (
                "ear-level directions interpolated to 1°, no elevation"
                if s.elevations == "horizontal"
                else "all 710 measured directions"
            ),
            "energy_gate_db": s.gate_db,
            "analysis_rate": int(s.analysis_rate),
            "resampler": "scipy.signal.resample_poly (streamed in blocks, bit-identical to one call)",
            "band_limit": "0.45 × the lower native sample rate of the pair",
            "reliability": f"DoA unmeasurable below reliability {s.min_doa_reliability:g}; front/back decided from "
            f"confidence {s.min_front_back_confidence:g}, otherwise 'ambiguous' (flag unmeasurable, "
            "DoA error then covers the lateral angle only)",
            "front_back": "1 when gt and generated estimates lie in opposite front/back hemifields; "
            "directions within 10° of the interaural axis count as neither; "
            + (
                f"where the templates cannot decide, the pair comparison of pinna-band (4-16 kHz) "
                f"spectra decides from confidence {s.min_pair_confidence:g} (lateral angles within "
                f"{s.pair_lateral_tolerance_deg:g}°, 0.3-3 kHz spectra within "
                f"{s.max_source_difference_db:g} dB, calibrated on KEMAR and a rigid sphere)"
                if s.pair_front_back
                else "pair comparison off"
            ),
        }

    def compute_one(self, item: LoadedPair):
        from spatialeval.metrics.cues import spatial_cue_errors

        item.gt.require_channels(2)
        item.gen.require_channels(2)
        s = self.settings
        return spatial_cue_errors(
            item.gt.samples,
            item.gen.samples,
            item.gt.sample_rate,
            item.gen.sample_rate,
            analysis_rate=int(s.analysis_rate),
            elevations=s.elevations,
            gate_db=s.gate_db,
            max_itd_s=s.max_itd_s,
            block_seconds=s.block_seconds,
            min_reliability=s.min_doa_reliability,
            min_front_back_confidence=s.min_front_back_confidence,
            pair_front_back_enabled=bool(s.pair_front_back),
            pair_lateral_tolerance_deg=float(s.pair_lateral_tolerance_deg),
            max_source_difference_db=float(s.max_source_difference_db),
            min_pair_confidence=float(s.min_pair_confidence),
        )
