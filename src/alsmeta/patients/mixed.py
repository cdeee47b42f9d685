"""Two-arm trial comparisons from patient-level visits: slopes by a linear mixed model,
change at a fixed visit by ANCOVA, and an MMRM with an unstructured covariance.

The slope model ``total ~ t_months * arm + (1 + t_months | subject_id)`` is fitted as lme4
fits it -- the profiled (restricted) deviance in lme4's Cholesky parameters ``theta``,
minimised under the bounds ``theta_1, theta_3 >= 0`` -- but every evaluation works on
per-subject sufficient statistics (2 x 2 and 2 x p blocks), so one evaluation costs
O(n_subjects) numpy operations and no matrix of the size of the data is ever formed.
Satterthwaite degrees of freedom follow lmerTest.

References
----------
Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4.
J Stat Softw 2015;67(1). doi:10.18637/jss.v067.i01
Kuznetsova A, Brockhoff PB, Christensen RHB. lmerTest package: tests in linear mixed effects
models. J Stat Softw 2017;82(13). doi:10.18637/jss.v082.i13
Mallinckrodt CH et al. Recommendations for the primary analysis of continuous endpoints in
longitudinal clinical trials. Drug Inf J 2008;42:303-319. doi:10.1177/009286150804200402
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from alsmeta.errors import ConvergenceWarning, InputError, Problem, check_choice, check_level
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, visit_table

__all__ = [
    "AncovaResult",
    "MmrmResult",
    "SlopeModelResult",
    "TrialVisits",
    "ancova",
    "mmrm",
    "slope_model",
    "trial_visits",
]

_TIME_NAMES = ("t_months", "months", "days", "ALSFRS_Delta")
_SUBJECT_NAMES = ("subject_id", "SubjectID", "subject")
_ARM_NAMES = ("arm", "Study_Arm")
_TOTAL_NAMES = ("total", "ALSFRS_R_Total")


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [
        {k: _json(v) for k, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _estimate_json(result: Any, estimate_key: str = "estimate") -> dict[str, Any]:
    """The estimate and its test, JSON-safe, in the key order every ``to_dict`` uses."""
    keys = (estimate_key, "se", "statistic", "p_value", "ci_lower", "ci_upper", "df")
    return {key: _json(getattr(result, key)) for key in keys}


def _subjects_json(subjects: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """How many subjects did not contribute, and ``columns`` of every subject."""
    return {
        "n_excluded": int((subjects["status"] != "ok").sum()),
        "subjects": _records(subjects[columns]),
    }


def _join_with_notes(lines: list[str], notes: tuple[str, ...]) -> str:
    """A summary's lines, then one ``note:`` line per note."""
    return "\n".join([*lines, *(f"note: {n}" for n in notes)]) + "\n"


def _readonly(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=float)
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------- input ------
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrialVisits:
    """Visits of a two-arm trial, validated and sorted by subject and time.

    Attributes
    ----------
    subject_ids : numpy.ndarray
        One id per subject, in order of first appearance.
    arm : numpy.ndarray
        0 (control) or 1 (treated), one per subject.
    control, treated : str
        The two arm levels.
    codes : numpy.ndarray
        Subject index (into ``subject_ids``) of every visit.
    t_months, total : numpy.ndarray
        Visit time (months from trial time 0) and ALSFRS-R total of every visit.
    notes : tuple of str
    """

    subject_ids: np.ndarray
    arm: np.ndarray
    control: str
    treated: str
    codes: np.ndarray
    t_months: np.ndarray
    total: np.ndarray
    notes: tuple[str, ...] = field(default=())

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self.subject_ids)

    @property
    def n_visits(self) -> int:
        """Number of visits."""
        return len(self.t_months)


