"""Numerical kernels of the mixed-effects meta-regression model (metafor's ``rma.uni``
with moderators).

Shapes follow :mod:`alsmeta.meta._kernels`: ``y``, ``v`` are ``(..., k)`` and the design
``x`` is ``(..., k, p)``; a leading axis holds independent fits (the permutation test
fits one model per permutation of the design). Nothing here forms a k x k matrix: with
weights ``w``, ``A = (X'WX)^-1`` and leverages ``h_i = x_i' A x_i``, the projection
``P = W - W X A X' W`` has

- ``tr(P) = sum(w) - sum(w^2 h)``
- ``tr(PV) = sum(w v) - sum(w^2 v h)``
- ``tr(PP) = sum(w^2) - 2 sum(w^3 h) + tr(A M2 A M2)``, ``M2 = X'W^2X``
- ``tr(PVP) = sum(v (w^2 - 2 w^3 h + w^2 x'(A M2 A)x))``
- ``tr(PVPV) = sum(v^2 w^2) - 2 sum(v^2 w^3 h) + tr(A X'DX A X'DX)``, ``D = diag(v w^2)``

so one fit costs O(k p^2). The non-intercept columns of the design are centred and
scaled before fitting (the fitted model is the same; the coefficients are mapped back),
which keeps ``X'WX`` well conditioned for moderators such as calendar years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alsmeta.meta._kernels import (
    Array,
    Value,
    _clip0,
    _col,
    _full,
    _rowsum,
    _select,
    chi2_ppf,
    likelihood_root,
    q_root_with_se,
)


def _einsum(*args: Any) -> Array:
    return np.einsum(*args, optimize=False)


@dataclass(frozen=True, slots=True)
class WeightedFit:
    """Weighted least squares pieces at fixed weights."""

    w: Array  # (..., k)
    a_inv: Array  # (..., p, p) = (X'WX)^-1 on the working (centred, scaled) design
    beta: Array  # (..., p) on the working design
    resid: Array  # (..., k)
    hat: Array  # (..., k): x_i' A x_i (multiply by w_i for the hat values)


@dataclass(frozen=True, slots=True)
class RegData:
    """Effect sizes with a design matrix, prepared for the kernels.

    ``x`` is the working design (intercept kept, other columns centred and scaled);
    ``transform`` maps working coefficients back: ``beta = transform @ beta_working``.
    """

    y: Array
    v: Array
    x: Array
    transform: Array  # (p, p)
    k: int
    p: int

    @property
    def batch(self) -> bool:
        return self.y.ndim > 1

    @property
    def df(self) -> int:
        return self.k - self.p

    def subset(self, sub: Any) -> RegData:
        return RegData(
            y=self.y[sub], v=self.v[sub], x=self.x[sub], transform=self.transform,
            k=self.k, p=self.p,
        )  # fmt: skip

    def wls(self, w: Array) -> WeightedFit:
        xw = self.x * w[..., :, None]
        m = np.matmul(np.swapaxes(xw, -1, -2), self.x)
        a_inv = np.linalg.inv(m)
        beta = np.matmul(a_inv, _einsum("...kp,...k->...p", xw, self.y)[..., None])[..., 0]
        resid = self.y - np.matmul(self.x, beta[..., None])[..., 0]
        hat = _einsum("...kp,...pq,...kq->...k", self.x, a_inv, self.x)
        return WeightedFit(w=w, a_inv=a_inv, beta=beta, resid=resid, hat=hat)

    def fit_at(self, tau2: Value) -> WeightedFit:
        return self.wls(1.0 / (self.v + _col(tau2)))

    def q_and_slope(self, tau2: Value) -> tuple[Value, Value]:
        f = self.fit_at(tau2)
        wr2 = f.w * f.resid * f.resid
        return _rowsum(wr2), -_rowsum(f.w * wr2)

    def score_terms(self, tau2: Value, reml: bool) -> tuple[Value, Value, Value]:
        f = self.fit_at(tau2)
        w, r = f.w, f.resid
        w2r = w * w * r
        ypy = _rowsum(w2r * r)
        u = _einsum("...kp,...k->...p", self.x, w2r)
        ypppy = _rowsum(w * w2r * r) - _einsum("...p,...pq,...q->...", u, f.a_inv, u)
        if reml:
            tr_p, info = projection_traces(self.x, f)
            return ypy - tr_p, info, info - 2.0 * ypppy
        info = _rowsum(w * w)
        return ypy - _rowsum(w), info, info - 2.0 * ypppy

    def loglik(self, tau2: Value, reml: bool) -> Value:
        f = self.fit_at(tau2)
        return loglik_from(self, f, tau2, reml)

    def spread(self) -> Value:
        yc = self.y - _col(_rowsum(self.y) / self.k)
        return 10.0 * _rowsum(yc * yc) / max(self.k - 1, 1)


def prepare_design(y: Array, v: Array, x: Array) -> RegData:
    """Centre and scale the non-intercept columns of ``x`` (shape (..., k, p)).

    A column is the intercept when it is constant and equal to 1 in every fit.
    """
    k, p = x.shape[-2], x.shape[-1]
    intercept = np.all(x == 1.0, axis=tuple(range(x.ndim - 1)))
    transform = np.eye(p)
    if intercept.any():
        flat = x.reshape(-1, p)
        center = np.where(intercept, 0.0, flat.mean(axis=0))
        scale = flat.std(axis=0)
        scale = np.where(intercept | (scale == 0), 1.0, scale)
        x = (x - center) / scale
        j0 = int(np.flatnonzero(intercept)[0])
        # beta_j = b_j / s_j; beta_0 = b_0 - sum_j b_j c_j / s_j
        transform = np.diag(1.0 / scale)
        transform[j0, :] -= center / scale
        transform[j0, j0] = 1.0
    return RegData(y=y, v=v, x=x, transform=transform, k=k, p=p)


def trace_pp(x: Array, f: WeightedFit) -> Value:
    """``tr(PP)`` for ``P = W - W X A X' W``."""
    w, h = f.w, f.hat
    m2 = np.matmul(np.swapaxes(x * (w * w)[..., :, None], -1, -2), x)
    am2 = np.matmul(f.a_inv, m2)
    return _rowsum(w * w) - 2.0 * _rowsum(w**3 * h) + _einsum("...ij,...ji->...", am2, am2)


