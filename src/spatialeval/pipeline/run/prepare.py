"""Stages ready to run: keyword shorthands routed into settings, stages set up, named metrics checked."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any

from spatialeval.errors import StageUnavailable, UsageError
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.registry import stage_class, stage_classes
from spatialeval.pipeline.stages.base import RunContext, Stage


@dataclass
class StageStatus:
    name: str
    status: str  # "ran" | "skipped"
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **self.details}

    @classmethod
    def from_dict(cls, name: str, stored: dict[str, Any]) -> StageStatus:
        """The status as a summary's ``stages[name]`` stored it (:meth:`as_dict`)."""
        details = {k: v for k, v in stored.items() if k not in ("status", "reason")}
        return cls(name, stored["status"], stored.get("reason", ""), details)


def apply_shorthands(config: EvalConfig, given: dict[str, Any]) -> EvalConfig:
    """``config`` with keyword shorthands (``evaluate(checkpoint=...)``) set as the stage settings they stand for.

    Each stage declares its shorthands in ``Stage.api_shorthands`` (keyword → setting). A shorthand
    left at None or False changes nothing; when one is given, a copy of ``config`` is changed (one
    route into the settings, not a second one), so the caller's config is left as it was.

    Raises:
        TypeError: a given shorthand that no registered stage declares.
        ValueError: a given shorthand that two registered stages declare.
    """
    given = {keyword: value for keyword, value in given.items() if value is not None and value is not False}
    if not given:
        return config
    owners = shorthand_owners()
    config = copy.deepcopy(config)
    for keyword, value in given.items():
        if keyword not in owners:
            raise TypeError(f"evaluate() got the shorthand {keyword}=, which no registered stage declares")
        if len(owners[keyword]) > 1:
            raise ValueError(f"the shorthand {keyword}= is declared by several stages: {', '.join(owners[keyword])}")
        name = owners[keyword][0]
        setting = stage_class(name).api_shorthands[keyword]
        setattr(getattr(config, name), setting, os.fspath(value) if isinstance(value, os.PathLike) else value)
    return config


def shorthand_owners() -> dict[str, list[str]]:
    """Every shorthand keyword → the registered stages declaring it."""
    owners: dict[str, list[str]] = {}
    for name, cls in stage_classes().items():
        for keyword in cls.api_shorthands:
            owners.setdefault(keyword, []).append(name)
    return owners


def prepare_stages(config: EvalConfig, context: RunContext | None = None) -> tuple[list[Stage], dict[str, StageStatus]]:
    """Instantiate and set up every configured stage; one that cannot run is skipped with its reason."""
    ready, statuses = [], {}
    for name in config.active_stages():
        try:
            stage = stage_class(name)(config, context)
            stage.setup()
        except StageUnavailable as exc:
            statuses[name] = StageStatus(name, "skipped", str(exc))
            continue
        except ImportError as exc:
            statuses[name] = StageStatus(
                name,
                "skipped",
                f"optional dependency missing: {exc}. Install it with: pip install 'spatialeval[speech]'",
            )
            continue
        ready.append(stage)
        statuses[name] = StageStatus(name, "ran", details=stage.describe())
    return ready, statuses


def require_named(config: EvalConfig, stages: list[Stage], statuses: dict[str, StageStatus]) -> None:
    """Stop before any item is evaluated when a stage named with ``stages`` or a metric named with
    ``metrics`` cannot be computed here (a default stage that cannot run is only skipped)."""
    ready = {stage.name: stage for stage in stages}
    problems = []
    for name, metrics in config.named_metrics().items():
        status = statuses.get(name)
        if status is not None and status.status == "skipped":
            what = ", ".join(metrics) if metrics else f"stage {name}"
            problems.append(f"{what} cannot be computed: {status.reason}")
        elif name in ready:
            missing = ready[name].unavailable_metrics()
            problems += [f"{metric} cannot be computed: {missing[metric]}" for metric in metrics if metric in missing]
    if problems:
        raise UsageError("; ".join(problems) + " (named with --metrics/--stages; leave them out to run without)")
