"""Leave-one-out, influence, Baujat and cumulative diagnostics of an intercept-only model.

Every function takes a fitted :class:`~alsmeta.meta.MetaAnalysisResult` and refits with
its method, test, level and user weights, as metafor's ``leave1out()``, ``influence()``,
``baujat()`` and ``cumul()`` do. The refits are vectorised: the k leave-one-out models
(k - 1 studies each) are one ``(k, k - 1)`` call of the batch engine
(:func:`alsmeta.meta_analysis_by`), the k cumulative models one call with k groups.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.effects import EffectSizeTable
from alsmeta.errors import FewStudiesWarning, InputError, Problem
from alsmeta.meta import meta_analysis_by
from alsmeta.meta._format import format_p
from alsmeta.meta._kernels import chi2_ppf
from alsmeta.meta.model import MetaAnalysisResult

if TYPE_CHECKING:
    from alsmeta.meta.batch import BatchResult

__all__ = [
    "BaujatResult",
    "CumulativeResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "baujat",
    "cumulative",
    "influence",
    "leave_one_out",
]


# ------------------------------------------------------------------ shared helpers
def readonly(values: Any, dtype: Any = float) -> np.ndarray:
    """A read-only copy of ``values``."""
    a = np.array(values, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


def json_float(x: Any) -> float | None:
    """``float(x)``, or ``None`` when it is not finite (JSON has no nan)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def json_list(values: Any) -> list[float | None]:
    """A JSON-safe list of floats."""
    return [json_float(v) for v in np.asarray(values, dtype=float)]


def check_result(res: Any, what: str, min_k: int = 2) -> MetaAnalysisResult:
    """Validate that ``res`` is an intercept-only fit with at least ``min_k`` studies."""
    if not isinstance(res, MetaAnalysisResult):
        hint = (
            " (diagnostics need an intercept-only model from meta_analysis)"
            if type(res).__name__ == "MetaRegressionResult"
            else ""
        )
        raise InputError(
            Problem(
                f"{what} needs a MetaAnalysisResult from meta_analysis(), got "
                f"{type(res).__name__}{hint}"
            )
        )
    if res.k < min_k:
        raise InputError(
            Problem(f"{what} needs at least {min_k} studies; the model has k = {res.k}")
        )
    return res


def no_such_column(what: str, data: pd.DataFrame | None, column: str | None = None) -> InputError:
    """The error for ``what`` (e.g. ``order='year'``) naming a column ``data`` lacks,
    listing the columns it has."""
    available = [] if data is None else [str(c) for c in data.columns]
    return InputError(
        Problem(
            f"{what}: no such column; available columns: "
            f"{', '.join(map(repr, available)) or 'none'}",
            column=column,
        )
    )


def format_cell(x: float, digits: int = 4) -> str:
    """Fixed point with ``digits`` decimals, ``NA`` for nan (as R prints)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def format_columns(row_names: Sequence[str], columns: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A table laid out like R's print of a data frame: row names left-aligned, the
    columns right-aligned, two spaces apart (metafor's ``print.list.rma``)."""
    name_width = max((len(n) for n in row_names), default=0)
    widths = [max(len(h), *(len(c) for c in cells)) for h, cells in columns]
    lines = [
        " " * name_width
        + "".join(" " + h.rjust(w) for (h, _), w in zip(columns, widths, strict=True))
    ]
    for i, name in enumerate(row_names):
        cells = [cells[i].rjust(w) for (_, cells), w in zip(columns, widths, strict=True)]
        lines.append(name.ljust(name_width) + "".join(" " + c for c in cells))
    return "\n".join(lines)


def per_key_columns(frame: pd.DataFrame, obj: Any, keys: Sequence[str]) -> pd.DataFrame:
    """Add one column of ``frame`` per attribute of ``obj`` named in ``keys``, in order."""
    for key in keys:
        frame[key] = np.asarray(getattr(obj, key))
    return frame


def per_key_json_lists(obj: Any, keys: Sequence[str]) -> dict[str, list[float | None]]:
    """One JSON-safe list per attribute of ``obj`` named in ``keys``, in order."""
    return {key: json_list(getattr(obj, key)) for key in keys}


