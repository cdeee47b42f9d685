r"""Survival per arm: Kaplan–Meier, log-rank test and Cox hazard ratio (with lifelines).

The endpoint is death, or the ALS composite of death, tracheostomy or permanent assisted
ventilation (research file section 4.5; ENCALS uses death, tracheostomy or NIV > 23 h/day).
Which one is counted is the explicit ``event`` argument. Event records come from the visit
table (PRO-ACT DEATHDATA as read by :func:`alsmeta.patients.read_proact`: ``died``,
``death_days``) or from a separate table read by :func:`event_records` (the DEATHDATA file,
or columns ``subject_id, event_month, event`` with an optional ``event_type``).

lifelines is imported when a function runs, not when :mod:`alsmeta` is imported.

References
----------
Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-481. doi:10.1080/01621459.1958.10501452
Cox DR. J R Stat Soc B 1972;34:187-220. doi:10.1111/j.2517-6161.1972.tb00899.x
Efron B. J Am Stat Assoc 1977;72:557-565. doi:10.1080/01621459.1977.10479940
Davidson-Pilon C. lifelines: survival analysis in Python. J Open Source Softw
2019;4(40):1317. doi:10.21105/joss.01317
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice, check_level
from alsmeta.patients.slopes import _json, _records
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, as_visit_table

__all__ = [
    "CONF_TYPES",
    "EVENTS",
    "EVENT_TYPES",
    "SurvivalResult",
    "endpoints",
    "event_records",
    "survival",
]

EVENT_TYPES: tuple[str, ...] = ("death", "tracheostomy", "ventilation")
"""Event types an event record may carry (``ventilation`` = permanent assisted ventilation)."""

EVENTS: tuple[str, ...] = ("death", "composite")
"""Endpoints: death only, or the first of death, tracheostomy and permanent ventilation."""

CONF_TYPES: tuple[str, ...] = ("log-log", "log")
"""Kaplan–Meier interval types (R's ``survfit(conf.type=)``); lifelines uses "log-log"."""

_EVENT_RECORD_COLUMNS = ("subject_id", "event_type", "event_month", "event")
_YES = {"yes", "y", "true", "1", "1.0"}
_NO = {"no", "n", "false", "0", "0.0"}


def _column(frame: pd.DataFrame, *names: str) -> str | None:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _flags(values: pd.Series, column: str, ids: np.ndarray, problems: list[Problem]) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower().fillna("")
    out = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(text.to_numpy(dtype=object)):
        if value in _YES:
            out[i] = True
        elif value not in _NO:
            problems.append(
                Problem(
                    f"subject {ids[i]!r}: {column} is {values.iloc[i]!r}; use 1/0 or Yes/No",
                    row=i + 1,
                    column=column,
                )
            )
    return out


def event_records(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate death or event records and return them in one layout.

    Parameters
    ----------
    frame : pandas.DataFrame
        Either the PRO-ACT DEATHDATA form, ``subject_id`` (or ``SubjectID``),
        ``Subject_Died`` (Yes/No) and ``Death_Days`` (days from trial time 0); or one row
        per event record with ``subject_id``, ``event_month`` (months from trial time 0)
        and ``event`` (1 = the event happened then, 0 = known free of it then), and
        optionally ``event_type`` (``"death"``, ``"tracheostomy"`` or ``"ventilation"``;
        default ``"death"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id, event_type, event_month, event`` (``event`` boolean). A
        DEATHDATA row with ``Subject_Died = "No"`` carries no time and gives no record.

    Raises
    ------
    InputError
        Listing every bad row by subject, row and column: missing columns, missing or
        negative times, flags other than 1/0 or Yes/No, unknown event types, a death
        without its day, a subject with two different death records.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.patients.survival import event_records
    >>> deaths = pd.DataFrame({"subject_id": ["A", "B"], "Subject_Died": ["Yes", "No"],
    ...                        "Death_Days": [304.375, None]})
    >>> event_records(deaths)
      subject_id event_type  event_month  event
    0          A      death         10.0   True
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(Problem(f"expected a pandas DataFrame, got {type(frame).__name__}"))
    subject_col = _column(frame, "subject_id", "SubjectID")
    died_col = _column(frame, "Subject_Died", "died")
    death_days_col = _column(frame, "Death_Days", "death_days")
    month_col = _column(frame, "event_month")
    event_col = _column(frame, "event")
    type_col = _column(frame, "event_type")
    problems: list[Problem] = []
    if subject_col is None:
        problems.append(Problem("event records: missing column 'subject_id'"))
    deathdata = month_col is None and died_col is not None
    if not deathdata and (month_col is None or event_col is None):
        problems.append(
            Problem(
                "event records need the columns 'event_month' and 'event' (optionally "
                "'event_type'), or the PRO-ACT DEATHDATA columns 'Subject_Died' and "
                f"'Death_Days'; found {', '.join(map(str, frame.columns))}"
            )
        )
    if deathdata and death_days_col is None:
        problems.append(Problem("event records: DEATHDATA without the column 'Death_Days'"))
    if problems:
        raise InputError(problems)
    ids_series = frame[str(subject_col)].astype("string").str.strip()
    ids_series = ids_series.str.replace(r"\.0$", "", regex=True)
    ids = ids_series.fillna("<missing>").to_numpy(dtype=object)
    for i in np.flatnonzero(ids_series.isna().to_numpy()):
        problems.append(Problem("subject id is missing", row=int(i) + 1, column=subject_col))
    if deathdata:
        happened = _flags(frame[str(died_col)], str(died_col), ids, problems)
        time_col = str(death_days_col)
        months = pd.to_numeric(frame[time_col], errors="coerce").to_numpy(float) / DAYS_PER_MONTH
        types = np.full(len(frame), "death", dtype=object)
        need_time = happened
    else:
        happened = _flags(frame[str(event_col)], str(event_col), ids, problems)
        time_col = str(month_col)
        months = pd.to_numeric(frame[time_col], errors="coerce").to_numpy(float)
        if type_col is None:
            types = np.full(len(frame), "death", dtype=object)
        else:
            raw = frame[type_col].astype("string").str.strip().str.lower().fillna("death")
            types = raw.to_numpy(dtype=object)
            for i in np.flatnonzero(~np.isin(types, EVENT_TYPES)):
                problems.append(
                    Problem(
                        f"subject {ids[i]!r}: event_type {types[i]!r} is not one of "
                        f"{', '.join(map(repr, EVENT_TYPES))}",
                        row=int(i) + 1,
                        column=type_col,
                    )
                )
        need_time = np.ones(len(frame), dtype=bool)
    for i in np.flatnonzero(need_time & ~np.isfinite(months)):
        problems.append(
            Problem(f"subject {ids[i]!r}: the time is missing", row=int(i) + 1, column=time_col)
        )
    with np.errstate(invalid="ignore"):
        negative = need_time & (months < 0)
    for i in np.flatnonzero(negative):
        problems.append(
            Problem(
                f"subject {ids[i]!r}: the time {months[i]:g} months is before trial time 0",
                row=int(i) + 1,
                column=time_col,
            )
        )
    out = pd.DataFrame(
        {
            "subject_id": pd.array(ids, dtype="string"),
            "event_type": pd.array(types, dtype="string"),
            "event_month": months,
            "event": happened,
        }
    )
    out = out[need_time].reset_index(drop=True)
    deaths = out[(out["event_type"] == "death") & out["event"]]
    counts = deaths.groupby("subject_id")["event_month"].nunique()
    for sid in counts.index[counts.to_numpy() > 1]:
        times = sorted(deaths.loc[deaths["subject_id"] == sid, "event_month"].unique())
        problems.append(
            Problem(
                f"subject {sid!r} has different death times: "
                + ", ".join(f"{t:g}" for t in times)
                + " months",
                column=time_col,
            )
        )
    if problems:
        raise InputError(problems)
    return out[list(_EVENT_RECORD_COLUMNS)]


def _subject_arms(vt: VisitTable) -> np.ndarray:
    arm = vt.subjects["arm"].astype("string")
    if arm.isna().all():
        return np.full(len(arm), "all", dtype=object)
    missing = vt.subjects["subject_id"][arm.isna()].tolist()
    if missing:
        raise InputError(
            [Problem(f"subject {sid!r}: the arm is missing", column="arm") for sid in missing]
        )
    return arm.to_numpy(dtype=object)


def endpoints(
    visits: VisitTable | pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    event: str = "death",
    follow_up_months: float | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    r"""Return each subject's time to the endpoint (months) and whether it was reached.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits; ``subjects`` gives the arm, the last visit and, without ``events``, the
        death (``died``, ``death_days``).
    events : DataFrame, optional
        Event records (see :func:`event_records`; validated here). When given they
        replace the deaths of the visit table.
    event : {"death", "composite"}, default "death"
        Count deaths only, or the first of death, tracheostomy and permanent ventilation.
    follow_up_months : float, optional
        Censor at this many months (administrative end of follow-up).

    Returns
    -------
    (pandas.DataFrame, tuple of str)
        One row per subject: ``subject_id, arm, time_months, event`` (0/1),
        ``event_type`` (the counted event reached first, ``<NA>`` if censored); and the
        notes.

    Notes
    -----
    time = the first counted event; a subject without one is censored at the last time
    known free of it: the later of the last visit and any record of the subject (an
    event record with ``event = 0``, or an uncounted event type, e.g. a tracheostomy when
    the endpoint is death). Subjects of the visits without any record are censored at
    their last visit.
    """
    vt = as_visit_table(visits)
    check_choice("event", event, EVENTS)
    notes: list[str] = []
    ids = vt.subjects["subject_id"].astype(str).to_numpy(dtype=object)
    arms = _subject_arms(vt)
    last = vt.subjects["last_visit_days"].to_numpy(dtype=float) / DAYS_PER_MONTH
    if events is None:
        died = vt.subjects["died"].to_numpy(dtype=bool)
        death_days = vt.subjects["death_days"].to_numpy(dtype=float)
        records = pd.DataFrame(
            {
                "subject_id": ids[died],
                "event_type": "death",
                "event_month": death_days[died] / DAYS_PER_MONTH,
                "event": True,
            }
        )
        bad = died & ~np.isfinite(death_days)
        if bad.any():
            raise InputError(
                [
                    Problem(f"subject {sid!r}: died without a death day", column="death_days")
                    for sid in ids[bad]
                ]
            )
        notes.append("deaths from the visit table (died, death_days)")
    else:
        records = event_records(events)
        unknown = sorted(set(records["subject_id"].astype(str)) - set(ids))
        if unknown:
            raise InputError(
                [Problem(f"subject {sid!r} of the event records has no visits") for sid in unknown]
            )
        notes.append(f"{len(records)} event record(s) given")
    counted = ("death",) if event == "death" else EVENT_TYPES
    if event == "composite" and not records["event_type"].isin(EVENT_TYPES[1:]).any():
        notes.append("no tracheostomy or ventilation records: the composite endpoint is death only")
    index = pd.Index(ids)
    code = index.get_indexer(records["subject_id"].astype(str))
    month = records["event_month"].to_numpy(dtype=float)
    is_event = (
        records["event"].to_numpy(dtype=bool) & records["event_type"].isin(counted).to_numpy()
    )
    n = len(ids)
    first = np.full(n, np.inf)
    np.minimum.at(first, code[is_event], month[is_event])
    known = last.copy()
    np.fmax.at(known, code, month)
    first_type = np.full(n, None, dtype=object)
    for type_name in reversed(counted):  # the earliest counted type; death wins ties
        hit = is_event & (records["event_type"] == type_name).to_numpy()
        match = np.zeros(n, dtype=bool)
        match[code[hit][month[hit] == first[code[hit]]]] = True
        first_type[match] = type_name
    reached = np.isfinite(first)
    death_first = reached & (first_type == "death")
    with np.errstate(invalid="ignore"):
        after = death_first & (last > first + 1e-9)
    if after.any():
        raise InputError(
            [
                Problem(
                    f"subject {ids[i]!r}: death at month {first[i]:g} is before the last visit "
                    f"at month {last[i]:g}",
                    column="event_month",
                )
                for i in np.flatnonzero(after)
            ]
        )
    time = np.where(reached, first, known)
    status = reached.astype(int)
    if follow_up_months is not None:
        if not (isinstance(follow_up_months, int | float) and follow_up_months > 0):
            raise InputError(Problem(f"follow_up_months={follow_up_months!r} must be > 0"))
        late = time > follow_up_months
        status[late] = 0
        first_type[late] = None
        time = np.minimum(time, follow_up_months)
        notes.append(f"censored at {follow_up_months:g} months")
    out = pd.DataFrame(
        {
            "subject_id": pd.array(ids, dtype="string"),
            "arm": pd.array(arms, dtype="string"),
            "time_months": time,
            "event": status,
            "event_type": pd.array(first_type, dtype="string"),
        }
    )
    return out, tuple(notes)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SurvivalResult:
    """Kaplan–Meier curves, log-rank test and Cox model of one endpoint.

    Attributes
    ----------
    endpoints : pandas.DataFrame
        Per subject: ``subject_id, arm, time_months, event, event_type``.
    km : pandas.DataFrame
        Per arm and distinct time (censoring times included, as R's ``survfit``):
        ``arm, time, n_risk, n_event, n_censor, survival, ci_lower, ci_upper``.
    at_risk : pandas.DataFrame
        The number-at-risk table: ``arm, time, n_risk, survival`` at ``risk_times``.
    logrank : dict
        ``statistic`` (chi-square), ``df``, ``p_value`` and per arm ``observed`` and
        ``expected`` events (R's ``survdiff``).
    cox : pandas.DataFrame
        One row per arm other than ``control``: ``term, estimate`` (log hazard ratio),
        ``se, statistic`` (Wald z), ``p_value, ci_lower, ci_upper`` (log scale),
        ``hazard_ratio, hazard_ratio_ci_lower, hazard_ratio_ci_upper``.
    loglik, loglik_null, lr_statistic, lr_df, lr_p_value : float
        Partial log-likelihoods and the likelihood-ratio test of the Cox model.
    event, control, arms, level, conf_type, follow_up_months : options and levels used.
    n_events : int
    notes : tuple of str
    """

    endpoints: pd.DataFrame
    km: pd.DataFrame
    at_risk: pd.DataFrame
    logrank: dict[str, Any]
    cox: pd.DataFrame
    loglik: float
    loglik_null: float
    lr_statistic: float
    lr_df: int
    lr_p_value: float
    event: str
    control: str
    arms: tuple[str, ...]
    level: float
    conf_type: str
    follow_up_months: float | None
    n_events: int
    visits: VisitTable
    notes: tuple[str, ...] = field(default=())

    def _two_arm(self, column: str) -> float:
        if len(self.cox) != 1:
            return float("nan")
        return float(self.cox[column].iloc[0])

    @property
    def log_hazard_ratio(self) -> float:
        """Log hazard ratio of the treated arm vs ``control`` (two arms; else ``nan``)."""
        return self._two_arm("estimate")

    @property
    def se(self) -> float:
        """Standard error of :attr:`log_hazard_ratio`."""
        return self._two_arm("se")

    @property
    def treatment(self) -> str | None:
        """The arm compared with ``control`` when there are two arms."""
        others = [a for a in self.arms if a != self.control]
        return others[0] if len(others) == 1 else None

    def to_frame(self) -> pd.DataFrame:
        """Return the Kaplan–Meier table (one row per arm and time)."""
        return self.km.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of every table and test."""
        return {
            "event": self.event,
            "control": self.control,
            "arms": list(self.arms),
            "level": self.level,
            "conf_type": self.conf_type,
            "follow_up_months": self.follow_up_months,
            "n_subjects": len(self.endpoints),
            "n_events": self.n_events,
            "logrank": {
                "statistic": _json(self.logrank["statistic"]),
                "df": self.logrank["df"],
                "p_value": _json(self.logrank["p_value"]),
                "by_arm": _records(self.logrank["by_arm"]),
            },
            "cox": _records(self.cox),
            "loglik": _json(self.loglik),
            "loglik_null": _json(self.loglik_null),
            "lr_statistic": _json(self.lr_statistic),
            "lr_df": self.lr_df,
            "lr_p_value": _json(self.lr_p_value),
            "at_risk": _records(self.at_risk),
            "km": _records(self.km),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Return a text summary laid out like R's ``survdiff`` and ``coxph`` prints."""
        what = "death" if self.event == "death" else "death, tracheostomy or ventilation"
        lines = [f"Survival: time to {what} (months)", ""]
        table = self.logrank["by_arm"].copy()
        lines.append(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        lines.append(
            f"\n Chisq= {self.logrank['statistic']:.4f}  on {self.logrank['df']} degrees of "
            f"freedom, p= {self.logrank['p_value']:.4g}"
        )
        if len(self.cox):
            lines.append("")
            lines.append(f"Cox model (Efron ties), control {self.control!r}:")
            shown = self.cox[
                ["term", "estimate", "hazard_ratio", "se", "statistic", "p_value",
                 "hazard_ratio_ci_lower", "hazard_ratio_ci_upper"]
            ].rename(
                columns={"estimate": "coef", "hazard_ratio": "exp(coef)", "se": "se(coef)",
                         "statistic": "z", "p_value": "p",
                         "hazard_ratio_ci_lower": f"lower .{round(self.level * 100)}",
                         "hazard_ratio_ci_upper": f"upper .{round(self.level * 100)}"}
            )  # fmt: skip
            lines.append(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
            lines.append(
                f"Likelihood ratio test= {self.lr_statistic:.4g}  on {self.lr_df} df, "
                f"p= {self.lr_p_value:.4g}; n= {len(self.endpoints)}, "
                f"number of events= {self.n_events}"
            )
        lines.append("")
        lines.append("Number at risk:")
        wide = self.at_risk.pivot(index="arm", columns="time", values="n_risk")
        wide.columns = [f"{c:g}" for c in wide.columns]
        lines.append(wide.to_string())
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _km_arm(time: np.ndarray, status: np.ndarray, level: float, conf_type: str) -> pd.DataFrame:
    from lifelines import KaplanMeierFitter

    fit = KaplanMeierFitter(alpha=1 - level).fit(time, status)
    table = fit.event_table
    table = table[(table["removed"] > 0)]
    times = table.index.to_numpy(dtype=float)
    surv = fit.survival_function_.iloc[:, 0].reindex(times).to_numpy(dtype=float)
    n_risk = table["at_risk"].to_numpy(dtype=float)
    n_event = table["observed"].to_numpy(dtype=float)
    z = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood: var(log S) = sum d / (n (n - d)); nan once everyone has had the event.
        green = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        if conf_type == "log-log":
            ci = fit.confidence_interval_.reindex(times).to_numpy(dtype=float)
            lower, upper = ci[:, 0], ci[:, 1]
        else:
            half = z * np.sqrt(green)
            lower = surv * np.exp(-half)
            upper = np.minimum(surv * np.exp(half), 1.0)
    undefined = ~np.isfinite(green) | (surv <= 0)
    if conf_type == "log-log":
        undefined |= green == 0  # log(-log 1) is -inf: R gives NA, lifelines 1
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": table["censored"].to_numpy(dtype=int),
            "survival": surv,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )


def _logrank(time: np.ndarray, status: np.ndarray, group: np.ndarray, k: int) -> dict[str, Any]:
    """Observed and expected events per group and the k - 1 df log-rank chi-square."""
    event_times = np.unique(time[status == 1])
    order = np.sort(time)
    n_all = time.size - np.searchsorted(order, event_times, side="left")
    d_all = np.array([np.sum((time == t) & (status == 1)) for t in event_times], dtype=float)
    n_g = np.empty((k, event_times.size))
    d_g = np.empty((k, event_times.size))
    for g in range(k):
        tg = np.sort(time[group == g])
        n_g[g] = tg.size - np.searchsorted(tg, event_times, side="left")
        eg = np.sort(time[(group == g) & (status == 1)])
        d_g[g] = np.searchsorted(eg, event_times, side="right") - np.searchsorted(
            eg, event_times, side="left"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = n_g / n_all
        expected = (d_all * frac).sum(axis=1)
        # Hypergeometric covariance of survdiff (rho = 0).
        scale = np.where(n_all > 1, d_all * (n_all - d_all) / (n_all - 1), 0.0)
        cov = -np.einsum("t,it,jt->ij", scale, frac, frac)
        cov[np.diag_indices(k)] += (scale * frac).sum(axis=1)
    observed = d_g.sum(axis=1)
    diff = (observed - expected)[:-1]
    try:
        statistic = float(diff @ np.linalg.solve(cov[:-1, :-1], diff))
    except np.linalg.LinAlgError:
        statistic = float("nan")
    df = k - 1
    return {
        "statistic": statistic,
        "df": df,
        "p_value": float(stats.chi2.sf(statistic, df)) if df > 0 else float("nan"),
        "observed": observed,
        "expected": expected,
    }


def survival(
    visits: VisitTable | pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    event: str = "death",
    control: str | None = None,
    level: float = 0.95,
    conf_type: str = "log-log",
    follow_up_months: float | None = None,
    risk_times: Any = None,
) -> SurvivalResult:
    r"""Compare survival between arms: Kaplan–Meier, log-rank test and Cox hazard ratio.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits with ``arm``; without ``events``, deaths come from its ``died`` and
        ``death_days`` (the PRO-ACT DEATHDATA form as read by ``read_proact``).
    events : DataFrame, optional
        Death or event records, see :func:`event_records`.
    event : {"death", "composite"}, default "death"
        The endpoint: death, or the first of death, tracheostomy and permanent assisted
        ventilation.
    control : str, optional
        Reference arm of the Cox model. Default ``"Placebo"`` when present, else the
        first arm in sorted order.
    level : float, default 0.95
        Confidence level of the Kaplan–Meier and hazard-ratio intervals.
    conf_type : {"log-log", "log"}, default "log-log"
        Kaplan–Meier interval: lifelines' default (exponential Greenwood, R's
        ``conf.type="log-log"``) or R's default ``"log"``.
    follow_up_months : float, optional
        Censor at this many months.
    risk_times : sequence of float, optional
        Times (months) of the number-at-risk table; default every 3 months up to the
        longest follow-up.

    Returns
    -------
    SurvivalResult

    Raises
    ------
    InputError
        Bad options or records (see :func:`event_records` and :func:`endpoints`),
        subjects without an arm.

    Warns
    -----
    UserWarning
        When there are no events (the tests and the Cox model are ``nan``), an arm has
        no events (the hazard ratio is infinite: the Cox model is ``nan``), or the Cox
        fit did not converge.

    Notes
    -----
    Kaplan–Meier: :math:`\hat S(t) = \prod_{t_i \le t} (1 - d_i / n_i)`, Greenwood
    :math:`\widehat{\mathrm{var}}(\log \hat S) = \sum_{t_i \le t} d_i / (n_i (n_i - d_i))`;
    "log-log" interval :math:`\hat S^{\exp(\pm z\, \sigma / \log \hat S)}`, "log" interval
    :math:`\hat S e^{\pm z \sigma}` (upper end capped at 1, as R).
    Log-rank: :math:`(O - E)^\top V^{-1} (O - E)` on :math:`k - 1` df with
    :math:`E_g = \sum_i d_i n_{gi} / n_i` and the hypergeometric covariance :math:`V`.
    Cox: :math:`h(t) = h_0(t) \exp(\beta^\top x)`, ``x`` the treatment-arm indicators,
    Efron's approximation for tied event times, Wald z and interval
    :math:`\hat\beta \pm z\, \mathrm{se}`.

    The numbers match R's survival package::

        survfit(Surv(time_months, event) ~ arm, conf.type = "log-log")
        survdiff(Surv(time_months, event) ~ arm)
        coxph(Surv(time_months, event) ~ relevel(factor(arm), control), ties = "efron")

    (``tests/test_survival_reference.py``, ``validation/r/survival_fixtures.R``).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.survival import survival
    >>> cohort = synth_cohort(200, rng=np.random.default_rng(7), effect=0.3)
    >>> res = survival(cohort)
    >>> res.control, res.treatment
    ('Placebo', 'Active')
    >>> bool(res.log_hazard_ratio < 0)
    True
    """
    vt = as_visit_table(visits)
    check_choice("conf_type", conf_type, CONF_TYPES)
    level = check_level(level)
    table, notes_tuple = endpoints(vt, events, event=event, follow_up_months=follow_up_months)
    notes = list(notes_tuple)
    arms = tuple(sorted(table["arm"].astype(str).unique()))
    if control is None:
        control = "Placebo" if "Placebo" in arms else arms[0]
    elif control not in arms:
        raise InputError(
            Problem(f"control={control!r} is not an arm; the arms are {', '.join(map(repr, arms))}")
        )
    ordered = (control, *[a for a in arms if a != control])
    time = table["time_months"].to_numpy(dtype=float)
    status = table["event"].to_numpy(dtype=int)
    group = pd.Index(ordered).get_indexer(table["arm"].astype(str))
    n_events = int(status.sum())

    km_parts = []
    for g, arm in enumerate(ordered):
        part = _km_arm(time[group == g], status[group == g], level, conf_type)
        part.insert(0, "arm", arm)
        km_parts.append(part)
    km = pd.concat(km_parts, ignore_index=True)
    if risk_times is None:
        top = float(time.max()) if time.size else 0.0
        grid = np.arange(0.0, top + 1e-9, 3.0)
    else:
        grid = np.asarray(risk_times, dtype=float)
    rows = []
    for g, arm in enumerate(ordered):
        arm_km = km[km["arm"] == arm]
        tg = time[group == g]
        for t in grid:
            before = arm_km[arm_km["time"] <= t]
            rows.append(
                {
                    "arm": arm,
                    "time": float(t),
                    "n_risk": int(np.sum(tg >= t)),
                    "survival": float(before["survival"].iloc[-1]) if len(before) else 1.0,
                }
            )
    at_risk = pd.DataFrame(rows, columns=["arm", "time", "n_risk", "survival"])

    k = len(ordered)
    nan = float("nan")
    cox_columns = [
        "term", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper",
        "hazard_ratio", "hazard_ratio_ci_lower", "hazard_ratio_ci_upper",
    ]  # fmt: skip
    cox = pd.DataFrame(columns=cox_columns)
    loglik = loglik_null = lr_statistic = lr_p_value = nan
    if n_events == 0:
        msg = "no events: the log-rank test and the Cox model cannot be computed"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
        logrank: dict[str, Any] = {"statistic": nan, "df": k - 1, "p_value": nan,
                   "observed": np.zeros(k), "expected": np.zeros(k)}  # fmt: skip
    else:
        logrank = _logrank(time, status, group, k)
    no_events = [arm for g, arm in enumerate(ordered) if logrank["observed"][g] == 0]
    if k < 2:
        notes.append("one arm: Kaplan–Meier only")
    elif n_events > 0 and no_events:
        # Monotone likelihood: the coefficient runs to infinity (R warns that it "may be
        # infinite" and reports a huge value); report nan instead.
        msg = (
            f"no events in arm(s) {', '.join(map(repr, no_events))}: the hazard ratio is not "
            "estimable (monotone likelihood); the Cox model is not fitted"
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    elif n_events > 0:
        cox, loglik, loglik_null, lr_statistic, lr_p_value = _cox(
            time, status, group, ordered, level, notes
        )
    by_arm = pd.DataFrame(
        {
            "arm": list(ordered),
            "n": np.bincount(group, minlength=k),
            "observed": logrank["observed"],
            "expected": logrank["expected"],
        }
    )
    logrank["by_arm"] = by_arm
    return SurvivalResult(
        endpoints=table,
        km=km,
        at_risk=at_risk,
        logrank=logrank,
        cox=cox,
        loglik=loglik,
        loglik_null=loglik_null,
        lr_statistic=lr_statistic,
        lr_df=k - 1,
        lr_p_value=lr_p_value,
        event=event,
        control=control,
        arms=ordered,
        level=level,
        conf_type=conf_type,
        follow_up_months=follow_up_months,
        n_events=n_events,
        visits=vt,
        notes=tuple(notes),
    )


def _cox(
    time: np.ndarray,
    status: np.ndarray,
    group: np.ndarray,
    ordered: tuple[str, ...],
    level: float,
    notes: list[str],
) -> tuple[pd.DataFrame, float, float, float, float]:
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError as LifelinesConvergenceError

    data = pd.DataFrame({"time": time, "event": status})
    terms = []
    for g, arm in enumerate(ordered[1:], start=1):
        name = f"x{g}"
        data[name] = (group == g).astype(float)
        terms.append((name, arm))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = CoxPHFitter(alpha=1 - level).fit(
                data,
                "time",
                "event",
                # Full Newton steps (lifelines damps them to 0.95 by default, which stops
                # ~1e-8 short of the optimum); R's coxph takes full steps too.
                fit_options={
                    "precision": 1e-13,
                    "r_precision": 0.0,
                    "step_size": 1.0,
                    "max_steps": 200,
                },
            )
    except LifelinesConvergenceError as exc:
        msg = f"the Cox model did not converge ({str(exc).splitlines()[0]})"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)
        nan = float("nan")
        return pd.DataFrame(), nan, nan, nan, nan
    for w in caught:
        text = str(w.message).strip().splitlines()[0]
        notes.append(f"lifelines: {text}")
        warnings.warn(f"lifelines: {text}", UserWarning, stacklevel=3)
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for name, arm in terms:
        beta = float(fit.params_[name])
        se = float(fit.standard_errors_[name])
        stat = beta / se
        rows.append(
            {
                "term": f"{arm} vs {ordered[0]}",
                "estimate": beta,
                "se": se,
                "statistic": stat,
                "p_value": float(2 * stats.norm.sf(abs(stat))),
                "ci_lower": beta - z * se,
                "ci_upper": beta + z * se,
                "hazard_ratio": math.exp(beta),
                "hazard_ratio_ci_lower": math.exp(beta - z * se),
                "hazard_ratio_ci_upper": math.exp(beta + z * se),
            }
        )
    lr = fit.log_likelihood_ratio_test()
    loglik = float(fit.log_likelihood_)
    lr_statistic = float(lr.test_statistic)
    return (
        pd.DataFrame(rows),
        loglik,
        loglik - lr_statistic / 2,
        lr_statistic,
        float(lr.p_value),
    )