def projection_traces(x: Array, f: WeightedFit) -> tuple[Value, Value]:
    """``tr(P)`` and ``tr(PP)``, free of cancellation.

    The forms ``sum(w) - sum(w^2 h)`` and :func:`trace_pp` lose every digit when one
    study's weight dwarfs the others (``w_i h_i -> 1``). Where they keep fewer than ~10
    digits they are replaced by ``P = W^1/2 M W^1/2`` with ``M = Q2 Q2'``, ``Q2`` the
    orthonormal complement of ``W^1/2 X`` from a complete QR: ``tr(P) = sum(w diag M)``,
    ``tr(PP) = sum_ij w_i w_j M_ij^2``, sums of non-negative terms.
    """
    w = f.w
    sw, sw2 = _rowsum(w), _rowsum(w * w)
    tr_p = sw - _rowsum(w * w * f.hat)
    tr_pp = trace_pp(x, f)
    accurate = (tr_p > 1e-6 * sw) & (tr_pp > 1e-6 * sw2)
    if bool(np.all(accurate)):
        return tr_p, tr_pp
    root = np.sqrt(w)
    q, _ = np.linalg.qr(x * root[..., :, None], mode="complete")
    q2 = q[..., :, x.shape[-1] :]
    m = np.matmul(q2, np.swapaxes(q2, -1, -2))
    exact_p = _rowsum(w * np.einsum("...ii->...i", m))
    exact_pp = _einsum("...i,...ij,...j->...", w, m * m, w)
    return _select(accurate, tr_p, exact_p), _select(accurate, tr_pp, exact_pp)


def trace_terms(x: Array, f: WeightedFit, v: Array) -> dict[str, Value]:
    """The traces of P-products that the standard errors of tau^2 need."""
    w, h = f.w, f.hat
    w2 = w * w
    m2 = np.matmul(np.swapaxes(x * w2[..., :, None], -1, -2), x)
    am2 = np.matmul(f.a_inv, m2)
    am2a = np.matmul(am2, f.a_inv)
    q2 = _einsum("...kp,...pq,...kq->...k", x, am2a, x)
    dm = np.matmul(np.swapaxes(x * (v * w2)[..., :, None], -1, -2), x)
    adm = np.matmul(f.a_inv, dm)
    return {
        "tr_p": _rowsum(w) - _rowsum(w2 * h),
        "tr_pv": _rowsum(w * v) - _rowsum(w2 * v * h),
        "pp": _rowsum(w2) - 2.0 * _rowsum(w2 * w * h) + _einsum("...ij,...ji->...", am2, am2),
        "pvp": _rowsum(v * (w2 - 2.0 * w2 * w * h + w2 * q2)),
        "pvpv": _rowsum(v * v * w2)
        - 2.0 * _rowsum(v * v * w2 * w * h)
        + _einsum("...ij,...ji->...", adm, adm),
    }


