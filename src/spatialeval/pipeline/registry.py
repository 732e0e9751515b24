"""The registry of stages, and through them of every metric spatialeval computes.

A stage is registered by name and ``module:Class`` path, imported on first use (stage modules are
light: their heavy imports happen inside methods). Three ways in:

* the built-in table below (one line per built-in stage);
* :func:`register_stage` at run time (notebooks, tests, plugins loaded by hand);
* the ``spatialeval.stages`` entry-point group of installed packages, e.g. in a plugin's
  ``pyproject.toml``: ``[project.entry-points."spatialeval.stages"] mymetric = "pkg.mod:MyStage"``.

Everything else — the configuration tree, the CLI's options and choices, ``--metrics``
selection, the summary, ``spatialeval check`` and ``spatialeval metrics`` — is derived from the
registered stage classes, so adding a metric is one module plus one registration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from spatialeval.metrics.registry import MetricInfo
from spatialeval.models.registry import LazyRegistry

ENTRY_POINT_GROUP = "spatialeval.stages"

BUILTIN_STAGES: dict[str, str] = {
    "interaural": "spatialeval.pipeline.stages.interaural:InterauralStage",
    "bat": "spatialeval.pipeline.stages.bat:BATStage",
    "cer": "spatialeval.pipeline.stages.cer:CERStage",
    "sim": "spatialeval.pipeline.stages.sim:SIMStage",
    "ffe": "spatialeval.pipeline.stages.ffe:FFEStage",
    "cues": "spatialeval.pipeline.stages.cues:CuesStage",
    "trajectory": "spatialeval.pipeline.stages.trajectory:TrajectoryStage",
    "binaural_gen": "spatialeval.pipeline.stages.binaural_gen:BinauralGenStage",
    "binaural_speech": "spatialeval.pipeline.stages.binaural_speech:BinauralSpeechStage",
    "bewo": "spatialeval.pipeline.stages.bewo:BEWOStage",
    "intelligibility": "spatialeval.pipeline.stages.intelligibility:IntelligibilityStage",
}

_stages = LazyRegistry(ENTRY_POINT_GROUP, BUILTIN_STAGES)
_generation = 0  # bumped on every registration, so derived tables rebuild


def register_stage(stage: type | str, name: str | None = None) -> None:
    """Register a stage class (or its ``"module:Class"`` path) under ``name`` (default: the class's ``name``)."""
    global _generation
    if name is None:
        if isinstance(stage, str):
            raise ValueError("register_stage needs a name when given a 'module:Class' path")
        name = stage.name
    if not name or not name.isidentifier():
        raise ValueError(f"stage names must be identifiers (they are config sections), got {name!r}")
    _stages.register(name, stage)
    _generation += 1


def stage_names() -> list[str]:
    return _stages.names()


def stage_class(name: str):
    """The stage class registered as ``name`` (imported on first use)."""
    known = _stages.names()
    if name not in known:
        raise ValueError(f"unknown stage {name!r}; known stages: {', '.join(known)}") from None
    return _stages.load(name)


def stage_classes() -> dict[str, type]:
    return {name: stage_class(name) for name in stage_names()}


class _MetricTable(Mapping):
    """Every registered stage's metrics in registration order, rebuilt when the registry changes."""

    def __init__(self) -> None:
        self._built_at = -1
        self._table: dict[str, MetricInfo] = {}

    def _current(self) -> dict[str, MetricInfo]:
        if self._built_at != _generation or not self._table:
            table: dict[str, MetricInfo] = {}
            for cls in stage_classes().values():
                for info in cls.metrics:
                    if info.name in table:
                        raise ValueError(
                            f"metric {info.name!r} is declared by two stages "
                            f"({table[info.name].stage} and {info.stage})"
                        )
                    table[info.name] = info
            self._table, self._built_at = table, _generation
        return self._table

    def __getitem__(self, name: str) -> MetricInfo:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


METRICS: Mapping[str, MetricInfo] = _MetricTable()


def metric_fields(stage: str) -> tuple[str, ...]:
    """The per-item metric fields of ``stage``, in declaration order."""
    return tuple(info.name for info in stage_class(stage).metrics)


def stages_for_metrics(names: list[str]) -> list[str]:
    """The stages that compute ``names`` (registry order); unknown names raise ValueError listing the known ones."""
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(unknown)}; `spatialeval metrics` lists them (known: {', '.join(METRICS)})"
        )
    wanted = {METRICS[name].stage for name in names}
    return [name for name in stage_names() if name in wanted]
