"""Per-patient ALSFRS-R slopes and the lead-in (pre vs post treatment) slope change.

Every slope is an ordinary least-squares fit of the total on time (months) per subject,
computed for all subjects at once from grouped sums (``numpy.bincount``), never in a
per-patient Python loop. Slopes are in points/month and negative for decline, as the
research file writes s_pre and s_post (section 4.4).

References
----------
Per-patient OLS with minimum visits and span: research file section 2.2
(``yoonhohong/proact:preprocess_predict.R``: first-to-last interval >= 1.5 months).
Onset anchoring: Karanevich AG et al., BMC Med Res Methodol 2018;18:19,
doi:10.1186/s12874-018-0479-9.
Lead-in caveats (section 2.4): ALS FTD 2024;25:388-399 (PubMed 38323575); Proudfoot M
et al. 2016 (PubMed 26864085).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice, check_level
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, as_visit_table

__all__ = ["LEAD_IN_CAVEATS", "LeadInResult", "SlopeResult", "lead_in", "ols_by", "slopes"]

LEAD_IN_CAVEATS: tuple[str, ...] = (
    "a within-patient pre vs post slope change without a concurrent control is confounded "
    "by the non-linear course of ALS and by regression to the mean; report it alongside "
    "the placebo comparison, not in place of it (research file section 2.4)",
    "progression groups defined from the lead-in (run-in) change did not accord with "
    "later decline in JaCALS + PRO-ACT (ALS FTD 2024;25:388-399, PubMed 38323575)",
    "the onset-anchored rate underestimated the later rate of decline (Proudfoot 2016, "
    "PubMed 26864085)",
)
"""Caveats of section 2.4, stated in every :class:`LeadInResult`."""


def ols_by(codes: np.ndarray, t: np.ndarray, y: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Least-squares line of ``y`` on ``t`` within each group, from grouped sums.

    Parameters
    ----------
    codes : (n,) int array
        Group of each observation, 0 .. n_groups - 1.
    t, y : (n,) float arrays
        Time and response; no ``nan``.
    n_groups : int

    Returns
    -------
    dict of arrays of length ``n_groups``
        ``n``, ``t_first``, ``t_last``, ``slope``, ``intercept`` (at t = 0),
        ``slope_se`` (``nan`` with fewer than 3 points), ``residual_sd``. Groups with
        fewer than 2 distinct times get ``nan`` slopes.

    Notes
    -----
    Centred sums: slope = S_ty / S_tt with S_tt = sum (t - mean t)^2 and
    S_ty = sum (t - mean t)(y - mean y); se = sqrt(SSE / (n - 2) / S_tt).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients.slopes import ols_by
    >>> fit = ols_by(np.array([0, 0, 0, 1, 1]), np.array([0., 1, 2, 0, 3]),
    ...              np.array([40., 39, 38, 30, 24]), 2)
    >>> fit["slope"].tolist()
    [-1.0, -2.0]
    """
    n = np.bincount(codes, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = np.bincount(codes, t, n_groups) / n
        y_mean = np.bincount(codes, y, n_groups) / n
        dt = t - t_mean[codes]
        dy = y - y_mean[codes]
        stt = np.bincount(codes, dt * dt, n_groups)
        sty = np.bincount(codes, dt * dy, n_groups)
        syy = np.bincount(codes, dy * dy, n_groups)
        flat = stt <= 1e-12 * np.maximum(1.0, np.bincount(codes, t * t, n_groups))
        slope = np.where(flat, np.nan, sty / stt)
        sse = np.maximum(syy - slope * sty, 0.0)
        df = n - 2
        residual_sd = np.where(df > 0, np.sqrt(sse / np.where(df > 0, df, 1)), np.nan)
        slope_se = np.where(df > 0, residual_sd / np.sqrt(stt), np.nan)
    t_first = np.full(n_groups, np.nan)
    t_last = np.full(n_groups, np.nan)
    if t.size:
        np.fmin.at(t_first, codes, t)
        np.fmax.at(t_last, codes, t)
    return {
        "n": n.astype(int),
        "t_first": t_first,
        "t_last": t_last,
        "slope": slope,
        "intercept": y_mean - slope * t_mean,
        "slope_se": slope_se,
        "residual_sd": residual_sd,
    }


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
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


def _readonly(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SlopeResult:
    """Per-patient ALSFRS-R slopes.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject: ``subject_id, arm, n_visits, first_months, last_months,
        span_months, slope, intercept, slope_se, total_first, total_last, status``.
        ``slope`` is in points/month (negative for decline); ``status`` is ``"ok"`` or
        why the slope is ``nan``.
    visits : VisitTable
        The input.
    time, window, min_visits, min_span_months, anchor_onset : options used.
    notes : tuple of str
    """

    table: pd.DataFrame
    visits: VisitTable
    time: str
    window: tuple[float, float] | None
    min_visits: int
    min_span_months: float
    anchor_onset: bool
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-subject table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: options, counts, notes and one record per subject."""
        ok = self.table["status"] == "ok"
        slopes = self.table.loc[ok, "slope"]
        return {
            "time": self.time,
            "window": None if self.window is None else list(self.window),
            "min_visits": self.min_visits,
            "min_span_months": self.min_span_months,
            "anchor_onset": self.anchor_onset,
            "n_subjects": len(self.table),
            "n_with_slope": int(ok.sum()),
            "mean_slope": _json(float(slopes.mean()) if len(slopes) else float("nan")),
            "median_slope": _json(float(slopes.median()) if len(slopes) else float("nan")),
            "notes": list(self.notes),
            "subjects": _records(self.table),
        }

    def summary(self) -> str:
        """Return a text summary (counts and the distribution of slopes)."""
        ok = self.table["status"] == "ok"
        s = self.table.loc[ok, "slope"]
        window = (
            "all visits"
            if self.window is None
            else (f"{self.window[0]:g} to {self.window[1]:g} months")
        )
        lines = [
            "Per-patient ALSFRS-R slopes (OLS, points/month; negative = decline)",
            f"time: months from {self.time}; window: {window}; min visits {self.min_visits}; "
            f"min span {self.min_span_months:g} months"
            + ("; anchored at onset (48)" if self.anchor_onset else ""),
            f"subjects: {len(self.table)}, with a slope: {int(ok.sum())}",
        ]
        if len(s):
            q = s.quantile([0.25, 0.5, 0.75]).to_numpy()
            lines.append(
                f"mean {s.mean():.4f}  SD {s.std(ddof=1) if len(s) > 1 else float('nan'):.4f}  "
                f"median {q[1]:.4f}  IQR {q[0]:.4f} to {q[2]:.4f}"
            )
        for arm, group in self.table[ok].groupby("arm", sort=True):
            lines.append(f"  arm {arm}: n = {len(group)}, mean slope {group['slope'].mean():.4f}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _check_rules(min_visits: int, min_span_months: float) -> None:
    problems = []
    if not isinstance(min_visits, int | np.integer) or min_visits < 2:
        problems.append(Problem(f"min_visits={min_visits!r} must be an integer >= 2"))
    if not (isinstance(min_span_months, int | float) and min_span_months >= 0):
        problems.append(Problem(f"min_span_months={min_span_months!r} must be a number >= 0"))
    if problems:
        raise InputError(problems)


def _window(window: Any) -> tuple[float, float] | None:
    if window is None:
        return None
    try:
        start, end = (float(w) for w in window)
    except (TypeError, ValueError):
        raise InputError(Problem(f"window={window!r} must be (start, end) in months")) from None
    if not start <= end:
        raise InputError(Problem(f"window=({start:g}, {end:g}): start must not exceed end"))
    return start, end


def slopes(
    visits: VisitTable | pd.DataFrame,
    *,
    time: str = "baseline",
    window: tuple[float, float] | None = None,
    min_visits: int = 2,
    min_span_months: float = 0.0,
    anchor_onset: bool = False,
) -> SlopeResult:
    """Fit one least-squares ALSFRS-R slope per patient.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits (a frame is validated by :func:`alsmeta.patients.visit_table`).
    time : {"baseline", "onset"}, default "baseline"
        Time axis: months from trial time 0 or from symptom onset. The slope is the
        same; the intercept and the window refer to this axis.
    window : (float, float), optional
        Use only visits with ``start <= time <= end`` (months). Default: all visits.
    min_visits : int, default 2
        Fewer visits in the window give ``nan`` and status ``"too few visits"``.
    min_span_months : float, default 0
        A first-to-last interval shorter than this gives ``nan`` and status
        ``"span too short"`` (yoonhohong/proact uses 1.5 months).
    anchor_onset : bool, default False
        Add a pseudo-visit with total 48 at symptom onset (Karanevich 2018); it does not
        count towards ``min_visits`` or the span. Subjects without onset get ``nan``.

    Returns
    -------
    SlopeResult

    Warns
    -----
    UserWarning
        Naming how many subjects got ``nan`` and why.

    Notes
    -----
    total_ij = a_i + b_i t_ij + e_ij fitted per subject (research file Appendix C); the
    slope equals ``numpy.polyfit(t, total, 1)[0]`` of the subject's visits.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS
    >>> from alsmeta.patients import slopes
    >>> rows = []
    >>> for day, walking in [(0, 4), (30, 3), (61, 2), (91, 1)]:
    ...     visit = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    ...     rows.append({"subject_id": "A", "days": day, **visit, "walking": walking})
    >>> res = slopes(pd.DataFrame(rows))
    >>> round(float(res.table["slope"].iloc[0]), 4)
    -1.0012
    """
    vt = as_visit_table(visits)
    check_choice("time", time, ("baseline", "onset"))
    _check_rules(min_visits, min_span_months)
    win = _window(window)
    table = vt.table
    column = "months" if time == "baseline" else "months_from_onset"
    t_all = table[column].to_numpy(dtype=float)
    y_all = table["total"].to_numpy(dtype=float)
    codes_all, uniques = pd.factorize(table["subject_id"], sort=False)
    n_groups = len(uniques)
    keep = np.isfinite(t_all)
    if win is not None:
        keep &= (t_all >= win[0]) & (t_all <= win[1])
    codes, t, y = codes_all[keep], t_all[keep], y_all[keep]

    n_obs = np.bincount(codes, minlength=n_groups)
    fit_codes, fit_t, fit_y = codes, t, y
    onset_missing = np.zeros(n_groups, dtype=bool)
    if anchor_onset:
        onset = (
            vt.subjects.set_index("subject_id")["onset_days"].reindex(uniques).to_numpy(dtype=float)
        )
        onset_missing = ~np.isfinite(onset)
        anchor_t = onset / DAYS_PER_MONTH if time == "baseline" else np.zeros(n_groups)
        have = np.flatnonzero(~onset_missing & (n_obs > 0))
        fit_codes = np.concatenate([codes, have])
        fit_t = np.concatenate([t, anchor_t[have]])
        fit_y = np.concatenate([y, np.full(have.size, 48.0)])
    fit = ols_by(fit_codes, fit_t, fit_y, n_groups)
    first = np.full(n_groups, np.nan)
    last = np.full(n_groups, np.nan)
    if t.size:
        np.fmin.at(first, codes, t)
        np.fmax.at(last, codes, t)
    span = last - first
    # First and last totals inside the window (visits are sorted by time).
    total_first = np.full(n_groups, np.nan)
    total_last = np.full(n_groups, np.nan)
    if codes.size:
        starts = np.r_[True, codes[1:] != codes[:-1]]
        ends = np.r_[codes[1:] != codes[:-1], True]
        total_first[codes[starts]] = y[starts]
        total_last[codes[ends]] = y[ends]

    status = np.full(n_groups, "ok", dtype=object)
    short = span < min_span_months - 1e-9
    status[short] = "span too short"
    status[n_obs < min_visits] = "too few visits"
    if anchor_onset:
        status[onset_missing & (n_obs >= min_visits)] = "no onset for anchoring"
    status[(status == "ok") & ~np.isfinite(fit["slope"])] = "no time spread"
    bad = status != "ok"
    slope = np.where(bad, np.nan, fit["slope"])
    intercept = np.where(bad, np.nan, fit["intercept"])
    slope_se = np.where(bad, np.nan, fit["slope_se"])

    arms = vt.subjects.set_index("subject_id")["arm"].reindex(uniques).to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "subject_id": pd.array(np.asarray(uniques, dtype=object), dtype="string"),
            "arm": pd.array(arms, dtype="string"),
            "n_visits": n_obs,
            "first_months": first,
            "last_months": last,
            "span_months": span,
            "slope": slope,
            "intercept": intercept,
            "slope_se": slope_se,
            "total_first": total_first,
            "total_last": total_last,
            "status": status,
        }
    )
    notes = list(vt.notes)
    if vt.skipped:
        notes.append(f"{len(vt.skipped)} bad visit(s) skipped")
    reasons = pd.Series(status[bad]).value_counts()
    for reason, count in reasons.items():
        msg = f"slope set to nan for {count} subject(s): {reason}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return SlopeResult(
        table=_readonly(out),
        visits=vt,
        time=time,
        window=win,
        min_visits=int(min_visits),
        min_span_months=float(min_span_months),
        anchor_onset=bool(anchor_onset),
        notes=tuple(notes),
    )


def treatment_days(
    vt: VisitTable, treatment_day: float | Mapping[str, float] | pd.Series
) -> np.ndarray:
    """Day of first treatment of every subject of ``vt`` (in ``vt.subjects`` order)."""
    ids = vt.subjects["subject_id"].astype(str)
    if isinstance(treatment_day, Mapping | pd.Series):
        series = pd.Series(treatment_day)
        series.index = series.index.astype(str)
        values = pd.to_numeric(series.reindex(ids), errors="coerce").to_numpy(dtype=float)
        missing = ids[~np.isfinite(values)].tolist()
        if missing:
            raise InputError(
                [Problem(f"subject {sid!r}: no treatment day given") for sid in missing]
            )
        return values
    try:
        value = float(treatment_day)
    except (TypeError, ValueError):
        raise InputError(Problem(f"treatment_day={treatment_day!r} is not a number")) from None
    return np.full(len(ids), value)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LeadInResult:
    """Pre- vs post-treatment slope per patient and the paired test of the change.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject: ``subject_id, arm, treatment_day, n_pre, n_post,
        slope_pre, slope_post, change, percent_change, status``. ``change`` =
        slope_post - slope_pre (points/month; positive = slower decline),
        ``percent_change`` = change / |slope_pre| * 100.
    test : {"t", "wilcoxon"}
    n_pairs : int
        Subjects with both slopes.
    mean_change, ci_lower, ci_upper : float
        Mean change with its t-based confidence interval.
    statistic, p_value : float
        Paired t statistic (``scipy.stats.ttest_rel(post, pre)``) or Wilcoxon
        signed-rank statistic.
    level : float
    by_arm : pandas.DataFrame
        Per arm: ``arm, n_pairs, mean_change, sd_change, statistic, p_value`` (the same
        paired test within the arm), so the within-patient change can be read beside
        the concurrent control.
    notes : tuple of str
        Always starts with the caveats of :data:`LEAD_IN_CAVEATS`.
    """

    table: pd.DataFrame
    visits: VisitTable
    test: str
    level: float
    n_pairs: int
    mean_change: float
    ci_lower: float
    ci_upper: float
    statistic: float
    p_value: float
    pre_months: float | None
    post_months: float | None
    min_visits: int
    min_span_months: float
    by_arm: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-subject table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: the test, options, notes and one record per subject."""
        return {
            "test": self.test,
            "level": self.level,
            "n_pairs": self.n_pairs,
            "mean_change": _json(self.mean_change),
            "ci_lower": _json(self.ci_lower),
            "ci_upper": _json(self.ci_upper),
            "statistic": _json(self.statistic),
            "p_value": _json(self.p_value),
            "pre_months": self.pre_months,
            "post_months": self.post_months,
            "min_visits": self.min_visits,
            "min_span_months": self.min_span_months,
            "by_arm": _records(self.by_arm),
            "notes": list(self.notes),
            "subjects": _records(self.table),
        }

    def summary(self) -> str:
        """Return a text summary laid out like an R paired test."""
        name = "Paired t-test" if self.test == "t" else "Wilcoxon signed-rank test"
        ok = self.table["status"] == "ok"
        pre = self.table.loc[ok, "slope_pre"]
        post = self.table.loc[ok, "slope_post"]
        lines = [
            f"Lead-in design: slope after vs before treatment ({name})",
            f"pairs: {self.n_pairs} of {len(self.table)} subjects",
            f"mean slope before {pre.mean():.4f}, after {post.mean():.4f} points/month",
            f"mean change {self.mean_change:.4f} points/month, "
            f"{self.level:.0%} CI {self.ci_lower:.4f} to {self.ci_upper:.4f}",
            f"statistic {self.statistic:.4f}, p-val {self.p_value:.4g}",
        ]
        if len(self.by_arm) > 1:
            lines.append("by arm:")
            lines.append(self.by_arm.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def lead_in(
    visits: VisitTable | pd.DataFrame,
    *,
    treatment_day: float | Mapping[str, float] | pd.Series = 0.0,
    pre_months: float | None = None,
    post_months: float | None = None,
    min_visits: int = 2,
    min_span_months: float = 0.0,
    test: str = "t",
    level: float = 0.95,
) -> LeadInResult:
    """Compare each patient's ALSFRS-R slope before and after treatment.

    Parameters
    ----------
    visits : VisitTable or DataFrame
    treatment_day : float or mapping subject_id -> day, default 0
        Day of first treatment (trial time 0 in PRO-ACT is enrolment or first
        treatment).
    pre_months, post_months : float, optional
        Use only visits within this many months before / after treatment. Default:
        all.
    min_visits, min_span_months
        Rules for each of the two slopes, as :func:`slopes`.
    test : {"t", "wilcoxon"}, default "t"
        ``scipy.stats.ttest_rel(slope_post, slope_pre)`` or
        ``scipy.stats.wilcoxon(slope_post - slope_pre)``.
    level : float, default 0.95
        Confidence level of the interval for the mean change.

    Returns
    -------
    LeadInResult

    Notes
    -----
    The pre slope uses the visits with ``day <= treatment_day``, the post slope those
    with ``day >= treatment_day``: the visit on the treatment day (baseline) ends the
    lead-in and starts the follow-up, as in a run-in design. Slope change
    Δs = s_post - s_pre and percent = Δs / |s_pre| * 100 (research file section 4.4,
    Appendix C); 100 % means no further decline. With ``s_pre = 0`` the percent is
    ``nan``. The caveats of section 2.4 are in ``notes``: without a concurrent control
    this change is confounded by non-linearity and regression to the mean.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import lead_in, synth_cohort
    >>> cohort = synth_cohort(60, rng=np.random.default_rng(4))
    >>> res = lead_in(cohort)
    >>> res.n_pairs
    60
    >>> res.notes[0].startswith("a within-patient pre vs post slope change")
    True
    """
    vt = as_visit_table(visits)
    check_choice("test", test, ("t", "wilcoxon"))
    level = check_level(level)
    _check_rules(min_visits, min_span_months)
    for name, value in (("pre_months", pre_months), ("post_months", post_months)):
        if value is not None and not (isinstance(value, int | float) and value > 0):
            raise InputError(Problem(f"{name}={value!r} must be a positive number of months"))
    table = vt.table
    subject_ids = vt.subjects["subject_id"]
    codes = pd.Index(subject_ids).get_indexer(table["subject_id"])
    n_groups = len(subject_ids)
    start = treatment_days(vt, treatment_day)
    days = table["days"].to_numpy(dtype=float)
    rel = (days - start[codes]) / DAYS_PER_MONTH
    y = table["total"].to_numpy(dtype=float)
    pre_mask = rel <= 1e-9
    post_mask = rel >= -1e-9
    if pre_months is not None:
        pre_mask &= rel >= -pre_months - 1e-9
    if post_months is not None:
        post_mask &= rel <= post_months + 1e-9

    parts = {}
    for label, mask in (("pre", pre_mask), ("post", post_mask)):
        fit = ols_by(codes[mask], rel[mask], y[mask], n_groups)
        span = fit["t_last"] - fit["t_first"]
        status = np.full(n_groups, "ok", dtype=object)
        status[span < min_span_months - 1e-9] = f"{label}: span too short"
        status[fit["n"] < min_visits] = f"{label}: too few visits"
        status[(status == "ok") & ~np.isfinite(fit["slope"])] = f"{label}: no time spread"
        parts[label] = (fit, status)
    (pre, pre_status), (post, post_status) = parts["pre"], parts["post"]
    status = np.where(pre_status != "ok", pre_status, post_status)
    both = status == "ok"
    s_pre = np.where(pre_status == "ok", pre["slope"], np.nan)
    s_post = np.where(post_status == "ok", post["slope"], np.nan)
    change = s_post - s_pre
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(s_pre != 0, change / np.abs(s_pre) * 100.0, np.nan)
    out = pd.DataFrame(
        {
            "subject_id": subject_ids.to_numpy(),
            "arm": vt.subjects["arm"].to_numpy(),
            "treatment_day": start,
            "n_pre": pre["n"],
            "n_post": post["n"],
            "slope_pre": s_pre,
            "slope_post": s_post,
            "change": change,
            "percent_change": percent,
            "status": status,
        }
    )
    notes = list(LEAD_IN_CAVEATS)
    notes += list(vt.notes)
    for reason, count in pd.Series(status[~both]).value_counts().items():
        msg = f"no slope change for {count} subject(s): {reason}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    zero = both & (s_pre == 0)
    if zero.any():
        msg = f"percent change is nan for {int(zero.sum())} subject(s) with a lead-in slope of 0"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)

    d = change[both]
    k = int(d.size)
    nan = float("nan")
    mean = float(d.mean()) if k else nan
    ci_lower = ci_upper = statistic = p_value = nan
    if k >= 2:
        se = float(d.std(ddof=1)) / math.sqrt(k)
        crit = float(stats.t.ppf(0.5 + level / 2, k - 1))
        ci_lower, ci_upper = mean - crit * se, mean + crit * se
        res = stats.ttest_rel(s_post[both], s_pre[both]) if test == "t" else stats.wilcoxon(d)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    else:
        msg = f"the paired test needs at least 2 subjects with both slopes; there are {k}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    rows = []
    arms = out["arm"].astype("string").fillna("<none>")
    for arm in sorted(arms.unique()):
        in_arm = both & (arms == arm).to_numpy()
        d_arm = change[in_arm]
        row: dict[str, Any] = {"arm": arm, "n_pairs": int(d_arm.size)}
        row["mean_change"] = float(d_arm.mean()) if d_arm.size else nan
        row["sd_change"] = float(d_arm.std(ddof=1)) if d_arm.size > 1 else nan
        row["statistic"] = row["p_value"] = nan
        if d_arm.size >= 2:
            res_arm = (
                stats.ttest_rel(s_post[in_arm], s_pre[in_arm])
                if test == "t"
                else stats.wilcoxon(d_arm)
            )
            row["statistic"], row["p_value"] = float(res_arm.statistic), float(res_arm.pvalue)
        rows.append(row)
    by_arm = pd.DataFrame(
        rows, columns=["arm", "n_pairs", "mean_change", "sd_change", "statistic", "p_value"]
    )
    return LeadInResult(
        by_arm=by_arm,
        table=_readonly(out),
        visits=vt,
        test=test,
        level=level,
        n_pairs=k,
        mean_change=mean,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        statistic=statistic,
        p_value=p_value,
        pre_months=pre_months,
        post_months=post_months,
        min_visits=int(min_visits),
        min_span_months=float(min_span_months),
        notes=tuple(notes),
    )
