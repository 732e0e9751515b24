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
from dataclasses import dataclass

DEFAULT_PROTOCOL = "isdrama"


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
    requires_reference: bool = True      # needs the paired ground-truth audio
    requires_text: bool = False          # needs a reference transcript (or falls back to ASR of the gt)
    requires_checkpoint: bool = False    # needs model weights that are not shipped (e.g. BAT's finetuned.pth)
    devices: tuple[str, ...] = ("cpu",)  # where its computation can run
    dependencies: tuple[str, ...] = ()   # optional packages it needs beyond the core install
    reference: str = ""                  # where the definition comes from
    flag: bool = False                   # a 0/1 indicator (its mean is a rate)

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
        return {"name": self.name, "label": self.label, "stage": self.stage, "better": self.direction,
                "unit": self.unit_for(protocol), "scale": self.scale_for(protocol), "description": self.description,
                "requires_reference": self.requires_reference, "requires_text": self.requires_text,
                "requires_checkpoint": self.requires_checkpoint, "devices": list(self.devices),
                "dependencies": list(self.dependencies), "reference": self.reference}
