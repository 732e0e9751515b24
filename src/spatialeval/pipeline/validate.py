"""``validate()``: how each metric responds to a known change of direction, distance and room.

The shipped speech (``spatialeval/data/speech``) is rendered through one head — the shipped
KEMAR set, a SOFA file, or an analytic head (:mod:`spatialeval.synth.scene`) — as gt/generated
pairs along controlled sweeps, and the pairs are scored by :func:`~spatialeval.pipeline.evaluate.evaluate`
exactly as user audio is (so every registered stage, and any improvement to one, is what is measured):

* ``azimuth`` — gt at the front (0°), generated at ±Δ in ``azimuth_step_deg`` steps up to ±``azimuth_max_deg``, ear level;
* ``mirror`` — gt at ±θ, generated at its front/back mirror 180° − θ (same lateral angle: only pinna cues differ);
* ``elevation`` — gt at the front, generated raised by Δ (median plane);
* ``level`` — gt at ``distance_azimuth_deg``, generated the same clip attenuated by Δ dB (a farther source);
* ``drr`` — gt dry, generated with a diffuse tail (:mod:`spatialeval.synth.reverb`) at a falling
  direct-to-reverberant ratio; the change is the reverberant energy fraction ``1/(1 + 10^(DRR/10))``;
* ``floor`` — same direction, different utterance (the other voice saying the same sentence):
  what a metric reads when nothing spatial changed but the content did, as in a real generation.

Per metric (statistics in :mod:`spatialeval.metrics.sanity`, on values oriented so that larger is worse):
responsiveness (Spearman ρ of the metric with the change), monotonicity, left/right asymmetry,
front/back sensitivity (fraction of mirrored pairs above the floor's 95th percentile), the floor
itself and the smallest change detected (above that percentile). Every statistic that cannot be
computed is NaN with its reason in :attr:`ValidationResult.reasons`.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from spatialeval.errors import UsageError
from spatialeval.example import example_speech, example_transcripts
from spatialeval.io.pairing import Pair
from spatialeval.metrics import sanity
from spatialeval.synth.scene import ALL_HEADS, render

SAMPLE_RATE = 32000
#: Left out by default (still selectable with ``metrics=``): ASR takes seconds per clip on a CPU, and the
#: words of a clip do not depend on its direction, so a whole sweep would only re-measure the recogniser.
SLOW_BY_DEFAULT = ("cer", "wer")
#: Columns of :attr:`ValidationResult.table`, in order, with the sweep each is measured on.
COLUMNS = (
    "rho_azimuth",
    "monotonic_azimuth",
    "lr_asymmetry",
    "front_back",
    "rho_elevation",
    "rho_level",
    "rho_drr",
    "floor_p95",
    "min_azimuth_deg",
    "front_back_above_floor",
    "min_elevation_deg",
    "min_level_db",
    "min_drr_db",
)
#: Short printed headers (see :func:`format_table`).
HEADERS = {
    "rho_azimuth": "ρ az",
    "monotonic_azimuth": "mono az",
    "lr_asymmetry": "L/R asym",
    "front_back": "front/back",
    "rho_elevation": "ρ elev",
    "rho_level": "ρ level",
    "rho_drr": "ρ DRR",
    "floor_p95": "floor p95",
    "min_azimuth_deg": "min Δaz°",
    "min_elevation_deg": "min Δel°",
    "min_level_db": "min Δlevel dB",
    "min_drr_db": "max DRR dB seen",
    "front_back_above_floor": "f/b > floor",
}
#: The columns the command line prints (the rest are in the CSV/HTML outputs).
PRINTED = COLUMNS[:9]

__all__ = [
    "COLUMNS",
    "HEADERS",
    "PRINTED",
    "SweepPlan",
    "ValidationResult",
    "format_cell",
    "format_table",
    "make_pairs",
    "metric_statistics",
    "validate",
]


@dataclass(frozen=True)
class SweepPlan:
    """What is rendered. The defaults run in a few minutes on a CPU; :meth:`quick` is the CI-sized plan."""

    azimuth_step_deg: float = 5.0
    azimuth_max_deg: float = 90.0
    mirror_laterals_deg: tuple[float, ...] = (15.0, 30.0, 45.0, 60.0, 75.0)
    elevations_deg: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)
    levels_db: tuple[float, ...] = (0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0, 24.0)
    drrs_db: tuple[float, ...] = (20.0, 15.0, 10.0, 5.0, 0.0, -5.0, -10.0)
    rt60_s: float = 0.5
    distance_azimuth_deg: float = 30.0
    floor_azimuths_deg: tuple[float, ...] = (0.0, 30.0, -60.0)
    sweep_utterances: tuple[str, ...] = ("slt_glue",)
    floor_sentences: tuple[str, ...] = ("glue", "chicken", "well")
    clip_seconds: float | None = None  # cut every utterance to its first seconds (None: whole, about 3 s)

    @classmethod
    def quick(cls) -> SweepPlan:
        """A reduced plan (20 pairs of 1.5-s clips) for tests and CI."""
        return cls(
            azimuth_step_deg=30.0,
            azimuth_max_deg=90.0,
            mirror_laterals_deg=(45.0,),
            elevations_deg=(0.0, 30.0, 60.0),
            levels_db=(0.0, 6.0, 12.0),
            drrs_db=(10.0, 0.0),
            floor_azimuths_deg=(30.0,),
            floor_sentences=("glue",),
            clip_seconds=1.5,
        )


@dataclass
class ValidationResult:
    """``table``: one row per metric (index = metric name, :data:`COLUMNS`), NaN where a statistic is n/a.

    ``reasons[metric][column]`` says why a value is n/a; ``values`` holds every scored pair
    (metric, sweep, change, side, value); ``skipped`` the metrics that could not run and why.
    """

    table: pd.DataFrame
    reasons: dict[str, dict[str, str]]
    values: pd.DataFrame
    higher_is_better: dict[str, bool]
    skipped: dict[str, str]
    head: str
    plan: SweepPlan
    n_pairs: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        rows = {
            m: {c: (None if not math.isfinite(v) else v) for c, v in row.items()}
            for m, row in self.table.to_dict(orient="index").items()
        }
        return {
            "head": self.head,
            "plan": asdict(self.plan),
            "n_pairs": self.n_pairs,
            "seconds": self.seconds,
            "table": rows,
            "reasons": self.reasons,
            "skipped": self.skipped,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class _Condition:
    sweep: str
    change: float  # the true change (degrees, dB attenuation, reverberant energy fraction)
    side: str  # "+", "-" or "" (azimuth and mirror sweeps have two sides)
    gt: tuple  # (utterance, azimuth, elevation)
    gen: tuple  # (utterance, azimuth, elevation, gain_db, drr_db or None)
    label: float  # what the plots' x axis shows (signed Δaz, DRR dB, ...)


def _conditions(plan: SweepPlan) -> list[_Condition]:
    out: list[_Condition] = []
    steps = np.arange(0.0, plan.azimuth_max_deg + 1e-9, plan.azimuth_step_deg)
    for utt in plan.sweep_utterances:
        for delta in steps:
            for side in ("+",) if delta == 0 else ("+", "-"):
                az = delta if side == "+" else -delta
                out.append(_Condition("azimuth", float(delta), side, (utt, 0.0, 0.0), (utt, az, 0.0, 0.0, None), az))
        for lateral in plan.mirror_laterals_deg:
            for side, az in (("+", lateral), ("-", -lateral)):
                out.append(
                    _Condition("mirror", float(lateral), side, (utt, az, 0.0), (utt, 180.0 - az, 0.0, 0.0, None), az)
                )
        for el in plan.elevations_deg:
            out.append(_Condition("elevation", float(el), "", (utt, 0.0, 0.0), (utt, 0.0, el, 0.0, None), el))
        ref = plan.distance_azimuth_deg
        for db in plan.levels_db:
            out.append(_Condition("level", float(db), "", (utt, ref, 0.0), (utt, ref, 0.0, -db, None), db))
        out.append(_Condition("drr", 0.0, "", (utt, ref, 0.0), (utt, ref, 0.0, 0.0, None), math.inf))
        for drr in plan.drrs_db:
            out.append(
                _Condition(
                    "drr", 1.0 / (1.0 + 10.0 ** (drr / 10.0)), "", (utt, ref, 0.0), (utt, ref, 0.0, 0.0, drr), drr
                )
            )
    voices = ("rms", "slt")
    for sentence in plan.floor_sentences:
        for az in plan.floor_azimuths_deg:
            for a, b in (voices, voices[::-1]):
                out.append(
                    _Condition(
                        "floor", 0.0, "", (f"{a}_{sentence}", az, 0.0), (f"{b}_{sentence}", az, 0.0, 0.0, None), az
                    )
                )
    return out


def _renderer(head: str, hrir_file: str | Path | None):
    if hrir_file is not None:
        from spatialeval.io.hrir import load_sofa

        path = Path(hrir_file)
        if not path.is_file():
            raise UsageError(f"--hrir {hrir_file}: no such file")
        try:
            hrir_set = load_sofa(path, SAMPLE_RATE)
        except ImportError as exc:
            raise UsageError(f"reading SOFA files needs sofar ({exc}); pip install 'spatialeval[sofa]'") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return f"SOFA {path.name}", lambda mono, az, el, **kw: render(
            mono, SAMPLE_RATE, az, el, hrir_set=hrir_set, **kw
        )
    head = head.replace("-", "_")
    if head not in ALL_HEADS:
        raise UsageError(f"--head must be one of {', '.join(ALL_HEADS)}, got {head!r}")
    return head, lambda mono, az, el, **kw: render(mono, SAMPLE_RATE, az, el, head=head, **kw)


def make_pairs(
    plan: SweepPlan, folder: str | Path, head: str = "kemar", hrir_file: str | Path | None = None
) -> tuple[str, list[Pair], list[_Condition]]:
    """Render every condition of ``plan`` as float WAV pairs under ``folder``; returns (head name, pairs, conditions).

    gt and generated clip of a pair share one gain (peak 0.8 over both), so their level difference is kept.
    """
    head_name, render_at = _renderer(head, hrir_file)
    folder = Path(folder)
    speech, texts = {}, example_transcripts()
    pairs, conditions = [], _conditions(plan)
    for index, cond in enumerate(conditions):
        for utt in (cond.gt[0], cond.gen[0]):
            if utt not in speech:
                speech[utt] = example_speech(utt, SAMPLE_RATE)
                if plan.clip_seconds:
                    speech[utt] = speech[utt][: int(round(plan.clip_seconds * SAMPLE_RATE))]
        gt = render_at(speech[cond.gt[0]], cond.gt[1], cond.gt[2])
        utt, az, el, gain_db, drr = cond.gen
        reverb = {} if drr is None else {"rt60_s": plan.rt60_s, "drr_db": drr, "seed": index}
        gen = render_at(speech[utt], az, el, **reverb) * 10.0 ** (gain_db / 20.0)
        n = min(len(gt), len(gen))
        gt, gen = gt[:n], gen[:n]
        scale = 0.8 / max(float(np.max(np.abs(gt))), float(np.max(np.abs(gen))), 1e-9)
        pair_id = f"{index:04d}_{cond.sweep}"
        paths = []
        for side, audio in (("gt", gt), ("gen", gen)):
            path = folder / side / f"{pair_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio * scale, SAMPLE_RATE, subtype="FLOAT")
            paths.append(str(path))
        pairs.append(Pair(pair_id, paths[0], paths[1], text=texts[utt]))
    return head_name, pairs, conditions


def _select_metrics(metrics: list[str] | None, checkpoint: str | None) -> tuple[list[str], list[str]]:
    """(metrics to run, notes). Named metrics are validated; the default is every metric that can run here."""
    from spatialeval.pipeline.registry import METRICS, stages_for_metrics

    if metrics:
        stages_for_metrics(list(metrics))  # unknown names raise, listing the known ones
        needs = [m for m in metrics if METRICS[m].requires_checkpoint and not checkpoint]
        if needs:
            raise UsageError(f"{', '.join(needs)} need(s) a checkpoint: pass --ckpt PATH")
        return list(metrics), []
    chosen = [m for m in METRICS if (checkpoint or not METRICS[m].requires_checkpoint) and m not in SLOW_BY_DEFAULT]
    notes = [
        (
            f"{', '.join(SLOW_BY_DEFAULT)} left out by default (ASR costs seconds per clip on a CPU and a clip's "
            "words do not depend on its direction); name them with --metrics to include them"
        )
    ]
    if not checkpoint:
        notes.append(
            "checkpoint metrics ("
            + ", ".join(m for m in METRICS if METRICS[m].requires_checkpoint)
            + ") join with --ckpt"
        )
    return chosen, notes


def _reason_kind(reason: str) -> str:
    """The kind of a stage's unmeasurable reason: its first clause, numbers masked (so reasons group)."""
    from spatialeval.pipeline.run.summary import reason_kind

    return reason_kind(str(reason).split(" (")[0].split(";")[0])


