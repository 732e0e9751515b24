"""Registries of model backends: speech recognisers (CER), speaker encoders (SIM) and spatial encoders
(ANG/Dis-style embedding cosines).

A backend is a :class:`~spatialeval.models.backend.Backend` subclass (load / describe / one and batch;
loading only from local paths). It is registered by name with a ``module:Class`` path and imported on first use,
so the CLI's choices come from here without importing any model package. Adding a backend is one
class plus one :meth:`BackendRegistry.register` call (or a line in the built-in table below, or an
entry point in the group ``spatialeval.backends.<kind>`` with ``kind`` ``asr``, ``speaker`` or
``spatial``).
"""

from __future__ import annotations

import functools
from importlib import import_module
from importlib.metadata import entry_points

from spatialeval.errors import StageUnavailable


@functools.cache
def installed_entry_points():
    """Every installed package's entry points, read once per process: each ``entry_points(group=...)`` call
    walks all installed distributions' metadata again (about 0.1 s each here, and a run consults four
    registries), while selecting groups from one reading gives the same entry points."""
    return entry_points()


class LazyRegistry:
    """Name → class, each registered as the class or its ``"module:Class"`` path (imported on first
    use), plus the entry points of ``group`` (read on first look-up; a name registered here wins).

    The backend registries below and the stage registry (:mod:`spatialeval.pipeline.registry`) are
    built on it; each raises its own error for an unknown name.
    """

    def __init__(self, group: str, builtins: dict[str, str]):
        self.group = group
        self._entries: dict[str, str | type] = dict(builtins)
        self._entry_points_loaded = False

    def _load_entry_points(self) -> None:
        if not self._entry_points_loaded:
            self._entry_points_loaded = True
            for point in installed_entry_points().select(group=self.group):
                self._entries.setdefault(point.name, point.value)

    def register(self, name: str, target: str | type) -> None:
        """Register ``target`` (a class, or its ``"module:Class"`` path) as ``name``."""
        self._entries[name] = target

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        self._load_entry_points()
        return list(self._entries)

    def load(self, name: str) -> type:
        """The class registered as ``name`` (a registered name: check :meth:`names` first), imported on first use."""
        self._load_entry_points()
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, class_name = target.partition(":")
            target = getattr(import_module(module_name), class_name)
            self._entries[name] = target
        return target


class BackendRegistry(LazyRegistry):
    """Name → backend class for one kind of model; unknown names raise :class:`StageUnavailable`."""

    def __init__(self, kind: str, label: str, builtins: dict[str, str]):
        super().__init__(f"spatialeval.backends.{kind}", builtins)
        self.kind, self.label = kind, label

    def get(self, name: str) -> type:
        """The backend class registered as ``name`` (imported on first use)."""
        known = self.names()
        if name not in known:
            raise StageUnavailable(f"unknown {self.label} backend {name!r}; choose one of {', '.join(known)}")
        return self.load(name)

    def build(self, settings, device: str = "cpu", name: str | None = None):
        """Backend ``name`` (default ``settings.backend``) loaded from its stage's ``settings`` on ``device``
        (:meth:`~spatialeval.models.backend.Backend.load`: the CPU when the backend cannot use ``device``).

        This is the loader the stages use, and the one for notebooks, e.g.
        ``SPEAKER_BACKENDS.build(SIMSettings(backend="wavlm-ecapa", model_path=...))``.
        Raises StageUnavailable for an unknown name or a backend that cannot run here."""
        return self.get(name or settings.backend).load(settings, device)


ASR_BACKENDS = BackendRegistry(
    "asr",
    "CER",
    {
        "pocketsphinx": "spatialeval.models.asr:PocketSphinxASR",
        "whisper": "spatialeval.models.asr:WhisperASR",
        "faster-whisper": "spatialeval.models.asr:FasterWhisperASR",
        "paraformer-zh": "spatialeval.models.asr:ParaformerASR",
    },
)
SPEAKER_BACKENDS = BackendRegistry(
    "speaker",
    "SIM",
    {
        "resemblyzer": "spatialeval.models.speaker:ResemblyzerEncoder",
        "wavlm": "spatialeval.models.speaker:WavLMEncoder",
        "wavlm-ecapa": "spatialeval.models.speaker:WavLMECAPAEncoder",
    },
)
SPATIAL_ENCODERS = BackendRegistry(
    "spatial",
    "spatial encoder",
    {
        "bat": "spatialeval.models.spatial_encoder:BATEncoder",
    },
)
