"""Array kernels of the intercept-only meta-analysis model.

Every function here works on dense ``(G, k)`` arrays: ``G`` independent meta-analyses
of ``k`` studies each. A single fit is ``G = 1``; the batch engine (``--by``) stacks the
groups that share a ``k`` and calls the same functions, so the two paths cannot drift
apart. No pandas, no Python loop over groups or studies.

The formulas are those of metafor's ``rma.uni`` (version 3.8-1) specialised to an
intercept-only design, where every k x k matrix product reduces to weighted sums:
with weights ``w`` and ``s_j = sum(w**j)``, the projection
``P = W - w w' / s_1`` has ``tr(P) = s_1 - s_2/s_1`` and
``sum(P*P) = s_2 - 2 s_3/s_1 + s_2**2/s_1**2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

Array = NDArray[Any]

METHODS: tuple[str, ...] = (
    "EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ",
)  # fmt: skip
ITERATIVE_METHODS = frozenset({"ML", "REML", "EB", "PM", "PMM"})
TESTS: tuple[str, ...] = ("z", "t", "knha", "adhoc")

#: Convergence tolerance on tau^2 (relative to max(1, tau^2)) of the iterative solvers.
TOLERANCE = 1e-13
MAX_ITER = 1000


# ------------------------------------------------------------------ distributions
# scipy.special ufuncs instead of scipy.stats: the same functions (stats calls them)
# without the ~50 microseconds of argument handling per call.
def norm_sf(x: Array) -> Array:
    """Upper tail of the standard normal."""
    return special.ndtr(-x)


def norm_isf(p: float) -> float:
    """Upper-tail quantile of the standard normal."""
    return float(-special.ndtri(p))


def t_sf(x: Array, df: float) -> Array:
    """Upper tail of Student's t."""
    return special.stdtr(df, -x)


def t_isf(p: float, df: float) -> float:
    """Upper-tail quantile of Student's t."""
    return float(-special.stdtrit(df, p))


def chi2_sf(x: Array, df: float) -> Array:
    """Upper tail of the chi-square distribution."""
    return special.gammaincc(df / 2.0, np.asarray(x) / 2.0)


def chi2_ppf(p: float, df: float) -> float:
    """Lower-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammaincinv(df / 2.0, p))


def chi2_isf(p: float, df: float) -> float:
    """Upper-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammainccinv(df / 2.0, p))


# --------------------------------------------------------------------------- helpers
_add_reduce = np.add.reduce


def _rowsum(x: Array) -> Array:
    # np.add.reduce skips np.sum's dispatch layers: a third of the cost of a small fit.
    return _add_reduce(x, axis=-1)


def weighted_residuals(y: Array, w: Array) -> tuple[Array, Array]:
    """Return the weighted mean ``mu`` (G,) and the residuals ``y - mu`` (G, k)."""
    mu = _rowsum(w * y) / _rowsum(w)
    return mu, y - mu[:, None]


def q_statistic(y: Array, v: Array, tau2: Array) -> Array:
    """Generalised Q: ``sum(w (y - mu_w)^2)`` with ``w = 1/(v + tau2)``.

    Computed from centred residuals, so it does not lose digits when the variances are
    tiny and does not depend on the order of the studies.
    """
    w = 1.0 / (v + tau2[:, None])
    _, r = weighted_residuals(y, w)
    return _rowsum(w * r * r)


def _q_and_slope(y: Array, v: Array, tau2: Array) -> tuple[Array, Array]:
    """Generalised Q and its derivative in tau^2, ``-sum(w^2 (y - mu_w)^2)``."""
    w = 1.0 / (v + tau2[:, None])
    _, r = weighted_residuals(y, w)
    wr2 = w * r * r
    return _rowsum(wr2), -_rowsum(w * wr2)


