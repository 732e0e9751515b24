#!/usr/bin/env python3
"""Where the binaural cue metrics can be trusted: accuracy tables on independent heads and in reverberation.

Prints (not a test; the assertions live in tests/test_cue_validation.py):

  1. ITD vs Woodworth: median GCC-PHAT ITD of pink noise and speech rendered with the exact
     rigid sphere, the Brown & Duda spherical-head filter and KEMAR, against Woodworth's
     (a/c)(θ + sin θ) for a = 8.75 cm.
  2. DoA per head and azimuth: the direction estimated from one clip (anechoic speech), and
     for sources 30° above the horizon with ``elevations="all"``.
  3. Pair errors per Δ: same-direction pairs (different utterances), azimuth differences of
     15/30/60° with lateral angles up to 60°, and mirrored front/back pairs.
  4. Reverberation: KEMAR sources with a diffuse tail (RT60 0.5 s) over a DRR sweep, and
     same-direction pairs where only the generated clip is reverberant.
  6. Front/back per head: same-direction and mirrored (θ / 180° − θ) pairs at lateral angles up
     to 60°, gt and generated the same text and speaker (same syllables, F0 ×1.05, ±1.5 dB random
     source EQ), anechoic and in a room (RT60 0.5 s, DRR 0 and +5 dB, both clips); coverage
     (decided share) and accuracy when decided, before (templates only, ``front_back_absolute``)
     → after (templates + pair comparison). KEMAR and the sphere were used for calibration;
     Brown–Duda + pinna and the sphere with a notch pinna were not. Also different-speaker pairs
     (must be unmeasurable) and the DoA error of decided mirrored pairs against 180° − 2·lateral.
  5. ``--memory``: peak resident memory of ``spatial_cue_errors`` on 1/10/30-minute 44.1 kHz
     pairs, each in a fresh process (``--memory-minutes 1,10,30``).

    python scripts/benchmark_cues.py              # tables 1-4 and 6 (a few minutes on 2 cores)
    python scripts/benchmark_cues.py --memory     # table 5 as well
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np

SR = 32000
HEADS = ("sphere", "brown_duda", "brown_duda_pinna", "kemar")

# The cue API moved between versions; import from wherever this checkout keeps it.
try:  # after the split (features / metrics.doa / metrics.cues)
    from spatialeval.features.frame_cues import itd_gcc_phat
    from spatialeval.metrics.doa import estimate_direction
except ImportError:  # before
    from spatialeval.metrics.cues import estimate_direction, itd_gcc_phat
from spatialeval.metrics.cues import spatial_cue_errors
from spatialeval.synth import pink_noise, render, speech_like
from spatialeval.synth.heads import HEAD_RADIUS_M, woodworth_itd_s

_SOURCES: dict = {}
_RENDERED: dict = {}


def source(kind: str, seed: int = 0) -> np.ndarray:
    key = (kind, seed)
    if key not in _SOURCES:
        if kind == "speech":
            _SOURCES[key] = speech_like(3.0, SR, f0=120.0 + 40.0 * seed, seed=seed)
        else:
            _SOURCES[key] = pink_noise(3.0, SR, seed=seed)
    return _SOURCES[key]


def rendered(
    head: str,
    azimuth: float,
    elevation: float = 0.0,
    kind: str = "speech",
    seed: int = 0,
    rt60: float | None = None,
    drr: float | None = None,
) -> np.ndarray:
    key = (head, azimuth, elevation, kind, seed, rt60, drr)
    if key not in _RENDERED:
        _RENDERED[key] = render(
            source(kind, seed), SR, azimuth, elevation, head=head, rt60_s=rt60, drr_db=drr, seed=7 + seed
        )
    return _RENDERED[key]


def wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def lateral_of(azimuth: float, elevation: float = 0.0) -> float:
    az, el = math.radians(azimuth), math.radians(elevation)
    return math.degrees(math.asin(max(-1.0, min(1.0, math.cos(el) * math.sin(az)))))


def estimated_lateral(estimate) -> float:
    """The estimate's lateral angle (new API), or the one implied by its azimuth (old API)."""
    lateral = getattr(estimate, "lateral_deg", None)
    if lateral is not None:
        return float(lateral)
    if not math.isfinite(estimate.azimuth_deg):
        return float("nan")
    return lateral_of(estimate.azimuth_deg, estimate.elevation_deg or 0.0)


