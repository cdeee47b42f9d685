"""Risk-of-bias traffic-light plots in the style of robvis (RoB 2 and ROBINS-I)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.plots._common import new_axes, offset_transform, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["COLOURS", "DOMAIN_NAMES", "JUDGMENTS", "SYMBOLS", "traffic_light_plot"]

#: Judgments of each tool, from best to worst, then "no information".
JUDGMENTS: dict[str, tuple[str, ...]] = {
    "rob2": ("low", "some concerns", "high", "no information"),
    "robins_i": ("low", "moderate", "serious", "critical", "no information"),
}

#: Colour of each judgment (robvis's default palette).
COLOURS: dict[str, str] = {
    "low": "#02C100",
    "some concerns": "#E2DF07",
    "moderate": "#E2DF07",
    "high": "#BF0000",
    "serious": "#BF0000",
    "critical": "#820000",
    "no information": "#4EA1F7",
}

#: Symbol printed in each circle, so that the plot reads without colour.
SYMBOLS: dict[str, str] = {
    "low": "+",
    "some concerns": "-",
    "moderate": "-",
    "high": "X",
    "serious": "X",
    "critical": "!",
    "no information": "?",
}

#: Standard domains of each tool, used as a caption when the columns are D1, D2, ...
DOMAIN_NAMES: dict[str, tuple[str, ...]] = {
    "rob2": (
        "Bias arising from the randomisation process",
        "Bias due to deviations from intended interventions",
        "Bias due to missing outcome data",
        "Bias in measurement of the outcome",
        "Bias in selection of the reported result",
    ),
    "robins_i": (
        "Bias due to confounding",
        "Bias due to selection of participants",
        "Bias in classification of interventions",
        "Bias due to deviations from intended interventions",
        "Bias due to missing data",
        "Bias in measurement of outcomes",
        "Bias in selection of the reported result",
    ),
}

_FONT = 9.0


def _normalise(value: object) -> str:
    if not isinstance(value, str):
        return "" if pd.isna(value) else str(value)  # type: ignore[call-overload]
    return " ".join(value.strip().lower().replace("_", " ").split())


def traffic_light_plot(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    tool: str = "rob2",
    domains: Sequence[str] | None = None,
) -> Axes:
    """Draw a traffic-light plot: one row per study, one circle per domain judgment.

    Parameters
    ----------
    frame : pandas.DataFrame
        Column ``study``, one column per domain holding the judgments and optionally
        ``overall``. Judgments for ``tool="rob2"``: ``"low"``, ``"some concerns"``,
        ``"high"``, ``"no information"``; for ``"robins_i"``: ``"low"``, ``"moderate"``,
        ``"serious"``, ``"critical"``, ``"no information"`` (case and ``_`` for spaces do
        not matter).
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure sized to the table.
    tool : {"rob2", "robins_i"}
        The tool whose judgments, colours and domain names apply.
    domains : sequence of str, optional
        The domain columns, in order. Default: every column but ``study`` and
        ``overall``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        An unknown tool, missing columns, or judgments missing or not of the tool; every
        cell at fault is listed.

    Notes
    -----
    Colours and symbols follow robvis (McGuinness and Higgins 2021): low green ``+``,
    some concerns / moderate yellow ``-``, high / serious red ``X``, critical dark red
    ``!``, no information blue ``?``. When the domain columns are named ``D1``, ``D2``,
    ... and their number is that of the tool, the standard domain names are printed under
    the plot. The circles of each judgment are one collection with gid
    ``"judgment:<judgment>"``; cell ``(study j, column i)`` is at ``x = i``, ``y = -j``,
    with ``overall`` one column further right after a gap.

    References
    ----------
    McGuinness LA, Higgins JPT (2021). Risk-of-bias VISualization (robvis): an R package
    and Shiny web app for visualizing risk-of-bias assessments. Res Synth Methods
    12(1):55-61. doi:10.1002/jrsm.1411

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from alsmeta.plots import traffic_light_plot
    >>> frame = pd.DataFrame({
    ...     "study": ["Oh 2018", "Cudkowicz 2022"],
    ...     "D1": ["low", "low"], "D2": ["some concerns", "low"], "D3": ["low", "low"],
    ...     "D4": ["high", "low"], "D5": ["low", "some concerns"],
    ...     "overall": ["high", "some concerns"]})
    >>> ax = traffic_light_plot(frame, tool="rob2")
    >>> sorted(c.get_gid() for c in ax.collections)
    ['judgment:high', 'judgment:low', 'judgment:some concerns']
    """
    tool = check_choice("tool", tool, tuple(JUDGMENTS))
    if not isinstance(frame, pd.DataFrame):
        raise InputError(Problem(f"expected a pandas DataFrame, got {type(frame).__name__}"))
    if "study" not in frame.columns:
        raise InputError(Problem("missing column 'study'"))
    data = frame.reset_index(drop=True)
    if domains is None:
        domains = [str(c) for c in data.columns if c not in ("study", "overall")]
    domains = list(domains)
    missing = [d for d in domains if d not in data.columns]
    if missing or not domains:
        raise InputError(
            [Problem(f"missing domain column {d!r}") for d in missing]
            or Problem("no domain columns: give one column per domain besides 'study'")
        )
    columns = domains + (["overall"] if "overall" in data.columns else [])
    valid = JUDGMENTS[tool]
    problems: list[Problem] = []
    cells: list[tuple[int, int, str]] = []
    for i, column in enumerate(columns):
        for j, value in enumerate(data[column]):
            judgment = _normalise(value)
            if judgment not in valid:
                problems.append(
                    Problem(
                        f"judgment {value!r} is not one of {tool}'s: {', '.join(map(repr, valid))}",
                        row=j + 1,
                        study=str(data.at[j, "study"]),
                        column=column,
                    )
                )
            else:
                cells.append((j, i, judgment))
    if problems:
        raise InputError(problems)

    studies = [str(s) for s in data["study"]]
    x_of = [float(i) + (0.4 if c == "overall" else 0.0) for i, c in enumerate(columns)]
    standard = DOMAIN_NAMES[tool]
    caption = ""
    if [d.upper() for d in domains] == [f"D{i + 1}" for i in range(len(standard))]:
        caption = "\n".join(f"D{i + 1}: {name}" for i, name in enumerate(standard))
    if ax is None:
        label_w = text_width(max(len(s) for s in studies), _FONT) + 0.2
        plot_w = 0.45 * (len(columns) + 0.6)
        legend_w = 1.6
        rows_h = 0.4 * len(studies)
        bottom = 0.25 + (0.15 * caption.count("\n") + 0.3 if caption else 0.0)
        ax = new_axes(
            label_w + plot_w + legend_w + 0.2,
            rows_h + bottom + 0.45,
            (label_w + 0.1, bottom, plot_w, rows_h),
        )
    table = pd.DataFrame(cells, columns=["row", "column", "judgment"])
    for judgment in valid:
        part = table[table["judgment"] == judgment]
        if part.empty:
            continue
        xs = [x_of[i] for i in part["column"]]
        ys = (-part["row"]).to_list()
        ax.scatter(
            xs,
            ys,
            s=260,
            color=COLOURS[judgment],
            edgecolors="black",
            linewidths=0.5,
            gid=f"judgment:{judgment}",
            zorder=3,
        )
        for x, y in zip(xs, ys, strict=True):
            ax.text(
                x,
                y,
                SYMBOLS[judgment],
                ha="center",
                va="center",
                fontsize=_FONT,
                fontweight="bold",
                color="black",
                zorder=4,
                gid="symbol",
            )
    ax.set_xlim(-0.6, x_of[-1] + 0.6)
    ax.set_ylim(-len(studies) + 0.5, 0.5)
    ax.set_yticks([-j for j in range(len(studies))], studies, fontsize=_FONT)
    headers = [("Overall" if c == "overall" else c) for c in columns]
    ax.set_xticks(x_of, headers, fontsize=_FONT)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_facecolor("0.95")
    ax.grid(False)
    for j in range(len(studies) + 1):
        ax.axhline(-j + 0.5, color="white", linewidth=1.5, zorder=1)
    if caption:
        ax.text(
            0,
            0,
            "Domains:\n" + caption,
            ha="left",
            va="top",
            fontsize=_FONT - 2,
            transform=offset_transform(ax, 0, -0.1, x="axes", y="axes"),
            gid="caption",
        )

    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=10,
            markerfacecolor=COLOURS[j],
            markeredgecolor="black",
            label=f"{SYMBOLS[j]}  {j[0].upper()}{j[1:]}",
        )
        for j in valid
    ]
    ax.legend(
        handles=handles,
        title="Judgement",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=7,
        title_fontsize=8,
        frameon=False,
    )
    return ax
