"""Evaluation settings: the run's own settings plus one section per registered stage.

The sections are the stages' own settings dataclasses (``Stage.Settings``), so a new stage brings
its settings with it: ``config.<stage>.<name>`` in Python, ``<stage>: {<name>: ...}`` in YAML,
``--set <stage>.<name>=VALUE`` (or the stage's own flag) on the command line. Loadable from YAML,
overridable from the CLI, validated against each setting's declared choices.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spatialeval.metrics.registry import PROTOCOLS
from spatialeval.names import upgrade_setting_path, upgrade_settings
from spatialeval.pipeline.registry import stage_classes, stage_names, stages_for_metrics
from spatialeval.pipeline.settings import (
    Rule,
    at_least,
    check_settings,
    coerce_value,
    non_empty,
    parse_value,
    positive,
    setting,
)

DEFAULT_STAGES = ("interaural", "bat", "cer", "sim", "ffe", "cues")

_SHARD = Rule(lambda v: _shard_ok(v), "look like K/N with 1 <= K <= N (e.g. 2/8)", ("0/4", "5/4", "half"))


_DEVICE = Rule(
    lambda v: re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v) is not None,
    "be cpu, cuda, cuda:N, mps or auto",
    ("gpu", "cuda:x"),
)
_METRIC = Rule(
    lambda v: v in _metric_names(), "name known metrics (`spatialeval metrics` lists them)", (["no_such_metric"],)
)


def _metric_names() -> list[str]:
    from spatialeval.pipeline.registry import METRICS

    return list(METRICS)


def _shard_ok(text: str) -> bool:
    k, n = (int(v) for v in text.split("/"))
    return 1 <= k <= n


@dataclass
class RunSettings:
    """Settings of the run itself (the top level of the YAML file)."""

    protocol: str = setting(
        "isdrama",
        help="isdrama: the released ISDrama definitions; strict: the defects fixed",
        cli="--protocol",
        choices=PROTOCOLS,
    )
    # null: the default stages, each skipped with a reason when it cannot run here; a stage named
    # here (or computing a metric named in `metrics`) must run, else the run stops with exit 2.
    stages: list[str] | None = setting(
        None,
        cli="--stages",
        choices=stage_names,
        kind="list",
        help="comma list of stages to run (default: "
        + ", ".join(DEFAULT_STAGES)
        + ", those that cannot run here skipped; a named stage must run)",
        metavar="STAGE,...",
    )
    metrics: list[str] | None = setting(
        None,
        cli="--metrics",
        kind="list",
        metavar="METRIC,...",
        check=_METRIC,
        help="comma list of metrics to compute; the stages that compute them run "
        "(overrides --stages; each must be computable, else exit 2)",
    )
    device: str = setting(
        "auto",
        help="cpu, cuda, cuda:N or auto (cuda when available)",
        cli="--device",
        affects_numbers=False,
        check=_DEVICE,
    )
    tf32: bool = setting(
        False,
        cli="--tf32",
        help="allow TF32 for float32 convolutions and matmuls on CUDA (faster; off in parity mode, "
        "which keeps IEEE float32)",
    )
    device_kernels: str = setting(
        "auto",
        choices=("auto", "on", "off"),
        affects_numbers=False,
        help="batched device kernels for resampling, IPD/ILD and encoder inputs: auto = on "
        "a CUDA device, off on the CPU (where the per-clip path is the faster one: "
        "docs/performance.md); on = also on the CPU (equal to the reference path to float "
        "rounding); off = the per-clip reference path",
    )
    allow_partial: bool = setting(
        False,
        help="evaluate matched pairs when some files have no partner",
        cli="--allow-partial",
        affects_numbers=False,
    )
    workers: int = setting(
        0,
        help="worker processes decoding audio ahead of the metrics (0: one background thread)",
        cli="--workers",
        affects_numbers=False,
        check=at_least(0),
    )
    chunk_size: int = setting(
        4,
        help="pairs decoded and evaluated together (encoder batches span a chunk)",
        cli="--chunk-size",
        affects_numbers=False,
        check=positive(),
    )
    shard: str | None = setting(
        None,
        help="K/N: evaluate the K-th of N deterministic slices",
        cli="--shard",
        affects_numbers=False,
        check=_SHARD,
    )
    cache_dir: str | None = setting(
        None,
        help="content-keyed feature cache (gt features computed once)",
        cli="--cache-dir",
        affects_numbers=False,
        check=non_empty(),
    )


RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunSettings))


class EvalConfig:
    """The run settings (keyword arguments set them) and one settings object per registered stage.

    Example:
        >>> config = EvalConfig()
        >>> config.protocol, config.bat.mode, config.cer.backend
        ('isdrama', 'first-window', 'pocketsphinx')
        >>> config.to_dict()["interaural"]["floor_db"]
        60.0
    """

    def __init__(self, **run_settings) -> None:
        object.__setattr__(self, "_run", RunSettings(**run_settings))
        object.__setattr__(self, "_sections", {name: cls.Settings() for name, cls in stage_classes().items()})

    def __getattr__(self, name: str):
        if name.startswith("_"):  # pickling and copying look up dunder attributes before __init__ ran
            raise AttributeError(name)
        if name in RUN_FIELDS:
            return getattr(self._run, name)
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(f"EvalConfig has no setting or stage section {name!r}") from None

    def __setattr__(self, name: str, value) -> None:
        if name in RUN_FIELDS:
            setattr(self._run, name, value)
        elif name in self._sections:
            self._sections[name] = value
        else:
            raise AttributeError(f"EvalConfig has no setting or stage section {name!r}")

    def __getstate__(self):
        return {"run": self._run, "sections": self._sections}

    def __setstate__(self, state) -> None:
        object.__setattr__(self, "_run", state["run"])
        object.__setattr__(self, "_sections", state["sections"])

    def __deepcopy__(self, memo):
        clone = EvalConfig.__new__(EvalConfig)
        clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return clone

    def sections(self) -> dict[str, Any]:
        return dict(self._sections)

    def active_stages(self) -> list[str]:
        """The stages to run: those computing ``metrics`` when given, else ``stages``, else the defaults."""
        if self.metrics:
            return stages_for_metrics(self.metrics)
        return list(self.stages) if self.stages is not None else list(DEFAULT_STAGES)

    def named_metrics(self) -> dict[str, list[str]]:
        """What the user asked for by name: stage → the metrics named with ``metrics`` (an empty list for a
        stage named with ``stages``: it must run). Empty when the defaults run; a named stage or metric that
        cannot be computed is an error, a default stage that cannot run is skipped."""
        from spatialeval.pipeline.registry import METRICS

        if self.metrics:
            named: dict[str, list[str]] = {}
            for metric in self.metrics:
                named.setdefault(METRICS[metric].stage, []).append(metric)
            return named
        return {stage: [] for stage in self.stages or ()}

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self._run),
            **{name: dataclasses.asdict(section) for name, section in self._sections.items()},
        }

    def resolved_device(self) -> str:
        """``auto`` → cuda when available, else cpu; an unavailable explicit cuda device is a clear error."""
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device {self.device!r} requested, but this torch build sees no CUDA device "
                f"(torch {torch.__version__}); use --device cpu or auto"
            )
        return self.device

    def use_device_kernels(self) -> bool:
        """Whether stages run their batched device kernels (see ``device_kernels``).

        ``auto`` keeps the per-clip reference path on the CPU: there the batched kernels give the same values
        to float rounding but were measured 2-4x slower (``scripts/benchmark.py --kernels``)."""
        if self.device_kernels == "on":
            return True
        return self.device_kernels == "auto" and self.resolved_device().startswith("cuda")

    def precision_mode(self) -> str:
        """``fp32-parity`` (IEEE float32, TF32 off) unless ``tf32`` is set."""
        return "tf32" if self.tf32 else "fp32-parity"


def _merge_dataclass(instance, values: dict[str, Any], where: str) -> None:
    known = {f.name: f for f in dataclasses.fields(instance)}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        setattr(instance, key, coerce_value(known[key], value))


def merge_values(config: EvalConfig, values: dict[str, Any] | None, where: str = "config") -> EvalConfig:
    """Apply nested ``values`` (YAML shape) to ``config``; unknown names raise ValueError naming the known ones."""
    run_values, sections = {}, config.sections()
    values = upgrade_settings(values, where)  # old keys and values (cer.normalizer, bat.mode=isdrama) with a note
    for key, value in (values or {}).items():
        if key in RUN_FIELDS:
            run_values[key] = value
        elif key in sections:
            if not isinstance(value, dict):
                raise ValueError(f"{where}.{key}: expected a mapping")
            _merge_dataclass(sections[key], value, f"{where}.{key}")
        else:
            known = ", ".join([*RUN_FIELDS, *sections])
            raise ValueError(f"{where}: unknown setting {key!r} (known: {known})")
    _merge_dataclass(config._run, run_values, where)
    return config


def validate(config: EvalConfig) -> EvalConfig:
    """Check every setting's type, choices and declared rules (``setting(check=...)``), then each
    section's cross-setting rules (``Settings.validate(config)``); ValueError names the setting and rule."""
    check_settings(config._run, "config")
    for key, flag in (("stages", "--stages"), ("metrics", "--metrics")):
        if getattr(config, key) is not None and not getattr(config, key):
            raise ValueError(f"config.{key} ({flag}) is empty: name at least one, or leave it unset for the defaults")
    if config.metrics:
        stages_for_metrics(config.metrics)  # unknown metric names raise here
    for name, section in config.sections().items():
        check_settings(section, f"config.{name}")
        checker = getattr(section, "validate", None)
        if checker:
            checker(config)
    return config


