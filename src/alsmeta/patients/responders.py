"""Responder analysis of lead-in designs: a parameterised rule with published presets.

Let s_pre be the ALSFRS-R slope in the lead-in (pre-treatment) period and s_post the
slope after treatment, both in points/month and negative for decline. Then
Δs = s_post - s_pre and percent improvement = Δs / |s_pre| * 100; a patient responds if
Δs >= c (points/month) or percent >= p (research file section 4.4 and Appendix C).

Presets (:data:`PRESETS`):

========================  =====================================================
``nurown_ph2``            Δs >= 1.5 points/month (Berry JD et al., Neurology
                          2019;93:e2294, NCT02017912)
``nurown_ph3``            Δs >= 1.25 points/month, assessed at 28 weeks
                          (Cudkowicz ME et al., Muscle Nerve 2022;65:291,
                          NCT03280056)
``domain_nurown_ph2``     Δs >= 0.375 points/month (25 % of 1.5) in each of the
                          bulbar, fine motor, gross motor and respiratory domains
                          (AAN 2018 abstract, https://www.acemap.info/paper/75553139)
``pct50``, ``pct75``,     percent improvement >= 50, 75, 100 % (Oh KW et al.,
``pct100``                Ann Neurol 2018;84:361, Table 3, NCT01363401)
========================  =====================================================

How the NurOwn trials computed s_pre and s_post, and how they counted deaths and
dropouts, was not found (research file section 4.4 and Appendix D item 5); the presets
use OLS slopes and count a death or dropout as a non-responder, the common convention.
Every one of these choices is a parameter of :class:`ResponderRule`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.alsfrs import DOMAINS, domain_scores
from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.patients.slopes import _json, _records, ols_by, treatment_days
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, as_visit_table

__all__ = [
    "HANDLING",
    "PRESETS",
    "ResponderResult",
    "ResponderRule",
    "responders",
]

HANDLING: tuple[str, ...] = ("non_responder", "exclude", "locf", "observed")
"""Ways to count a patient who died or dropped out before the landmark."""

_DOMAIN_NAMES: tuple[str, ...] = tuple(DOMAINS)
_TOL = 1e-9  # slopes from integer scores at a threshold must count as reaching it


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponderRule:
    """A responder definition for a lead-in design.

    Attributes
    ----------
    name : str
    measure : {"absolute", "percent"}
        Compare Δs = s_post - s_pre (points/month) or Δs / |s_pre| * 100 (%).
    threshold : float
        Responder if the measure is >= threshold.
    domains : bool, default False
        Apply the rule to each four-domain subscore (bulbar, fine motor, gross motor,
        respiratory) instead of the total.
    domain_combine : {"all", "any"}, default "all"
        With ``domains``: responder if every domain (``"all"``, the reading of "in each
        of") or at least one domain responds. Per-domain results are always reported.
    pre_slope : {"ols", "two_point", "delta_fs"}, default "ols"
        s_pre: OLS over the lead-in visits, first-to-last two-point slope, or
        -ΔFS = -(48 - total at treatment) / months from onset (total only).
    post_slope : {"ols", "two_point"}, default "ols"
        s_post over the visits from treatment to the landmark.
    post_months : float or None
        Landmark in months after treatment; ``None`` = the last visit of the study.
    death, dropout : {"non_responder", "exclude", "locf", "observed"}
        How to count a patient who died, or stopped coming, before the landmark:
        a non-responder; left out; last total carried forward to the landmark; or
        judged on the visits observed.
    min_visits : int, default 2
        Minimum visits for each slope (a LOCF row counts).
    source : str
        Citation.
    """

    name: str
    measure: str
    threshold: float
    domains: bool = False
    domain_combine: str = "all"
    pre_slope: str = "ols"
    post_slope: str = "ols"
    post_months: float | None = None
    death: str = "non_responder"
    dropout: str = "non_responder"
    min_visits: int = 2
    source: str = ""

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for name, valid in (
            ("measure", ("absolute", "percent")),
            ("domain_combine", ("all", "any")),
            ("pre_slope", ("ols", "two_point", "delta_fs")),
            ("post_slope", ("ols", "two_point")),
            ("death", HANDLING),
            ("dropout", HANDLING),
        ):
            try:
                check_choice(name, getattr(self, name), valid)
            except InputError as exc:
                problems += exc.problems
        if not isinstance(self.threshold, int | float) or not math.isfinite(self.threshold):
            problems.append(Problem(f"threshold={self.threshold!r} must be a finite number"))
        if self.post_months is not None and not self.post_months > 0:
            problems.append(Problem(f"post_months={self.post_months!r} must be > 0 or None"))
        if not isinstance(self.min_visits, int) or self.min_visits < 2:
            problems.append(Problem(f"min_visits={self.min_visits!r} must be an integer >= 2"))
        if self.domains and self.pre_slope == "delta_fs":
            problems.append(Problem("pre_slope='delta_fs' is defined for the total only"))
        if problems:
            raise InputError(problems)

    def replace(self, **changes: Any) -> ResponderRule:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """Return the rule in one line."""
        unit = " points/month" if self.measure == "absolute" else " %"
        what = "slope change" if self.measure == "absolute" else "percent slope improvement"
        scope = f" in {self.domain_combine} four domains" if self.domains else ""
        landmark = (
            "to the last visit" if self.post_months is None else f"to {self.post_months:g} months"
        )
        return (
            f"{self.name}: {what} >= {self.threshold:g}{unit}{scope}; s_pre {self.pre_slope}, "
            f"s_post {self.post_slope} {landmark}; death {self.death}, dropout {self.dropout}"
        )


_WEEKS_28 = 28 * 7 / DAYS_PER_MONTH
PRESETS: dict[str, ResponderRule] = {
    "nurown_ph2": ResponderRule(
        name="nurown_ph2", measure="absolute", threshold=1.5,
        source="Berry JD et al. Neurology 2019;93:e2294 (NCT02017912)",
    ),
    "nurown_ph3": ResponderRule(
        name="nurown_ph3", measure="absolute", threshold=1.25, post_months=_WEEKS_28,
        source="Cudkowicz ME et al. Muscle Nerve 2022;65:291 (NCT03280056), PMC9305113",
    ),
    "domain_nurown_ph2": ResponderRule(
        name="domain_nurown_ph2", measure="absolute", threshold=0.375, domains=True,
        source="NurOwn phase 2, AAN 2018 abstract https://www.acemap.info/paper/75553139",
    ),
    "pct50": ResponderRule(
        name="pct50", measure="percent", threshold=50.0,
        source="Oh KW et al. Ann Neurol 2018;84:361, Table 3 (NCT01363401)",
    ),
    "pct75": ResponderRule(
        name="pct75", measure="percent", threshold=75.0,
        source="Oh KW et al. Ann Neurol 2018;84:361, Table 3 (NCT01363401)",
    ),
    "pct100": ResponderRule(
        name="pct100", measure="percent", threshold=100.0,
        source="Oh KW et al. Ann Neurol 2018;84:361, Table 3 (NCT01363401)",
    ),
}  # fmt: skip
"""The published responder definitions of research file section 4.4."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ResponderResult:
    """Responder status per patient and the proportion of responders per arm.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject: ``subject_id, arm, outcome`` (completed / died /
        dropout), ``n_pre, n_post, pre_change`` (total change over the lead-in),
        ``slope_pre, slope_post, change, percent_change`` (total), the per-domain
        ``change_<domain>`` and ``responder_<domain>`` (``<NA>`` unless the rule uses
        domains), ``responder`` (``<NA>`` when not counted) and ``status``.
    by_arm : pandas.DataFrame
        ``arm, n, n_counted, n_responders, proportion`` (responders / counted), with a
        last row ``arm = "all"``.
    rule : ResponderRule
    notes : tuple of str
    """

    table: pd.DataFrame
    by_arm: pd.DataFrame
    rule: ResponderRule
    visits: VisitTable
    treatment_day: float | None
    landmark_months: float
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-subject table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: the rule, the per-arm counts, notes and subjects."""
        return {
            "rule": dataclasses.asdict(self.rule),
            "landmark_months": _json(self.landmark_months),
            "by_arm": _records(self.by_arm),
            "notes": list(self.notes),
            "subjects": _records(self.table),
        }

    def summary(self) -> str:
        """Return a text summary: the rule and the responders per arm."""
        lines = ["Responder analysis", self.rule.describe()]
        if self.rule.source:
            lines.append(f"source: {self.rule.source}")
        lines.append(f"landmark: {self.landmark_months:.2f} months after treatment")
        frame = self.by_arm.copy()
        lines.append(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _slope(
    method: str, codes: np.ndarray, t: np.ndarray, y: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Slopes ``(n_groups, m)`` and counts; rows sorted by (code, t)."""
    n = np.bincount(codes, minlength=n_groups)
    if method == "ols":
        out = np.column_stack([ols_by(codes, t, y[:, j], n_groups)["slope"]
                               for j in range(y.shape[1])])  # fmt: skip
        return out, n
    out = np.full((n_groups, y.shape[1]), np.nan)
    if codes.size:
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])
        span = t[ends] - t[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (y[ends] - y[starts]) / span[:, None]
        slope[span <= 0] = np.nan
        out[codes[starts]] = slope
    return out, n


def responders(
    visits: VisitTable | pd.DataFrame,
    rule: str | ResponderRule = "nurown_ph3",
    *,
    treatment_day: float | Mapping[str, float] | pd.Series = 0.0,
    pre_months: float | None = None,
    visit_window_days: float = 14.0,
    **changes: Any,
) -> ResponderResult:
    """Classify each patient as responder or not under a lead-in responder rule.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        Visits before and after treatment; ``subjects`` gives deaths.
    rule : str or ResponderRule, default "nurown_ph3"
        A key of :data:`PRESETS` or a rule.
    treatment_day : float or mapping subject_id -> day, default 0
        Day of first treatment; the visit on that day ends the lead-in and starts the
        follow-up.
    pre_months : float, optional
        Use only lead-in visits within this many months before treatment.
    visit_window_days : float, default 14
        A patient whose last visit is within this many days of the landmark completed
        follow-up; otherwise, if alive at the landmark, the patient dropped out. Visits
        up to this many days after the landmark count as landmark visits.
    **changes
        Fields of :class:`ResponderRule` to override (``threshold=``, ``death=``,
        ``dropout=``, ``post_months=``, ...).

    Returns
    -------
    ResponderResult

    Raises
    ------
    InputError
        For an unknown preset or invalid rule fields.

    Notes
    -----
    Δs = s_post - s_pre; percent = Δs / |s_pre| * 100 (``nan`` when s_pre = 0, and such
    a patient is not counted). A measure counts as reaching the threshold when it is
    within 1e-9 of it, so a patient exactly at the threshold responds. Outcome: *died*
    if the death day is on or before the landmark, *dropout* if alive and the last
    visit is earlier than the landmark minus ``visit_window_days``, else *completed*.
    ``locf`` carries the last observed total (and domain scores) to the landmark
    before fitting s_post; it flattens the slope and so favours response.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS
    >>> from alsmeta.patients import responders
    >>> rows = []
    >>> for day, walking, stairs in [(-91, 4, 4), (0, 2, 2), (91, 2, 2), (182, 1, 2)]:
    ...     visit = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    ...     visit.update(walking=walking, stairs=stairs)
    ...     rows.append({"subject_id": "A", "days": day, **visit})
    >>> res = responders(pd.DataFrame(rows), "nurown_ph2")
    >>> res.table[["slope_pre", "slope_post", "change", "responder"]].round(3)
       slope_pre  slope_post  change  responder
    0     -1.338      -0.167   1.171      False
    """
    vt = as_visit_table(visits)
    chosen = resolve_rule(rule, changes)
    if pre_months is not None and not pre_months > 0:
        raise InputError(Problem(f"pre_months={pre_months!r} must be > 0"))

    table = vt.table
    subjects = vt.subjects
    ids = subjects["subject_id"]
    n_groups = len(ids)
    codes = pd.Index(ids).get_indexer(table["subject_id"])
    start = treatment_days(vt, treatment_day)
    rel = (table["days"].to_numpy(dtype=float) - start[codes]) / DAYS_PER_MONTH
    window = visit_window_days / DAYS_PER_MONTH
    total = table["total"].to_numpy(dtype=float)
    domains = domain_scores(table, domains="four")[list(_DOMAIN_NAMES)].to_numpy(dtype=float)
    values = np.column_stack([total, domains])  # column 0 total, 1..4 domains

    # Landmark and outcome.
    post_rows = rel >= -_TOL
    if chosen.post_months is not None:
        landmark = float(chosen.post_months)
    else:
        landmark = float(rel[post_rows].max()) if post_rows.any() else 0.0
    last_rel = np.full(n_groups, np.nan)
    np.fmax.at(last_rel, codes, rel)
    death_rel = (subjects["death_days"].to_numpy(dtype=float) - start) / DAYS_PER_MONTH
    died = subjects["died"].to_numpy(dtype=bool) & (death_rel <= landmark + _TOL)
    completed = ~died & (last_rel >= landmark - window - _TOL)
    outcome = np.where(died, "died", np.where(completed, "completed", "dropout"))
    handling = np.where(died, chosen.death, np.where(completed, "observed", chosen.dropout))

    # Lead-in slope.
    pre_mask = rel <= _TOL
    if pre_months is not None:
        pre_mask &= rel >= -pre_months - _TOL
    pre_codes, pre_t, pre_y = codes[pre_mask], rel[pre_mask], values[pre_mask]
    pre_n = np.bincount(pre_codes, minlength=n_groups)
    pre_first = np.full((n_groups, values.shape[1]), np.nan)
    pre_last = np.full((n_groups, values.shape[1]), np.nan)
    pre_last_t = np.full(n_groups, np.nan)  # months (from start) of the last lead-in visit
    if pre_codes.size:
        s_idx = np.flatnonzero(np.r_[True, pre_codes[1:] != pre_codes[:-1]])
        e_idx = np.flatnonzero(np.r_[pre_codes[1:] != pre_codes[:-1], True])
        pre_first[pre_codes[s_idx]] = pre_y[s_idx]
        pre_last[pre_codes[e_idx]] = pre_y[e_idx]
        pre_last_t[pre_codes[e_idx]] = pre_t[e_idx]
    if chosen.pre_slope == "delta_fs":
        # Delta FS = (48 - total) / months from onset *to the visit that gave the total*
        # (research file section 2.1), not to the treatment start.
        onset = subjects["onset_days"].to_numpy(dtype=float)
        months_onset = (start - onset) / DAYS_PER_MONTH + pre_last_t
        with np.errstate(invalid="ignore", divide="ignore"):
            s_pre_total = -(48.0 - pre_last[:, 0]) / months_onset
        s_pre_total[~(months_onset > 0)] = np.nan
        s_pre = np.full_like(pre_last, np.nan)
        s_pre[:, 0] = s_pre_total
        pre_ok = np.isfinite(s_pre_total) & (pre_n >= 1)
    else:
        s_pre, _ = _slope(chosen.pre_slope, pre_codes, pre_t, pre_y, n_groups)
        pre_ok = pre_n >= chosen.min_visits

    # Follow-up slope, with LOCF rows where asked.
    post_mask = post_rows & (rel <= landmark + window + _TOL)
    p_codes, p_t, p_y = codes[post_mask], rel[post_mask], values[post_mask]
    locf = (handling == "locf") & (outcome != "completed")
    if locf.any() and p_codes.size:
        e_idx = np.flatnonzero(np.r_[p_codes[1:] != p_codes[:-1], True])
        last_code = p_codes[e_idx]
        add = locf[last_code] & (p_t[e_idx] < landmark - _TOL)
        p_codes = np.concatenate([p_codes, last_code[add]])
        p_t = np.concatenate([p_t, np.full(int(add.sum()), landmark)])
        p_y = np.concatenate([p_y, p_y[e_idx[add]]])
        order = np.lexsort((p_t, p_codes))
        p_codes, p_t, p_y = p_codes[order], p_t[order], p_y[order]
    s_post, post_n = _slope(chosen.post_slope, p_codes, p_t, p_y, n_groups)
    post_ok = post_n >= chosen.min_visits

    change = s_post - s_pre
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(s_pre != 0, change / np.abs(s_pre) * 100.0, np.nan)
    measure = change if chosen.measure == "absolute" else percent
    meets = measure >= chosen.threshold - _TOL
    finite = np.isfinite(measure)
    if chosen.domains:
        dom_meets = meets[:, 1:]
        dom_finite = finite[:, 1:].all(axis=1)
        overall = dom_meets.all(axis=1) if chosen.domain_combine == "all" else dom_meets.any(axis=1)
        computable = dom_finite
    else:
        overall = meets[:, 0]
        computable = finite[:, 0]

    status = np.full(n_groups, "", dtype=object)
    responder = pd.array([pd.NA] * n_groups, dtype="boolean")
    counted_value = np.zeros(n_groups, dtype=bool)
    non_resp = (outcome != "completed") & (handling == "non_responder")
    excluded = (outcome != "completed") & (handling == "exclude")
    evaluated = ~non_resp & ~excluded
    short_pre = evaluated & ~pre_ok
    short_post = evaluated & pre_ok & ~post_ok
    undefined = evaluated & pre_ok & post_ok & ~computable
    judged = evaluated & pre_ok & post_ok & computable
    status[non_resp] = np.char.add("non-responder: ", outcome[non_resp].astype(str))
    status[excluded] = np.char.add("excluded: ", outcome[excluded].astype(str))
    status[short_pre] = "not counted: too few lead-in visits"
    status[short_post] = "not counted: too few follow-up visits"
    status[undefined] = (
        "not counted: lead-in slope is 0 (percent undefined)"
        if chosen.measure == "percent"
        else "not counted: slope not computable"
    )
    status[judged & overall] = "responder"
    status[judged & ~overall] = "non-responder"
    counted_value[non_resp | judged] = True
    values_out = np.where(non_resp, False, overall)
    responder[counted_value] = values_out[counted_value]

    out = pd.DataFrame(
        {
            "subject_id": ids.to_numpy(),
            "arm": subjects["arm"].to_numpy(),
            "outcome": outcome,
            "n_pre": pre_n,
            "n_post": post_n,
            "pre_change": pre_last[:, 0] - pre_first[:, 0],
            "slope_pre": s_pre[:, 0],
            "slope_post": s_post[:, 0],
            "change": change[:, 0],
            "percent_change": percent[:, 0],
        }
    )
    for j, name in enumerate(_DOMAIN_NAMES, start=1):
        value = change if chosen.measure == "absolute" else percent
        out[f"change_{name}"] = value[:, j] if chosen.domains else np.nan
        flags = pd.array([pd.NA] * n_groups, dtype="boolean")
        if chosen.domains:
            ok = judged & finite[:, j]
            flags[ok] = meets[ok, j]
        out[f"responder_{name}"] = flags
    out["responder"] = responder
    out["status"] = status

    notes: list[str] = list(vt.notes)
    for label, mask in (
        ("not counted (too few visits or slope undefined)", short_pre | short_post | undefined),
        ("excluded (died or dropped out)", excluded),
    ):
        if mask.any():
            msg = f"{int(mask.sum())} subject(s) {label}"
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=2)
    if chosen.domains:
        notes.append(
            f"per-domain threshold {chosen.threshold:g}; overall responder needs "
            f"{chosen.domain_combine} four domains"
        )

    arms = out["arm"].astype("string").fillna("<none>")
    rows = []
    for arm in [*sorted(arms.unique()), "all"]:
        mask = np.ones(n_groups, dtype=bool) if arm == "all" else (arms == arm).to_numpy()
        counted = int(counted_value[mask].sum())
        n_resp = int(np.sum(responder[mask].fillna(False).to_numpy(dtype=bool)))
        rows.append(
            {
                "arm": arm,
                "n": int(mask.sum()),
                "n_counted": counted,
                "n_responders": n_resp,
                "proportion": n_resp / counted if counted else float("nan"),
            }
        )
    by_arm = pd.DataFrame(rows)
    scalar_day = float(start[0]) if n_groups and np.all(start == start[0]) else None
    return ResponderResult(
        table=out,
        by_arm=by_arm,
        rule=chosen,
        visits=vt,
        treatment_day=scalar_day,
        landmark_months=landmark,
        notes=tuple(notes),
    )


def resolve_rule(rule: str | ResponderRule, changes: dict[str, Any]) -> ResponderRule:
    """A preset name or a :class:`ResponderRule`, with ``changes`` applied to its fields.

    Raises
    ------
    InputError
        An unknown preset, something that is not a rule, or an unknown field in ``changes``.
    """
    if isinstance(rule, str):
        if rule not in PRESETS:
            check_choice("rule", rule, tuple(PRESETS))
        chosen = PRESETS[rule]
    elif isinstance(rule, ResponderRule):
        chosen = rule
    else:
        raise InputError(Problem(f"rule must be a preset name or a ResponderRule, not {rule!r}"))
    if changes:
        try:
            chosen = chosen.replace(**changes)
        except TypeError:
            valid = [f.name for f in dataclasses.fields(ResponderRule)]
            unknown = [k for k in changes if k not in valid]
            raise InputError(
                Problem(f"unknown rule option(s) {unknown}; use {', '.join(valid)}")
            ) from None
    return chosen