def _sum_pp(w: Array) -> Array:
    """``sum(P * P)`` for ``P = W - w w'/sum(w)``."""
    s1, s2, s3 = _rowsum(w), _rowsum(w**2), _rowsum(w**3)
    return s2 - 2.0 * s3 / s1 + s2**2 / s1**2


def _sum_pvpv(w: Array, v: Array) -> Array:
    """``sum(PV * t(PV))`` = tr(PVPV) for ``P = W - w w'/sum(w)``, ``V = diag(v)``."""
    s1 = _rowsum(w)
    return _rowsum(w**2 * v**2) - 2.0 * _rowsum(w**3 * v**2) / s1 + _rowsum(w**2 * v) ** 2 / s1**2


def _sum_pvp(w: Array, v: Array) -> Array:
    """``sum(PV * P)`` = tr(PVP) for ``P = W - w w'/sum(w)``, ``V = diag(v)``."""
    s1 = _rowsum(w)
    return (
        _rowsum(w**2 * v) - 2.0 * _rowsum(w**3 * v) / s1 + _rowsum(w**2) * _rowsum(w**2 * v) / s1**2
    )


def _tr_p(w: Array) -> Array:
    s1 = _rowsum(w)
    return s1 - _rowsum(w**2) / s1


def _tr_pv(w: Array, v: Array) -> Array:
    s1 = _rowsum(w)
    return _rowsum(w * v) - _rowsum(w**2 * v) / s1


def _se_quadratic(trace: Array, pvpv: Array, pvp: Array, pp: Array, tau2: Array) -> Array:
    """Standard error of a moment estimator of tau^2, metafor's shared form:
    ``sqrt(2 tr(PVPV) + 4 t tr(PVP) + 2 t^2 tr(PP)) / trace``."""
    t = np.maximum(tau2, 0.0)
    return np.sqrt((2.0 * pvpv + 4.0 * t * pvp + 2.0 * t**2 * pp) / trace**2)


# ------------------------------------------------------------------------ solvers
def _active_rows(active: NDArray[np.bool_]) -> slice | NDArray[np.intp] | None:
    """Rows still iterating: all of them as a slice (a view, no copy), a subset as an
    index array, or ``None`` when every row has converged."""
    if active.all():
        return slice(None)
    idx = np.flatnonzero(active)
    return idx if idx.size else None


def _retire(
    active: NDArray[np.bool_], sub: slice | NDArray[np.intp], done: NDArray[np.bool_]
) -> None:
    """Mark the rows of ``sub`` flagged in ``done`` as converged."""
    if isinstance(sub, slice):
        active[done] = False
    else:
        active[sub[done]] = False


def solve_decreasing(
    y: Array, v: Array, target: Array, lower: Array, upper: Array
) -> tuple[Array, Array]:
    """Solve ``Q(tau2) = target`` for tau2 in ``[lower, upper]`` (Q is decreasing).

    Safeguarded Newton: a Newton step that leaves the current bracket is replaced by
    bisection, so the iteration always converges. Requires
    ``Q(lower) >= target >= Q(upper)``. Returns the roots and the iteration count.
    """
    lo, hi = lower.astype(float).copy(), upper.astype(float).copy()
    x = lo.copy()
    active = np.ones(x.shape, dtype=bool)
    n_iter = 0
    for n_iter in range(1, MAX_ITER + 1):  # noqa: B007
        sub = _active_rows(active)
        if sub is None:
            break
        xs = x[sub]
        q, dq = _q_and_slope(y[sub], v[sub], xs)
        f = q - target[sub]
        pos = f > 0
        lo_s = np.where(pos, xs, lo[sub])
        hi_s = np.where(pos, hi[sub], xs)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = xs - f / dq
        bad = ~np.isfinite(new) | (new <= lo_s) | (new >= hi_s)
        new = np.where(bad, 0.5 * (lo_s + hi_s), new)
        new = np.where(f == 0, xs, new)
        done = (np.abs(new - xs) <= TOLERANCE * np.maximum(1.0, np.abs(new))) | (f == 0)
        x[sub], lo[sub], hi[sub] = new, lo_s, hi_s
        _retire(active, sub, done)
    return x, np.full(x.shape, n_iter)


