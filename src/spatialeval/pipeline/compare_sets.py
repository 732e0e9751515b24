"""Set-level spatial distances between two unpaired folders of binaural audio (``spatialeval compare-sets``).

Text-to-spatial-audio work compares *distributions* rather than pairs. For every clip of each folder
(recursively, any number, no pairing):

* its BAT direction and distance embeddings (one per encoder window, ``bat.mode``) when a BAT
  checkpoint is configured — the Fréchet distance of the two sets of each (FAD-style;
  :func:`spatialeval.metrics.set_distances.compare_embedding_sets`, with the covariance estimate
  and the sample-size caveat stated);
* its median GCC-PHAT ITD (µs) — the KL divergence and Wasserstein-1 distance of the two sets'
  ITD histograms (:func:`spatialeval.metrics.set_distances.compare_itd_sets`).

Each distance comes with a bootstrap confidence interval (each set resampled with replacement);
the ITD distances also with a permutation p-value. A clip that cannot be read or has no measurable
ITD is counted, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spatialeval.errors import StageUnavailable, UsageError
from spatialeval.io.pairing import index_audio_tree


@dataclass
class SetOptions:
    covariance: str = "shrinkage"   # sample | shrinkage | diagonal (768-d embeddings need many clips for "sample")
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
    direction: list[np.ndarray] = field(default_factory=list)
    distance: list[np.ndarray] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _clip_itd_us(clip, rate: int) -> float:
    from spatialeval.features.binaural_cues import itd_gcc_phat, median_itd_us
    from spatialeval.features.resample import resample_polyphase

    return median_itd_us(itd_gcc_phat(resample_polyphase(clip.samples, clip.sample_rate, rate), rate))


def _read_set(folder: str | Path, encoder, config, options: SetOptions) -> ClipSet:
    from spatialeval.io.audio import load_audio
    from spatialeval.pipeline.loader import MIN_CLIP_SECONDS
    from spatialeval.pipeline.stages.bat import encoder_inputs

    result = ClipSet(folder=str(folder))
    for item_id, path in index_audio_tree(Path(folder)).items():
        try:
            clip = load_audio(path, min_seconds=MIN_CLIP_SECONDS).require_channels(2)
            result.itds_us.append(_clip_itd_us(clip, options.itd_rate))
            if encoder is not None:
                bat = config.bat
                windows = encoder_inputs(clip, encoder, bat.mode, bat.normalize_dbfs, bat.segment_seconds,
                                         bat.window_seconds)
                embedded = encoder.embed(windows, bat.batch_size, bat.autocast)
                result.direction.extend(embedded["azi"])
                result.distance.extend(embedded["dis"])
        except Exception as exc:  # one bad file never stops the comparison; it is counted and named
            result.failed[item_id] = str(exc)
    if not result.itds_us and not result.direction:
        raise UsageError(f"{folder}: no clip could be analysed ({len(result.failed)} failed)")
    return result


def compare_sets(generated: str | Path, reference: str | Path, config, options: SetOptions | None = None) -> dict[str, Any]:
    """Set-level distances of ``generated`` against ``reference`` (folders of binaural clips, unpaired)."""
    from spatialeval.metrics.set_distances import compare_embedding_sets, compare_itd_sets
    from spatialeval.models.registry import SPATIAL_ENCODERS

    options = options or SetOptions()
    try:
        encoder = SPATIAL_ENCODERS.build(config.bat, config.resolved_device(), config.bat.encoder)
        skipped = None
    except StageUnavailable as exc:
        encoder, skipped = None, f"Fréchet distances of BAT embeddings need its checkpoint: {exc}"
    ref, gen = _read_set(reference, encoder, config, options), _read_set(generated, encoder, config, options)
    summary: dict[str, Any] = {
        "reference": str(reference), "generated": str(generated),
        "n_reference_clips": len(ref.itds_us), "n_generated_clips": len(gen.itds_us),
        "failed": {"reference": ref.failed, "generated": gen.failed},
        "settings": {"covariance": options.covariance, "confidence": options.confidence, "seed": options.seed,
                     "n_resamples_fd": options.n_resamples_fd, "n_resamples_itd": options.n_resamples_itd,
                     "itd": f"median GCC-PHAT ITD per clip at {options.itd_rate} Hz",
                     "embeddings": (f"{encoder.name} windows ({config.bat.mode} mode)" if encoder else skipped)},
    }
    summary.update(compare_itd_sets(ref.itds_us, gen.itds_us, n_resamples=options.n_resamples_itd,
                                    confidence=options.confidence, seed=options.seed))
    if encoder is not None:
        summary["checkpoint_sha256"] = encoder.sha256
        for name, a, b in (("fd_direction", ref.direction, gen.direction), ("fd_distance", ref.distance, gen.distance)):
            summary.update(compare_embedding_sets(np.stack(a), np.stack(b), name=name, covariance=options.covariance,
                                                  n_resamples=options.n_resamples_fd, confidence=options.confidence,
                                                  seed=options.seed))
    return summary


def format_comparison(summary: dict[str, Any]) -> str:
    """The printed table of :func:`compare_sets`."""
    lines = [f"reference: {summary['reference']} ({summary['n_reference_clips']} clips)   "
             f"generated: {summary['generated']} ({summary['n_generated_clips']} clips)",
             f"{'distance':<22} {'value':>10}   {int(summary['settings']['confidence'] * 100)}% interval      p"]
    rows = [("ITD KL (nats)", "itd_kl", "itd_kl_p_value"), ("ITD W1 (µs)", "itd_wasserstein_us", "itd_wasserstein_p_value"),
            ("FD direction (BAT)", "fd_direction", None), ("FD distance (BAT)", "fd_distance", None)]
    for label, key, p_key in rows:
        if key not in summary:
            continue
        low, high = summary.get(f"{key}_ci_low"), summary.get(f"{key}_ci_high")
        p = summary.get(p_key) if p_key else None
        lines.append(f"{label:<22} {summary[key]:10.4g}   [{low:.4g}, {high:.4g}]"
                     + (f"   {p:.3g}" if p is not None else ""))
    if "fd_direction" not in summary:
        lines.append(f"skipped: {summary['settings']['embeddings']}")
    for name in ("fd_direction_note", "fd_distance_note"):
        if summary.get(name):
            lines.append(f"note: {summary[name]}")
    failed = {side: len(items) for side, items in summary["failed"].items() if items}
    if failed:
        lines.append("clips that could not be analysed: " + ", ".join(f"{n} {side}" for side, n in failed.items()))
    return "\n".join(lines)