def _pick(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def trial_visits(
    visits: VisitTable | pd.DataFrame | TrialVisits, *, control: str | None = None
) -> TrialVisits:
    """Validate the visits of a two-arm trial.

    Parameters
    ----------
    visits : VisitTable, DataFrame or TrialVisits
        A :class:`~alsmeta.patients.VisitTable` (time is ``months``), or a frame with
        ``subject_id``, ``arm``, a time column (``t_months`` or ``months`` in months;
        ``days``) and ``total``. A frame with ALSFRS-R items and no ``total`` goes through
        :func:`~alsmeta.patients.visit_table` (items validated and scored); a ``total``
        column is used as given.
    control : str, optional
        The control arm; default the first level in sorted order (as R's ``factor``).

    Returns
    -------
    TrialVisits

    Raises
    ------
    InputError
        Listing every problem: missing columns, missing or non-numeric values, an arm
        that changes within a subject, duplicate visit times, not exactly two arms, an
        unknown ``control``.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.patients.mixed import trial_visits
    >>> frame = pd.DataFrame({"subject_id": ["a", "a", "b", "b"], "arm": ["P", "P", "T", "T"],
    ...                       "t_months": [0, 3, 0, 3], "total": [40, 38, 41, 40]})
    >>> tv = trial_visits(frame, control="P")
    >>> tv.n_subjects, tv.control, tv.treated, tv.arm.tolist()
    (2, 'P', 'T', [0, 1])
    """
    if isinstance(visits, TrialVisits):
        if control is None or control == visits.control:
            return visits
        visits = pd.DataFrame(
            {
                "subject_id": visits.subject_ids[visits.codes],
                "arm": np.where(visits.arm == 1, visits.treated, visits.control)[visits.codes],
                "t_months": visits.t_months,
                "total": visits.total,
            }
        )
    notes: list[str] = []
    if isinstance(visits, VisitTable):
        table = visits.table
        frame = pd.DataFrame(
            {
                "subject_id": table["subject_id"].astype(object),
                "arm": table["arm"].astype(object),
                "t_months": table["months"].to_numpy(dtype=float),
                "total": table["total"].to_numpy(dtype=float),
            }
        )
        notes += list(visits.notes)
    elif isinstance(visits, pd.DataFrame):
        if _pick(visits, _TOTAL_NAMES) is None and _pick(visits, ("speech", "Q1_Speech")):
            return trial_visits(visit_table(visits), control=control)
        frame = visits.reset_index(drop=True)
    else:
        raise InputError(
            Problem(f"expected a VisitTable or a pandas DataFrame, got {type(visits).__name__}")
        )

    problems: list[Problem] = []
    sid = _pick(frame, _SUBJECT_NAMES)
    arm_col = _pick(frame, _ARM_NAMES)
    time_col = _pick(frame, _TIME_NAMES)
    total_col = _pick(frame, _TOTAL_NAMES)
    for col, what in (
        (sid, "'subject_id'"),
        (arm_col, "'arm'"),
        (time_col, "a time column ('t_months', 'months' or 'days')"),
        (total_col, "'total' (or the ALSFRS-R items)"),
    ):
        if col is None:
            problems.append(Problem(f"missing column {what}"))
    if problems:
        raise InputError(problems)
    assert sid is not None and arm_col is not None  # for mypy; checked just above
    assert time_col is not None and total_col is not None
    n = len(frame)
    if n == 0:
        raise InputError(Problem("no visits"))
    ids = frame[sid]
    subject = ids.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    arms = frame[arm_col].astype("string").str.strip()
    t = pd.to_numeric(frame[time_col], errors="coerce").to_numpy(dtype=float)
    if time_col.lower() in ("days", "alsfrs_delta"):
        t = t / DAYS_PER_MONTH
    y = pd.to_numeric(frame[total_col], errors="coerce").to_numpy(dtype=float)
    rows = np.arange(1, n + 1)
    if arms.isna().all():
        raise InputError(Problem("the 'arm' column is empty: a comparison needs two arms"))
    for mask, col, message in (
        (ids.isna().to_numpy() | (subject == "").fillna(True).to_numpy(), sid, "missing"),
        (arms.isna().to_numpy() | (arms == "").fillna(True).to_numpy(), arm_col, "missing arm"),
        (~np.isfinite(t), time_col, "visit time missing or not a number"),
        (~np.isfinite(y), total_col, "total missing or not a number"),
    ):
        problems += [Problem(message, row=int(r), column=col) for r in rows[mask]]
    if problems:
        raise InputError(problems)
    codes, uniques = pd.factorize(subject, sort=False)
    arm_per = pd.Series(arms.to_numpy(dtype=object)).groupby(codes).nunique()
    for code in arm_per.index[arm_per.to_numpy() > 1]:
        problems.append(Problem(f"subject {uniques[code]!r}: the arm changes between visits"))
    dup = pd.DataFrame({"s": codes, "t": t}).duplicated().to_numpy()
    problems += [
        Problem(f"subject {uniques[codes[i]]!r}: duplicate visit time", row=int(rows[i]))
        for i in np.flatnonzero(dup)
    ]
    levels = sorted(set(arms.to_numpy(dtype=object)))
    if len(levels) != 2:
        listed = ", ".join(map(repr, levels))
        problems.append(
            Problem(f"a two-arm comparison needs exactly 2 arms; found {len(levels)}: {listed}")
        )
    elif control is not None and control not in levels:
        problems.append(
            Problem(f"control={control!r} is not an arm; use one of {', '.join(map(repr, levels))}")
        )
    if problems:
        raise InputError(problems)
    ctrl = levels[0] if control is None else control
    treated = levels[1] if ctrl == levels[0] else levels[0]
    order = np.lexsort((t, codes))
    first = pd.Series(arms.to_numpy(dtype=object)).groupby(codes).first()
    arm = (first.sort_index().to_numpy(dtype=object) == treated).astype(int)
    per = np.bincount(codes, minlength=len(uniques))
    if (per < 2).any():
        msg = (
            f"{int((per < 2).sum())} subject(s) with a single visit: kept (they inform the "
            "intercept and the variance components, not the slope)"
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return TrialVisits(
        subject_ids=np.asarray(uniques, dtype=object),
        arm=arm,
        control=str(ctrl),
        treated=str(treated),
        codes=codes[order],
        t_months=t[order],
        total=y[order],
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- kernels ----
@dataclass(frozen=True, slots=True)
class _Stats:
    """Per-subject sufficient statistics of ``y = X beta + Z b + e`` with ``Z_i = [1, t]``.

    Blocks are stored by component (``z00`` is the (1, 1) entry of every Z_i'Z_i, ``x0``
    the first row of every Z_i'X_i) so that every operation is an elementwise product of
    (m,) or (m, p) arrays or one (p, m) x (m, p) matrix product.
    """

    z00: np.ndarray  # (m,) n_i
    z01: np.ndarray  # (m,) sum t
    z11: np.ndarray  # (m,) sum t^2
    x0: np.ndarray  # (m, p) 1' X_i
    x1: np.ndarray  # (m, p) t' X_i
    y0: np.ndarray  # (m,) sum y
    y1: np.ndarray  # (m,) sum t y
    xtx: np.ndarray  # (p, p)
    xty: np.ndarray  # (p,)
    yty: float
    n: int


def _sufficient(tv: TrialVisits) -> _Stats:
    m = tv.n_subjects
    c, t, y = tv.codes, tv.t_months, tv.total
    z00 = np.bincount(c, minlength=m).astype(float)
    z01 = np.bincount(c, t, minlength=m)
    z11 = np.bincount(c, t * t, minlength=m)
    y0 = np.bincount(c, y, minlength=m)
    y1 = np.bincount(c, t * y, minlength=m)
    a = tv.arm.astype(float)
    # X_i = [Z_i, a_i Z_i]: (Intercept), t_months, arm, t_months:arm.
    x0 = np.stack([z00, z01, a * z00, a * z01], axis=1)
    x1 = np.stack([z01, z11, a * z01, a * z11], axis=1)
    s0 = np.array([[z00.sum(), z01.sum()], [z01.sum(), z11.sum()]])
    s1 = np.array([[a @ z00, a @ z01], [a @ z01, a @ z11]])
    xtx = np.block([[s0, s1], [s1, s1]])
    xty = np.array([y0.sum(), y1.sum(), a @ y0, a @ y1])
    return _Stats(z00, z01, z11, x0, x1, y0, y1, xtx, xty, float(y @ y), len(y))


def _omega(theta: np.ndarray) -> np.ndarray:
    a, b, c = theta
    return np.array([[a * a, a * b], [a * b, b * b + c * c]])


def _d_omega(theta: np.ndarray) -> np.ndarray:
    a, b, c = theta
    return np.array([[[2 * a, b], [b, 0.0]], [[0.0, a], [a, 2 * b]], [[0.0, 0.0], [0.0, 2 * c]]])


@dataclass(frozen=True, slots=True)
class _Eval:
    deviance: float
    gradient: np.ndarray
    beta: np.ndarray
    r2: float
    f: np.ndarray  # X' V^-1 X (V scaled by sigma^2 = 1)
    w0: np.ndarray  # rows of Z_i' V_i^-1 X_i, (m, p) each
    w1: np.ndarray


def _evaluate(theta: np.ndarray, s: _Stats, *, reml: bool, sigma: float | None = None) -> _Eval:
    """Deviance and its gradient in theta (and sigma when given).

    With ``sigma=None`` the deviance is profiled over sigma (lme4's objective); with a
    value it is lmerTest's ``devfun_vp(c(theta, sigma))``.
    """
    om = _omega(theta)
    o00, o01, o11 = om[0, 0], om[0, 1], om[1, 1]
    # B = I + Z'Z Omega; det B = det(I + Lambda' Z'Z Lambda) = |V_i|.
    b00 = 1.0 + s.z00 * o00 + s.z01 * o01
    b01 = s.z00 * o01 + s.z01 * o11
    b10 = s.z01 * o00 + s.z11 * o01
    b11 = 1.0 + s.z01 * o01 + s.z11 * o11
    det = b00 * b11 - b01 * b10
    k00, k01, k10, k11 = b11 / det, -b01 / det, -b10 / det, b00 / det
    # Z'V^-1 = B^-1 Z' avoids the cancellation of the Woodbury form.
    w0 = k00[:, None] * s.x0 + k01[:, None] * s.x1
    w1 = k10[:, None] * s.x0 + k11[:, None] * s.x1
    v0 = k00 * s.y0 + k01 * s.y1
    v1 = k10 * s.y0 + k11 * s.y1
    ow0, ow1 = o00 * w0 + o01 * w1, o01 * w0 + o11 * w1
    ov0, ov1 = o00 * v0 + o01 * v1, o01 * v0 + o11 * v1
    f = s.xtx - (s.x0.T @ ow0 + s.x1.T @ ow1)
    f = (f + f.T) / 2
    xvy = s.xty - (s.x0.T @ ov0 + s.x1.T @ ov1)
    yvy = s.yty - float(s.y0 @ ov0 + s.y1 @ ov1)
    chol = np.linalg.cholesky(f)
    beta = np.linalg.solve(f, xvy)
    r2 = yvy - float(beta @ xvy)
    n, p = s.n, len(beta)
    logdet_v = float(np.log(det).sum())
    logdet_f = 2.0 * float(np.log(np.diag(chol)).sum())
    r0, r1 = v0 - w0 @ beta, v1 - w1 @ beta  # s_i = Z_i' V_i^-1 (y_i - X_i beta)
    # sum_i Z_i' V_i^-1 Z_i = sum_i B_i^-1 Z_i'Z_i
    g00 = float((k00 * s.z00 + k01 * s.z01).sum())
    g01 = float((k00 * s.z01 + k01 * s.z11).sum())
    g11 = float((k10 * s.z01 + k11 * s.z11).sum())
    if sigma is None:
        dof = n - p if reml else n
        deviance = logdet_v + dof * (1.0 + math.log(2 * math.pi * r2 / dof))
        scale = dof / r2
    else:
        deviance = logdet_v + r2 / sigma**2 + n * math.log(2 * math.pi * sigma**2)
        if reml:
            deviance += -p * math.log(2 * math.pi * sigma**2)
        scale = 1.0 / sigma**2
    if reml:
        deviance += logdet_f
        finv = np.linalg.inv(f)
        a0, a1 = w0 @ finv, w1 @ finv
        g00 -= float((a0 * w0).sum())
        g01 -= float((a0 * w1).sum())
        g11 -= float((a1 * w1).sum())
    g00 -= scale * float(r0 @ r0)
    g01 -= scale * float(r0 @ r1)
    g11 -= scale * float(r1 @ r1)
    g = np.array([[g00, g01], [g01, g11]])
    grad = np.einsum("kij,ij->k", _d_omega(theta), g)
    if sigma is not None:
        dsig = -2 * r2 / sigma**3 + 2 * (n - (p if reml else 0)) / sigma
        grad = np.append(grad, dsig)
    return _Eval(deviance, grad, beta, r2, f, w0, w1)


def _jacobian(fun: Any, x: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian with one Richardson step (error O(h^4))."""
    x = np.asarray(x, dtype=float)
    cols = []
    for j in range(x.size):
        h = 1e-3 * max(abs(x[j]), 0.1)

        def diff(step: float, j: int = j) -> np.ndarray:
            up, down = x.copy(), x.copy()
            up[j] += step
            down[j] -= step
            return (np.asarray(fun(up)) - np.asarray(fun(down))) / (2 * step)

        cols.append((4 * diff(h / 2) - diff(h)) / 3)
    return np.stack(cols, axis=-1)


@dataclass(frozen=True, slots=True)
class _Fit:
    theta: np.ndarray
    sigma: float
    beta: np.ndarray
    vcov: np.ndarray
    deviance: float
    iterations: int
    evaluations: int
    gradient_norm: float
    converged: bool
    message: str


def _fit_lmm(s: _Stats, *, reml: bool) -> _Fit:
    lower = np.array([0.0, -np.inf, 0.0])
    count = [0]

    def objective(th: np.ndarray) -> tuple[float, np.ndarray]:
        count[0] += 1
        e = _evaluate(th, s, reml=reml)
        return e.deviance, e.gradient

    def run(start: np.ndarray) -> Any:
        return optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None), (None, None), (0.0, None)],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
        )

    res = run(np.array([1.0, 0.0, 1.0]))  # lme4's start
    iterations = int(res.nit)
    # theta_1 = 0 or theta_3 = 0 is a stationary point of the Cholesky parametrisation
    # (the gradient there is exactly 0), so a gradient method that lands on it cannot
    # leave; lme4's derivative-free BOBYQA can. Restart off the bound and keep the best.
    for _ in range(3):
        at_bound = res.x[[0, 2]] < 1e-6
        if not at_bound.any():
            break
        best = res
        scale = max(float(np.max(np.abs(res.x))), 0.1)
        for frac in (0.05, 0.3, 1.0):
            start = res.x.copy()
            start[[0, 2]] = np.where(at_bound, frac * scale, start[[0, 2]])
            other = run(start)
            iterations += int(other.nit)
            if other.fun < best.fun - 1e-10 * abs(best.fun):
                best = other
        if best is res:
            break
        res = best
    theta = np.maximum(res.x, lower)
    current = objective(theta)
    # Newton polish on the free coordinates: L-BFGS-B stops on a relative decrease of the
    # deviance, which on 10^5 visits leaves theta ~1e-7 off; two Newton steps fix that.
    for _ in range(5):
        free = ~((theta <= 0) & (current[1] > 0)) | np.isinf(lower)
        hess = _jacobian(lambda th: _evaluate(th, s, reml=reml).gradient, theta)
        hess = (hess + hess.T) / 2
        step = np.zeros(3)
        try:
            step[free] = -np.linalg.solve(hess[np.ix_(free, free)], current[1][free])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        trial = np.maximum(theta + step, lower)
        value = objective(trial)
        if value[0] > current[0] + 1e-12 * abs(current[0]):
            break
        theta, current = trial, value
        iterations += 1
        if np.max(np.abs(step)) < 1e-12:
            break
    e = _evaluate(theta, s, reml=reml)
    dof = s.n - len(e.beta) if reml else s.n
    sigma = math.sqrt(e.r2 / dof)
    projected = np.where((theta <= 0) & (e.gradient > 0) & np.isfinite(lower), 0.0, e.gradient)
    gnorm = float(np.max(np.abs(projected)))
    converged = bool(res.success or gnorm < 1e-4)
    return _Fit(
        theta=theta,
        sigma=sigma,
        beta=e.beta,
        vcov=sigma**2 * np.linalg.inv(e.f),
        deviance=e.deviance,
        iterations=iterations,
        evaluations=count[0],
        gradient_norm=gnorm,
        converged=converged,
        message=str(res.message),
    )


def _satterthwaite(
    fit: _Fit, s: _Stats, *, reml: bool, contrasts: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """lmerTest's Satterthwaite df of each row of ``contrasts``.

    ``df = 2 (L C L')^2 / (g' A g)`` with ``C = sigma^2 (X'V^-1X)^-1``, ``g`` its gradient
    in the variance parameters ``(theta, sigma)`` and ``A = 2 H^-1`` (``H`` the Hessian of
    the deviance in ``(theta, sigma)``; Moore-Penrose inverse over eigenvalues > 1e-8).
    """
    notes: list[str] = []
    varpar = np.append(fit.theta, fit.sigma)
    hess = _jacobian(
        lambda vp: _evaluate(vp[:3], s, reml=reml, sigma=float(vp[3])).gradient, varpar
    )
    hess = (hess + hess.T) / 2
    values, vectors = np.linalg.eigh(hess)
    pos = values > 1e-8
    if (values < -1e-8).any():
        notes.append("Satterthwaite: the deviance Hessian has a negative eigenvalue")
    a_cov = 2 * (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
    e = _evaluate(fit.theta, s, reml=reml)
    finv = np.linalg.inv(e.f)
    dom = _d_omega(fit.theta)
    out = np.empty(len(contrasts))
    for r, ell in enumerate(contrasts):
        l_f = finv @ ell
        var = fit.sigma**2 * float(ell @ l_f)
        u0, u1 = e.w0 @ l_f, e.w1 @ l_f
        ww = np.array([[u0 @ u0, u0 @ u1], [u0 @ u1, u1 @ u1]])
        grad = np.append(
            fit.sigma**2 * np.einsum("kij,ij->k", dom, ww), 2 * fit.sigma * float(ell @ l_f)
        )
        denom = float(grad @ a_cov @ grad)
        out[r] = 2 * var**2 / denom if denom > 0 else np.inf
    return out, notes


# --------------------------------------------------------------------------- slope ------
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SlopeModelResult:
    """Treatment effect on the ALSFRS-R slope from a linear mixed model.

    Attributes
    ----------
    visits : TrialVisits
    control, treated : str
    method : {"REML", "ML"}
    df_method : {"satterthwaite", "normal"}
    level : float
    slope_difference, se, statistic, df, p_value, ci_lower, ci_upper : float
        Treated minus control slope (points/month; positive = slower decline), its
        SE, t (or z) statistic, degrees of freedom (``inf`` for ``"normal"``), p-value
        and confidence interval.
    slopes : pandas.DataFrame
        ``arm, slope, se``: the mean slope of each arm, control first.
    fixed_effects : pandas.DataFrame
        ``term, estimate, se, df, statistic, p_value`` with lme4's term names.
    vcov : numpy.ndarray
        Covariance of the fixed effects (lme4's ``vcov``).
    intercept_var, slope_var, intercept_slope_cov, residual_var : float
        Variance components.
    theta : numpy.ndarray
        lme4's relative Cholesky parameters.
    loglik, deviance : float
        Log-likelihood (REML criterion / -2 for REML, as lme4's ``logLik``).
    iterations, evaluations : int
    gradient_norm : float
        Largest absolute projected gradient of the profiled deviance at the end.
    converged, boundary : bool
        ``boundary``: a variance is ~0 or the correlation is +-1 (lme4's
        ``isSingular``: theta_1 or theta_3 < 1e-4).
    n_subjects, n_visits : int
    notes : tuple of str
    """

    visits: TrialVisits
    control: str
    treated: str
    method: str
    df_method: str
    level: float
    slope_difference: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci_lower: float
    ci_upper: float
    slopes: pd.DataFrame
    fixed_effects: pd.DataFrame
    vcov: np.ndarray
    intercept_var: float
    slope_var: float
    intercept_slope_cov: float
    residual_var: float
    theta: np.ndarray
    loglik: float
    deviance: float
    iterations: int
    evaluations: int
    gradient_norm: float
    converged: bool
    boundary: bool
    n_subjects: int
    n_visits: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-safe dict of ``alsmeta patients compare --model slope``."""
        return {
            **_estimate_json(self, "slope_difference"),
            "slopes": _records(self.slopes),
            "variance_components": {
                "intercept_var": _json(self.intercept_var),
                "slope_var": _json(self.slope_var),
                "intercept_slope_cov": _json(self.intercept_slope_cov),
                "residual_var": _json(self.residual_var),
            },
            "n_subjects": self.n_subjects,
            "n_visits": self.n_visits,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the fixed-effects table (a copy)."""
        return self.fixed_effects.copy()

    def summary(self) -> str:
        """Return a text summary laid out like ``summary(lmerTest::lmer(...))``."""
        corr = (
            self.intercept_slope_cov / math.sqrt(self.intercept_var * self.slope_var)
            if (self.intercept_var > 0 and self.slope_var > 0)
            else float("nan")
        )
        df_text = "Satterthwaite's method" if self.df_method == "satterthwaite" else "normal"
        lines = [
            f"Linear mixed model fit by {self.method} (t-tests use {df_text})",
            "Formula: total ~ t_months * arm + (1 + t_months | subject_id)",
            f"{self.method} criterion: {self.deviance:.4f}   logLik: {self.loglik:.4f}",
            "",
            "Random effects:",
            f"  subject_id (Intercept) variance {self.intercept_var:.6g}",
            f"             t_months    variance {self.slope_var:.6g}   corr {corr:.3f}",
            f"  Residual               variance {self.residual_var:.6g}",
            f"Number of obs: {self.n_visits}, subjects: {self.n_subjects}",
            "",
            "Fixed effects:",
            self.fixed_effects.to_string(index=False, float_format=lambda x: f"{x:.6g}"),
            "",
            "Slope per arm (points/month): "
            + ", ".join(f"{r.arm} {r.slope:.4f} (SE {r.se:.4f})" for r in self.slopes.itertuples()),
            f"Slope difference {self.treated} - {self.control}: {self.slope_difference:.4f} "
            f"(SE {self.se:.4f}, df {self.df:.2f}, p-val {self.p_value:.4g}), "
            f"{self.level:.0%} CI {self.ci_lower:.4f} to {self.ci_upper:.4f}",
            f"Convergence: {self.iterations} iterations, max|gradient| {self.gradient_norm:.2g}"
            + (", boundary (singular) fit" if self.boundary else ""),
        ]
        return _join_with_notes(lines, self.notes)


def _inference(
    estimate: float, se: float, df: float, level: float
) -> tuple[float, float, float, float]:
    statistic = estimate / se
    dist: Any = stats.norm if not math.isfinite(df) else stats.t(df)
    p_value = float(2 * dist.sf(abs(statistic)))
    crit = float(dist.ppf(0.5 + level / 2))
    return statistic, p_value, estimate - crit * se, estimate + crit * se


def slope_model(
    visits: VisitTable | pd.DataFrame | TrialVisits,
    *,
    control: str | None = None,
    reml: bool = True,
    df_method: str = "satterthwaite",
    level: float = 0.95,
) -> SlopeModelResult:
    """Compare the ALSFRS-R slope between two arms with a linear mixed model.

    Parameters
    ----------
    visits : VisitTable, DataFrame or TrialVisits
        Visits with ``subject_id``, ``arm``, time in months and ``total`` (see
        :func:`trial_visits`).
    control : str, optional
        The control arm (default: the first arm in sorted order, as R's ``factor``).
    reml : bool, default True
        REML (lme4's default) or maximum likelihood.
    df_method : {"satterthwaite", "normal"}, default "satterthwaite"
        Degrees of freedom of the t tests: Satterthwaite as lmerTest, or a normal (z)
        reference distribution.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    SlopeModelResult

    Raises
    ------
    InputError
        If the visits are not a valid two-arm table (see :func:`trial_visits`).

    Notes
    -----
    The model is :math:`y_{ij} = \\beta_0 + \\beta_1 t_{ij} + \\beta_2 a_i + \\beta_3 a_i
    t_{ij} + b_{0i} + b_{1i} t_{ij} + e_{ij}` with :math:`b_i \\sim N(0, \\sigma^2
    \\Lambda\\Lambda')`, :math:`\\Lambda = [[\\theta_1, 0], [\\theta_2, \\theta_3]]` and
    :math:`e_{ij} \\sim N(0, \\sigma^2)`; the slope difference is :math:`\\beta_3`. It
    matches::

        lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), REML = TRUE)

    With :math:`V_i = I + Z_i \\Omega Z_i'` (:math:`\\Omega = \\Lambda\\Lambda'`) the
    profiled REML deviance is

    .. math:: d(\\theta) = \\sum_i \\log|I + Z_i'Z_i\\Omega| + \\log|X'V^{-1}X|
              + (n - p)\\,[1 + \\log(2\\pi r^2 / (n - p))],

    :math:`r^2 = \\min_\\beta (y - X\\beta)'V^{-1}(y - X\\beta)` (ML: drop
    :math:`\\log|X'V^{-1}X|` and use :math:`n`). Every term is a sum over subjects of
    2 x 2 and 2 x p blocks built from :math:`Z_i'Z_i, Z_i'X_i, Z_i'y_i`, using
    :math:`Z_i'V_i^{-1} = (I + Z_i'Z_i\\Omega)^{-1} Z_i'`. The analytic gradient is
    :math:`\\partial d/\\partial\\theta_k = \\mathrm{tr}(D_k G)` with
    :math:`D_k = \\partial\\Omega/\\partial\\theta_k` and :math:`G = \\sum_i [Z_i'V_i^{-1}Z_i
    - W_i (X'V^{-1}X)^{-1} W_i' - c\\, s_i s_i']`, :math:`W_i = Z_i'V_i^{-1}X_i`,
    :math:`s_i = Z_i'V_i^{-1}(y_i - X_i\\hat\\beta)`, :math:`c = (n - p)/r^2`. It is
    minimised by L-BFGS-B from lme4's start (1, 0, 1) under :math:`\\theta_1, \\theta_3
    \\ge 0`, then polished by Newton steps. :math:`\\hat\\sigma^2 = r^2/(n - p)`.

    Satterthwaite (lmerTest's ``contest1D``):
    :math:`\\nu = 2 (L C L')^2 / (g' A g)`, :math:`C = \\sigma^2 (X'V^{-1}X)^{-1}`,
    :math:`g_k = L\\, \\partial C/\\partial \\phi_k\\, L'` in :math:`\\phi = (\\theta,
    \\sigma)` (analytic), :math:`A = 2 H^{-1}` with :math:`H` the Hessian of the
    non-profiled deviance in :math:`\\phi` (central differences of the analytic gradient
    with a Richardson step).

    References
    ----------
    Bates D et al. J Stat Softw 2015;67(1). doi:10.18637/jss.v067.i01 (lme4).
    Kuznetsova A et al. J Stat Softw 2017;82(13). doi:10.18637/jss.v082.i13 (lmerTest).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.mixed import slope_model
    >>> cohort = synth_cohort(200, rng=np.random.default_rng(7), effect=0.3)
    >>> res = slope_model(cohort, control="Placebo")
    >>> res.slopes["arm"].tolist()
    ['Placebo', 'Active']
    >>> sorted(res.to_dict()["variance_components"])
    ['intercept_slope_cov', 'intercept_var', 'residual_var', 'slope_var']
    """
    check_choice("df_method", df_method, ("satterthwaite", "normal"))
    level = check_level(level)
    tv = trial_visits(visits, control=control)
    s = _sufficient(tv)
    p = s.xtx.shape[0]
    notes = list(tv.notes)
    if s.n <= p:
        raise InputError(Problem(f"{s.n} visits cannot fit a model with {p} fixed effects"))
    fit = _fit_lmm(s, reml=reml)
    if not fit.converged:
        msg = (
            f"the mixed model did not converge ({fit.message}); max|gradient| "
            f"{fit.gradient_norm:.2g}"
        )
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    boundary = bool(fit.theta[0] < 1e-4 or fit.theta[2] < 1e-4)
    if boundary:
        msg = "boundary (singular) fit: a random-effect variance is ~0 or the correlation is +-1"
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    eye = np.eye(p)
    contrasts = np.vstack([eye, [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    if df_method == "satterthwaite":
        dfs, more = _satterthwaite(fit, s, reml=reml, contrasts=contrasts)
        notes += more
    else:
        dfs = np.full(len(contrasts), np.inf)
    est = contrasts @ fit.beta
    ses = np.sqrt(np.einsum("ri,ij,rj->r", contrasts, fit.vcov, contrasts))
    inf = [
        _inference(float(e), float(v), float(d), level)
        for e, v, d in zip(est, ses, dfs, strict=True)
    ]
    terms = ["(Intercept)", "t_months", f"arm{tv.treated}", f"t_months:arm{tv.treated}"]
    fixed = pd.DataFrame(
        {
            "term": terms,
            "estimate": est[:p],
            "se": ses[:p],
            "df": dfs[:p],
            "statistic": [x[0] for x in inf[:p]],
            "p_value": [x[1] for x in inf[:p]],
        }
    )
    slopes_table = pd.DataFrame({"arm": [tv.control, tv.treated], "slope": est[p:], "se": ses[p:]})
    om = fit.sigma**2 * _omega(fit.theta)
    statistic, p_value, lo, hi = inf[3]
    loglik = -fit.deviance / 2
    return SlopeModelResult(
        visits=tv,
        control=tv.control,
        treated=tv.treated,
        method="REML" if reml else "ML",
        df_method=df_method,
        level=level,
        slope_difference=float(est[3]),
        se=float(ses[3]),
        statistic=statistic,
        df=float(dfs[3]),
        p_value=p_value,
        ci_lower=lo,
        ci_upper=hi,
        slopes=slopes_table,
        fixed_effects=fixed,
        vcov=_readonly(fit.vcov),
        intercept_var=float(om[0, 0]),
        slope_var=float(om[1, 1]),
        intercept_slope_cov=float(om[0, 1]),
        residual_var=fit.sigma**2,
        theta=_readonly(fit.theta),
        loglik=loglik,
        deviance=fit.deviance,
        iterations=fit.iterations,
        evaluations=fit.evaluations,
        gradient_norm=fit.gradient_norm,
        converged=fit.converged,
        boundary=boundary,
        n_subjects=tv.n_subjects,
        n_visits=tv.n_visits,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- visits -----
def _nearest(tv: TrialVisits, month: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Total and time of each subject's visit nearest to ``month`` within +-``window``.

    Ties go to the earlier visit; ``nan`` where a subject has no visit in the window.
    """
    value = np.full(tv.n_subjects, np.nan)
    when = np.full(tv.n_subjects, np.nan)
    dist = np.abs(tv.t_months - month)
    idx = np.flatnonzero(dist <= window + 1e-9)
    if idx.size:
        idx = idx[np.lexsort((tv.t_months[idx], dist[idx], tv.codes[idx]))]
        first = np.r_[True, tv.codes[idx][1:] != tv.codes[idx][:-1]]
        pick = idx[first]
        value[tv.codes[pick]] = tv.total[pick]
        when[tv.codes[pick]] = tv.t_months[pick]
    return value, when


def _check_window(month: float, window: float, name: str = "month") -> list[Problem]:
    problems = []
    if not (isinstance(window, int | float) and math.isfinite(window) and window > 0):
        problems.append(Problem(f"window={window!r} must be a positive number of months"))
    elif not (isinstance(month, int | float) and math.isfinite(month) and month > window):
        problems.append(
            Problem(f"{name}={month!r} must be a number of months after baseline (> window)")
        )
    return problems


def _arm_names(tv: TrialVisits) -> np.ndarray:
    return np.where(tv.arm == 1, tv.treated, tv.control).astype(object)


# --------------------------------------------------------------------------- ANCOVA -----
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AncovaResult:
    """Change from baseline to month T, treated minus control, adjusted for baseline.

    Attributes
    ----------
    visits : TrialVisits
    control, treated : str
    month, window, level : float
    estimate, se, statistic, df, p_value, ci_lower, ci_upper : float
        The arm coefficient of ``lm(change ~ baseline + arm)`` (points; positive = less
        decline on treatment) with its t test (df = n - 3) and confidence interval.
    coefficients : pandas.DataFrame
        ``term, estimate, se, statistic, p_value`` with R's term names.
    by_arm : pandas.DataFrame
        ``arm, n, mean_baseline, mean_change`` of the contributing subjects.
    subjects : pandas.DataFrame
        One row per subject: ``subject_id, arm, baseline, baseline_months, followup,
        followup_months, change, status`` (``"ok"`` or why the subject did not
        contribute).
    n_subjects : int
        Contributing subjects.
    notes : tuple of str
    """

    visits: TrialVisits
    control: str
    treated: str
    month: float
    window: float
    level: float
    estimate: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci_lower: float
    ci_upper: float
    coefficients: pd.DataFrame
    by_arm: pd.DataFrame
    subjects: pd.DataFrame
    n_subjects: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (the ``--model ancova`` JSON)."""
        return {
            "model": "ancova",
            "month": self.month,
            "window": self.window,
            **_estimate_json(self),
            "coefficients": _records(self.coefficients),
            "by_arm": _records(self.by_arm),
            "n_subjects": self.n_subjects,
            **_subjects_json(self.subjects, ["subject_id", "arm", "status"]),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the per-subject table (a copy)."""
        return self.subjects.copy()

    def summary(self) -> str:
        """Return a text summary laid out like ``summary(lm(...))``."""
        lines = [
            f"ANCOVA: change from baseline to month {self.month:g} (+-{self.window:g}), "
            "lm(change ~ baseline + arm)",
            self.coefficients.to_string(index=False, float_format=lambda x: f"{x:.6g}"),
            "",
            self.by_arm.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
            f"Difference {self.treated} - {self.control}: {self.estimate:.4f} "
            f"(SE {self.se:.4f}, t {self.statistic:.3f}, df {self.df:g}, p-val "
            f"{self.p_value:.4g}), {self.level:.0%} CI {self.ci_lower:.4f} to "
            f"{self.ci_upper:.4f}",
            f"subjects: {self.n_subjects} of {len(self.subjects)} contributed",
        ]
        return _join_with_notes(lines, self.notes)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    dof = len(y) - x.shape[1]
    return beta, xtx_inv * float(resid @ resid) / dof, dof


def _exclusion_notes(status: np.ndarray) -> list[str]:
    notes = []
    for reason, count in pd.Series(status[status != "ok"]).value_counts().items():
        msg = f"{count} subject(s) did not contribute: {reason}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)
    return notes


def ancova(
    visits: VisitTable | pd.DataFrame | TrialVisits,
    *,
    month: float,
    control: str | None = None,
    window: float = 0.5,
    level: float = 0.95,
) -> AncovaResult:
    """Compare the change in ALSFRS-R total from baseline to month T, adjusted for baseline.

    Parameters
    ----------
    visits : VisitTable, DataFrame or TrialVisits
        See :func:`trial_visits`.
    month : float
        The landmark T (months after baseline).
    control : str, optional
        The control arm (default: first in sorted order).
    window : float, default 0.5
        Baseline is the visit nearest to month 0, the follow-up the visit nearest to
        month T, each within +-``window`` months (ties: the earlier visit).
    level : float, default 0.95

    Returns
    -------
    AncovaResult

    Raises
    ------
    InputError
        Bad options, or fewer than 2 contributing subjects in an arm.

    Notes
    -----
    OLS of :math:`\\Delta_i = y_i(T) - y_i(0)` on :math:`[1, y_i(0), a_i]`; the effect is
    the arm coefficient, :math:`t = \\hat\\beta_a / SE`, df = n - 3. It matches
    ``lm(change ~ baseline + arm)``. Subjects without a baseline or follow-up visit in
    the window (deaths, dropouts, missed visits) do not contribute; ``subjects`` says
    why, and a warning counts them.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.mixed import ancova
    >>> cohort = synth_cohort(200, rng=np.random.default_rng(7), effect=0.3)
    >>> res = ancova(cohort, month=6, control="Placebo")
    >>> res.coefficients["term"].tolist()
    ['(Intercept)', 'baseline', 'armActive']
    """
    level = check_level(level)
    problems = _check_window(month, window)
    if problems:
        raise InputError(problems)
    tv = trial_visits(visits, control=control)
    base, base_t = _nearest(tv, 0.0, window)
    fup, fup_t = _nearest(tv, float(month), window)
    change = fup - base
    status = np.full(tv.n_subjects, "ok", dtype=object)
    status[~np.isfinite(fup)] = f"no visit within +-{window:g} months of month {month:g}"
    status[~np.isfinite(base)] = f"no baseline visit within +-{window:g} months of month 0"
    ok = status == "ok"
    counts = np.bincount(tv.arm[ok], minlength=2)
    if counts.min() < 2 or ok.sum() < 4:
        raise InputError(
            Problem(
                f"ANCOVA at month {month:g}: too few subjects contributed "
                f"({tv.control}: {counts[0]}, {tv.treated}: {counts[1]}; need 2 per arm)"
            )
        )
    notes = list(tv.notes) + _exclusion_notes(status)
    x = np.column_stack([np.ones(ok.sum()), base[ok], tv.arm[ok].astype(float)])
    beta, cov, dof = _ols(x, change[ok])
    se = np.sqrt(np.diag(cov))
    inf = [_inference(float(b), float(e), float(dof), level) for b, e in zip(beta, se, strict=True)]
    arms = _arm_names(tv)
    subjects = pd.DataFrame(
        {
            "subject_id": tv.subject_ids,
            "arm": arms,
            "baseline": base,
            "baseline_months": base_t,
            "followup": fup,
            "followup_months": fup_t,
            "change": change,
            "status": status,
        }
    )
    by_arm = pd.DataFrame(
        {
            "arm": [tv.control, tv.treated],
            "n": counts,
            "mean_baseline": [float(base[ok & (tv.arm == g)].mean()) for g in (0, 1)],
            "mean_change": [float(change[ok & (tv.arm == g)].mean()) for g in (0, 1)],
        }
    )
    coefficients = pd.DataFrame(
        {
            "term": ["(Intercept)", "baseline", f"arm{tv.treated}"],
            "estimate": beta,
            "se": se,
            "statistic": [r[0] for r in inf],
            "p_value": [r[1] for r in inf],
        }
    )
    statistic, p_value, lo, hi = inf[2]
    return AncovaResult(
        visits=tv,
        control=tv.control,
        treated=tv.treated,
        month=float(month),
        window=float(window),
        level=level,
        estimate=float(beta[2]),
        se=float(se[2]),
        statistic=statistic,
        df=float(dof),
        p_value=p_value,
        ci_lower=lo,
        ci_upper=hi,
        coefficients=coefficients,
        by_arm=by_arm,
        subjects=subjects,
        n_subjects=int(ok.sum()),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- MMRM -------
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MmrmResult:
    """Mixed model for repeated measures: treatment difference in change at each visit.

    Attributes
    ----------
    visits : TrialVisits
    control, treated : str
    visits_months : tuple of float
    window, level : float
    method : {"REML", "ML"}
    estimate, se, statistic, df, p_value, ci_lower, ci_upper : float
        Treated minus control change from baseline at the last scheduled visit, with a
        t test on the between-within df (``n_subjects - 3``).
    by_visit : pandas.DataFrame
        ``visit_months, estimate, se, statistic, p_value, ci_lower, ci_upper``.
    coefficients : pandas.DataFrame
        ``term, estimate, se`` with R's term names.
    covariance : numpy.ndarray
        The unstructured k x k covariance of the changes.
    loglik : float
        (Restricted) log-likelihood, as ``nlme::gls``'s ``logLik``.
    iterations : int
    converged : bool
    subjects : pandas.DataFrame
        ``subject_id, arm, baseline, n_visits_used, status``.
    n_subjects, n_obs : int
        Contributing subjects and their post-baseline visits.
    notes : tuple of str
    """

    visits: TrialVisits
    control: str
    treated: str
    visits_months: tuple[float, ...]
    window: float
    level: float
    method: str
    estimate: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci_lower: float
    ci_upper: float
    by_visit: pd.DataFrame
    coefficients: pd.DataFrame
    covariance: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    subjects: pd.DataFrame
    n_subjects: int
    n_obs: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (the ``--model mmrm`` JSON)."""
        return {
            "model": "mmrm",
            "visits_months": list(self.visits_months),
            "window": self.window,
            "method": self.method,
            **_estimate_json(self),
            "df_method": "between-within",
            "by_visit": _records(self.by_visit),
            "coefficients": _records(self.coefficients),
            "covariance": [[float(v) for v in row] for row in self.covariance],
            "loglik": _json(self.loglik),
            "converged": self.converged,
            "n_subjects": self.n_subjects,
            "n_obs": self.n_obs,
            **_subjects_json(self.subjects, ["subject_id", "arm", "n_visits_used", "status"]),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the per-visit treatment differences (a copy)."""
        return self.by_visit.copy()

    def summary(self) -> str:
        """Return a text summary."""
        lines = [
            f"MMRM ({self.method}, unstructured covariance): change from baseline ~ "
            "visit * arm + baseline",
            f"visits (months): {', '.join(f'{m:g}' for m in self.visits_months)} "
            f"(+-{self.window:g}); subjects {self.n_subjects}, observations {self.n_obs}",
            f"logLik {self.loglik:.4f}",
            "",
            f"Difference {self.treated} - {self.control} by visit:",
            self.by_visit.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
            "",
            f"At month {self.visits_months[-1]:g}: {self.estimate:.4f} (SE {self.se:.4f}, "
            f"df {self.df:g} between-within, p-val {self.p_value:.4g}), {self.level:.0%} CI "
            f"{self.ci_lower:.4f} to {self.ci_upper:.4f}",
        ]
        return _join_with_notes(lines, self.notes)


def _mmrm_deviance(
    phi: np.ndarray,
    k: int,
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_obs: int,
    reml: bool,
    want: bool = False,
) -> Any:
    chol = np.zeros((k, k))
    chol[np.tril_indices(k)] = phi
    diag = np.diag_indices(k)
    chol[diag] = np.exp(chol[diag])  # log-Cholesky: unconstrained and positive definite
    sigma = chol @ chol.T
    p = groups[0][1].shape[2]
    xtx = np.zeros((p, p))
    xty = np.zeros(p)
    yty = 0.0
    logdet = 0.0
    for idx, x, y in groups:
        c = np.linalg.cholesky(sigma[np.ix_(idx, idx)])
        cinv = np.linalg.inv(c)
        xw = np.einsum("ij,gjp->gip", cinv, x)
        yw = y @ cinv.T
        xtx += np.einsum("gip,giq->pq", xw, xw)
        xty += np.einsum("gip,gi->p", xw, yw)
        yty += float((yw * yw).sum())
        logdet += len(y) * 2.0 * float(np.log(np.diag(c)).sum())
    try:
        beta = np.linalg.solve(xtx, xty)
    except np.linalg.LinAlgError:
        return np.inf
    rss = yty - float(beta @ xty)
    dev = logdet + rss + n_obs * math.log(2 * math.pi)
    if reml:
        dev += float(np.linalg.slogdet(xtx)[1]) - p * math.log(2 * math.pi)
    if want:
        return dev, beta, np.linalg.inv(xtx), sigma
    return dev


def mmrm(
    visits: VisitTable | pd.DataFrame | TrialVisits,
    *,
    visits_months: tuple[float, ...] | list[float],
    control: str | None = None,
    window: float = 0.5,
    reml: bool = True,
    level: float = 0.95,
) -> MmrmResult:
    """Fit an MMRM to the change from baseline at scheduled visits.

    Parameters
    ----------
    visits : VisitTable, DataFrame or TrialVisits
        See :func:`trial_visits`.
    visits_months : sequence of float
        The scheduled post-baseline visits (months), at most 10. Each subject's visit
        nearest to a scheduled month within +-``window`` is used (ties: the earlier).
    control : str, optional
        The control arm (default: first in sorted order).
    window : float, default 0.5
    reml : bool, default True
    level : float, default 0.95

    Returns
    -------
    MmrmResult

    Raises
    ------
    InputError
        Bad options, or too few contributing subjects.

    Notes
    -----
    The model is ``change ~ visit * arm + baseline`` (visit categorical) with an
    unstructured covariance :math:`\\Sigma` of the k changes of a subject, as::

        nlme::gls(change ~ visit * arm + baseline,
                  correlation = corSymm(form = ~ visit_index | subject_id),
                  weights = varIdent(form = ~ 1 | visit), method = "REML")

    :math:`\\Sigma = LL'` with the log of the diagonal of :math:`L` as parameters; the
    REML deviance :math:`\\sum_i \\log|\\Sigma_{O_i}| + \\log|X'\\Sigma^{-1}X| +
    r'\\Sigma^{-1}r + (N - p)\\log 2\\pi` (:math:`O_i` the observed visits of subject i;
    subjects are grouped by their pattern of observed visits) is minimised by BFGS.
    Missing visits are missing at random. The difference at visit j is
    :math:`\\beta_{arm} + \\beta_{visit_j:arm}`, its SE from :math:`(X'\\Sigma^{-1}X)^{-1}`;
    the t test uses the between-within df, n_subjects - 3 (intercept, arm, baseline: the
    between-subject parameters), as SAS ``DDFM=BETWITHIN`` does for the arm effect.

    References
    ----------
    Mallinckrodt CH et al. Drug Inf J 2008;42:303-319. doi:10.1177/009286150804200402

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.mixed import mmrm
    >>> cohort = synth_cohort(200, rng=np.random.default_rng(7), effect=0.3)
    >>> res = mmrm(cohort, visits_months=[3, 6, 9, 12], control="Placebo")
    >>> res.by_visit["visit_months"].tolist()
    [3.0, 6.0, 9.0, 12.0]
    """
    level = check_level(level)
    try:
        months = tuple(sorted({float(m) for m in visits_months}))
    except (TypeError, ValueError):
        raise InputError(Problem(f"visits_months={visits_months!r} must be numbers")) from None
    problems = []
    if not months or len(months) > 10:
        problems.append(Problem("visits_months must list 1 to 10 scheduled visits"))
    else:
        problems += _check_window(months[0], window, "visits_months")
    if problems:
        raise InputError(problems)
    tv = trial_visits(visits, control=control)
    k = len(months)
    base, _ = _nearest(tv, 0.0, window)
    change = np.column_stack([_nearest(tv, m, window)[0] for m in months]) - base[:, None]
    seen = np.isfinite(change)
    status = np.full(tv.n_subjects, "ok", dtype=object)
    status[~seen.any(axis=1)] = f"no scheduled post-baseline visit within +-{window:g} months"
    status[~np.isfinite(base)] = f"no baseline visit within +-{window:g} months of month 0"
    ok = status == "ok"
    counts = np.bincount(tv.arm[ok], minlength=2)
    p = 2 * k + 1
    n_obs = int(seen[ok].sum())
    if counts.min() < 2 or n_obs <= p + k:
        raise InputError(
            Problem(
                f"MMRM: too few subjects contributed ({tv.control}: {counts[0]}, "
                f"{tv.treated}: {counts[1]}; {n_obs} visits for {p} fixed effects)"
            )
        )
    notes = list(tv.notes) + _exclusion_notes(status)
    # Design per (subject, visit): (Intercept), visit_2..k, arm, baseline, visit_2..k:arm.
    m_ok = int(ok.sum())
    a = tv.arm[ok].astype(float)
    x = np.zeros((m_ok, k, p))
    x[:, :, 0] = 1.0
    for j in range(1, k):
        x[:, j, j] = 1.0
        x[:, j, k + 1 + j] = a
    x[:, :, k] = a[:, None]
    x[:, :, k + 1] = base[ok][:, None]
    y = change[ok]
    pattern = seen[ok]
    groups = []
    keys, inverse = np.unique(pattern, axis=0, return_inverse=True)
    for g, key in enumerate(keys):
        rows = np.flatnonzero(inverse.ravel() == g)
        idx = np.flatnonzero(key)
        groups.append((idx, x[np.ix_(rows, idx)], y[np.ix_(rows, idx)]))
    # Start: the per-visit residual variances of OLS, no correlation.
    xs = x[pattern]
    beta0 = np.linalg.lstsq(xs, y[pattern], rcond=None)[0]
    resid = y - x @ beta0
    var0 = np.array(
        [np.nanmean(np.where(pattern[:, j], resid[:, j] ** 2, np.nan)) for j in range(k)]
    )
    var0 = np.where(np.isfinite(var0) & (var0 > 0), var0, 1.0)
    start = np.zeros(k * (k + 1) // 2)
    diag_pos = np.cumsum(np.arange(1, k + 1)) - 1
    start[diag_pos] = 0.5 * np.log(var0)
    res = optimize.minimize(
        _mmrm_deviance,
        start,
        args=(k, groups, n_obs, reml),
        method="BFGS",
        jac="3-point",
        options={"gtol": 1e-7, "maxiter": 2000},
    )
    dev, beta, xtx_inv, sigma = _mmrm_deviance(res.x, k, groups, n_obs, reml, want=True)
    converged = bool(res.success)
    if not converged:
        msg = f"the MMRM optimiser stopped early: {res.message}"
        # BFGS reports a precision loss when the deviance cannot decrease further at the
        # optimum; a small gradient then still means convergence.
        converged = bool(np.max(np.abs(res.jac)) < 1e-3)
        if not converged:
            notes.append(msg)
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    terms = (
        ["(Intercept)"]
        + [f"visit{m:g}" for m in months[1:]]
        + [f"arm{tv.treated}", "baseline"]
        + [f"visit{m:g}:arm{tv.treated}" for m in months[1:]]
    )
    dof = float(m_ok - 3)
    rows_out = []
    for j, m in enumerate(months):
        ell = np.zeros(p)
        ell[k] = 1.0
        if j:
            ell[k + 1 + j] = 1.0
        est = float(ell @ beta)
        se = math.sqrt(float(ell @ xtx_inv @ ell))
        statistic, p_value, lo, hi = _inference(est, se, dof, level)
        rows_out.append((m, est, se, statistic, p_value, lo, hi))
    by_visit = pd.DataFrame(
        rows_out,
        columns=["visit_months", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper"],
    )
    last = rows_out[-1]
    subjects = pd.DataFrame(
        {
            "subject_id": tv.subject_ids,
            "arm": _arm_names(tv),
            "baseline": base,
            "n_visits_used": np.where(ok, seen.sum(axis=1), 0),
            "status": status,
        }
    )
    return MmrmResult(
        visits=tv,
        control=tv.control,
        treated=tv.treated,
        visits_months=months,
        window=float(window),
        level=level,
        method="REML" if reml else "ML",
        estimate=last[1],
        se=last[2],
        statistic=last[3],
        df=dof,
        p_value=last[4],
        ci_lower=last[5],
        ci_upper=last[6],
        by_visit=by_visit,
        coefficients=pd.DataFrame(
            {"term": terms, "estimate": beta, "se": np.sqrt(np.diag(xtx_inv))}
        ),
        covariance=_readonly(sigma),
        loglik=-dev / 2,
        iterations=int(res.nit),
        converged=converged,
        subjects=subjects,
        n_subjects=m_ok,
        n_obs=n_obs,
        notes=tuple(notes),
    )