def _loglik(y: Array, v: Array, tau2: Array, reml: bool) -> Array:
    """Log-likelihood (ML) or restricted log-likelihood (REML) of the RE model,
    as metafor computes it (``REMLf=TRUE``: includes ``+ log det(X'X)/2``)."""
    k = y.shape[-1]
    w = 1.0 / (v + tau2[:, None])
    _, r = weighted_residuals(y, w)
    rss = _rowsum(w * r * r)
    if reml:
        return (
            -0.5 * (k - 1) * np.log(2 * np.pi)
            + 0.5 * np.log(k)
            - 0.5 * _rowsum(np.log(v + tau2[:, None]))
            - 0.5 * np.log(_rowsum(w))
            - 0.5 * rss
        )
    return -0.5 * k * np.log(2 * np.pi) - 0.5 * _rowsum(np.log(v + tau2[:, None])) - 0.5 * rss


def _score_terms(y: Array, v: Array, tau2: Array, reml: bool) -> tuple[Array, Array, Array]:
    """Twice the score of the (restricted) log-likelihood in tau^2, twice its expected
    information, and the score's derivative.

    With ``r = y - mu_w``: ``y'PPy = sum(w^2 r^2)`` and ``y'PPPy = sum(w^3 r^2) -
    (sum(w^2 r))^2 / sum(w)``; REML score ``y'PPy - tr(P)`` with derivative
    ``-2 y'PPPy + tr(PP)``; ML score ``y'PPy - sum(w)`` with derivative
    ``-2 y'PPPy + sum(w^2)``. metafor's Fisher step is score / information.
    """
    w = 1.0 / (v + tau2[:, None])
    _, r = weighted_residuals(y, w)
    w2r = w**2 * r
    ypy = _rowsum(w2r * r)
    ypppy = _rowsum(w * w2r * r) - _rowsum(w2r) ** 2 / _rowsum(w)
    if reml:
        info = _sum_pp(w)
        return ypy - _tr_p(w), info, info - 2.0 * ypppy
    info = _rowsum(w**2)
    return ypy - _rowsum(w), info, info - 2.0 * ypppy


def _fisher_scoring(y: Array, v: Array, start: Array, reml: bool) -> tuple[Array, Array, Array]:
    """Find the (restricted) maximum-likelihood tau^2 >= 0 from metafor's start value.

    A safeguarded Newton iteration on the score: Newton steps where the score is
    decreasing (metafor's Fisher step elsewhere), kept inside a bracket ``[lo, hi]`` with
    a positive score at ``lo`` and a negative one at ``hi``, and bisection when a step
    leaves the bracket or fails to halve it (as ``rtsafe``). It converges where metafor's
    plain Fisher scoring oscillates (about 1 in 200 simulated data sets at k = 10) and
    reaches the same local maximum where metafor converges. When the score at 0 is not
    positive and the iteration heads below the bracket, tau^2 = 0 (the boundary maximum).
    Returns ``(tau2, iterations, converged)``.
    """
    g = start.shape[0]
    tau2 = start.astype(float).copy()
    lo = np.zeros(g)
    hi = np.full(g, np.inf)
    last_step = np.full(g, np.inf)
    score0, _, _ = _score_terms(y, v, np.zeros(g), reml)
    zero_is_max = score0 <= 0
    iters = np.zeros(g, dtype=np.int64)
    active = np.ones(g, dtype=bool)
    for _ in range(MAX_ITER):
        sub = _active_rows(active)
        if sub is None:
            break
        t = tau2[sub]
        score, info, slope = _score_terms(y[sub], v[sub], t, reml)
        up = score > 0
        lo_i = np.where(up, np.maximum(lo[sub], t), lo[sub])
        hi_i = np.where(up, hi[sub], np.minimum(hi[sub], t))
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(slope < 0, -score / slope, score / info)
        new = t + step
        finite = np.isfinite(hi_i)
        outside = (new > hi_i) | (new < lo_i)
        slow = finite & (np.abs(step) > 0.5 * np.abs(last_step[sub]))
        bisect = (outside | slow) & finite
        to_zero = ~up & (new <= lo_i) & (lo_i == 0) & zero_is_max[sub]
        new = np.where(bisect, 0.5 * (lo_i + hi_i), new)
        new = np.where(to_zero, 0.0, new)
        new = np.where(score == 0, t, np.maximum(new, 0.0))
        lo[sub], hi[sub] = lo_i, hi_i
        last_step[sub] = new - t
        iters[sub] += 1
        done = (np.abs(new - t) <= TOLERANCE * np.maximum(1.0, new)) | (score == 0)
        done |= finite & (hi_i - lo_i <= TOLERANCE * np.maximum(1.0, hi_i))
        tau2[sub] = new
        _retire(active, sub, done)
    return tau2, iters, ~active


