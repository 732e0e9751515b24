"""Markdown and self-contained HTML reports of a ``spatialeval run --out`` directory.

:func:`write_report` builds a summary table (labels, directions and table scale from the
metric registry), stage statuses and provenance, failed items, per-item metric
distributions, and the sections each registered stage declares (e.g. IPD/ILD time × frequency
maps of the worst or chosen items); it names no stage itself. matplotlib and torch are imported
only when the plots are drawn.
"""

from spatialeval.report.build import run_report, write_report
from spatialeval.report.data import ReportInputError

__all__ = ["write_report", "run_report", "ReportInputError"]
