"""The slope model of :func:`alsmeta.patients.mixed.slope_model`, fitted to many trials at once.

The deviance, its gradient and the Satterthwaite degrees of freedom are those of
``alsmeta.patients.mixed`` (which match lme4/lmerTest), written with a leading axis of
replicates: every quantity of ``_evaluate`` becomes an array over trials, and the fit is a
projected Newton iteration that updates all unconverged trials together. A trial that
does not converge, or whose fit lands on the boundary (``theta_1`` or ``theta_3`` at 0,
where the Cholesky parametrisation has a stationary point that a gradient method cannot
leave), is refitted alone by the single-trial optimiser, so every trial gets the estimate
``slope_model`` would report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from alsmeta.errors import check_choice
from alsmeta.patients import mixed

__all__ = ["BatchStats", "SlopeBatch", "fit_slope_batch", "sufficient_batch"]

_P = 4
_LOWER = np.array([0.0, -np.inf, 0.0])


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Sufficient statistics of ``R`` trials with ``m`` subjects each (see ``mixed._Stats``)."""

    z00: np.ndarray  # (R, m)
    z01: np.ndarray
    z11: np.ndarray
    x0: np.ndarray  # (R, m, p)
    x1: np.ndarray
    y0: np.ndarray  # (R, m)
    y1: np.ndarray
    xtx: np.ndarray  # (R, p, p)
    xty: np.ndarray  # (R, p)
    yty: np.ndarray  # (R,)
    n: np.ndarray  # (R,) visits

    def take(self, rows: np.ndarray) -> BatchStats:
        """The statistics of trials ``rows``."""
        return BatchStats(*(getattr(self, f)[rows] for f in self.__slots__))

    def single(self, r: int) -> mixed._Stats:
        """Trial ``r`` in the single-trial layout."""
        return mixed._Stats(
            self.z00[r], self.z01[r], self.z11[r], self.x0[r], self.x1[r], self.y0[r],
            self.y1[r], self.xtx[r], self.xty[r], float(self.yty[r]), int(self.n[r]),
        )  # fmt: skip


def sufficient_batch(
    months: np.ndarray, total: np.ndarray, observed: np.ndarray, arm: np.ndarray
) -> BatchStats:
    """Sufficient statistics from visits ``total[r, i, j]`` at ``months[j]``.

    ``observed`` (same shape as ``total``) marks the visits that exist; ``arm`` is 0/1
    per subject, shared by all trials.
    """
    w = observed.astype(float)
    y = np.where(observed, total, 0.0)
    t = np.asarray(months, dtype=float)
    z00 = w.sum(axis=2)
    z01 = w @ t
    z11 = w @ (t * t)
    y0 = y.sum(axis=2)
    y1 = y @ t
    a = np.broadcast_to(np.asarray(arm, dtype=float), z00.shape)
    x0 = np.stack([z00, z01, a * z00, a * z01], axis=2)
    x1 = np.stack([z01, z11, a * z01, a * z11], axis=2)
    s00, s01, s11 = z00.sum(1), z01.sum(1), z11.sum(1)
    a00, a01, a11 = (a * z00).sum(1), (a * z01).sum(1), (a * z11).sum(1)
    xtx = np.empty((len(z00), _P, _P))
    xtx[:, 0, 0], xtx[:, 0, 1], xtx[:, 1, 1] = s00, s01, s11
    xtx[:, 1, 0] = s01
    for i, j, v in ((0, 2, a00), (0, 3, a01), (1, 2, a01), (1, 3, a11),
                    (2, 2, a00), (2, 3, a01), (3, 3, a11)):  # fmt: skip
        xtx[:, i, j] = xtx[:, j, i] = v
    xty = np.stack([y0.sum(1), y1.sum(1), (a * y0).sum(1), (a * y1).sum(1)], axis=1)
    yty = (y * y).sum(axis=(1, 2))
    return BatchStats(z00, z01, z11, x0, x1, y0, y1, xtx, xty, yty, w.sum(axis=(1, 2)))


