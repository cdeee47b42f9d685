"""ALSFRS-R trajectories of patients and per-arm summaries over time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.plots._common import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from alsmeta.patients.visits import VisitTable

__all__ = ["SUMMARY_COLUMNS", "trajectory_plot", "trajectory_summary"]

#: Columns of :func:`trajectory_summary`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "group",
    "months",
    "n",
    "mean",
    "sd",
    "se",
    "median",
    "q1",
    "q3",
)

SUMMARY_CHOICES: tuple[str, ...] = ("mean", "median")


def _visits(visits: VisitTable | pd.DataFrame, by: str | None) -> pd.DataFrame:
    from alsmeta.patients.visits import as_visit_table

    table = as_visit_table(visits).table
    if by is None:
        groups = pd.Series("all", index=table.index, dtype=object)
    elif by in table.columns:
        groups = table[by].astype(object).where(table[by].notna(), "unknown").astype(str)
    else:
        raise InputError(
            Problem(f"by={by!r} is not a column of the visit table; use e.g. 'arm' or None")
        )
    return pd.DataFrame(
        {
            "subject_id": table["subject_id"].astype(str),
            "group": groups,
            "months": table["months"].to_numpy(dtype=float),
            "total": table["total"].to_numpy(dtype=float),
        }
    )


def trajectory_summary(
    visits: VisitTable | pd.DataFrame, *, by: str | None = "arm", bin_months: float = 1.0
) -> pd.DataFrame:
    """Summarise ALSFRS-R totals per group at binned visit times.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits (a plain frame is validated with :func:`alsmeta.patients.visit_table`).
    by : str or None, default "arm"
        Column of the visit table that forms the groups; ``None`` for one group
        ``"all"``. Missing values form the group ``"unknown"``.
    bin_months : float, default 1.0
        Width of the time bins: a visit at ``months`` falls in the bin centred at
        ``round(months / bin_months) * bin_months``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per group and bin (groups sorted, bins
        ascending): ``n`` subjects, ``mean``, ``sd``, ``se = sd / sqrt(n)``, ``median``,
        ``q1``, ``q3`` of their totals. A subject with two visits in one bin counts once,
        with the mean of the two. Visits without a total are not counted.

    Raises
    ------
    InputError
        Unknown ``by`` column or ``bin_months <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.plots import trajectory_summary
    >>> cohort = synth_cohort(200, rng=np.random.default_rng(7))
    >>> summary = trajectory_summary(cohort)
    >>> summary["group"].unique().tolist()
    ['Active', 'Placebo']
    >>> summary["months"].head(5).tolist()
    [-3.0, -2.0, -1.0, 0.0, 1.0]
    """
    if not (isinstance(bin_months, int | float) and math.isfinite(bin_months) and bin_months > 0):
        raise InputError(Problem(f"bin_months={bin_months!r} must be a number > 0"))
    data = _visits(visits, by)
    data = data[np.isfinite(data["total"])]
    data = data.assign(months=np.round(data["months"] / bin_months) * bin_months + 0.0)
    per_subject = data.groupby(["group", "months", "subject_id"], sort=True)["total"].mean()
    grouped = per_subject.groupby(level=["group", "months"], sort=True)
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "median": grouped.median(),
            "q1": grouped.quantile(0.25),
            "q3": grouped.quantile(0.75),
        }
    ).reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n"])
    return out[list(SUMMARY_COLUMNS)]


def _sample(
    ids: list[str],
    subjects: Sequence[str] | None,
    max_subjects: int,
    rng: np.random.Generator | None,
) -> list[str]:
    if subjects is not None:
        wanted = [str(s) for s in subjects]
        known = set(ids)
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise InputError([Problem(f"subject {s!r} is not in the visits") for s in unknown])
        return wanted
    if not isinstance(max_subjects, int | np.integer) or max_subjects < 0:
        raise InputError(Problem(f"max_subjects={max_subjects!r} must be an integer >= 0"))
    if len(ids) <= max_subjects:
        return ids
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise InputError(
                Problem("rng must be a numpy.random.Generator (np.random.default_rng)")
            )
        picked = np.sort(rng.choice(len(ids), size=int(max_subjects), replace=False))
    else:
        picked = np.unique(np.linspace(0, len(ids) - 1, int(max_subjects)).round().astype(int))
    return [ids[i] for i in picked]


def trajectory_plot(
    visits: VisitTable | pd.DataFrame,
    *,
    ax: Axes | None = None,
    by: str | None = "arm",
    subjects: Sequence[str] | None = None,
    max_subjects: int = 50,
    rng: np.random.Generator | None = None,
    summary: str | None = "mean",
    bin_months: float = 1.0,
) -> Axes:
    """Draw ALSFRS-R totals over time: thin lines per patient, bold lines per group.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits (a plain frame is validated with :func:`alsmeta.patients.visit_table`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    by : str or None, default "arm"
        Column that forms the groups (colours); ``None`` for one group.
    subjects : sequence of str, optional
        Subjects to draw as thin lines. Default: all of them when there are at most
        ``max_subjects``, else a sample of ``max_subjects``.
    max_subjects : int, default 50
        Size of the sample of drawn subjects (0 for none).
    rng : numpy.random.Generator, optional
        Draws the sample at random; without it the sample is every m-th subject (in the
        order of the visit table), so the figure is reproducible.
    summary : {"mean", "median"} or None, default "mean"
        Per-group line at binned visit times: mean with +/- 1 SE bars, or median with
        the interquartile range; ``None`` for none. The numbers are
        :func:`trajectory_summary`.
    bin_months : float, default 1.0
        Width of the time bins of the summary.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        Unknown subjects, ``by`` column or ``summary``; bad ``max_subjects`` or ``rng``.

    Notes
    -----
    Time is months since trial time 0 (baseline; lead-in visits are negative). The
    summary uses all subjects, not only the drawn sample. Artists carry the gids
    ``"subject:<id>"`` (thin lines), ``"summary:<group>"`` (summary lines) and
    ``"summary_error:<group>"`` (their bars).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.plots import trajectory_plot
    >>> cohort = synth_cohort(120, rng=np.random.default_rng(3), effect=0.3)
    >>> ax = trajectory_plot(cohort, max_subjects=20, rng=np.random.default_rng(0))
    >>> sum(str(line.get_gid()).startswith("subject:") for line in ax.lines)
    20
    """
    if summary is not None:
        summary = check_choice("summary", summary, SUMMARY_CHOICES)
    data = _visits(visits, by)
    ids = list(dict.fromkeys(data["subject_id"]))
    drawn = _sample(ids, subjects, max_subjects, rng)
    groups = sorted(data["group"].unique())
    colour = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    if ax is None:
        ax = new_axes(6.0, 4.0, (0.7, 0.55, 3.9, 3.25))
    by_subject = dict(tuple(data.groupby("subject_id", sort=False)))
    for sid in drawn:
        rows = by_subject[sid]
        rows = rows[np.isfinite(rows["total"])]
        ax.plot(
            rows["months"],
            rows["total"],
            color=colour[rows["group"].iloc[0]],
            linewidth=0.6,
            alpha=0.35,
            gid=f"subject:{sid}",
            zorder=1,
        )
    if summary is not None:
        table = trajectory_summary(visits, by=by, bin_months=bin_months)
        n_subjects = data.groupby("group")["subject_id"].nunique()
        for g in groups:
            part = table[table["group"] == g]
            x = part["months"].to_numpy(dtype=float)
            if summary == "mean":
                centre = part["mean"].to_numpy(dtype=float)
                lower = centre - part["se"].to_numpy(dtype=float)
                upper = centre + part["se"].to_numpy(dtype=float)
                what = "mean ± SE"
            else:
                centre = part["median"].to_numpy(dtype=float)
                lower = part["q1"].to_numpy(dtype=float)
                upper = part["q3"].to_numpy(dtype=float)
                what = "median, IQR"
            ax.plot(
                x,
                centre,
                color=colour[g],
                linewidth=2.2,
                marker="o",
                markersize=3.5,
                gid=f"summary:{g}",
                label=f"{g} ({what}; {n_subjects[g]} patients)",
                zorder=3,
            )
            ok = np.isfinite(lower) & np.isfinite(upper)
            ax.vlines(
                x[ok],
                lower[ok],
                upper[ok],
                colors=colour[g],
                linewidths=1.4,
                gid=f"summary_error:{g}",
                zorder=3,
            )
        ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.set_ylim(0, 48.5)
    ax.set_xlabel("Months since baseline")
    ax.set_ylabel("ALSFRS-R total (0-48)")
    ax.axvline(0.0, color="0.6", linewidth=0.6, linestyle=":", zorder=0)
    return ax
