"""Permutation tests (metafor's ``permutest``) and likelihood-ratio tests (``anova``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem
from alsmeta.meta import _kernels
from alsmeta.meta._format import format_number, format_p, format_table
from alsmeta.meta._kernels import chi2_sf
from alsmeta.meta._regkernels import estimate_tau2_reg, prepare_design
from alsmeta.meta.model import MetaAnalysisResult, _json_float, _readonly
from alsmeta.meta.regression import (
    MetaRegressionResult,
    coefficient_inference,
    moderator_columns,
    wald_statistic,
)

__all__ = [
    "LikelihoodRatioResult",
    "PermutationResult",
    "likelihood_ratio_test",
    "permutation_test",
]

#: metafor's ``comptol``: statistics this close count as ties with the observed one.
COMPARISON_TOLERANCE = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PermutationResult:
    """Permutation p-values of the coefficients and of the omnibus test (``QM``).

    ``iterations`` counts the permutations used (the observed data included);
    ``exact`` says whether every distinct permutation was enumerated.
    """

    terms: tuple[str, ...]
    estimate: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    qm: float
    qm_p_value: float
    iterations: int
    exact: bool
    failed: int
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient with its observed statistic and permutation p-value."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.estimate,
                "statistic": self.statistic,
                "p_value": self.p_value,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "coefficients": [
                {
                    "term": t,
                    "estimate": _json_float(self.estimate[j]),
                    "statistic": _json_float(self.statistic[j]),
                    "p_value": _json_float(self.p_value[j]),
                }
                for j, t in enumerate(self.terms)
            ],
            "qm": _json_float(self.qm),
            "qm_p_value": _json_float(self.qm_p_value),
            "iterations": self.iterations,
            "exact": self.exact,
            "failed": self.failed,
        }

    def summary(self) -> str:
        """Text laid out like metafor's print of ``permutest``."""
        kind = "exact" if self.exact else "approximate"
        rows = [
            [t, format_number(self.estimate[j]), format_number(self.statistic[j]),
             format_p(self.p_value[j])]
            for j, t in enumerate(self.terms)
        ]  # fmt: skip
        lines = [
            "",
            f"Permutation test ({kind}; {self.iterations} permutations)",
            "",
            f"Test of Moderators: QM = {self.qm:.4f}, p-val* {format_p(self.qm_p_value)}",
            "",
            format_table(["", "estimate", "statistic", "pval*"], rows),
        ]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _distinct_permutations(labels: list[int]) -> Iterator[tuple[int, ...]]:
    """Distinct orderings of a multiset of labels, in lexicographic order."""
    counts: dict[int, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keys = sorted(counts)
    n = len(labels)
    current: list[int] = []

    def walk() -> Iterator[tuple[int, ...]]:
        if len(current) == n:
            yield tuple(current)
            return
        for key in keys:
            if counts[key]:
                counts[key] -= 1
                current.append(key)
                yield from walk()
                current.pop()
                counts[key] += 1

    return walk()


def _count_distinct(labels: list[int]) -> float:
    counts = pd.Series(labels).value_counts().to_numpy()
    total = math.lgamma(len(labels) + 1) - sum(math.lgamma(c + 1) for c in counts)
    return math.exp(total)


def permutation_test(
    res: MetaAnalysisResult | MetaRegressionResult,
    *,
    iter: int = 1000,
    exact: bool | None = None,
    rng: np.random.Generator | None = None,
) -> PermutationResult:
    """Permutation test of a fitted model, as metafor's ``permutest(res, iter=)``.

    Intercept-only models flip the signs of the effect sizes; meta-regressions permute
    the rows of the moderators against the (yi, vi) pairs. Every permuted data set is
    refitted with the same method and test, all at once (one batched fit, no loop over
    permutations). ``p = mean(|z_perm| >= |z_obs| - tol)`` per coefficient and
    ``mean(QM_perm >= QM_obs - tol)`` for the omnibus test, ``tol = sqrt(eps)``; for an
    approximate test the observed data count as the first permutation.

    Parameters
    ----------
    res : MetaAnalysisResult or MetaRegressionResult
        The fitted model.
    iter : int
        Number of random permutations (including the observed one).
    exact : bool, optional
        Enumerate every distinct permutation. Default: exactly when their number does not
        exceed ``iter``, as metafor.
    rng : numpy.random.Generator, optional
        Source of randomness (default: a fresh ``default_rng()``).

    Returns
    -------
    PermutationResult

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta import escalc, load_dataset, meta_regression, permutation_test
    >>> es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    >>> perm = permutation_test(meta_regression(es, "ablat"), iter=200,
    ...                         rng=np.random.default_rng(1))
    >>> perm.iterations, perm.exact
    (200, False)
    """
    if not isinstance(iter, int | np.integer) or iter < 2:
        raise InputError(Problem(f"iter={iter!r} must be an integer >= 2"))
    rng = np.random.default_rng() if rng is None else rng
    if isinstance(res, MetaAnalysisResult) or (res.design.x.shape[1] == 1 and res.design.intercept):
        return _sign_flip_test(res, int(iter), exact, rng)
    return _row_permutation_test(res, int(iter), exact, rng)


def _sign_flip_test(
    res: MetaAnalysisResult | MetaRegressionResult,
    iter: int,
    exact: bool | None,
    rng: np.random.Generator,
) -> PermutationResult:
    if isinstance(res, MetaAnalysisResult):
        y = np.asarray(res.es.yi, dtype=float)
        v = np.asarray(res.es.vi, dtype=float)
        weights, estimate, observed = res.user_weights, res.estimate, res.statistic
    else:  # an intercept-only meta-regression
        y = np.asarray(res.es.yi, dtype=float)[res.rows]
        v = np.asarray(res.es.vi, dtype=float)[res.rows]
        weights, estimate, observed = res.user_weights, float(res.coef[0]), float(res.statistic[0])
    k = y.size
    n_exact = 2.0**k
    use_exact = bool(exact) or (exact is None and n_exact <= iter)
    if use_exact:
        if k > 24:
            raise InputError(Problem(f"an exact sign-flip test needs 2^{k} fits; use exact=False"))
        grid = (np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1
        signs = 1.0 - 2.0 * grid
    else:
        signs = rng.choice(np.array([-1.0, 1.0]), size=(iter, k))
        signs[0] = 1.0
    with np.errstate(all="ignore"):
        fit = _kernels.fit_model(
            signs * y, np.broadcast_to(v, signs.shape).copy(), method=res.method,
            test=res.test, level=res.level, weights=weights, tau2_ci=False,
        )  # fmt: skip
    z = np.where(fit.converged, fit.statistic, np.nan)
    qm = z**2
    p_value = np.nanmean(np.abs(z) >= abs(observed) - COMPARISON_TOLERANCE)
    qm_p = np.nanmean(qm >= observed**2 - COMPARISON_TOLERANCE)
    failed = int(np.sum(~np.isfinite(z)))
    return PermutationResult(
        terms=("intrcpt",),
        estimate=_readonly(np.array([estimate])),
        statistic=_readonly(np.array([observed])),
        p_value=_readonly(np.array([min(1.0, float(p_value))])),
        qm=float(observed**2),
        qm_p_value=float(qm_p),
        iterations=int(signs.shape[0]),
        exact=use_exact,
        failed=failed,
        notes=(f"{failed} permuted fits failed and were left out",) if failed else (),
    )


def _row_permutation_test(
    res: MetaRegressionResult, iter: int, exact: bool | None, rng: np.random.Generator
) -> PermutationResult:
    x = res.design.x
    k = x.shape[0]
    y = np.asarray(res.es.yi, dtype=float)[res.rows]
    v = np.asarray(res.es.vi, dtype=float)[res.rows]
    _, labels_arr = np.unique(x, axis=0, return_inverse=True)
    labels = [int(a) for a in np.ravel(labels_arr)]
    n_exact = _count_distinct(labels)
    use_exact = bool(exact) or (exact is None and n_exact <= iter)
    if use_exact:
        if n_exact > 2_000_000:
            raise InputError(Problem(f"an exact test needs {n_exact:.3g} fits; use exact=False"))
        # Each distinct ordering of the row labels is one permutation of the design rows.
        by_label: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            by_label.setdefault(label, []).append(i)
        orders = []
        for perm in _distinct_permutations(labels):
            take = {key: iter_rows.copy() for key, iter_rows in by_label.items()}
            orders.append([take[label].pop() for label in perm])
        index = np.array(orders)
    else:
        index = np.argsort(rng.random((iter, k)), axis=1)
        index[0] = np.arange(k)
    xp = x[index]
    n = xp.shape[0]
    d = prepare_design(np.broadcast_to(y, (n, k)).copy(), np.broadcast_to(v, (n, k)).copy(), xp)
    weights = None if res.user_weights is None else np.broadcast_to(res.user_weights, (n, k))
    with np.errstate(all="ignore"):
        tf = estimate_tau2_reg(d, res.method, weights)
        tau2 = np.asarray(tf.tau2, dtype=float)
        f = d.fit_at(tau2)
        coef, vcov, _ = coefficient_inference(d, f, tau2, res.test, weights)
        se = np.sqrt(np.einsum("...jj->...j", vcov))
        z = coef / se
        btt = moderator_columns(x)
        qm = wald_statistic(coef, vcov, btt) / (1 if res.test == "z" else len(btt))
    bad = ~np.asarray(tf.converged) | ~np.all(np.isfinite(z), axis=1)
    z[bad] = np.nan
    qm = np.where(bad, np.nan, qm)
    p_value = np.nanmean(np.abs(z) >= np.abs(res.statistic) - COMPARISON_TOLERANCE, axis=0)
    qm_p = float(np.nanmean(qm >= res.qm - COMPARISON_TOLERANCE))
    failed = int(bad.sum())
    return PermutationResult(
        terms=res.terms,
        estimate=_readonly(res.coef),
        statistic=_readonly(res.statistic),
        p_value=_readonly(np.minimum(1.0, p_value)),
        qm=float(res.qm),
        qm_p_value=qm_p,
        iterations=n,
        exact=use_exact,
        failed=failed,
        notes=(f"{failed} permuted fits failed and were left out",) if failed else (),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LikelihoodRatioResult:
    """Likelihood-ratio test between nested models (metafor's ``anova(full, reduced)``)."""

    lrt: float
    df: int
    p_value: float
    loglik_full: float
    loglik_reduced: float
    aic_full: float
    aic_reduced: float
    bic_full: float
    bic_reduced: float
    aicc_full: float
    aicc_reduced: float
    tau2_full: float
    tau2_reduced: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field."""
        return {name: _json_float(getattr(self, name)) if name != "df" else self.df
                for name in self.__dataclass_fields__}  # fmt: skip


def _model_terms(res: MetaAnalysisResult | MetaRegressionResult) -> tuple[int, int, float, str]:
    if isinstance(res, MetaAnalysisResult):
        return res.k, 1, res.loglik, res.method
    return res.k, res.p, res.loglik, res.method


def _model_data(res: MetaAnalysisResult | MetaRegressionResult) -> np.ndarray:
    """The (yi, vi) pairs a model was fitted to, as a (2, k) array."""
    rows = slice(None) if isinstance(res, MetaAnalysisResult) else res.rows
    return np.vstack([np.asarray(res.es.yi)[rows], np.asarray(res.es.vi)[rows]])


def likelihood_ratio_test(
    full: MetaAnalysisResult | MetaRegressionResult,
    reduced: MetaAnalysisResult | MetaRegressionResult,
) -> LikelihoodRatioResult:
    """Compare nested models fitted by ML with a likelihood-ratio test.

    ``LRT = 2 (ll_full - ll_reduced)`` on ``parms_full - parms_reduced`` df, where
    ``parms`` counts the coefficients plus tau^2 (not for EE); information criteria as
    metafor's ``fitstats``. Matches ``anova(full, reduced)`` of metafor for ML fits; REML
    likelihoods of models with different moderators are not comparable and are refused.

    Raises
    ------
    InputError
        The models were not both fitted by ML (or EE), use different data, or have the
        same number of parameters.
    """
    kf, pf, llf, mf = _model_terms(full)
    kr, pr, llr, mr = _model_terms(reduced)
    problems = []
    if mf not in ("ML", "EE") or mr not in ("ML", "EE"):
        problems.append(
            Problem(f"fit both models with method='ML' (got {mf!r} and {mr!r}); REML "
                    "likelihoods of models with different moderators are not comparable")
        )  # fmt: skip
    if kf != kr:
        problems.append(Problem(f"the models use different numbers of studies ({kf} and {kr})"))
    elif not np.array_equal(_model_data(full), _model_data(reduced)):
        problems.append(Problem("the models were fitted to different effect sizes (yi, vi)"))
    parms_f = pf + (mf != "EE")
    parms_r = pr + (mr != "EE")
    if parms_f == parms_r:
        problems.append(Problem("the models have the same number of parameters"))
    if problems:
        raise InputError(problems)
    if parms_f < parms_r:
        full, reduced = reduced, full
        kf, pf, llf, mf, kr, pr, llr, mr = kr, pr, llr, mr, kf, pf, llf, mf
        parms_f, parms_r = parms_r, parms_f
    lrt = max(0.0, 2.0 * (llf - llr))
    df = parms_f - parms_r

    def criteria(ll: float, parms: int, k: int) -> tuple[float, float, float]:
        aic = -2.0 * ll + 2.0 * parms
        bic = -2.0 * ll + parms * math.log(k)
        big = max(k, parms + 2)
        aicc = -2.0 * ll + 2.0 * parms * big / (big - parms - 1)
        return aic, bic, aicc

    aic_f, bic_f, aicc_f = criteria(llf, parms_f, kf)
    aic_r, bic_r, aicc_r = criteria(llr, parms_r, kr)
    return LikelihoodRatioResult(
        lrt=lrt,
        df=df,
        p_value=float(chi2_sf(lrt, df)),
        loglik_full=llf,
        loglik_reduced=llr,
        aic_full=aic_f,
        aic_reduced=aic_r,
        bic_full=bic_f,
        bic_reduced=bic_r,
        aicc_full=aicc_f,
        aicc_reduced=aicc_r,
        tau2_full=full.tau2,
        tau2_reduced=reduced.tau2,
    )
