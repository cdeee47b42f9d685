"""Subgroup analysis with a test for subgroup differences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.meta._format import format_p
from alsmeta.meta._kernels import chi2_sf
from alsmeta.meta.batch import meta_analysis_by
from alsmeta.meta.model import MetaAnalysisResult, _as_table, meta_analysis
from alsmeta.meta.regression import meta_regression

if TYPE_CHECKING:
    from alsmeta.effects import EffectSizeTable

__all__ = ["SUBGROUP_KEYS", "SubgroupResult", "subgroup_analysis"]

#: Top-level keys of ``SubgroupResult.to_dict()``.
SUBGROUP_KEYS = (
    "by", "tau2_model", "method", "test", "level", "subgroups",
    "q_between", "q_between_df", "q_between_p_value", "overall",
)  # fmt: skip

_GROUP_COLUMNS = ("group", "k", "estimate", "se", "statistic", "p_value", "ci_lower",
                  "ci_upper", "pi_lower", "pi_upper", "tau2", "i2", "q", "q_p_value")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SubgroupResult:
    """Pooled estimates per subgroup, the test for subgroup differences and the overall fit.

    ``subgroups`` has one row per level (sorted, as R's ``factor()``). With
    ``tau2_model="separate"`` each subgroup has its own tau^2 and ``q_between`` is the
    Cochran-type Q of the subgroup estimates (chi-square, ``G - 1`` df). With
    ``tau2_model="common"`` one tau^2 is shared (a meta-regression on the subgroup factor)
    and ``q_between`` is its omnibus moderator test (an F statistic under Knapp-Hartung).
    """

    by: str
    tau2_model: str
    method: str
    test: str
    level: float
    subgroups: pd.DataFrame
    q_between: float
    q_between_df: int
    q_between_p_value: float
    q_between_distribution: str
    overall: MetaAnalysisResult
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The per-subgroup table (unrounded)."""
        return self.subgroups.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with the keys of :data:`SUBGROUP_KEYS`."""

        def clean(value: Any) -> Any:
            if isinstance(value, float | np.floating):
                return float(value) if math.isfinite(value) else None
            if isinstance(value, np.integer):
                return int(value)
            return value

        return {
            "by": self.by,
            "tau2_model": self.tau2_model,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "subgroups": [
                {key: clean(val) for key, val in row.items()}
                for row in self.subgroups.to_dict(orient="records")
            ],
            "q_between": clean(self.q_between),
            "q_between_df": self.q_between_df,
            "q_between_p_value": clean(self.q_between_p_value),
            "overall": self.overall.to_dict(),
        }

    def summary(self) -> str:
        """A table of subgroups, the test for differences and the overall estimate."""
        table = self.subgroups[
            ["group", "k", "estimate", "ci_lower", "ci_upper", "p_value", "tau2", "i2"]
        ]
        lines = [
            "",
            f"Subgroup analysis by {self.by!r} ({self.method}, test={self.test}, "
            f"tau^2 {'separate per subgroup' if self.tau2_model == 'separate' else 'common'})",
            "",
            table.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
            "",
            f"Test for subgroup differences: {self.q_between_distribution} = {self.q_between:.4f}, "
            f"df = {self.q_between_df}, p-val {format_p(self.q_between_p_value)}",
            f"Overall ({self.overall.k} studies): estimate {self.overall.estimate:.4f} "
            f"[{self.overall.ci_lower:.4f}, {self.overall.ci_upper:.4f}]",
        ]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def subgroup_analysis(
    es: EffectSizeTable | pd.DataFrame,
    by: str,
    *,
    tau2: str = "separate",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> SubgroupResult:
    """Pool each subgroup, test whether subgroups differ, and pool everything.

    Parameters
    ----------
    es : EffectSizeTable or DataFrame
        Effect sizes with the grouping column among the input columns.
    by : str
        Column holding the subgroup of each study.
    tau2 : {"separate", "common"}
        Separate tau^2 per subgroup (the Cochrane Handbook's default, section 10.11.3.1)
        or one tau^2 shared by all subgroups (a mixed-effects meta-regression on the
        subgroup factor).
    method, test, level
        As :func:`alsmeta.meta_analysis`.

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Separate tau^2: each subgroup is fitted alone; the test for subgroup differences is
    ``Q_b = sum(w_g (mu_g - mu_w)^2)`` with ``w_g = 1/se_g^2``, chi-square on ``G - 1``
    df, which is metafor's ``rma(est, sei=se, mods=~factor(group), method="EE")``.
    Common tau^2: metafor's ``rma(yi, vi, mods=~factor(group))`` test of moderators, and
    subgroup estimates from the same model without intercept.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, subgroup_analysis
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> res = subgroup_analysis(es, "alloc", method="DL")
    >>> res.subgroups[["group", "k"]].values.tolist()
    [['alternate', 2], ['random', 7], ['systematic', 4]]
    >>> round(res.q_between, 4), res.q_between_df
    (1.5368, 2)
    """
    table = _as_table(es)
    tau2 = check_choice("tau2", tau2, ("separate", "common"))
    if table.data is None or by not in table.data.columns:
        available = [] if table.data is None else [str(c) for c in table.data.columns]
        raise InputError(
            Problem(f"no column {by!r} to form subgroups; available: {', '.join(available)}")
        )
    labels = table.data[by]
    if labels.isna().any():
        raise InputError(
            [
                Problem("subgroup is missing", row=int(i) + 1, study=table.study[i], column=by)
                for i in np.flatnonzero(labels.isna().to_numpy())
            ]
        )
    if labels.nunique() < 2:
        raise InputError(
            Problem(f"column {by!r} has a single subgroup; nothing to compare", column=by)
        )
    overall = meta_analysis(table, method=method, test=test, level=level)
    notes: list[str] = []
    if tau2 == "separate":
        batch = meta_analysis_by(table, by, method=method, test=test, level=level)
        groups = batch.to_frame()
        notes += list(batch.notes)
        w = 1.0 / groups["se"].to_numpy() ** 2
        est = groups["estimate"].to_numpy()
        mu = np.sum(w * est) / np.sum(w)
        q_b = float(np.sum(w * (est - mu) ** 2))
        df_b = len(groups) - 1
        p_b = float(chi2_sf(q_b, df_b))
        distribution = "Q"
        subgroups = groups[list(_GROUP_COLUMNS)].reset_index(drop=True)
    else:
        frame = table.to_frame()
        factor = f"C(`{by}`)"  # backticks: column names with spaces or symbols
        mr = meta_regression(table, factor, data=frame, method=method, test=test, level=level)
        cell = meta_regression(
            table, f"{factor} - 1", data=frame, method=method, test=test, level=level,
            tau2_ci=False,
        )  # fmt: skip
        q_b, df_b, p_b = mr.qm, mr.qm_df, mr.qm_p_value
        distribution = "QM" if test == "z" else "F"
        counts = labels.value_counts()
        names = [t.split("[", 1)[1][:-1] for t in cell.terms]  # "C(`g`)[level]" -> level
        pred = cell.predict(np.eye(cell.p))
        subgroups = pd.DataFrame(
            {
                "group": names,
                "k": [int(counts[_match_level(labels, n)]) for n in names],
                "estimate": cell.coef,
                "se": cell.se,
                "statistic": cell.statistic,
                "p_value": cell.p_value,
                "ci_lower": cell.ci_lower,
                "ci_upper": cell.ci_upper,
                "pi_lower": pred["pi_lower"].to_numpy(),
                "pi_upper": pred["pi_upper"].to_numpy(),
                "tau2": cell.tau2,
                "i2": cell.i2,
                "q": np.nan,
                "q_p_value": np.nan,
            }
        )
        notes.append("common tau^2: subgroups share one tau^2, so a per-subgroup Q is not defined")
    single = subgroups.loc[subgroups["k"] == 1, "group"].tolist()
    if single:
        notes.append(f"subgroup(s) with a single study: {', '.join(map(str, single))}")
    return SubgroupResult(
        by=by,
        tau2_model=tau2,
        method=overall.method,
        test=test,
        level=level,
        subgroups=subgroups,
        q_between=q_b,
        q_between_df=int(df_b),
        q_between_p_value=p_b,
        q_between_distribution=distribution,
        overall=overall,
        notes=tuple(notes),
    )


def _match_level(labels: pd.Series, name: str) -> Any:
    for level in labels.unique():
        if str(level) == name:
            return level
    return name
