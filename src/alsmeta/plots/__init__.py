"""Figures of the analyses: forest, funnel, effect direction, risk of bias, trajectories,
power curves.

Every function takes the result or frame to draw, accepts ``ax=`` and returns the
matplotlib Axes it drew on; without ``ax`` it draws on a new
:class:`matplotlib.figure.Figure` (no pyplot state), reachable as ``ax.figure``.
matplotlib is imported inside the functions, so ``import alsmeta.plots`` does not load
it; without matplotlib the functions raise ``ModuleNotFoundError`` naming the ``plot``
extra (``pip install 'alsmeta[plot]'``).

The rows of each figure come from a public frame function (:func:`forest_frame`,
:func:`trajectory_summary`) or from the frame passed in, so a report's tables and its
figures show the same numbers.
"""

from alsmeta.plots.direction import DIRECTIONS, effect_direction_plot
from alsmeta.plots.forest import (
    FOREST_COLUMNS,
    FOREST_KINDS,
    forest_frame,
    forest_plot,
    format_forest_frame,
)
from alsmeta.plots.funnel import funnel_plot
from alsmeta.plots.power import power_curve_plot
from alsmeta.plots.risk_of_bias import JUDGMENTS, traffic_light_plot
from alsmeta.plots.trajectories import trajectory_plot, trajectory_summary

__all__ = [
    "DIRECTIONS",
    "FOREST_COLUMNS",
    "FOREST_KINDS",
    "JUDGMENTS",
    "effect_direction_plot",
    "forest_frame",
    "forest_plot",
    "format_forest_frame",
    "funnel_plot",
    "power_curve_plot",
    "traffic_light_plot",
    "trajectory_plot",
    "trajectory_summary",
]
