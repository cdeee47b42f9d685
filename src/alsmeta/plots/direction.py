"""Effect-direction plots for synthesis without meta-analysis (Thomson and Thomas 2013)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem
from alsmeta.plots._common import new_axes, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.path import Path

__all__ = ["DIRECTIONS", "SIZE_CLASSES", "effect_direction_plot"]

#: Direction values of the ``direction`` column, as :mod:`alsmeta.synthesis` writes them.
DIRECTIONS: tuple[str, ...] = ("benefit", "harm", "no_effect/mixed")

#: Sample-size classes of Thomson and Thomas (2013): (label, lower, upper, marker area).
SIZE_CLASSES: tuple[tuple[str, float, float, float], ...] = (
    ("n < 50", 0.0, 50.0, 35.0),
    ("n 50-300", 50.0, 300.0, 80.0),
    ("n > 300", 300.0, math.inf, 150.0),
)

# Other spellings accepted for each direction (lower case, stripped).
_ALIASES: dict[str, str] = {
    "benefit": "benefit", "+": "benefit", "+1": "benefit", "1": "benefit", "up": "benefit",
    "positive": "benefit", "improvement": "benefit", "▲": "benefit",
    "harm": "harm", "-": "harm", "-1": "harm", "down": "harm", "negative": "harm",
    "deterioration": "harm", "▼": "harm",
    "no_effect/mixed": "no_effect/mixed", "no_effect": "no_effect/mixed",
    "no effect": "no_effect/mixed", "mixed": "no_effect/mixed", "0": "no_effect/mixed",
    "none": "no_effect/mixed", "no change": "no_effect/mixed", "conflicting": "no_effect/mixed",
    "no clear direction": "no_effect/mixed", "no clear effect": "no_effect/mixed",
    "◄►": "no_effect/mixed",
}  # fmt: skip

_STYLE = {  # direction -> (legend text, colour)
    "benefit": ("benefit", "#1a7f37"),
    "harm": ("harm", "#b42318"),
    "no_effect/mixed": ("no clear effect / mixed", "#555555"),
}
_FONT = 9.0


def _double_arrow() -> Path:
    """The ◄► marker: two triangles pointing away from each other."""
    from matplotlib.path import Path

    verts = [(-1.0, 0.0), (-0.22, 0.7), (-0.22, -0.7), (-1.0, 0.0),
             (1.0, 0.0), (0.22, 0.7), (0.22, -0.7), (1.0, 0.0)]  # fmt: skip
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY] * 2
    return Path(verts, codes)


def _marker(direction: str) -> Any:
    return {"benefit": "^", "harm": "v"}.get(direction) or _double_arrow()


def _size_class(n: float) -> float:
    """Marker area of the class of ``n``: < 50, 50 to 300, > 300 (unknown: middle)."""
    if not math.isfinite(n) or 50 <= n <= 300:
        return SIZE_CLASSES[1][3]
    return SIZE_CLASSES[0][3] if n < 50 else SIZE_CLASSES[2][3]


def _validate(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(Problem(f"expected a pandas DataFrame, got {type(frame).__name__}"))
    missing = [c for c in ("study", "domain", "direction") if c not in frame.columns]
    if missing:
        raise InputError(
            [Problem(f"missing column {c!r} (need study, domain, direction)") for c in missing]
        )
    data = frame.reset_index(drop=True)
    problems: list[Problem] = []
    canonical: list[str] = []
    for i, (study, value) in enumerate(zip(data["study"], data["direction"], strict=True)):
        key = str(value).strip().lower() if isinstance(value, str) else str(value)
        if isinstance(value, int | float | np.integer | np.floating) and not pd.isna(value):
            key = {1.0: "1", -1.0: "-1", 0.0: "0"}.get(float(value), key)
        found = _ALIASES.get(key)
        if found is None:
            problems.append(
                Problem(
                    f"direction {value!r} is not valid; use one of "
                    f"{', '.join(map(repr, DIRECTIONS))}",
                    row=i + 1,
                    study=str(study),
                    column="direction",
                )
            )
            found = ""
        canonical.append(found)
    n = (
        pd.to_numeric(data["n"], errors="coerce")
        if "n" in data.columns
        else pd.Series(np.nan, index=data.index)
    )
    if "n" in data.columns:
        bad = (n.isna() & data["n"].notna()).to_numpy() | (n < 0).to_numpy()
        for r in np.flatnonzero(bad):
            problems.append(
                Problem(
                    "n must be a number >= 0",
                    row=int(r) + 1,
                    study=str(data.at[r, "study"]),
                    column="n",
                )
            )
    pairs = data[["study", "domain"]].astype(str)
    for r in np.flatnonzero(pairs.duplicated().to_numpy()):
        problems.append(
            Problem(
                f"study and domain {data.at[r, 'domain']!r} repeat an earlier row",
                row=int(r) + 1,
                study=str(data.at[r, "study"]),
                column="domain",
            )
        )
    if problems:
        raise InputError(problems)
    out = pairs.assign(direction=canonical, n=n.to_numpy(dtype=float))
    if "design" in data.columns:
        out["design"] = data["design"].astype(object).where(data["design"].notna(), "")
    return out


def effect_direction_plot(frame: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw an effect-direction plot: one row per study, one column per outcome domain.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per study and outcome domain, with columns ``study``, ``domain``,
        ``direction`` (``"benefit"``, ``"harm"`` or ``"no_effect/mixed"``; ``1``,
        ``-1``, ``0``, ``"▲"``, ``"▼"``, ``"◄►"``, ``"mixed"`` and ``"no effect"`` are
        accepted too) and optionally ``n`` (sample size behind that finding) and
        ``design`` (shown in its own column; the first value per study). Rows and
        columns keep the order of first appearance; a study without a row for a domain
        leaves its cell empty.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure sized to the table.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        Missing columns, unknown directions, negative or non-numeric ``n``, or a study and
        domain given twice; every problem is listed.

    Notes
    -----
    ▲ benefit, ▼ harm, ◄► no clear effect or conflicting findings; the size of the
    symbol gives the sample-size class (< 50, 50-300, > 300; middle when ``n`` is
    missing), as in the effect direction plot of Thomson and Thomas (2013), the
    display the Cochrane Handbook (section 12.3.2) and the SWiM guideline recommend for
    vote counting by direction of effect. The markers of each direction are one
    collection with gid ``"direction:<direction>"``; cell ``(study j, domain d)`` is at
    ``x = d + 1``, ``y = -j`` (x = 0 is the design column, gid ``"design"``).

    References
    ----------
    Thomson HJ, Thomas S (2013). The effect direction plot: visual display of
    non-standardised effects across multiple outcome domains. Res Synth Methods
    4(1):95-101. doi:10.1002/jrsm.1060

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from alsmeta.plots import effect_direction_plot
    >>> frame = pd.DataFrame({
    ...     "study": ["Oh 2018", "Oh 2018", "Berry 2019"],
    ...     "domain": ["ALSFRS-R", "survival", "ALSFRS-R"],
    ...     "direction": ["benefit", "no_effect/mixed", "harm"],
    ...     "n": [64, 64, 48], "design": ["RCT", "RCT", "single arm"]})
    >>> ax = effect_direction_plot(frame)
    >>> [c.get_gid() for c in ax.collections]
    ['direction:benefit', 'direction:harm', 'direction:no_effect/mixed']
    """
    data = _validate(frame)
    studies = list(dict.fromkeys(data["study"]))
    domains = list(dict.fromkeys(data["domain"]))
    has_design = "design" in data.columns
    row_of = {s: j for j, s in enumerate(studies)}
    col_of = {d: i + 1 for i, d in enumerate(domains)}
    if ax is None:
        label_w = text_width(max(len(s) for s in studies), _FONT) + 0.2
        width = label_w + 0.9 * (len(domains) + (1.4 if has_design else 0)) + 0.4
        height = 0.32 * len(studies) + 1.9
        left = label_w + 0.1
        plot_w = width - left - 0.2
        ax = new_axes(width, height, (left, 1.1, plot_w, 0.32 * len(studies)))
    for direction in DIRECTIONS:
        cells = data[data["direction"] == direction]
        text, colour = _STYLE[direction]
        ax.scatter(
            [col_of[d] for d in cells["domain"]],
            [-row_of[s] for s in cells["study"]],
            s=[_size_class(n) for n in cells["n"]],
            marker=_marker(direction),
            color=colour,
            linewidths=0,
            gid=f"direction:{direction}",
            label=text,
            zorder=3,
        )
    if has_design:
        design = data.groupby("study", sort=False)["design"].first()
        for s in studies:
            ax.text(
                0,
                -row_of[s],
                str(design[s]),
                ha="center",
                va="center",
                fontsize=_FONT - 1,
                gid="design",
            )
    ax.set_xlim(-0.7 if has_design else 0.5, len(domains) + 0.5)
    ax.set_ylim(-len(studies) + 0.5, 0.5)
    ax.set_yticks([-j for j in range(len(studies))], studies, fontsize=_FONT)
    ticks = ([0] if has_design else []) + [col_of[d] for d in domains]
    names = (["Design"] if has_design else []) + domains
    ax.set_xticks(ticks, names, fontsize=_FONT)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for j in range(len(studies) + 1):
        ax.axhline(-j + 0.5, color="0.85", linewidth=0.6, zorder=0)
    for i in range(len(domains) + 1):
        ax.axvline(i + 0.5, color="0.85", linewidth=0.6, zorder=0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=_marker(d),
            color=_STYLE[d][1],
            markersize=8,
            label=_STYLE[d][0],
        )
        for d in DIRECTIONS
    ] + [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="^",
            color="0.3",
            markersize=math.sqrt(area),
            label=label,
        )
        for label, _, _, area in SIZE_CLASSES
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=3,
        fontsize=7,
        frameon=False,
    )
    return ax