# ------------------------------------------------------------------- estimators
@dataclass(frozen=True, slots=True)
class Tau2Fit:
    """tau^2 estimates of ``G`` meta-analyses."""

    tau2: Array
    tau2_se: Array
    iterations: Array
    converged: Array
    boundary_reset: Array  # ML/REML: likelihood at tau2 = 0 beat the local maximum


def estimate_tau2(y: Array, v: Array, method: str, weights: Array | None = None) -> Tau2Fit:
    """Estimate tau^2 for each row of ``y`` (G, k) with sampling variances ``v``.

    ``k`` must be at least 2 (metafor sets tau^2 = 0 when k = 1; the caller handles it).
    Estimates are truncated at zero, as metafor does.
    """
    g, k = y.shape
    p = 1
    iterations = np.zeros(g, dtype=np.int64)
    converged = np.ones(g, dtype=bool)
    reset = np.zeros(g, dtype=bool)
    w0 = 1.0 / v
    if method == "EE":
        zero = np.zeros(g)
        return Tau2Fit(zero, np.full(g, np.nan), iterations, converged, reset)
    if method == "DL":
        q = q_statistic(y, v, np.zeros(g))
        trp = _tr_p(w0)
        tau2 = np.maximum(0.0, (q - (k - p)) / trp)
        se = _se_quadratic(trp, (k - p) * np.ones(g), trp, _sum_pp(w0), tau2)
        # metafor: sqrt(1/trP^2 * (2(k-p) + 4 t trP + 2 t^2 sum(P*P)))
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method in ("HS", "HSk"):
        q = q_statistic(y, v, np.zeros(g))
        sw = _rowsum(w0)
        factor = k / (k - p) if method == "HSk" else 1.0
        tau2 = np.maximum(0.0, (factor * q - k) / sw)
        se = factor * _se_quadratic(sw, (k - p) * np.ones(g), _tr_p(w0), _sum_pp(w0), tau2)
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method == "HE" or method in ("ML", "REML", "EB"):
        ones = np.ones_like(y)
        _, r = weighted_residuals(y, ones)
        rss = _rowsum(r * r)
        trpv = _tr_pv(ones, v)
        tau2_he = (rss - trpv) / (k - p)
        if method == "HE":
            tau2 = np.maximum(0.0, tau2_he)
            se = _se_quadratic(
                np.full(g, float(k - p)), _sum_pvpv(ones, v), trpv, np.full(g, float(k - p)), tau2
            )
            return Tau2Fit(tau2, se, iterations, converged, reset)
        start = np.maximum(0.0, tau2_he)
        if method == "EB":
            # EB's fixed point sum(w (y - mu)^2) * k/(k-p) = k is Q(tau2) = k - p: the
            # Paule-Mandel equation. Solve it exactly; metafor's iteration reaches the
            # same root (or creeps to 0 when Q(0) < k - p).
            tau2, iterations = _root_or_zero(y, v, np.full(g, float(k - p)))
        else:
            tau2, iterations, converged = _fisher_scoring(y, v, start, reml=method == "REML")
            ll = _loglik(y, v, tau2, reml=method == "REML")
            ll0 = _loglik(y, v, np.zeros(g), reml=method == "REML")
            reset = converged & (ll0 - ll > 1e-10) & (tau2 > 0)
            tau2 = np.where(reset, 0.0, tau2)
        tau2 = np.maximum(0.0, tau2)
        w = 1.0 / (v + tau2[:, None])
        if method == "ML":
            se = np.sqrt(2.0 / _rowsum(w**2))
        elif method == "REML":
            se = np.sqrt(2.0 / _sum_pp(w))
        else:
            se = np.sqrt(2.0 * k**2 / (k - p) / _rowsum(w) ** 2)
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method == "SJ":
        ones = np.ones_like(y)
        _, r = weighted_residuals(y, ones)
        tau0 = _rowsum(r * r) / k
        w = 1.0 / (v + tau0[:, None])
        rss = q_statistic(y, v, tau0)
        tau2 = np.maximum(0.0, tau0 * rss / (k - p))
        se = np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * _sum_pvpv(w, v) + 4 * tau2 * _sum_pvp(w, v) + 2 * tau2**2 * _sum_pp(w))
        )
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method in ("PM", "PMM"):
        target = float(k - p) if method == "PM" else chi2_ppf(0.5, k - p)
        tau2, iterations = _root_or_zero(y, v, np.full(g, target))
        w = 1.0 / (v + tau2[:, None])
        se = np.sqrt(2.0 * k**2 / (k - p) / _rowsum(w) ** 2)
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method == "GENQ":
        if weights is None:
            raise ValueError("method='GENQ' needs weights")
        a = weights
        _, r = weighted_residuals(y, a)
        rss = _rowsum(a * r * r)
        trp = _tr_p(a)
        trpv = _tr_pv(a, v)
        tau2 = np.maximum(0.0, (rss - trpv) / trp)
        se = np.sqrt(
            (2 * _sum_pvpv(a, v) + 4 * tau2 * _sum_pvp(a, v) + 2 * tau2**2 * _sum_pp(a)) / trp**2
        )
        return Tau2Fit(tau2, se, iterations, converged, reset)
    raise ValueError(f"unknown method {method!r}")


