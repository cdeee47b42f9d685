"""Progression models and simulated trials: the properties the model docstrings promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alsmeta.errors import InputError
from alsmeta.patients import d50_curve
from alsmeta.simulate import (
    D50Progression,
    EventModel,
    LinearProgression,
    TreatmentEffect,
    TrialDesign,
    simulate_trials,
)

NO_EVENTS = {"death": EventModel(rate_per_month=0.0), "dropout": EventModel(rate_per_month=0.0)}


def _draws(model, shape=(3, 50), seed=1):
    return model.draw(np.random.default_rng(seed), shape)


@pytest.mark.parametrize("model", [LinearProgression(), D50Progression()])
def test_total_and_rate_at_month_zero_are_the_drawn_ones(model) -> None:
    d = _draws(model)
    h = 1e-5
    f = model.expected(d, np.array([-h, 0.0]), np.zeros_like(d.rate), "percent")
    np.testing.assert_allclose(f[..., 1], d.baseline, rtol=1e-12)
    np.testing.assert_allclose((f[..., 1] - f[..., 0]) / h, -d.rate, rtol=1e-4)


def test_d50_model_is_the_d50_curve_with_total_24_at_d50() -> None:
    model = D50Progression()
    d = _draws(model)
    d50, dx = model.curve(d)
    months = np.array([-2.0, 0.0, 3.0])
    f = model.expected(d, months, np.zeros_like(d.rate), "percent")
    direct = d50_curve(d.onset_months[..., None] + months, d50[..., None], dx[..., None])
    np.testing.assert_allclose(f, direct, rtol=1e-12)
    np.testing.assert_allclose(d50_curve(d50, d50, dx), 24.0)


def test_effects_slow_the_decline_after_month_zero_only() -> None:
    lin, d50 = LinearProgression(), D50Progression()
    d = _draws(lin)
    months = np.array([-3.0, 0.0, 6.0])
    eff = np.full_like(d.rate, 0.3)
    base = lin.expected(d, months, np.zeros_like(eff), "points")
    pts = lin.expected(d, months, eff, "points")
    pct = lin.expected(d, months, eff, "percent")
    np.testing.assert_allclose(pts[..., :2], base[..., :2])
    np.testing.assert_allclose(pts[..., 2] - base[..., 2], 0.3 * 6)
    np.testing.assert_allclose(pct[..., 2] - base[..., 2], 0.3 * d.rate * 6)
    d2 = _draws(d50)
    slowed = d50.expected(d2, months, eff, "percent")
    plain = d50.expected(d2, months, np.zeros_like(eff), "percent")
    np.testing.assert_allclose(slowed[..., :2], plain[..., :2])
    assert (slowed[..., 2] >= plain[..., 2]).all()


def test_d50_shift_delays_reaching_24_by_the_effect() -> None:
    model = D50Progression()
    d = _draws(model, (1, 400))
    d50, _ = model.curve(d)
    before = d50 > d.onset_months + 1.0  # patients above 24 at month 0, > 1 month away
    shift = 4.0
    t_plain = d50 - d.onset_months
    t_shifted = t_plain + shift
    f = model.expected(d, t_shifted[0], np.full_like(d.rate, shift), "d50")
    # The expected total at the delayed time equals 24 for each patient (diagonal).
    diag = f[0, np.arange(400), np.arange(400)]
    np.testing.assert_allclose(diag[before[0]], 24.0, rtol=1e-9)


def test_linear_model_refuses_a_d50_shift() -> None:
    with pytest.raises(InputError, match="cannot express"):
        simulate_trials(TrialDesign(n_per_arm=5), LinearProgression(),
                        TreatmentEffect(mean=2.0, scale="d50"), 1,
                        rng=np.random.default_rng(0))  # fmt: skip


def test_rates_follow_the_cited_natural_history_before_clipping() -> None:
    model = LinearProgression(rate_range=(-math.inf, math.inf))
    d = _draws(model, (1, 200_000), seed=3)
    assert d.rate.mean() == pytest.approx(1.02, rel=0.03)
    assert d.rate.std() == pytest.approx(2.3, rel=0.1)
    assert np.median(d.rate) < d.rate.mean()  # right-skewed
    assert d.baseline.mean() == pytest.approx(30.3, abs=0.1)
    assert d.onset_months.mean() == pytest.approx(19.6, rel=0.01)


def test_visits_stop_at_death_or_dropout_and_lead_in_is_always_seen() -> None:
    design = TrialDesign(design="lead-in-randomised", n_per_arm=200, follow_up_months=12)
    model = D50Progression(death=EventModel(rate_per_month=0.05),
                           dropout=EventModel(rate_per_month=0.03))  # fmt: skip
    b = simulate_trials(design, model, TreatmentEffect(mean=0.0), 3, rng=np.random.default_rng(5))
    assert b.observed[..., b.months <= 0].all()
    end = np.minimum(b.death_months, b.dropout_months)
    after = b.months[None, None, :] >= end[..., None]
    assert not (b.observed & after).any()
    assert np.isnan(b.total[~b.observed]).all()
    assert (b.death_months[b.died] > 0).all() and (b.death_months[b.died] <= 12).all()
    assert b.died.mean() > 0.05 and np.isfinite(b.dropout_months).mean() > 0.03
    # A dropout before death: the death is still known (vital status is followed).
    assert (np.isfinite(b.dropout_months) & b.died).any()
    assert (
        b.dropout_months[b.died & np.isfinite(b.dropout_months)]
        < b.death_months[b.died & np.isfinite(b.dropout_months)]
    ).all()


def test_hazard_rises_as_function_declines() -> None:
    ev = EventModel(rate_per_month=0.01, reference_total=30, doubling_points=6)
    np.testing.assert_allclose(ev.hazard(np.array([30.0, 24.0, 36.0])), [0.01, 0.02, 0.005])
    fast = D50Progression(rate_mean=3.0, rate_sd=1.0)
    slow = D50Progression(rate_mean=0.3, rate_sd=0.1)
    design = TrialDesign(n_per_arm=500, follow_up_months=12)
    deaths = [
        simulate_trials(
            design, m, TreatmentEffect(mean=0.0), 2, rng=np.random.default_rng(1)
        ).died.mean()
        for m in (fast, slow)
    ]
    assert deaths[0] > 2 * deaths[1]


def test_no_events_means_everyone_is_seen_at_every_visit() -> None:
    b = simulate_trials(TrialDesign(n_per_arm=30), LinearProgression(**NO_EVENTS),
                        TreatmentEffect(mean=0.2), 2, rng=np.random.default_rng(1))  # fmt: skip
    assert b.observed.all() and not b.died.any()


def test_rounding_gives_integer_totals_in_range() -> None:
    b = simulate_trials(TrialDesign(n_per_arm=50), D50Progression(), TreatmentEffect(mean=0.2),
                        2, rng=np.random.default_rng(1))  # fmt: skip
    seen = b.total[b.observed]
    assert (seen == np.rint(seen)).all() and seen.min() >= 0 and seen.max() <= 48
    raw = simulate_trials(TrialDesign(n_per_arm=50), D50Progression(rounding=False),
                          TreatmentEffect(mean=0.2), 2, rng=np.random.default_rng(1))  # fmt: skip
    assert (raw.total[raw.observed] != np.rint(raw.total[raw.observed])).any()


def test_enrichment_enrols_only_patients_with_the_lead_in_decline() -> None:
    design = TrialDesign(design="lead-in-randomised", n_per_arm=40, min_lead_in_decline=3)
    b = simulate_trials(design, D50Progression(), TreatmentEffect(mean=0.0), 4,
                        rng=np.random.default_rng(2))  # fmt: skip
    decline = b.total[..., 0] - b.total[..., b.months == 0][..., 0]
    assert (decline >= 3).all()
    assert b.total.shape[:2] == (4, 80)


def test_enrichment_that_nobody_meets_is_an_input_error() -> None:
    design = TrialDesign(design="lead-in-randomised", n_per_arm=5, min_lead_in_decline=60)
    with pytest.raises(InputError, match="qualify"):
        simulate_trials(design, D50Progression(), TreatmentEffect(mean=0.0), 1,
                        rng=np.random.default_rng(2))  # fmt: skip


def test_allocation_and_single_arm_sizes() -> None:
    assert TrialDesign(n_per_arm=30, allocation=2).n_treated == 60
    single = TrialDesign(design="single-arm-lead-in", n_per_arm=25)
    assert (single.n_control, single.n_treated) == (0, 25)
    assert single.months().tolist() == [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6]
    assert TrialDesign().months().tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_design_errors_are_collected() -> None:
    with pytest.raises(InputError) as info:
        TrialDesign(design="crossover", n_per_arm=1, allocation=-1, visit_interval_months=0)
    assert len(info.value.problems) >= 4
    with pytest.raises(InputError, match="min_lead_in_decline needs a lead-in"):
        TrialDesign(min_lead_in_decline=3)


def test_effect_errors() -> None:
    with pytest.raises(InputError, match="fraction"):
        TreatmentEffect(mean=25, scale="percent")
    with pytest.raises(InputError):
        TreatmentEffect(mean=0.2, scale="hazard", sd=-1)


def test_same_rng_seed_same_trials_and_visits_frame() -> None:
    args = (
        TrialDesign(n_per_arm=10),
        D50Progression(),
        TreatmentEffect(mean=0.2, scale="percent"),
        2,
    )
    a = simulate_trials(*args, rng=np.random.default_rng(9))
    b = simulate_trials(*args, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.total, b.total)
    frame = a.visits(1)
    assert list(frame.columns) == ["subject_id", "arm", "t_months", "days", "total"]
    assert len(frame) == int(a.observed[1].sum())
    assert set(frame["arm"]) == {"Placebo", "Active"}
    with pytest.raises(ValueError):
        a.total[0, 0, 0] = 1.0  # read-only
