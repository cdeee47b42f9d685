"""Contour-enhanced funnel plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from alsmeta.errors import InputError, Problem
from alsmeta.plots._common import measure_label, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from alsmeta.diagnostics.small_study import TrimFillResult
    from alsmeta.meta.model import MetaAnalysisResult

__all__ = ["funnel_plot"]

_SHADES = ("0.88", "0.74", "0.58", "0.45", "0.35")


def _check_contours(contours: Sequence[float]) -> list[float]:
    levels = sorted(float(c) for c in contours)
    bad = [c for c in levels if not 0 < c < 1]
    if bad or len(set(levels)) != len(levels) or len(levels) > len(_SHADES):
        raise InputError(
            Problem(
                f"contours={tuple(contours)!r} must be distinct confidence levels in (0, 1), "
                f"at most {len(_SHADES)}, e.g. (0.90, 0.95, 0.99)"
            )
        )
    return levels


def funnel_plot(
    res: MetaAnalysisResult,
    *,
    ax: Axes | None = None,
    contours: Sequence[float] = (0.90, 0.95, 0.99),
    trim_and_fill: TrimFillResult | None = None,
) -> Axes:
    """Draw a contour-enhanced funnel plot: effect sizes against their standard errors.

    Parameters
    ----------
    res : MetaAnalysisResult
        The fitted model; its studies are drawn at ``(yi, sqrt(vi))``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    contours : sequence of float, default (0.90, 0.95, 0.99)
        Confidence levels whose two-sided significance contours around 0 bound the
        shaded regions: between the 0.90 and 0.95 contours a study is significant at
        p < 0.10, between 0.95 and 0.99 at p < 0.05, beyond 0.99 at p < 0.01. Empty for
        a plain funnel.
    trim_and_fill : TrimFillResult, optional
        A trim-and-fill of ``res``: its imputed studies are drawn as hollow circles and
        its adjusted estimate as a dotted line.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The y axis is the standard error, inverted so that the largest studies are at the
    top. The unshaded funnel is the pseudo confidence region
    ``estimate +/- z_{(1+level)/2} SE`` around the model's estimate (dashed), as
    metafor's ``funnel(res)``; the shaded regions are those of
    ``funnel(res, level=c(90, 95, 99), shade=..., refline=0)`` (Peters et al. 2008).
    Artists carry the gids ``"studies"``, ``"filled_studies"``, ``"funnel"``,
    ``"estimate"``, ``"trim_and_fill_estimate"`` and ``"contour_<level>"`` (the region
    beyond that contour, up to the next one).

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced
    meta-analysis funnel plots help distinguish publication bias from other causes of
    asymmetry. J Clin Epidemiol 61(10):991-996. doi:10.1016/j.jclinepi.2007.11.010

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from alsmeta import escalc, load_dataset, meta_analysis, trim_and_fill
    >>> from alsmeta.plots import funnel_plot
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> res = meta_analysis(es)
    >>> ax = funnel_plot(res, trim_and_fill=trim_and_fill(res))
    >>> bool(ax.yaxis_inverted())
    True
    >>> len([c for c in ax.collections if c.get_gid() == "studies"][0].get_offsets())
    13
    """
    levels = _check_contours(contours)
    if trim_and_fill is not None and tuple(trim_and_fill.result.es.study) != tuple(res.es.study):
        raise InputError(Problem("trim_and_fill= is a trim-and-fill of other studies than res"))
    from scipy.special import ndtri

    if ax is None:
        ax = new_axes(5.2, 4.2, (0.8, 0.6, 3.2, 3.4))
    yi = np.asarray(res.es.yi, dtype=float)
    sei = np.sqrt(np.asarray(res.es.vi, dtype=float))
    filled_yi = filled_se = np.empty(0)
    if trim_and_fill is not None:
        filled_yi = np.asarray(trim_and_fill.filled_yi, dtype=float)
        filled_se = np.sqrt(np.asarray(trim_and_fill.filled_vi, dtype=float))
    all_se = np.concatenate([sei, filled_se])
    se_max = float(np.nanmax(all_se)) * 1.08 if np.isfinite(all_se).any() else 1.0
    se = np.linspace(0.0, se_max, 100)
    crit = float(ndtri((1.0 + res.level) / 2.0))

    all_y = np.concatenate(
        [yi, filled_yi, [0.0, res.estimate - crit * se_max, res.estimate + crit * se_max]]
    )
    reach = float(np.nanmax(np.abs(all_y)))
    zs = [float(ndtri((1.0 + c) / 2.0)) for c in levels]
    if zs:
        reach = max(reach, zs[-1] * se_max)
    reach *= 1.05
    ax.set_facecolor("white")
    edges = [*zs, math.inf]
    for j, level in enumerate(levels):
        inner = zs[j] * se
        upper = edges[j + 1]
        outer = np.full_like(se, reach) if math.isinf(upper) else np.minimum(upper * se, reach)
        p_text = f"{1 - level:.2f}".rstrip("0").rstrip(".")
        label = f"p < {p_text}"
        for sign in (-1.0, 1.0):
            ax.fill_betweenx(
                se,
                sign * inner,
                sign * outer,
                color=_SHADES[j],
                linewidth=0,
                label=label if sign > 0 else None,
                gid=f"contour_{level:g}",
                zorder=0,
            )
    ax.plot(
        res.estimate - crit * se, se, linestyle="--", color="black", linewidth=0.8, gid="funnel"
    )
    ax.plot(
        res.estimate + crit * se, se, linestyle="--", color="black", linewidth=0.8, gid="funnel"
    )
    ax.vlines(res.estimate, 0.0, se_max, colors="black", linewidths=0.9, gid="estimate")
    ax.scatter(yi, sei, s=28, color="black", zorder=3, gid="studies", label="studies")
    if trim_and_fill is not None:
        ax.scatter(
            filled_yi,
            filled_se,
            s=28,
            facecolors="none",
            edgecolors="black",
            zorder=3,
            gid="filled_studies",
            label="filled studies",
        )
        ax.vlines(
            trim_and_fill.estimate,
            0.0,
            se_max,
            colors="black",
            linestyles=":",
            linewidths=0.9,
            gid="trim_and_fill_estimate",
        )
    ax.set_xlim(-reach, reach)
    ax.set_ylim(se_max, 0.0)
    ax.set_xlabel(measure_label(res.es.measure))
    ax.set_ylabel("Standard error")
    if levels or trim_and_fill is not None:
        ax.legend(loc="lower right", fontsize=7, frameon=True)
    return ax