def _upper_bracket(y: Array, v: Array, target: Array, start: Array) -> Array:
    """An upper end where ``Q(upper) <= target``, found by doubling from ``start``."""
    upper = np.maximum(start, 1.0)
    for _ in range(200):
        above = q_statistic(y, v, upper) > target
        if not np.any(above):
            break
        upper = np.where(above, upper * 4.0, upper)
    return upper


def _root_or_zero(y: Array, v: Array, target: Array) -> tuple[Array, Array]:
    """Root of ``Q(tau2) = target``, or 0 where ``Q(0) < target`` (metafor's PM rule)."""
    g = y.shape[0]
    q0 = q_statistic(y, v, np.zeros(g))
    tau2 = np.zeros(g)
    iterations = np.zeros(g, dtype=np.int64)
    need = q0 >= target
    if np.any(need):
        idx = np.flatnonzero(need)
        yi, vi, ti = y[idx], v[idx], target[idx]
        spread = np.var(yi, axis=-1) * yi.shape[-1] / max(yi.shape[-1] - 1, 1)
        upper = _upper_bracket(yi, vi, ti, 10.0 * spread)
        root, n = solve_decreasing(yi, vi, ti, np.zeros(idx.size), upper)
        tau2[idx] = root
        iterations[idx] = n
    return tau2, iterations


