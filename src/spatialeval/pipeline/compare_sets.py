"""Set-level spatial distances between two unpaired folders of binaural audio (``spatialeval compare-sets``).

Text-to-spatial-audio work compares *distributions* rather than pairs. For every clip of each folder
(recursively, any number, no pairing):

* its BAT direction and distance embeddings (one per encoder window, ``bat.mode``) when a BAT
  checkpoint is configured — the Fréchet distance of the two sets of each (FAD-style;
  :func:`spatialeval.metrics.set_distances.compare_embedding_sets`, with the covariance estimate
  and the sample-size caveat stated);
* its median GCC-PHAT ITD (µs) — the KL divergence and Wasserstein-1 distance of the two sets'
  ITD histograms (:func:`spatialeval.metrics.set_distances.compare_itd_sets`).

Each distance comes with a bootstrap interval of the value (each set resampled with replacement,
the resampled distances' median moved onto the value, so it always contains it; not computable
below 5 clips per set) and the ITD distances also with the permutation null's quantile and
p-value: how large the distance is between sets of these sizes that do not differ
(:mod:`spatialeval.metrics.set_distances`, ``INTERVAL_MEANING`` and ``NULL_MEANING``). A clip that
cannot be read is counted under ``failed``; a clip without a measurable ITD (silent, one ear
silent) is named under ``itd_left_out`` and the clip counts printed are those used. A distance
that cannot be computed (e.g. a Fréchet distance of one embedding per set) is NaN with the reason
under ``not_computable``; the others are still computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spatialeval.errors import StageUnavailable, UsageError
from spatialeval.io.pairing import index_audio_tree

ITD_DISTANCES = ("itd_kl", "itd_wasserstein_us")
FD_DISTANCES = ("fd_direction", "fd_distance")


@dataclass
class SetOptions:
    covariance: str = "shrinkage"  # sample | shrinkage | diagonal (768-d embeddings need many clips for "sample")
    n_resamples_fd: int = 100
    n_resamples_itd: int = 1000
    confidence: float = 0.95
    seed: int = 0
    itd_rate: int = 32000


@dataclass
class ClipSet:
    """What one folder contributed: per-clip ITDs, embeddings (if any) and the clips that failed."""

    folder: str
    itds_us: list[float] = field(default_factory=list)
    itd_left_out: dict[str, str] = field(default_factory=dict)  # clip file → why its ITD is unmeasurable
    direction: list[np.ndarray] = field(default_factory=list)
    distance: list[np.ndarray] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _clip_itd_us(clip, rate: int) -> float:
    from spatialeval.features.frame_cues import itd_gcc_phat, median_itd_us
    from spatialeval.features.resample import resample_polyphase

    return median_itd_us(itd_gcc_phat(resample_polyphase(clip.samples, clip.sample_rate, rate), rate))


def _read_set(folder: str | Path, encoder, config, options: SetOptions) -> ClipSet:
    from spatialeval.io.audio import load_audio
    from spatialeval.pipeline.embeddings import encoder_inputs
    from spatialeval.pipeline.loader import MIN_CLIP_SECONDS

    result = ClipSet(folder=str(folder))
    for item_id, path in index_audio_tree(Path(folder)).items():
        try:
            clip = load_audio(path, min_seconds=MIN_CLIP_SECONDS).require_channels(2)
            itd = _clip_itd_us(clip, options.itd_rate)
            if np.isfinite(itd):
                result.itds_us.append(itd)
            else:
                result.itd_left_out[_file_name(path, folder)] = _why_no_itd(clip.samples)
            if encoder is not None:
                bat = config.bat
                windows = encoder_inputs(
                    clip, encoder, bat.mode, bat.normalize_dbfs, bat.segment_seconds, bat.window_seconds
                )
                embedded = encoder.embed(windows, bat.batch_size, bat.autocast)
                result.direction.extend(embedded["azi"])
                result.distance.extend(embedded["dis"])
        except Exception as exc:  # one bad file never stops the comparison; it is counted and named
            result.failed[item_id] = str(exc)
    if not result.itds_us and not result.direction and not result.itd_left_out:
        raise UsageError(f"{folder}: no clip could be analysed ({len(result.failed)} failed)")
    return result


def _file_name(path: Path, folder) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return Path(path).name


def _why_no_itd(samples: np.ndarray) -> str:
    """The console's short reason for a clip without a measurable median ITD."""
    x = np.asarray(samples, dtype=np.float64)
    x = x - x.mean(axis=0)
    peaks = np.max(np.abs(x), axis=0) if x.size else np.zeros(2)
    if not np.any(peaks > 0):
        return "silent"
    if np.any(peaks == 0):
        return "one ear silent"
    return "no measurable ITD"


