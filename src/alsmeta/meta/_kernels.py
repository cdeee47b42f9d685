"""Numerical kernels of the intercept-only meta-analysis model.

One convention throughout: ``y`` and ``v`` have shape ``(..., k)`` — ``(k,)`` for one
meta-analysis, ``(G, k)`` for ``G`` independent ones of ``k`` studies each (the batch
engine stacks the groups that share a ``k``). Per-analysis quantities come out as floats
or ``(G,)`` arrays. The evaluation functions (moments, Q, score) are written once and
serve both shapes; only the control flow of the two root searches exists in a scalar form
(one analysis: Python floats, no array overhead) and an array form (many analyses at once,
compacting the set still iterating). Both forms call the same evaluations.

The formulas are those of metafor's ``rma.uni`` (version 3.8-1) specialised to an
intercept-only design, where every k x k matrix product reduces to weighted sums. With
weights ``w`` and ``s_j = sum(w**j)``, the projection ``P = W - w w'/s_1`` has
``tr(P) = s_1 - s_2/s_1`` and ``sum(P*P) = s_2 - 2 s_3/s_1 + s_2**2/s_1**2``. All sums
needed by an iteration come from one small matrix product, the moments
``a[j, q] = sum(w**(j+1) * y**q)`` (j, q = 0, 1, 2), with ``y`` centred once at its
inverse-variance mean so that the expanded residual sums lose no digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

Array = NDArray[Any]
Value = Any  # a float (one analysis) or an array of shape (G,)

METHODS: tuple[str, ...] = (
    "EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ",
)  # fmt: skip
ITERATIVE_METHODS = frozenset({"ML", "REML", "EB", "PM", "PMM"})
TESTS: tuple[str, ...] = ("z", "t", "knha", "adhoc")

#: Convergence tolerance on tau^2 (relative to max(1, tau^2)) of the iterative solvers.
TOLERANCE = 1e-13
MAX_ITER = 1000

CI_OK, CI_EMPTY, CI_UPPER_BEYOND, CI_BOTH_BEYOND = 0, 1, 2, 3


# ------------------------------------------------------------------ distributions
# scipy.special ufuncs instead of scipy.stats: the same functions (stats calls them)
# without the ~50 microseconds of argument handling per call.
def norm_sf(x: Value) -> Value:
    """Upper tail of the standard normal."""
    return special.ndtr(-x)


def norm_isf(p: float) -> float:
    """Upper-tail quantile of the standard normal."""
    return float(-special.ndtri(p))


def t_sf(x: Value, df: float) -> Value:
    """Upper tail of Student's t."""
    return special.stdtr(df, -x)


def t_isf(p: float, df: float) -> float:
    """Upper-tail quantile of Student's t."""
    return float(-special.stdtrit(df, p))


def chi2_sf(x: Value, df: float) -> Value:
    """Upper tail of the chi-square distribution."""
    return special.gammaincc(df / 2.0, x / 2.0)


def chi2_ppf(p: float, df: float) -> float:
    """Lower-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammaincinv(df / 2.0, p))


def chi2_isf(p: float, df: float) -> float:
    """Upper-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammainccinv(df / 2.0, p))


# ------------------------------------------------------------ scalar-or-array helpers
_add_reduce = np.add.reduce


def _rowsum(x: Array) -> Value:
    # np.add.reduce skips np.sum's dispatch layers, which dominate for small k.
    return _add_reduce(x, axis=-1)


def _col(t: Value) -> Value:
    """Broadcast a per-analysis value against ``(..., k)`` arrays."""
    return t[..., None] if isinstance(t, np.ndarray) else t


