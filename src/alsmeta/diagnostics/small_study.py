"""Small-study effects and publication bias: Egger's regression test, Begg's rank test,
trim-and-fill, PET-PEESE and fail-safe N, as metafor's ``regtest()``, ``ranktest()``,
``trimfill()`` and ``fsn()``.

All of these have little power with few studies; below 10 studies every test says so in
its notes and with a :class:`UserWarning`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from alsmeta.diagnostics.influence import (
    check_result,
    json_float,
    json_list,
    no_such_column,
    readonly,
    with_notes,
)
from alsmeta.effects import EffectSizeTable
from alsmeta.errors import AlsmetaError, InputError, Problem, check_choice, check_level
from alsmeta.meta import meta_analysis, meta_regression
from alsmeta.meta._format import format_p
from alsmeta.meta._kernels import norm_isf, norm_sf, t_isf, t_sf
from alsmeta.meta.model import MetaAnalysisResult
from alsmeta.meta.regression import MetaRegressionResult

__all__ = [
    "BeggResult",
    "EggerResult",
    "FailSafeNResult",
    "PetPeeseResult",
    "RegressionEstimate",
    "TrimFillResult",
    "begg_test",
    "egger_test",
    "fail_safe_n",
    "pet_peese",
    "trim_and_fill",
]

MODELS: tuple[str, ...] = ("rma", "lm")
PREDICTORS: tuple[str, ...] = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
ESTIMATORS: tuple[str, ...] = ("L0", "R0")
SIDES: tuple[str, ...] = ("left", "right")
FSN_TYPES: tuple[str, ...] = ("Rosenthal", "Orwin", "Rosenberg")

#: Largest k for the exact null distribution of Kendall's statistic (its cost grows as
#: k^3); above it the normal approximation is used and the notes say so.
EXACT_KENDALL_MAX_N = 1000

#: Below this many studies the small-study tests get a low-power note and warning.
LOW_POWER_K = 10

_PREDICTOR_TEXT = {
    "sei": "standard error",
    "vi": "sampling variance",
    "ni": "sample size",
    "ninv": "inverse of the sample size",
    "sqrtni": "square root sample size",
    "sqrtninv": "inverse of the square root sample size",
}
_LIMIT_TEXT = {
    "sei": "Limit Estimate (as sei -> 0):   ",
    "vi": "Limit Estimate (as vi -> 0):    ",
    "ninv": "Limit Estimate (as ni -> inf):  ",
    "sqrtninv": "Limit Estimate (as ni -> inf):  ",
}


def _low_power(k: int, what: str) -> list[str]:
    if k >= LOW_POWER_K:
        return []
    msg = (
        f"k = {k}: {what} has little power with fewer than {LOW_POWER_K} studies; "
        "a non-significant result is not evidence of no small-study effects"
    )
    warnings.warn(msg, UserWarning, stacklevel=3)
    return [msg]


def _p_phrase(p: float) -> str:
    text = format_p(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def _sample_sizes(res: MetaAnalysisResult, ni: Any) -> np.ndarray:
    """Sample sizes from ``ni`` (values or a column name) or a column ``ni`` of the data."""
    data = res.es.data
    if ni is None:
        if data is None or "ni" not in data.columns:
            raise InputError(
                Problem(
                    "no sample size information available to use this predictor: give ni= "
                    "(values or a column name) or include a column 'ni' in the data"
                )
            )
        ni = "ni"
    if isinstance(ni, str):
        if data is None or ni not in data.columns:
            raise no_such_column(f"ni={ni!r}", data, column=ni)
        values = pd.to_numeric(data[ni], errors="coerce").to_numpy(dtype=float)
        column: str | None = ni
    else:
        values = np.asarray(ni, dtype=float).ravel()
        column = "ni"
        if values.size != res.k:
            raise InputError(Problem(f"ni has {values.size} values for {res.k} studies"))
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise InputError(
            [
                Problem("sample size must be a number > 0", row=int(i) + 1,
                        study=res.es.study[i], column=column)
                for i in np.flatnonzero(bad)
            ]
        )  # fmt: skip
    return values


# ------------------------------------------------------------------ Egger / regtest
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EggerResult:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest()``).

    ``statistic`` and ``p_value`` test the predictor's coefficient (z, or t with ``df``
    degrees of freedom); ``limit_estimate`` with its CI is the intercept, the estimate
    as the predictor goes to 0 (only for ``sei``, ``vi``, ``ninv``, ``sqrtninv``).
    ``coef`` and ``coef_se`` are (intercept, slope); ``sigma`` is the residual standard
    error of the ``lm`` model, ``tau2`` the residual tau^2 of the ``rma`` model.
    """

    result: MetaAnalysisResult
    model: str
    predictor: str
    statistic: float
    p_value: float
    df: float
    limit_estimate: float
    limit_ci_lower: float
    limit_ci_upper: float
    coef: np.ndarray
    coef_se: np.ndarray
    sigma: float
    tau2: float
    fit: MetaRegressionResult | None
    method: str
    test: str
    level: float
    k: int
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the test and the limit estimate."""
        return {
            "model": self.model,
            "predictor": self.predictor,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "k": self.k,
            "statistic": json_float(self.statistic),
            "p_value": json_float(self.p_value),
            "df": json_float(self.df),
            "limit_estimate": json_float(self.limit_estimate),
            "limit_ci_lower": json_float(self.limit_ci_lower),
            "limit_ci_upper": json_float(self.limit_ci_upper),
            "coef": json_list(self.coef),
            "coef_se": json_list(self.coef_se),
            "sigma": json_float(self.sigma),
            "tau2": json_float(self.tau2),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """The two coefficients: ``term``, ``estimate``, ``se``."""
        return pd.DataFrame(
            {"term": ["intrcpt", self.predictor], "estimate": self.coef, "se": self.coef_se}
        )

    def summary(self) -> str:
        """Text laid out like metafor's ``print(regtest(res))``."""
        if self.model == "lm":
            model = "weighted regression with multiplicative dispersion"
        else:
            kind = "fixed-effects" if self.method == "EE" else "mixed-effects"
            model = f"{kind} meta-regression model"
        lines = [
            "",
            "Regression Test for Funnel Plot Asymmetry",
            "",
            f"Model:     {model}",
            f"Predictor: {_PREDICTOR_TEXT[self.predictor]}",
            "",
        ]
        if math.isinf(self.df) or math.isnan(self.df):
            test = f"z = {self.statistic:.4f}, p {_p_phrase(self.p_value)}"
        else:
            test = f"t = {self.statistic:.4f}, df = {self.df:g}, p {_p_phrase(self.p_value)}"
        lines.append(f"Test for Funnel Plot Asymmetry: {test}")
        if not math.isnan(self.limit_estimate):
            lines.append(
                f"{_LIMIT_TEXT[self.predictor]}b = {self.limit_estimate:.4f} "
                f"(CI: {self.limit_ci_lower:.4f}, {self.limit_ci_upper:.4f})"
            )
        return with_notes(lines, self.notes)

    def __str__(self) -> str:
        return self.summary()


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted least squares as R's ``lm(y ~ X - 1, weights=w)``: coefficients, their
    standard errors (with the estimated dispersion), sigma and the residual df."""
    sw = np.sqrt(w)
    q, r = np.linalg.qr(x * sw[:, None])
    coef = np.linalg.solve(r, q.T @ (y * sw))
    resid = y - x @ coef
    df = x.shape[0] - x.shape[1]
    sigma2 = float(np.sum(w * resid**2)) / df if df > 0 else math.nan
    r_inv = np.linalg.inv(r)
    se = np.sqrt(sigma2 * np.sum(r_inv * r_inv, axis=1))
    return coef, se, math.sqrt(sigma2), df


def egger_test(
    res: MetaAnalysisResult,
    *,
    model: str = "rma",
    predictor: str = "sei",
    ni: Any = None,
) -> EggerResult:
    """Test for funnel-plot asymmetry by regressing the effect sizes on their precision.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit with k >= 3.
    model : {"rma", "lm"}
        ``"rma"`` (default): a meta-regression with the method, test, level and weights of
        ``res``; ``"lm"``: the classical Egger test, a weighted least-squares regression
        with weights ``1/v`` and a multiplicative dispersion parameter.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        The standard error (default), the sampling variance, the sample size, its
        inverse, its square root or the inverse square root.
    ni : str or array-like, optional
        Sample sizes for the ``ni`` predictors: a column of ``res.es.data`` or one value
        per study. Default: a column ``ni`` of the data.

    Returns
    -------
    EggerResult

    Raises
    ------
    InputError
        Unknown model or predictor, k < 3, no or bad sample sizes, a constant predictor.

    Notes
    -----
    Fits ``y_i = b0 + b1 x_i + e_i`` and tests ``b1 = 0``. Under ``"rma"``,
    ``e_i ~ N(0, v_i + tau^2)`` with tau^2 re-estimated by ``res.method`` and the test of
    ``res.test`` (z, or t with k - 2 df); under ``"lm"`` ``e_i ~ N(0, sigma^2 v_i)`` and
    a t test with k - 2 df. For ``sei``, ``vi``, ``ninv`` and ``sqrtninv`` the intercept
    ``b0`` is the limit estimate (the effect of an infinitely precise study) with its CI
    (under ``"lm"`` from t(k - 2)). Matches ``metafor::regtest(res, model=, predictor=)``.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected
    by a simple, graphical test. BMJ 315:629-634. doi:10.1136/bmj.315.7109.629

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import egger_test
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> eg = egger_test(meta_analysis(es))
    >>> round(eg.statistic, 4), round(eg.p_value, 4), round(eg.limit_estimate, 4)
    (-0.8033, 0.4218, -0.5104)
    """
    res = check_result(res, "egger_test", min_k=3)
    model = check_choice("model", model, MODELS)
    predictor = check_choice("predictor", predictor, PREDICTORS)
    v = np.asarray(res.es.vi, dtype=float)
    y = np.asarray(res.es.yi, dtype=float)
    if predictor == "sei":
        x = np.sqrt(v)
    elif predictor == "vi":
        x = v
    else:
        n = _sample_sizes(res, ni)
        x = {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[
            predictor
        ]
    if np.ptp(x) == 0:
        raise InputError(
            Problem(
                f"predictor {predictor!r} is the same for every study, so the model matrix "
                "is not of full rank and the test cannot be done"
            )
        )
    notes = _low_power(res.k, "the regression test")
    alpha = 1.0 - res.level
    fit: MetaRegressionResult | None = None
    if model == "rma":
        fit = meta_regression(
            res.es,
            pd.DataFrame({predictor: x}),
            method=res.method,
            test=res.test,
            level=res.level,
            weights=res.user_weights,
            tau2_ci=False,
        )
        coef = np.asarray(fit.coef, dtype=float)
        coef_se = np.asarray(fit.se, dtype=float)
        statistic = float(fit.statistic[1])
        p_value = float(fit.p_value[1])
        df = float(fit.df)
        est, lo, hi = float(coef[0]), float(fit.ci_lower[0]), float(fit.ci_upper[0])
        sigma, tau2 = math.nan, float(fit.tau2)
        notes += [n for n in fit.notes if n not in res.es.notes]
    else:
        design = np.column_stack([np.ones(res.k), x])
        coef, coef_se, sigma, df_int = _wls(y, design, 1.0 / v)
        df = float(df_int)
        statistic = float(coef[1] / coef_se[1])
        p_value = float(2.0 * t_sf(abs(statistic), df))
        crit = t_isf(alpha / 2, df)
        est = float(coef[0])
        lo, hi = est - crit * float(coef_se[0]), est + crit * float(coef_se[0])
        tau2 = math.nan
    if predictor not in _LIMIT_TEXT:
        est = lo = hi = math.nan
    return EggerResult(
        result=res,
        model=model,
        predictor=predictor,
        statistic=statistic,
        p_value=p_value,
        df=df,
        limit_estimate=est,
        limit_ci_lower=lo,
        limit_ci_upper=hi,
        coef=readonly(coef),
        coef_se=readonly(coef_se),
        sigma=sigma,
        tau2=tau2,
        fit=fit,
        method=res.method,
        test=res.test,
        level=res.level,
        k=res.k,
        notes=tuple(dict.fromkeys(notes)),
    )


# ------------------------------------------------------------------ Begg / ranktest
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BeggResult:
    """Rank correlation test for funnel-plot asymmetry (metafor's ``ranktest()``):
    Kendall's ``tau`` between standardised effect sizes and their variances, its
    two-sided ``p_value``, and whether the p-value is ``exact``."""

    result: MetaAnalysisResult
    tau: float
    p_value: float
    exact: bool
    k: int
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``tau``, ``p_value``, ``exact``, ``k``, ``notes``."""
        return {
            "tau": json_float(self.tau),
            "p_value": json_float(self.p_value),
            "exact": self.exact,
            "k": self.k,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Text laid out like metafor's ``print(ranktest(res))``."""
        lines = [
            "",
            "Rank Correlation Test for Funnel Plot Asymmetry",
            "",
            f"Kendall's tau = {self.tau:.4f}, p {_p_phrase(self.p_value)}",
        ]
        return with_notes(lines, self.notes)

    def __str__(self) -> str:
        return self.summary()


def _kendall_null_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0 .. n(n-1)/2, for the number of concordant pairs T of n untied
    pairs under independence (the Mahonian distribution; R's ``pkendall``), computed as
    probabilities so that it neither overflows nor loses precision for large n."""
    dist = np.ones(1)
    for i in range(2, n + 1):
        # Adding the i-th element adds 0..i-1 inversions, uniformly.
        c = np.concatenate([[0.0], np.cumsum(dist)])
        size = dist.size + i - 1
        upper = np.minimum(np.arange(size) + 1, dist.size)
        lower = np.maximum(np.arange(size) - i + 1, 0)
        dist = (c[upper] - c[lower]) / i
    return np.cumsum(dist)


def _tie_counts(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1].astype(float)


def _kendall_test(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """R's ``cor.test(x, y, method="kendall", exact=TRUE)``: tau-b, two-sided p, and
    whether the p-value is exact (no ties) or the normal approximation with the tie
    correction of the variance (ties, where R warns)."""
    n = x.size
    tau = float(stats.kendalltau(x, y).statistic)
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if not math.isfinite(tau):
        return math.nan, math.nan, False
    if not ties and n <= EXACT_KENDALL_MAX_N:
        q = round((tau + 1.0) * n * (n - 1) / 4.0)
        cdf = _kendall_null_cdf(n)
        p = 1.0 - cdf[q - 1] if q > n * (n - 1) / 4.0 else cdf[q]
        return tau, float(min(2.0 * p, 1.0)), True
    xt, yt = _tie_counts(x), _tie_counts(y)
    t0 = n * (n - 1) / 2.0
    t1 = float(np.sum(xt * (xt - 1))) / 2.0
    t2 = float(np.sum(yt * (yt - 1))) / 2.0
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1))) * float(np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2))) * float(np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1)) + v2 / (9.0 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    p = 2.0 * min(special.ndtr(z), special.ndtr(-z))
    return tau, float(p), False


def begg_test(res: MetaAnalysisResult) -> BeggResult:
    """Rank correlation test for funnel-plot asymmetry (Begg and Mazumdar).

    Parameters
    ----------
    res : MetaAnalysisResult
        A fit with k >= 3 (only its effect sizes and variances are used).

    Returns
    -------
    BeggResult

    Raises
    ------
    InputError
        ``res`` is not an intercept-only fit, or k < 3.

    Notes
    -----
    With the equal-effects estimate ``mu = sum(y/v) / sum(1/v)`` and ``vb = 1/sum(1/v)``,
    the standardised effects ``y*_i = (y_i - mu) / sqrt(v_i - vb)`` are correlated with
    ``v_i`` by Kendall's tau (tau-b). The p-value is exact (the permutation distribution
    of Kendall's statistic) when neither variable has ties, otherwise the normal
    approximation with the tie-corrected variance, as R's
    ``cor.test(method="kendall", exact=TRUE)``; the notes say which. Matches
    ``metafor::ranktest(res)`` (which ignores the model's method). Unlike R, whose exact
    computation divides by k! and returns NaN above k = 170, the exact distribution is
    computed as probabilities, up to k = 1000 (beyond: the normal approximation).

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics 50:1088-1101. doi:10.2307/2533446

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import begg_test
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> bt = begg_test(meta_analysis(es))
    >>> round(bt.tau, 4), round(bt.p_value, 4), bt.exact
    (0.0256, 0.9524, True)
    """
    res = check_result(res, "begg_test", min_k=3)
    notes = _low_power(res.k, "the rank correlation test")
    y = np.asarray(res.es.yi, dtype=float)
    v = np.asarray(res.es.vi, dtype=float)
    w = 1.0 / v
    mu = float(np.sum(w * y) / np.sum(w))
    vb = 1.0 / float(np.sum(w))
    y_star = (y - mu) / np.sqrt(v - vb)
    tau, p_value, exact = _kendall_test(y_star, v)
    ties = min(np.unique(y_star).size, np.unique(v).size) < res.k
    if not exact and not ties:
        notes.append(
            f"k > {EXACT_KENDALL_MAX_N}: the p-value is the normal approximation (metafor's "
            "exact computation overflows above k = 170 and returns NaN)"
        )
    elif not exact:
        msg = (
            "ties among the standardised effects or the variances: the p-value is the "
            "normal approximation, not exact (R warns 'Cannot compute exact p-value with ties')"
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return BeggResult(
        result=res, tau=tau, p_value=p_value, exact=exact, k=res.k, notes=tuple(notes)
    )


# ------------------------------------------------------------------ trim and fill
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrimFillResult:
    """Trim-and-fill (metafor's ``trimfill()``): ``k0`` studies estimated missing on
    ``side``, the ``filled_yi``/``filled_vi`` imputed for them, and ``model``, the fit to
    the observed plus filled studies (the original fit when ``k0 = 0``)."""

    result: MetaAnalysisResult
    model: MetaAnalysisResult
    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    iterations: int
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    notes: tuple[str, ...]

    @property
    def estimate(self) -> float:
        """The estimate of the model with the filled studies."""
        return self.model.estimate

    @property
    def se(self) -> float:
        """Its standard error."""
        return self.model.se

    @property
    def tau2(self) -> float:
        """Its tau^2."""
        return self.model.tau2

    @property
    def ci_lower(self) -> float:
        """Lower confidence bound of the estimate."""
        return self.model.ci_lower

    @property
    def ci_upper(self) -> float:
        """Upper confidence bound of the estimate."""
        return self.model.ci_upper

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``k0, side, estimator, se_k0, p_k0``, the filled model's main
        numbers and the filled studies."""
        m = self.model
        return {
            "k0": self.k0,
            "side": self.side,
            "estimator": self.estimator,
            "se_k0": json_float(self.se_k0),
            "p_k0": json_float(self.p_k0),
            "k": m.k,
            "method": m.method,
            "test": m.test,
            "level": m.level,
            "estimate": json_float(m.estimate),
            "se": json_float(m.se),
            "statistic": json_float(m.statistic),
            "p_value": json_float(m.p_value),
            "ci_lower": json_float(m.ci_lower),
            "ci_upper": json_float(m.ci_upper),
            "tau2": json_float(m.tau2),
            "i2": json_float(m.i2),
            "q": json_float(m.q),
            "filled_yi": json_list(self.filled_yi),
            "filled_vi": json_list(self.filled_vi),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """The augmented data: ``study``, ``yi``, ``vi``, ``filled`` (bool)."""
        k = self.result.k
        return pd.DataFrame(
            {
                "study": list(self.model.es.study),
                "yi": np.asarray(self.model.es.yi),
                "vi": np.asarray(self.model.es.vi),
                "filled": np.arange(self.model.k) >= k,
            }
        )

    def summary(self) -> str:
        """Text laid out like metafor's ``print(trimfill(res))``."""
        se = f" (SE = {self.se_k0:.4f})" if math.isfinite(self.se_k0) else ""
        head = [
            "",
            f"Estimated number of missing studies on the {self.side} side: {self.k0}{se}",
        ]
        if self.estimator == "R0":
            head.append(
                f"Test of H0: no missing studies on the {self.side} side:"
                f"{' ' * (6 if self.side == 'right' else 7)}p-val {_p_phrase(self.p_k0)}"
            )
        body = self.model.summary().splitlines()
        text = "\n".join(head + body)
        if self.notes:
            text += "\n\nNotes (trim and fill):\n" + "\n".join(f"- {n}" for n in self.notes)
        return text + "\n"

    def __str__(self) -> str:
        return self.summary()


def _quiet_fit(table: EffectSizeTable, **options: Any) -> MetaAnalysisResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(table, **options)


def _estimate_side(res: MetaAnalysisResult) -> str:
    """metafor's rule: regress y on sqrt(v) with the model's method; a negative slope
    means the small studies lie on the left, so studies are missing on the right."""
    sei = np.sqrt(np.asarray(res.es.vi, dtype=float))
    if np.ptp(sei) == 0:
        raise InputError(
            Problem(
                "every study has the same variance, so the side of the missing studies cannot "
                "be estimated; give side='left' or side='right'"
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = meta_regression(
            res.es,
            pd.DataFrame({"sei": sei}),
            method=res.method,
            weights=res.user_weights,
            tau2_ci=False,
        )
    return "right" if fit.coef[1] < 0 else "left"


def _filled_labels(study: tuple[str, ...], k0: int) -> tuple[str, ...]:
    taken = set(study)
    out = []
    for j in range(1, k0 + 1):
        label = f"Filled {j}"
        while label in taken:
            label += "*"
        out.append(label)
    return tuple(out)


def trim_and_fill(
    res: MetaAnalysisResult,
    *,
    estimator: str = "L0",
    side: str | None = None,
    maxiter: int = 100,
    test: str | None = None,
    level: float | None = None,
) -> TrimFillResult:
    """Estimate and impute studies missing from one side of the funnel plot.

    Parameters
    ----------
    res : MetaAnalysisResult
        An intercept-only fit with k >= 3.
    estimator : {"L0", "R0"}
        Duval and Tweedie's estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Where studies are missing. Default: estimated as metafor does (the sign of the
        slope of a meta-regression of ``y`` on ``sqrt(v)`` with ``res.method``: negative
        means missing on the right).
    maxiter : int
        Iteration limit of the trim step.
    test, level : optional
        Test and level of the model fitted to the filled data; default those of ``res``.
        metafor's ``trimfill(res)`` refits with its own defaults (``test="z"``,
        ``level=95``) unless they are passed to it; pass ``test="z", level=0.95`` to
        reproduce that.

    Returns
    -------
    TrimFillResult

    Raises
    ------
    InputError
        Bad options, k < 3, equal variances with ``side=None``.
    AlsmetaError
        The trim step did not converge in ``maxiter`` iterations.

    Notes
    -----
    The effects are sorted (mirrored first when ``side="right"``) and the iteration
    repeats until ``k0`` no longer changes: fit the model (``res.method``, user weights) to
    the ``k - k0`` smallest effects; centre all ``k`` effects at its estimate ``b``; rank
    their absolute values (ties by order); with ``S_r`` the sum of the ranks of the
    positive centred effects,

    - L0: ``k0 = (4 S_r - k (k + 1)) / (2k - 1)``,
    - R0: ``k0 = k - gamma - 1``, ``gamma`` the largest rank of a negative centred effect,

    rounded and truncated at 0. The ``k0`` most extreme effects are mirrored about the
    last ``b`` (``2b - y``), keep their variances, and the model is refitted to all
    ``k + k0`` studies with ``res.method`` and the given test and level. ``se_k0`` and, for
    R0, ``p_k0 = 0.5^(k0 + 1)`` are metafor's. Matches
    ``metafor::trimfill(res, estimator=, side=)``.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing
    and adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    doi:10.1111/j.0006-341X.2000.00455.x

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import trim_and_fill
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> tf = trim_and_fill(meta_analysis(es, method="EE"))
    >>> tf.k0, tf.side, round(tf.estimate, 4)
    (4, 'right', -0.291)
    """
    res = check_result(res, "trim_and_fill", min_k=3)
    estimator = check_choice("estimator", estimator, ESTIMATORS)
    if side is not None:
        side = check_choice("side", side, SIDES)
    if not isinstance(maxiter, int) or maxiter < 1:
        raise InputError(Problem(f"maxiter={maxiter!r} must be a positive integer"))
    test = res.test if test is None else test
    level = res.level if level is None else check_level(level)
    notes = _low_power(res.k, "trim-and-fill")
    if side is None:
        side = _estimate_side(res)

    sign = -1.0 if side == "right" else 1.0
    y_all = sign * np.asarray(res.es.yi, dtype=float)
    order = np.argsort(y_all, kind="stable")
    y = y_all[order]
    v = np.asarray(res.es.vi, dtype=float)[order]
    a = None if res.user_weights is None else np.asarray(res.user_weights, dtype=float)[order]
    k = res.k

    k0, k0_prev, iterations = 0, -1, 0
    beta = math.nan
    se_k0 = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            raise AlsmetaError(
                f"the trim-and-fill algorithm did not converge in {maxiter} iterations"
            )
        if k0 >= k:
            raise AlsmetaError(
                f"trim and fill estimated k0 = {k0} missing studies for k = {k}, leaving no "
                "study to fit (metafor fails here too)"
            )
        trimmed = EffectSizeTable(yi=y[: k - k0], vi=v[: k - k0])
        fit = _quiet_fit(
            trimmed,
            method=res.method,
            weights=None if a is None else a[: k - k0],
            tau2_ci=False,
        )
        beta = fit.estimate
        centred = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            negative = -signed[signed < 0]
            gamma = float(negative.max()) if negative.size else 0.0
            k0_raw = (k - gamma) - 1.0
            se_k0 = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        else:
            s_r = float(np.sum(signed[signed > 0]))
            k0_raw = (4.0 * s_r - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
            se_k0 = 4.0 * math.sqrt(var_sr) / (2.0 * k - 1.0) if var_sr >= 0 else math.nan
        k0 = max(0, round(k0_raw))
        # R's max(0, NaN) is NaN: an undefined SE stays undefined.
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)

    if math.isnan(se_k0):
        notes.append(
            "the variance formula of L0 is negative here, so the SE of k0 is undefined "
            "(metafor: NaN)"
        )
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 > 0:
        # Mirror the k0 most extreme effects about the last estimate: 2b - y.
        filled_yi = sign * (2.0 * beta - y[k - k0 :])
        filled_vi = v[k - k0 :]
        table = EffectSizeTable(
            yi=np.concatenate([res.es.yi, filled_yi]),
            vi=np.concatenate([res.es.vi, filled_vi]),
            study=res.es.study + _filled_labels(res.es.study, k0),
            measure=res.es.measure,
        )
        weights = None
        if a is not None:
            weights = np.concatenate([np.asarray(res.user_weights), a[k - k0 :]])
        model = _quiet_fit(table, method=res.method, test=test, level=level, weights=weights)
    else:
        filled_yi = np.empty(0)
        filled_vi = np.empty(0)
        if test == res.test and level == res.level:
            model = res
        else:
            model = _quiet_fit(
                res.es, method=res.method, test=test, level=level, weights=res.user_weights
            )
    return TrimFillResult(
        result=res,
        model=model,
        estimator=estimator,
        side=side,
        k0=int(k0),
        se_k0=float(se_k0),
        p_k0=float(p_k0),
        iterations=iterations,
        filled_yi=readonly(filled_yi),
        filled_vi=readonly(filled_vi),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ PET-PEESE
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RegressionEstimate:
    """The intercept (the estimate for a study with no sampling error) and slope of a
    precision-effect regression."""

    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    slope: float
    slope_se: float
    slope_p_value: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe dict of the fields."""
        return {
            key: json_float(getattr(self, key))
            for key in (
                "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "slope",
                "slope_se", "slope_p_value",
            )
        }  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PetPeeseResult:
    """PET (effect ~ standard error) and PEESE (effect ~ variance) meta-regressions, and
    the conditional choice between them (``selected``)."""

    result: MetaAnalysisResult
    pet: RegressionEstimate
    peese: RegressionEstimate
    selected: str
    alpha: float
    method: str
    notes: tuple[str, ...]

    @property
    def estimate(self) -> float:
        """The intercept of the selected model."""
        return self.peese.estimate if self.selected == "PEESE" else self.pet.estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: ``pet``, ``peese``, ``selected``, ``estimate``."""
        return {
            "pet": self.pet.to_dict(),
            "peese": self.peese.to_dict(),
            "selected": self.selected,
            "estimate": json_float(self.estimate),
            "alpha": self.alpha,
            "method": self.method,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per model (``PET``, ``PEESE``)."""
        rows = [{"model": "PET", **self.pet.to_dict()}, {"model": "PEESE", **self.peese.to_dict()}]
        return pd.DataFrame(rows).astype({"model": str}).fillna(np.nan)

    def summary(self) -> str:
        """Both intercepts in metafor's coefficient layout and the selected estimate."""
        header = (
            f"{'':6} {'estimate':>9} {'se':>7} {'zval':>8} {'pval':>7} {'ci.lb':>8} {'ci.ub':>8}"
        )
        lines = ["", f"PET-PEESE (meta-regressions, method {self.method})", "", header]
        for name, r in (("PET", self.pet), ("PEESE", self.peese)):
            lines.append(
                f"{name:6} {r.estimate:9.4f} {r.se:7.4f} {r.statistic:8.4f} "
                f"{format_p(r.p_value):>7} {r.ci_lower:8.4f} {r.ci_upper:8.4f}"
            )
        lines += ["", f"Selected: {self.selected} (estimate {self.estimate:.4f})"]
        return with_notes(lines, self.notes)

    def __str__(self) -> str:
        return self.summary()


def _precision_regression(
    res: MetaAnalysisResult, x: np.ndarray, name: str, method: str
) -> RegressionEstimate:
    fit = meta_regression(
        res.es, pd.DataFrame({name: x}), method=method, test="z", level=res.level,
        tau2_ci=False,
    )  # fmt: skip
    return RegressionEstimate(
        estimate=float(fit.coef[0]),
        se=float(fit.se[0]),
        statistic=float(fit.statistic[0]),
        p_value=float(fit.p_value[0]),
        ci_lower=float(fit.ci_lower[0]),
        ci_upper=float(fit.ci_upper[0]),
        slope=float(fit.coef[1]),
        slope_se=float(fit.se[1]),
        slope_p_value=float(fit.p_value[1]),
    )


def pet_peese(
    res: MetaAnalysisResult, *, method: str = "EE", alpha: float = 0.10
) -> PetPeeseResult:
    """Precision-effect test (PET) and precision-effect estimate with standard error (PEESE).

    Parameters
    ----------
    res : MetaAnalysisResult
        A fit with k >= 3 (its effect sizes, variances and level are used).
    method : str
        tau^2 estimator of the two meta-regressions; ``"EE"`` (default) is the weighted
        regression of Stanley and Doucouliagos with weights ``1/v``.
    alpha : float
        Two-sided level of PET's test of the intercept: when PET's p-value is below
        ``alpha`` (default 0.10, a one-sided 5% test) the PEESE estimate is selected,
        otherwise the PET estimate.

    Returns
    -------
    PetPeeseResult

    Raises
    ------
    InputError
        k < 3, or every study has the same variance.

    Notes
    -----
    PET: ``y_i = b0 + b1 sqrt(v_i) + e_i``; PEESE: ``y_i = b0 + b1 v_i + e_i``; both with
    ``e_i ~ N(0, v_i + tau^2)`` (tau^2 = 0 for ``"EE"``) and z-tests; ``b0`` is the
    estimate for a study with no sampling error. Matches
    ``metafor::rma(yi, vi, mods=~sqrt(vi), method="EE")`` and ``mods=~vi`` (metafor has no
    PET-PEESE function; ``regtest(model="lm")`` gives the same coefficients with a
    multiplicative dispersion).

    References
    ----------
    Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
    selection bias. Res Synth Methods 5:60-78. doi:10.1002/jrsm.1095

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> from alsmeta.diagnostics import pet_peese
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> pp = pet_peese(meta_analysis(es))
    >>> round(pp.pet.estimate, 4), pp.selected
    (-0.1909, 'PEESE')
    """
    res = check_result(res, "pet_peese", min_k=3)
    if not 0 < alpha < 1:
        raise InputError(Problem(f"alpha={alpha!r} must lie strictly between 0 and 1"))
    v = np.asarray(res.es.vi, dtype=float)
    if np.ptp(v) == 0:
        raise InputError(
            Problem("every study has the same variance, so PET and PEESE cannot be fitted")
        )
    notes = _low_power(res.k, "PET-PEESE")
    pet = _precision_regression(res, np.sqrt(v), "sei", method)
    peese = _precision_regression(res, v, "vi", method)
    selected = "PEESE" if pet.p_value < alpha else "PET"
    return PetPeeseResult(
        result=res,
        pet=pet,
        peese=peese,
        selected=selected,
        alpha=alpha,
        method=method,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ fail-safe N
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FailSafeNResult:
    """Fail-safe N (metafor's ``fsn()``): the number of null studies that would have to be
    added to reach ``alpha`` (Rosenthal, Rosenberg) or ``target`` (Orwin)."""

    type: str
    fsnum: float
    alpha: float
    p_value: float
    mean_effect: float
    target: float
    k: int
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; an infinite ``fsnum`` is ``None``."""
        return {
            "type": self.type,
            "fsnum": json_float(self.fsnum),
            "alpha": self.alpha,
            "p_value": json_float(self.p_value),
            "mean_effect": json_float(self.mean_effect),
            "target": json_float(self.target),
            "k": self.k,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Text laid out like metafor's ``print(fsn(...))``."""
        lines = ["", f"Fail-safe N Calculation Using the {self.type} Approach", ""]
        if self.type == "Rosenthal":
            lines += [
                f"Observed Significance Level: {format_p(self.p_value)}",
                f"Target Significance Level:   {self.alpha:g}",
            ]
        elif self.type == "Orwin":
            lines += [
                f"Average Effect Size: {self.mean_effect:.4f}",
                f"Target Effect Size:  {self.target:.4f}",
            ]
        else:
            lines += [
                f"Average Effect Size:         {self.mean_effect:.4f}",
                f"Observed Significance Level: {format_p(self.p_value)}",
                f"Target Significance Level:   {self.alpha:g}",
            ]
        n = "Inf" if math.isinf(self.fsnum) else f"{self.fsnum:.0f}"
        lines += ["", f"Fail-safe N: {n}"]
        return with_notes(lines, self.notes)

    def __str__(self) -> str:
        return self.summary()


def fail_safe_n(
    es: EffectSizeTable | MetaAnalysisResult | pd.DataFrame,
    *,
    type: str = "Rosenthal",  # metafor's argument name
    target: float | None = None,
    alpha: float = 0.05,
    weighted: bool = False,
) -> FailSafeNResult:
    """Compute the fail-safe N of Rosenthal, Orwin or Rosenberg.

    Parameters
    ----------
    es : EffectSizeTable, MetaAnalysisResult or DataFrame
        Effect sizes ``yi`` and variances ``vi`` (of a fit: its table).
    type : {"Rosenthal", "Orwin", "Rosenberg"}
        The approach.
    target : float, optional
        Orwin: the effect size to reduce the mean to (default half the mean; its sign is
        made that of the mean).
    alpha : float
        Rosenthal and Rosenberg: the significance level to reach.
    weighted : bool
        Orwin: use the inverse-variance weighted mean instead of the plain mean (metafor
        3.8's default is unweighted).

    Returns
    -------
    FailSafeNResult

    Raises
    ------
    InputError
        Unknown type, alpha not in (0, 1), fewer than 2 studies.

    Notes
    -----
    With ``z_i = y_i / sqrt(v_i)``:

    - Rosenthal (Stouffer): ``z = |sum z_i| / sqrt(k)``, one-sided ``p = 1 - Phi(z)``,
      ``N = max(0, k (z / z_{1-alpha})^2 - k)``.
    - Orwin: ``N = max(0, k (mean - target) / target)`` (infinite for ``target = 0``).
    - Rosenberg: with ``w_i = 1/v_i``, ``N = max(0, k ((sum w_i y_i / z_{1-alpha/2})^2 -
      sum w_i) / sum w_i)``, two-sided ``p`` of the equal-effects z-test.

    ``N`` is rounded up unless it is an integer to within sqrt(machine epsilon). Matches
    ``metafor::fsn(yi, vi, type=, target=, alpha=)`` (metafor 3.8-1; its random-effects
    type "REM" and the Fisher variant are not implemented).

    References
    ----------
    Rosenthal R (1979). The file drawer problem and tolerance for null results. Psychol
    Bull 86:638-641. doi:10.1037/0033-2909.86.3.638

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset
    >>> from alsmeta.diagnostics import fail_safe_n
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> fail_safe_n(es).fsnum, fail_safe_n(es, type="Rosenberg").fsnum
    (598, 370)
    """
    if isinstance(es, MetaAnalysisResult):
        table = es.es
    elif isinstance(es, EffectSizeTable):
        table = es
    elif isinstance(es, pd.DataFrame):
        table = EffectSizeTable.from_frame(es)
    else:
        raise InputError(
            Problem(
                "fail_safe_n needs an EffectSizeTable, a MetaAnalysisResult or a DataFrame "
                f"with yi and vi, got {_type_name(es)}"
            )
        )
    type_ = check_choice("type", type, FSN_TYPES)
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise InputError(Problem(f"alpha={alpha!r} must lie strictly between 0 and 1"))
    y = np.asarray(table.yi, dtype=float)
    v = np.asarray(table.vi, dtype=float)
    k = y.size
    if k < 2:
        raise InputError(Problem(f"fail_safe_n needs at least 2 studies; got k = {k}"))
    notes: list[str] = []
    p_value = mean = math.nan
    tgt = math.nan
    if type_ == "Rosenthal":
        z_avg = abs(float(np.sum(y / np.sqrt(v)))) / math.sqrt(k)
        p_value = float(norm_sf(z_avg))
        fsnum = max(0.0, k * (z_avg / norm_isf(alpha)) ** 2 - k)
    elif type_ == "Orwin":
        mean = float(np.sum(y / v) / np.sum(1.0 / v)) if weighted else float(np.mean(y))
        tgt = mean / 2.0 if target is None else float(target)
        if tgt == 0:
            fsnum = math.inf
        else:
            if np.sign(tgt) != np.sign(mean):
                tgt = -tgt
                notes.append(
                    "target had the opposite sign of the mean effect; its sign was flipped"
                )
            fsnum = max(0.0, k * (mean - tgt) / tgt)
    else:
        w = 1.0 / v
        mean = float(np.sum(w * y) / np.sum(w))
        z = mean / math.sqrt(1.0 / float(np.sum(w)))
        w_p = (float(np.sum(w * y)) / norm_isf(alpha / 2.0)) ** 2 - float(np.sum(w))
        p_value = float(2.0 * norm_sf(abs(z)))
        fsnum = max(0.0, k * w_p / float(np.sum(w)))
    if math.isfinite(fsnum):
        fsnum = (
            math.ceil(fsnum) if abs(fsnum - round(fsnum)) >= math.sqrt(np.finfo(float).eps)
            else round(fsnum)
        )  # fmt: skip
    if type_ != "Orwin" and target is not None:
        notes.append(f"target is only used by type='Orwin'; ignored for type={type_!r}")
    return FailSafeNResult(
        type=type_,
        fsnum=fsnum,
        alpha=alpha,
        p_value=p_value,
        mean_effect=mean,
        target=tgt,
        k=k,
        notes=tuple(notes),
    )


def _type_name(obj: Any) -> str:
    """The class name of ``obj`` for messages."""
    return type(obj).__name__