@dataclass(frozen=True, slots=True)
class _EvalBatch:
    deviance: np.ndarray  # (R,)
    gradient: np.ndarray  # (R, 3) or (R, 4)
    beta: np.ndarray  # (R, p)
    r2: np.ndarray
    f: np.ndarray  # (R, p, p)
    w0: np.ndarray  # (R, m, p)
    w1: np.ndarray


def _evaluate(
    theta: np.ndarray, s: BatchStats, *, reml: bool, sigma: np.ndarray | None = None
) -> _EvalBatch:
    """``mixed._evaluate`` for every trial: theta ``(R, 3)``, sigma ``(R,)`` or None."""
    a, b, c = theta[:, 0], theta[:, 1], theta[:, 2]
    o00, o01, o11 = (a * a)[:, None], (a * b)[:, None], (b * b + c * c)[:, None]
    b00 = 1.0 + s.z00 * o00 + s.z01 * o01
    b01 = s.z00 * o01 + s.z01 * o11
    b10 = s.z01 * o00 + s.z11 * o01
    b11 = 1.0 + s.z01 * o01 + s.z11 * o11
    det = b00 * b11 - b01 * b10
    k00, k01, k10, k11 = b11 / det, -b01 / det, -b10 / det, b00 / det
    w0 = k00[..., None] * s.x0 + k01[..., None] * s.x1
    w1 = k10[..., None] * s.x0 + k11[..., None] * s.x1
    v0 = k00 * s.y0 + k01 * s.y1
    v1 = k10 * s.y0 + k11 * s.y1
    ow0 = o00[..., None] * w0 + o01[..., None] * w1
    ow1 = o01[..., None] * w0 + o11[..., None] * w1
    ov0, ov1 = o00 * v0 + o01 * v1, o01 * v0 + o11 * v1
    x0t, x1t = s.x0.transpose(0, 2, 1), s.x1.transpose(0, 2, 1)
    f = s.xtx - (x0t @ ow0 + x1t @ ow1)
    f = (f + f.transpose(0, 2, 1)) / 2
    xvy = s.xty - (x0t @ ov0[..., None] + x1t @ ov1[..., None])[..., 0]
    yvy = s.yty - (s.y0 * ov0 + s.y1 * ov1).sum(axis=1)
    try:
        chol = np.linalg.cholesky(f)
        ok = None
    except np.linalg.LinAlgError:
        # One trial's matrix (e.g. at an extreme theta of a line search) must not stop the
        # others: those trials get a nan deviance and the rest are computed as usual.
        ok = np.linalg.eigvalsh(f)[:, 0] > 0
        f = np.where(ok[:, None, None], f, np.eye(_P))
        chol = np.linalg.cholesky(f)
    beta = np.linalg.solve(f, xvy[..., None])[..., 0]
    r2 = yvy - (beta * xvy).sum(axis=1)
    n = s.n
    logdet_v = np.log(det).sum(axis=1)
    logdet_f = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    r0 = v0 - (w0 @ beta[..., None])[..., 0]
    r1 = v1 - (w1 @ beta[..., None])[..., 0]
    g00 = (k00 * s.z00 + k01 * s.z01).sum(axis=1)
    g01 = (k00 * s.z01 + k01 * s.z11).sum(axis=1)
    g11 = (k10 * s.z01 + k11 * s.z11).sum(axis=1)
    if sigma is None:
        dof = n - _P if reml else n
        deviance = logdet_v + dof * (1.0 + np.log(2 * np.pi * r2 / dof))
        scale = dof / r2
    else:
        deviance = logdet_v + r2 / sigma**2 + n * np.log(2 * np.pi * sigma**2)
        if reml:
            deviance = deviance - _P * np.log(2 * np.pi * sigma**2)
        scale = 1.0 / sigma**2
    if reml:
        deviance = deviance + logdet_f
        finv = np.linalg.inv(f)
        a0 = w0 @ finv
        a1 = w1 @ finv
        g00 = g00 - (a0 * w0).sum(axis=(1, 2))
        g01 = g01 - (a0 * w1).sum(axis=(1, 2))
        g11 = g11 - (a1 * w1).sum(axis=(1, 2))
    g00 = g00 - scale * (r0 * r0).sum(axis=1)
    g01 = g01 - scale * (r0 * r1).sum(axis=1)
    g11 = g11 - scale * (r1 * r1).sum(axis=1)
    grad = np.stack([2 * a * g00 + 2 * b * g01, 2 * a * g01 + 2 * b * g11, 2 * c * g11], axis=1)
    if sigma is not None:
        dsig = -2 * r2 / sigma**3 + 2 * (n - (_P if reml else 0)) / sigma
        grad = np.concatenate([grad, dsig[:, None]], axis=1)
    if ok is not None:
        deviance = np.where(ok, deviance, np.nan)
        grad = np.where(ok[:, None], grad, np.nan)
    return _EvalBatch(deviance, grad, beta, r2, f, w0, w1)