def compare_sets(
    generated: str | Path, reference: str | Path, config, options: SetOptions | None = None
) -> dict[str, Any]:
    """Set-level distances of ``generated`` against ``reference`` (folders of binaural clips, unpaired)."""
    from spatialeval.metrics.set_distances import (
        INTERVAL_MEANING,
        NULL_MEANING,
        compare_embedding_sets,
        compare_itd_sets,
    )
    from spatialeval.models.registry import SPATIAL_ENCODERS

    options = options or SetOptions()
    try:
        encoder = SPATIAL_ENCODERS.build(config.bat, config.resolved_device(), config.bat.encoder)
        skipped = None
    except StageUnavailable as exc:
        encoder, skipped = None, f"Fréchet distances of BAT embeddings need its checkpoint: {exc}"
    ref, gen = _read_set(reference, encoder, config, options), _read_set(generated, encoder, config, options)
    summary: dict[str, Any] = {
        "reference": str(reference),
        "generated": str(generated),
        "n_reference_clips": len(ref.itds_us),
        "n_generated_clips": len(gen.itds_us),
        "n_reference_read": len(ref.itds_us) + len(ref.itd_left_out),
        "n_generated_read": len(gen.itds_us) + len(gen.itd_left_out),
        "failed": {"reference": ref.failed, "generated": gen.failed},
        "itd_left_out": {"reference": ref.itd_left_out, "generated": gen.itd_left_out},
        "settings": {
            "covariance": options.covariance,
            "confidence": options.confidence,
            "seed": options.seed,
            "n_resamples_fd": options.n_resamples_fd,
            "n_resamples_itd": options.n_resamples_itd,
            "itd": f"median GCC-PHAT ITD per clip at {options.itd_rate} Hz",
            "embeddings": (f"{encoder.name} windows ({config.bat.mode} mode)" if encoder else skipped),
            "interval": INTERVAL_MEANING,
            "null": NULL_MEANING,
        },
        "not_computable": {},
    }
    try:
        summary.update(
            compare_itd_sets(
                ref.itds_us,
                gen.itds_us,
                n_resamples=options.n_resamples_itd,
                confidence=options.confidence,
                seed=options.seed,
            )
        )
    except ValueError as exc:  # e.g. every clip of one set silent: the embeddings may still be compared
        summary["not_computable"].update({name: f"ITD histograms: {exc}" for name in ITD_DISTANCES})
    if encoder is not None:
        summary["checkpoint_sha256"] = encoder.sha256
        for name, a, b in (("fd_direction", ref.direction, gen.direction), ("fd_distance", ref.distance, gen.distance)):
            try:
                summary.update(
                    compare_embedding_sets(
                        np.stack(a) if a else np.zeros((0, 0)),
                        np.stack(b) if b else np.zeros((0, 0)),
                        name=name,
                        covariance=options.covariance,
                        n_resamples=options.n_resamples_fd,
                        confidence=options.confidence,
                        seed=options.seed,
                    )
                )
            except ValueError as exc:  # too few embeddings for a covariance: the ITD distances still stand
                summary[name] = float("nan")
                summary["not_computable"][name] = f"{exc} ({len(a)} reference and {len(b)} generated embeddings)"
    return summary


def _set_header(summary: dict[str, Any], side: str) -> str:
    used, read = summary[f"n_{side}_clips"], summary[f"n_{side}_read"]
    left_out = summary["itd_left_out"][side]
    if not left_out:
        return f"{summary[side]} ({used} clips)"
    names = ", ".join(f"{name} ({why})" for name, why in sorted(left_out.items()))
    return f"{summary[side]} ({used} of {read} clips; left out: {names})"


def format_comparison(summary: dict[str, Any]) -> str:
    """The printed table of :func:`compare_sets`, with what its interval and null columns mean."""
    level = f"{summary['settings']['confidence'] * 100:g}%"
    lines = [
        f"reference: {_set_header(summary, 'reference')}   generated: {_set_header(summary, 'generated')}",
        f"{'distance':<22} {'value':>10}   {level + ' interval':<22} {'no-diff ' + level:>12}   p",
    ]
    rows = [
        ("ITD KL (nats)", "itd_kl", "itd_kl_p_value"),
        ("ITD W1 (µs)", "itd_wasserstein_us", "itd_wasserstein_p_value"),
        ("FD direction (BAT)", "fd_direction", None),
        ("FD distance (BAT)", "fd_distance", None),
    ]
    warnings = []
    for label, key, p_key in rows:
        if key in summary["not_computable"]:
            lines.append(f"{label:<22} {'—':>10}   not computable: {summary['not_computable'][key]}")
            continue
        if key not in summary:
            continue
        low, high = summary.get(f"{key}_ci_low"), summary.get(f"{key}_ci_high")
        note = summary.get(f"{key}_ci_note")
        interval = f"[{low:.4g}, {high:.4g}]" if note is None else note.split(";")[0].rstrip(")") + ")"
        if note is not None:
            warnings.append(f"warning: {label} interval: {note}")
        null = summary.get(f"{key}_null_high")
        null_text = f"≤ {null:.4g}" if null is not None and null == null else "—"
        p = summary.get(p_key) if p_key else None
        lines.append(
            f"{label:<22} {summary[key]:10.4g}   {interval:<22} {null_text:>12}"
            + (f"   {p:.3g}" if p is not None and p == p else "")
        )
    lines.extend(warnings)
    if "fd_direction" not in summary:
        lines.append(f"skipped: {summary['settings']['embeddings']}")
    for name in ("fd_direction_note", "fd_distance_note"):
        if summary.get(name):
            lines.append(f"note: {summary[name]}")
    failed = {side: len(items) for side, items in summary["failed"].items() if items}
    if failed:
        lines.append("clips that could not be analysed: " + ", ".join(f"{n} {side}" for side, n in failed.items()))
    lines.append(
        f"interval: the {level} bootstrap quantiles of the distance, moved so that their median sits on the "
        "value (small-sample bias removed; it contains the value)"
    )
    lines.append(
        f"no-diff {level}: the distance between random re-splits of the pooled clips (no difference) stays "
        f"at or below this in {level} of splits; a value at or below it reads as no difference"
    )
    return "\n".join(lines)
