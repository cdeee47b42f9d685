"""Write the simulated trials that ``validation/r/simulate_fixtures.R`` fits with lme4.

Run from the repository root (deterministic: one fixed seed per scenario):

    .venv/bin/python validation/simulate/write_trials.py
    Rscript validation/r/simulate_fixtures.R

Writes ``validation/simulate/trials.csv``: one row per visit from month 0 on (what
``alsmeta.simulate.analysis.slope_endpoint`` analyses), columns
``trial, subject_id, arm, t_months, total``. The lines starting with ``#`` at the top
record, per trial, the scenario name, the seed, the replicate within the scenario and the
simulation parameters (design, progression model, treatment effect) as JSON; both
``pandas.read_csv(comment="#")`` and R's ``read.csv(comment.char = "#")`` skip them.

Scenarios: ``D50Progression()`` with its defaults (integer totals clipped to 0-48, deaths
and dropouts) and ``LinearProgression(rounding=False)``; parallel designs with 20, 50 and
100 patients per arm, one with 2:1 allocation, one with quarterly visits; effects 0 and 30
percent; 6 and 12 months of follow-up; and three scenarios built to put the REML fit near
or on the boundary of the parameter space: a rate SD of 1e-6 (slope variance ~0), a
baseline SD of 1e-6 (intercept variance ~0), and both.

The continuous totals of ``LinearProgression(rounding=False)`` are written rounded to 4
decimals (``%.4f``): the CSV is the data both sides fit, and short decimals are read to the
same double by pandas and by R.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from alsmeta.simulate import (
    D50Progression,
    LinearProgression,
    ProgressionModel,
    TreatmentEffect,
    TrialDesign,
    simulate_trials,
)

OUT = Path(__file__).resolve().parent / "trials.csv"

LINEAR = LinearProgression(rounding=False)
# Slope variance ~0: every patient declines at 1.02 points/month (+- 1e-6).
FLAT_SLOPES = LinearProgression(rounding=False, rate_distribution="normal", rate_sd=1e-6)
# Intercept variance ~0: every patient starts at 30.3 points (+- 1e-6).
FLAT_BASELINE = LinearProgression(rounding=False, baseline_sd=1e-6)
FLAT_BOTH = LinearProgression(
    rounding=False, rate_distribution="normal", rate_sd=1e-6, baseline_sd=1e-6
)

# (name, seed, reps, design, model, effect as a fraction: "percent" scale)
SCENARIOS: list[tuple[str, int, int, TrialDesign, ProgressionModel, float]] = [
    ("d50_n20_f6_null", 1101, 3, TrialDesign(n_per_arm=20), D50Progression(), 0.0),
    ("d50_n20_f12_e30", 1102, 1, TrialDesign(n_per_arm=20, follow_up_months=12.0),
     D50Progression(), 0.3),
    ("d50_n50_f6_e30", 1103, 2, TrialDesign(n_per_arm=50), D50Progression(), 0.3),
    ("d50_n50_f12_null", 1104, 1, TrialDesign(n_per_arm=50, follow_up_months=12.0),
     D50Progression(), 0.0),
    ("d50_n100_f12_e30", 1105, 2, TrialDesign(n_per_arm=100, follow_up_months=12.0),
     D50Progression(), 0.3),
    ("d50_n50_alloc2_f12_e30", 1106, 1,
     TrialDesign(n_per_arm=50, allocation=2.0, follow_up_months=12.0), D50Progression(), 0.3),
    ("d50_n50_quarterly_f12_e30", 1107, 1,
     TrialDesign(n_per_arm=50, follow_up_months=12.0, visit_interval_months=3.0),
     D50Progression(), 0.3),
    ("linear_n20_f6_e30", 2101, 2, TrialDesign(n_per_arm=20), LINEAR, 0.3),
    ("linear_n50_f12_null", 2102, 1, TrialDesign(n_per_arm=50, follow_up_months=12.0),
     LINEAR, 0.0),
    ("linear_n100_f6_e30", 2103, 1, TrialDesign(n_per_arm=100), LINEAR, 0.3),
    ("linear_n100_f12_null", 2104, 1, TrialDesign(n_per_arm=100, follow_up_months=12.0),
     LINEAR, 0.0),
    ("linear_n50_alloc2_f6_e30", 2105, 1, TrialDesign(n_per_arm=50, allocation=2.0),
     LINEAR, 0.3),
    ("boundary_slope_sd0_n50_f12_e30", 3101, 3,
     TrialDesign(n_per_arm=50, follow_up_months=12.0), FLAT_SLOPES, 0.3),
    ("boundary_intercept_sd0_n30_f6_null", 3102, 2, TrialDesign(n_per_arm=30),
     FLAT_BASELINE, 0.0),
    ("boundary_both_sd0_n20_f6_e30", 3103, 2, TrialDesign(n_per_arm=20), FLAT_BOTH, 0.3),
]  # fmt: skip


def _model_dict(model: ProgressionModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "baseline_sd": model.baseline_sd,
        "rate_sd": model.rate_sd,
        "rate_distribution": model.rate_distribution,
        "noise_sd": model.noise_sd,
        "rounding": model.rounding,
        "death_rate_per_month": model.death.rate_per_month,
        "dropout_rate_per_month": model.dropout.rate_per_month,
        "other_parameters": "defaults",
    }


def main() -> None:
    header: list[str] = []
    rows: list[str] = []
    trial = 0
    for name, seed, reps, design, model, effect in SCENARIOS:
        batch = simulate_trials(
            design,
            model,
            TreatmentEffect(mean=effect, scale="percent"),
            reps,
            rng=np.random.default_rng(seed),
        )
        for rep in range(reps):
            trial += 1
            visits = batch.visits(rep)
            visits = visits[visits["t_months"] >= 0]
            meta = {
                "trial": trial,
                "case": name,
                "seed": seed,
                "replicate": rep,
                "reps": reps,
                "design": design.to_dict(),
                "model": _model_dict(model),
                "effect": {"mean": effect, "scale": "percent"},
            }
            header.append("# " + json.dumps(meta, separators=(",", ":")))
            fmt = "{:.0f}" if model.rounding else "{:.4f}"
            for sid, arm, t, y in zip(
                visits["subject_id"], visits["arm"], visits["t_months"], visits["total"],
                strict=True,
            ):  # fmt: skip
                rows.append(f"{trial},{sid},{arm},{t:.17g},{fmt.format(y)}")
    lines = [
        "# Simulated trials for validation/r/simulate_fixtures.R; written by "
        "validation/simulate/write_trials.py (do not edit). One JSON line per trial:",
        *header,
        "trial,subject_id,arm,t_months,total",
        *rows,
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} with {trial} trials, {len(rows)} visits")


if __name__ == "__main__":
    main()
