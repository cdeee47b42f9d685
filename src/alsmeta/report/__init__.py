"""The evidence report: one self-contained HTML file from the evidence base.

Three steps, as ydata-profiling: :func:`build_report` *computes* every analysis and
*describes* it as a :class:`ReportModel` (pure: formatted numbers and text, the result
objects kept beside them for tests), :func:`render_report` *renders* the model with the
Jinja2 templates in ``report/templates`` into one HTML string (inline CSS and SVG, no
JavaScript, nothing fetched), and :func:`write_report` writes it.

Jinja2 (the ``report`` extra) and matplotlib (the ``plot`` extra) are imported when the
report is rendered, not on ``import alsmeta.report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alsmeta.report.build import (
    REPORT_OPTIONS,
    ReportInput,
    ReportModel,
    build_report,
    primary_effect_sizes,
    read_report_input,
)

if TYPE_CHECKING:
    from alsmeta.report.render import render_report, write_report

__all__ = [
    "REPORT_OPTIONS",
    "ReportInput",
    "ReportModel",
    "build_report",
    "primary_effect_sizes",
    "read_report_input",
    "render_report",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in ("render_report", "write_report"):
        from alsmeta.report import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
