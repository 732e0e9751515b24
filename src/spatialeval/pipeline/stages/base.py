"""The one extension point for metrics: a :class:`Stage` turns loaded pairs into result fields.

A stage declares the per-item fields it writes, says in :meth:`Stage.setup` whether it
can run here (a missing optional backend or checkpoint is a *skip with a reason*, never a
crash), describes the model/settings that produced its numbers, and computes a batch
of items. Errors on one item are caught and recorded against that item only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from spatialeval.errors import StageUnavailable  # noqa: F401  (re-exported)
from spatialeval.io.audio import AudioClip
from spatialeval.io.pairing import Pair
from spatialeval.metrics.registry import MetricInfo
from spatialeval.names import note_renamed
from spatialeval.pipeline.presentation import ReportView, Section, SummaryLine
from spatialeval.pipeline.settings import NoSettings, speed_settings

DOWNMIX_RULE = "mean of channels, resampled to {rate} Hz with scipy.signal.resample_poly"


@dataclass
class LoadedPair:
    """A pair with both sides decoded once, shared by every stage.

    ``cache`` holds derived signals (resampled, downmixed) keyed by a stage-chosen
    name, so two stages needing the same conversion do it once.
    """

    pair: Pair
    gt: AudioClip
    gen: AudioClip
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.pair.id

    @property
    def infer(self) -> AudioClip:
        """Deprecated name of :attr:`gen` (read with a note; see :mod:`spatialeval.names`)."""
        note_renamed("LoadedPair.infer", "LoadedPair.gen", "a stage")
        return self.gen

    def derived(self, key: str, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def mono(self, side: str, rate: int):
        """The ``side`` ("gt" or "gen") clip as mono (mean of channels) at ``rate``, shared by all stages."""
        from spatialeval.features.resample import downmix_resample

        clip = getattr(self, side)
        return self.derived(
            f"mono{rate // 1000}k:{side}", lambda: downmix_resample(clip.samples, clip.sample_rate, rate)
        )


@dataclass
class RunContext:
    """Where a run writes: stages that save per-item files (``--save-embeddings``) write below ``out_dir``."""

    out_dir: Path | None = None


class Stage:
    """Base class: one stage computes one family of metrics and declares everything about itself.

    Subclasses set:

    * ``name`` — the stage's name (its config section, ``--stages`` entry, registry key);
    * ``metrics`` — a :class:`~spatialeval.metrics.registry.MetricInfo` per per-item metric field;
      ``fields`` (the field names) is derived from it;
    * ``Settings`` — a dataclass of its settings built with
      :func:`spatialeval.pipeline.settings.setting` (help, CLI flag, choices, whether it changes
      numbers); ``speed_settings`` is derived from it;
    * ``extra_fields`` — other per-item fields it writes (transcripts, estimates, counts);
    * ``identity_fields`` — the keys its :meth:`input_identity` returns (stored in each row, so a
      resumed run can tell whether those inputs changed);

    and implement :meth:`compute_one` (or :meth:`compute_batch` when it batches across items),
    optionally :meth:`setup`, :meth:`describe`, :meth:`summarize` and :meth:`input_identity`.

    What the report and the console show beyond the per-metric table is declared here too (the
    report and the console name no stage): ``protocol_notes`` and ``item_ranking`` (below),
    :meth:`report_tables` and :meth:`report_figures` (report sections from the stage's own rows),
    :meth:`summary_lines` and :meth:`summary_notes` (console lines from its :meth:`summarize` values).

    A result dict holds the stage's ``fields`` (metrics: a number, or NaN when the metric
    cannot be measured on this item), any of its declared ``extra_fields``, and optionally
    ``"unmeasurable": {field: reason}`` for every metric left NaN on purpose. A metric that
    comes back NaN without a reason is counted as unmeasurable with a generic reason, so no
    value silently leaves a mean.

    **Selection.** ``selected`` is the set of this stage's metrics the run asked for (``--metrics``):
    all of ``fields`` unless ``config.metrics`` names some of them, or the ``selected`` argument of the
    constructor says otherwise. A stage whose metrics need separable work reads it (``self.wants(name)``)
    in :meth:`setup` and :meth:`compute_one` and skips what only unasked metrics need (a model it would
    not use, a scorer). Whatever a stage returns, the run keeps only the selected metrics: an unasked
    metric is absent from the row, the summary and ``items.csv`` (never a number, never
    "unmeasurable"). The selection is part of the run's identity (``config.metrics``), so a resumed
    run or a merge never mixes rows made under different selections.
    """

    name: ClassVar[str] = ""
    metrics: ClassVar[tuple[MetricInfo, ...]] = ()
    Settings: ClassVar[type] = NoSettings
    extra_fields: ClassVar[tuple[str, ...]] = ()
    identity_fields: ClassVar[tuple[str, ...]] = ()
    #: Derived: the per-item metric field names, in declaration order.
    fields: ClassVar[tuple[str, ...]] = ()
    #: Derived: settings of ``config.<name>`` that change speed or outputs on disk but never a
    #: number (a resumed run or a merge may differ in them).
    speed_settings: ClassVar[tuple[str, ...]] = ()
    #: Settings that run the same code on a small budget (e.g. fewer analysis frames), for suites that
    #: evaluate the stage many times (``tests/test_conformance.py``); never used by a normal run.
    light_settings: ClassVar[dict[str, Any]] = {}
    #: A sentence per evaluation protocol (``config.protocol``) on how this stage's numbers are defined
    #: under it; the report prints it under its title.
    protocol_notes: ClassVar[dict[str, str]] = {}
    #: Metrics whose worst items the report draws per-item figures of (alternating between them), unless
    #: ``--items`` names them; the first registered stage with values of its ranking metrics decides.
    item_ranking: ClassVar[tuple[str, ...]] = ()
    #: Keyword arguments of :func:`~spatialeval.pipeline.evaluate.evaluate` that stand for one of
    #: this stage's settings (keyword → setting name), e.g. ``checkpoint=``; None or False sets nothing.
    api_shorthands: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "metrics" in cls.__dict__:
            cls.fields = tuple(info.name for info in cls.metrics)
        cls.speed_settings = speed_settings(cls.Settings)

    def __init__(self, config, context: RunContext | None = None, selected=None):
        from spatialeval.pipeline.cache import FeatureCache

        self.config = config
        self.context = context or RunContext()
        self.cache = FeatureCache(getattr(config, "cache_dir", None))
        self._selected = self.selection(config, selected)

    @property
    def selected(self) -> frozenset[str]:
        """The names of this stage's metrics the run computes (see the class docstring); all of ``fields`` for a
        stage whose ``__init__`` did not call this one's."""
        chosen = self.__dict__.get("_selected")
        return frozenset(self.fields) if chosen is None else chosen

    @classmethod
    def selection(cls, config, selected=None) -> frozenset[str]:
        """The metrics of this stage a run computes: ``selected`` when given, else those of ``config.metrics``
        (``--metrics``) that are this stage's, else all of its ``fields`` (no selection, or one naming only
        other stages' metrics: a stage named with ``--stages``). ValueError on an empty or foreign set."""
        if selected is None:
            named = [name for name in (getattr(config, "metrics", None) or ()) if name in cls.fields]
            return frozenset(named or cls.fields)
        chosen = frozenset(selected)
        foreign = sorted(chosen - set(cls.fields))
        if foreign or not chosen:
            raise ValueError(
                f"stage {cls.name}: selected must name some of its metrics ({', '.join(cls.fields)}), "
                f"got {', '.join(foreign) if foreign else 'none'}"
            )
        return chosen

    @property
    def selected_fields(self) -> tuple[str, ...]:
        """The selected metric fields in declaration order: the metric columns this run's rows hold."""
        return tuple(name for name in self.fields if name in self.selected)

    def wants(self, *names: str) -> bool:
        """Whether any of the metrics ``names`` was asked for (work only unasked metrics need is skipped)."""
        return any(name in self.selected for name in names)

    @property
    def settings(self):
        """This stage's section of the configuration."""
        return getattr(self.config, self.name)

    def input_identity(self, pair: Pair) -> dict[str, str | None]:
        """Inputs besides the two audio files that this stage's numbers depend on (e.g. the
        reference text), as ``{name: sha256 or None}`` with names from ``identity_fields``; a
        resumed row is reused only if they match."""
        return {}

    def setup(self) -> None:
        """Load models; raise :class:`StageUnavailable` with an actionable message if impossible."""

    def unavailable_metrics(self) -> dict[str, str]:
        """After :meth:`setup`: metrics this stage will leave unmeasurable on every item, with the reason
        (e.g. a track that needs a checkpoint). A run that names one of them with ``--metrics`` stops."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Provenance for the summary: model name, checkpoint hash, settings, downmix rule."""
        return {}

    def autocast_mode(self) -> str | None:
        """The autocast dtype (``"bf16"``/``"fp16"``) this stage's model runs under, or None (float32);
        the summary's ``precision`` entry names it. Read from the settings alone: a merge of shards
        asks stages that were never set up."""
        return None

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

    # --- presentation: plain data (spatialeval.pipeline.presentation) that the report and console render

    @classmethod
    def report_tables(cls, view: ReportView) -> list[Section]:
        """Report sections of tables and text built from ``view.rows`` (this stage's fields), placed after
        the run's own tables (failures, unmeasurable, unpaired files). Return ``[]`` when the rows hold
        nothing of this stage. Called for every registered stage, with or without matplotlib."""
        return []

    @classmethod
    def report_figures(cls, view: ReportView) -> list[Section]:
        """Report sections with figures (:class:`~spatialeval.pipeline.presentation.Figure`, PNG bytes),
        placed after the per-item distributions; called only when matplotlib is installed."""
        return []

    @classmethod
    def summary_lines(cls, extra: dict[str, Any], protocol: str | None) -> list[SummaryLine]:
        """Rows under the console's per-metric table for corpus-level values this stage's :meth:`summarize`
        put in ``extra`` (the summary's ``"extra"``); ``[]`` when they are absent."""
        return []

    @classmethod
    def summary_notes(cls, extra: dict[str, Any]) -> list[str]:
        """Console lines on what a mean hides (e.g. mixed reference kinds), from the summary's ``"extra"``."""
        return []
