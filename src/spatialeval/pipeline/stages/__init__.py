"""Registry of metric stages, imported lazily so a missing optional backend never breaks ``import spatialeval``."""
from __future__ import annotations

from importlib import import_module

from spatialeval.pipeline.stages.base import LoadedPair, Stage, StageUnavailable

STAGES: dict[str, str] = {
    "interaural": "spatialeval.pipeline.stages.interaural:InterauralStage",
    "bat": "spatialeval.pipeline.stages.bat:BATStage",
    "cer": "spatialeval.pipeline.stages.cer:CERStage",
    "sim": "spatialeval.pipeline.stages.sim:SIMStage",
    "ffe": "spatialeval.pipeline.stages.ffe:FFEStage",
    "cues": "spatialeval.pipeline.stages.cues:CuesStage",
}


def stage_class(name: str) -> type[Stage]:
    try:
        module_name, class_name = STAGES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}") from None
    return getattr(import_module(module_name), class_name)


__all__ = ["STAGES", "LoadedPair", "Stage", "StageUnavailable", "stage_class"]
