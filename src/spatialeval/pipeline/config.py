"""Evaluation settings: one dataclass tree, loadable from YAML and overridable from the CLI."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spatialeval.metrics.cues import CuesConfig  # the cue metrics own their settings
from spatialeval.metrics.text_protocols import PROTOCOLS as TEXT_PROTOCOLS

DEFAULT_STAGES = ("interaural", "bat", "cer", "sim", "ffe", "cues")
# Text normalisation of the CER stage when cer.normalizer is not set: isdrama scores as the
# paper's practice does (seed-tts-eval run_wer.py); strict keeps spatialeval's own, stricter rule.
NORMALIZER_BY_PROTOCOL = {"isdrama": "seed-tts-eval", "strict": "spatialeval-text-1"}
CER_LANGUAGES = ("en", "zh", "auto")


@dataclass
class BATConfig:
    checkpoint: str | None = None
    # isdrama: first 10 s of each clip, as the release; segments: the paper's 1-s segments,
    # each zero-padded to the encoder's 10 s input, cosines averaged; windowed: 10-s windows
    # covering the whole clip, cosines averaged.
    mode: str = "isdrama"
    segment_seconds: float = 1.0
    window_seconds: float = 10.0
    normalize_dbfs: float | None = -14.0
    batch_size: int = 8
    autocast: str | None = None  # None, "bf16" or "fp16" (encoder only)
    save_embeddings: bool = False


@dataclass
class InterauralConfig:
    floor_db: float = 60.0  # strict protocol: bins within this many dB of the gt's peak count
    block_frames: int = 2048  # STFT frames analysed at once: bounds memory on long clips (no effect on values)


@dataclass
class CERConfig:
    backend: str = "pocketsphinx"   # pocketsphinx | whisper | paraformer-zh
    # en | zh: the ASR's language and the scoring language. auto: the ASR's language is the
    # backend's only one (pocketsphinx en, paraformer-zh zh; whisper needs en or zh) and each
    # item is scored in the language detected from its reference (CJK → zh), recorded per item.
    language: str = "en"
    model_path: str | None = None   # local model directory for whisper / paraformer
    transcripts: str | None = None  # JSON / CSV / TSV of id → text; else .txt/.lab beside gt; else ASR(gt)
    # seed-tts-eval always converts Mandarin ASR output to simplified; true also converts the
    # reference. spatialeval-text-1: true converts both sides.
    traditional_to_simplified: bool = False
    # seed-tts-eval | whisper-en | spatialeval-text-1 (docs/text-normalisation.md);
    # null: by protocol (isdrama → seed-tts-eval, strict → spatialeval-text-1)
    normalizer: str | None = None


@dataclass
class SIMConfig:
    backend: str = "resemblyzer"    # resemblyzer | wavlm
    model_path: str | None = None   # local WavLM speaker-verification checkpoint
    use_prompt: bool = False        # compare with the manifest's prompt audio instead of gt


@dataclass
class FFEConfig:
    method: str = "dio"             # dio (+ stonemask) | harvest
    frame_period_ms: float = 10.0
    f0_floor: float = 71.0
    f0_ceil: float = 800.0
    alignment: str = "nearest"      # nearest | dtw
    threshold: float = 0.2          # gross pitch error when |f_gen/f_gt − 1| > threshold


@dataclass
class EvalConfig:
    protocol: str = "isdrama"       # isdrama | strict
    stages: list[str] = field(default_factory=lambda: list(DEFAULT_STAGES))
    device: str = "auto"            # auto | cpu | cuda | cuda:N
    allow_partial: bool = False
    workers: int = 0                # CPU worker processes for loading / CPU stages (0 = in process)
    shard: str | None = None        # "K/N": evaluate the K-th of N deterministic slices (1-based)
    cache_dir: str | None = None    # content-keyed feature cache
    interaural: InterauralConfig = field(default_factory=InterauralConfig)
    bat: BATConfig = field(default_factory=BATConfig)
    cer: CERConfig = field(default_factory=CERConfig)
    sim: SIMConfig = field(default_factory=SIMConfig)
    ffe: FFEConfig = field(default_factory=FFEConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cer_normalizer(self) -> str:
        """The CER stage's text normalisation protocol: ``cer.normalizer``, else the evaluation protocol's."""
        return self.cer.normalizer or NORMALIZER_BY_PROTOCOL[self.protocol]

    def resolved_device(self) -> str:
        """``auto`` → cuda when available, else cpu; an unavailable explicit cuda device is a clear error."""
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r} requested, but this torch build sees no CUDA device "
                             f"(torch {torch.__version__}); use --device cpu or auto")
        return self.device


def _merge(instance, values: dict[str, Any], where: str):
    known = {f.name: f for f in dataclasses.fields(instance)}
    for key, value in (values or {}).items():
        if key not in known:
            raise ValueError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{where}.{key}: expected a mapping")
            _merge(current, value, f"{where}.{key}")
        else:
            setattr(instance, key, value)
    return instance


def config_from_dict(values: dict[str, Any] | None) -> EvalConfig:
    config = _merge(EvalConfig(), values or {}, "config")
    if config.protocol not in ("isdrama", "strict"):
        raise ValueError(f"config.protocol must be 'isdrama' or 'strict', not {config.protocol!r}")
    if config.bat.mode not in ("isdrama", "segments", "windowed"):
        raise ValueError(f"config.bat.mode must be isdrama, segments or windowed, not {config.bat.mode!r}")
    if config.cer.normalizer is not None and config.cer.normalizer not in TEXT_PROTOCOLS:
        raise ValueError(f"config.cer.normalizer must be one of {', '.join(TEXT_PROTOCOLS)} (or null), "
                         f"not {config.cer.normalizer!r}")
    if config.cer.language not in CER_LANGUAGES:
        raise ValueError(f"config.cer.language must be one of {', '.join(CER_LANGUAGES)}, not {config.cer.language!r}")
    return config


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> EvalConfig:
    """Defaults, then the YAML file, then ``overrides`` (nested dicts), validated."""
    values: dict[str, Any] = {}
    if path:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        values = loaded
    config = config_from_dict(values)
    return _merge(config, overrides or {}, "override") if overrides else config
