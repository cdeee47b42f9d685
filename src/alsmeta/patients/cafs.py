r"""CAFS: the Combined Assessment of Function and Survival (Berry et al. 2013).

Every patient is compared with every other patient: first on survival within the follow-up
window (the one who died earlier is worse; a survivor beats a death), then, for pairs alive
at the end, on the change in the ALSFRS-R total from baseline (the smaller decline wins).
A patient's score is the number of pairwise wins minus losses; the scores are ranked over
all patients together and each arm is summarised by its mean rank (higher = better); the
arms are compared by the Wilcoxon–Mann–Whitney test (research file section 4.1, 4.5 and
Appendix C).

The comparison is O(n^2) pairs, but no pair is visited in Python: without dropouts (and
with the LOCF rule) the pairwise rule is a total pre-order, so each score is the number of
patients ranked strictly below minus strictly above, from one sort; with the
ranking-at-withdrawal rule only the pairs that involve a dropout depend on the pair, and
they are computed with numpy broadcasting in blocks of dropouts.

References
----------
Berry JD, Miller R, Moore DH, et al. The Combined Assessment of Function and Survival
(CAFS): a new endpoint for ALS clinical trials. Amyotroph Lateral Scler Frontotemporal
Degener 2013;14:162-168. doi:10.3109/21678421.2013.781206
Cudkowicz ME et al. (EMPOWER) Lancet Neurol 2013;12:1059-1067.
doi:10.1016/S1474-4422(13)70221-7 (CAFS at 12 months; analysis population).
ALS/SURV (withdrawals ranked at withdrawal): ALS FTD 2019,
doi:10.1080/21678421.2019.1643375.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.patients.slopes import _json, _records
from alsmeta.patients.survival import endpoints
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, as_visit_table

__all__ = ["DROPOUT_RULES", "CafsResult", "cafs", "cafs_scores"]

DROPOUT_RULES: tuple[str, ...] = ("locf", "rank-at-withdrawal")
"""How a patient alive but not followed to the end of the window is compared."""

_BLOCK_CELLS = 4_000_000  # pairs per broadcast block (~32 MB of float64)


def cafs_scores(
    died: np.ndarray,
    death_time: np.ndarray,
    change: np.ndarray,
    *,
    horizon: np.ndarray | None = None,
    value_at: Any = None,
) -> np.ndarray:
    r"""Sum of pairwise CAFS wins minus losses per patient (the array kernel).

    Parameters
    ----------
    died : (n,) bool array
        Died within the window.
    death_time : (n,) float array
        Time of death (any unit; only its order matters); ignored where ``died`` is
        false.
    change : (n,) float array
        Change in ALSFRS-R total from baseline to the end of the window (used for pairs
        where neither died).
    horizon : (n,) float array, optional
        Last time each patient is known about: ``inf`` for patients followed to the end
        of the window or dead within it, the withdrawal time for dropouts. A pair is
        compared at ``min(horizon_i, horizon_j)``. Default: all ``inf`` (the plain rule).
    value_at : callable, optional
        ``value_at(index, time)`` -> change from baseline of patients ``index`` at
        ``time`` (broadcast arrays); needed when ``horizon`` has finite values.

    Returns
    -------
    (n,) float array
        Score_i = sum over j != i of w(i, j), w in {+1, 0, -1}.

    Notes
    -----
    At the comparison time H: if both died by H, the later death wins (same time: tie);
    if one died by H, the other wins; otherwise the larger change from baseline at H
    wins (equal: tie). With ``horizon`` all ``inf`` this is a total pre-order with key
    (alive, change) for survivors above (dead, death time) for deaths, so
    score_i = #{j: key_j < key_i} - #{j: key_j > key_i}, from one sort (O(n log n)).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients.cafs import cafs_scores
    >>> cafs_scores(np.array([True, True, False, False]), np.array([2.0, 5.0, 0, 0]),
    ...             np.array([0.0, 0.0, -3.0, -1.0])).tolist()
    [-3.0, -1.0, 1.0, 3.0]
    """
    died = np.asarray(died, dtype=bool)
    n = died.size
    hor = np.full(n, np.inf) if horizon is None else np.asarray(horizon, dtype=float)
    full = ~np.isfinite(hor)
    score = np.zeros(n)
    idx = np.flatnonzero(full)
    score[idx] = _sorted_scores(died[idx], np.asarray(death_time, float)[idx],
                                np.asarray(change, float)[idx])  # fmt: skip
    drop = np.flatnonzero(~full)
    if drop.size:
        if value_at is None:
            raise ValueError("value_at is needed when some horizons are finite")
        death_time = np.asarray(death_time, dtype=float)
        everyone = np.arange(n)
        rows = max(1, _BLOCK_CELLS // max(n, 1))
        for start in range(0, drop.size, rows):
            k = drop[start : start + rows]
            h = np.minimum(hor[k][:, None], hor[None, :])  # (b, n) comparison times
            dead_j = died[None, :] & (death_time[None, :] <= h)
            with np.errstate(invalid="ignore"):
                diff = value_at(k[:, None], h) - value_at(everyone[None, :], h)
            w = np.where(dead_j, 1.0, np.sign(diff))  # a dropout is alive at its horizon
            w[np.arange(k.size), k] = 0.0
            score[k] += w.sum(axis=1)
            # Pairs of a dropout with a patient followed to the end are counted once here;
            # pairs of two dropouts are counted in each dropout's own row.
            score[idx] -= w[:, idx].sum(axis=0)
    return score


def _sorted_scores(died: np.ndarray, death_time: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Wins minus losses under the total pre-order (survivors by change above deaths)."""
    if died.size == 0:
        return np.zeros(0)
    key = np.empty(died.size, dtype=np.int64)
    _, dead_rank = np.unique(death_time[died], return_inverse=True)
    _, alive_rank = np.unique(change[~died], return_inverse=True)
    n_dead_levels = int(dead_rank.max()) + 1 if dead_rank.size else 0
    key[died] = dead_rank
    key[~died] = n_dead_levels + alive_rank
    ordered = np.sort(key)
    below = np.searchsorted(ordered, key, side="left")
    above = key.size - np.searchsorted(ordered, key, side="right")
    return (below - above).astype(float)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CafsResult:
    """CAFS score and rank per patient, mean rank per arm, and the rank test.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per subject: ``subject_id, arm, status`` (``died``, ``completed``,
        ``dropout`` or ``excluded``), ``death_month`` (within the window, else ``nan``),
        ``horizon_month`` (comparison horizon of a dropout under
        ``"rank-at-withdrawal"``, else ``nan``), ``baseline_total, last_total,
        last_month, change`` (last total - baseline total), ``score`` (wins - losses),
        ``rank`` (average ranks, 1 = worst; ``nan`` if excluded).
    by_arm : pandas.DataFrame
        ``arm, n, n_died, n_dropout, mean_score, mean_rank``.
    statistic : float
        Mann–Whitney U of ``treatment`` (R's ``wilcox.test`` W with the treated arm
        first).
    p_value : float
        Two-sided, normal approximation with tie and continuity correction.
    win_probability : float
        U / (n_treatment n_control): probability that a treated patient ranks above a
        control patient, ties counted one half.
    window_months, visit_window_days, dropout, control, treatment : options used.
    notes : tuple of str
        The definition and assumptions, then what was excluded.
    """

    table: pd.DataFrame
    by_arm: pd.DataFrame
    statistic: float
    p_value: float
    win_probability: float
    window_months: float
    visit_window_days: float
    dropout: str
    control: str | None
    treatment: str | None
    visits: VisitTable
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-subject table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: options, the test, per-arm means, notes, subjects."""
        return {
            "window_months": self.window_months,
            "visit_window_days": self.visit_window_days,
            "dropout": self.dropout,
            "control": self.control,
            "treatment": self.treatment,
            "n_subjects": int((self.table["status"] != "excluded").sum()),
            "n_excluded": int((self.table["status"] == "excluded").sum()),
            "statistic": _json(self.statistic),
            "p_value": _json(self.p_value),
            "win_probability": _json(self.win_probability),
            "by_arm": _records(self.by_arm),
            "notes": list(self.notes),
            "subjects": _records(self.table),
        }

    def summary(self) -> str:
        """Return a text summary: mean rank per arm and the Wilcoxon–Mann–Whitney test."""
        lines = [
            f"CAFS (Combined Assessment of Function and Survival), window "
            f"{self.window_months:g} months, dropouts: {self.dropout}",
            self.by_arm.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
        ]
        if self.treatment is not None:
            lines.append(
                f"\nWilcoxon rank sum test ({self.treatment} vs {self.control}, normal "
                f"approximation with continuity correction)\nW = {self.statistic:g}, "
                f"p-value = {self.p_value:.4g}; P({self.treatment} ranks higher) = "
                f"{self.win_probability:.4f}"
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def cafs(
    visits: VisitTable | pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    window_months: float = 12.0,
    dropout: str = "locf",
    visit_window_days: float = 14.0,
    control: str | None = None,
) -> CafsResult:
    r"""Rank patients by the Combined Assessment of Function and Survival.

    Parameters
    ----------
    visits : VisitTable or DataFrame
        ALSFRS-R visits with ``arm``; deaths from ``died``/``death_days`` unless
        ``events`` is given.
    events : DataFrame, optional
        Death records (:func:`alsmeta.patients.survival.event_records`: the PRO-ACT
        DEATHDATA form or ``subject_id, event_month, event``). Only deaths count.
    window_months : float, default 12
        Follow-up window T (EMPOWER: 12 months).
    dropout : {"locf", "rank-at-withdrawal"}, default "locf"
        A patient alive at the end of follow-up but without a visit near T: ``"locf"``
        carries the last ALSFRS-R forward to T and counts the patient alive at T;
        ``"rank-at-withdrawal"`` (ALS/SURV) compares the patient with every other at the
        withdrawal time (last visit), on survival up to then and on the ALSFRS-R change
        observed then (the other patient's last visit on or before that day).
    visit_window_days : float, default 14
        A visit up to this many days after T counts as the visit at T, and a patient
        alive whose last visit is at least T minus this many days completed follow-up.
    control : str, optional
        Control arm of the rank test; default ``"Placebo"`` when present, else the first
        arm in sorted order. The test needs exactly two arms.

    Returns
    -------
    CafsResult

    Raises
    ------
    InputError
        Bad options or death records; a subject without a visit on or before trial time
        0 (no baseline), without an arm, or with a death before a visit.

    Warns
    -----
    UserWarning
        When subjects are excluded (no post-baseline visit and alive), or the test
        cannot be computed.

    Notes
    -----
    Baseline is the last visit on or before trial time 0. Visits after
    T + ``visit_window_days`` are not used. A death within the window is one at or
    before T. The analysis population (EMPOWER): at least one post-baseline ALSFRS-R
    visit, or death within the window.

    Pairwise rule for patients i, j compared at time H (T; with
    ``"rank-at-withdrawal"`` H = the earlier withdrawal time of the two):

    1. both died by H: the later death wins, the same day is a tie;
    2. one died by H: the survivor wins;
    3. neither: the larger change in ALSFRS-R total from baseline (last visit on or
       before H; at T the visit at T) wins, equal change is a tie.

    score_i = :math:`\sum_{j \ne i} w(i, j)` with w = +1 / 0 / -1; CAFS_i = rank of
    score_i among all patients (average ranks for ties); arm estimate = mean rank.
    Test: ``scipy.stats.mannwhitneyu(score_treated, score_control,
    method="asymptotic", use_continuity=True)``, which equals R's
    ``wilcox.test(score_treated, score_control, exact = FALSE, correct = TRUE)``.
    The reference (``validation/r/survival_fixtures.R``) is the literal O(n^2) double
    loop in R.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.cafs import cafs
    >>> cohort = synth_cohort(150, rng=np.random.default_rng(3), effect=0.5)
    >>> res = cafs(cohort)
    >>> res.by_arm[["arm", "n"]].to_dict("list")
    {'arm': ['Placebo', 'Active'], 'n': [69, 79]}
    >>> bool(res.by_arm["mean_rank"].iloc[1] > res.by_arm["mean_rank"].iloc[0])
    True
    """
    vt = as_visit_table(visits)
    check_choice("dropout", dropout, DROPOUT_RULES)
    problems = []
    for name, value, low in (("window_months", window_months, 0.0),
                             ("visit_window_days", visit_window_days, -1e-300)):  # fmt: skip
        if not (isinstance(value, int | float) and np.isfinite(value) and value > low):
            problems.append(Problem(f"{name}={value!r} must be a positive number"))
    if problems:
        raise InputError(problems)
    window_months = float(window_months)
    visit_window_days = float(visit_window_days)
    t_days = window_months * DAYS_PER_MONTH
    tol = visit_window_days

    ends, end_notes = endpoints(vt, events, event="death")
    ids = vt.subjects["subject_id"].astype(str).to_numpy(dtype=object)
    n = ids.size
    arms = ends["arm"].astype(str).to_numpy(dtype=object)
    # Days are rounded to 1e-6 so that a death recorded in months compares exactly with
    # visit days (months * 30.4375 does not round-trip).
    death_days = np.where(
        ends["event"].to_numpy() == 1,
        np.round(ends["time_months"].to_numpy(float) * DAYS_PER_MONTH, 6),
        np.inf,
    )
    died = death_days <= t_days + 1e-9

    table = vt.table
    code_all = pd.Index(ids).get_indexer(table["subject_id"].astype(str))
    days_all = np.round(table["days"].to_numpy(dtype=float), 6)
    total_all = table["total"].to_numpy(dtype=float)
    use = np.isfinite(total_all)
    notes = [
        "CAFS (Berry 2013): every pair compared on survival within the window (later death "
        "wins, a survivor beats a death, the same death day ties), then on the change in "
        "ALSFRS-R total from baseline for pairs alive (smaller decline wins, equal ties); "
        "score = wins - losses, ranked over all patients (average ranks), mean rank per "
        "arm, higher is better",
        f"window {window_months:g} months; baseline = last visit on or before day 0; a visit "
        f"up to {visit_window_days:g} days after the window end counts as the end visit",
        "dropouts (alive, last visit more than "
        f"{visit_window_days:g} days before the window end): "
        + (
            "last observation carried forward to the window end, counted alive then"
            if dropout == "locf"
            else "ranked at withdrawal: compared with each patient at the earlier of the two "
            "withdrawal times, on deaths by then and on the ALSFRS-R change then (ALS/SURV)"
        ),
        "analysis population: a post-baseline ALSFRS-R visit or death within the window (EMPOWER)",
        *end_notes,
    ]
    if (~use).any():
        notes.append(f"{int((~use).sum())} visit(s) without a total left out")
    # Visits from baseline to the end of the window, sorted by subject and day.
    baseline_day = np.full(n, -np.inf)
    before = use & (days_all <= 1e-9)
    np.maximum.at(baseline_day, code_all[before], days_all[before])
    no_base = ~np.isfinite(baseline_day)
    if no_base.any():
        raise InputError(
            [
                Problem(
                    f"subject {sid!r}: no visit on or before trial time 0 (baseline)",
                    column="days",
                )
                for sid in ids[no_base]
            ]
        )
    keep = use & (days_all >= baseline_day[code_all] - 1e-9) & (days_all <= t_days + tol + 1e-9)
    code, days, total = code_all[keep], days_all[keep], total_all[keep]
    order = np.lexsort((days, code))
    code, days, total = code[order], days[order], total[order]
    starts = np.r_[True, code[1:] != code[:-1]]
    ends_mask = np.r_[code[1:] != code[:-1], True]
    base_total = np.full(n, np.nan)
    base_total[code[starts]] = total[starts]
    last_total = np.full(n, np.nan)
    last_day = np.full(n, np.nan)
    last_total[code[ends_mask]] = total[ends_mask]
    last_day[code[ends_mask]] = days[ends_mask]

    dropped = ~died & (last_day < t_days - tol - 1e-9)
    included = died | (last_day > baseline_day + 1e-9)
    change = last_total - base_total
    status = np.where(died, "died", np.where(dropped, "dropout", "completed")).astype(object)
    status[~included] = "excluded"

    inc = np.flatnonzero(included)
    horizon = np.full(n, np.inf)
    if dropout == "rank-at-withdrawal":
        horizon[dropped] = last_day[dropped]
    # Change from baseline at day h (last visit on or before h) of subjects i.
    span = float(days.max() - days.min()) + 2.0 if days.size else 1.0
    keys = code * span + (days - (days.min() if days.size else 0.0))
    base_day_min = days.min() if days.size else 0.0

    def value_at(i: np.ndarray, h: np.ndarray) -> np.ndarray:
        i_b, h_b = np.broadcast_arrays(i, h)
        finite = np.isfinite(h_b)
        query = i_b * span + np.where(finite, h_b - base_day_min, span - 1.0)
        pos = np.searchsorted(keys, query + 1e-9 * span, side="right") - 1
        return total[pos] - base_total[i_b]

    sub = inc  # subjects in the analysis

    def value_local(i: np.ndarray, h: np.ndarray) -> np.ndarray:
        return value_at(sub[i], h)

    score_inc = cafs_scores(
        died[sub],
        death_days[sub],
        change[sub],
        horizon=horizon[sub],
        value_at=value_local,
    )
    score = np.full(n, np.nan)
    score[sub] = score_inc
    rank = np.full(n, np.nan)
    rank[sub] = stats.rankdata(score_inc, method="average")

    excluded = ids[~included]
    if excluded.size:
        msg = (
            f"{excluded.size} subject(s) excluded (alive with no post-baseline visit): "
            + ", ".join(map(str, excluded[:20]))
            + (" ..." if excluded.size > 20 else "")
        )
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)

    arm_levels = sorted(set(arms[sub].tolist()))
    if control is None:
        control = "Placebo" if "Placebo" in arm_levels else (arm_levels[0] if arm_levels else None)
    elif control not in arm_levels:
        raise InputError(
            Problem(
                f"control={control!r} is not an arm; the arms are "
                + ", ".join(map(repr, arm_levels))
            )
        )
    ordered = [control, *[a for a in arm_levels if a != control]] if control else []
    nan = float("nan")
    statistic = p_value = win = nan
    treatment = None
    if len(ordered) == 2:
        treatment = ordered[1]
        s_t = score[sub][arms[sub] == treatment]
        s_c = score[sub][arms[sub] == control]
        if s_t.size and s_c.size:
            test = stats.mannwhitneyu(
                s_t, s_c, alternative="two-sided", use_continuity=True, method="asymptotic"
            )
            statistic = float(test.statistic)
            p_value = float(test.pvalue)
            win = statistic / (s_t.size * s_c.size)
    else:
        msg = f"the rank test needs two arms; there are {len(ordered)}"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    rows = []
    for arm in ordered:
        m = included & (arms == arm)
        rows.append(
            {
                "arm": arm,
                "n": int(m.sum()),
                "n_died": int((m & died).sum()),
                "n_dropout": int((m & dropped).sum()),
                "mean_score": float(score[m].mean()),
                "mean_rank": float(rank[m].mean()),
            }
        )
    by_arm = pd.DataFrame(
        rows, columns=["arm", "n", "n_died", "n_dropout", "mean_score", "mean_rank"]
    )
    out = pd.DataFrame(
        {
            "subject_id": pd.array(ids, dtype="string"),
            "arm": pd.array(arms, dtype="string"),
            "status": status,
            "death_month": np.where(died, death_days / DAYS_PER_MONTH, np.nan),
            "horizon_month": np.where(np.isfinite(horizon), horizon / DAYS_PER_MONTH, np.nan),
            "baseline_total": base_total,
            "last_total": last_total,
            "last_month": last_day / DAYS_PER_MONTH,
            "change": change,
            "score": score,
            "rank": rank,
        }
    )
    return CafsResult(
        table=out,
        by_arm=by_arm,
        statistic=statistic,
        p_value=p_value,
        win_probability=win,
        window_months=window_months,
        visit_window_days=visit_window_days,
        dropout=dropout,
        control=control,
        treatment=treatment,
        visits=vt,
        notes=tuple(notes),
    )
