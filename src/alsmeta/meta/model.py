"""Equal-effects and random-effects meta-analysis (metafor's ``rma.uni``, no moderators)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from alsmeta.errors import (
    ConvergenceError,
    ConvergenceWarning,
    FewStudiesWarning,
    InputError,
    Problem,
    check_choice,
    check_level,
)
from alsmeta.meta import _kernels
from alsmeta.meta._format import format_summary

if TYPE_CHECKING:
    import pandas as pd

    from alsmeta.effects import EffectSizeTable

__all__ = ["FIT_KEYS", "METHODS", "TESTS", "MetaAnalysisResult", "meta_analysis"]

METHODS = _kernels.METHODS
TESTS = _kernels.TESTS

#: The keys of one fit in ``to_dict()`` and in ``alsmeta fit --format json``, in order.
FIT_KEYS: tuple[str, ...] = (
    "k", "method", "test", "level", "estimate", "se", "statistic", "p_value",
    "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "tau2_ci_lower",
    "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_p_value",
)  # fmt: skip


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MetaAnalysisResult:
    """One fitted meta-analysis; every number is on the analysis scale (e.g. log RR).

    Attributes follow metafor's ``rma`` object under spelled-out names: ``estimate``
    (``b``), ``statistic`` (``zval``; a t statistic under ``test="t"``, ``"knha"`` and
    ``"adhoc"``), ``p_value`` (``pval``), ``tau2_se`` (``se.tau2``), ``q`` (``QE``),
    ``i2`` (``I2``, in percent), ``weights`` (``weights(res)``, percent).
    """

    es: EffectSizeTable
    method: str
    test: str
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    p_value: float
    df: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    tau2: float
    tau2_se: float
    tau2_ci_lower: float
    tau2_ci_upper: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    s2w: float
    loglik: float
    weights: np.ndarray
    user_weights: np.ndarray | None
    iterations: int
    notes: tuple[str, ...]

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return math.sqrt(self.tau2)

    @property
    def random_effects(self) -> bool:
        """``True`` unless the model is the equal-effects model."""
        return self.method != "EE"

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a JSON-safe dict with exactly the keys of :data:`FIT_KEYS`.

        Quantities that metafor does not define for this fit (the tau^2 CI of an
        equal-effects model, a tau^2 CI with one study) are ``None``.
        """
        out: dict[str, Any] = {}
        for key in FIT_KEYS:
            value = getattr(self, key)
            if isinstance(value, float):
                value = _json_float(value)
            out[key] = value
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the per-study table: input columns, ``yi``, ``vi``, ``weight`` (percent)."""
        frame = self.es.to_frame()
        frame["weight"] = np.asarray(self.weights)
        return frame

    def summary(self) -> str:
        """Return a text summary laid out like metafor's ``print(rma(...))``."""
        return format_summary(self)

    def __repr__(self) -> str:
        return (
            f"MetaAnalysisResult(k={self.k}, method={self.method!r}, test={self.test!r}, "
            f"estimate={self.estimate:.4g}, tau2={self.tau2:.4g})"
        )

    def __str__(self) -> str:
        return self.summary()


def _as_table(es: Any, missing: str = "raise") -> EffectSizeTable:
    """The effect sizes as a table whose every ``yi`` and ``vi`` is usable.

    Rows that ``escalc`` could not compute (``nan``), or a ``vi <= 0``, are an
    :class:`InputError` naming each row, or with ``missing="drop"`` are dropped with a
    warning and a note on the table (metafor drops them with a warning).
    """
    import pandas as pd

    from alsmeta.effects import EffectSizeTable

    if isinstance(es, pd.DataFrame):
        return EffectSizeTable.from_frame(es, missing=missing)
    if not isinstance(es, EffectSizeTable):
        raise InputError(
            Problem(
                "expected an EffectSizeTable (from escalc) or a DataFrame with columns "
                f"'yi' and 'vi', got {type(es).__name__}"
            )
        )
    check_choice("missing", missing, ("raise", "drop"))
    yi, vi = np.asarray(es.yi, dtype=float), np.asarray(es.vi, dtype=float)
    bad_y, bad_v = ~np.isfinite(yi), ~(np.isfinite(vi) & (vi > 0))
    bad = bad_y | bad_v
    if not bad.any():
        return es
    if missing == "raise":
        problems = [
            Problem(
                "effect size is missing (escalc could not compute it); fix the input or "
                "use missing='drop'",
                row=int(i) + 1,
                study=es.study[i],
                column="yi",
            )
            for i in np.flatnonzero(bad_y)
        ] + [
            Problem(
                "sampling variance is missing or not > 0",
                row=int(i) + 1,
                study=es.study[i],
                column="vi",
            )
            for i in np.flatnonzero(bad_v & ~bad_y)
        ]
        raise InputError(problems)
    keep = np.flatnonzero(~bad)
    dropped = [es.study[i] for i in np.flatnonzero(bad)]
    note = f"{len(dropped)} studies without a usable yi/vi dropped: {', '.join(dropped)}"
    warnings.warn(note, UserWarning, stacklevel=3)
    return EffectSizeTable(
        yi=yi[keep],
        vi=vi[keep],
        study=tuple(es.study[i] for i in keep),
        measure=es.measure,
        data=None if es.data is None else es.data.iloc[keep].reset_index(drop=True),
        notes=(*es.notes, note),
    )


