"""Command-line options derived from the settings' declarations (the CLI only hands them to argparse).

Every setting declared with ``setting(..., cli="--flag")`` — in :class:`RunSettings` or in a registered
stage's ``Settings`` — becomes an option of ``spatialeval run``; the values given become a nested
override of the configuration. Every other setting is reachable with ``--set section.name=VALUE``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spatialeval.pipeline.config import RunSettings
from spatialeval.pipeline.registry import stage_classes
from spatialeval.pipeline.settings import choices_of, kind_of


@dataclass(frozen=True)
class Option:
    """One generated option: its flag, the config path it sets, how to parse it, its choices and help."""

    flag: str
    path: tuple[str, ...]
    kind: str
    choices: tuple[str, ...] | None
    help: str
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return "set__" + "__".join(self.path)


def _options_of(settings_cls: type, prefix: tuple[str, ...]) -> list[Option]:
    options = []
    for item in dataclasses.fields(settings_cls):
        flag = item.metadata.get("cli")
        if not flag:
            continue
        choices = choices_of(item)
        options.append(
            Option(
                flag,
                (*prefix, item.name),
                kind_of(item),
                tuple(choices) if choices else None,
                item.metadata.get("help", ""),
                item.metadata.get("metavar"),
            )
        )
    return options


def run_options() -> list[Option]:
    """The generated options of ``spatialeval run``: run settings first, then each stage's, in registry order."""
    options = _options_of(RunSettings, ())
    for name, cls in stage_classes().items():
        options += _options_of(cls.Settings, (name,))
    seen: dict[str, Option] = {}
    for option in options:
        if option.flag in seen:
            raise ValueError(
                f"two settings claim the option {option.flag}: {'.'.join(seen[option.flag].path)} "
                f"and {'.'.join(option.path)}"
            )
        seen[option.flag] = option
    return options


def overrides(values: Mapping[str, Any], options: list[Option]) -> dict[str, Any]:
    """The given options (by ``dest``) as a nested override; options left unset (None, False) are skipped."""
    out: dict[str, Any] = {}
    for option in options:
        value = values.get(option.dest)
        if value is None or value is False:
            continue
        node = out
        for key in option.path[:-1]:
            node = node.setdefault(key, {})
        node[option.path[-1]] = value
    return out


def merge_nested(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``extra`` one level deep (sections merge, values replace)."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value
    return base
