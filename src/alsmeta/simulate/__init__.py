"""Designing the next trial: progression models, simulated trials and power.

Everything here is vectorised across replicate trials: a chunk of trials is simulated as
arrays and analysed by batch kernels that give, trial by trial, what the single-trial
analyses of :mod:`alsmeta.patients` give. Randomness comes from one
``numpy.random.SeedSequence`` spawned per scenario and per chunk, so a seed gives the same
numbers on any backend and any number of workers.
"""

from alsmeta.simulate.power import (
    PowerResult,
    analytic_slope_power,
    effect_from_meta,
    expected_difference,
    power_curve,
    two_sample_power,
)
from alsmeta.simulate.progression import (
    D50Progression,
    EventModel,
    LinearProgression,
    ProgressionModel,
)
from alsmeta.simulate.trials import (
    DESIGNS,
    TreatmentEffect,
    TrialBatch,
    TrialDesign,
    simulate_trials,
)

__all__ = [
    "DESIGNS",
    "D50Progression",
    "EventModel",
    "LinearProgression",
    "PowerResult",
    "ProgressionModel",
    "TreatmentEffect",
    "TrialBatch",
    "TrialDesign",
    "analytic_slope_power",
    "effect_from_meta",
    "expected_difference",
    "power_curve",
    "simulate_trials",
    "two_sample_power",
]
