"""Progression models: ALSFRS-R trajectories of simulated patients, many trials at once.

Two models of the expected ALSFRS-R total of patient ``i`` at trial month ``t`` (month 0
is randomisation / first treatment; lead-in visits have ``t < 0``):

- :class:`LinearProgression` -- random intercept and slope,
  ``F_i(t) = b_i - r_i t`` with a baseline total ``b_i`` and a rate of decline ``r_i``
  (points/month);
- :class:`D50Progression` -- the D50 sigmoid ``F_i = 48 / (1 + exp((u - D50_i) / dx_i))``
  in months ``u`` since onset, with ``D50_i`` and ``dx_i`` set so that the patient has
  total ``b_i`` and rate ``r_i`` at baseline (as :func:`alsmeta.patients.synth_cohort`).

Both draw ``b_i`` and ``r_i`` from the same cited natural-history figures (research file
section 2.3): baseline total normal, mean 30.3, SD 6.5 (NurOwn phase 3, Cudkowicz 2022
Table 1, PMC9305113); rate log-normal with mean 1.02 and SD 2.3 points/month (Atassi
2014, PRO-ACT mixed model; the research file notes the distribution is right-skewed, so
a symmetric normal is available only on request), clipped to a plausible range. The
observed total adds measurement noise, is rounded to an integer and kept in 0-48.

Treatment changes only what happens after month 0, in the treated arm: it slows the
decline by ``effect`` points/month (``scale="points"``), by a fraction
(``scale="percent"``, ``effect=0.25`` = 25 % slower) or, in the D50 model, delays the
time to reach a total of 24 by ``effect`` months (``scale="d50"``).

Death and dropout are informative: each has a hazard that doubles for every
``doubling`` points the expected total falls below a reference total,
``h(F) = h_ref 2^((F_ref - F)/doubling)`` (piecewise constant between visits, evaluated
at the start of each interval). The hazard figures are modelling assumptions, not
published estimates; the defaults give about 10 % deaths and 10 % dropouts in a year for
a patient at the reference total.

References
----------
Atassi N et al. Neurology 2014;83:1719-1725. doi:10.1212/WNL.0000000000000951
Cudkowicz ME et al. Muscle Nerve 2022;65:291-302. doi:10.1002/mus.27472 (PMC9305113)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alsmeta.errors import InputError, Problem, check_choice

__all__ = [
    "D50Progression",
    "EventModel",
    "LinearProgression",
    "PatientDraws",
    "ProgressionModel",
]

EFFECT_SCALES = ("points", "percent", "d50")


@dataclass(frozen=True, slots=True, kw_only=True)
class EventModel:
    """Hazard of an event (death or dropout) rising as function declines.

    ``h(F) = rate_per_month * 2 ** ((reference_total - F) / doubling_points)`` per month,
    with ``F`` the expected ALSFRS-R total; ``rate_per_month=0`` switches the event off.
    """

    rate_per_month: float
    reference_total: float = 30.0
    doubling_points: float = 6.0

    def __post_init__(self) -> None:
        problems = []
        if not (math.isfinite(self.rate_per_month) and self.rate_per_month >= 0):
            problems.append(Problem(f"rate_per_month={self.rate_per_month!r} must be >= 0"))
        if not (math.isfinite(self.doubling_points) and self.doubling_points > 0):
            problems.append(Problem(f"doubling_points={self.doubling_points!r} must be > 0"))
        if problems:
            raise InputError(problems)

    def hazard(self, total: np.ndarray) -> np.ndarray:
        """Hazard per month at expected total ``total``."""
        if self.rate_per_month == 0:
            return np.zeros_like(total)
        return self.rate_per_month * np.exp2((self.reference_total - total) / self.doubling_points)


@dataclass(frozen=True, slots=True)
class PatientDraws:
    """Per-patient parameters of one chunk of trials, each of shape ``(reps, n)``."""

    baseline: np.ndarray  # b_i, total at month 0
    rate: np.ndarray  # r_i, points/month of decline at month 0 (> 0 = decline)
    onset_months: np.ndarray  # m_i, months from onset to month 0
    event_draws: np.ndarray  # (2, reps, n) Exp(1) draws: death, dropout


def _lognormal(rng: np.random.Generator, mean: float, sd: float, size: Any) -> np.ndarray:
    sigma2 = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)


def _gamma(rng: np.random.Generator, mean: float, sd: float, size: Any) -> np.ndarray:
    return rng.gamma((mean / sd) ** 2, sd**2 / mean, size)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressionModel:
    """Shared parameters of the progression models (see the module docstring).

    Attributes
    ----------
    baseline_mean, baseline_sd : float, default 30.3, 6.5
        Normal ALSFRS-R total at month 0, clipped to ``baseline_range`` (Cudkowicz 2022
        Table 1).
    baseline_range : (float, float), default (12, 46)
    rate_mean, rate_sd : float, default 1.02, 2.3
        Mean and SD of the rate of decline at month 0, points/month (Atassi 2014).
    rate_distribution : {"lognormal", "normal"}, default "lognormal"
    rate_range : (float, float), default (0.05, 8.0)
        Rates are clipped to this range; ``(-inf, inf)`` turns clipping off.
    onset_mean, onset_sd : float, default 19.6, 5.17
        Gamma-distributed months from onset to month 0 (Cudkowicz 2022 Table 1).
    noise_sd : float, default 1.0
        SD of the measurement noise added to each visit (points). An assumption: no
        test-retest figure is in the research file.
    rounding : bool, default True
        Round observed totals to integers and clip them to 0-48; ``False`` keeps the
        continuous values (for checks against closed-form power).
    death, dropout : EventModel
        Informative death and dropout hazards (modelling assumptions).
    """

    baseline_mean: float = 30.3
    baseline_sd: float = 6.5
    baseline_range: tuple[float, float] = (12.0, 46.0)
    rate_mean: float = 1.02
    rate_sd: float = 2.3
    rate_distribution: str = "lognormal"
    rate_range: tuple[float, float] = (0.05, 8.0)
    onset_mean: float = 19.6
    onset_sd: float = 5.17
    noise_sd: float = 1.0
    rounding: bool = True
    death: EventModel = EventModel(rate_per_month=0.008, doubling_points=6.0)
    dropout: EventModel = EventModel(rate_per_month=0.008, doubling_points=12.0)

    name = "model"

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        try:
            check_choice("rate_distribution", self.rate_distribution, ("lognormal", "normal"))
        except InputError as exc:
            problems += exc.problems
        for field in ("baseline_sd", "rate_sd", "onset_sd", "onset_mean"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                problems.append(Problem(f"{field}={value!r} must be a positive number"))
        if self.rate_distribution == "lognormal" and not self.rate_mean > 0:
            problems.append(Problem(f"rate_mean={self.rate_mean!r} must be > 0 (log-normal)"))
        if not (math.isfinite(self.noise_sd) and self.noise_sd >= 0):
            problems.append(Problem(f"noise_sd={self.noise_sd!r} must be >= 0"))
        if problems:
            raise InputError(problems)

    def replace(self, **changes: Any) -> ProgressionModel:
        """Return a copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> PatientDraws:
        """Draw the per-patient parameters of ``shape = (reps, n)`` patients."""
        base = np.clip(rng.normal(self.baseline_mean, self.baseline_sd, shape),
                       *self.baseline_range)  # fmt: skip
        if self.rate_distribution == "lognormal":
            rate = _lognormal(rng, self.rate_mean, self.rate_sd, shape)
        else:
            rate = rng.normal(self.rate_mean, self.rate_sd, shape)
        rate = np.clip(rate, *self.rate_range)
        onset = _gamma(rng, self.onset_mean, self.onset_sd, shape)
        events = rng.standard_exponential((2, *shape))
        return PatientDraws(base, rate, onset, events)

    def check_effect(self, scale: str) -> None:
        """Raise if this model cannot express a treatment effect on ``scale``."""
        check_choice("effect scale", scale, EFFECT_SCALES)

    def expected(
        self, draws: PatientDraws, months: np.ndarray, effect: np.ndarray, scale: str
    ) -> np.ndarray:
        """Expected totals, shape ``(reps, n, visits)``; ``effect`` is ``(reps, n)``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearProgression(ProgressionModel):
    """Random intercept and slope: ``F_i(t) = b_i - r_i t`` (see the module docstring).

    The treated patient's rate after month 0 is ``r_i - effect`` (``scale="points"``) or
    ``r_i (1 - effect)`` (``"percent"``). Totals are not bounded by the model itself;
    ``rounding=True`` clips the observed ones to 0-48.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.simulate import LinearProgression
    >>> model = LinearProgression()
    >>> draws = model.draw(np.random.default_rng(1), (2, 3))
    >>> model.expected(draws, np.array([0.0, 6.0]), np.zeros((2, 3)), "points").shape
    (2, 3, 2)
    """

    name = "linear"

    def check_effect(self, scale: str) -> None:
        """Raise if ``scale`` is not ``points`` or ``percent``."""
        check_choice("effect scale", scale, ("points", "percent"))

    def expected(
        self, draws: PatientDraws, months: np.ndarray, effect: np.ndarray, scale: str
    ) -> np.ndarray:
        """Expected totals, shape ``(reps, n, visits)``; ``effect`` is ``(reps, n)``."""
        rate = draws.rate
        treated_rate = rate - effect if scale == "points" else rate * (1.0 - effect)
        t = months[None, None, :]
        pre = np.minimum(t, 0.0)
        post = np.maximum(t, 0.0)
        return draws.baseline[..., None] - rate[..., None] * pre - treated_rate[..., None] * post


@dataclass(frozen=True, slots=True, kw_only=True)
class D50Progression(ProgressionModel):
    """The D50 sigmoid (see the module docstring and :func:`alsmeta.patients.d50_curve`).

    ``dx_i = b_i (1 - b_i/48) / r_i`` and ``D50_i = m_i - dx_i log(48/b_i - 1)`` give total
    ``b_i`` and slope ``-r_i`` at month 0. Treatment runs the disease clock after month 0
    at speed ``s_i``: ``1 - effect`` (``"percent"``), ``max(0, 1 - effect / r_i)``
    (``"points"``: the rate at month 0 falls by ``effect``), or
    ``tau_i / (tau_i + effect)`` with ``tau_i = max(D50_i - m_i, 1)`` months
    (``"d50"``: a patient before D50 reaches a total of 24 ``effect`` months later).

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.simulate import D50Progression
    >>> model = D50Progression()
    >>> draws = model.draw(np.random.default_rng(1), (1, 2))
    >>> f = model.expected(draws, np.array([0.0]), np.zeros((1, 2)), "percent")
    >>> bool(np.allclose(f[..., 0], draws.baseline))
    True
    """

    name = "d50"

    def curve(self, draws: PatientDraws) -> tuple[np.ndarray, np.ndarray]:
        """``(D50, dx)`` of every patient, months."""
        b = draws.baseline
        dx = b * (1.0 - b / 48.0) / draws.rate
        d50 = draws.onset_months - dx * np.log(48.0 / b - 1.0)
        return d50, dx

    def expected(
        self, draws: PatientDraws, months: np.ndarray, effect: np.ndarray, scale: str
    ) -> np.ndarray:
        """Expected totals, shape ``(reps, n, visits)``; ``effect`` is ``(reps, n)``."""
        d50, dx = self.curve(draws)
        if scale == "percent":
            speed = 1.0 - effect
        elif scale == "points":
            speed = np.maximum(0.0, 1.0 - effect / draws.rate)
        else:
            tau = np.maximum(d50 - draws.onset_months, 1.0)
            speed = tau / (tau + effect)
        t = months[None, None, :]
        u = (
            draws.onset_months[..., None]
            + np.minimum(t, 0.0)
            + speed[..., None] * np.maximum(t, 0.0)
        )
        with np.errstate(over="ignore"):
            return 48.0 / (1.0 + np.exp((u - d50[..., None]) / dx[..., None]))
