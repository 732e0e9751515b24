"""Evaluation settings: one dataclass tree, loadable from YAML and overridable from the CLI."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spatialeval.metrics.cues import CuesConfig  # the cue metrics own their settings

DEFAULT_STAGES = ("interaural", "bat", "cer", "sim", "ffe", "cues")


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


@dataclass
class CERConfig:
    backend: str = "pocketsphinx"   # pocketsphinx | whisper | faster-whisper | paraformer-zh
    language: str = "en"            # en | zh
    model_path: str | None = None   # local model directory for whisper / faster-whisper / paraformer-zh
    # Numeric precision. auto: whisper float32 on CPU / float16 on CUDA; faster-whisper int8 on CPU /
    # float16 on CUDA. whisper also takes float32 | float16 | bfloat16; faster-whisper any CTranslate2
    # compute type (int8, int8_float16, float16, float32, ...). Recorded in the summary.
    compute_type: str = "auto"
    batch_size: int = 8             # 30-s windows (Whisper) or clips (Paraformer) per forward pass
    beam_size: int = 1              # Whisper backends: 1 = greedy (deterministic, as seed-tts-eval decodes)
    transcripts: str | None = None  # JSON / CSV / TSV of id → text; else .txt/.lab beside gt; else ASR(gt)
    traditional_to_simplified: bool = False


@dataclass
class SIMConfig:
    backend: str = "resemblyzer"    # resemblyzer | wavlm | wavlm-ecapa
    # wavlm: a local Hugging Face WavLMForXVector folder; wavlm-ecapa: the path of seed-tts-eval's
    # wavlm_large_finetune.pth (the paper's SIM model). resemblyzer takes none.
    model_path: str | None = None
    batch_size: int = 8             # clips per WavLM forward pass (wavlm, wavlm-ecapa)
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
