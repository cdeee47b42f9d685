"""Power curves of simulated trials: power against sample size, one line per effect."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem
from alsmeta.plots._common import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from alsmeta.simulate import PowerResult

__all__ = ["effect_label", "power_curve_plot"]

_EFFECT_KEYS = ["effect", "effect_sd", "effect_scale"]


def effect_label(effect: float, scale: str, sd: float = 0.0) -> str:
    """The legend text of one true effect: value with its unit; predictive = assurance.

    Examples
    --------
    >>> from alsmeta.plots.power import effect_label
    >>> effect_label(0.25, "percent")
    '25% slower decline'
    >>> effect_label(0.44, "points", 0.125)
    '0.44 points/month (assurance, SD 0.125)'
    """
    if scale == "percent":
        text = f"{effect * 100:g}% slower decline"
    elif scale == "d50":
        text = f"{effect:g} months later D50"
    else:
        text = f"{effect:.3g} points/month"
    if sd > 0:
        shown = f"{sd * 100:.3g}%" if scale == "percent" else f"{sd:.3g}"
        text += f" (assurance, SD {shown})"
    return text


def _axis_label(result: PowerResult) -> str:
    design = result.design
    if design.design == "single-arm-lead-in":
        return "Patients (single treated arm)"
    if design.allocation != 1:
        return f"Patients in the control arm (treated arm {design.allocation:g} times larger)"
    return "Patients per arm"


def power_curve_plot(
    result: PowerResult | Sequence[PowerResult],
    *,
    ax: Axes | None = None,
    target: float | None = None,
    labels: Sequence[str] | None = None,
    log_x: bool = False,
    column: str = "power",
) -> Axes:
    """Draw power against sample size per arm, one line per true effect.

    Parameters
    ----------
    result : PowerResult or sequence of PowerResult
        From :func:`alsmeta.simulate.power_curve`; several results (run separately, e.g.
        in parallel) are drawn together and must share design, endpoint and alpha.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure (reachable as ``ax.figure``).
    target : float, optional
        Target power (e.g. 0.8), drawn as a horizontal line.
    labels : sequence of str, optional
        Legend text of the lines, in order (results in turn, effects within each);
        default :func:`effect_label` of each effect.
    log_x : bool, default False
        Logarithmic (base 2) sample-size axis, for grids that double.
    column : {"power", "power_favourable"}, default "power"
        What is drawn: the share of trials with p < alpha, or only those in favour of
        treatment (with its own Monte Carlo interval).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        ``result`` is not a PowerResult (or a non-empty sequence of them sharing design,
        endpoint and alpha), ``target`` is not in (0, 1), or ``labels`` does not have one
        text per line.

    Notes
    -----
    Each effect (``effect``, ``effect_sd``, ``effect_scale`` of ``result.scenarios``) is
    one line through its simulated sample sizes, with the Monte Carlo interval of each
    point as a vertical bar (Clopper-Pearson at ``result.level``). Effects drawn from a
    predictive distribution (``effect_sd > 0``) are dashed and labelled "assurance".
    With a null run (``type1_error`` not ``nan``) the rejection rate under no effect is
    drawn as crosses with their intervals, beside a line at ``alpha``. Artists carry the
    gids ``"power:<i>"`` (lines, in scenario order of first appearance),
    ``"power_ci:<i>"`` (their bars), ``"type1_error"``, ``"type1_error_ci"``,
    ``"alpha"`` and ``"target"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from alsmeta.plots import power_curve_plot
    >>> from alsmeta.simulate import LinearProgression, power_curve
    >>> res = power_curve([20, 40], [0.5, 1.0], model=LinearProgression(), reps=20, seed=1)
    >>> ax = power_curve_plot(res, target=0.8)
    >>> sum(str(line.get_gid()).startswith("power:") for line in ax.lines)
    2
    """
    results = _results(result)
    first = results[0]
    if target is not None and not (
        isinstance(target, int | float) and math.isfinite(target) and 0 < target < 1
    ):
        raise InputError(Problem(f"target={target!r} must be a power in (0, 1), e.g. 0.8"))
    if column not in ("power", "power_favourable"):
        raise InputError(Problem(f"column={column!r} must be 'power' or 'power_favourable'"))
    lines = [
        part.sort_values("n_per_arm")
        for res in results
        for _, part in res.scenarios.groupby(_EFFECT_KEYS, sort=False)
    ]
    if labels is not None and (isinstance(labels, str) or len(labels) != len(lines)):
        raise InputError(
            Problem(f"labels={labels!r} must give one text for each of the {len(lines)} lines")
        )
    scenarios = pd.concat([res.scenarios for res in results], ignore_index=True)
    if ax is None:
        ax = new_axes(6.4, 4.2, (0.75, 0.6, 5.4, 3.05))
    for i, part in enumerate(lines):
        row = part.iloc[0]
        effect, sd, scale = float(row["effect"]), float(row["effect_sd"]), str(row["effect_scale"])
        x = part["n_per_arm"].to_numpy(dtype=float)
        colour = f"C{i % 10}"
        ax.plot(
            x,
            part[column].to_numpy(dtype=float),
            color=colour,
            linestyle="--" if sd > 0 else "-",
            marker="o",
            markersize=4,
            linewidth=1.6,
            gid=f"power:{i}",
            label=effect_label(effect, scale, sd) if labels is None else labels[i],
            zorder=3,
        )
        ax.vlines(
            x,
            part[f"{column}_ci_lower"].to_numpy(dtype=float),
            part[f"{column}_ci_upper"].to_numpy(dtype=float),
            colors=colour,
            linewidths=1.2,
            alpha=0.7,
            gid=f"power_ci:{i}",
            zorder=2,
        )
    null = _null_rows(scenarios)
    if not null.empty:
        x = null["n_per_arm"].to_numpy(dtype=float)
        ax.plot(
            x,
            null["type1_error"].to_numpy(dtype=float),
            linestyle="none",
            marker="x",
            markersize=6,
            color="0.25",
            gid="type1_error",
            label="type I error (no effect)",
            zorder=3,
        )
        ax.vlines(
            x,
            null["type1_error_ci_lower"].to_numpy(dtype=float),
            null["type1_error_ci_upper"].to_numpy(dtype=float),
            colors="0.25",
            linewidths=1.0,
            gid="type1_error_ci",
            zorder=2,
        )
        ax.axhline(
            first.alpha,
            color="0.45",
            linestyle=":",
            linewidth=1.0,
            gid="alpha",
            label=f"alpha = {first.alpha:g}",
            zorder=1,
        )
    if target is not None:
        ax.axhline(
            target,
            color="C3",
            linestyle="-.",
            linewidth=1.2,
            gid="target",
            label=f"target power {target:g}",
            zorder=1,
        )
    ax.set_ylim(0.0, 1.02)
    sizes = np.unique(scenarios["n_per_arm"].to_numpy(dtype=float))
    if log_x:
        ax.set_xscale("log", base=2)
        ax.set_xticks([], minor=True)
    if sizes.size:
        if log_x:
            ax.set_xlim(float(sizes[0]) / 2**0.3, float(sizes[-1]) * 2**0.3)
        else:
            pad = max(1.0, 0.05 * float(sizes[-1] - sizes[0]))
            ax.set_xlim(float(sizes[0]) - pad, float(sizes[-1]) + pad)
        if sizes.size <= 8:
            ax.set_xticks(sizes, [f"{n:g}" for n in sizes])
    ax.set_xlabel(_axis_label(first) + (" (logarithmic scale)" if log_x else ""))
    if column == "power_favourable":
        ax.set_ylabel(f"Power (share with p < {first.alpha:g}, favouring treatment)")
    else:
        ax.set_ylabel(f"Power (share of trials with p < {first.alpha:g})")
    reps = int(scenarios["reps"].iloc[0]) if len(scenarios) else 0
    ax.set_title(
        f"{first.design.design} design, endpoint {first.endpoint}, {first.model.name} "
        f"model; {reps} trials per point, {first.level * 100:g}% Monte Carlo interval",
        fontsize=8,
    )
    ax.grid(True, color="0.9", linewidth=0.6, zorder=0)
    ax.legend(loc="best", fontsize=7, framealpha=0.9, edgecolor="0.8")
    return ax


def _results(result: Any) -> list[PowerResult]:
    """``result`` as a non-empty list of PowerResults that can share one set of axes."""
    from alsmeta.simulate import PowerResult

    results = [result] if isinstance(result, PowerResult) else result
    if (
        isinstance(results, str | bytes)
        or not isinstance(results, Sequence)
        or not results
        or not all(isinstance(r, PowerResult) for r in results)
    ):
        raise InputError(
            Problem(
                "result must be a PowerResult (power_curve) or a non-empty sequence of them, "
                f"not {type(result).__name__}"
            )
        )
    first = results[0]
    for i, res in enumerate(results[1:], start=1):
        if (res.design, res.endpoint, res.alpha) != (first.design, first.endpoint, first.alpha):
            raise InputError(
                Problem(
                    f"result {i} has design {res.design.design!r}, endpoint {res.endpoint!r}, "
                    f"alpha {res.alpha:g}; result 0 has {first.design.design!r}, "
                    f"{first.endpoint!r}, {first.alpha:g}: one plot needs them equal"
                )
            )
    return list(results)


def _null_rows(scenarios: pd.DataFrame) -> pd.DataFrame:
    """One row per sample size with the type I error of the null run (none without)."""
    if "type1_error" not in scenarios.columns:
        return scenarios.iloc[0:0]
    rows = scenarios[np.isfinite(scenarios["type1_error"].to_numpy(dtype=float))]
    return rows.drop_duplicates("n_per_arm").sort_values("n_per_arm")
