"""Mixed-effects meta-regression: metafor's ``rma(yi, vi, mods=...)``."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import ConvergenceError, ConvergenceWarning, InputError, Problem
from alsmeta.meta import _kernels
from alsmeta.meta._format import format_number, format_p, format_table, significance_stars
from alsmeta.meta._kernels import chi2_sf, norm_isf, norm_sf, t_isf, t_sf
from alsmeta.meta._regkernels import (
    RegData,
    estimate_tau2_reg,
    loglik_from,
    prepare_design,
)
from alsmeta.meta.model import _as_table, _json_float, _readonly, check_options

if TYPE_CHECKING:
    from alsmeta.effects import EffectSizeTable

__all__ = ["COEFFICIENT_KEYS", "REGRESSION_KEYS", "MetaRegressionResult", "meta_regression"]

#: Keys of each coefficient in ``to_dict()["coefficients"]``.
COEFFICIENT_KEYS = ("term", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper")

#: Keys of a meta-regression in ``to_dict()``: those of a single fit, then the
#: moderator part. ``estimate`` to ``pi_upper`` are ``None``: a meta-regression has one
#: estimate per coefficient (``coefficients``) and predictions per moderator value.
REGRESSION_KEYS: tuple[str, ...] = (
    "k", "method", "test", "level", "estimate", "se", "statistic", "p_value",
    "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "tau2_ci_lower",
    "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_p_value",
    "coefficients", "qm", "qm_df", "qm_p_value", "r2",
)  # fmt: skip

INTERCEPT = "intrcpt"


@dataclass(frozen=True, slots=True)
class Design:
    """A model matrix with its column names and, for formulas, how to rebuild it."""

    x: np.ndarray
    terms: tuple[str, ...]
    intercept: bool
    spec: Any = None  # formulaic ModelSpec, to build rows for new data
    formula: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _readonly(self.x))


def _required_variables(formula: str) -> list[str]:
    from formulaic import Formula

    return sorted(str(v) for v in Formula(formula).required_variables)


def build_design(
    mods: Any, data: pd.DataFrame | None, k: int, study: tuple[str, ...], missing: str
) -> tuple[Design, np.ndarray]:
    """Turn ``mods`` (formula or matrix) into a design; return it and the rows kept."""
    keep = np.ones(k, dtype=bool)
    if isinstance(mods, str):
        if data is None:
            raise InputError(
                Problem(f"mods={mods!r} is a formula but there is no data to evaluate it on")
            )
        from formulaic import model_matrix

        try:
            variables = _required_variables(mods)
        except Exception as exc:  # formulaic raises several types for a malformed formula
            raise InputError(
                Problem(f"mods={mods!r} is not a valid formula ({exc}); quote column names "
                        "with spaces in backticks, e.g. C(`cell type`)")
            ) from None  # fmt: skip
        absent = [v for v in variables if v not in data.columns]
        if absent:
            raise InputError(
                [
                    Problem(
                        f"moderator {v!r} is not a column; available: "
                        f"{', '.join(map(str, data.columns))}",
                        column=v,
                    )
                    for v in absent
                ]
            )
        problems = []
        for v in variables:
            column = data[v]
            for i in np.flatnonzero(column.isna().to_numpy()):
                problems.append(
                    Problem("moderator value is missing", row=int(i) + 1, study=study[i], column=v)
                )
            categorical = not pd.api.types.is_numeric_dtype(column) or f"C({v}" in mods.replace(
                " ", ""
            )
            if categorical:
                levels = column.dropna().unique()
                if len(levels) < 2:
                    problems.append(
                        Problem(
                            f"factor has a single level ({levels[0]!r}); "
                            "it cannot explain differences",
                            column=v,
                        )
                        if len(levels)
                        else Problem("factor has no values", column=v)
                    )
        missing_rows = np.zeros(k, dtype=bool)
        for p in problems:
            if p.row is not None:
                missing_rows[p.row - 1] = True
        level_problems = [p for p in problems if p.row is None]
        if level_problems or (missing_rows.any() and missing != "drop"):
            raise InputError(problems)
        if missing_rows.any():
            keep = ~missing_rows
            dropped = [study[i] for i in np.flatnonzero(missing_rows)]
            warnings.warn(
                f"{len(dropped)} studies with missing moderator values dropped: "
                f"{', '.join(dropped)}",
                UserWarning,
                stacklevel=3,
            )
        subset = data.loc[keep].reset_index(drop=True)
        try:
            matrix = model_matrix(mods, subset, na_action="ignore")
        except Exception as exc:  # evaluation errors inside the formula (e.g. log of text)
            raise InputError(Problem(f"mods={mods!r} could not be evaluated: {exc}")) from None
        names = [INTERCEPT if c == "Intercept" else str(c) for c in matrix.columns]
        x = np.asarray(matrix, dtype=float)
        kept_study = [study[i] for i in np.flatnonzero(keep)]
        if x.shape[0] != len(subset):
            raise InputError(
                Problem(f"mods={mods!r} gave {x.shape[0]} rows for {len(subset)} studies")
            )
        bad = ~np.isfinite(x)
        if bad.any():
            raise InputError(
                [
                    Problem(
                        "moderator is not a finite number after evaluating the formula",
                        row=int(np.flatnonzero(keep)[i]) + 1,
                        study=kept_study[i],
                        column=names[j],
                    )
                    for i, j in zip(*np.nonzero(bad), strict=True)
                ]
            )
        return Design(x, tuple(names), "Intercept" in matrix.columns, matrix.model_spec, mods), keep

    values: np.ndarray
    if isinstance(mods, pd.DataFrame):
        names = [str(c) for c in mods.columns]
        values = mods.to_numpy(dtype=float)
    else:
        values = np.asarray(mods, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        names = [f"mod{j + 1}" for j in range(values.shape[1])]
    if values.ndim != 2 or values.shape[0] != k:
        raise InputError(Problem(f"mods has {values.shape[0]} rows for {k} studies"))
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(
            [
                Problem(
                    "moderator value is missing or not finite",
                    row=int(i) + 1,
                    study=study[i],
                    column=names[j],
                )
                for i, j in zip(*np.nonzero(bad), strict=True)
            ]
        )
    x = np.column_stack([np.ones(k), values])
    return Design(x, (INTERCEPT, *names), True), keep


def drop_redundant(design: Design) -> tuple[Design, list[str]]:
    """Drop columns that are linear combinations of earlier ones, as R's ``lm`` (and
    metafor) do; return the reduced design and the names dropped."""
    x = design.x
    norms = np.linalg.norm(x, axis=0)
    scaled = x / np.where(norms == 0, 1.0, norms)
    kept: list[int] = []
    for j in range(x.shape[1]):
        candidate = scaled[:, [*kept, j]]
        if norms[j] > 0 and np.linalg.matrix_rank(candidate, tol=1e-7) == len(kept) + 1:
            kept.append(j)
    dropped = [design.terms[j] for j in range(x.shape[1]) if j not in kept]
    if not dropped:
        return design, []
    reduced = Design(
        x[:, kept],
        tuple(design.terms[j] for j in kept),
        design.intercept,
        design.spec,
        design.formula,
    )
    return reduced, dropped


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MetaRegressionResult:
    """A fitted mixed-effects meta-regression (metafor's ``rma`` with ``mods``).

    Coefficient arrays are in the order of ``terms`` (intercept first, factor levels in
    sorted order after the reference level, as R's ``factor()``). ``tau2``, ``i2``,
    ``h2`` are residual quantities; ``q`` is metafor's ``QE`` (residual heterogeneity)
    and ``qm`` the omnibus test of the moderators (Wald chi-square, or F with
    ``(qm_df, k - p)`` degrees of freedom under ``test="knha"|"adhoc"|"t"``).
    """

    es: EffectSizeTable
    design: Design
    rows: np.ndarray  # indices of es rows used (all unless missing moderators were dropped)
    method: str
    test: str
    level: float
    k: int
    p: int
    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vcov: np.ndarray
    df: float
    tau2: float
    tau2_se: float
    tau2_ci_lower: float
    tau2_ci_upper: float
    i2: float
    h2: float
    r2: float
    q: float
    q_df: int
    q_p_value: float
    qm: float
    qm_df: int
    qm_p_value: float
    s2w: float
    loglik: float
    hat: np.ndarray
    fitted: np.ndarray
    weights: np.ndarray
    user_weights: np.ndarray | None
    notes: tuple[str, ...]

    def coefficients(self) -> pd.DataFrame:
        """The coefficient table: term, estimate, se, statistic, p_value, ci_lower, ci_upper."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "se": self.se,
                "statistic": self.statistic,
                "p_value": self.p_value,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with exactly the keys of :data:`REGRESSION_KEYS`."""
        out: dict[str, Any] = {}
        for key in REGRESSION_KEYS:
            if key in (
                "estimate",
                "se",
                "statistic",
                "p_value",
                "ci_lower",
                "ci_upper",
                "pi_lower",
                "pi_upper",
            ):
                out[key] = None
            elif key == "coefficients":
                out[key] = self._coefficient_records()
            else:
                value = getattr(self, key)
                out[key] = _json_float(value) if isinstance(value, float) else value
        return out

    def _coefficient_records(self) -> list[dict[str, Any]]:
        columns = {
            "estimate": self.coef, "se": self.se, "statistic": self.statistic,
            "p_value": self.p_value, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
        }  # fmt: skip
        return [
            {"term": term, **{name: _json_float(values[j]) for name, values in columns.items()}}
            for j, term in enumerate(self.terms)
        ]

    def to_frame(self) -> pd.DataFrame:
        """Per-study table: input columns, ``yi``, ``vi``, ``fitted``, ``hat``, ``weight``."""
        frame = self.es.to_frame().iloc[self.rows].reset_index(drop=True)
        frame["fitted"] = self.fitted
        frame["hat"] = self.hat
        frame["weight"] = self.weights
        return frame

    def predict(self, newmods: Any = None, *, transform: Any = None) -> pd.DataFrame:
        """Predicted effects with confidence and prediction intervals, as metafor's
        ``predict(res, newmods=)``.

        ``newmods`` is a DataFrame with the moderator columns of the formula, or rows of
        moderator values without the intercept (as metafor), or ``None`` for the fitted
        values of the studies. ``transform`` (e.g. ``np.exp``) is applied to the
        prediction and the bounds, as metafor's ``transf``.
        """
        if newmods is None:
            x0 = self.design.x
        elif isinstance(newmods, pd.DataFrame) and self.design.spec is not None:
            x0 = np.asarray(self.design.spec.get_model_matrix(newmods), dtype=float)
            x0 = x0[:, [list(_spec_names(self.design)).index(t) for t in self.terms]]
        else:
            rows = np.atleast_2d(np.asarray(newmods, dtype=float))
            if rows.shape[1] == self.p - int(self.design.intercept):
                rows = (
                    np.column_stack([np.ones(rows.shape[0]), rows])
                    if self.design.intercept
                    else rows
                )
            if rows.shape[1] != self.p:
                raise InputError(
                    Problem(
                        f"newmods has {rows.shape[1]} columns; the model has {self.p} coefficients"
                    )
                )
            x0 = rows
        pred = x0 @ self.coef
        se = np.sqrt(np.einsum("ij,jk,ik->i", x0, self.vcov, x0))
        crit = (
            norm_isf((1 - self.level) / 2)
            if self.test == "z"
            else t_isf((1 - self.level) / 2, self.df)
        )
        pi_se = np.sqrt(se**2 + self.tau2)
        out = pd.DataFrame(
            {
                "pred": pred,
                "se": se,
                "ci_lower": pred - crit * se,
                "ci_upper": pred + crit * se,
                "pi_lower": pred - crit * pi_se,
                "pi_upper": pred + crit * pi_se,
            }
        )
        if self.method == "EE":
            out["pi_lower"] = out["ci_lower"]
            out["pi_upper"] = out["ci_upper"]
        if transform is not None:
            for col in ("pred", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
                out[col] = transform(out[col].to_numpy())
            out = out.drop(columns="se")
        return out

    def summary(self) -> str:
        """Text laid out like metafor's print of a mixed-effects model."""
        from alsmeta.meta._format import _p_phrase

        if self.method == "EE":
            title = f"Equal-Effects with Moderators Model (k = {self.k})"
        else:
            title = f"Mixed-Effects Model (k = {self.k}; tau^2 estimator: {self.method})"
        lines = ["", title, ""]
        if self.method != "EE":
            se = "" if math.isnan(self.tau2_se) else f" (SE = {self.tau2_se:.4f})"
            lines += [
                f"tau^2 (estimated amount of residual heterogeneity):     {self.tau2:.4f}{se}",
                "tau (square root of estimated tau^2 value):             "
                f"{math.sqrt(self.tau2):.4f}",
                f"I^2 (residual heterogeneity / unaccounted variability): {self.i2:.2f}%",
                f"H^2 (unaccounted variability / sampling variability):   {self.h2:.2f}",
            ]
            if not math.isnan(self.r2):
                lines.append(
                    f"R^2 (amount of heterogeneity accounted for):            {self.r2:.2f}%"
                )
            lines.append("")
        lines += [
            "Test for Residual Heterogeneity:",
            f"QE(df = {self.q_df}) = {self.q:.4f}, p-val {_p_phrase(self.q_p_value)}",
            "",
        ]
        m = self.qm_df
        if self.test == "z":
            lines.append(
                f"Test of Moderators (coefficients 2:{self.p}):"
                if self.design.intercept
                else "Test of Moderators:"
            )
            lines.append(f"QM(df = {m}) = {self.qm:.4f}, p-val {_p_phrase(self.qm_p_value)}")
        else:
            lines.append(
                f"Test of Moderators (coefficients 2:{self.p}):"
                if self.design.intercept
                else "Test of Moderators:"
            )
            lines.append(
                f"F(df1 = {m}, df2 = {self.k - self.p}) = {self.qm:.4f}, "
                f"p-val {_p_phrase(self.qm_p_value)}"
            )
        lines += ["", "Model Results:", ""]
        header = ["", "estimate", "se", "zval" if self.test == "z" else "tval"]
        if self.test != "z":
            header.append("df")
        header += ["pval", "ci.lb", "ci.ub", ""]
        rows = []
        for j, term in enumerate(self.terms):
            row = [
                term,
                format_number(self.coef[j]),
                format_number(self.se[j]),
                format_number(self.statistic[j]),
            ]
            if self.test != "z":
                row.append(f"{self.df:g}")
            row += [
                format_p(self.p_value[j]),
                format_number(self.ci_lower[j]),
                format_number(self.ci_upper[j]),
                significance_stars(self.p_value[j]),
            ]
            rows.append(row)
        lines.append(format_table(header, rows))
        lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def _spec_names(design: Design) -> list[str]:
    names = [str(c) for c in design.spec.column_names]
    return [INTERCEPT if c == "Intercept" else c for c in names]


def meta_regression(
    es: EffectSizeTable | pd.DataFrame,
    mods: Any,
    *,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    weights: Any = None,
    missing: str = "raise",
    tau2_ci: bool = True,
) -> MetaRegressionResult:
    """Fit a mixed-effects meta-regression (or an equal-effects one with ``method="EE"``).

    Parameters
    ----------
    es : EffectSizeTable or DataFrame
        Effect sizes ``yi`` and sampling variances ``vi``.
    mods : str or array-like or DataFrame
        A formula such as ``"C(route) + followup"`` evaluated on ``data`` (default: the
        table's input rows) with treatment coding and the first sorted level as reference,
        as R's ``factor()``; or a matrix / DataFrame of numeric moderators (an intercept is
        added, as metafor does).
    data : DataFrame, optional
        Where the formula's variables live; defaults to ``es.data``.
    method, test, level, weights
        As :func:`alsmeta.meta_analysis`.
    missing : {"raise", "drop"}
        Studies with a missing moderator value: raise an error naming them (default) or
        drop them with a warning.
    tau2_ci : bool
        Compute the Q-profile CI of the residual tau^2.

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    InputError
        Unknown moderator column, a factor with a single level, missing moderator values,
        more coefficients than the studies can estimate.

    Notes
    -----
    Coefficients ``b = (X'WX)^-1 X'Wy`` with ``W = diag(1/(v + tau^2))``, residual tau^2
    by the chosen estimator; ``QM = b' V^-1 b`` over the non-intercept coefficients
    (F = QM/m under Knapp-Hartung); ``QE`` with weights ``1/v``; pseudo-R^2 =
    ``max(0, 100 (tau^2_0 - tau^2)/tau^2_0)`` against the intercept-only fit with the same
    method (for EE models: the adjusted R^2 of the weighted regression). Redundant
    moderators are dropped with a warning, as metafor. Matches
    ``metafor::rma(yi, vi, mods=~..., method=, test=)``.

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_regression
    >>> bcg = load_dataset("bcg")
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    >>> res = meta_regression(es, "ablat")
    >>> res.coefficients()[["term", "estimate"]].round(4)
          term  estimate
    0  intrcpt    0.2515
    1    ablat   -0.0291
    """
    if missing not in ("raise", "drop"):
        raise InputError(Problem(f"missing={missing!r} is not valid; use one of 'raise', 'drop'"))
    # With separate moderator data, dropped effect sizes would misalign the rows: raise.
    table = _as_table(es, "raise" if data is not None else missing)
    method, test, level, user_weights = check_options(table, method, test, level, weights)
    frame = data if data is not None else table.data
    design, keep = build_design(mods, frame, table.k, table.study, missing)
    notes = list(table.notes)
    design, dropped = drop_redundant(design)
    if dropped:
        msg = (
            f"redundant moderator column(s) dropped (constant or a linear combination of "
            f"earlier ones): {', '.join(dropped)}"
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    rows = np.flatnonzero(keep)
    rows.setflags(write=False)
    y = np.asarray(table.yi, dtype=float)[rows]
    v = np.asarray(table.vi, dtype=float)[rows]
    a = None if user_weights is None else user_weights[rows]
    k, p = design.x.shape
    needed = p if method == "EE" else p + 1
    if needed > k:
        raise InputError(
            Problem(
                f"{k} studies cannot estimate {p} coefficients"
                + ("" if method == "EE" else " and tau^2")
                + f" ({', '.join(design.terms)})"
            )
        )

    d = prepare_design(y, v, design.x)
    with np.errstate(all="ignore"):
        fit = _fit(d, method=method, test=test, level=level, weights=a, tau2_ci=tau2_ci)
    if not fit["converged"]:
        raise ConvergenceError(
            f"{method} estimation of tau^2 did not converge; try method='PM' or 'DL'"
        )
    if fit["boundary_reset"]:
        msg = (
            f"{method}: the likelihood at tau^2 = 0 is higher than at the local maximum "
            "found; tau^2 set to 0"
        )
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    if k - p <= 2 and test == "z" and method != "EE":
        notes.append(f"only {k - p} residual degrees of freedom: consider test='knha'")

    return MetaRegressionResult(
        es=table,
        design=design,
        rows=rows,
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        terms=design.terms,
        user_weights=None if a is None else _readonly(a),
        notes=tuple(dict.fromkeys(notes)),
        **{  # type: ignore[arg-type]
            key: (_readonly(val) if isinstance(val, np.ndarray) else val)
            for key, val in fit.items()
            if key not in ("converged", "boundary_reset")
        },
    )


def _fit(
    d: RegData, *, method: str, test: str, level: float, weights: np.ndarray | None, tau2_ci: bool
) -> dict[str, Any]:  # values are floats, ints or arrays; typed loosely for the ** below
    """Fit one meta-regression on prepared data; plain floats and arrays out."""
    k, p = d.k, d.p
    tf = estimate_tau2_reg(d, method, weights)
    tau2 = float(tf.tau2)
    f = d.fit_at(tau2)
    coef, vcov, s2w = coefficient_inference(d, f, tau2, test, weights)
    shares = f.w if weights is None else weights
    weight_pct = 100.0 * shares / shares.sum()
    s2w = float(s2w)
    se = np.sqrt(np.diag(vcov))
    statistic = coef / se
    alpha = 1 - level
    btt = moderator_columns(d.x)
    m = len(btt)
    qm = float(wald_statistic(coef, vcov, btt)) if m else math.nan
    if test == "z":
        df = math.inf
        p_value = 2.0 * norm_sf(np.abs(statistic))
        crit = norm_isf(alpha / 2)
        qm_p = float(chi2_sf(qm, m)) if m else math.nan
    else:
        df = float(k - p)
        p_value = 2.0 * t_sf(np.abs(statistic), df)
        crit = t_isf(alpha / 2, df)
        qm = qm / m if m else math.nan
        from scipy.special import fdtrc

        qm_p = float(fdtrc(m, k - p, qm)) if m else math.nan

    f0 = d.wls(1.0 / d.v)
    q = max(0.0, float(np.sum(f0.w * f0.resid**2)))
    q_p = float(chi2_sf(q, k - p)) if k > p else 1.0
    tr_p0 = float(np.sum(f0.w) - np.sum(f0.w**2 * f0.hat))
    if k > p:
        if method == "EE":
            i2 = max(0.0, 100.0 * (q - (k - p)) / q) if q > 0 else 0.0
            h2 = q / (k - p)
        else:
            vt = (k - p) / tr_p0
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0

    r2 = _pseudo_r2(d, method, tau2, weights, f0)

    ci_lo = ci_hi = math.nan
    if tau2_ci and method != "EE" and k > p:
        lo, hi, _status = _kernels.q_profile_ci(d, tau2, level)
        ci_lo, ci_hi = float(lo), float(hi)

    fitted = d.y - f.resid
    return {
        "coef": coef,
        "se": se,
        "statistic": statistic,
        "p_value": p_value,
        "ci_lower": coef - crit * se,
        "ci_upper": coef + crit * se,
        "vcov": vcov,
        "df": df,
        "tau2": tau2,
        "tau2_se": float(tf.tau2_se),
        "tau2_ci_lower": ci_lo,
        "tau2_ci_upper": ci_hi,
        "i2": float(i2),
        "h2": float(h2),
        "r2": r2,
        "q": q,
        "q_df": k - p,
        "q_p_value": q_p,
        "qm": qm,
        "qm_df": m,
        "qm_p_value": qm_p,
        "s2w": float(s2w),
        "loglik": float(loglik_from(d, f, tau2, reml=method == "REML")),
        "hat": f.w * f.hat,
        "fitted": fitted,
        "weights": weight_pct,
        "converged": bool(tf.converged),
        "boundary_reset": bool(tf.boundary_reset),
    }


def moderator_columns(x: np.ndarray) -> np.ndarray:
    """Indices of the coefficients metafor's QM tests: all but the intercept (the
    intercept itself in an intercept-only model)."""
    intercept = np.all(x == 1.0, axis=tuple(range(x.ndim - 1)))
    if intercept.all():
        return np.arange(x.shape[-1])
    return np.flatnonzero(~intercept) if intercept.any() else np.arange(x.shape[-1])


def wald_statistic(coef: np.ndarray, vcov: np.ndarray, btt: np.ndarray) -> Any:
    """``b' V^-1 b`` over the coefficients ``btt`` (batched over leading axes)."""
    b = coef[..., btt]
    v = vcov[..., btt[:, None], btt[None, :]]
    try:
        return np.einsum("...i,...i->...", b, np.linalg.solve(v, b[..., None])[..., 0])
    except np.linalg.LinAlgError:
        # A singular covariance (e.g. Knapp-Hartung with a perfect fit): metafor gives NA.
        if b.ndim == 1:
            return math.nan
        return np.array(
            [wald_statistic(c, w, np.arange(len(btt))) for c, w in zip(b, v, strict=True)]
        )


def coefficient_inference(
    d: RegData, f: Any, tau2: Any, test: str, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Coefficients on the original design, their covariance and the Knapp-Hartung
    factor ``s2w`` (1 unless ``test`` is ``"knha"`` or ``"adhoc"``); batched."""
    k, p = d.k, d.p
    if weights is None:
        beta_w, vb_w = f.beta, f.a_inv
    else:
        fa = d.wls(weights)
        beta_w = fa.beta
        xa = d.x * weights[..., :, None]
        meat = np.matmul(
            np.swapaxes(xa, -1, -2), xa * (d.v + np.asarray(tau2)[..., None])[..., :, None]
        )
        vb_w = fa.a_inv @ meat @ fa.a_inv
    s2w: Any = np.ones(np.shape(tau2))
    if test in ("knha", "adhoc"):
        rss = np.sum(f.w * f.resid**2, axis=-1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
    vb_w = np.asarray(s2w)[..., None, None] * vb_w
    s = d.transform
    coef = beta_w @ s.T
    vcov = s @ vb_w @ s.T
    return coef, vcov, s2w


def _pseudo_r2(d: RegData, method: str, tau2: float, weights: np.ndarray | None, f0: Any) -> float:
    """metafor's R^2: proportional reduction of tau^2 against the intercept-only model
    (``max(0, 100 (tau2_0 - tau2) / tau2_0)``, 0 when tau2_0 = 0); for EE models the
    adjusted R^2 of the weighted least-squares regression. ``nan`` without an intercept."""
    intercept_cols = np.all(d.x == 1.0, axis=0)
    if not intercept_cols.any() or d.p == 1:
        return math.nan
    k, p = d.k, d.p
    if method == "EE":
        w = 1.0 / d.v if weights is None else weights
        if np.var(d.y) == 0:
            return 0.0
        if k == p:  # saturated: the adjusted R^2 is undefined (NaN in R)
            return math.nan
        mean = np.sum(w * d.y) / np.sum(w)
        tss = np.sum(w * (d.y - mean) ** 2)
        fw = d.wls(w)
        rss = np.sum(w * fw.resid**2)
        adj = 1.0 - (rss / (k - p)) / (tss / (k - 1))
        return max(0.0, 100.0 * adj)
    base = _kernels.prepare(d.y, d.v)
    tau2_0 = float(_kernels.estimate_tau2(base, method, weights).tau2)
    if tau2_0 == 0:
        return 0.0
    return max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)