def _start(s: BatchStats) -> np.ndarray:
    """Starting theta from per-subject OLS lines (moments), else lme4's (1, 0, 1)."""
    det = s.z00 * s.z11 - s.z01**2
    ok = (s.z00 >= 3) & (det > 1e-9 * np.maximum(s.z11, 1.0))
    safe = np.where(ok, det, 1.0)
    slope = np.where(ok, (s.z00 * s.y1 - s.z01 * s.y0) / safe, np.nan)
    icpt = np.where(ok, (s.z11 * s.y0 - s.z01 * s.y1) / safe, np.nan)
    count = ok.sum(axis=1)
    theta = np.tile([1.0, 0.0, 1.0], (len(count), 1))
    good = count >= 5
    if not good.any():
        return theta
    rows = np.flatnonzero(good)
    i, sl = icpt[rows], slope[rows]
    # Residual variance from the lines' fits is not available from the sums alone; use
    # the spread of the lines scaled by a unit residual: theta only needs the shape.
    vi, vs = np.nanvar(i, axis=1), np.nanvar(sl, axis=1)
    cov = np.nanmean(
        (i - np.nanmean(i, 1, keepdims=True)) * (sl - np.nanmean(sl, 1, keepdims=True)), 1
    )
    t0 = np.sqrt(np.maximum(vi, 1e-2))
    t1 = cov / t0
    t2 = np.sqrt(np.maximum(vs - t1**2, 1e-2 * np.maximum(vs, 1e-2)))
    theta[rows] = np.stack([t0, t1, t2], axis=1)
    return theta


def _hessian_fd(theta: np.ndarray, s: BatchStats, grad: np.ndarray, *, reml: bool) -> np.ndarray:
    """Forward-difference Hessian of the profiled deviance from its analytic gradient."""
    hess = np.empty((len(theta), 3, 3))
    for j in range(3):
        h = 1e-5 * np.maximum(np.abs(theta[:, j]), 0.1)
        up = theta.copy()
        up[:, j] += h
        hess[:, :, j] = (_evaluate(up, s, reml=reml).gradient - grad) / h[:, None]
    return (hess + hess.transpose(0, 2, 1)) / 2