# --------------------------------------------------------------- Q-profile interval
CI_OK, CI_EMPTY, CI_UPPER_BEYOND, CI_BOTH_BEYOND = 0, 1, 2, 3


def q_profile_ci(
    y: Array, v: Array, tau2: Array, level: float, tau2_max: Array | None = None
) -> tuple[Array, Array, Array]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's
    ``confint.rma.uni(type="QP")``.

    The lower bound solves ``Q(tau2) = chi2_{1-a/2}(k-1)``, the upper bound
    ``Q(tau2) = chi2_{a/2}(k-1)``, searched in ``[0, tau2_max]`` with ``tau2_max =
    max(100, 10 tau2)`` as metafor. Where metafor reports no number, the bound is nan and
    ``status`` says why: :data:`CI_EMPTY` (even ``Q(0)`` is below the lower quantile, so
    the interval is the null set), :data:`CI_UPPER_BEYOND` (the upper bound exceeds
    ``tau2_max``), :data:`CI_BOTH_BEYOND` (both bounds exceed it). A lower bound below 0
    is truncated at 0, as metafor. Returns ``(lower, upper, status)``.
    """
    g, k = y.shape
    alpha = 1.0 - level
    crit_u = chi2_isf(alpha / 2, k - 1)
    crit_l = chi2_ppf(alpha / 2, k - 1)
    if tau2_max is None:
        tau2_max = np.maximum(100.0, 10.0 * tau2)
    zeros = np.zeros(g)
    q_min = q_statistic(y, v, zeros)
    q_max = q_statistic(y, v, tau2_max)
    lower = np.full(g, np.nan)
    upper = np.full(g, np.nan)
    status = np.full(g, CI_OK, dtype=np.int8)

    empty = q_min < crit_l
    both_beyond = q_max > crit_u
    upper_beyond = ~empty & ~both_beyond & (q_max > crit_l)
    status[empty] = CI_EMPTY
    status[upper_beyond] = CI_UPPER_BEYOND
    status[both_beyond] = CI_BOTH_BEYOND

    solve_upper = ~empty & ~both_beyond & ~upper_beyond
    if np.any(solve_upper):
        idx = np.flatnonzero(solve_upper)
        root, _ = solve_decreasing(
            y[idx], v[idx], np.full(idx.size, crit_l), zeros[idx], tau2_max[idx]
        )
        upper[idx] = root
    lower_at_zero = ~empty & ~both_beyond & (q_min < crit_u)
    lower[lower_at_zero] = 0.0
    solve_lower = ~empty & ~both_beyond & ~lower_at_zero
    if np.any(solve_lower):
        idx = np.flatnonzero(solve_lower)
        root, _ = solve_decreasing(
            y[idx], v[idx], np.full(idx.size, crit_u), zeros[idx], tau2_max[idx]
        )
        lower[idx] = root
    return lower, upper, status


# ------------------------------------------------------------------------ inference
@dataclass(frozen=True, slots=True)
class DenseFit:
    """All quantities of ``G`` intercept-only fits (arrays of shape (G,))."""

    k: int
    test: str
    estimate: Array
    se: Array
    statistic: Array
    p_value: Array
    ci_lower: Array
    ci_upper: Array
    pi_lower: Array
    pi_upper: Array
    tau2: Array
    tau2_se: Array
    tau2_ci_lower: Array
    tau2_ci_upper: Array
    tau2_ci_status: Array  # CI_OK, CI_EMPTY, CI_UPPER_BEYOND, CI_BOTH_BEYOND
    i2: Array
    h2: Array
    q: Array
    q_df: int
    q_p_value: Array
    df: float
    s2w: Array
    weights: Array  # (G, k), percent
    loglik: Array
    iterations: Array
    converged: Array
    boundary_reset: Array


def fit_dense(
    y: Array,
    v: Array,
    *,
    method: str,
    test: str,
    level: float,
    weights: Array | None = None,
    tau2_ci: bool = True,
) -> DenseFit:
    """Fit ``G`` intercept-only models at once; see :func:`alsmeta.meta_analysis`."""
    g, k = y.shape
    p = 1
    if k == 1:
        # metafor: tau^2 = 0 and test "z" when k = 1.
        test = "z"
        tf = Tau2Fit(
            np.zeros(g),
            np.full(g, np.nan),
            np.zeros(g, np.int64),
            np.ones(g, bool),
            np.zeros(g, bool),
        )
    else:
        tf = estimate_tau2(y, v, method, weights)
    tau2 = tf.tau2
    w = 1.0 / (v + tau2[:, None])
    if weights is None:
        sw = _rowsum(w)
        estimate = _rowsum(w * y) / sw
        vb = 1.0 / sw
        weight_pct = 100.0 * w / sw[:, None]
    else:
        sa = _rowsum(weights)
        estimate = _rowsum(weights * y) / sa
        vb = _rowsum(weights**2 * (v + tau2[:, None])) / sa**2
        weight_pct = 100.0 * weights / sa[:, None]

    s2w = np.ones(g)
    if test in ("knha", "adhoc"):
        _, r = weighted_residuals(y, w)
        rss = _rowsum(w * r * r)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
    vb = s2w * vb
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = estimate / se
    alpha = 1.0 - level
    if test == "z":
        df = np.inf
        p_value = 2.0 * norm_sf(np.abs(statistic))
        crit = norm_isf(alpha / 2)
    else:
        df = float(k - p)
        p_value = 2.0 * t_sf(np.abs(statistic), df)
        crit = t_isf(alpha / 2, df)
    ci_lower = estimate - crit * se
    ci_upper = estimate + crit * se
    if method == "EE":
        # metafor's predict() gives no prediction interval for an equal-effects model.
        pi_lower = pi_upper = np.full(g, np.nan)
    else:
        pi_se = np.sqrt(vb + tau2)
        pi_lower = estimate - crit * pi_se
        pi_upper = estimate + crit * pi_se

    # Heterogeneity statistics always use the equal-effects weights 1/v.
    if k > p:
        q = np.maximum(0.0, q_statistic(y, v, np.zeros(g)))
        q_p = chi2_sf(q, k - p)
        if method == "EE":
            with np.errstate(divide="ignore", invalid="ignore"):
                i2 = np.maximum(0.0, np.nan_to_num(100.0 * (q - (k - p)) / q, nan=0.0, neginf=0.0))
            h2 = q / (k - p)
        else:
            vt = (k - p) / _tr_p(1.0 / v)
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q, q_p, i2, h2 = np.zeros(g), np.ones(g), np.zeros(g), np.ones(g)

    nan = np.full(g, np.nan)
    ci_lo, ci_hi = nan, nan.copy()
    ci_status = np.full(g, CI_OK, dtype=np.int8)
    if tau2_ci and method != "EE" and k > 1:
        ci_lo, ci_hi, ci_status = q_profile_ci(y, v, tau2, level)

    loglik = _loglik(y, v, tau2, reml=method == "REML")

    return DenseFit(
        k=k,
        test=test,
        estimate=estimate,
        se=se,
        statistic=statistic,
        p_value=p_value,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        pi_lower=pi_lower,
        pi_upper=pi_upper,
        tau2=tau2,
        tau2_se=tf.tau2_se,
        tau2_ci_lower=ci_lo,
        tau2_ci_upper=ci_hi,
        tau2_ci_status=ci_status,
        i2=i2,
        h2=h2,
        q=q,
        q_df=k - p,
        q_p_value=q_p,
        df=df,
        s2w=s2w,
        weights=weight_pct,
        loglik=loglik,
        iterations=tf.iterations,
        converged=tf.converged,
        boundary_reset=tf.boundary_reset,
    )