def describe_estimate(estimate) -> str:
    """'32' (azimuth), '32|148?' (front/back ambiguous: both readings of the lateral angle), 'n/a'
    (unmeasurable); '/el' with an elevation, ' r0.93' the reliability when the API has one."""
    azimuth = getattr(estimate, "azimuth_deg", float("nan"))
    lateral = estimated_lateral(estimate)
    if math.isfinite(azimuth):
        text = f"{azimuth:.0f}"
    elif math.isfinite(lateral):
        text = f"{lateral:.0f}|{wrap(180.0 - lateral):.0f}?"
    else:
        text = "n/a"
    if getattr(estimate, "elevation_deg", None) is not None and math.isfinite(estimate.elevation_deg):
        text += f"/{estimate.elevation_deg:.0f}"
    reliability = getattr(estimate, "reliability", None)
    if reliability is not None:
        text += f" r{reliability:.2f}"
    return text


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    print("  ".join(str(cell).rjust(width) for cell, width in zip(header, widths)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))


# ----------------------------------------------------------------------------- 1. ITD


def itd_table() -> None:
    rows = []
    for azimuth in (0, 15, 30, 45, 60, 75, 90):
        woodworth = float(woodworth_itd_s(azimuth)) * 1e6
        row = [str(azimuth), f"{woodworth:.0f}"]
        for head in HEADS:
            for kind in ("pink", "speech"):
                itd = float(np.nanmedian(itd_gcc_phat(rendered(head, azimuth, kind=kind), SR))) * 1e6
                ratio = f"{itd / woodworth:.2f}" if azimuth else "-"
                row.append(f"{itd:.0f} ({ratio})")
        rows.append(row)
    header = ["az", "Woodworth"] + [f"{head}:{kind}" for head in HEADS for kind in ("pink", "speech")]
    table(f"1. Median GCC-PHAT ITD (µs; ratio to Woodworth, a = {HEAD_RADIUS_M * 100:.2f} cm)", header, rows)


# ----------------------------------------------------------------------------- 2. DoA per head


def doa_table() -> None:
    azimuths = (0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, -45, -120)
    rows = []
    errors = {head: [] for head in HEADS}
    lateral_errors = {head: [] for head in HEADS}
    wrong = {head: 0 for head in HEADS}
    for azimuth in azimuths:
        row = [str(azimuth)]
        for head in HEADS:
            estimate = estimate_direction(rendered(head, azimuth), SR)
            row.append(describe_estimate(estimate))
            if math.isfinite(estimate.azimuth_deg):
                errors[head].append(abs(wrap(estimate.azimuth_deg - azimuth)))
                if (
                    max(abs(lateral_of(azimuth)), abs(lateral_of(estimate.azimuth_deg))) < 80
                    and math.cos(math.radians(azimuth)) * math.cos(math.radians(estimate.azimuth_deg)) < 0
                ):
                    wrong[head] += 1
            if math.isfinite(estimated_lateral(estimate)):
                lateral_errors[head].append(abs(estimated_lateral(estimate) - lateral_of(azimuth)))
        rows.append(row)
    rows.append(
        ["az err (n)"] + [f"{np.mean(errors[h]):.1f} ({len(errors[h])})" if errors[h] else "- (0)" for h in HEADS]
    )
    rows.append(
        ["lateral err (lat≤60)"]
        + [
            f"{np.mean([e for e, a in zip(lateral_errors[h], azimuths) if abs(lateral_of(a)) <= 60]):.1f}"
            if lateral_errors[h]
            else "-"
            for h in HEADS
        ]
    )
    rows.append(["wrong hemifield"] + [str(wrong[h]) for h in HEADS])
    table(
        "2a. Estimated azimuth per head, anechoic speech ('a|b?' = front/back ambiguous: both readings; "
        "r = reliability; az err over resolved estimates)",
        ["true az"] + list(HEADS),
        rows,
    )

    rows = []
    for azimuth in (0, 30, 60, 120):
        row = [f"{azimuth}/30"]
        for head in HEADS:
            row.append(describe_estimate(estimate_direction(rendered(head, azimuth, 30.0), SR, elevations="all")))
        rows.append(row)
    table("2b. Sources at 30° elevation, elevations='all' (estimated az/el)", ["true az/el"] + list(HEADS), rows)


# ----------------------------------------------------------------------------- 3. pairs


def pair_metrics(gt: np.ndarray, gen: np.ndarray) -> dict:
    return spatial_cue_errors(gt, gen, SR)


def flag_text(errors: dict) -> str:
    kind = errors.get("front_back")
    if kind is not None:
        return kind
    return "confused" if errors["front_back_confusion"] == 1 else "same"


