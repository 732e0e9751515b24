"""Whether a run and its baseline were made under the same settings: a diff of their run identities.

Each summary stores ``identity`` — the settings that change numbers and each stage's provenance
(models, checkpoint SHA-256, backends, normaliser), exactly what a resumed run compares
(:func:`spatialeval.pipeline.run.identity.run_identity`). A gate comparing two runs made under
different identities compares different measurements, so ``spatialeval check`` refuses it unless
told otherwise. Only what both runs computed is compared: a stage that one of them did not run
shows up as missing metrics instead. File locations are not compared (the files' content is:
``checkpoint_sha256`` in the provenance, the reference texts per item), so a baseline made on
another machine still matches.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

#: Selection settings: which metrics were computed, not how (the metric rows compare that).
SELECTION = ("stages", "metrics")
#: Provenance entries that say whether/why a stage ran, not how it computed.
STATUS_KEYS = ("status", "reason")
PATH_METAVARS = ("PATH", "DIR", "FILE")


def _path_settings() -> dict[str, set[str]]:
    """Per config section (``""``: the run), the settings that name a file or folder."""
    from spatialeval.pipeline.config import RunSettings
    from spatialeval.pipeline.registry import stage_classes

    def paths(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls) if f.metadata.get("metavar") in PATH_METAVARS}

    found = {"": paths(RunSettings)}
    for name, cls in stage_classes().items():
        found[name] = paths(cls.Settings)
    return found


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _flatten(value: Any, prefix: str, skip: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if key in skip or f"{key}_sha256" in value:  # a file is compared by its hash, not its location
            continue
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def identity_differences(results: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str] | None:
    """``"ffe.threshold: 0.2 → 0.9"`` for every setting or provenance entry that differs between the
    baseline and the results (baseline value first); None when either summary records no identity.

    Example:
        >>> base = {"identity": {"config": {"tf32": False, "ffe": {"threshold": 0.2}}, "stages": {"ffe": {}}}}
        >>> new = {"identity": {"config": {"tf32": False, "ffe": {"threshold": 0.9}}, "stages": {"ffe": {}}}}
        >>> identity_differences(new, base)
        ['ffe.threshold: 0.2 → 0.9']
    """
    ours, theirs = results.get("identity"), baseline.get("identity")
    if not isinstance(ours, Mapping) or not isinstance(theirs, Mapping):
        return None
    paths = _path_settings()

    def ran(identity) -> set[str]:
        return {
            name
            for name, status in (identity.get("stages") or {}).items()
            if isinstance(status, Mapping) and status.get("status", "ran") == "ran"
        }

    common = ran(ours) & ran(theirs)  # a stage only one of them ran shows up as missing metrics instead
    flat_ours: dict[str, Any] = {}
    flat_theirs: dict[str, Any] = {}
    for identity, flat in ((ours, flat_ours), (theirs, flat_theirs)):
        config = identity.get("config") or {}
        for key, value in config.items():
            if key in SELECTION or key in paths.get("", ()):
                continue
            if isinstance(value, Mapping):
                if key in common:
                    flat.update(_flatten(value, key, paths.get(key, set())))
            else:
                flat[key] = value
        for stage in common:
            provenance = identity["stages"][stage]
            flat.update(_flatten(provenance, f"{stage} provenance", set(STATUS_KEYS)))
    missing = object()
    differences = []
    for key in sorted(set(flat_ours) | set(flat_theirs)):
        before, after = flat_theirs.get(key, missing), flat_ours.get(key, missing)
        if before != after:
            differences.append(
                f"{key}: {'(absent)' if before is missing else _show(before)} → "
                f"{'(absent)' if after is missing else _show(after)}"
            )
    return differences
