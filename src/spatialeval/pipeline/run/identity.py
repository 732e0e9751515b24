"""A run's identity: the settings and stage provenance that change numbers, and its fingerprint.

Two runs with equal identities give interchangeable rows, so a resumed run, a merge of shards and
``spatialeval check`` compare identities; an output directory is bound to one by its ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialeval.errors import UsageError
from spatialeval.io.files import atomic_write_text
from spatialeval.names import legacy_identity, note_renamed
from spatialeval.pipeline.config import EvalConfig, RunSettings
from spatialeval.pipeline.registry import stage_class
from spatialeval.pipeline.settings import speed_settings

if TYPE_CHECKING:
    from spatialeval.pipeline.run.prepare import StageStatus

# Top-level settings that never change a number (speed, slicing, where files go).
SPEED_SETTINGS = speed_settings(RunSettings)
# Provenance entries that describe how fast or where a stage ran, not what it computed.
SPEED_PROVENANCE = ("device", "batch_size")


def run_identity(config: dict[str, Any], stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What makes two runs' rows interchangeable: the settings that change numbers and each stage's
    provenance (checkpoint hash, models), without what only changes speed, outputs or the slice."""
    settings = {}
    for key, value in config.items():
        if key in SPEED_SETTINGS:
            continue
        if isinstance(value, dict):
            if key not in stages:
                continue  # settings of a stage that was not asked for cannot change any number
            speed = _stage_speed_settings(key)
            value = {k: v for k, v in value.items() if k not in speed}
        settings[key] = value
    provenance = {
        name: {k: v for k, v in status.items() if k not in SPEED_PROVENANCE} for name, status in stages.items()
    }
    return {"config": settings, "stages": provenance}


def _stage_speed_settings(name: str) -> tuple[str, ...]:
    try:
        return tuple(stage_class(name).speed_settings)
    except Exception:  # an unknown stage in an old summary: compare everything
        return ()


def identity_fingerprint(identity: dict[str, Any]) -> str:
    """A short hash of a :func:`run_identity`: equal exactly when the identities are."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _identity(config: EvalConfig, statuses: dict[str, StageStatus]) -> dict[str, Any]:
    return run_identity(config.to_dict(), {n: s.as_dict() for n, s in statuses.items()})


def fingerprint(config: EvalConfig, statuses: dict[str, StageStatus]) -> str:
    """The fingerprint of a run about to start with ``config`` and its prepared stages."""
    return identity_fingerprint(_identity(config, statuses))


def check_run_marker(out_dir: Path, config: EvalConfig, statuses: dict[str, StageStatus]) -> None:
    """Bind ``out_dir`` to this run's fingerprint (``run.json``); refuse one holding another run's rows."""
    marker = out_dir / "run.json"
    identity = _identity(config, statuses)
    current = identity_fingerprint(identity)
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
        except (json.JSONDecodeError, AttributeError):
            previous = None
        if previous == identity_fingerprint(legacy_identity(identity)) != current:
            # written before the renames (spatialeval.names): the same settings under their old names
            note_renamed("run.json fingerprint (old setting names)", "the current names", str(marker))
            atomic_write_text(marker, json.dumps({"fingerprint": current}) + "\n")
        elif previous != current:
            raise UsageError(
                f"{out_dir} holds results of a run with other settings or models; "
                "choose another --out directory or delete it"
            )
    else:
        atomic_write_text(marker, json.dumps({"fingerprint": current}) + "\n")
