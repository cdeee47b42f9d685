"""The D50 model: a sigmoid decay of the ALSFRS-R fitted per patient.

ALSFRS-R(t) = 48 / (1 + exp((t - D50) / dx)), t in months since symptom onset. D50 is
the time at which the total falls to 24 (overall aggressiveness), dx the time constant;
the slope at D50 is -12 / dx points/month (research file section 4.3, Appendix C).

References
----------
Gaur N et al., "Sigmoidal decay model", ENCALS 2017 abstract P48
(http://videolectures.net/encals2017_gaur_sigmoidal_decay_model/);
Steinbach R et al. Applying the D50 disease progression model to gray and white matter
pathology in ALS. NeuroImage Clin 2020.
Fitting rules (>= 3 visits, totals 1-48, D50 in [3, 120] and dx in [1, 10] months):
public R code with ``nls_multstart`` cited in the research file, section 4.3.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from alsmeta.errors import InputError, Problem
from alsmeta.patients.slopes import _json, _records, ols_by
from alsmeta.patients.visits import VisitTable, as_visit_table

__all__ = ["D50_BOUNDS", "DX_BOUNDS", "D50Result", "fit_d50"]

D50_BOUNDS: tuple[float, float] = (3.0, 120.0)
"""Range of D50 (months), from the starting-value range of the public nls_multstart code."""
DX_BOUNDS: tuple[float, float] = (1.0, 10.0)
"""Range of dx (months), likewise."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class D50Result:
    """Per-patient D50 fits.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject: ``subject_id, arm, n_visits, d50, dx, slope_at_d50``
        (-12/dx), ``rmse`` (points), ``r2``, ``at_bound`` (a parameter ended on its
        bound), ``converged``, ``status`` (``"ok"`` or why there is no fit).
    """

    table: pd.DataFrame
    visits: VisitTable
    min_visits: int
    d50_bounds: tuple[float, float]
    dx_bounds: tuple[float, float]
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-subject table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict with one record per subject."""
        ok = self.table["status"] == "ok"
        return {
            "min_visits": self.min_visits,
            "d50_bounds": list(self.d50_bounds),
            "dx_bounds": list(self.dx_bounds),
            "n_subjects": len(self.table),
            "n_fitted": int(ok.sum()),
            "median_d50": _json(
                float(self.table.loc[ok, "d50"].median()) if ok.any() else float("nan")
            ),
            "notes": list(self.notes),
            "subjects": _records(self.table),
        }

    def summary(self) -> str:
        """Return a text summary."""
        ok = self.table["status"] == "ok"
        lines = [
            "D50 model: ALSFRS-R = 48 / (1 + exp((t - D50) / dx)), t = months from onset",
            f"subjects: {len(self.table)}, fitted: {int(ok.sum())}",
        ]
        if ok.any():
            fit = self.table[ok]
            lines.append(
                f"D50 median {fit['d50'].median():.2f} months (IQR "
                f"{fit['d50'].quantile(0.25):.2f} to {fit['d50'].quantile(0.75):.2f}); "
                f"dx median {fit['dx'].median():.2f}; RMSE median {fit['rmse'].median():.3f}"
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _progress(total: int, progress: bool | None) -> Any:
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="D50 fits", unit="patient", file=sys.stderr)


def fit_d50(
    visits: VisitTable | pd.DataFrame,
    *,
    min_visits: int = 3,
    d50_bounds: tuple[float, float] = D50_BOUNDS,
    dx_bounds: tuple[float, float] = DX_BOUNDS,
    progress: bool | None = None,
) -> D50Result:
    """Fit the D50 sigmoid to each patient's ALSFRS-R totals.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits with known onset (``months_from_onset``).
    min_visits : int, default 3
        Fewer usable visits (totals 1-48 with a known onset) give no fit.
    d50_bounds, dx_bounds : (float, float), default (3, 120) and (1, 10)
        Box for the parameters in months. The defaults are the starting-value ranges of
        the public ``nls_multstart`` code (research file section 4.3); slowly
        progressing patients can need a larger dx, and a fit that ends on a bound is
        flagged in ``at_bound``.
    progress : bool, optional
        Show a progress bar on stderr; default: only when stderr is a terminal.

    Returns
    -------
    D50Result

    Notes
    -----
    ``scipy.optimize.least_squares`` (trust-region reflective, analytic Jacobian) within
    D50 in [3, 120] and dx in [1, 10] months, started from the straight-line fit of
    log(48 / y - 1) = (t - D50) / dx (computed for all patients at once from grouped
    sums) and from the middle of the box; the better fit is kept. Totals of 0 are
    left out, as the public code does (the model never reaches 0).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS
    >>> from alsmeta.patients import d50_curve, fit_d50
    >>> items = [c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"]
    >>> rows = []
    >>> for month in [6, 12, 18, 24, 30]:
    ...     loss = 48 - int(round(float(d50_curve(month, 20.0, 4.0))))
    ...     visit = {c: 4 - min(4, max(0, loss - 4 * i)) for i, c in enumerate(items)}
    ...     rows.append({"subject_id": "A", "months": month - 6.0, "onset_days": -182.625,
    ...                  **visit})
    >>> res = fit_d50(pd.DataFrame(rows))
    >>> res.table[["d50", "dx"]].round(1)
        d50   dx
    0  20.0  4.1
    """
    vt = as_visit_table(visits)
    if not isinstance(min_visits, int) or min_visits < 3:
        raise InputError(Problem(f"min_visits={min_visits!r} must be an integer >= 3"))
    table = vt.table
    ids = vt.subjects["subject_id"]
    n_groups = len(ids)
    codes_all = pd.Index(ids).get_indexer(table["subject_id"])
    t_all = table["months_from_onset"].to_numpy(dtype=float)
    y_all = table["total"].to_numpy(dtype=float)
    usable = np.isfinite(t_all) & (y_all >= 1) & (y_all <= 48)
    codes, t, y = codes_all[usable], t_all[usable], y_all[usable]
    n = np.bincount(codes, minlength=n_groups)

    # Linearised start: z = log(48 / y - 1) = t / dx - D50 / dx.
    z = np.log(48.0 / np.minimum(y, 47.5) - 1.0)
    lin = ols_by(codes, t, z, n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx0 = 1.0 / lin["slope"]
        d500 = -lin["intercept"] * dx0

    out = {key: np.full(n_groups, np.nan) for key in ("d50", "dx", "rmse", "r2")}
    at_bound = np.zeros(n_groups, dtype=bool)
    converged = np.zeros(n_groups, dtype=bool)
    status = np.full(n_groups, "ok", dtype=object)
    no_onset = ~np.isfinite(vt.subjects["onset_days"].to_numpy(dtype=float))
    status[n < min_visits] = f"fewer than {min_visits} visits with a total of 1-48"
    status[no_onset] = "no onset"
    problems = [
        Problem(f"{name}={value!r} must be (low, high) with 0 < low < high")
        for name, value in (("d50_bounds", d50_bounds), ("dx_bounds", dx_bounds))
        if not (len(value) == 2 and 0 < value[0] < value[1])
    ]
    if problems:
        raise InputError(problems)
    lower = np.array([d50_bounds[0], dx_bounds[0]], dtype=float)
    upper = np.array([d50_bounds[1], dx_bounds[1]], dtype=float)
    order = np.argsort(codes, kind="stable")
    bounds_idx = np.r_[0, np.cumsum(n)]
    codes_sorted_t = t[order]
    codes_sorted_y = y[order]
    todo = np.flatnonzero(status == "ok")
    bar = _progress(len(todo), progress)
    try:
        for g in todo:
            tt = codes_sorted_t[bounds_idx[g] : bounds_idx[g + 1]]
            yy = codes_sorted_y[bounds_idx[g] : bounds_idx[g + 1]]

            def residual(p: np.ndarray, tt: np.ndarray = tt, yy: np.ndarray = yy) -> np.ndarray:
                return 48.0 / (1.0 + np.exp((tt - p[0]) / p[1])) - yy

            def jacobian(p: np.ndarray, tt: np.ndarray = tt) -> np.ndarray:
                e = np.exp((tt - p[0]) / p[1])
                common = 48.0 * e / (1.0 + e) ** 2 / p[1]
                return np.column_stack([common, common * (tt - p[0]) / p[1]])

            best = None
            starts = [np.array([d500[g], dx0[g]]), (lower + upper) / 2]
            for x0 in starts:
                if not np.all(np.isfinite(x0)):
                    continue
                x0 = np.clip(x0, lower + 1e-6, upper - 1e-6)
                with np.errstate(over="ignore"):
                    fit = least_squares(
                        residual, x0, jac=jacobian, bounds=(lower, upper), method="trf"
                    )
                if best is None or fit.cost < best.cost:
                    best = fit
            if best is not None:
                resid = best.fun
                out["d50"][g], out["dx"][g] = best.x
                out["rmse"][g] = math.sqrt(float(np.mean(resid**2)))
                ss = float(np.sum((yy - yy.mean()) ** 2))
                out["r2"][g] = 1.0 - float(np.sum(resid**2)) / ss if ss > 0 else np.nan
                converged[g] = bool(best.success)
                at_bound[g] = bool(
                    np.any(np.isclose(best.x, lower, rtol=0, atol=1e-6))
                    or np.any(np.isclose(best.x, upper, rtol=0, atol=1e-6))
                )
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    failed = (status == "ok") & ~converged
    status[failed] = "did not converge"
    for key in out:
        out[key][status != "ok"] = np.nan
    frame = pd.DataFrame(
        {
            "subject_id": ids.to_numpy(),
            "arm": vt.subjects["arm"].to_numpy(),
            "n_visits": n,
            "d50": out["d50"],
            "dx": out["dx"],
            "slope_at_d50": -12.0 / out["dx"],
            "rmse": out["rmse"],
            "r2": out["r2"],
            "at_bound": at_bound & (status == "ok"),
            "converged": converged,
            "status": status,
        }
    )
    notes: list[str] = list(vt.notes)
    for reason, count in pd.Series(status[status != "ok"]).value_counts().items():
        msg = f"no D50 fit for {count} subject(s): {reason}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    n_bound = int(frame["at_bound"].sum())
    if n_bound:
        msg = (
            f"{n_bound} fit(s) ended on a bound of D50 {tuple(d50_bounds)} or dx "
            f"{tuple(dx_bounds)} months; "
            "see the at_bound column"
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return D50Result(
        table=frame,
        visits=vt,
        min_visits=min_visits,
        d50_bounds=(float(lower[0]), float(upper[0])),
        dx_bounds=(float(lower[1]), float(upper[1])),
        notes=tuple(notes),
    )
