"""ANCOVA, responder, CAFS and lead-in endpoints for a whole batch of simulated trials.

Each function takes a :class:`~alsmeta.simulate.TrialBatch` and returns an
:class:`~alsmeta.simulate.analysis.EndpointBatch` whose every replicate is what the
single-trial analysis of :mod:`alsmeta.patients` gives for ``batch.visits(r)`` (and
``batch.subjects(r)`` for deaths), with trial time 0 as the day of first treatment:

============  ==============================================  ==========================
endpoint      single-trial analysis                           test
============  ==============================================  ==========================
ancova        :func:`alsmeta.patients.mixed.ancova`           t test of the arm, n - 3 df
responders    :func:`alsmeta.patients.responders`             Fisher's exact, two-sided
cafs          :func:`alsmeta.patients.cafs.cafs`              Mann-Whitney, asymptotic
lead-in       :func:`alsmeta.patients.slopes.lead_in`         paired t test
============  ==============================================  ==========================

The per-patient work is numpy on the ``(R, n, V)`` arrays of the batch. Only the tests
whose p-value is not a closed form loop: Fisher's exact test once per distinct 2 x 2
table, and the Mann-Whitney test once per distinct pair of arm sizes (usually one call).
A replicate that cannot be analysed (too few contributing patients) gets ``nan``
estimate, statistic and p-value, where the single-trial function raises or reports
``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.patients.cafs import DROPOUT_RULES
from alsmeta.patients.mixed import _check_window
from alsmeta.patients.responders import ResponderRule, resolve_rule
from alsmeta.patients.slopes import _check_rules
from alsmeta.patients.visits import DAYS_PER_MONTH
from alsmeta.simulate.analysis import EndpointBatch
from alsmeta.simulate.trials import TrialBatch

__all__ = [
    "ENDPOINT_FUNCTIONS",
    "ancova_endpoint",
    "cafs_endpoint",
    "lead_in_endpoint",
    "responder_endpoint",
]

_TOL = 1e-9  # the boundary tolerance of the single-trial functions
_PAIR_CELLS = 2_000_000  # dropout-patient pairs per block in the CAFS comparison


# --------------------------------------------------------------------------- helpers ----
def _nan(reps: int) -> np.ndarray:
    return np.full(reps, np.nan)


def _result(
    endpoint: str,
    estimate: np.ndarray,
    statistic: np.ndarray,
    p_value: np.ndarray,
    favours: np.ndarray,
    n_analysed: np.ndarray,
    description: str,
) -> EndpointBatch:
    arrays = [np.asarray(a, dtype=float) for a in (estimate, statistic, p_value)]
    extra = [np.asarray(favours, dtype=bool), np.asarray(n_analysed, dtype=np.int64)]
    for array in (*arrays, *extra):
        array.setflags(write=False)
    return EndpointBatch(
        endpoint=endpoint,
        estimate=arrays[0],
        statistic=arrays[1],
        p_value=arrays[2],
        favours_treatment=extra[0],
        n_analysed=extra[1],
        description=description,
    )


def _need_two_arms(batch: TrialBatch, endpoint: str, what: str) -> None:
    if batch.design.n_control == 0:
        raise InputError(
            Problem(
                f"endpoint {endpoint!r} compares {what} between two arms; design "
                f"{batch.design.design!r} has no control arm (use endpoint 'lead-in' for a "
                "within-patient pre vs post comparison)"
            )
        )


def _masked_ols(
    t: np.ndarray, y: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slope, count, first and last time of ``y`` on ``t`` over ``mask``, along the last axis.

    The centred sums and the flat-time rule of :func:`alsmeta.patients.slopes.ols_by`.
    """
    t = np.broadcast_to(t, mask.shape)
    w = mask.astype(float)
    n = w.sum(axis=-1)
    tw = np.where(mask, t, 0.0)
    yw = np.where(mask, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = tw.sum(axis=-1) / n
        y_mean = yw.sum(axis=-1) / n
        dt = np.where(mask, t - t_mean[..., None], 0.0)
        dy = np.where(mask, y - y_mean[..., None], 0.0)
        stt = (dt * dt).sum(axis=-1)
        sty = (dt * dy).sum(axis=-1)
        flat = stt <= 1e-12 * np.maximum(1.0, (tw * tw).sum(axis=-1))
        slope = np.where(flat, np.nan, sty / stt)
    t_first = np.where(mask, t, np.inf).min(axis=-1)
    t_last = np.where(mask, t, -np.inf).max(axis=-1)
    none = n == 0
    t_first[none] = np.nan
    t_last[none] = np.nan
    return slope, n.astype(np.int64), t_first, t_last


def _two_point(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-to-last slope over ``mask`` (``t`` increasing along the last axis) and count."""
    t = np.broadcast_to(t, mask.shape)
    n = mask.sum(axis=-1)
    size = mask.shape[-1]
    first = np.argmax(mask, axis=-1)[..., None]
    last = (size - 1 - np.argmax(mask[..., ::-1], axis=-1))[..., None]
    span = (np.take_along_axis(t, last, -1) - np.take_along_axis(t, first, -1))[..., 0]
    rise = (np.take_along_axis(y, last, -1) - np.take_along_axis(y, first, -1))[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where((n > 0) & (span > 0), rise / span, np.nan)
    return slope, n


def _last_index(mask: np.ndarray) -> np.ndarray:
    """Index of the last true entry along the last axis (0 where none)."""
    return mask.shape[-1] - 1 - np.argmax(mask[..., ::-1], axis=-1)


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]


# --------------------------------------------------------------------------- ANCOVA -----
def _nearest(batch: TrialBatch, month: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Total at each patient's visit nearest to ``month`` within +-``window`` (ties earlier).

    The rule of ``alsmeta.patients.mixed._nearest``; ``nan`` where no visit is in the window.
    """
    dist = np.abs(batch.months - month)
    candidates = np.flatnonzero(dist <= window + _TOL)
    reps, n = batch.observed.shape[:2]
    if candidates.size == 0:
        return np.full((reps, n), np.nan), np.zeros((reps, n), dtype=bool)
    order = candidates[np.lexsort((batch.months[candidates], dist[candidates]))]
    seen = batch.observed[..., order]
    has = np.asarray(seen.any(axis=-1))
    pick = order[np.argmax(seen, axis=-1)]
    value = np.where(has, _take(batch.total, pick), np.nan)
    return value, has


def ancova_endpoint(
    batch: TrialBatch, *, month: float | None = None, window: float = 0.5
) -> EndpointBatch:
    """Change from baseline to month T adjusted for baseline, every replicate at once.

    Parameters
    ----------
    batch : TrialBatch
        A two-arm design (``"parallel"`` or ``"lead-in-randomised"``).
    month : float, optional
        The landmark T in months after randomisation; default the last scheduled visit.
    window : float, default 0.5
        Baseline is the visit nearest to month 0 and the follow-up the visit nearest to
        month T, each within +-``window`` months (ties: the earlier visit).

    Returns
    -------
    EndpointBatch
        ``estimate``: the arm coefficient (treated - control, points; favours treatment
        when > 0); ``statistic``: its t; ``n_analysed``: contributing patients.

    Raises
    ------
    InputError
        For a single-arm design, or ``month``/``window`` that
        :func:`~alsmeta.patients.mixed.ancova` refuses.

    Notes
    -----
    Mirrors ``alsmeta.patients.mixed.ancova(batch.visits(r), month=T, control="Placebo",
    window=window)``: OLS of :math:`\\Delta_i = y_i(T) - y_i(0)` on
    :math:`[1, y_i(0), a_i]` (R's ``lm(change ~ baseline + arm)``), solved from the 3 x 3
    normal equations of every replicate at once; t test of the arm coefficient with
    df = n - 3. Patients without a visit in the window at T (deaths, dropouts) do not
    contribute. A replicate with fewer than 2 contributing patients in an arm (where
    ``ancova`` raises) or a singular design gets ``nan``.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.simulate import TreatmentEffect, TrialDesign, simulate_trials
    >>> from alsmeta.simulate import D50Progression
    >>> from alsmeta.simulate._endpoints import ancova_endpoint
    >>> batch = simulate_trials(TrialDesign(n_per_arm=30), D50Progression(),
    ...                         TreatmentEffect(mean=0.3, scale="percent"), 4,
    ...                         rng=np.random.default_rng(2))
    >>> ancova_endpoint(batch).estimate.shape
    (4,)
    """
    _need_two_arms(batch, "ancova", "the change from baseline")
    target = float(batch.months[-1]) if month is None else month
    problems = _check_window(target, window)
    if problems:
        raise InputError(problems)
    target = float(target)
    base, has_base = _nearest(batch, 0.0, window)
    fup, has_fup = _nearest(batch, target, window)
    ok = has_base & has_fup
    arm = batch.arm.astype(float)
    w = ok.astype(float)
    x = np.stack([w, np.where(ok, base, 0.0), w * arm], axis=-1)  # (R, n, 3)
    y = np.where(ok, fup - base, 0.0)
    n_ok = ok.sum(axis=1)
    n_treated = (ok & (batch.arm == 1)).sum(axis=1)
    valid = (np.minimum(n_ok - n_treated, n_treated) >= 2) & (n_ok >= 4)
    xtx = np.einsum("rni,rnj->rij", x, x)
    xty = np.einsum("rni,rn->ri", x, y)
    # A singular replicate (e.g. every baseline equal) is nan, where ``ancova`` would fail.
    with np.errstate(invalid="ignore", divide="ignore"):
        valid &= np.abs(np.linalg.det(np.where(valid[:, None, None], xtx, np.eye(3)))) > 0
    reps = batch.reps
    estimate, se, dof = _nan(reps), _nan(reps), _nan(reps)
    if valid.any():
        inv = np.linalg.inv(xtx[valid])
        beta = np.einsum("rij,rj->ri", inv, xty[valid])
        resid = y[valid] - np.einsum("rni,ri->rn", x[valid], beta)
        df = (n_ok[valid] - 3).astype(float)
        sse = np.einsum("rn,rn->r", resid, resid)
        estimate[valid] = beta[:, 2]
        se[valid] = np.sqrt(inv[:, 2, 2] * sse / df)
        dof[valid] = df
    with np.errstate(invalid="ignore", divide="ignore"):
        statistic = estimate / se
        p_value = 2 * stats.t.sf(np.abs(statistic), dof)
    return _result(
        "ancova",
        estimate,
        statistic,
        p_value,
        estimate > 0,
        n_ok,
        f"change from baseline to month {target:g} (+-{window:g}), "
        "lm(change ~ baseline + arm), t test with n - 3 df",
    )


# --------------------------------------------------------------------------- responders --
def _classify(
    batch: TrialBatch,
    rule: ResponderRule,
    pre_months: float | None,
    visit_window_days: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(counted, responder)`` per patient, ``(R, n)`` bool, as ``responders()`` decides."""
    months = batch.months
    obs = batch.observed
    y = batch.total
    reps = obs.shape[0]
    window = visit_window_days / DAYS_PER_MONTH

    post_rows = months >= -_TOL
    if rule.post_months is not None:
        landmark = np.full(reps, float(rule.post_months))
    else:
        seen_post = obs & post_rows
        landmark = np.where(seen_post, months, -np.inf).max(axis=(1, 2))
        landmark = np.where(seen_post.any(axis=(1, 2)), landmark, 0.0)
    lm = landmark[:, None]
    last_rel = np.where(obs, months, -np.inf).max(axis=-1)
    died = batch.died & (batch.death_months <= lm + _TOL)
    completed = ~died & (last_rel >= lm - window - _TOL)
    handling = np.where(died, rule.death, np.where(completed, "observed", rule.dropout))

    pre_mask = obs & (months <= _TOL)
    if pre_months is not None:
        pre_mask &= months >= -pre_months - _TOL
    if rule.pre_slope == "ols":
        s_pre, pre_n, _, _ = _masked_ols(months, y, pre_mask)
    else:
        s_pre, pre_n = _two_point(months, y, pre_mask)
    pre_ok = pre_n >= rule.min_visits

    post_mask = obs & post_rows & (months <= lm[..., None] + window + _TOL)
    last = _last_index(post_mask)
    last_t = months[last]
    add = (handling == "locf") & ~completed & (last_t < lm - _TOL)
    t_ext = np.concatenate(
        [np.broadcast_to(months, (reps, 1, months.size)), landmark[:, None, None]], axis=-1
    )
    y_ext = np.concatenate([y, _take(y, last)[..., None]], axis=-1)
    mask_ext = np.concatenate([post_mask, add[..., None]], axis=-1)
    if rule.post_slope == "ols":
        s_post, post_n, _, _ = _masked_ols(t_ext, y_ext, mask_ext)
    else:
        s_post, post_n = _two_point(t_ext, y_ext, mask_ext)
    post_ok = post_n >= rule.min_visits

    change = s_post - s_pre
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(s_pre != 0, change / np.abs(s_pre) * 100.0, np.nan)
    measure = change if rule.measure == "absolute" else percent
    with np.errstate(invalid="ignore"):
        meets = measure >= rule.threshold - _TOL
    computable = np.isfinite(measure)

    non_resp = ~completed & (handling == "non_responder")
    excluded = ~completed & (handling == "exclude")
    evaluated = ~non_resp & ~excluded
    judged = evaluated & pre_ok & post_ok & computable
    return non_resp | judged, judged & meets


def _log_odds_ratio(table: np.ndarray) -> np.ndarray:
    """Log odds ratio of ``(..., 2, 2)`` tables, +0.5 in every cell of a table with a 0."""
    t = table.astype(float)
    t = t + 0.5 * (t == 0).any(axis=(-2, -1))[..., None, None]
    return np.log(t[..., 0, 0] * t[..., 1, 1] / (t[..., 0, 1] * t[..., 1, 0]))


def responder_endpoint(
    batch: TrialBatch,
    *,
    rule: str | ResponderRule = "nurown_ph3",
    pre_months: float | None = None,
    visit_window_days: float = 14.0,
    **changes: Any,
) -> EndpointBatch:
    """Responders per arm under a lead-in responder rule, Fisher's exact test.

    Parameters
    ----------
    batch : TrialBatch
        A ``"lead-in-randomised"`` design.
    rule : str or ResponderRule, default "nurown_ph3"
        A key of :data:`alsmeta.patients.responders.PRESETS` or a rule on the total
        (``domains=False``; ``pre_slope`` ``"ols"`` or ``"two_point"``).
    pre_months : float, optional
        Use only lead-in visits within this many months before treatment.
    visit_window_days : float, default 14
        As :func:`alsmeta.patients.responders`: the landmark window that tells a
        completer from a dropout.
    **changes
        Fields of :class:`~alsmeta.patients.ResponderRule` to override.

    Returns
    -------
    EndpointBatch
        ``estimate``: log odds ratio of response, treated vs control, with 0.5 added to
        every cell of a table that has an empty cell (favours treatment when > 0);
        ``statistic``: the number of treated responders, the cell whose hypergeometric
        distribution (given the margins) Fisher's test refers to; ``p_value``:
        two-sided Fisher's exact test; ``n_analysed``: patients the rule counts.

    Raises
    ------
    InputError
        For a design without a lead-in (a responder rule compares each patient's
        lead-in and post-treatment slopes) or without a control arm, and for rules that
        need data a simulated trial does not have (``domains=True``: item scores;
        ``pre_slope="delta_fs"``: onset); as ``responders`` for bad rule options.

    Notes
    -----
    Classifies every patient as ``alsmeta.patients.responders(visits, rule,
    treatment_day=0, pre_months=pre_months, visit_window_days=visit_window_days,
    **changes)`` does, then compares arms by ``scipy.stats.fisher_exact`` (two-sided)
    on the table responders / non-responders x treated / control among the patients
    the rule counts (a death or dropout counted as a non-responder is counted; an
    excluded one, or one with too few visits, is not). A replicate with no counted
    patient in an arm gets ``nan``. Fisher's test runs once per distinct table.
    """
    chosen = resolve_rule(rule, changes)
    design = batch.design.design
    if design == "parallel":
        raise InputError(
            Problem(
                "endpoint 'responders' needs a lead-in design: a responder rule compares "
                "each patient's lead-in and post-treatment slopes, and design 'parallel' "
                "has no lead-in; use design='lead-in-randomised'"
            )
        )
    _need_two_arms(batch, "responders", "the proportion of responders")
    problems = []
    if chosen.domains:
        problems.append(
            Problem(
                f"rule {chosen.name!r} has domains=True: simulated trials have ALSFRS-R "
                "totals only, not domain scores; use a rule on the total (domains=False)"
            )
        )
    if chosen.pre_slope == "delta_fs":
        problems.append(
            Problem(
                "pre_slope='delta_fs' needs symptom onset, which simulated trials do not "
                "record; use pre_slope='ols' or 'two_point'"
            )
        )
    if pre_months is not None and not pre_months > 0:
        problems.append(Problem(f"pre_months={pre_months!r} must be > 0"))
    if not (
        isinstance(visit_window_days, int | float)
        and math.isfinite(visit_window_days)
        and visit_window_days >= 0
    ):
        problems.append(Problem(f"visit_window_days={visit_window_days!r} must be >= 0"))
    if problems:
        raise InputError(problems)

    counted, responder = _classify(batch, chosen, pre_months, float(visit_window_days))
    treated = batch.arm == 1
    table = np.empty((batch.reps, 2, 2), dtype=np.int64)
    for row, in_arm in enumerate((treated, ~treated)):
        table[:, row, 0] = (responder & in_arm).sum(axis=1)
        table[:, row, 1] = (counted & ~responder & in_arm).sum(axis=1)
    valid = table.sum(axis=2).min(axis=1) > 0
    p_value = _nan(batch.reps)
    unique, inverse = np.unique(table.reshape(batch.reps, 4), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, cells in enumerate(unique):
        rows = np.flatnonzero((inverse == k) & valid)
        if rows.size:
            res = stats.fisher_exact(cells.reshape(2, 2), alternative="two-sided")
            p_value[rows] = float(res.pvalue)
    statistic = np.where(valid, table[:, 0, 0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(valid, _log_odds_ratio(table), np.nan)
    return _result(
        "responders",
        estimate,
        statistic,
        p_value,
        estimate > 0,
        counted.sum(axis=1),
        f"responders ({chosen.describe()}), treated vs control, log odds ratio, "
        "Fisher's exact test",
    )


# --------------------------------------------------------------------------- CAFS -------
def _sorted_scores(alive: np.ndarray, value: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Wins minus losses among ``member`` patients under the key (alive, value), per row.

    ``alsmeta.patients.cafs._sorted_scores`` for every replicate at once: one lexsort per
    row; a patient's score is the number of members with a smaller key minus the number
    with a larger one (equal keys tie).
    """
    reps, n = member.shape
    value = np.where(member, value, 0.0)
    order = np.lexsort((value, alive, ~member), axis=-1)
    sv, sa, sm = (np.take_along_axis(x, order, axis=-1) for x in (value, alive, member))
    new = np.ones((reps, n), dtype=bool)
    new[:, 1:] = (sv[:, 1:] != sv[:, :-1]) | (sa[:, 1:] != sa[:, :-1]) | (sm[:, 1:] != sm[:, :-1])
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    next_start = np.where(new[:, 1:], pos[1:], n)[:, ::-1]
    end = np.concatenate(
        [np.minimum.accumulate(next_start, axis=-1)[:, ::-1], np.full((reps, 1), n)], axis=-1
    )
    sorted_score = (start - (member.sum(axis=-1)[:, None] - end)).astype(float)
    score = np.empty((reps, n))
    np.put_along_axis(score, order, sorted_score, axis=-1)
    return np.where(member, score, np.nan)


def _cafs_scores(
    died: np.ndarray,
    death: np.ndarray,
    change_at: np.ndarray,
    horizon_day: np.ndarray,
    horizon_idx: np.ndarray,
    include: np.ndarray,
) -> np.ndarray:
    """CAFS wins minus losses ``(R, n)`` among the included patients of every replicate.

    ``alsmeta.patients.cafs.cafs_scores`` with a leading axis of replicates: patients
    followed to the end of the window (``horizon_day`` inf) by one sort; each dropout
    (finite horizon) against everyone at H = the earlier of the two horizons: a patient
    dead by H loses to the dropout, otherwise the change from baseline at H,
    ``change_at[..., k]`` (``k = horizon_idx``, the last index = end of the window),
    decides.
    """
    reps, n = include.shape
    full = include & np.isinf(horizon_day)
    drop = include & ~full
    score = _sorted_scores(~died, np.where(died, death, change_at[..., -1]), full)
    score = np.where(include, np.nan_to_num(score), np.nan)
    width = int(drop.sum(axis=1).max()) if drop.size else 0
    if width == 0:
        return score
    block = max(1, _PAIR_CELLS // max(width * n, 1))
    for start in range(0, reps, block):
        r = np.arange(start, min(reps, start + block))
        k = np.argsort(~drop[r], axis=-1, kind="stable")[:, :width]  # (b, d) dropouts first
        real = np.take_along_axis(drop[r], k, axis=-1)
        rr = r[:, None, None]
        kk = k[:, :, None]
        jj = np.arange(n)[None, None, :]
        h = np.minimum(horizon_day[rr, kk], horizon_day[rr, jj])  # (b, d, n)
        hk = np.minimum(horizon_idx[rr, kk], horizon_idx[rr, jj])
        dead_j = died[rr, jj] & (death[rr, jj] <= h)
        with np.errstate(invalid="ignore"):
            larger = np.sign(change_at[rr, kk, hk] - change_at[rr, jj, hk])
        w = np.where(dead_j, 1.0, larger)  # a dropout is alive at its horizon
        w = np.where(real[:, :, None] & include[rr, jj] & (kk != jj), w, 0.0)
        rows = np.broadcast_to(r[:, None], k.shape)
        score[rows[real], k[real]] += w.sum(axis=2)[real]
        # A dropout's pair with a patient followed to the end is counted in the dropout's
        # row only; pairs of two dropouts are counted in each dropout's own row.
        score[r] -= np.where(full[r], w.sum(axis=1), 0.0)
    return score


def cafs_endpoint(
    batch: TrialBatch,
    *,
    dropout: str = "locf",
    window_months: float | None = None,
    visit_window_days: float = 14.0,
) -> EndpointBatch:
    """CAFS (Combined Assessment of Function and Survival), Mann-Whitney test by arm.

    Parameters
    ----------
    batch : TrialBatch
        A two-arm design.
    dropout : {"locf", "rank-at-withdrawal"}, default "locf"
        How a patient alive but not followed to the end of the window is compared (see
        :func:`alsmeta.patients.cafs.cafs`).
    window_months : float, optional
        The follow-up window T; default the last scheduled visit month.
    visit_window_days : float, default 14
        A visit up to this many days after T counts as the visit at T; a patient alive
        whose last visit is at least T minus this many days completed follow-up.

    Returns
    -------
    EndpointBatch
        ``estimate``: U / (n_treated n_control), the probability that a treated patient
        ranks above a control, ties 1/2 (favours treatment when > 0.5); ``statistic``:
        U of the treated arm; ``n_analysed``: the analysis population.

    Raises
    ------
    InputError
        For a single-arm design or bad options.

    Notes
    -----
    Mirrors ``alsmeta.patients.cafs.cafs(visits, window_months=T, dropout=dropout,
    visit_window_days=visit_window_days)`` with deaths at ``death_months`` and trial
    time 0 as baseline: the pairwise rule of
    :func:`~alsmeta.patients.cafs.cafs_scores` evaluated on every pair of every
    replicate by broadcasting (a pair is compared at the earlier of the two horizons:
    ``inf``, or the withdrawal visit of a dropout under ``"rank-at-withdrawal"``);
    analysis population: a post-baseline visit or death within the window. Test:
    ``scipy.stats.mannwhitneyu(score_treated, score_control, alternative="two-sided",
    use_continuity=True, method="asymptotic")``, called with ``axis=-1`` once per
    distinct pair of arm sizes. Times are compared in days rounded to 1e-6, as ``cafs``
    does.
    """
    _need_two_arms(batch, "cafs", "function and survival")
    check_choice("dropout", dropout, DROPOUT_RULES)
    window = float(batch.months[-1]) if window_months is None else window_months
    problems = []
    for name, value, low in (("window_months", window, 0.0),
                             ("visit_window_days", visit_window_days, -1e-300)):  # fmt: skip
        if not (isinstance(value, int | float) and np.isfinite(value) and value > low):
            problems.append(Problem(f"{name}={value!r} must be a positive number"))
    if problems:
        raise InputError(problems)
    t_days = float(window) * DAYS_PER_MONTH
    tol = float(visit_window_days)
    days = np.round(batch.months * DAYS_PER_MONTH, 6)
    obs = batch.observed
    death = np.where(batch.died, np.round(batch.death_months * DAYS_PER_MONTH, 6), np.inf)
    died = death <= t_days + _TOL

    before = obs & (days <= _TOL)
    base_idx = _last_index(before)
    base_day = np.where(before.any(axis=-1), days[base_idx], -np.inf)
    keep = obs & (days >= base_day[..., None] - _TOL) & (days <= t_days + tol + _TOL)
    last_idx = _last_index(keep)
    base_total = _take(batch.total, base_idx)
    last_day = days[last_idx]
    dropped = ~died & (last_day < t_days - tol - _TOL)
    include = died | (last_day > base_day + _TOL)
    change = _take(batch.total, last_idx) - base_total

    # Change from baseline at the last kept visit on or before each visit day (the
    # comparison horizons are visit days), and at the last kept visit (horizon inf).
    v = days.size
    seen_idx = np.where(keep, np.arange(v), -1)
    locf_idx = np.maximum.accumulate(seen_idx, axis=-1)
    locf = np.where(locf_idx >= 0, _take_all(batch.total, np.maximum(locf_idx, 0)), np.nan)
    change_at = np.concatenate([locf - base_total[..., None], change[..., None]], axis=-1)
    horizon_day = np.full(dropped.shape, np.inf)
    horizon_idx = np.full(dropped.shape, v)
    if dropout == "rank-at-withdrawal":
        horizon_day = np.where(dropped, last_day, np.inf)
        horizon_idx = np.where(dropped, last_idx, v)
    score = _cafs_scores(died, death, change_at, horizon_day, horizon_idx, include)

    reps = batch.reps
    treated = batch.arm == 1
    n_t = (include & treated).sum(axis=1)
    n_c = (include & ~treated).sum(axis=1)
    statistic, p_value = _nan(reps), _nan(reps)
    sizes = np.stack([n_t, n_c], axis=1)
    for a, b in np.unique(sizes, axis=0):
        rows = np.flatnonzero((n_t == a) & (n_c == b))
        if a == 0 or b == 0:
            continue
        x = _included_first(score[rows][:, treated], include[rows][:, treated])[:, :a]
        y = _included_first(score[rows][:, ~treated], include[rows][:, ~treated])[:, :b]
        test = stats.mannwhitneyu(
            x, y, alternative="two-sided", use_continuity=True, method="asymptotic", axis=-1
        )
        statistic[rows] = test.statistic
        p_value[rows] = test.pvalue
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = statistic / (n_t * n_c)
    return _result(
        "cafs",
        estimate,
        statistic,
        p_value,
        estimate > 0.5,
        include.sum(axis=1),
        f"CAFS over {float(window):g} months (dropouts: {dropout}), P(treated ranks above "
        "control), Mann-Whitney test (normal approximation, continuity correction)",
    )


def _take_all(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(values, index, axis=-1)


def _included_first(values: np.ndarray, include: np.ndarray) -> np.ndarray:
    order = np.argsort(~include, axis=-1, kind="stable")
    return np.take_along_axis(values, order, axis=-1)


# --------------------------------------------------------------------------- lead-in ----
def lead_in_endpoint(
    batch: TrialBatch,
    *,
    pre_months: float | None = None,
    post_months: float | None = None,
    min_visits: int = 2,
    min_span_months: float = 0.0,
) -> EndpointBatch:
    """Within-patient slope change after vs before treatment, paired t test.

    Parameters
    ----------
    batch : TrialBatch
        A ``"single-arm-lead-in"`` or ``"lead-in-randomised"`` design (the latter: the
        treated arm only).
    pre_months, post_months : float, optional
        Use only visits within this many months before / after treatment (default all).
    min_visits : int, default 2
        Minimum visits for each of the two slopes.
    min_span_months : float, default 0
        Minimum time from first to last visit for each slope.

    Returns
    -------
    EndpointBatch
        ``estimate``: mean of slope_post - slope_pre (points/month; favours treatment
        when > 0); ``statistic``: paired t; ``n_analysed``: patients with both slopes.

    Raises
    ------
    InputError
        For design ``"parallel"`` (no lead-in) or bad options.

    Notes
    -----
    Mirrors ``alsmeta.patients.slopes.lead_in(visits, treatment_day=0, test="t")`` with
    the same options: per patient OLS slopes over the visits at months <= 0 (lead-in and
    baseline) and >= 0 (baseline and follow-up), each kept when it has ``min_visits``
    visits over ``min_span_months`` and a time spread; then
    ``scipy.stats.ttest_rel(slope_post, slope_pre)`` over the patients with both, as the
    closed form t = mean(d) / (sd(d) / sqrt(k)), df = k - 1. In a
    ``"lead-in-randomised"`` trial only the treated arm is analysed (the ``Active`` row
    of ``lead_in(...).by_arm``): the endpoint is what a single-arm analysis of the
    treated patients would claim, and the control arm shows how much of it is not
    treatment (regression to the mean, non-linear decline). Fewer than 2 pairs: ``nan``
    (``lead_in`` still reports the mean change of a single pair, without a test).
    """
    if not batch.design.has_lead_in:
        raise InputError(
            Problem(
                "endpoint 'lead-in' compares each patient's slope after treatment with the "
                "slope in the lead-in; design 'parallel' has no lead-in visits; use "
                "design='single-arm-lead-in' or 'lead-in-randomised'"
            )
        )
    _check_rules(min_visits, min_span_months)
    for name, value in (("pre_months", pre_months), ("post_months", post_months)):
        if value is not None and not (isinstance(value, int | float) and value > 0):
            raise InputError(Problem(f"{name}={value!r} must be a positive number of months"))
    months = batch.months
    obs = batch.observed & (batch.arm == 1)[None, :, None]
    pre_mask = obs & (months <= _TOL)
    post_mask = obs & (months >= -_TOL)
    if pre_months is not None:
        pre_mask &= months >= -pre_months - _TOL
    if post_months is not None:
        post_mask &= months <= post_months + _TOL
    ok = np.ones(obs.shape[:2], dtype=bool)
    slope = {}
    for label, mask in (("pre", pre_mask), ("post", post_mask)):
        s, n, first, last = _masked_ols(months, batch.total, mask)
        with np.errstate(invalid="ignore"):
            ok &= (n >= min_visits) & ~(last - first < min_span_months - _TOL) & np.isfinite(s)
        slope[label] = s
    d = np.where(ok, slope["post"] - slope["pre"], 0.0)
    k = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = d.sum(axis=1) / k
        dev = np.where(ok, d - mean[:, None], 0.0)
        sd = np.sqrt((dev * dev).sum(axis=1) / (k - 1))
        statistic = mean / (sd / np.sqrt(k))
    enough = k >= 2
    statistic = np.where(enough, statistic, np.nan)
    p_value = np.where(enough, 2 * stats.t.sf(np.abs(statistic), np.maximum(k - 1, 1)), np.nan)
    estimate = np.where(enough, mean, np.nan)
    arm_text = " (treated arm)" if batch.design.n_control else ""
    return _result(
        "lead-in",
        estimate,
        statistic,
        p_value,
        estimate > 0,
        k,
        f"within-patient slope change after - before treatment{arm_text} "
        "(points/month, OLS per patient), paired t test",
    )


ENDPOINT_FUNCTIONS: dict[str, Callable[..., EndpointBatch]] = {
    "ancova": ancova_endpoint,
    "responders": responder_endpoint,
    "cafs": cafs_endpoint,
    "lead-in": lead_in_endpoint,
}
"""Endpoint name -> batch analysis, for :data:`alsmeta.simulate.analysis.ENDPOINTS`."""
