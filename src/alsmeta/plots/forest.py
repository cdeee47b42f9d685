"""Forest plots laid out as a Cochrane review shows them.

:func:`forest_frame` builds the rows (one per drawn row, unrounded),
:func:`format_forest_frame` formats them (the text a table or the plot shows) and
:func:`forest_plot` draws them, so a report's table and its figure carry the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.plots._common import (
    RATIO_MEASURES,
    format_p,
    measure_label,
    new_axes,
    offset_transform,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from alsmeta.meta.model import MetaAnalysisResult
    from alsmeta.meta.subgroups import SubgroupResult

__all__ = ["FOREST_COLUMNS", "FOREST_KINDS", "forest_frame", "forest_plot", "format_forest_frame"]

#: Columns of :func:`forest_frame`, in order.
FOREST_COLUMNS: tuple[str, ...] = (
    "kind",
    "group",
    "label",
    "k",
    "estimate",
    "ci_lower",
    "ci_upper",
    "weight",
    "n1",
    "n2",
    "n",
    "test",
    "statistic",
    "df",
    "p_value",
    "tau2",
    "i2",
    "q",
    "q_df",
    "q_p_value",
)

#: Row kinds of :func:`forest_frame`, in the order they can appear.
FOREST_KINDS: tuple[str, ...] = (
    "heading",
    "study",
    "subtotal",
    "overall",
    "prediction",
    "subgroup_differences",
)

SORT_CHOICES: tuple[str, ...] = ("estimate", "weight", "precision", "label")
TABLE_COLUMNS: tuple[str, ...] = ("n", "estimate_ci", "weight")

#: Sample-size columns looked for in ``res.es.data`` (group 1, group 2), then totals.
N_PAIRS: tuple[tuple[str, str], ...] = (("n1i", "n2i"), ("n_treat", "n_ctrl"), ("n1", "n2"))
N_TOTALS: tuple[str, ...] = ("ni", "n")


_FONT = 9.0
_SMALL = 8.0
_ROW = 0.2  # inches per row
_SQUARE = 110.0  # marker area (points^2) of the heaviest study


def _ndtri(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def _apply(transform: Callable[[Any], Any] | None, x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if transform is None:
        return a
    return np.asarray(transform(a), dtype=float)


def _study_labels(res: MetaAnalysisResult, labels: str | Sequence[str] | None) -> list[str]:
    if labels is None:
        return list(res.es.study)
    if isinstance(labels, str):
        data = res.es.data
        if data is None or labels not in data.columns:
            available = [] if data is None else [str(c) for c in data.columns]
            raise InputError(
                Problem(
                    f"labels={labels!r} is not a column of the effect-size data; "
                    f"available: {', '.join(available) or 'none'}"
                )
            )
        return [str(v) for v in data[labels]]
    out = [str(v) for v in labels]
    if len(out) != res.k:
        raise InputError(Problem(f"labels has {len(out)} values for {res.k} studies"))
    return out


def _sample_sizes(
    res: MetaAnalysisResult, n_columns: Sequence[str] | str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = res.k
    nan = np.full(k, np.nan)
    data = res.es.data
    if data is None:
        return nan, nan, nan

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(data[name], errors="coerce").to_numpy(dtype=float)

    if n_columns is not None:
        names = [n_columns] if isinstance(n_columns, str) else list(n_columns)
        missing = [c for c in names if c not in data.columns]
        if missing or len(names) not in (1, 2):
            raise InputError(
                Problem(
                    f"n_columns={n_columns!r} must name one (total) or two (per arm) columns "
                    f"of the effect-size data; missing: {', '.join(map(repr, missing))}"
                )
            )
        if len(names) == 1:
            return nan, nan, col(names[0])
        n1, n2 = col(names[0]), col(names[1])
        return n1, n2, n1 + n2
    for a, b in N_PAIRS:
        if a in data.columns and b in data.columns:
            n1, n2 = col(a), col(b)
            return n1, n2, n1 + n2
    for name in N_TOTALS:
        if name in data.columns:
            return nan, nan, col(name)
    return nan, nan, nan


def _reported_bounds(
    res: MetaAnalysisResult, ci_columns: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    names = list(ci_columns)
    data = res.es.data if res.es.data is not None else pd.DataFrame()
    missing = [c for c in names if c not in data.columns]
    if len(names) != 2 or missing:
        raise InputError(
            Problem(
                f"ci_columns={ci_columns!r} must name two columns of the effect-size data "
                f"(lower, upper); missing: {', '.join(map(repr, missing))}"
            )
        )
    lower = pd.to_numeric(data[names[0]], errors="coerce").to_numpy(dtype=float)
    upper = pd.to_numeric(data[names[1]], errors="coerce").to_numpy(dtype=float)
    return lower, upper


def _order(frame: pd.DataFrame, sort: str | None) -> np.ndarray:
    idx = np.arange(len(frame))
    if sort is None:
        return idx
    key = {
        "estimate": frame["estimate"],
        "weight": -frame["weight"],
        "precision": frame["ci_upper"] - frame["ci_lower"],
        "label": frame["label"],
    }[sort]
    return idx[np.argsort(key.to_numpy(), kind="stable")]


def _sum(values: pd.Series) -> float:
    return float(values.sum(min_count=1))


def forest_frame(
    res: MetaAnalysisResult,
    subgroups: SubgroupResult | None = None,
    transform: Callable[[Any], Any] | None = None,
    *,
    labels: str | Sequence[str] | None = None,
    n_columns: Sequence[str] | str | None = None,
    ci_columns: tuple[str, str] | None = None,
    sort: str | None = None,
) -> pd.DataFrame:
    """Return the rows of a forest plot as a tidy frame, one row per drawn row.

    Parameters
    ----------
    res : MetaAnalysisResult
        The fitted model (the overall estimate, the study weights and the studies).
    subgroups : SubgroupResult, optional
        A subgroup analysis of the same studies; adds a heading and a subtotal row per
        subgroup and the test for subgroup differences.
    transform : callable, optional
        Back-transformation applied to estimates and bounds (``np.exp`` for ratio
        measures); the frame then holds e.g. risk ratios, not log risk ratios.
    labels : str or sequence of str, optional
        Study labels: a column of ``res.es.data`` (e.g. ``"author"``) or one label per
        study. Default: ``res.es.study``.
    n_columns : str or (str, str), optional
        Column(s) of ``res.es.data`` with the sample size: two names for the arms
        (group 1 = treatment, group 2 = control) or one for the total. Default: the first
        of ``("n1i", "n2i")``, ``("n_treat", "n_ctrl")``, ``("n1", "n2")``, ``"ni"``,
        ``"n"`` present; ``nan`` when there is none.
    ci_columns : (str, str), optional
        Columns of ``res.es.data`` with each study's confidence bounds as reported, on
        the analysis scale (as metafor's ``forest(x, ci.lb=, ci.ub=)``); studies whose
        bounds are missing get the normal-theory interval. Use it to show a trial's own
        interval (from a t distribution or an adjusted model) next to its ``yi``.
    sort : {"estimate", "weight", "precision", "label"}, optional
        Order of the studies (within each subgroup). Default: input order.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FOREST_COLUMNS`. ``kind`` is one of :data:`FOREST_KINDS`;
        ``group`` the subgroup (``None`` without subgroups and for overall rows);
        ``estimate``, ``ci_lower``, ``ci_upper`` on the scale of ``transform`` (for
        ``prediction`` rows the bounds are the prediction interval); ``weight`` in
        percent of the overall model (a subtotal's is the sum of its studies');
        ``n1``, ``n2``, ``n`` sample sizes (sums for subtotals and the overall row);
        ``test`` (``"z"`` or ``"t"``; ``"Q"``, ``"QM"`` or ``"F"`` for the test for
        subgroup differences), ``statistic``, ``df``, ``p_value`` the test of the
        pooled effect (``df`` of t; the denominator df of F); ``tau2``, ``i2``
        (percent), ``q``, ``q_df``, ``q_p_value`` the heterogeneity of the pooled rows
        (for ``subgroup_differences``: ``q`` is the between-subgroup statistic). Values
        are not rounded.

    Raises
    ------
    InputError
        Labels or sample-size columns that do not fit, an unknown ``sort``, or a subgroup
        analysis of other studies than ``res``.

    Notes
    -----
    Study confidence intervals are ``yi +/- z_{(1+level)/2} sqrt(vi)`` at the model's
    level, as metafor's ``forest()``; the pooled rows carry the model's own intervals
    (Knapp-Hartung if the model used it).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.plots import forest_frame
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> rows = forest_frame(meta_analysis(es), transform=np.exp)
    >>> rows["kind"].value_counts().to_dict()
    {'study': 13, 'overall': 1, 'prediction': 1}
    >>> rows.loc[rows["kind"] == "overall", ["estimate", "ci_lower", "ci_upper"]].round(4)
        estimate  ci_lower  ci_upper
    13    0.4894    0.3441    0.6962
    """
    if sort is not None:
        sort = check_choice("sort", sort, SORT_CHOICES)
    names = _study_labels(res, labels)
    n1, n2, n = _sample_sizes(res, n_columns)
    crit = _ndtri((1.0 + res.level) / 2.0)
    yi = np.asarray(res.es.yi, dtype=float)
    sei = np.sqrt(np.asarray(res.es.vi, dtype=float))
    lo, hi = yi - crit * sei, yi + crit * sei
    if ci_columns is not None:
        reported_lo, reported_hi = _reported_bounds(res, ci_columns)
        lo = np.where(np.isfinite(reported_lo), reported_lo, lo)
        hi = np.where(np.isfinite(reported_hi), reported_hi, hi)
    lo, hi = _apply(transform, lo), _apply(transform, hi)
    studies = pd.DataFrame(
        {
            "kind": "study",
            "group": None,
            "label": names,
            "k": 1,
            "estimate": _apply(transform, yi),
            "ci_lower": np.fmin(lo, hi),
            "ci_upper": np.fmax(lo, hi),
            "weight": np.asarray(res.weights, dtype=float),
            "n1": n1,
            "n2": n2,
            "n": n,
        }
    )
    t_test = res.test != "z"

    def pooled(kind: str, group: Any, label: str, **values: Any) -> dict[str, Any]:
        a, b = _apply(transform, [values.pop("ci_lower"), values.pop("ci_upper")])
        return {
            "kind": kind,
            "group": group,
            "label": label,
            "ci_lower": min(a, b),
            "ci_upper": max(a, b),
            **values,
        }

    blocks: list[pd.DataFrame] = []
    if subgroups is not None:
        if tuple(subgroups.overall.es.study) != tuple(res.es.study):
            raise InputError(Problem("subgroups= is a subgroup analysis of other studies than res"))
        data = subgroups.overall.es.data
        if data is None or subgroups.by not in data.columns:
            raise InputError(Problem(f"the subgroup column {subgroups.by!r} is not in the data"))
        membership = data[subgroups.by].astype(str).to_numpy()
        n_groups = len(subgroups.subgroups)

        def df_of(k_g: int) -> int:
            # Separate fits: t(k_g - 1); one model with a common tau^2: t(k - G).
            return k_g - 1 if subgroups.tau2_model == "separate" else res.k - n_groups

        records: list[dict[Any, Any]] = subgroups.subgroups.to_dict("records")
        for rec in records:
            group = str(rec["group"])
            members = studies[membership == group]
            members = members.iloc[_order(members, sort)].assign(group=group)
            k_g = int(rec["k"])
            header = {"kind": "heading", "group": group, "label": group}
            subtotal = pooled(
                "subtotal",
                group,
                "Subtotal",
                k=k_g,
                estimate=float(_apply(transform, rec["estimate"])),
                ci_lower=rec["ci_lower"],
                ci_upper=rec["ci_upper"],
                weight=_sum(members["weight"]),
                n1=_sum(members["n1"]),
                n2=_sum(members["n2"]),
                n=_sum(members["n"]),
                test="t" if t_test else "z",
                statistic=rec["statistic"],
                df=float(df_of(k_g)) if t_test else math.nan,
                p_value=rec["p_value"],
                tau2=rec["tau2"],
                i2=rec["i2"],
                q=rec["q"],
                q_df=float(k_g - 1) if math.isfinite(rec["q"]) else math.nan,
                q_p_value=rec["q_p_value"],
            )
            blocks += [pd.DataFrame([header]), members, pd.DataFrame([subtotal])]
    else:
        blocks.append(studies.iloc[_order(studies, sort)])

    overall_label = "Overall (random effects)" if res.random_effects else "Overall (equal effects)"
    tail = [
        pooled(
            "overall",
            None,
            overall_label,
            k=res.k,
            estimate=float(_apply(transform, res.estimate)),
            ci_lower=res.ci_lower,
            ci_upper=res.ci_upper,
            weight=_sum(studies["weight"]),
            n1=_sum(studies["n1"]),
            n2=_sum(studies["n2"]),
            n=_sum(studies["n"]),
            test="t" if t_test else "z",
            statistic=res.statistic,
            df=res.df if t_test else math.nan,
            p_value=res.p_value,
            tau2=res.tau2 if res.random_effects else math.nan,
            i2=res.i2,
            q=res.q,
            q_df=float(res.q_df),
            q_p_value=res.q_p_value,
        )
    ]
    if res.random_effects and math.isfinite(res.pi_lower) and math.isfinite(res.pi_upper):
        tail.append(
            pooled(
                "prediction",
                None,
                "Prediction interval",
                k=res.k,
                estimate=float(_apply(transform, res.estimate)),
                ci_lower=res.pi_lower,
                ci_upper=res.pi_upper,
            )
        )
    if subgroups is not None:
        tail.append(
            {
                "kind": "subgroup_differences",
                "group": None,
                "label": "Test for subgroup differences",
                "test": subgroups.q_between_distribution,
                "df": float(res.k - len(subgroups.subgroups))
                if subgroups.q_between_distribution == "F"
                else math.nan,
                "q": subgroups.q_between,
                "q_df": float(subgroups.q_between_df),
                "q_p_value": subgroups.q_between_p_value,
            }
        )
    blocks.append(pd.DataFrame(tail))
    frame = pd.concat([b for b in blocks if len(b)], ignore_index=True)
    frame = frame.reindex(columns=list(FOREST_COLUMNS))
    frame["k"] = frame["k"].astype("Int64")
    frame["test"] = frame["test"].astype(object).where(frame["test"].notna(), None)
    frame["group"] = frame["group"].astype(object).where(frame["group"].notna(), None)
    return frame


# ------------------------------------------------------------------ text
def _number(x: float, digits: int) -> str:
    return "" if not math.isfinite(x) else f"{x:.{digits}f}"


def _tau2_text(x: float) -> str:
    if x == 0 or x >= 0.01:
        return f"{x:.2f}"
    return f"{x:.2g}"


def _heterogeneity_text(row: pd.Series) -> str:
    if row["k"] == 1:
        return "Heterogeneity: not applicable (one study)"
    parts = []
    if math.isfinite(row["tau2"]):
        parts.append(f"τ² = {_tau2_text(row['tau2'])}")
    if math.isfinite(row["q"]):
        parts.append(f"Q = {row['q']:.2f}, df = {row['q_df']:.0f} ({format_p(row['q_p_value'])})")
    if math.isfinite(row["i2"]):
        parts.append(f"I² = {row['i2']:.0f}%")
    return "Heterogeneity: " + ("; ".join(parts) if parts else "not applicable")


def _test_text(row: pd.Series) -> str:
    if not math.isfinite(row["statistic"]):
        return "Test for overall effect: not applicable"
    name = f"t({row['df']:g})" if row["test"] == "t" else "z"
    return f"Test for overall effect: {name} = {row['statistic']:.2f} ({format_p(row['p_value'])})"


def _differences_text(row: pd.Series) -> str:
    if row["test"] == "F":
        return (
            f"Test for subgroup differences: F({row['q_df']:.0f}, {row['df']:.0f}) = "
            f"{row['q']:.2f} ({format_p(row['q_p_value'])})"
        )
    return (
        f"Test for subgroup differences: {row['test']} = {row['q']:.2f}, "
        f"df = {row['q_df']:.0f} ({format_p(row['q_p_value'])})"
    )


def format_forest_frame(frame: pd.DataFrame, *, digits: int = 2) -> pd.DataFrame:
    """Return the text of each row of :func:`forest_frame`, as the plot shows it.

    Parameters
    ----------
    frame : pandas.DataFrame
        The output of :func:`forest_frame`.
    digits : int, default 2
        Decimals of estimates and bounds.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``label``, ``n1``, ``n2``, ``n`` (integers as text),
        ``estimate_ci`` (``"0.49 [0.34, 0.70]"``; ``"[lo, hi]"`` for the prediction
        interval), ``weight`` (``"5.1%"``), ``heterogeneity`` and ``test`` (the lines
        under pooled rows; ``test`` also holds the test for subgroup differences). Empty
        strings where a row has no such text.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.plots import forest_frame, format_forest_frame
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> text = format_forest_frame(forest_frame(meta_analysis(es), transform=np.exp))
    >>> text.loc[13, ["label", "estimate_ci", "weight"]].tolist()
    ['Overall (random effects)', '0.49 [0.34, 0.70]', '100.0%']
    >>> text.loc[13, "heterogeneity"]
    'Heterogeneity: τ² = 0.31; Q = 152.23, df = 12 (p < 0.001); I² = 92%'
    """
    rows = []
    for _, row in frame.iterrows():
        kind = row["kind"]
        est, lo, hi = (_number(row[c], digits) for c in ("estimate", "ci_lower", "ci_upper"))
        if kind in ("study", "subtotal", "overall"):
            estimate_ci = f"{est} [{lo}, {hi}]" if est else ""
        elif kind == "prediction":
            estimate_ci = f"[{lo}, {hi}]"
        else:
            estimate_ci = ""
        pooled = kind in ("subtotal", "overall")
        if kind == "subgroup_differences":
            test = _differences_text(row)
        else:
            test = _test_text(row) if pooled else ""
        rows.append(
            {
                "kind": kind,
                "label": row["label"],
                "n1": _number(row["n1"], 0),
                "n2": _number(row["n2"], 0),
                "n": _number(row["n"], 0),
                "estimate_ci": estimate_ci,
                "weight": f"{row['weight']:.1f}%" if math.isfinite(row["weight"]) else "",
                "heterogeneity": _heterogeneity_text(row) if pooled else "",
                "test": test,
            }
        )
    return pd.DataFrame(rows, index=frame.index)


# ------------------------------------------------------------------ plot
def _is_exp(transform: Callable[[Any], Any] | None) -> bool:
    return transform is np.exp or transform is math.exp


def _measure_header(measure: str, transform: Callable[[Any], Any] | None, level: float) -> str:
    name = (
        measure if transform is not None and measure in RATIO_MEASURES else measure_label(measure)
    )
    return f"{name} [{100 * level:g}% CI]"


def forest_plot(
    res: MetaAnalysisResult,
    *,
    ax: Axes | None = None,
    subgroups: SubgroupResult | None = None,
    transform: Callable[[Any], Any] | None = None,
    labels: str | Sequence[str] | None = None,
    favours: tuple[str, str] = ("favours control", "favours treatment"),
    columns: Sequence[str] = ("n", "estimate_ci", "weight"),
    refline: float | None = 0.0,
    xlim: tuple[float, float] | None = None,
    sort: str | None = None,
    n_columns: Sequence[str] | str | None = None,
    ci_columns: tuple[str, str] | None = None,
) -> Axes:
    """Draw a forest plot: studies, subgroup subtotals, the overall diamond and the
    prediction interval, with the numbers beside them.

    Parameters
    ----------
    res : MetaAnalysisResult
        The fitted model.
    ax : matplotlib.axes.Axes, optional
        Where to draw. The table columns are drawn outside the axes, at fixed distances
        in inches, so leave room on both sides. Default: a new figure sized to fit.
    subgroups : SubgroupResult, optional
        A subgroup analysis of the same studies: a block per subgroup with a subtotal
        diamond and its heterogeneity line, and the test for subgroup differences.
    transform : callable, optional
        Back-transformation of estimates and bounds; ``np.exp`` for ratio measures
        draws on a log-scale axis.
    labels : str or sequence of str, optional
        Study labels (a column of ``res.es.data`` or one per study).
    favours : (str, str)
        Labels under the axis, left and right of the reference line.
    columns : sequence of {"n", "estimate_ci", "weight"}
        Table columns to show: sample sizes (per arm, or the total), effect with CI,
        weight. Sample sizes are left out when the data hold none.
    refline : float or None, default 0.0
        Reference line on the analysis scale (drawn at ``transform(refline)``, so at 1
        with ``np.exp``); ``None`` for none.
    xlim : (float, float), optional
        Axis limits on the drawn scale; intervals beyond them end in arrows.
    sort : {"estimate", "weight", "precision", "label"}, optional
        Study order (within subgroups); default input order.
    n_columns : str or (str, str), optional
        Sample-size columns, as :func:`forest_frame`.
    ci_columns : (str, str), optional
        Columns with reported study confidence bounds, as :func:`forest_frame`.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The rows are :func:`forest_frame` and the text is :func:`format_forest_frame`.
    Squares have areas proportional to the weights; whiskers are the study CIs; diamonds
    span the pooled CIs; the dashed bar is the prediction interval. Artists carry a
    ``gid`` (``"study_squares"``, ``"study_ci"``, ``"overall_diamond"``,
    ``"subtotal_diamond"``, ``"prediction_interval"``, ``"refline"``, and per text
    column ``"label"``, ``"n1"``, ``"n2"``, ``"n"``, ``"estimate_ci"``, ``"weight"``,
    ``"heterogeneity"``, ``"test"``, ``"favours"``) so that tests and reports can find
    them. Matches the layout of RevMan and of metafor's ``forest(res, addpred=TRUE)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from alsmeta import escalc, load_dataset, meta_analysis, subgroup_analysis
    >>> from alsmeta.plots import forest_plot
    >>> data = load_dataset("bcg")
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    >>> ax = forest_plot(meta_analysis(es), transform=np.exp, labels="author",
    ...                  favours=("favours vaccine", "favours control"))
    >>> ax.get_xscale()
    'log'
    >>> ax = forest_plot(meta_analysis(es), subgroups=subgroup_analysis(es, "alloc"),
    ...                  transform=np.exp)
    >>> len([p for p in ax.patches if p.get_gid() == "subtotal_diamond"])
    3
    """
    columns = list(columns)
    for c in columns:
        check_choice("columns", c, TABLE_COLUMNS)
    frame = forest_frame(
        res,
        subgroups,
        transform,
        labels=labels,
        n_columns=n_columns,
        ci_columns=ci_columns,
        sort=sort,
    )
    text = format_forest_frame(frame)
    log_axis = _is_exp(transform)

    # Display rows, top to bottom: ("row", frame index) or ("line", gid, text) or blank.
    display: list[tuple[str, Any, str]] = []
    kinds = frame["kind"].tolist()
    overall_index = kinds.index("overall")
    for i, kind in enumerate(kinds):
        if (kind == "heading" and display) or (kind == "overall" and subgroups is not None):
            display.append(("blank", None, ""))
        if kind == "subgroup_differences":
            display.append(("line", "test", str(text.at[i, "test"])))
            continue
        display.append(("row", i, ""))
        if kind == "subtotal":
            display.append(("line", "heterogeneity", str(text.at[i, "heterogeneity"])))
            display.append(("line", "test", str(text.at[i, "test"])))
        last_pooled = kind == "prediction" or (
            kind == "overall" and (i + 1 == len(kinds) or kinds[i + 1] != "prediction")
        )
        if last_pooled:
            display.append(("line", "heterogeneity", str(text.at[overall_index, "heterogeneity"])))
            display.append(("line", "test", str(text.at[overall_index, "test"])))
    n_rows = len(display)
    y_of: dict[Any, int] = {e[1]: n_rows - j for j, e in enumerate(display) if e[0] == "row"}

    # Table columns: which, their headers and widths (inches).
    has_arms = bool(frame["n1"].notna().any() and frame["n2"].notna().any())
    has_total = bool(frame["n"].notna().any())
    left_cols: list[tuple[str, str]] = []
    if "n" in columns and has_arms:
        left_cols = [("n1", "n (treat.)"), ("n2", "n (control)")]
    elif "n" in columns and has_total:
        left_cols = [("n", "n")]
    right_cols = [
        (
            c,
            _measure_header(res.es.measure, transform, res.level)
            if c == "estimate_ci"
            else "Weight",
        )
        for c in columns
        if c in ("estimate_ci", "weight")
    ]

    def width(col: str, header: str) -> float:
        longest = max([len(header), *(len(s) for s in text[col])])
        return text_width(longest, _FONT) + 0.25

    label_w = width("label", "Study")
    left_ws = [width(c, h) for c, h in left_cols]
    right_ws = [width(c, h) for c, h in right_cols]
    plot_w = 3.0
    lines_w = max([text_width(len(e[2]), _SMALL) for e in display if e[0] == "line"], default=0.0)
    left_w = max(label_w + sum(left_ws), lines_w - plot_w + 0.2)
    right_w = sum(right_ws) + 0.1
    if ax is None:
        bottom, top = 0.75, 0.15
        height = (n_rows + 1.0) * _ROW
        fig_w = left_w + plot_w + right_w + 0.3
        ax = new_axes(fig_w, bottom + height + top, (left_w + 0.1, bottom, plot_w, height))
    ax.set_ylim(0.5, n_rows + 1.5)

    # Heading row and table text.
    header_y = n_rows + 1
    xs_left: list[tuple[str, float, str]] = [("label", -left_w, "left")]
    edge = -sum(left_ws)
    for (c, _), w in zip(left_cols, left_ws, strict=True):
        edge += w
        xs_left.append((c, edge - 0.05, "right"))
    xs_right: list[tuple[str, float, str]] = []
    edge = 0.1
    for (c, _), w in zip(right_cols, right_ws, strict=True):
        edge += w
        xs_right.append((c, edge - 0.05, "right"))
    headers = dict([("label", "Study"), *left_cols, *right_cols])
    for anchor, cols in ((0, xs_left), (1, xs_right)):
        for c, dx, ha in cols:
            ax.text(
                anchor,
                header_y,
                headers[c],
                transform=offset_transform(ax, dx, 0, x="axes", y="data"),
                ha=ha,
                va="center",
                fontsize=_FONT,
                fontweight="bold",
                gid="header",
            )
    for j, entry in enumerate(display):
        y = n_rows - j
        if entry[0] == "line":
            ax.text(
                0,
                y,
                entry[2],
                transform=offset_transform(ax, -left_w, 0, x="axes", y="data"),
                ha="left",
                va="center",
                fontsize=_SMALL,
                gid=entry[1],
            )
            continue
        if entry[0] != "row":
            continue
        i = entry[1]
        kind = kinds[i]
        bold = kind in ("heading", "subtotal", "overall")
        for anchor, cols in ((0, xs_left), (1, xs_right)):
            for c, dx, ha in cols:
                value = str(text.at[i, c])
                if not value:
                    continue
                ax.text(
                    anchor,
                    y,
                    value,
                    transform=offset_transform(ax, dx, 0, x="axes", y="data"),
                    ha=ha,
                    va="center",
                    fontsize=_FONT,
                    gid=c,
                    fontweight="bold" if bold else "normal",
                )

    # Graphics on the data scale.
    study = frame[frame["kind"] == "study"]
    pooled = frame[frame["kind"].isin(["subtotal", "overall", "prediction"])]
    if xlim is None:
        bounds = np.concatenate(
            [
                study[["ci_lower", "ci_upper"]].to_numpy().ravel(),
                pooled[["ci_lower", "ci_upper"]].to_numpy().ravel(),
            ]
        )
        if refline is not None:
            bounds = np.append(bounds, _apply(transform, refline))
        bounds = bounds[np.isfinite(bounds) & ((bounds > 0) if log_axis else True)]
        lo, hi = float(bounds.min()), float(bounds.max())
        if log_axis:
            pad = (math.log(hi) - math.log(lo)) * 0.05 or 0.1
            xlim = (math.exp(math.log(lo) - pad), math.exp(math.log(hi) + pad))
        else:
            pad = (hi - lo) * 0.05 or 0.1
            xlim = (lo - pad, hi + pad)
    if log_axis:
        ax.set_xscale("log")
    ax.set_xlim(*xlim)
    x_lo, x_hi = min(xlim), max(xlim)

    ys = np.array([y_of[i] for i in study.index], dtype=float)
    est = study["estimate"].to_numpy(dtype=float)
    ci_lo = study["ci_lower"].to_numpy(dtype=float)
    ci_hi = study["ci_upper"].to_numpy(dtype=float)
    weight = study["weight"].to_numpy(dtype=float)
    ax.hlines(
        ys,
        np.clip(ci_lo, x_lo, x_hi),
        np.clip(ci_hi, x_lo, x_hi),
        colors="black",
        linewidths=0.9,
        gid="study_ci",
    )
    left_cut, right_cut = ci_lo < x_lo, ci_hi > x_hi
    if left_cut.any() or right_cut.any():
        for cut, edge, marker in ((left_cut, x_lo, "<"), (right_cut, x_hi, ">")):
            ax.scatter(
                np.full(cut.sum(), edge),
                ys[cut],
                marker=marker,
                s=30,
                color="black",
                gid="ci_clipped",
                zorder=3,
            )
    wmax = np.nanmax(weight) if np.isfinite(weight).any() else 1.0
    sizes = np.maximum(_SQUARE * np.nan_to_num(weight) / wmax, 6.0)
    inside = (est >= x_lo) & (est <= x_hi)
    ax.scatter(
        est[inside],
        ys[inside],
        s=sizes[inside],
        marker="s",
        color="#2b5d8a",
        edgecolors="none",
        zorder=3,
        gid="study_squares",
    )

    from matplotlib.patches import Polygon

    for idx, row in pooled.iterrows():
        y = y_of[idx]
        if row["kind"] == "prediction":
            ends = np.clip([row["ci_lower"], row["ci_upper"]], x_lo, x_hi)
            ax.plot(
                ends,
                [y, y],
                linestyle="--",
                color="black",
                linewidth=1.2,
                gid="prediction_interval",
            )
            continue
        diamond = Polygon(
            [
                (row["ci_lower"], y),
                (row["estimate"], y + 0.32),
                (row["ci_upper"], y),
                (row["estimate"], y - 0.32),
            ],
            closed=True,
            facecolor="black" if row["kind"] == "overall" else "0.45",
            edgecolor="black",
            linewidth=0.6,
            zorder=3,
            gid=f"{row['kind']}_diamond",
        )
        ax.add_patch(diamond)

    rows_y = [y_of[i] for i in frame.index if i in y_of]
    if refline is not None:
        ref = float(_apply(transform, refline))
        ax.vlines(
            ref, min(rows_y) - 0.5, header_y - 0.5, colors="black", linewidths=0.8, gid="refline"
        )
        for label, ha, dx in ((favours[0], "right", -0.06), (favours[1], "left", 0.06)):
            ax.text(
                ref,
                0,
                label,
                transform=offset_transform(ax, dx, -0.3, x="data", y="axes"),
                ha=ha,
                va="top",
                fontsize=_SMALL,
                gid="favours",
            )
    ax.axhline(header_y - 0.5, color="black", linewidth=0.6, gid="header_rule")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=_SMALL)
    if log_axis:
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

        decades = math.log10(x_hi / x_lo)
        subs = (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    return ax
