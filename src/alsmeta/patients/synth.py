"""Synthetic ALS cohorts: item-level ALSFRS-R trajectories from a D50-type decay.

Each patient follows the D50 curve F(u) = 48 / (1 + exp((u - D50) / dx)) in months ``u``
since symptom onset (research file section 4.3). The two parameters are set so that the
patient has a drawn ALSFRS-R total ``b`` at trial time 0 and a drawn rate of decline
``r`` (points/month) there:

- F(m0) = b at onset-to-baseline time m0  =>  D50 = m0 - dx * log(48 / b - 1);
- |F'(m0)| = b (1 - b/48) / dx = r        =>  dx = b (1 - b/48) / r.

The between-patient distributions use the published natural-history numbers (research
file section 2.3): the rate ``r`` is log-normal with mean 1.02 and SD 2.3 points/month
(Atassi 2014, PRO-ACT) -- right-skewed, as the research file notes a symmetric normal
would not be; baseline total 30.3 (SD 6.5) and onset to first treatment 19.6 (SD 5.17)
months as in the NurOwn phase 3 trial (Cudkowicz 2022, Table 1). All are parameters.

The expected loss ``48 - F`` is shared among the 12 items by patient-specific weights,
with noise and rounding to the 0-4 integers; from the first visit with swallowing <= 1
(supplemental tube feeding) the patient has a gastrostomy and item 5 is recorded on the
5b form. Deaths happen when F falls below a patient-specific level, dropouts at a
constant hazard; a treatment effect slows the disease clock after trial time 0.

References
----------
Atassi N et al. Neurology 2014;83:1719-1725. doi:10.1212/WNL.0000000000000951
Cudkowicz ME et al. Muscle Nerve 2022;65:291-302. doi:10.1002/mus.27472 (PMC9305113)
D50 model: Poesen K et al. / Gaur N et al., ENCALS 2017 abstract P48; Steinbach R et al.,
NeuroImage Clin 2020.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alsmeta.alsfrs import ITEM_COLUMNS
from alsmeta.errors import InputError, Problem
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable, visit_table

__all__ = ["d50_curve", "synth_cohort"]

# Item columns without the two item-5 forms, with item 5 as one "cutting" slot (index 4).
_TWELVE = (
    "speech", "salivation", "swallowing", "handwriting", "cutting", "dressing", "turning",
    "walking", "stairs", "dyspnea", "orthopnea", "respiratory_insufficiency",
)  # fmt: skip
_BULBAR = np.array([0, 1, 2])
_LIMB = np.arange(3, 9)


def d50_curve(t: np.ndarray | float, d50: np.ndarray | float, dx: np.ndarray | float) -> np.ndarray:
    """Return the D50 model ALSFRS-R, 48 / (1 + exp((t - D50) / dx)).

    Parameters
    ----------
    t : array-like
        Months since symptom onset.
    d50, dx : array-like
        Months at which the total reaches 24, and the time constant (months).

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    F(D50) = 24 and F'(D50) = -12 / dx (research file Appendix C).

    Examples
    --------
    >>> from alsmeta.patients import d50_curve
    >>> float(d50_curve(30.0, 30.0, 5.0))
    24.0
    """
    with np.errstate(over="ignore"):
        return 48.0 / (1.0 + np.exp((np.asarray(t, dtype=float) - d50) / dx))


def _lognormal(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    sigma2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)


def _gamma(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    shape = (mean / sd) ** 2
    return rng.gamma(shape, sd**2 / mean, size)


def synth_cohort(
    n: int,
    *,
    rng: np.random.Generator,
    follow_up_months: float = 12.0,
    lead_in_months: float = 3.0,
    visit_interval_months: float = 1.0,
    jitter_days: int = 3,
    slope_mean: float = 1.02,
    slope_sd: float = 2.3,
    slope_range: tuple[float, float] = (0.05, 8.0),
    baseline_mean: float = 30.3,
    baseline_sd: float = 6.5,
    onset_months_mean: float = 19.6,
    onset_months_sd: float = 5.17,
    treated_fraction: float = 0.5,
    effect: float = 0.0,
    dropout_per_month: float = 0.01,
    bulbar_onset_fraction: float = 0.25,
    item_noise: float = 0.35,
) -> VisitTable:
    """Simulate a cohort of ALSFRS-R visits; return it as a :class:`VisitTable`.

    Parameters
    ----------
    n : int
        Number of patients.
    rng : numpy.random.Generator
        Source of randomness (``np.random.default_rng(seed)``).
    follow_up_months, lead_in_months, visit_interval_months : float
        Visits at ``-lead_in_months, ..., 0, ..., follow_up_months`` every
        ``visit_interval_months``; trial time 0 is the baseline / first treatment.
    jitter_days : int, default 3
        Visits other than baseline move by up to this many days either way.
    slope_mean, slope_sd : float, default 1.02, 2.3
        Mean and SD (points/month) of the log-normal rate of decline at baseline
        (Atassi 2014).
    slope_range : (float, float), default (0.05, 8.0)
        Rates are clipped to this range (a rate of 8 points/month empties the scale in
        half a year).
    baseline_mean, baseline_sd : float, default 30.3, 6.5
        Normal ALSFRS-R total at baseline, clipped to 12-46 (NurOwn phase 3 Table 1).
    onset_months_mean, onset_months_sd : float, default 19.6, 5.17
        Gamma-distributed months from onset to baseline (NurOwn phase 3 Table 1), at
        least ``lead_in_months + 0.5``.
    treated_fraction : float, default 0.5
        Probability of ``arm == "Active"`` (else ``"Placebo"``), PRO-ACT spelling.
    effect : float, default 0.0
        Proportional slowing of the disease after time 0 in the active arm: 0.25 makes
        the disease clock run at 75 % speed, so the decline is 25 % slower.
    dropout_per_month : float, default 0.01
        Constant dropout hazard after baseline.
    bulbar_onset_fraction : float, default 0.25
        Share of patients whose bulbar items decline faster than their limb items.
    item_noise : float, default 0.35
        SD of the item-level noise before rounding (item points).

    Returns
    -------
    VisitTable
        ``subjects`` holds onset, arm, death; ``age`` and ``sex`` are not simulated
        (``nan``).

    Notes
    -----
    See the module docstring for the model. Death: when F falls below a level drawn
    uniformly between 2 and 12 (at most half the baseline total); it is recorded when it
    happens within follow-up. ``slope_mean`` and ``slope_sd`` describe the rate at
    baseline; the per-patient OLS slopes over months 0-12 come out flatter (with the
    defaults and 10,000 patients: mean -0.82, SD 1.32, median -0.41 points/month),
    because the fastest rates are clipped, the D50 curve flattens below a total of 24
    and fast progressors die early.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> cohort = synth_cohort(100, rng=np.random.default_rng(1))
    >>> cohort.n_subjects
    100
    >>> sorted(cohort.subjects["arm"].unique())
    ['Active', 'Placebo']
    """
    problems = []
    if not isinstance(n, int | np.integer) or n < 1:
        problems.append(Problem(f"n={n!r} must be a positive integer"))
    if not isinstance(rng, np.random.Generator):
        problems.append(Problem("rng must be a numpy.random.Generator (np.random.default_rng)"))
    if not 0 <= effect < 1:
        problems.append(Problem(f"effect={effect!r} must be in [0, 1)"))
    if not 0 <= treated_fraction <= 1:
        problems.append(Problem(f"treated_fraction={treated_fraction!r} must be in [0, 1]"))
    if visit_interval_months <= 0 or follow_up_months < 0 or lead_in_months < 0:
        problems.append(Problem("visit interval must be > 0 and lead-in, follow-up >= 0"))
    if slope_mean <= 0 or slope_sd <= 0:
        problems.append(Problem("slope_mean and slope_sd must be > 0"))
    if problems:
        raise InputError(problems)
    n = int(n)

    # Patient parameters.
    rate = np.clip(_lognormal(rng, slope_mean, slope_sd, n), *slope_range)
    base = np.clip(rng.normal(baseline_mean, baseline_sd, n), 12.0, 46.0)
    m0 = np.maximum(_gamma(rng, onset_months_mean, onset_months_sd, n), lead_in_months + 0.5)
    dx = base * (1 - base / 48) / rate
    d50 = m0 - dx * np.log(48 / base - 1)
    active = rng.random(n) < treated_fraction
    speed = np.where(active, 1.0 - effect, 1.0)
    bulbar = rng.random(n) < bulbar_onset_fraction
    weights = rng.gamma(4.0, 0.25, (n, 12))
    weights[np.ix_(bulbar, _BULBAR)] *= 2.0
    weights[np.ix_(~bulbar, _LIMB)] *= 1.3
    weights /= weights.mean(axis=1, keepdims=True)

    # Death level and time (trial months); dropout time.
    level = np.minimum(rng.uniform(2.0, 12.0, n), base / 2)
    u_death = d50 + dx * np.log(48 / level - 1)
    t_death = (u_death - m0) / speed
    t_drop = rng.exponential(1 / dropout_per_month, n) if dropout_per_month > 0 else np.inf
    t_drop = np.broadcast_to(t_drop, (n,))

    # Visit grid (n, V) in days.
    step = visit_interval_months
    grid = np.concatenate(
        [
            -np.arange(0, lead_in_months + 1e-9, step)[:0:-1],
            np.arange(0, follow_up_months + 1e-9, step),
        ]
    )
    nominal = np.rint(grid * DAYS_PER_MONTH)
    jitter = rng.integers(-jitter_days, jitter_days + 1, (n, grid.size))
    jitter[:, grid == 0] = 0
    days = nominal[None, :] + jitter
    months = days / DAYS_PER_MONTH
    u = m0[:, None] + np.where(months > 0, months * speed[:, None], months)
    expected = d50_curve(u, d50[:, None], dx[:, None])
    loss = 1.0 - expected / 48.0

    latent = 4.0 * loss[:, :, None] * weights[:, None, :]
    latent += rng.normal(0.0, item_noise, latent.shape)
    items = np.clip(np.rint(4.0 - latent), 0, 4) + 0.0  # + 0.0 turns -0.0 into 0.0

    # Seen until death or dropout; every patient is seen in the lead-in and at baseline
    # (death comes after baseline by construction, dropout is a post-baseline event).
    end = np.minimum(t_death, t_drop)
    observed = (months < end[:, None]) | (grid <= 0)[None, :]

    gastrostomy = np.maximum.accumulate(items[:, :, 2] <= 1, axis=1)
    died = t_death <= follow_up_months
    rows = np.flatnonzero(observed.ravel())
    flat = items.reshape(-1, 12)[rows]
    gast = gastrostomy.ravel()[rows]
    patient = rows // grid.size
    ids = np.array([f"S{i + 1:05d}" for i in range(n)], dtype=object)

    columns: dict[str, object] = {"subject_id": ids[patient], "days": days.ravel()[rows]}
    for j, name in enumerate(_TWELVE):
        if name == "cutting":
            columns["cutting_without_gastrostomy"] = np.where(gast, np.nan, flat[:, j])
            columns["cutting_with_gastrostomy"] = np.where(gast, flat[:, j], np.nan)
        else:
            columns[name] = flat[:, j]
    columns["onset_days"] = np.rint(-m0 * DAYS_PER_MONTH)[patient]
    columns["arm"] = np.where(active, "Active", "Placebo")[patient]
    death_days = np.where(died, np.ceil(t_death * DAYS_PER_MONTH), np.nan)
    # A death on a visit day is recorded the day after the visit.
    last_day = pd.Series(columns["days"]).groupby(patient).max().to_numpy()
    death_days = np.where(died, np.maximum(death_days, last_day + 1), np.nan)
    columns["died"] = np.where(died, "Yes", "No")[patient]
    columns["death_days"] = death_days[patient]
    frame = pd.DataFrame(columns)
    frame = frame[["subject_id", "days", *ITEM_COLUMNS, "onset_days", "arm", "died", "death_days"]]
    return visit_table(frame)