def pair_table() -> None:
    rows = []
    for head in HEADS:
        same = [
            pair_metrics(rendered(head, az), rendered(head, az, seed=1))
            for az in (0, 15, 30, 45, 60, 75, 105, 120, 135, 150, 165, 180, -30, -60)
        ]
        doa = [e["doa_error_deg"] for e in same if math.isfinite(e["doa_error_deg"])]
        flags = [flag_text(e) for e in same]
        rows.append(
            [
                head,
                "same dir",
                f"{len(same)}",
                f"{np.median(doa):.1f}" if doa else "-",
                f"{np.max(doa):.1f}" if doa else "-",
                f"{len(same) - len(doa)}",
                f"{flags.count('confused')}/{flags.count('ambiguous')}",
            ]
        )
        for delta in (15, 30, 60):
            pairs = [(sign * a, sign * (a + delta)) for sign in (1, -1) for a in range(0, 61 - delta, 15)]
            errors = [pair_metrics(rendered(head, a), rendered(head, b, seed=1)) for a, b in pairs]
            measured = [e["doa_error_deg"] for e in errors if math.isfinite(e["doa_error_deg"])]
            flags = [flag_text(e) for e in errors]
            rows.append(
                [
                    head,
                    f"Δ={delta}",
                    f"{len(pairs)}",
                    f"{np.median(measured):.1f}" if measured else "-",
                    f"{np.min(measured):.0f}…{np.max(measured):.0f}" if measured else "-",
                    f"{len(errors) - len(measured)}",
                    f"{flags.count('confused')}/{flags.count('ambiguous')}",
                ]
            )
        mirrored = [(a, 180 - a) for a in range(-80, 81, 10)]
        errors = [pair_metrics(rendered(head, a), rendered(head, b, seed=1)) for a, b in mirrored]
        measured = [e["doa_error_deg"] for e in errors if math.isfinite(e["doa_error_deg"])]
        flags = [flag_text(e) for e in errors]
        rows.append(
            [
                head,
                "mirror θ/180−θ",
                f"{len(mirrored)}",
                f"{np.median(measured):.1f}" if measured else "-",
                f"{np.min(measured):.0f}…{np.max(measured):.0f}" if measured else "-",
                f"{len(errors) - len(measured)}",
                f"{flags.count('confused')}/{flags.count('ambiguous')}",
            ]
        )
    table(
        "3. Pair errors (gt utterance vs another utterance; lateral ≤ 60° for the Δ rows, both sides)",
        ["head", "pairs", "n", "median DoA err", "range / max", "unmeasurable", "F/B confused/ambiguous"],
        rows,
    )


# ----------------------------------------------------------------------------- 4. reverberation


def reverb_tables() -> None:
    azimuths = (0, 30, 60, 90, 120, 150)
    rows = []
    for drr in (None, 10.0, 5.0, 0.0, -5.0):
        estimates = [
            estimate_direction(rendered("kemar", az, rt60=None if drr is None else 0.5, drr=drr), SR) for az in azimuths
        ]
        errors = [abs(wrap(e.azimuth_deg - az)) for e, az in zip(estimates, azimuths) if math.isfinite(e.azimuth_deg)]
        lateral = [
            abs(estimated_lateral(e) - lateral_of(az))
            for e, az in zip(estimates, azimuths)
            if math.isfinite(estimated_lateral(e))
        ]
        rows.append(
            ["anechoic" if drr is None else f"{drr:+.0f}"]
            + [describe_estimate(e) for e in estimates]
            + [
                f"{np.mean(errors):.0f} ({len(errors)})" if errors else "- (0)",
                f"{np.mean(lateral):.0f}" if lateral else "-",
                str(len(azimuths) - len(lateral)),
            ]
        )
    table(
        "4a. KEMAR speech + diffuse tail RT60 0.5 s: estimated azimuth per DRR (dB)",
        ["DRR"] + [f"az {a}" for a in azimuths] + ["az err (n)", "lat err", "unmeas."],
        rows,
    )

    azimuths = (0, 15, 30, 45, 60, 75, 105, 120, 135, 150, 165, 180, -45, -135)
    rows = []
    for head in ("sphere", "kemar"):
        for rt60 in (0.3, 0.5, 0.8):
            for drr in (0.0, 5.0):
                errors = [pair_metrics(rendered(head, az), rendered(head, az, rt60=rt60, drr=drr)) for az in azimuths]
                doa = [e["doa_error_deg"] for e in errors if math.isfinite(e["doa_error_deg"])]
                flags = [flag_text(e) for e in errors]
                ild = [e["ild_band_error_db"] for e in errors]
                itd = [e["itd_error_us"] for e in errors if math.isfinite(e["itd_error_us"])]
                shift = [
                    abs(e["itd_gen_us"] - e["itd_gt_us"])
                    for e in errors
                    if math.isfinite(e.get("itd_gen_us", float("nan")))
                ]
                rows.append(
                    [
                        head,
                        f"{rt60:.1f}",
                        f"{drr:+.0f}",
                        f"{np.mean(doa):.0f}" if doa else "-",
                        f"{np.median(doa):.0f}" if doa else "-",
                        str(len(errors) - len(doa)),
                        f"{flags.count('confused')}/{flags.count('ambiguous')}",
                        f"{np.mean(ild):.1f}",
                        f"{np.median(itd):.0f}",
                        f"{np.max(shift):.0f}",
                    ]
                )
    table(
        f"4b. Same-direction pairs, only the generated clip reverberant ({len(azimuths)} azimuths)",
        [
            "head",
            "RT60",
            "DRR",
            "mean DoA err",
            "median",
            "unmeas.",
            "F/B confused/ambig",
            "ILD err dB",
            "ITD err µs",
            "max |Δ median ITD| µs",
        ],
        rows,
    )


