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


@dataclass(frozen=True)
class Rule:
    """A setting's rule: ``test(value)`` must hold; ``text`` completes "must ..." in the error message;
    ``invalid`` are values that break it (a conformance test feeds them to every setting)."""

    test: Callable[[Any], bool]
    text: str
    invalid: tuple = ()

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False


def positive(invalid: tuple = (0, -1)) -> Rule:
    """> 0."""
    return Rule(lambda v: v > 0, "be > 0", invalid)


def at_least(low: float, invalid: tuple | None = None) -> Rule:
    """>= ``low``."""
    return Rule(lambda v: v >= low, f"be >= {low:g}", invalid if invalid is not None else (low - 1,))


def in_range(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Rule:
    """Within [low, high] (``low_open``/``high_open``: that end excluded)."""
    text = f"lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    invalid = (low - 1, high + 1) + ((low,) if low_open else ()) + ((high,) if high_open else ())
    return Rule(lambda v: (low < v if low_open else low <= v) and (v < high if high_open else v <= high), text, invalid)


def non_empty() -> Rule:
    """A path or name that is not blank (null means "none", "" would be read as the current directory)."""
    return Rule(lambda v: v.strip() != "", "not be empty (use null for none)", ("", "  "))


def setting(
    default: Any = MISSING,
    *,
    default_factory: Callable[[], Any] | Any = MISSING,
    help: str = "",
    cli: str | None = None,
    choices: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    affects_numbers: bool = True,
    metavar: str | None = None,
    kind: str | None = None,
    check: Rule | Iterable[Rule] | None = None,
) -> Any:
    """A dataclass field with the metadata the config tree and CLI are built from.

    ``cli``: the flag that sets it on ``spatialeval run`` (every setting is also reachable with
    ``--set section.name=value``); ``choices``: allowed values, or a callable returning them (read
    lazily, e.g. the names of registered backends); ``affects_numbers=False`` marks settings that
    only change speed or where files go, which a resumed run or a merge may change; ``kind`` forces
    the CLI parser type (``int``, ``float``, ``bool``, ``list``, ``str``) when the annotation is ambiguous;
    ``check``: the rule(s) a value must obey (:func:`positive`, :func:`in_range`, a :class:`Rule`),
    enforced with the value's type when the configuration is built (:func:`check_settings`).
    """
    rules = () if check is None else ((check,) if isinstance(check, Rule) else tuple(check))
    metadata = {
        "help": help,
        "cli": cli,
        "choices": choices,
        "affects_numbers": affects_numbers,
        "metavar": metavar,
        "kind": kind,
        "rules": rules,
    }
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


def optional(item: dataclasses.Field) -> bool:
    """Whether None is a valid value (the annotation says ``| None`` or the default is None)."""
    annotation = item.type if isinstance(item.type, str) else str(item.type)
    return "None" in annotation or item.default is None


YAML_TRUE, YAML_FALSE = ("y", "yes", "on", "true"), ("n", "no", "off", "false")
_BOOL_WORDS = {**{w: True for w in (*YAML_TRUE, "1")}, **{w: False for w in (*YAML_FALSE, "0")}}


def parse_value(item: dataclasses.Field, raw: str) -> Any:
    """Command-line text for ``item`` parsed as its declared kind, not as YAML.

    str settings keep the text (``on`` stays ``"on"``); bool takes true/false/yes/no/on/off/1/0;
    int and float are parsed strictly; list takes a comma list or a YAML list; ``null``/``none``
    (any case) is None for optional settings.

    Example:
        >>> from dataclasses import fields
        >>> from spatialeval.pipeline.config import RunSettings
        >>> by_name = {f.name: f for f in fields(RunSettings)}
        >>> parse_value(by_name["device_kernels"], "on"), parse_value(by_name["tf32"], "off")
        ('on', False)
        >>> parse_value(by_name["stages"], "ffe, cues"), parse_value(by_name["shard"], "null")
        (['ffe', 'cues'], None)
    """
    text = raw.strip()
    if optional(item) and text.lower() in ("null", "none", "~"):
        return None
    kind = kind_of(item)
    if kind == "str":
        return raw
    if kind == "bool":
        if text.lower() not in _BOOL_WORDS:
            raise ValueError(f"{item.name}: expected true/false (yes/no, on/off, 1/0), got {raw!r}")
        return _BOOL_WORDS[text.lower()]
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise ValueError(
                f"{item.name}: expected {'an integer' if kind == 'int' else 'a number'}, got {raw!r}"
            ) from None
    if text.startswith("["):
        import yaml

        return yaml.safe_load(text)
    return [part.strip() for part in text.split(",") if part.strip()]


def coerce_value(item: dataclasses.Field, value: Any) -> Any:
    """A value from YAML (a --config file) brought to the declared kind where that is unambiguous.

    YAML 1.1 reads ``on``/``off``/``yes``/``no`` as booleans; a str setting whose choices hold
    exactly one spelling of that boolean gets that choice back (``device_kernels: on`` → ``"on"``).
    An int given to a float setting becomes a float (``threshold: 1`` and ``1.0`` are one setting).
    """
    kind = kind_of(item)
    if kind == "str" and isinstance(value, bool):
        allowed = choices_of(item) or []
        spellings = [c for c in allowed if str(c).lower() in (YAML_TRUE if value else YAML_FALSE)]
        if len(spellings) == 1:
            return spellings[0]
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _type_problem(item: dataclasses.Field, value: Any) -> str | None:
    if value is None:
        return None if optional(item) else "be given (null is not allowed)"
    kind = kind_of(item)
    if isinstance(value, bool) and kind != "bool":
        return (
            f"be {'a string' if kind == 'str' else 'a ' + kind}, not the boolean {value} (YAML reads "
            "on/off/yes/no as booleans: quote the value)"
        )
    expected = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,), "list": (list,)}[kind]
    if not isinstance(value, expected):
        return (
            f"be {'a string' if kind == 'str' else 'an integer' if kind == 'int' else 'a ' + kind}, "
            f"not {type(value).__name__} {value!r}"
        )
    if kind == "float" and value != value:
        return "be a number, not NaN"
    if kind == "list" and not all(isinstance(v, str) for v in value):
        return "be a list of names"
    return None


def check_settings(settings: Any, where: str) -> None:
    """Raise ValueError naming the setting and its rule for any value of the wrong type, outside its
    choices or breaking a declared rule (None is allowed for optional settings)."""
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        problem = _type_problem(item, value)
        if problem:
            raise ValueError(f"{where}.{item.name} must {problem}")
        if value is None:
            continue
        for rule in item.metadata.get("rules", ()):
            values = value if isinstance(value, list) else [value]
            if not all(rule(v) for v in values):
                raise ValueError(f"{where}.{item.name} must {rule.text}, got {value!r}")
    check_choices(settings, where)


def invalid_examples(item: dataclasses.Field) -> list[Any]:
    """Values that :func:`check_settings` must refuse for ``item``: its rules' examples, a value outside
    its choices, and a value of the wrong type (the conformance tests feed each one in)."""
    examples = [value for rule in item.metadata.get("rules", ()) for value in rule.invalid]
    if item.metadata.get("choices") is not None:
        examples.append(["no-such-choice"] if kind_of(item) == "list" else "no-such-choice")
    examples.append({"bool": "yes please", "int": 2.5, "float": "fast", "str": 3, "list": 3}[kind_of(item)])
    if not optional(item):
        examples.append(None)
    return examples


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