def _check_weights(weights: Any, es: EffectSizeTable) -> np.ndarray | None:
    if weights is None:
        return None
    a = np.asarray(weights, dtype=float)
    if a.shape != (es.k,):
        raise InputError(Problem(f"weights has {a.size} values for {es.k} studies"))
    problems = [
        Problem(
            "weight must be a finite number > 0",
            row=int(i) + 1,
            study=es.study[i],
            column="weights",
        )
        for i in np.flatnonzero(~np.isfinite(a) | (a <= 0))
    ]
    if problems:
        raise InputError(problems)
    return a


def check_options(
    table: EffectSizeTable, method: str, test: str, level: float, weights: Any
) -> tuple[str, str, float, np.ndarray | None]:
    """Validate the options shared by every fitting function; ``"FE"`` becomes ``"EE"``."""
    if method == "FE":
        method = "EE"
    method = check_choice("method", method, METHODS)
    test = check_choice("test", test, TESTS)
    level = check_level(level)
    user_weights = _check_weights(weights, table)
    if method == "GENQ" and user_weights is None:
        raise InputError(
            Problem("method='GENQ' needs weights (e.g. weights=1/vi or the sample sizes)")
        )
    return method, test, level, user_weights


def few_study_notes(k: int, method: str, test: str) -> list[str]:
    """Plain-language notes about what a small number of studies implies."""
    notes: list[str] = []
    if k == 1:
        notes.append(
            "k = 1: a single study; tau^2 is set to 0 and the z-test is used (as metafor "
            "does), so the result is that study's own estimate and no heterogeneity, "
            "tau^2 CI or prediction beyond it can be estimated"
        )
        if test != "z":
            notes.append(f"test={test!r} needs at least 2 studies; the z-test was used")
        return notes
    if method != "EE" and k < 5 and test == "z":
        notes.append(
            f"k = {k}: with so few studies tau^2 is poorly estimated and the z-test's "
            "interval is too narrow; consider test='knha'"
        )
    if test in ("knha", "adhoc", "t") and k == 2:
        notes.append(
            "k = 2: the t distribution has 1 degree of freedom, so the interval is very "
            "wide; that is correct, not a fault"
        )
    return notes