# ----------------------------------------------------------------------------- 6. front/back per head

FRONT_BACK_HEADS = (
    ("kemar", "tuned"),
    ("sphere", "tuned"),
    ("brown_duda_pinna", "held out"),
    ("sphere_pinna_notch", "held out"),
)
FRONT_BACK_AZIMUTHS = (0, 15, 30, 45, 60, -15, -30, -45, -60)
FRONT_BACK_ROOMS = ((None, None), (0.5, 0.0), (0.5, 5.0))


def equalised(mono: np.ndarray, seed: int, depth_db: float = 1.5) -> np.ndarray:
    """``mono`` through a smooth random EQ (three cosines in log-frequency, about ±``depth_db``)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(mono)
    octave = np.log2(np.maximum(np.fft.rfftfreq(mono.size, 1.0 / SR), 50.0) / 1000.0)
    gain = sum(rng.uniform(-1, 1) * np.cos(k * octave * math.pi / 3 + rng.uniform(0, 2 * math.pi)) for k in (1, 2, 3))
    return np.fft.irfft(spectrum * 10.0 ** (depth_db / math.sqrt(3.0) * gain / 20.0), mono.size)


def same_text_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """gt and a 'generation' of the same text by the same speaker: same syllables, F0 ×1.05, random EQ."""
    return (speech_like(2.0, SR, f0=120.0, seed=seed), equalised(speech_like(2.0, SR, f0=126.0, seed=seed), seed + 100))


def front_back_rows(head: str, rt60, drr) -> tuple[dict, list]:
    """Counts per condition: {(kind, 'before'|'after'): [decided, correct, confusions]} and mirrored DoA errors."""
    counts = {(kind, when): [0, 0, 0] for kind in ("same", "mirrored") for when in ("before", "after")}
    doa = []
    for index, azimuth in enumerate(FRONT_BACK_AZIMUTHS):
        gt_source, gen_source = same_text_pair(index % 3)
        gt = render(gt_source, SR, azimuth, head=head, rt60_s=rt60, drr_db=drr, seed=11)
        for kind, target in (("same", azimuth), ("mirrored", 180 - azimuth)):
            gen = render(gen_source, SR, target, head=head, rt60_s=rt60, drr_db=drr, seed=12)
            result = spatial_cue_errors(gt, gen, SR)
            truth = "same" if kind == "same" else "confused"
            for when, decided in (
                ("before", result.get("front_back_absolute", result["front_back"])),
                ("after", result["front_back"]),
            ):
                row = counts[(kind, when)]
                if decided in ("same", "confused"):
                    row[0] += 1
                    row[1] += decided == truth
                    row[2] += decided == "confused"
            if kind == "mirrored" and result["front_back"] == "confused":
                doa.append(abs(result["doa_error_deg"] - (180.0 - 2.0 * abs(azimuth))))
    return counts, doa


def front_back_table() -> None:
    rows = []
    for head, role in FRONT_BACK_HEADS:
        for rt60, drr in FRONT_BACK_ROOMS:
            counts, doa = front_back_rows(head, rt60, drr)
            row = [head, role, "anechoic" if rt60 is None else f"RT60 {rt60} DRR {drr:+.0f}"]
            for kind in ("same", "mirrored"):
                for when in ("before", "after"):
                    decided, correct, _ = counts[(kind, when)]
                    row.append(
                        f"{decided}/{len(FRONT_BACK_AZIMUTHS)} {correct}/{decided}"
                        if decided
                        else f"0/{len(FRONT_BACK_AZIMUTHS)} -"
                    )
            row.append(str(counts[("same", "after")][2]))
            row.append(f"{np.median(doa):.0f}/{np.max(doa):.0f}" if doa else "-")
            rows.append(row)
    different = []
    for head, _ in FRONT_BACK_HEADS:
        for azimuth in (0, 30, 60):
            result = spatial_cue_errors(
                render(speech_like(2.0, SR, f0=120.0, seed=0), SR, azimuth, head=head),
                render(speech_like(2.0, SR, f0=220.0, seed=5), SR, azimuth, head=head),
                SR,
            )
            different.append(result["front_back_pair"] == "unmeasurable" and result["front_back"] != "confused")
    table(
        "6. Front/back per head (9 lateral angles ≤ 60°; 'decided/pairs correct/decided'; before = KEMAR "
        "templates only, after = templates + pair comparison)",
        [
            "head",
            "calibration",
            "room",
            "same: before",
            "same: after",
            "mirrored: before",
            "mirrored: after",
            "same flagged",
            "|DoA − (180−2·lat)| med/max",
        ],
        rows,
    )
    print(
        f"different speaker and text at 0/30/60°: {sum(different)} of {len(different)} pairs unmeasurable, none flagged"
    )


# ----------------------------------------------------------------------------- 5. memory

_CHILD = r"""
import json, resource, sys, time
import numpy as np
from spatialeval.metrics.cues import spatial_cue_errors
from spatialeval.synth import spatialize, speech_like
minutes, sr = float(sys.argv[1]), 44100
unit_gt = spatialize(speech_like(10.0, sr, seed=0), sr, 30.0)
unit_gen = spatialize(speech_like(10.0, sr, seed=1), sr, 45.0)
reps = int(round(minutes * 6))
gt, gen = np.tile(unit_gt, (reps, 1)), np.tile(unit_gen, (reps, 1))   # float64 (time, 2), as load_audio gives
del unit_gt, unit_gen
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")   # reset the peak (VmHWM) to the current RSS
start = time.perf_counter()
decoded = (gt.nbytes + gen.nbytes) / 2**20
kwargs = {"analysis_rate": 32000} if "analysis_rate" in spatial_cue_errors.__code__.co_varnames else {}
if not kwargs:  # the old API analyses at the given rate: resample first, as the stage did
    from spatialeval.features.resample import resample_polyphase
    gt, gen = resample_polyphase(gt, sr, 32000), resample_polyphase(gen, sr, 32000)
    sr = 32000