def config_from_dict(values: dict[str, Any] | None) -> EvalConfig:
    """Defaults updated with ``values`` (nested, YAML shape), validated."""
    return validate(merge_values(EvalConfig(), values))


def _declared_field(path: list[str]) -> dataclasses.Field | None:
    """The declaration of the setting at ``path`` (``[name]`` or ``[section, name]``), or None if unknown."""
    if len(path) == 1:
        settings_cls = RunSettings
    else:
        settings_cls = stage_classes().get(path[0])
        if settings_cls is None:
            return None
        settings_cls = settings_cls.Settings
    return {f.name: f for f in dataclasses.fields(settings_cls)}.get(path[-1])


def parse_assignment(text: str) -> dict[str, Any]:
    """``"section.name=value"`` (or ``"name=value"`` for run settings) as a nested override; the value is
    parsed as the setting's declared kind (:func:`~spatialeval.pipeline.settings.parse_value`), so
    ``device_kernels=on`` stays the text ``on`` and ``tf32=off`` is False.

    Example:
        >>> parse_assignment("ffe.threshold=0.3"), parse_assignment("bat.autocast=null")
        ({'ffe': {'threshold': 0.3}}, {'bat': {'autocast': None}})
        >>> parse_assignment("device_kernels=on")
        {'device_kernels': 'on'}
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected SECTION.NAME=VALUE, e.g. --set ffe.threshold=0.3")
    path = key.strip().split(".")
    if len(path) > 2:
        raise ValueError(f"--set {text!r}: settings are at most SECTION.NAME deep")
    path = upgrade_setting_path(path, "--set")
    declared = _declared_field(path)
    if declared is None:  # unknown: merge_values names the known settings
        value = yaml.safe_load(raw) if raw.strip() else ""
    else:
        try:
            value = parse_value(declared, raw)
        except ValueError as exc:
            raise ValueError(f"--set {text!r}: {exc}") from None
    return {path[0]: value} if len(path) == 1 else {path[0]: {path[1]: value}}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> EvalConfig:
    """Defaults, then the YAML file, then ``overrides`` (nested dicts), validated."""
    values: dict[str, Any] = {}
    if path:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        values = loaded
    config = merge_values(EvalConfig(), values)
    return validate(merge_values(config, overrides or {}, "override"))


def _yaml_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


def default_config_yaml() -> str:
    """Every setting with its default and help, as a commented YAML file (``spatialeval config``)."""
    lines = [
        "# spatialeval settings: every value here is the default the code uses (`spatialeval config`).",
        "# Any of them can be given in a --config file, with --set SECTION.NAME=VALUE, or with its flag.",
    ]

    def emit(settings_cls, indent: str) -> None:
        instance = settings_cls()
        for item in dataclasses.fields(settings_cls):
            value = _yaml_value(getattr(instance, item.name))
            flag = item.metadata.get("cli")
            note = item.metadata.get("help", "") + (f" ({flag})" if flag else "")
            if item.metadata.get("affects_numbers") is False:
                note += " [speed/output only]"
            lines.append(f"{indent}{item.name}: {value}" + (f"  # {note}" if note else ""))

    emit(RunSettings, "")
    for name, cls in stage_classes().items():
        if dataclasses.fields(cls.Settings):
            lines.append(f"{name}:")
            emit(cls.Settings, "  ")
    return "\n".join(lines) + "\n"
