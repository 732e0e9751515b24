"""Another valid value of a declared setting, derived from its declaration (kind, choices, metavar).

Shared by the tests that vary settings: ``tests/test_speed_settings.py`` (one setting at a time) and
``tests/test_conformance.py`` (every speed-only setting at once).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from spatialeval.pipeline.settings import choices_of, kind_of


def alternative_value(item: dataclasses.Field, default: Any, scratch: Path) -> Any | None:
    """A valid value of ``item`` other than ``default``; None when the declaration gives no generic one.

    Paths get a fresh name under ``scratch``; speed-only integers drop to 1 (the smallest batch or
    chunk, the most different from a default above 1).
    """
    choices = choices_of(item)
    kind = kind_of(item)
    if item.metadata.get("metavar") in ("PATH", "DIR", "FILE") or item.name == "cache_dir":
        return str(Path(scratch) / f"alt_{item.name}")
    if item.name == "device":
        return "cpu"
    if choices and kind != "list":
        return next((c for c in choices if c != default), None)
    if kind == "bool":
        return not default
    if kind == "int":
        return 1 if item.metadata.get("affects_numbers") is False and default > 1 else default * 2 or 1
    if kind == "float":
        return (default or 1.0) * 0.5
    return None