result = spatial_cue_errors(gt, gen, sr, **kwargs)
seconds = time.perf_counter() - start
print(json.dumps({"minutes": minutes, "decoded_mib": decoded, "rss_before_mib": before,
                  "peak_mib": status("VmHWM"), "seconds": seconds, "doa_error_deg": result["doa_error_deg"]}))
"""


def memory_table(minutes_list: list[float]) -> None:
    rows = []
    for minutes in minutes_list:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(minutes)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            rows.append([f"{minutes:g}", "-", "-", "-", "-", f"failed: {done.stderr.strip().splitlines()[-1][:60]}"])
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                f"{minutes:g}",
                f"{r['decoded_mib']:.0f}",
                f"{r['rss_before_mib']:.0f}",
                f"{r['peak_mib']:.0f}",
                f"{r['peak_mib'] - r['rss_before_mib']:.0f}",
                f"{r['seconds']:.1f}",
            ]
        )
    table(
        "5. Peak RSS of spatial_cue_errors, 44.1 kHz pairs (MiB; 'above' = peak − RSS with the decoded pair loaded)",
        ["minutes", "decoded pair", "RSS before", "peak", "above", "seconds"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="1,2,3,4,6", help="which accuracy tables to print (comma list of 1-4, 6)")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory (table 5)")
    parser.add_argument("--memory-minutes", default="1,10,30", help="pair lengths for --memory, minutes")
    args = parser.parse_args()
    chosen = {int(t) for t in args.tables.split(",") if t}
    start = time.perf_counter()
    for number, function in (
        (1, itd_table),
        (2, doa_table),
        (3, pair_table),
        (4, reverb_tables),
        (6, front_back_table),
    ):
        if number in chosen:
            function()
    if args.memory:
        memory_table([float(m) for m in args.memory_minutes.split(",")])
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