def _newton(
    s: BatchStats, *, reml: bool, tol: float = 1e-8, max_iter: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """Projected Newton on all trials; returns theta ``(R, 3)`` and a converged flag."""
    theta = _start(s)
    ev = _evaluate(theta, s, reml=reml)
    bad = ~np.isfinite(ev.deviance)
    if bad.any():
        theta[bad] = [1.0, 0.0, 1.0]
        ev = _evaluate(theta, s, reml=reml)
    dev, grad = ev.deviance.copy(), ev.gradient.copy()
    converged = np.zeros(len(theta), dtype=bool)
    failed = ~np.isfinite(dev)
    active = np.flatnonzero(~failed)
    for _ in range(max_iter):
        if active.size == 0:
            break
        sub = s.take(active)
        th, g, d = theta[active], grad[active], dev[active]
        at_bound = (th <= 0) & np.isfinite(_LOWER) & (g > 0)
        pg = np.where(at_bound, 0.0, g)
        done = np.max(np.abs(pg), axis=1) < tol * np.maximum(1.0, np.abs(d) * 1e-3)
        converged[active[done]] = True
        keep = ~done
        if not keep.any():
            break
        active, th, g, d, pg, at_bound = (x[keep] for x in (active, th, g, d, pg, at_bound))
        sub = sub.take(np.flatnonzero(keep))
        hess = _hessian_fd(th, sub, g, reml=reml)
        free = ~at_bound
        mask = free[:, :, None] & free[:, None, :]
        hess = np.where(mask, hess, np.eye(3)[None])
        low = np.linalg.eigvalsh(hess)[:, 0]
        shift = np.where(low > 1e-10 * np.abs(hess).max(axis=(1, 2)), 0.0, 1e-3 - low)
        hess = hess + shift[:, None, None] * np.eye(3)[None]
        step = -np.linalg.solve(hess, pg[..., None])[..., 0]
        step = np.where(free, step, 0.0)
        alpha = np.ones(len(th))
        pending = np.arange(len(th))
        new_th, new_d, new_g = th.copy(), d.copy(), g.copy()
        for _ls in range(40):
            cand = np.maximum(th[pending] + alpha[pending, None] * step[pending], _LOWER)
            with np.errstate(all="ignore"):
                try:
                    e = _evaluate(cand, sub.take(pending), reml=reml)
                    cd, cg = e.deviance, e.gradient
                except np.linalg.LinAlgError:
                    cd = np.full(len(pending), np.nan)
                    cg = np.full((len(pending), 3), np.nan)
            ok = np.isfinite(cd) & (cd <= d[pending] + 1e-12 * np.abs(d[pending]))
            acc = pending[ok]
            new_th[acc], new_d[acc], new_g[acc] = cand[ok], cd[ok], cg[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            alpha[pending] /= 2
        stuck = np.zeros(len(th), dtype=bool)
        stuck[pending] = True
        theta[active], dev[active], grad[active] = new_th, new_d, new_g
        failed[active[stuck]] = True
        active = active[~stuck]
    return theta, converged & ~failed


@dataclass(frozen=True, slots=True, kw_only=True)
class SlopeBatch:
    """Slope-model results of many trials, each array of shape ``(R,)``."""

    estimate: np.ndarray  # slope difference, treated - control (points/month)
    se: np.ndarray
    df: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    refitted: np.ndarray  # bool: fitted by the single-trial optimiser
    converged: np.ndarray  # bool
    analysable: np.ndarray  # bool: the fixed effects are estimable


def _satterthwaite_batch(
    theta: np.ndarray, sigma: np.ndarray, s: BatchStats, *, reml: bool, ell: np.ndarray
) -> np.ndarray:
    """``mixed._satterthwaite`` for one contrast, every trial at once."""
    varpar = np.concatenate([theta, sigma[:, None]], axis=1)

    def grad(vp: np.ndarray) -> np.ndarray:
        return _evaluate(vp[:, :3], s, reml=reml, sigma=vp[:, 3]).gradient

    cols = []
    for j in range(4):
        h = 1e-3 * np.maximum(np.abs(varpar[:, j]), 0.1)

        def diff(step: np.ndarray, j: int = j) -> np.ndarray:
            up, down = varpar.copy(), varpar.copy()
            up[:, j] += step
            down[:, j] -= step
            return (grad(up) - grad(down)) / (2 * step[:, None])

        cols.append((4 * diff(h / 2) - diff(h)) / 3)
    hess = np.stack(cols, axis=-1)
    hess = (hess + hess.transpose(0, 2, 1)) / 2
    values, vectors = np.linalg.eigh(hess)
    pos = values > 1e-8
    inv_vals = np.where(pos, 1.0 / np.where(pos, values, 1.0), 0.0)
    a_cov = 2 * np.einsum("rik,rk,rjk->rij", vectors, inv_vals, vectors)
    e = _evaluate(theta, s, reml=reml)
    finv = np.linalg.inv(e.f)
    l_f = finv @ ell
    lfl = l_f @ ell
    var = sigma**2 * lfl
    u0 = (e.w0 @ l_f[..., None])[..., 0]
    u1 = (e.w1 @ l_f[..., None])[..., 0]
    w00, w01, w11 = (u0 * u0).sum(1), (u0 * u1).sum(1), (u1 * u1).sum(1)
    a, b, c = theta[:, 0], theta[:, 1], theta[:, 2]
    g = np.stack(
        [
            sigma**2 * (2 * a * w00 + 2 * b * w01),
            sigma**2 * (2 * a * w01 + 2 * b * w11),
            sigma**2 * (2 * c * w11),
            2 * sigma * lfl,
        ],
        axis=1,
    )
    denom = np.einsum("ri,rij,rj->r", g, a_cov, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * var**2 / denom, np.inf)


def fit_slope_batch(
    s: BatchStats, *, reml: bool = True, df_method: str = "satterthwaite"
) -> SlopeBatch:
    """Fit ``total ~ t * arm + (1 + t | subject)`` to every trial of ``s``.

    Returns the ``t:arm`` coefficient with its SE, df (Satterthwaite or ``inf``), t
    statistic and two-sided p-value, as :func:`alsmeta.patients.mixed.slope_model`.
    A trial whose fixed effects are not estimable (``X'X`` singular: e.g. no treated
    patient seen after month 0, or fewer visits than coefficients) gets ``nan``.
    """
    check_choice("df_method", df_method, ("satterthwaite", "normal"))
    eig = np.linalg.eigvalsh(s.xtx)
    analysable = (eig[:, 0] > 1e-10 * np.maximum(eig[:, -1], 1.0)) & (s.n > _P)
    rows = np.flatnonzero(analysable)
    nan = np.full(len(analysable), np.nan)
    out = {k: nan.copy() for k in ("estimate", "se", "df", "statistic", "p_value")}
    refitted = np.zeros(len(analysable), dtype=bool)
    converged = np.zeros(len(analysable), dtype=bool)
    if rows.size:
        part = _fit_analysable(s.take(rows), reml=reml, df_method=df_method)
        for key in out:
            out[key][rows] = part[key]
        refitted[rows], converged[rows] = part["refitted"], part["converged"]
    return SlopeBatch(**out, refitted=refitted, converged=converged, analysable=analysable)


def _fit_analysable(s: BatchStats, *, reml: bool, df_method: str) -> dict[str, np.ndarray]:
    theta, converged = _newton(s, reml=reml)
    # theta_1 = theta_3 = 0 is a stationary point with a zero gradient: a Newton step can
    # stop there, so every fit on or near the boundary is redone by the single-trial
    # optimiser, which restarts off the bound (as lme4's derivative-free BOBYQA can).
    refit = ~converged | (theta[:, 0] < 1e-4) | (theta[:, 2] < 1e-4)
    for r in np.flatnonzero(refit):
        single = mixed._fit_lmm(s.single(int(r)), reml=reml)
        theta[r] = single.theta
        converged[r] = single.converged
    e = _evaluate(theta, s, reml=reml)
    dof = s.n - _P if reml else s.n
    sigma = np.sqrt(e.r2 / dof)
    ell = np.array([0.0, 0.0, 0.0, 1.0])
    finv = np.linalg.inv(e.f)
    se = sigma * np.sqrt(finv[:, 3, 3])
    estimate = e.beta[:, 3]
    if df_method == "satterthwaite":
        df = _satterthwaite_batch(theta, sigma, s, reml=reml, ell=ell)
    else:
        df = np.full(len(se), np.inf)
    statistic = estimate / se
    p_value = np.where(
        np.isfinite(df),
        2 * stats.t.sf(np.abs(statistic), np.where(np.isfinite(df), df, 1.0)),
        2 * stats.norm.sf(np.abs(statistic)),
    )
    return {
        "estimate": estimate, "se": se, "df": df, "statistic": statistic, "p_value": p_value,
        "refitted": refit, "converged": converged,
    }  # fmt: skip