def _side_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean value per (change, side) over utterances (NaN when no utterance was measurable)."""
    return frame.groupby(["change", "side"], sort=True)["bad"].mean().reset_index()


def metric_statistics(values: pd.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    """Every column of :data:`COLUMNS`, and reasons for those n/a, from one metric's scored pairs.

    ``values`` has columns sweep, change, side, label, bad (the value oriented so larger is worse)
    and reason (why a pair is unmeasurable). Differences below 1e-5 of the metric's largest
    magnitude are float32 rounding, not a response (:func:`spatialeval.metrics.sanity.snap`).
    """
    stats, reasons = {}, {}
    values = values.assign(bad=sanity.snap(values["bad"].to_numpy()))

    def put(column: str, result: tuple[float, str]) -> None:
        stats[column] = result[0]
        if result[1]:
            reasons[column] = result[1]

    by = {name: values[values["sweep"] == name] for name in ("azimuth", "mirror", "elevation", "level", "drr", "floor")}
    put("floor_p95", sanity.floor_threshold(by["floor"]["bad"]))
    threshold = stats["floor_p95"]
    az = _side_means(by["azimuth"])
    put("rho_azimuth", sanity.responsiveness(by["azimuth"]["change"], by["azimuth"]["bad"]))
    sides = []  # each side's chain 0° → max, sharing the 0° pair; monotonicity pooled over both sides' steps
    for sign in ("+", "-"):
        chain = az[(az["side"] == sign) | (az["change"] == 0)].sort_values("change")
        sides.append(chain["bad"].to_numpy())
    mono = [sanity.monotonicity(chain) for chain in sides]
    steps = [int(np.isfinite(chain).sum()) - 1 for chain in sides]
    if sum(steps) > 0 and all(math.isfinite(m[0]) for m in mono):
        stats["monotonic_azimuth"] = float(sum(m[0] * s for m, s in zip(mono, steps)) / sum(steps))
    else:
        put("monotonic_azimuth", (math.nan, mono[0][1] or mono[1][1] or "no azimuth steps"))
    plus = az[az["side"] == "+"].set_index("change")["bad"]
    minus = az[az["side"] == "-"].set_index("change")["bad"]
    common = plus.index.intersection(minus.index).drop(0.0, errors="ignore")
    put("lr_asymmetry", sanity.asymmetry(plus[common].to_numpy(), minus[common].to_numpy()))
    same = az[az["change"] == 0]["bad"].mean()
    widest = az[az["change"] == az["change"].max()]["bad"].mean()
    put("front_back", sanity.relative_response(by["mirror"]["bad"], same, widest))
    put("front_back_above_floor", sanity.exceed_fraction(by["mirror"]["bad"], threshold))
    for sweep in ("elevation", "level", "drr"):
        put(f"rho_{sweep}", sanity.responsiveness(by[sweep]["change"], by[sweep]["bad"]))
    both = az.groupby("change")["bad"].mean()
    put("min_azimuth_deg", sanity.smallest_detected(both.index.to_numpy(), both.to_numpy(), threshold))
    for sweep, column in (("elevation", "min_elevation_deg"), ("level", "min_level_db")):
        mean = by[sweep].groupby("change")["bad"].mean()
        put(column, sanity.smallest_detected(mean.index.to_numpy(), mean.to_numpy(), threshold))
    drr = by["drr"].groupby("change").agg(bad=("bad", "mean"), label=("label", "first"))
    found = sanity.smallest_detected(drr.index.to_numpy(), drr["bad"].to_numpy(), threshold)
    # report the highest DRR (dB) detected: the smallest reverberant fraction above the floor
    put("min_drr_db", (float(drr.loc[found[0], "label"]) if math.isfinite(found[0]) else math.nan, found[1]))
    sweep_of = {
        "rho_azimuth": "azimuth",
        "monotonic_azimuth": "azimuth",
        "lr_asymmetry": "azimuth",
        "front_back": "mirror",
        "front_back_above_floor": "mirror",
        "rho_elevation": "elevation",
        "rho_level": "level",
        "rho_drr": "drr",
        "floor_p95": "floor",
    }
    for column, sweep in sweep_of.items():  # say why points were missing: the stage's own reason
        why = by[sweep]["reason"].dropna()
        if column in reasons and not why.empty and reasons[column].startswith(("only", "no ")):
            reasons[column] += f" (unmeasurable: {why.map(_reason_kind).value_counts().index[0]})"
    return {c: stats.get(c, math.nan) for c in COLUMNS}, reasons


def validate(
    metrics: list[str] | None = None,
    *,
    head: str = "kemar",
    hrir_file: str | Path | None = None,
    checkpoint: str | None = None,
    plan: SweepPlan | None = None,
    work_dir: str | Path | None = None,
    config: dict | None = None,
) -> ValidationResult:
    """Render the sweeps of ``plan`` through a head, score them with :func:`evaluate` and summarise each metric.

    Args:
        metrics: metric names to validate; default every registered metric that can run here
            (minus :data:`SLOW_BY_DEFAULT`; checkpoint metrics only with ``checkpoint``).
        head: "kemar" (the shipped MIT set), "sphere", "brown_duda" or "brown_duda_pinna".
        hrir_file: a SOFA HRIR file to use instead of ``head``.
        checkpoint: BAT checkpoint (``bat.checkpoint``) for the checkpoint metrics.
        plan: the sweeps (default :class:`SweepPlan`; :meth:`SweepPlan.quick` for CI).
        work_dir: where the rendered pairs are written (default: a temporary folder, removed after).
        config: further settings for :func:`evaluate` (nested dict, as in configs/default.yaml).

    Returns:
        :class:`ValidationResult`.

    Raises:
        UsageError: unknown metric, unreadable HRIR file, a named metric that cannot be computed here.
    """
    from spatialeval.pipeline.evaluate import evaluate
    from spatialeval.pipeline.registry import METRICS

    started = time.perf_counter()
    plan = plan or SweepPlan()
    chosen, notes = _select_metrics(metrics, checkpoint)
    settings = dict(config or {})
    settings["metrics"] = chosen
    if checkpoint:
        settings.setdefault("bat", {})["checkpoint"] = str(checkpoint)
    with tempfile.TemporaryDirectory(prefix="spatialeval-validate-") as scratch:
        folder = Path(work_dir) if work_dir else Path(scratch)
        head_name, pairs, conditions = make_pairs(plan, folder, head, hrir_file)
        result = evaluate(str(folder / "gt"), str(folder / "gen"), settings, pairs=pairs)
    skipped = {}
    for status in result.stages.values():
        if status.status != "ran":
            for name in chosen:
                if METRICS[name].stage == status.name:
                    skipped[name] = status.reason
    if metrics and skipped:
        raise UsageError("cannot compute " + "; ".join(f"{m}: {r}" for m, r in skipped.items()))
    items = result.items.set_index("id")
    rows, reasons, long = {}, {}, []
    for name in (m for m in chosen if m not in skipped):
        info = METRICS[name]
        if name not in items:
            skipped[name] = "the stage returned no value"
            continue
        for pair, cond in zip(pairs, conditions):
            value = float(items.at[pair.id, name])
            why = items.at[pair.id, "unmeasurable"] if "unmeasurable" in items else None
            why = why.get(name) if isinstance(why, dict) else None
            long.append(
                {
                    "metric": name,
                    "sweep": cond.sweep,
                    "change": cond.change,
                    "side": cond.side,
                    "label": cond.label,
                    "value": value,
                    "reason": why if not math.isfinite(value) else None,
                    "bad": float(sanity.badness(value, info.higher_is_better)),
                }
            )
        frame = pd.DataFrame([row for row in long if row["metric"] == name])
        rows[name], reasons[name] = metric_statistics(frame)
        if frame["value"].isna().all():
            why = _unmeasurable_reason(items, name)
            reasons[name] = {c: f"never measurable: {why}" for c in COLUMNS}
    if result.failed.shape[0]:
        notes.append(f"{result.failed.shape[0]} rendered pairs failed to evaluate: {result.failed['error'].iloc[0]}")
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    return ValidationResult(
        table=table,
        reasons=reasons,
        values=pd.DataFrame(long),
        skipped=skipped,
        higher_is_better={m: METRICS[m].higher_is_better for m in rows},
        head=head_name,
        plan=plan,
        n_pairs=len(pairs),
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def _unmeasurable_reason(items: pd.DataFrame, metric: str) -> str:
    if "unmeasurable" not in items:
        return "no reason recorded"
    for entry in items["unmeasurable"]:
        if isinstance(entry, dict) and metric in entry:
            return str(entry[metric])
    return "no reason recorded"


def format_cell(value: float, column: str) -> str:
    """A table cell: "n/a" for NaN, signed 2 decimals for ρ, the plain number for the smallest changes."""
    if not math.isfinite(value):
        return "n/a"
    if column in ("min_azimuth_deg", "min_elevation_deg", "min_level_db", "min_drr_db"):
        return f"{value:g}"
    if column == "floor_p95":
        return f"{value:.4g}"
    return f"{value:+.2f}" if column.startswith("rho") else f"{value:.2f}"


def format_table(result: ValidationResult, columns: tuple[str, ...] = PRINTED) -> str:
    """The printed table (one row per metric) followed by the n/a reasons, the skipped metrics and notes."""
    from spatialeval.pipeline.display import plain_table

    lines = [("metric", "better", *(HEADERS.get(c, c) for c in columns))]
    for metric, row in result.table.iterrows():
        better = "higher" if result.higher_is_better[metric] else "lower"
        lines.append((metric, better, *(format_cell(float(row[c]), c) for c in columns)))
    text = [f"spatialeval validate: head {result.head}, {result.n_pairs} rendered pairs, {result.seconds:.0f} s", ""]
    text += plain_table(lines)
    text.append("")
    text.append(
        "ρ: Spearman rank correlation with the true change (+1: worse exactly as the change grows); mono: "
        "fraction of azimuth steps that get worse; L/R asym: |m(+θ) − m(−θ)| relative to m; front/back: "
        "median change a front/back mirror causes as a fraction of a 90° azimuth change's (0 = blind to "
        "front/back); floor p95: 95th percentile (worse side) on same-direction "
        "pairs of different utterances; min Δaz: smallest azimuth change above that floor."
    )
    seen: dict[str, list[str]] = {}
    for metric, columns_reasons in result.reasons.items():
        for column, reason in columns_reasons.items():
            if column in columns and not math.isfinite(float(result.table.at[metric, column])):
                seen.setdefault(f"{HEADERS.get(column, column)}: {reason}", []).append(metric)
    for reason, metrics in seen.items():
        text.append(f"n/a {reason} ({', '.join(metrics)})")
    for metric, reason in result.skipped.items():
        text.append(f"skipped {metric}: {reason}")
    for note in result.notes:
        text.append(f"note: {note}")
    return "\n".join(text)
