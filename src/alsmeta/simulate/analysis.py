"""Endpoints analysed as the real trial would be, for a whole batch of simulated trials.

Each function takes a :class:`~alsmeta.simulate.TrialBatch` and returns an
:class:`EndpointBatch`: per replicate the estimate, its test statistic and two-sided
p-value, and whether the estimate favours treatment. Each mirrors one single-trial
analysis of :mod:`alsmeta.patients`, and the tests check them replicate by replicate
against it (``batch.visits(r)`` fed to the single-trial function).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from alsmeta.errors import InputError, Problem
from alsmeta.simulate._lmm_batch import fit_slope_batch, sufficient_batch
from alsmeta.simulate.trials import TrialBatch

# The other endpoints import EndpointBatch from here, so they are imported after it.

__all__ = ["ENDPOINTS", "EndpointBatch", "analyse", "slope_endpoint"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EndpointBatch:
    """One endpoint's analysis of ``R`` trials; arrays of shape ``(R,)``.

    Attributes
    ----------
    endpoint : str
    estimate : array
        The effect estimate (slope difference, adjusted mean difference, log odds ratio,
        CAFS win probability, mean within-patient slope change), ``nan`` where the trial
        could not be analysed.
    statistic, p_value : arrays
        Test statistic and two-sided p-value (``nan`` if not analysable; counted as not
        significant).
    favours_treatment : bool array
        The estimate points to benefit.
    n_analysed : int array
        Patients who contributed.
    description : str
        The analysis in one line (model, test), for reports.
    """

    endpoint: str
    estimate: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    favours_treatment: np.ndarray
    n_analysed: np.ndarray
    description: str

    def significant(self, alpha: float) -> np.ndarray:
        """Two-sided p < ``alpha`` (a ``nan`` p-value is not significant)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(self.p_value < alpha)


def slope_endpoint(batch: TrialBatch, *, df_method: str = "satterthwaite") -> EndpointBatch:
    """Slope difference by the linear mixed model, as ``alsmeta patients compare``.

    ``total ~ t_months * arm + (1 + t_months | subject_id)`` by REML on the visits from
    month 0 on (lead-in visits are not part of the randomised comparison), t test of the
    ``t_months:arm`` coefficient with Satterthwaite df (lmerTest), every replicate at once
    (see :func:`alsmeta.patients.mixed.slope_model`).
    """
    if batch.design.n_control == 0:
        raise InputError(Problem("the slope endpoint compares two arms; this design has one"))
    post = batch.months >= 0
    months = batch.months[post]
    s = sufficient_batch(months, batch.total[..., post], batch.observed[..., post], batch.arm)
    res = fit_slope_batch(s, df_method=df_method)
    return EndpointBatch(
        endpoint="slope",
        estimate=res.estimate,
        statistic=res.statistic,
        p_value=res.p_value,
        favours_treatment=res.estimate > 0,
        n_analysed=np.full(batch.reps, len(batch.arm)),
        description=(
            "slope difference (points/month), linear mixed model total ~ t * arm + "
            f"(1 + t | subject), REML, {df_method} df"
        ),
    )


from alsmeta.simulate._endpoints import ENDPOINT_FUNCTIONS  # noqa: E402

ENDPOINTS: dict[str, Callable[..., EndpointBatch]] = {
    "slope": slope_endpoint,
    **ENDPOINT_FUNCTIONS,
}
"""Endpoint name -> batch analysis."""


def analyse(batch: TrialBatch, endpoint: str, **options: Any) -> EndpointBatch:
    """Analyse every trial of ``batch`` by ``endpoint`` (a key of :data:`ENDPOINTS`)."""
    if endpoint not in ENDPOINTS:
        raise InputError(
            Problem(f"endpoint={endpoint!r} is not one of {', '.join(map(repr, ENDPOINTS))}")
        )
    return ENDPOINTS[endpoint](batch, **options)