def meta_analysis(
    es: EffectSizeTable | pd.DataFrame,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    weights: Any = None,
    tau2_ci: bool = True,
    missing: str = "raise",
) -> MetaAnalysisResult:
    """Fit an equal-effects or random-effects model without moderators.

    Parameters
    ----------
    es : EffectSizeTable or DataFrame
        Effect sizes ``yi`` with sampling variances ``vi`` (from :func:`alsmeta.escalc`,
        or a frame with columns ``yi`` and ``vi``).
    method : str
        ``"EE"`` (equal effects; ``"FE"`` is accepted) or a tau^2 estimator: ``"DL"``,
        ``"HE"``, ``"HS"``, ``"HSk"``, ``"SJ"``, ``"ML"``, ``"REML"`` (default), ``"EB"``,
        ``"PM"``, ``"PMM"``, ``"GENQ"`` (needs ``weights``).
    test : str
        ``"z"`` (default), ``"t"``, ``"knha"`` (Knapp-Hartung) or ``"adhoc"`` (Knapp-Hartung
        with its variance factor truncated at 1).
    level : float
        Confidence level as a proportion, e.g. 0.95.
    weights : array-like, optional
        User weights (as metafor's ``weights=``): the estimate becomes the weighted mean
        and its variance the sandwich ``sum(a^2 (v + tau^2)) / sum(a)^2``.
    tau2_ci : bool
        Compute the Q-profile confidence interval of tau^2 (default ``True``).
    missing : {"raise", "drop"}
        Studies without a usable ``yi``/``vi`` (e.g. ``nan`` from :func:`escalc`): raise
        an error naming them (default) or drop them with a warning recorded in ``notes``.

    Returns
    -------
    MetaAnalysisResult

    Raises
    ------
    InputError
        Unknown method or test, a level that is not a proportion, bad weights.
    ConvergenceError
        ML or REML did not converge (never seen in practice; the solver halves steps).

    Notes
    -----
    The estimate is ``mu = sum(w y) / sum(w)`` with ``w = 1/(v + tau^2)`` and
    ``se = sqrt(1/sum(w))``; Knapp-Hartung multiplies the variance by
    ``s2w = sum(w (y - mu)^2) / (k - 1)`` and uses t(k - 1). The prediction interval is
    ``mu +/- crit * sqrt(se^2 + tau^2)``, ``crit`` from z or t(k - 1) as the test, as
    metafor's ``predict()``. The tau^2 CI is the Q-profile interval of metafor's
    ``confint()`` (also for ``GENQ``, where metafor defaults to a generalised-Q interval
    that needs CompQuadForm). I^2 is metafor's ``100 tau^2/(tau^2 + v~)`` with the typical
    variance ``v~ = (k-1)/(sum(w0) - sum(w0^2)/sum(w0))``, ``w0 = 1/v``; for the EE model
    it is ``100 (Q - (k-1))/Q``. Iterative estimators are solved to a relative tolerance of
    1e-13 in tau^2. Matches ``metafor::rma(yi, vi, method=, test=, level=)``.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    J Stat Softw 36(3). doi:10.18637/jss.v036.i03

    Examples
    --------
    >>> from alsmeta import escalc, load_dataset, meta_analysis
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> res = meta_analysis(es, method="REML")
    >>> round(res.estimate, 4), round(res.tau2, 4), round(res.i2, 2)
    (-0.7145, 0.3132, 92.22)
    """
    table = _as_table(es, missing)
    method, test, level, user_weights = check_options(table, method, test, level, weights)

    few = few_study_notes(table.k, method, test)
    notes = list(table.notes) + few
    y = np.asarray(table.yi, dtype=float)
    v = np.asarray(table.vi, dtype=float)
    a = user_weights
    with np.errstate(all="ignore"):
        fit = _kernels.fit_model(
            y, v, method=method, test=test, level=level, weights=a, tau2_ci=tau2_ci
        )
    if not fit.converged:
        raise ConvergenceError(
            f"{method} estimation of tau^2 did not converge in {_kernels.MAX_ITER} iterations; "
            "try method='PM' or 'DL'"
        )
    if fit.boundary_reset:
        msg = (
            f"{method}: the likelihood at tau^2 = 0 is higher than at the local maximum "
            "found; tau^2 set to 0 (as metafor)"
        )
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    status = int(fit.tau2_ci_status)
    if status == _kernels.CI_EMPTY:
        notes.append(
            "tau^2 CI: Q at tau^2 = 0 is already below the lower chi-square quantile, so "
            "both bounds fall below 0 and the interval is the null set (reported as missing)"
        )
    elif status == _kernels.CI_UPPER_BEYOND:
        notes.append(
            "tau^2 CI: the upper bound lies beyond the search limit max(100, 10 tau^2) and "
            "is reported as missing (metafor prints '>limit')"
        )
    elif status == _kernels.CI_BOTH_BEYOND:
        notes.append("tau^2 CI: both bounds lie beyond the search limit; reported as missing")
    if test in ("knha", "adhoc") and method == "EE":
        notes.append("Knapp-Hartung is not meant for equal-effects models (metafor warns too)")
    for note in few:
        warnings.warn(note, FewStudiesWarning, stacklevel=2)

    return MetaAnalysisResult(
        es=table,
        method=method,
        test=fit.test,
        level=level,
        k=table.k,
        estimate=float(fit.estimate),
        se=float(fit.se),
        statistic=float(fit.statistic),
        p_value=float(fit.p_value),
        df=float(fit.df),
        ci_lower=float(fit.ci_lower),
        ci_upper=float(fit.ci_upper),
        pi_lower=float(fit.pi_lower),
        pi_upper=float(fit.pi_upper),
        tau2=float(fit.tau2),
        tau2_se=float(fit.tau2_se),
        tau2_ci_lower=float(fit.tau2_ci_lower),
        tau2_ci_upper=float(fit.tau2_ci_upper),
        i2=float(fit.i2),
        h2=float(fit.h2),
        q=float(fit.q),
        q_df=int(fit.q_df),
        q_p_value=float(fit.q_p_value),
        s2w=float(fit.s2w),
        loglik=float(fit.loglik),
        weights=_readonly(fit.weights),
        user_weights=None if user_weights is None else _readonly(user_weights),
        iterations=int(fit.iterations),
        notes=tuple(dict.fromkeys(notes)),
    )