def _select(cond: Any, a: Value, b: Value) -> Value:
    if isinstance(cond, np.ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def _clip0(x: Value) -> Value:
    """``max(x, 0)``; nan stays nan."""
    if isinstance(x, np.ndarray):
        return np.where(x < 0, 0.0, x)
    return 0.0 if x < 0 else x


def _full(like: Value, value: float) -> Value:
    return np.full(np.shape(like), value) if isinstance(like, np.ndarray) else value


# ---------------------------------------------------------------------- the data
_Y_POWERS = np.array([0.0, 1.0, 2.0])


@dataclass(frozen=True, slots=True)
class Data:
    """Effect sizes prepared for the kernels: ``y`` centred at ``center`` (its
    inverse-variance mean), ``v``, and ``y3 = [1, y, y^2]`` stacked on the last axis."""

    y: Array
    v: Array
    y3: Array
    center: Value
    k: int

    @property
    def batch(self) -> bool:
        return self.y.ndim > 1

    @property
    def df(self) -> int:
        """Residual degrees of freedom, k - p."""
        return self.k - 1

    def subset(self, sub: Any) -> Data:
        return _subset(self, sub)

    def q_and_slope(self, tau2: Value) -> tuple[Value, Value]:
        return q_and_slope(self, tau2)

    def score_terms(self, tau2: Value, reml: bool) -> tuple[Value, Value, Value]:
        return score_terms(self, tau2, reml)

    def loglik(self, tau2: Value, reml: bool) -> Value:
        return loglik(self, tau2, reml)

    def spread(self) -> Value:
        """A scale for tau^2: ten times the variance of the effect sizes."""
        return 10.0 * _rowsum(self.y * self.y) / max(self.k - 1, 1)


def prepare(y: Array, v: Array) -> Data:
    """Centre ``y`` (a shift leaves every tau^2 estimator unchanged) and stack its powers."""
    w = 1.0 / v
    center = _rowsum(w * y) / _rowsum(w)
    yc = y - _col(center)
    y3 = np.power(yc[..., None], _Y_POWERS)
    return Data(y=yc, v=v, y3=y3, center=center, k=y.shape[-1])


def _subset(d: Data, sub: Any) -> Data:
    return Data(y=d.y[sub], v=d.v[sub], y3=d.y3[sub], center=d.center[sub], k=d.k)


_POWERS = np.array([[1.0], [2.0], [3.0]])


def moments(d: Data, tau2: Value) -> tuple[Value, ...]:
    """``a[j, q] = sum(w**(j+1) y**q)`` for ``w = 1/(v + tau2)``, flattened row-wise."""
    w = 1.0 / (d.v + _col(tau2))
    # (..., 3, k) powers of w in one ufunc call (np.stack costs more than the sums).
    m = np.matmul(np.power(w[..., None, :], _POWERS), d.y3)
    if m.ndim == 2:
        return tuple(m.reshape(9).tolist())
    return tuple(np.moveaxis(m.reshape((*m.shape[:-2], 9)), -1, 0))


def _exclusive_sums(x: Array) -> Array:
    """``sum_{j != i} x_j`` for each i, from prefix and suffix sums: no subtraction, so
    no digits are lost when one term dominates the total."""
    zero = np.zeros((*x.shape[:-1], 1))
    prefix = np.concatenate((zero, np.cumsum(x[..., :-1], axis=-1)), axis=-1)
    suffix = np.concatenate((np.cumsum(x[..., :0:-1], axis=-1)[..., ::-1], zero), axis=-1)
    return prefix + suffix


def projection_traces(w: Array) -> tuple[Value, Value]:
    """``tr(P)`` and ``tr(PP)`` of ``P = W - w w'/sum(w)``, free of cancellation.

    The textbook forms ``s - sum(w^2)/s`` and ``sum(w^2) - 2 sum(w^3)/s + (sum(w^2)/s)^2``
    lose every digit when one study's variance is 10^7 times smaller than the others'.
    They are used while they keep ~10 digits; otherwise ``P_ii = w_i c_i / s`` and
    ``P_ij = -w_i w_j / s`` with ``c_i = sum_{j!=i} w_j`` give ``tr(P) = sum(w c)/s`` and
    ``tr(PP) = sum(w^2 (c^2 + d))/s^2`` with ``d_i = sum_{j!=i} w_j^2``: sums of positive
    terms.
    """
    s = _rowsum(w)
    w2 = w * w
    s2, s3 = _rowsum(w2), _rowsum(w2 * w)
    ratio = s2 / s
    tr_p = s - ratio
    tr_pp = s2 - 2.0 * s3 / s + ratio * ratio
    accurate = (tr_p > 1e-6 * s) & (tr_pp > 1e-6 * s2)
    if _all(accurate):
        return tr_p, tr_pp
    c = _exclusive_sums(w)
    dd = _exclusive_sums(w2)
    exact_p = _rowsum(w * c) / s
    exact_pp = _rowsum(w2 * (c * c + dd)) / (s * s)
    return _select(accurate, tr_p, exact_p), _select(accurate, tr_pp, exact_pp)


def _all(x: Any) -> bool:
    return bool(x.all()) if isinstance(x, np.ndarray) else bool(x)


def q_and_slope(d: Data, tau2: Value) -> tuple[Value, Value]:
    """Generalised Q, ``sum(w (y - mu_w)^2)`` with ``w = 1/(v + tau2)``, and its
    derivative in tau^2, ``-sum(w^2 (y - mu_w)^2)``."""
    a00, a01, a02, a10, a11, a12, _, _, _ = moments(d, tau2)
    mu = a01 / a00
    return a02 - mu * a01, -(a12 - mu * (2.0 * a11 - mu * a10))


def q_statistic(d: Data, tau2: Value) -> Value:
    """Generalised Q at ``tau2``."""
    return q_and_slope(d, tau2)[0]


def score_terms(d: Data, tau2: Value, reml: bool) -> tuple[Value, Value, Value]:
    """Twice the score of the (restricted) log-likelihood in tau^2, twice its expected
    information, and the score's derivative.

    With ``r = y - mu_w``: ``y'PPy = sum(w^2 r^2)`` and ``y'PPPy = sum(w^3 r^2) -
    (sum(w^2 r))^2 / sum(w)``; REML score ``y'PPy - tr(P)`` with derivative
    ``tr(PP) - 2 y'PPPy``; ML score ``y'PPy - sum(w)`` with derivative
    ``sum(w^2) - 2 y'PPPy``. metafor's Fisher step is score / information.
    """
    a00, a01, _, a10, a11, a12, a20, a21, a22 = moments(d, tau2)
    mu = a01 / a00
    ypy = a12 - mu * (2.0 * a11 - mu * a10)
    w2r = a11 - mu * a10
    ypppy = a22 - mu * (2.0 * a21 - mu * a20) - w2r * w2r / a00
    if reml:
        ratio = a10 / a00
        tr_p = a00 - ratio
        info = a10 - 2.0 * a20 / a00 + ratio * ratio
        # The moment forms cancel when one weight dominates; they are exact to ~1e-10
        # while the traces exceed 1e-6 of their leading terms, else recompute exactly.
        accurate = (tr_p > 1e-6 * a00) & (info > 1e-6 * a10)
        if not _all(accurate):
            exact_p, exact_pp = projection_traces(1.0 / (d.v + _col(tau2)))
            tr_p = _select(accurate, tr_p, exact_p)
            info = _select(accurate, info, exact_pp)
        return ypy - tr_p, info, info - 2.0 * ypppy
    return ypy - a00, a10, a10 - 2.0 * ypppy


def loglik(
    d: Data, tau2: Value, reml: bool, moments_at_tau2: tuple[Value, ...] | None = None
) -> Value:
    """Log-likelihood (ML) or restricted log-likelihood (REML) as metafor computes it
    (``REMLf=TRUE``: the REML version includes ``+ log(k)/2 = log det(X'X)/2``).
    ``moments_at_tau2`` saves recomputing the moments when the caller has them."""
    k = d.k
    a00, a01, a02, *_ = moments(d, tau2) if moments_at_tau2 is None else moments_at_tau2
    rss = a02 - a01 * a01 / a00
    logdet = _rowsum(np.log(d.v + _col(tau2)))
    if reml:
        return (
            -0.5 * (k - 1) * math.log(2 * math.pi)
            + 0.5 * math.log(k)
            - 0.5 * logdet
            - 0.5 * np.log(a00)
            - 0.5 * rss
        )
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss


# ------------------------------------------------------ P-matrix sums for the SEs
def _p_sums(w: Array, v: Array) -> dict[str, Value]:
    """Traces of P-products for ``P = W - w w'/sum(w)``, ``V = diag(v)``."""
    s1 = _rowsum(w)
    s2 = _rowsum(w**2)
    w2v, w3v = _rowsum(w**2 * v), _rowsum(w**3 * v)
    tr_p, pp = projection_traces(w)
    return {
        "tr_p": tr_p,
        "pp": pp,
        "tr_pv": _rowsum(w * v) - w2v / s1,
        "pvpv": _rowsum(w**2 * v**2) - 2.0 * _rowsum(w**3 * v**2) / s1 + w2v**2 / s1**2,
        "pvp": w2v - 2.0 * w3v / s1 + s2 * w2v / s1**2,
    }


def _se_moment(trace: Value, pvpv: Value, pvp: Value, pp: Value, tau2: Value) -> Value:
    """metafor's SE of a moment estimator of tau^2:
    ``sqrt(2 tr(PVPV) + 4 t tr(PVP) + 2 t^2 tr(PP)) / trace``."""
    return np.sqrt((2.0 * pvpv + 4.0 * tau2 * pvp + 2.0 * tau2 * tau2 * pp) / (trace * trace))


# ------------------------------------------------------------------------ solvers
def _active_rows(active: NDArray[np.bool_]) -> slice | NDArray[np.intp] | None:
    """Rows still iterating: all of them as a slice (a view, no copy), a subset as an
    index array, or ``None`` when every row has converged."""
    if active.all():
        return slice(None)
    idx = np.flatnonzero(active)
    return idx if idx.size else None


def _retire(active: NDArray[np.bool_], sub: Any, done: NDArray[np.bool_]) -> None:
    if isinstance(sub, slice):
        active[done] = False
    else:
        active[sub[done]] = False


def solve_decreasing(d: Any, target: Value, lower: Value, upper: Value) -> Value:
    """Solve ``Q(tau2) = target`` in ``[lower, upper]``, where Q is decreasing and
    ``Q(lower) >= target >= Q(upper)``.

    Safeguarded Newton on ``1/Q(tau2) - 1/target``: Q behaves like ``c/(v + tau2)``, so
    its reciprocal is nearly linear and Newton needs a few steps where Newton on Q itself
    crawls. A step that leaves the current bracket is replaced by bisection, so the
    iteration always converges; it stops when a step is below the tolerance.
    """
    if not d.batch:
        x, lo, hi = float(lower), float(lower), float(upper)
        for _ in range(MAX_ITER):
            q, dq = d.q_and_slope(x)
            f = q - target
            if f == 0:
                return x
            if f > 0:
                lo = x
            else:
                hi = x
            new = x - (q / target) * f / dq if dq != 0 else math.nan
            if not lo < new < hi:
                new = 0.5 * (lo + hi)
            if abs(new - x) <= TOLERANCE * max(1.0, abs(new)):
                return new
            x = new
        return x
    lo_a = np.array(lower, dtype=float, copy=True)
    hi_a = np.array(upper, dtype=float, copy=True)
    target_a = np.broadcast_to(target, lo_a.shape)
    xa = lo_a.copy()
    active = np.ones(xa.shape, dtype=bool)
    for _ in range(MAX_ITER):
        sub = _active_rows(active)
        if sub is None:
            break
        xs = xa[sub]
        q, dq = d.subset(sub).q_and_slope(xs)
        f = q - target_a[sub]
        pos = f > 0
        lo_s = np.where(pos, xs, lo_a[sub])
        hi_s = np.where(pos, hi_a[sub], xs)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = xs - (q / target_a[sub]) * f / dq
        bad = ~((lo_s < new) & (new < hi_s))
        new = np.where(bad, 0.5 * (lo_s + hi_s), new)
        new = np.where(f == 0, xs, new)
        done = (np.abs(new - xs) <= TOLERANCE * np.maximum(1.0, np.abs(new))) | (f == 0)
        xa[sub], lo_a[sub], hi_a[sub] = new, lo_s, hi_s
        _retire(active, sub, done)
    return xa


def likelihood_root(d: Any, start: Value, reml: bool) -> tuple[Value, Value, Value]:
    """The (restricted) maximum-likelihood tau^2 >= 0, from metafor's start value.

    Once a bracket ``[lo, hi]`` is known — a positive score at ``lo`` (or at 0) and a
    negative one at ``hi`` — a safeguarded Newton iteration runs inside it, bisecting when
    a step leaves the bracket or fails to halve it (as ``rtsafe``). This converges where
    metafor's plain Fisher scoring oscillates (about 1 in 100 simulated data sets at
    k = 10). Before that, and whenever the score at 0 is not positive (the likelihood
    may then have a boundary maximum at 0 and an interior one), the iteration takes
    metafor's own step, ``score / information`` halved until tau^2 stays >= 0, so that it
    reaches the maximum metafor reaches. Returns ``(tau2, iterations, converged)``.
    """
    zero_is_max = d.score_terms(_full(start, 0.0), reml)[0] <= 0
    if not d.batch:
        t, lo, hi, last = float(start), 0.0, math.inf, math.inf
        scale = float(d.spread()) or 1.0
        for n in range(1, MAX_ITER + 1):
            score, info, slope = d.score_terms(t, reml)
            if score == 0:
                return t, n, True
            up = score > 0
            if up:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            bracketed = hi < math.inf and (lo > 0 or not zero_is_max)
            # A non-positive or non-finite information (rounding with extreme variance
            # ratios) gives no usable Fisher step: move by the score's sign instead.
            usable = info > 0 and math.isfinite(info)
            fisher = score / info if usable else (max(t, 1e-3 * scale) if up else -0.5 * t)
            newton = -score / slope if slope < 0 and math.isfinite(slope) else fisher
            if bracketed:
                step = newton
                if not lo <= t + step <= hi or abs(step) > 0.5 * abs(last):
                    step = 0.5 * (lo + hi) - t
            else:
                step = newton if up else fisher
                while t + step < 0:
                    step *= 0.5
            new = max(t + step, 0.0)
            last = new - t
            if abs(new - t) <= TOLERANCE * max(1.0, new) or (
                bracketed and hi - lo <= TOLERANCE * max(1.0, hi)
            ):
                return new, n, True
            t = new
        return t, MAX_ITER, False

    g = start.shape[0]
    scales = np.asarray(d.spread(), dtype=float)
    scales = np.where(scales > 0, scales, 1.0)
    tau2 = np.array(start, dtype=float, copy=True)
    lo_a = np.zeros(g)
    hi_a = np.full(g, np.inf)
    last_step = np.full(g, np.inf)
    iters = np.zeros(g, dtype=np.int64)
    active = np.ones(g, dtype=bool)
    for _ in range(MAX_ITER):
        sub = _active_rows(active)
        if sub is None:
            break
        t_s = tau2[sub]
        score, info, slope = d.subset(sub).score_terms(t_s, reml)
        up = score > 0
        lo_s = np.where(up, np.maximum(lo_a[sub], t_s), lo_a[sub])
        hi_s = np.where(up, hi_a[sub], np.minimum(hi_a[sub], t_s))
        bracketed = np.isfinite(hi_s) & ((lo_s > 0) | ~zero_is_max[sub])
        with np.errstate(divide="ignore", invalid="ignore"):
            usable = (info > 0) & np.isfinite(info)
            fallback = np.where(up, np.maximum(t_s, 1e-3 * scales[sub]), -0.5 * t_s)
            fisher = np.where(usable, score / info, fallback)
            newton = np.where((slope < 0) & np.isfinite(slope), -score / slope, fisher)
        # Inside a bracket: Newton (Fisher where the score is not decreasing), bisection
        # when it leaves the bracket or is slow.
        step_b = newton
        bad = ~((lo_s <= t_s + step_b) & (t_s + step_b <= hi_s))
        bad |= np.abs(step_b) > 0.5 * np.abs(last_step[sub])
        step_b = np.where(bad, 0.5 * (lo_s + hi_s) - t_s, step_b)
        # Without one: metafor's step_a, halved until tau^2 >= 0.
        step_u = np.where(up, newton, fisher)
        for _h in range(1100):
            neg = t_s + step_u < 0
            if not neg.any():
                break
            step_u = np.where(neg, 0.5 * step_u, step_u)
        step_a = np.where(bracketed, step_b, step_u)
        new_a = np.where(score == 0, t_s, np.maximum(t_s + step_a, 0.0))
        lo_a[sub], hi_a[sub] = lo_s, hi_s
        last_step[sub] = new_a - t_s
        iters[sub] += 1
        done = (np.abs(new_a - t_s) <= TOLERANCE * np.maximum(1.0, new_a)) | (score == 0)
        done |= bracketed & (hi_s - lo_s <= TOLERANCE * np.maximum(1.0, hi_s))
        tau2[sub] = new_a
        _retire(active, sub, done)
    return tau2, iters, ~active


def _upper_bracket(d: Any, target: Value, start: Value) -> Value:
    """An upper end where ``Q(upper) <= target``, found by quadrupling ``start``."""
    upper = _select(start > 1.0, start, _full(start, 1.0))
    for _ in range(200):
        above = d.q_and_slope(upper)[0] > target
        if not np.any(above):
            break
        upper = _select(above, upper * 4.0, upper)
    return upper


def root_or_zero(d: Any, target: Value) -> Value:
    """Root of ``Q(tau2) = target``, or 0 where ``Q(0) < target`` (metafor's PM rule)."""
    spread = d.spread()
    zero = _full(spread, 0.0)
    q0 = d.q_and_slope(zero)[0]
    if not d.batch:
        if q0 < target:
            return 0.0
        return solve_decreasing(d, target, 0.0, _upper_bracket(d, target, spread))
    tau2 = np.zeros(q0.shape)
    need = q0 >= target
    if np.any(need):
        idx = np.flatnonzero(need)
        sub = d.subset(idx)
        target_s = np.broadcast_to(target, q0.shape)[idx]
        upper = _upper_bracket(sub, target_s, spread[idx])
        tau2[idx] = solve_decreasing(sub, target_s, np.zeros(idx.size), upper)
    return tau2


def q_root_with_se(d: Any, target: float, k: int, p: int) -> tuple[Value, Value]:
    """:func:`root_or_zero` and the standard error metafor gives the Paule-Mandel and
    empirical Bayes estimates, ``sqrt(2 k^2 / (k - p) / sum(w)^2)``."""
    tau2 = root_or_zero(d, target)
    w = 1.0 / (d.v + _col(tau2))
    return tau2, np.sqrt(2.0 * k**2 / (k - p) / _rowsum(w) ** 2)


# ------------------------------------------------------------------- estimators
@dataclass(frozen=True, slots=True)
class Tau2Fit:
    """tau^2 estimates (floats for one analysis, arrays for many)."""

    tau2: Value
    tau2_se: Value
    iterations: Value
    converged: Value
    boundary_reset: Value  # ML/REML: the likelihood at tau^2 = 0 beat the local maximum


def estimate_tau2(d: Data, method: str, weights: Array | None = None) -> Tau2Fit:
    """Estimate tau^2 as metafor's ``rma.uni`` (k >= 2; the caller handles k = 1).

    Estimates are truncated at zero, as metafor does.
    """
    k, p = d.k, 1
    zero = _full(d.center, 0.0)
    none, true, false = _full(zero, math.nan), _full(zero, True), _full(zero, False)
    iterations = _full(zero, 0)

    def fit(tau2: Value, se: Value) -> Tau2Fit:
        return Tau2Fit(tau2, se, iterations, true, false)

    if method == "EE":
        return fit(zero, none)
    if method in ("DL", "HS", "HSk"):
        a00, a01, a02, *_ = moments(d, zero)
        q = a02 - a01 * a01 / a00
        tr_p, pp = projection_traces(1.0 / d.v)
        if method == "DL":
            tau2 = _clip0((q - (k - p)) / tr_p)
            return fit(tau2, _se_moment(tr_p, float(k - p), tr_p, pp, tau2))
        factor = k / (k - p) if method == "HSk" else 1.0
        tau2 = _clip0((factor * q - k) / a00)
        return fit(tau2, factor * _se_moment(a00, float(k - p), tr_p, pp, tau2))
    if method in ("HE", "ML", "REML", "EB"):
        ybar = _rowsum(d.y) / k
        rss = _rowsum((d.y - _col(ybar)) ** 2)
        tr_pv = _rowsum(d.v) * (1.0 - 1.0 / k)  # tr(PV) for P = I - J/k
        tau2_he = (rss - tr_pv) / (k - p)
        if method == "HE":
            tau2 = _clip0(tau2_he)
            kp = float(k - p)
            pvpv = _p_sums(np.ones_like(d.y), d.v)["pvpv"]
            return fit(tau2, _se_moment(kp, pvpv, tr_pv, kp, tau2))
        if method == "EB":
            # EB's fixed point sum(w (y - mu)^2) k/(k-p) = k is Q(tau2) = k - p, the
            # Paule-Mandel equation: solve it exactly. metafor's iteration reaches the same
            # root, or creeps to 0 when Q(0) < k - p.
            return fit(*q_root_with_se(d, float(k - p), k, p))
        reml = method == "REML"
        tau2, iterations, converged = likelihood_root(d, _clip0(tau2_he), reml)
        # metafor's ll0check: a boundary maximum that beats the local one wins.
        reset = converged & (loglik(d, zero, reml) - loglik(d, tau2, reml) > 1e-10) & (tau2 > 0)
        tau2 = _clip0(_select(reset, zero, tau2))
        w = 1.0 / (d.v + _col(tau2))
        # 2 / sum(P*P) for REML, 2 / sum(w^2) for ML
        se = np.sqrt(2.0 / (projection_traces(w)[1] if reml else _rowsum(w * w)))
        return Tau2Fit(tau2, se, iterations, converged, reset)
    if method == "SJ":
        tau0 = _rowsum((d.y - _col(_rowsum(d.y) / k)) ** 2) / k
        w = 1.0 / (d.v + _col(tau0))
        sums = _p_sums(w, d.v)
        tau2 = _clip0(tau0 * q_statistic(d, tau0) / (k - p))
        se = (
            tau0
            / (k - p)
            * np.sqrt(
                2.0 * sums["pvpv"] + 4.0 * tau2 * sums["pvp"] + 2.0 * tau2 * tau2 * sums["pp"]
            )
        )
        return fit(tau2, se)
    if method in ("PM", "PMM"):
        target = float(k - p) if method == "PM" else chi2_ppf(0.5, k - p)
        return fit(*q_root_with_se(d, target, k, p))
    if method == "GENQ":
        if weights is None:
            raise ValueError("method='GENQ' needs weights")
        a = weights
        mu = _rowsum(a * d.y) / _rowsum(a)
        rss = _rowsum(a * (d.y - _col(mu)) ** 2)
        sums = _p_sums(a, d.v)
        tau2 = _clip0((rss - sums["tr_pv"]) / sums["tr_p"])
        return fit(tau2, _se_moment(sums["tr_p"], sums["pvpv"], sums["pvp"], sums["pp"], tau2))
    raise ValueError(f"unknown method {method!r}")


# --------------------------------------------------------------- Q-profile interval
def q_profile_ci(d: Any, tau2: Value, level: float) -> tuple[Value, Value, Value]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's
    ``confint.rma.uni(type="QP")``.

    The lower bound solves ``Q(tau2) = chi2_{1-a/2}(k-p)``, the upper bound
    ``Q(tau2) = chi2_{a/2}(k-p)``, searched in ``[0, tau2_max]`` with ``tau2_max =
    max(100, 10 tau2)`` as metafor. Where metafor reports no number the bound is nan and
    ``status`` says why: :data:`CI_EMPTY` (even ``Q(0)`` is below the lower quantile: the
    interval is the null set), :data:`CI_UPPER_BEYOND` (the upper bound exceeds
    ``tau2_max``), :data:`CI_BOTH_BEYOND` (both bounds exceed it). A lower bound below 0
    is 0, as metafor. Returns ``(lower, upper, status)``.
    """
    alpha = 1.0 - level
    crit_u = chi2_isf(alpha / 2, d.df)
    crit_l = chi2_ppf(alpha / 2, d.df)
    tau2_max = 10.0 * tau2
    tau2_max = _select(tau2_max > 100.0, tau2_max, _full(tau2, 100.0))
    zero = _full(tau2, 0.0)
    q_min = d.q_and_slope(zero)[0]
    q_max = d.q_and_slope(tau2_max)[0]
    if not d.batch:
        if q_min < crit_l:
            return math.nan, math.nan, CI_EMPTY
        if q_max > crit_u:
            return math.nan, math.nan, CI_BOTH_BEYOND
        lower = 0.0 if q_min < crit_u else solve_decreasing(d, crit_u, 0.0, tau2_max)
        if q_max > crit_l:
            return lower, math.nan, CI_UPPER_BEYOND
        return lower, solve_decreasing(d, crit_l, 0.0, tau2_max), CI_OK

    lower = np.full(q_min.shape, np.nan)
    upper = np.full(q_min.shape, np.nan)
    status = np.full(q_min.shape, CI_OK, dtype=np.int8)
    empty = q_min < crit_l
    both_beyond = ~empty & (q_max > crit_u)
    upper_beyond = ~empty & ~both_beyond & (q_max > crit_l)
    status[empty] = CI_EMPTY
    status[both_beyond] = CI_BOTH_BEYOND
    status[upper_beyond] = CI_UPPER_BEYOND
    ok = ~empty & ~both_beyond
    for bound, crit, wanted in (
        (upper, crit_l, ok & ~upper_beyond),
        (lower, crit_u, ok & (q_min >= crit_u)),
    ):
        if np.any(wanted):
            idx = np.flatnonzero(wanted)
            bound[idx] = solve_decreasing(d.subset(idx), crit, np.zeros(idx.size), tau2_max[idx])
    lower[ok & (q_min < crit_u)] = 0.0
    return lower, upper, status


# ------------------------------------------------------------------------ inference
@dataclass(frozen=True, slots=True)
class Fit:
    """Every quantity of a fitted model (floats for one analysis, arrays for many)."""

    k: int
    test: str
    estimate: Value
    se: Value
    statistic: Value
    p_value: Value
    ci_lower: Value
    ci_upper: Value
    pi_lower: Value
    pi_upper: Value
    tau2: Value
    tau2_se: Value
    tau2_ci_lower: Value
    tau2_ci_upper: Value
    tau2_ci_status: Value  # CI_OK, CI_EMPTY, CI_UPPER_BEYOND, CI_BOTH_BEYOND
    i2: Value
    h2: Value
    q: Value
    q_df: int
    q_p_value: Value
    df: float
    s2w: Value
    weights: Array  # (..., k), percent
    loglik: Value
    iterations: Value
    converged: Value
    boundary_reset: Value


def fit_model(
    y: Array,
    v: Array,
    *,
    method: str,
    test: str,
    level: float,
    weights: Array | None = None,
    tau2_ci: bool = True,
) -> Fit:
    """Fit intercept-only models to ``y``, ``v`` of shape ``(k,)`` or ``(G, k)``;
    see :func:`alsmeta.meta_analysis` for the definitions."""
    d = prepare(y, v)
    k, p = d.k, 1
    zero = _full(d.center, 0.0)
    nan = _full(zero, math.nan)
    if k == 1:
        # metafor: tau^2 = 0 and test "z" when k = 1.
        test = "z"
        tf = Tau2Fit(zero, nan, _full(zero, 0), _full(zero, True), _full(zero, False))
    else:
        tf = estimate_tau2(d, method, weights)
    tau2 = tf.tau2
    w = 1.0 / (d.v + _col(tau2))
    m_tau2 = moments(d, tau2)
    a00, a01, a02, *_ = m_tau2
    rss = a02 - a01 * a01 / a00  # sum(w (y - mu_w)^2), the Knapp-Hartung numerator
    if weights is None:
        estimate_c = a01 / a00
        vb = 1.0 / a00
        weight_pct = 100.0 * w / _col(a00)
    else:
        sa = _rowsum(weights)
        estimate_c = _rowsum(weights * d.y) / sa
        vb = _rowsum(weights**2 * (d.v + _col(tau2))) / sa**2
        weight_pct = 100.0 * weights / _col(sa)
    estimate = estimate_c + d.center

    s2w = _full(zero, 1.0)
    if test in ("knha", "adhoc"):
        s2w = _select(rss <= np.finfo(float).eps, zero, rss / (k - p))
        if test == "adhoc":
            s2w = _select(s2w < 1.0, _full(zero, 1.0), s2w)
    vb = s2w * vb
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.divide(estimate, se)
    alpha = 1.0 - level
    if test == "z":
        df = math.inf
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
        pi_lower, pi_upper = nan, nan
    else:
        pi_se = np.sqrt(vb + tau2)
        pi_lower = estimate - crit * pi_se
        pi_upper = estimate + crit * pi_se

    # Heterogeneity statistics always use the equal-effects weights 1/v.
    if k > p:
        b00, b01, b02, *_ = moments(d, zero)
        q = _clip0(b02 - b01 * b01 / b00)
        q_p = chi2_sf(q, k - p)
        if method == "EE":
            with np.errstate(divide="ignore", invalid="ignore"):
                i2 = np.divide(100.0 * (q - (k - p)), q)
            i2 = _select(i2 > 0, i2, zero)  # also maps nan (Q = 0) to 0, as max(0, -Inf)
            h2 = q / (k - p)
        else:
            vt = (k - p) / projection_traces(1.0 / d.v)[0]
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q, q_p, i2, h2 = zero, _full(zero, 1.0), zero, _full(zero, 1.0)

    ci_lo, ci_hi, ci_status = nan, nan, _full(zero, CI_OK)
    if tau2_ci and method != "EE" and k > 1:
        ci_lo, ci_hi, ci_status = q_profile_ci(d, tau2, level)

    return Fit(
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
        loglik=loglik(d, tau2, reml=method == "REML", moments_at_tau2=m_tau2),
        iterations=tf.iterations,
        converged=tf.converged,
        boundary_reset=tf.boundary_reset,
    )
