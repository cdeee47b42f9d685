"""Simulated trials: designs, treatment effects, and a batch of trials as arrays.

A :class:`TrialBatch` holds ``R`` replicate trials of the same design, each with ``n``
patients seen at the same nominal visit months: totals ``(R, n, V)`` with a mask of the
visits that happened (after death or dropout there are none). Analyses in
:mod:`alsmeta.simulate.analysis` take the whole batch at once; :meth:`TrialBatch.visits`
turns one replicate into the visit frame that :mod:`alsmeta.patients` reads, so every
batch analysis can be checked against the single-trial function it mirrors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.simulate.progression import (
    EFFECT_SCALES,
    PatientDraws,
    ProgressionModel,
)

__all__ = [
    "DESIGNS",
    "TreatmentEffect",
    "TrialBatch",
    "TrialDesign",
    "simulate_trials",
]

DESIGNS = ("parallel", "lead-in-randomised", "single-arm-lead-in")
CONTROL, TREATED = "Placebo", "Active"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialDesign:
    """A trial design.

    Attributes
    ----------
    design : {"parallel", "lead-in-randomised", "single-arm-lead-in"}
        Parallel randomised trial from month 0; a lead-in (untreated, observed) period
        then randomisation at month 0; or one treated arm with a lead-in, compared with
        itself (pre- vs post-treatment slope).
    n_per_arm : int
        Patients in the control arm (the only arm of a single-arm design).
    allocation : float, default 1.0
        Treated patients per control patient: the treated arm has
        ``round(allocation * n_per_arm)`` patients.
    follow_up_months : float, default 6.0
        Months of follow-up after month 0.
    visit_interval_months : float, default 1.0
        Visits every this many months from month 0 (and back from month 0 in a lead-in).
    lead_in_months : float, default 3.0
        Length of the lead-in (ignored by ``"parallel"``).
    min_lead_in_decline : float, optional
        Enrichment: only patients whose observed total fell by at least this many points
        over the lead-in are enrolled (e.g. 3, NurOwn phase 3; research file section
        4.4). Lead-in designs only.
    """

    design: str = "parallel"
    n_per_arm: int = 100
    allocation: float = 1.0
    follow_up_months: float = 6.0
    visit_interval_months: float = 1.0
    lead_in_months: float = 3.0
    min_lead_in_decline: float | None = None

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        try:
            check_choice("design", self.design, DESIGNS)
        except InputError as exc:
            problems += exc.problems
        if not isinstance(self.n_per_arm, int | np.integer) or self.n_per_arm < 2:
            problems.append(Problem(f"n_per_arm={self.n_per_arm!r} must be an integer >= 2"))
        if not (math.isfinite(self.allocation) and self.allocation > 0):
            problems.append(Problem(f"allocation={self.allocation!r} must be > 0"))
        elif (
            isinstance(self.n_per_arm, int | np.integer)
            and round(self.allocation * self.n_per_arm) < 2
        ):
            problems.append(Problem("allocation * n_per_arm must give at least 2 treated"))
        if not (math.isfinite(self.visit_interval_months) and self.visit_interval_months > 0):
            problems.append(Problem("visit_interval_months must be > 0"))
        elif not self.follow_up_months >= self.visit_interval_months:
            problems.append(
                Problem("follow_up_months must be at least one visit interval (2 visits)")
            )
        if self.design != "parallel" and not self.lead_in_months >= self.visit_interval_months:
            problems.append(
                Problem(f"design {self.design!r} needs lead_in_months >= visit_interval_months")
            )
        if self.min_lead_in_decline is not None and self.design == "parallel":
            problems.append(Problem("min_lead_in_decline needs a lead-in design"))
        if problems:
            raise InputError(problems)

    @property
    def has_lead_in(self) -> bool:
        """Whether lead-in visits are simulated."""
        return self.design != "parallel"

    @property
    def n_control(self) -> int:
        """Patients in the control arm (0 in a single-arm design)."""
        return 0 if self.design == "single-arm-lead-in" else int(self.n_per_arm)

    @property
    def n_treated(self) -> int:
        """Patients in the treated arm."""
        if self.design == "single-arm-lead-in":
            return int(self.n_per_arm)
        return round(self.allocation * self.n_per_arm)

    def months(self) -> np.ndarray:
        """Nominal visit months (lead-in visits negative, month 0 = randomisation)."""
        step = self.visit_interval_months
        post = np.arange(0.0, self.follow_up_months + 1e-9, step)
        if not self.has_lead_in:
            return post
        pre = -np.arange(step, self.lead_in_months + 1e-9, step)[::-1]
        return np.concatenate([pre, post])

    def to_dict(self) -> dict[str, Any]:
        """The design as JSON-safe fields."""
        return {
            "design": self.design,
            "n_per_arm": int(self.n_per_arm),
            "allocation": float(self.allocation),
            "follow_up_months": float(self.follow_up_months),
            "visit_interval_months": float(self.visit_interval_months),
            "lead_in_months": float(self.lead_in_months) if self.has_lead_in else 0.0,
            "min_lead_in_decline": self.min_lead_in_decline,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentEffect:
    """The true treatment effect of a simulated trial.

    ``mean`` on ``scale`` (``"points"``: points/month of slower decline; ``"percent"``:
    fraction, 0.25 = 25 % slower; ``"d50"``: months of delay to a total of 24). With
    ``sd > 0`` every replicate trial draws its own true effect from
    ``Normal(mean, sd)`` -- the predictive distribution of a meta-analysis (see
    :func:`alsmeta.simulate.effect_from_meta`), so power becomes the probability of
    success averaged over what the existing trials leave uncertain ("assurance").
    """

    mean: float
    scale: str = "points"
    sd: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        try:
            check_choice("effect scale", self.scale, EFFECT_SCALES)
        except InputError as exc:
            problems += exc.problems
        if not math.isfinite(self.mean):
            problems.append(Problem(f"effect={self.mean!r} must be a finite number"))
        elif self.scale == "percent" and not self.mean < 1:
            problems.append(Problem(f"a percent effect is a fraction < 1; got {self.mean!r}"))
        if not (math.isfinite(self.sd) and self.sd >= 0):
            problems.append(Problem(f"effect sd={self.sd!r} must be >= 0"))
        if problems:
            raise InputError(problems)

    @property
    def is_null(self) -> bool:
        """True for a fixed effect of zero."""
        return self.mean == 0 and self.sd == 0

    def draw(self, rng: np.random.Generator, reps: int) -> np.ndarray:
        """One true effect per replicate trial."""
        if self.sd == 0:
            return np.full(reps, float(self.mean))
        values = rng.normal(self.mean, self.sd, reps)
        return np.minimum(values, 0.999) if self.scale == "percent" else values


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TrialBatch:
    """``R`` simulated trials of one design (arrays; read-only).

    Attributes
    ----------
    design : TrialDesign
    model : ProgressionModel
    effect : TreatmentEffect
    months : (V,) array
        Nominal visit months.
    arm : (n,) int array
        0 control, 1 treated; the same for every replicate.
    total : (R, n, V) array
        Observed ALSFRS-R totals, ``nan`` where no visit happened.
    observed : (R, n, V) bool array
    died : (R, n) bool array
        Died within follow-up.
    death_months, dropout_months : (R, n) arrays
        Time of death / dropout (``inf``: not within follow-up). A patient who drops out
        and dies later within follow-up has both: visits stop at dropout, but vital
        status is still known, as ALS trials follow survival after withdrawal (CAFS and
        responder rules then count the death).
    true_effect : (R,) array
        The true effect of each replicate (on ``effect.scale``).
    """

    design: TrialDesign
    model: ProgressionModel
    effect: TreatmentEffect
    months: np.ndarray
    arm: np.ndarray
    total: np.ndarray
    observed: np.ndarray
    died: np.ndarray
    death_months: np.ndarray
    dropout_months: np.ndarray
    true_effect: np.ndarray

    @property
    def reps(self) -> int:
        """Number of replicate trials."""
        return int(self.total.shape[0])

    def visits(self, rep: int) -> pd.DataFrame:
        """Replicate ``rep`` as a visit frame (one row per visit that happened).

        Columns ``subject_id, arm, t_months, days, total``: what
        :func:`alsmeta.patients.mixed.trial_visits` reads.
        """
        seen = self.observed[rep]
        subj, visit = np.nonzero(seen)
        months = self.months[visit]
        return pd.DataFrame(
            {
                "subject_id": np.array([f"P{i + 1:04d}" for i in range(len(self.arm))])[subj],
                "arm": np.where(self.arm[subj] == 1, TREATED, CONTROL),
                "t_months": months,
                "days": months * (365.25 / 12),
                "total": self.total[rep][seen],
            }
        )

    def subjects(self, rep: int) -> pd.DataFrame:
        """Replicate ``rep``: one row per patient with arm, death and dropout."""
        return pd.DataFrame(
            {
                "subject_id": [f"P{i + 1:04d}" for i in range(len(self.arm))],
                "arm": np.where(self.arm == 1, TREATED, CONTROL),
                "died": self.died[rep],
                "death_months": self.death_months[rep],
                "dropout_months": self.dropout_months[rep],
            }
        )


def _event_times(
    hazard: np.ndarray, months: np.ndarray, draws: np.ndarray, follow_up: float
) -> np.ndarray:
    """First time the cumulative hazard passes an Exp(1) draw (``inf`` if not by follow-up).

    ``hazard[..., j]`` applies on ``[months[j], months[j+1])`` for post-baseline visits.
    """
    post = np.flatnonzero(months >= 0)
    t = months[post]
    h = hazard[..., post[:-1]]
    dt = np.diff(t)
    cum = np.concatenate([np.zeros((*h.shape[:-1], 1)), np.cumsum(h * dt, axis=-1)], axis=-1)
    e = draws[..., None]
    passed = cum[..., 1:] >= e
    hit = passed.any(axis=-1)
    j = np.argmax(passed, axis=-1)
    h_j = np.take_along_axis(h, j[..., None], axis=-1)[..., 0]
    c_j = np.take_along_axis(cum, j[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        time = t[j] + (draws - c_j) / h_j
    return np.where(hit & (time <= follow_up), time, np.inf)


def _select(block: dict[str, np.ndarray], eligible: np.ndarray, out: dict[str, np.ndarray],
            filled: np.ndarray) -> None:  # fmt: skip
    """Move the first eligible candidates of each replicate into the free slots of ``out``."""
    n = next(iter(out.values())).shape[1]
    rank = np.cumsum(eligible, axis=1)
    take = eligible & (rank <= (n - filled)[:, None])
    rows, cols = np.nonzero(take)
    dest = filled[rows] + rank[rows, cols] - 1
    for key, values in block.items():
        out[key][rows, dest] = values[rows, cols]
    filled += take.sum(axis=1)


def simulate_trials(
    design: TrialDesign,
    model: ProgressionModel,
    effect: TreatmentEffect,
    reps: int,
    *,
    rng: np.random.Generator,
) -> TrialBatch:
    """Simulate ``reps`` trials of ``design`` under ``model`` with true ``effect``.

    Parameters
    ----------
    design : TrialDesign
    model : ProgressionModel
        :class:`~alsmeta.simulate.LinearProgression` or
        :class:`~alsmeta.simulate.D50Progression`.
    effect : TreatmentEffect
    reps : int
        Number of replicate trials.
    rng : numpy.random.Generator

    Returns
    -------
    TrialBatch

    Raises
    ------
    InputError
        If the model cannot express the effect's scale, or enrichment enrols almost no
        one (fewer than 1 in 1,000 candidates eligible).

    Notes
    -----
    Per replicate: patients are drawn from the model; with ``min_lead_in_decline``,
    candidates are screened on their observed lead-in decline until each trial is full.
    The first ``n_control`` patients are controls, the rest treated (the order carries no
    information, so this is randomisation). Totals are the model's expected value plus
    Normal(0, ``noise_sd``) noise, rounded and clipped to 0-48 when ``model.rounding``.
    Everyone is alive and seen through the lead-in and at month 0; afterwards death and
    dropout follow the model's hazards and end the patient's visits.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.simulate import (D50Progression, TreatmentEffect, TrialDesign,
    ...                               simulate_trials)
    >>> batch = simulate_trials(TrialDesign(n_per_arm=10), D50Progression(),
    ...                         TreatmentEffect(mean=0.25, scale="percent"), 3,
    ...                         rng=np.random.default_rng(1))
    >>> batch.total.shape
    (3, 20, 7)
    """
    problems = []
    if not isinstance(reps, int | np.integer) or reps < 1:
        problems.append(Problem(f"reps={reps!r} must be a positive integer"))
    try:
        model.check_effect(effect.scale)
    except InputError:
        problems.append(
            Problem(
                f"the {model.name} progression model cannot express an effect on the "
                f"{effect.scale!r} scale"
            )
        )
    if problems:
        raise InputError(problems)
    reps = int(reps)
    months = design.months()
    n0, n1 = design.n_control, design.n_treated
    n = n0 + n1
    pre_idx = np.flatnonzero(months <= 0)

    true_effect = effect.draw(rng, reps)
    keys = ("baseline", "rate", "onset", "death_e", "dropout_e")
    out = {k: np.empty((reps, n)) for k in keys}
    noise = np.empty((reps, n, months.size))
    filled = np.zeros(reps, dtype=np.int64)
    threshold = design.min_lead_in_decline
    drawn = 0
    while (filled < n).any():
        need = np.flatnonzero(filled < n)
        size = n if threshold is None else max(2 * n, 16)
        d = model.draw(rng, (need.size, size))
        eps = rng.normal(0.0, model.noise_sd, (need.size, size, months.size))
        drawn += size
        if threshold is None:
            eligible = np.ones((need.size, size), dtype=bool)
        else:
            f_pre = model.expected(d, months[pre_idx], np.zeros_like(d.rate), "points")
            y_pre = _observe(f_pre + eps[..., pre_idx], model.rounding)
            eligible = (y_pre[..., 0] - y_pre[..., -1]) >= threshold
            if drawn > 1000 * n and not (filled > 0).any() and not eligible.any():
                raise InputError(
                    Problem(
                        f"min_lead_in_decline={threshold!r}: fewer than 1 in 1,000 "
                        "simulated patients qualify"
                    )
                )
        block = {"baseline": d.baseline, "rate": d.rate, "onset": d.onset_months,
                 "death_e": d.event_draws[0], "dropout_e": d.event_draws[1]}  # fmt: skip
        sub_out = {k: v[need] for k, v in out.items()}
        sub_out["noise"] = noise[need]
        block["noise"] = eps
        sub_filled = filled[need]
        _select(block, eligible, sub_out, sub_filled)
        for k in keys:
            out[k][need] = sub_out[k]
        noise[need] = sub_out["noise"]
        filled[need] = sub_filled

    draws = PatientDraws(
        out["baseline"], out["rate"], out["onset"], np.stack([out["death_e"], out["dropout_e"]])
    )
    arm = np.r_[np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)]
    per_patient = np.where(arm[None, :] == 1, true_effect[:, None], 0.0)
    expected = model.expected(draws, months, per_patient, effect.scale)
    total = _observe(expected + noise, model.rounding)

    follow = float(months[-1])
    t_death = _event_times(model.death.hazard(expected), months, out["death_e"], follow)
    t_drop = _event_times(model.dropout.hazard(expected), months, out["dropout_e"], follow)
    t_drop = np.where(t_drop < t_death, t_drop, np.inf)
    end = np.minimum(t_death, t_drop)
    observed = (months[None, None, :] <= 0) | (months[None, None, :] < end[..., None])
    total = np.where(observed, total, np.nan)
    for array in (total, observed, t_death, t_drop, true_effect, arm, months):
        array.setflags(write=False)
    return TrialBatch(
        design=design,
        model=model,
        effect=effect,
        months=months,
        arm=arm,
        total=total,
        observed=observed,
        died=np.isfinite(t_death),
        death_months=t_death,
        dropout_months=t_drop,
        true_effect=true_effect,
    )


def _observe(values: np.ndarray, rounding: bool) -> np.ndarray:
    return np.clip(np.rint(values), 0.0, 48.0) + 0.0 if rounding else values
