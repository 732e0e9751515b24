"""Metric metadata: what each result field means, its direction, unit and printed scale.

The per-item field names are a stable contract (CI gates and notebooks read them);
``summary.json`` holds the mean of the per-item values under the same names.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    stage: str
    higher_is_better: bool
    unit: str
    description: str
    table_scale: float = 1.0  # the printed table multiplies by this (×100 for ISDrama's IPD/ILD)


_ALL = [
    MetricInfo("ipd_mae", "IPD MAE", "interaural", False, "rad (strict) / ISDrama units",
               "mean absolute interaural phase difference error vs. gt", 100.0),
    MetricInfo("ild_mae", "ILD MAE", "interaural", False, "dB (strict) / ISDrama units",
               "mean absolute interaural level difference error vs. gt", 100.0),
    MetricInfo("ang_cos", "ANG Cos", "bat", True, "cosine", "cosine of BAT direction embeddings, gt vs. generated"),
    MetricInfo("dis_cos", "Dis Cos", "bat", True, "cosine", "cosine of BAT distance embeddings, gt vs. generated"),
    MetricInfo("cer", "CER", "cer", False, "fraction", "character error rate of ASR(generated) vs. reference text"),
    MetricInfo("wer", "WER", "cer", False, "fraction", "word error rate (English) of ASR(generated) vs. reference text"),
    MetricInfo("sim", "SIM", "sim", True, "cosine", "speaker-embedding cosine, generated vs. gt (or prompt)"),
    MetricInfo("ffe", "FFE", "ffe", False, "fraction", "F0 frame error: (GPE frames + VDE frames) / frames"),
    MetricInfo("gpe", "GPE", "ffe", False, "fraction", "gross pitch error frames / frames"),
    MetricInfo("vde", "VDE", "ffe", False, "fraction", "voicing decision error frames / frames"),
    MetricInfo("itd_error_us", "ITD err", "cues", False, "µs", "median |ITD_gen − ITD_gt| per frame, GCC-PHAT"),
    MetricInfo("ild_band_error_db", "Band ILD err", "cues", False, "dB", "mean |ILD_gen − ILD_gt| over auditory bands"),
    MetricInfo("iacc_error", "IACC err", "cues", False, "coefficient", "|IACC_gen − IACC_gt|"),
    MetricInfo("doa_error_deg", "DoA err", "cues", False, "degrees",
               "angle between estimated directions (azimuth difference at ear level); the lateral-angle "
               "difference when front/back is ambiguous (doa_error_scope); unmeasurable when unreliable"),
    MetricInfo("front_back_confusion", "F/B conf", "cues", False, "0/1",
               "1 when gt and generated lie in opposite hemifields front/back, 0 when not; unmeasurable "
               "('ambiguous') when the spectral cues cannot tell"),
]

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}


def metric_fields(stage: str) -> tuple[str, ...]:
    return tuple(m.name for m in _ALL if m.stage == stage)