def loglik_from(d: RegData, f: WeightedFit, tau2: Value, reml: bool) -> Value:
    """metafor's log-likelihood (ML) or restricted log-likelihood (REML, ``REMLf=TRUE``)."""
    k, p = d.k, d.p
    rss = _rowsum(f.w * f.resid * f.resid)
    logdet_v = _rowsum(np.log(d.v + _col(tau2)))
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_v - 0.5 * rss
    # log det(X'X) - log det(X'WX) on the original design; the working design's
    # transformation cancels between the two terms.
    _, logdet_xx = np.linalg.slogdet(np.matmul(np.swapaxes(d.x, -1, -2), d.x))
    _, logdet_xwx_inv = np.linalg.slogdet(f.a_inv)
    return (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * logdet_xx
        - 0.5 * logdet_v
        + 0.5 * logdet_xwx_inv
        - 0.5 * rss
    )


@dataclass(frozen=True, slots=True)
class RegTau2:
    tau2: Value
    tau2_se: Value
    iterations: Value
    converged: Value
    boundary_reset: Value


def estimate_tau2_reg(d: RegData, method: str, weights: Array | None = None) -> RegTau2:
    """Residual tau^2 of the mixed-effects model, as metafor's ``rma.uni(mods=)``.

    Requires ``k > p`` (metafor stops otherwise); estimates are truncated at zero.
    """
    k, p = d.k, d.p
    zero = _full(_rowsum(d.y), 0.0)
    nan = _full(zero, math.nan)
    true, false, none_iter = _full(zero, True), _full(zero, False), _full(zero, 0)

    def fit(tau2: Value, se: Value) -> RegTau2:
        return RegTau2(tau2, se, none_iter, true, false)

    def se_moment(trace: Value, t: dict[str, Value], tau2: Value, pvpv: Value, pvp: Value) -> Value:
        return np.sqrt((2.0 * pvpv + 4.0 * tau2 * pvp + 2.0 * tau2 * tau2 * t["pp"]) / trace**2)

    if method == "EE":
        return fit(zero, nan)
    if method in ("DL", "HS", "HSk"):
        f0 = d.wls(1.0 / d.v)
        t = trace_terms(d.x, f0, d.v)
        q = _rowsum(f0.w * f0.resid**2)
        if method == "DL":
            tau2 = _clip0((q - (k - p)) / t["tr_p"])
            return fit(tau2, se_moment(t["tr_p"], t, tau2, float(k - p), t["tr_p"]))
        factor = k / (k - p) if method == "HSk" else 1.0
        sw = _rowsum(f0.w)
        tau2 = _clip0((factor * q - k) / sw)
        return fit(tau2, factor * se_moment(sw, t, tau2, float(k - p), t["tr_p"]))
    if method in ("HE", "ML", "REML", "EB"):
        f1 = d.wls(np.ones_like(d.v))
        t = trace_terms(d.x, f1, d.v)
        tau2_he = (_rowsum(f1.resid**2) - t["tr_pv"]) / (k - p)
        if method == "HE":
            tau2 = _clip0(tau2_he)
            kp = float(k - p)
            se = np.sqrt(
                (2.0 * t["pvpv"] + 4.0 * tau2 * t["tr_pv"] + 2.0 * tau2 * tau2 * kp) / kp**2
            )
            return fit(tau2, se)
        if method == "EB":
            return fit(*q_root_with_se(d, float(k - p), k, p))
        reml = method == "REML"
        tau2, iterations, converged = likelihood_root(d, _clip0(tau2_he), reml)
        reset = converged & (d.loglik(zero, reml) - d.loglik(tau2, reml) > 1e-10) & (tau2 > 0)
        tau2 = _clip0(_select(reset, zero, tau2))
        f = d.fit_at(tau2)
        se = (
            np.sqrt(2.0 / projection_traces(d.x, f)[1])
            if reml
            else np.sqrt(2.0 / _rowsum(f.w * f.w))
        )
        return RegTau2(tau2, se, iterations, converged, reset)
    if method == "SJ":
        yc = d.y - _col(_rowsum(d.y) / k)
        tau0 = _rowsum(yc * yc) / k
        f0 = d.fit_at(tau0)
        t = trace_terms(d.x, f0, d.v)
        tau2 = _clip0(tau0 * _rowsum(f0.w * f0.resid**2) / (k - p))
        se = (
            tau0
            / (k - p)
            * np.sqrt(2.0 * t["pvpv"] + 4.0 * tau2 * t["pvp"] + 2.0 * tau2 * tau2 * t["pp"])
        )
        return fit(tau2, se)
    if method in ("PM", "PMM"):
        target = float(k - p) if method == "PM" else chi2_ppf(0.5, k - p)
        return fit(*q_root_with_se(d, target, k, p))
    if method == "GENQ":
        if weights is None:
            raise ValueError("method='GENQ' needs weights")
        fa = d.wls(weights)
        t = trace_terms(d.x, fa, d.v)
        rss = _rowsum(weights * fa.resid**2)
        tau2 = _clip0((rss - t["tr_pv"]) / t["tr_p"])
        return fit(tau2, se_moment(t["tr_p"], t, tau2, t["pvpv"], t["pvp"]))
    raise ValueError(f"unknown method {method!r}")