def with_notes(lines: list[str], notes: Sequence[str]) -> str:
    """Join a printed table's ``lines``, followed by a ``Notes:`` block when there are any."""
    if notes:
        lines = [*lines, "", "Notes:", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def _unscaled_vb(v: np.ndarray, tau2: np.ndarray, a: np.ndarray | None) -> np.ndarray:
    """Variance of the estimate without the Knapp-Hartung factor, row-wise."""
    if a is None:
        return 1.0 / np.sum(1.0 / (v + tau2[:, None]), axis=1)
    return np.sum(a * a * (v + tau2[:, None]), axis=1) / np.sum(a, axis=1) ** 2


def refit_groups(
    res: MetaAnalysisResult, index: Sequence[np.ndarray], context: str
) -> tuple[pd.DataFrame, list[str]]:
    """Fit one model per row set in ``index`` with the options of ``res``, in one call of
    :func:`alsmeta.meta_analysis_by`; return its table (groups in the order of ``index``)
    and notes. Warnings of the batch engine are re-issued naming ``context``."""
    rows = np.concatenate(index)
    labels = np.repeat(np.arange(1, len(index) + 1), [len(i) for i in index])
    y = np.asarray(res.es.yi)[rows]
    v = np.asarray(res.es.vi)[rows]
    table = EffectSizeTable(yi=y, vi=v, study=tuple(str(i) for i in range(1, rows.size + 1)))
    weights = None if res.user_weights is None else np.asarray(res.user_weights)[rows]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch: BatchResult = meta_analysis_by(
            table,
            labels,
            method=res.method,
            test=res.test,
            level=res.level,
            weights=weights,
            tau2_ci=False,
        )
    notes = []
    for w in caught:
        text = f"{context}: {w.message}"
        notes.append(text)
        warnings.warn(text, w.category, stacklevel=3)
    frame = batch.table.sort_values("group", kind="stable").reset_index(drop=True)
    return frame, notes


def _leave_one_out_index(k: int) -> np.ndarray:
    """Row ``i`` holds ``0..k-1`` without ``i``."""
    j = np.arange(k - 1)[None, :]
    return j + (j >= np.arange(k)[:, None])


def _s2w(res: MetaAnalysisResult, frame: pd.DataFrame, index: np.ndarray) -> np.ndarray:
    """The Knapp-Hartung factor of each refit (1 under z and t), recovered from its SE."""
    s2w = np.ones(len(frame))
    if res.test in ("knha", "adhoc") and index.shape[1] > 1:
        v = np.asarray(res.es.vi)[index]
        a = None if res.user_weights is None else np.asarray(res.user_weights)[index]
        tau2 = frame["tau2"].to_numpy(dtype=float)
        s2w = frame["se"].to_numpy(dtype=float) ** 2 / _unscaled_vb(v, tau2, a)
    return s2w


# ------------------------------------------------------------------ leave-one-out
_PER_FIT_KEYS = (
    "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "q", "q_p_value",
    "tau2", "i2", "h2",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LeaveOneOutResult:
    """One refit per omitted study (row ``i`` omits study ``i``), as metafor's
    ``leave1out()``: ``estimate, se, statistic, p_value, ci_lower, ci_upper, q,
    q_p_value, tau2, i2`` (percent) ``, h2``."""

    result: MetaAnalysisResult
    study: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    q: np.ndarray
    q_p_value: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    method: str
    test: str
    level: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per omitted study: ``study`` and the refit's statistics."""
        return per_key_columns(pd.DataFrame({"study": list(self.study)}), self, _PER_FIT_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``study`` and one list per statistic, in input order."""
        out: dict[str, Any] = {"method": self.method, "test": self.test, "level": self.level}
        out["study"] = list(self.study)
        out.update(per_key_json_lists(self, _PER_FIT_KEYS))
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """The table laid out like metafor's ``print(leave1out(res))``."""
        return _fit_table(self, "Leave-one-out analysis (row = study omitted)")

    def __str__(self) -> str:
        return self.summary()


def _fit_table(obj: Any, title: str) -> str:
    stat = "zval" if obj.test == "z" else "tval"
    columns = [
        ("estimate", [format_cell(x) for x in obj.estimate]),
        ("se", [format_cell(x) for x in obj.se]),
        (stat, [format_cell(x) for x in obj.statistic]),
        ("pval", [format_p(x) for x in obj.p_value]),
        ("ci.lb", [format_cell(x) for x in obj.ci_lower]),
        ("ci.ub", [format_cell(x) for x in obj.ci_upper]),
        ("Q", [format_cell(x) for x in obj.q]),
        ("Qp", [format_p(x) for x in obj.q_p_value]),
    ]
    if obj.method != "EE":
        columns.append(("tau2", [format_cell(x) for x in obj.tau2]))
    columns += [
        ("I2", [format_cell(x) for x in obj.i2]),
        ("H2", [format_cell(x) for x in obj.h2]),
    ]
    return with_notes(["", title, "", format_columns(obj.study, columns)], obj.notes)


def _few_notes(res: MetaAnalysisResult, what: str) -> list[str]:
    if res.k == 2:
        msg = f"k = 2: each {what} refit is a single study (tau^2 = 0, z-test), as metafor"
        warnings.warn(msg, FewStudiesWarning, stacklevel=3)
        return [msg]
    return []


def leave_one_out(res: MetaAnalysisResult) -> LeaveOneOutResult:
    """Refit the model k times, each time omitting one study.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit from :func:`alsmeta.meta_analysis` with k >= 2.

    Returns
    -------
    LeaveOneOutResult
        Row ``i`` is the model without study ``i`` (input order).

    Raises
    ------
    InputError
        ``res`` is not an intercept-only fit, or k < 2.

    Notes
    -----
    Each refit uses the method, test, level and user weights of ``res``; all k refits
    (k - 1 studies each) are fitted in one vectorised call of the batch engine. A refit
    that does not converge is ``nan`` with a warning (metafor leaves it ``NA``).
    Matches ``metafor::leave1out(rma(yi, vi, method=, test=, level=))``.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import leave_one_out
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> l1 = leave_one_out(meta_analysis(es))
    >>> l1.estimate[:3].round(4).tolist(), round(float(l1.tau2[0]), 4)
    ([-0.7071, -0.654, -0.6856], 0.3362)
    """
    res = check_result(res, "leave_one_out")
    index = _leave_one_out_index(res.k)
    frame, notes = refit_groups(res, list(index), "leave-one-out (group i = study row i omitted)")
    notes = _few_notes(res, "leave-one-out") + notes
    arrays = {key: readonly(frame[key].to_numpy(dtype=float)) for key in _PER_FIT_KEYS}
    return LeaveOneOutResult(
        result=res,
        study=res.es.study,
        method=res.method,
        test=res.test,
        level=res.level,
        notes=tuple(dict.fromkeys(notes)),
        **arrays,
    )


# ------------------------------------------------------------------ influence
_INFLUENCE_KEYS = (
    "rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight", "dfbetas",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class InfluenceResult:
    """Case-deletion diagnostics, as metafor's ``influence()``.

    ``rstudent`` (externally standardised residuals), ``dffits``, ``cook_d`` (Cook's
    distance), ``cov_r`` (covariance ratio), ``tau2_del`` and ``qe_del`` (tau^2 and Q
    without the study), ``hat``, ``weight`` (percent), ``dfbetas`` (of the intercept) and
    ``influential`` (metafor's ``is.infl``, the ``*`` of its print).
    """

    result: MetaAnalysisResult
    study: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    method: str
    test: str
    level: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, the measures and ``influential``."""
        frame = per_key_columns(pd.DataFrame({"study": list(self.study)}), self, _INFLUENCE_KEYS)
        frame["influential"] = np.asarray(self.influential)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with one list per measure."""
        out: dict[str, Any] = {"method": self.method, "test": self.test, "level": self.level}
        out["study"] = list(self.study)
        out.update(per_key_json_lists(self, _INFLUENCE_KEYS))
        out["influential"] = [bool(b) for b in self.influential]
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """The table laid out like metafor's ``print(influence(res))``."""
        columns = [
            ("rstudent", [format_cell(x) for x in self.rstudent]),
            ("dffits", [format_cell(x) for x in self.dffits]),
            ("cook.d", [format_cell(x) for x in self.cook_d]),
            ("cov.r", [format_cell(x) for x in self.cov_r]),
            ("tau2.del", [format_cell(x) for x in self.tau2_del]),
            ("QE.del", [format_cell(x) for x in self.qe_del]),
            ("hat", [format_cell(x) for x in self.hat]),
            ("weight", [format_cell(x) for x in self.weight]),
            ("dfbs", [format_cell(x) for x in self.dfbetas]),
            ("inf", ["*" if b else "" for b in self.influential]),
        ]
        lines = ["", "Influence diagnostics", "", format_columns(self.study, columns)]
        return with_notes(lines, self.notes)

    def __str__(self) -> str:
        return self.summary()


def influence(res: MetaAnalysisResult) -> InfluenceResult:
    """Compute case-deletion influence diagnostics for every study.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit with k >= 2.

    Returns
    -------
    InfluenceResult

    Raises
    ------
    InputError
        ``res`` is not an intercept-only fit, or k < 2.

    Notes
    -----
    With ``mu``, ``vb`` the full fit's estimate and variance, and ``mu_(i)``, ``vb_(i)``,
    ``tau2_(i)``, ``s2w_(i)`` those of the fit without study ``i`` (``s2w`` = 1 unless
    Knapp-Hartung), ``h_i`` the hat value (``w_i / sum(w)``, or ``a_i / sum(a)`` with user
    weights):

    - ``rstudent = (y_i - mu_(i)) / sqrt(s2w_(i) (v_i + tau2_(i)) + vb_(i))``
    - ``dffits = (mu - mu_(i)) / sqrt(s2w_(i) h_i (v_i + tau2_(i)))`` (with user weights
      ``h_i (v_i + tau2_(i))`` becomes ``sum_j a_j^2 (v_j + tau2_(i)) / sum(a)^2``)
    - ``cook_d = (mu - mu_(i))^2 / vb``, ``cov_r = vb_(i) / vb``
    - ``dfbetas = (mu - mu_(i)) / sqrt(s2w_(i) / sum_j 1/(v_j + tau2_(i)))``, the sum over
      all k studies.

    A study is flagged influential (metafor's ``is.infl``) when any of
    ``|dffits| > 3 sqrt(p/(k-p))``, ``pchisq(cook_d, p) > 0.5``, ``hat > 3p/k`` or
    ``|dfbetas| > 1`` holds (p = 1). The k refits run in one vectorised call. Matches
    ``metafor::influence(rma(yi, vi, method=, test=))``.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import influence
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> inf = influence(meta_analysis(es))
    >>> inf.rstudent[:2].round(4).tolist(), inf.cook_d[:2].round(4).tolist()
    ([-0.2181, -1.2918], [0.0017, 0.1132])
    """
    res = check_result(res, "influence")
    k, p = res.k, 1
    index = _leave_one_out_index(k)
    frame, notes = refit_groups(res, list(index), "influence (group i = study row i omitted)")
    notes = _few_notes(res, "influence") + notes

    y = np.asarray(res.es.yi, dtype=float)
    v = np.asarray(res.es.vi, dtype=float)
    a = None if res.user_weights is None else np.asarray(res.user_weights, dtype=float)
    mu_del = frame["estimate"].to_numpy(dtype=float)
    vb_del = frame["se"].to_numpy(dtype=float) ** 2
    tau2_del = frame["tau2"].to_numpy(dtype=float)
    qe_del = frame["q"].to_numpy(dtype=float)
    s2w_del = _s2w(res, frame, index)
    hat = np.asarray(res.weights, dtype=float) / 100.0
    vb = res.se**2

    resid = y - mu_del
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(v * s2w_del + vb_del + tau2_del * s2w_del)
        v_all = np.broadcast_to(v, (k, k))
        if a is None:
            pred_var = hat * (tau2_del + v)
            vb_all = 1.0 / np.sum(1.0 / (v_all + tau2_del[:, None]), axis=1)
        else:
            pred_var = np.sum(a * a * (v_all + tau2_del[:, None]), axis=1) / np.sum(a) ** 2
            vb_all = pred_var
        diff = res.estimate - mu_del
        dffits = diff / np.sqrt(s2w_del * pred_var)
        dfbetas = diff / np.sqrt(s2w_del * vb_all)
        cook_d = diff * diff / vb
        cov_r = vb_del / vb
    # metafor's is.infl; a comparison with nan is False, as R's NA | FALSE is not flagged.
    influential = (
        (np.abs(dffits) > 3.0 * math.sqrt(p / (k - p)))
        | (cook_d > chi2_ppf(0.5, p))
        | (hat > 3.0 * p / k)
        | (np.abs(dfbetas) > 1.0)
    )
    return InfluenceResult(
        result=res,
        study=res.es.study,
        rstudent=readonly(rstudent),
        dffits=readonly(dffits),
        cook_d=readonly(cook_d),
        cov_r=readonly(cov_r),
        tau2_del=readonly(tau2_del),
        qe_del=readonly(qe_del),
        hat=readonly(hat),
        weight=readonly(res.weights),
        dfbetas=readonly(dfbetas),
        influential=readonly(influential, dtype=bool),
        method=res.method,
        test=res.test,
        level=res.level,
        notes=tuple(dict.fromkeys(notes)),
    )


# ------------------------------------------------------------------ Baujat
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BaujatResult:
    """The coordinates of a Baujat plot, as returned by metafor's ``baujat()``.

    ``x``: the study's squared Pearson residual ``(y_i - mu)^2 / (v_i + tau^2)`` (its
    contribution to Q for an equal-effects model); ``y``: its influence on the pooled
    estimate, ``(mu_(i) - mu)^2 / vb_(i)``.
    """

    result: MetaAnalysisResult
    study: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, ``x``, ``y``."""
        return pd.DataFrame(
            {"study": list(self.study), "x": np.asarray(self.x), "y": np.asarray(self.y)}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with ``study``, ``x`` and ``y`` lists."""
        return {
            "study": list(self.study),
            "x": json_list(self.x),
            "y": json_list(self.y),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """The coordinates as a table (metafor's ``baujat()`` returns this data frame)."""
        columns = [
            ("x", [format_cell(x) for x in self.x]),
            ("y", [format_cell(x) for x in self.y]),
        ]
        lines = ["", "Baujat plot coordinates", "", format_columns(self.study, columns)]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def baujat(res: MetaAnalysisResult) -> BaujatResult:
    """Compute the coordinates of a Baujat plot.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit with k >= 2.

    Returns
    -------
    BaujatResult

    Raises
    ------
    InputError
        ``res`` is not an intercept-only fit, or k < 2.

    Notes
    -----
    ``x_i = (y_i - mu)^2 / (v_i + tau^2)``, ``y_i = (mu_(i) - mu)^2 / vb_(i)`` with
    ``mu_(i)`` and ``vb_(i)`` (including any Knapp-Hartung factor) from the fit without
    study ``i``; the k refits run in one vectorised call. Matches the data frame returned
    by ``metafor::baujat(rma(...))``. Drawing the plot belongs to :mod:`alsmeta.plots`.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import baujat
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> bj = baujat(meta_analysis(es, method="EE"))
    >>> bj.x[:2].round(4).tolist(), bj.y[:2].round(4).tolist()
    ([0.6472, 6.8571], [0.0033, 0.0583])
    """
    res = check_result(res, "baujat")
    index = _leave_one_out_index(res.k)
    frame, notes = refit_groups(res, list(index), "baujat (group i = study row i omitted)")
    y = np.asarray(res.es.yi, dtype=float)
    v = np.asarray(res.es.vi, dtype=float)
    mu_del = frame["estimate"].to_numpy(dtype=float)
    vb_del = frame["se"].to_numpy(dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (y - res.estimate) ** 2 / (res.tau2 + v)
        yy = (mu_del - res.estimate) ** 2 / vb_del
    return BaujatResult(
        result=res, study=res.es.study, x=readonly(x), y=readonly(yy), notes=tuple(notes)
    )


# ------------------------------------------------------------------ cumulative
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CumulativeResult:
    """Cumulative meta-analysis, as metafor's ``cumul()``: row ``j`` is the model of the
    first ``j + 1`` studies in ``order`` (0-based indices into the input rows)."""

    result: MetaAnalysisResult
    order: np.ndarray
    study: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    q: np.ndarray
    q_p_value: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    method: str
    test: str
    level: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per step: ``study`` added, ``index`` (input row, 0-based), statistics."""
        frame = pd.DataFrame({"study": list(self.study), "index": np.asarray(self.order)})
        return per_key_columns(frame, self, _PER_FIT_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``order`` (0-based input rows), ``study`` and the statistics."""
        out: dict[str, Any] = {"method": self.method, "test": self.test, "level": self.level}
        out["order"] = [int(i) for i in self.order]
        out["study"] = list(self.study)
        out.update(per_key_json_lists(self, _PER_FIT_KEYS))
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """The table laid out like metafor's ``print(cumul(res))``."""
        return _fit_table(self, "Cumulative meta-analysis (row = study added)")

    def __str__(self) -> str:
        return self.summary()


def _sort_order(values: Any, decreasing: bool) -> np.ndarray:
    """R's ``order(values, decreasing=)``: stable, missing values last."""
    series = pd.Series(values)
    codes, _ = pd.factorize(series, sort=True)
    missing = codes < 0
    key = -codes if decreasing else codes
    # lexsort: last key is primary; missing values go last either way.
    return np.lexsort((np.arange(codes.size), key, missing))


def cumulative(
    res: MetaAnalysisResult, *, order: Any = None, decreasing: bool = False
) -> CumulativeResult:
    """Add the studies one at a time, refitting after each.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit.
    order : str or array-like, optional
        The values to sort the studies by (e.g. publication year): a column of
        ``res.es.data`` or one value per study. Ties keep input order; missing values
        go last. Default: input order.
    decreasing : bool
        Sort in decreasing order.

    Returns
    -------
    CumulativeResult

    Raises
    ------
    InputError
        ``res`` is not an intercept-only fit, ``order`` names no column or has the wrong
        length.

    Notes
    -----
    Step ``j`` fits the first ``j`` studies in the sorted order with the method, test,
    level and weights of ``res`` (the first step is a single study: tau^2 = 0 and the
    z-test, as metafor). All k fits run in one call of the batch engine. As in metafor
    3.8, ``order`` holds sort values, not a permutation. Matches
    ``metafor::cumul(rma(...), order=year)``.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import cumulative
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> cu = cumulative(meta_analysis(es), order="year")
    >>> cu.estimate[:3].round(4).tolist()
    [-0.8893, -1.325, -0.9721]
    """
    res = check_result(res, "cumulative", min_k=1)
    k = res.k
    if order is None:
        perm = np.arange(k)
    else:
        if isinstance(order, str):
            data = res.es.data
            if data is None or order not in data.columns:
                raise no_such_column(f"order={order!r}", data)
            values = data[order].to_numpy()
        else:
            values = np.asarray(order)
            if values.ndim != 1 or values.size != k:
                raise InputError(
                    Problem(f"order has {values.size} values for {k} studies; give one per study")
                )
        perm = _sort_order(values, decreasing)
    index = [perm[: j + 1] for j in range(k)]
    frame, notes = refit_groups(res, index, "cumulative (group j = first j studies)")
    arrays = {key: readonly(frame[key].to_numpy(dtype=float)) for key in _PER_FIT_KEYS}
    return CumulativeResult(
        result=res,
        order=readonly(perm, dtype=np.intp),
        study=tuple(res.es.study[i] for i in perm),
        method=res.method,
        test=res.test,
        level=res.level,
        notes=tuple(notes),
        **arrays,
    )
