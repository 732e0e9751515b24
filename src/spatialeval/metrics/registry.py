"""Metric metadata: what a result field means and how every tool presents it.

In the spirit of VERSA's ``MetricMetadata``: each metric declares its direction, its unit and
display scale *per evaluation protocol*, what it needs (the gt audio, a reference text, a model
checkpoint), where it runs, what it depends on and where it comes from. The printed table, the
report and ``spatialeval check`` read presentation from here and nowhere else.

A :class:`MetricInfo` is declared by the stage that computes the metric
(:attr:`spatialeval.pipeline.stages.base.Stage.metrics`); the table of all metrics is
:data:`spatialeval.pipeline.registry.METRICS`. The per-item field names are a stable contract
(CI gates and notebooks read them); ``summary.json`` holds the mean of the per-item values
under the same names, in the stored (unscaled) unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The evaluation protocols (the one definition): isdrama = the released ISDrama definitions,
#: strict = their defects fixed. "Protocol" means only this (text normalisation has its own word).
PROTOCOLS = ("isdrama", "strict")
DEFAULT_PROTOCOL = "isdrama"

#: Degenerate generated clips (the gt is ordinary speech) for which every metric documents its outcome in
#: :attr:`MetricInfo.degenerate`. The conformance suite (``tests/test_conformance.py``) renders each one and
#: holds every registered metric to its declaration; ``docs/reliability.md``'s table is printed from them.
DEGENERATE_CASES: dict[str, str] = {
    "silent": "all-zero generated clip as long as the gt",
    "dc": "a constant 0.5 on both channels",
    "noise": "independent pink noise on each ear at -20 dBFS RMS, no speech",
    "clipped": "the gt x8, hard-clipped to +-1 (speech, heavily distorted)",
    "short": "the gt's first 0.2 s",
    "one_sample": "one sample of the gt",
    "long_gap": "the gt with 2 s of digital silence inserted in its middle",
}

#: What a declared outcome may say: ``unmeasurable`` (NaN with a reason), ``value:X`` (exactly X, e.g.
#: CER 1 for a silent generation), ``scored`` (a finite number: the definition applies as it stands; the
#: text after ``scored:`` says what it measures) or ``error`` (the item fails with a message).
OUTCOME_KINDS = ("unmeasurable", "value", "scored", "error")


#: Clips shorter than 20 ms are refused when decoded, so every metric shares this outcome for them.
TOO_SHORT_TO_LOAD = "error: clips shorter than 20 ms are refused when decoded (the item fails, exit 3)"


def degenerate_outcomes(default: str, **cases: str) -> dict[str, str]:
    """Every case of :data:`DEGENERATE_CASES` → ``cases[case]``, else ``default`` (one-sample clips: the loader's refusal).

    Example:
        >>> outcomes = degenerate_outcomes("scored", silent="unmeasurable")
        >>> outcomes["silent"], outcomes["noise"], outcomes["one_sample"].split(":")[0]
        ('unmeasurable', 'scored', 'error')
    """
    unknown = set(cases) - set(DEGENERATE_CASES)
    if unknown:
        raise ValueError(
            f"unknown degenerate case(s) {', '.join(sorted(unknown))}; known: {', '.join(DEGENERATE_CASES)}"
        )
    for outcome in (default, *cases.values()):
        parse_outcome(outcome)
    fallback = {"one_sample": TOO_SHORT_TO_LOAD}
    return {case: cases.get(case, fallback.get(case, default)) for case in DEGENERATE_CASES}


def parse_outcome(text: str) -> tuple[str, float | None, str]:
    """``(kind, value, note)`` of a declared degenerate outcome.

    Example:
        >>> parse_outcome("value:1.0"), parse_outcome("scored: the error against zero cues")
        (('value', 1.0, ''), ('scored', None, 'the error against zero cues'))
    """
    kind, _, rest = text.partition(":")
    kind, rest = kind.strip(), rest.strip()
    if kind not in OUTCOME_KINDS:
        raise ValueError(f"degenerate outcome {text!r}: the kind must be one of {', '.join(OUTCOME_KINDS)}")
    if kind == "value":
        number, _, note = rest.partition(" ")
        return kind, float(number), note.strip()
    return kind, None, rest


def _per_protocol(value, protocol: str | None):
    if isinstance(value, Mapping):
        return value.get(protocol or DEFAULT_PROTOCOL, value.get(DEFAULT_PROTOCOL))
    return value


@dataclass(frozen=True)
class MetricInfo:
    """Everything users and tools need to know about one per-item metric.

    ``unit`` and ``scale`` are a single value or a mapping ``protocol → value`` (e.g. ISDrama's
    IPD MAE is printed ×100 in its own units under ``isdrama`` and in radians under ``strict``).

    Example:
        >>> ipd = MetricInfo("ipd_mae", "IPD MAE", "interaural", False, "IPD error",
        ...                  unit={"isdrama": "ISDrama units", "strict": "rad"}, scale={"isdrama": 100.0, "strict": 1.0})
        >>> ipd.label_for("isdrama"), ipd.label_for("strict"), ipd.unit_for("strict")
        ('IPD MAE (x100)', 'IPD MAE [rad]', 'rad')
        >>> ipd.direction
        'lower'
    """

    name: str
    label: str
    stage: str
    higher_is_better: bool
    description: str
    unit: str | Mapping[str, str] = ""
    scale: float | Mapping[str, float] = 1.0
    requires_reference: bool = True  # needs the paired ground-truth audio
    requires_text: bool = False  # needs a reference transcript (or falls back to ASR of the gt)
    requires_checkpoint: bool = False  # needs model weights that are not shipped (e.g. BAT's finetuned.pth)
    devices: tuple[str, ...] = ("cpu",)  # where its computation can run
    dependencies: tuple[str, ...] = ()  # optional packages it needs beyond the core install
    reference: str = ""  # where the definition comes from
    flag: bool = False  # a 0/1 indicator (its mean is a rate)
    #: case of :data:`DEGENERATE_CASES` → documented outcome (see :data:`OUTCOME_KINDS`); the conformance
    #: suite fails for a registered metric that leaves a case undeclared.
    degenerate: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    def unit_for(self, protocol: str | None = None) -> str:
        return _per_protocol(self.unit, protocol) or ""

    def scale_for(self, protocol: str | None = None) -> float:
        return float(_per_protocol(self.scale, protocol) or 1.0)

    def label_for(self, protocol: str | None = None) -> str:
        """The printed label: ``LABEL (xSCALE)`` when scaled, ``LABEL [unit]`` when the unit depends on the protocol."""
        scale = self.scale_for(protocol)
        if scale != 1.0:
            return f"{self.label} (x{scale:g})"
        if isinstance(self.unit, Mapping) and self.unit_for(protocol):
            return f"{self.label} [{self.unit_for(protocol)}]"
        return self.label

    def as_dict(self, protocol: str | None = None) -> dict:
        """Plain values for listings (``spatialeval metrics``) and machine-readable output."""
        return {
            "name": self.name,
            "label": self.label,
            "stage": self.stage,
            "better": self.direction,
            "unit": self.unit_for(protocol),
            "scale": self.scale_for(protocol),
            "description": self.description,
            "requires_reference": self.requires_reference,
            "requires_text": self.requires_text,
            "requires_checkpoint": self.requires_checkpoint,
            "devices": list(self.devices),
            "dependencies": list(self.dependencies),
            "reference": self.reference,
            "degenerate": dict(self.degenerate),
        }
