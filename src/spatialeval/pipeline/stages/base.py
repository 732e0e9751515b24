"""The one extension point for metrics: a :class:`Stage` turns loaded pairs into result fields.

A stage declares the per-item fields it writes, says in :meth:`Stage.setup` whether it
can run here (a missing optional backend or checkpoint is a *skip with a reason*, never a
crash), describes the model/settings that produced its numbers, and computes a batch
of items. Errors on one item are caught and recorded against that item only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from spatialeval.io.audio import AudioClip
from spatialeval.io.pairing import Pair


DOWNMIX_RULE = "mean of channels, resampled to {rate} Hz with scipy.signal.resample_poly"


class StageUnavailable(RuntimeError):
    """Raised by :meth:`Stage.setup` when the stage cannot run here; the message says why and how to fix it."""


@dataclass
class LoadedPair:
    """A pair with both sides decoded once, shared by every stage.

    ``cache`` holds derived signals (resampled, downmixed) keyed by a stage-chosen
    name, so two stages needing the same conversion do it once.
    """

    pair: Pair
    gt: AudioClip
    infer: AudioClip
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.pair.id

    def derived(self, key: str, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def mono(self, side: str, rate: int):
        """The ``side`` ("gt" or "infer") clip as mono (mean of channels) at ``rate``, shared by all stages."""
        from spatialeval.features.resample import downmix_resample

        clip = getattr(self, side)
        return self.derived(f"mono{rate // 1000}k:{side}", lambda: downmix_resample(clip.samples, clip.sample_rate, rate))


class Stage:
    """Base class. Subclasses set ``name`` and ``fields`` and implement :meth:`compute_one`
    (or :meth:`compute_batch` when they batch across items)."""

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config):
        self.config = config

    def setup(self) -> None:
        """Load models; raise :class:`StageUnavailable` with an actionable message if impossible."""

    def describe(self) -> dict[str, Any]:
        """Provenance for the summary: model name, checkpoint hash, settings, downmix rule."""
        return {}

    def compute_one(self, item: LoadedPair) -> dict[str, Any]:
        raise NotImplementedError

    def summarize(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra summary values beyond the per-field means (e.g. corpus CER); rows are the successful items."""
        return {}

    def compute_batch(self, items: list[LoadedPair]) -> list[dict[str, Any] | Exception]:
        """Results in item order; an item that fails yields its exception instead of a dict."""
        results: list[dict[str, Any] | Exception] = []
        for item in items:
            try:
                results.append(self.compute_one(item))
            except Exception as exc:  # one bad item must never lose the others
                results.append(exc)
        return results
