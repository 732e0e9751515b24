"""Declaring settings once: a dataclass field carries its help text, CLI flag, allowed values and
whether it changes numbers; the configuration tree, the CLI and resume/merge read it from there.

Example (a stage's settings)::

    @dataclass
    class FFESettings:
        method: str = setting("dio", help="F0 tracker", cli="--ffe-method", choices=("dio", "harvest"))
        batch: int = setting(16, help="clips per call", affects_numbers=False)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field
from typing import Any


def setting(default: Any = MISSING, *, default_factory: Callable[[], Any] | Any = MISSING, help: str = "",
            cli: str | None = None, choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
            affects_numbers: bool = True, metavar: str | None = None, kind: str | None = None) -> Any:
    """A dataclass field with the metadata the config tree and CLI are built from.

    ``cli``: the flag that sets it on ``spatialeval run`` (every setting is also reachable with
    ``--set section.name=value``); ``choices``: allowed values, or a callable returning them (read
    lazily, e.g. the names of registered backends); ``affects_numbers=False`` marks settings that
    only change speed or where files go, which a resumed run or a merge may change; ``kind`` forces
    the CLI parser type (``int``, ``float``, ``bool``, ``list``, ``str``) when the annotation is ambiguous.
    """
    metadata = {"help": help, "cli": cli, "choices": choices, "affects_numbers": affects_numbers,
                "metavar": metavar, "kind": kind}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class NoSettings:
    """For stages without settings."""


def choices_of(item: dataclasses.Field) -> list[str] | None:
    choices = item.metadata.get("choices")
    if choices is None:
        return None
    return list(choices() if callable(choices) else choices)


def speed_settings(settings_cls: type) -> tuple[str, ...]:
    """Names of the settings that never change a number (``affects_numbers=False``)."""
    return tuple(f.name for f in dataclasses.fields(settings_cls) if f.metadata.get("affects_numbers") is False)


def kind_of(item: dataclasses.Field) -> str:
    """``bool``, ``int``, ``float``, ``list`` or ``str``: how the CLI parses the setting."""
    if item.metadata.get("kind"):
        return item.metadata["kind"]
    annotation = item.type if isinstance(item.type, str) else getattr(item.type, "__name__", str(item.type))
    for kind in ("bool", "list", "int", "float"):
        if annotation.split("|")[0].strip().startswith(kind):
            return kind
    return "str"


def check_choices(settings: Any, where: str) -> None:
    """Raise ValueError for a setting outside its declared choices (None is always allowed for optional ones)."""
    for item in dataclasses.fields(settings):
        allowed = choices_of(item)
        value = getattr(settings, item.name)
        if allowed is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"{where}.{item.name} must be one of {', '.join(map(str, allowed))}, not {bad[0]!r}")
