"""Metric stages; the registry of them is :mod:`spatialeval.pipeline.registry`."""

from __future__ import annotations

from spatialeval.errors import StageUnavailable
from spatialeval.pipeline.registry import stage_class
from spatialeval.pipeline.stages.base import LoadedPair, RunContext, Stage

__all__ = ["LoadedPair", "RunContext", "Stage", "StageUnavailable", "stage_class"]
