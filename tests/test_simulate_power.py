"""Power by simulation: closed forms, Monte Carlo agreement, type I error, determinism."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsmeta.errors import InputError
from alsmeta.patients.mixed import slope_model
from alsmeta.simulate import (
    D50Progression,
    EventModel,
    LinearProgression,
    TreatmentEffect,
    TrialDesign,
    analytic_slope_power,
    effect_from_meta,
    expected_difference,
    power_curve,
    simulate_trials,
    two_sample_power,
)
from alsmeta.simulate.analysis import analyse

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "power_reference.json").read_text())

# Linear trajectories with normal rates, no clipping, no rounding, no death or dropout:
# the case in which the mixed model's test is the two-sample t test on per-patient slopes.
CLOSED_FORM = LinearProgression(
    rate_distribution="normal",
    rate_sd=0.8,
    rate_range=(-math.inf, math.inf),
    rounding=False,
    noise_sd=1.5,
    death=EventModel(rate_per_month=0.0),
    dropout=EventModel(rate_per_month=0.0),
)


def _mc_bound(p: float, reps: int) -> float:
    """Four Monte Carlo standard errors of a proportion."""
    return 4 * math.sqrt(p * (1 - p) / reps)


# --------------------------------------------------------------------------- closed form
def test_reference_grid_size() -> None:
    assert len(REFERENCE["cases"]) == 96


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["call"][13:60])
def test_two_sample_power_matches_r_power_t_test(case: dict) -> None:
    n = int(case["n"])
    got = two_sample_power(case["delta"], case["sd"], n, n, alpha=case["alpha"])
    assert got == pytest.approx(case["power"], rel=1e-10, abs=1e-13)


def test_two_sample_power_published_example() -> None:
    # Cohen 1988, Table 2.4.1: d = 0.5 with 64 per group gives power 0.80 (alpha 0.05).
    assert round(two_sample_power(0.5, 1.0, 64, 64), 2) == 0.80


def test_two_sample_power_unequal_arms_equals_equivalent_noncentrality() -> None:
    # 30 vs 60: the noncentrality uses sqrt(1/30 + 1/60) and df 88.
    from scipy import stats

    ncp = 0.5 / math.sqrt(1 / 30 + 1 / 60)
    crit = stats.t.ppf(0.975, 88)
    expected = stats.nct.sf(crit, 88, ncp) + stats.nct.cdf(-crit, 88, ncp)
    assert two_sample_power(0.5, 1.0, 30, 60) == pytest.approx(expected, rel=1e-12)


def test_analytic_slope_power_refuses_models_without_a_closed_form() -> None:
    with pytest.raises(InputError) as info:
        analytic_slope_power(D50Progression(), TrialDesign(), 0.3)
    text = str(info.value)
    assert "rate_distribution" in text and "death" in text


# --------------------------------------------------------------------------- simulation
def test_simulated_power_reproduces_the_closed_form() -> None:
    reps = 1000
    res = power_curve([40], [0.25, 0.45], model=CLOSED_FORM, reps=reps, seed=11)
    for rec in res.to_dict():
        exact = analytic_slope_power(CLOSED_FORM, TrialDesign(n_per_arm=40), rec["effect"])
        assert abs(rec["power"] - exact) < _mc_bound(exact, reps), (rec, exact)
        assert rec["power_ci_lower"] <= rec["power"] <= rec["power_ci_upper"]


def test_type_one_error_is_nominal_under_the_realistic_model() -> None:
    # D50 trajectories, rounded totals, informative death and dropout: the randomised
    # comparison must still reject a true null at the nominal rate.
    reps = 1200
    res = power_curve([60], [0.3], effect_scale="percent", reps=reps, seed=5, null=True)
    t1 = res.to_dict()[0]["type1_error"]
    assert abs(t1 - 0.05) < _mc_bound(0.05, reps), t1


def test_null_run_shares_patients_with_effect_runs() -> None:
    res = power_curve([20], [0.0], model=CLOSED_FORM, reps=30, seed=3, null=True)
    reps = res.replicates
    zero = reps[~reps["is_null_run"]]["p_value"].to_numpy()
    null = reps[reps["is_null_run"]]["p_value"].to_numpy()
    np.testing.assert_array_equal(zero, null)


def test_results_do_not_depend_on_the_other_sample_sizes_in_the_grid() -> None:
    one = power_curve([25], [0.4], model=CLOSED_FORM, reps=40, seed=2)
    two = power_curve([50, 25], [0.4], model=CLOSED_FORM, reps=40, seed=2)
    a = one.replicates["p_value"].to_numpy()
    b = two.replicates[two.replicates["n_per_arm"] == 25]["p_value"].to_numpy()
    np.testing.assert_array_equal(a, b)


def test_seed_changes_the_numbers_and_repeats_them() -> None:
    a = power_curve([20], [0.4], model=CLOSED_FORM, reps=30, seed=1).replicates
    b = power_curve([20], [0.4], model=CLOSED_FORM, reps=30, seed=1).replicates
    c = power_curve([20], [0.4], model=CLOSED_FORM, reps=30, seed=2).replicates
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["p_value"], c["p_value"])


@pytest.mark.parametrize("workers", [1, 2])
def test_dask_backend_gives_identical_numbers(workers: int) -> None:
    pytest.importorskip("distributed")
    kwargs = dict(model=D50Progression(), effect_scale="percent", reps=60, seed=7,
                  chunk_size=20, null=True)  # fmt: skip
    local = power_curve([15, 30], [0.3], **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dask = power_curve([15, 30], [0.3], backend="dask", workers=workers, **kwargs)
    pd.testing.assert_frame_equal(local.scenarios, dask.scenarios)
    pd.testing.assert_frame_equal(local.replicates, dask.replicates)


def test_power_json_keys_in_order() -> None:
    res = power_curve([10, 20], [0.5], model=CLOSED_FORM, reps=10, seed=1, null=True)
    rows = res.to_dict()
    assert len(rows) == 2
    assert list(rows[0])[:9] == [
        "design", "endpoint", "n_per_arm", "effect", "reps", "power", "power_ci_lower",
        "power_ci_upper", "type1_error",
    ]  # fmt: skip
    json.dumps(rows)
    without_null = power_curve([10], [0.5], model=CLOSED_FORM, reps=5, seed=1).to_dict()
    assert without_null[0]["type1_error"] is None


def test_batch_slope_endpoint_equals_slope_model_trial_by_trial() -> None:
    batch = simulate_trials(TrialDesign(n_per_arm=30), D50Progression(),
                            TreatmentEffect(mean=0.3, scale="percent"), 6,
                            rng=np.random.default_rng(4))  # fmt: skip
    res = analyse(batch, "slope")
    for r in range(batch.reps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = slope_model(batch.visits(r), control="Placebo")
        assert res.estimate[r] == pytest.approx(single.slope_difference, rel=1e-6, abs=1e-9)
        assert res.statistic[r] == pytest.approx(single.statistic, rel=1e-5)
        assert res.p_value[r] == pytest.approx(single.p_value, rel=1e-4, abs=1e-9)


def test_sample_size_interpolates_between_bracketing_sizes() -> None:
    res = power_curve([20, 40, 80], [0.45], model=CLOSED_FORM, reps=200, seed=9)
    table = res.sample_size(0.8)
    row = table.iloc[0]
    powers = res.scenarios.set_index("n_per_arm")["power"]
    first = min(n for n, p in powers.items() if p >= 0.8)
    assert row["n_per_arm_simulated"] == first
    assert first / 2 <= row["n_per_arm_interpolated"] <= first
    unreachable = res.sample_size(0.999)
    assert math.isnan(unreachable.iloc[0]["n_per_arm_simulated"])
    with pytest.raises(InputError):
        res.sample_size(80)


def test_summary_lists_every_scenario() -> None:
    res = power_curve([10, 20], [0.3, 0.6], model=CLOSED_FORM, reps=10, seed=1)
    text = res.summary()
    assert "parallel design, endpoint slope" in text
    assert len([ln for ln in text.splitlines() if ln.strip().startswith(("10 ", "20 "))]) == 4


# --------------------------------------------------------------------------- from meta
def _meta(yi: list[float], vi: list[float]) -> Any:
    from alsmeta.effects import EffectSizeTable
    from alsmeta.meta import meta_analysis

    return meta_analysis(EffectSizeTable.from_arrays(yi=yi, vi=vi), method="REML")


def test_effect_from_meta_under_the_linear_model_matches_the_closed_form() -> None:
    # Linear decline: a fraction f slows patient i by f * r_i, so the MD at t months is
    # f * t * E[r] with r the clipped log-normal rate; E[r] here by quadrature (scipy),
    # not by the simulator's draws.
    from scipy import integrate

    model = LinearProgression()
    sigma2 = math.log1p((model.rate_sd / model.rate_mean) ** 2)
    dist = stats.lognorm(s=math.sqrt(sigma2), scale=model.rate_mean * math.exp(-sigma2 / 2))
    lo, hi = model.rate_range
    inside, _ = integrate.quad(lambda r: r * dist.pdf(r), lo, hi, limit=200)
    mean_rate = lo * dist.cdf(lo) + inside + hi * dist.sf(hi)
    res = _meta([3.4, 2.0, 1.0], [1.2, 0.5, 0.9])
    eff = effect_from_meta(res, months=6, predictive=False, model=model)
    assert eff.scale == "percent" and eff.sd == 0
    # 200,000 calibration patients: the MC error of E[r] is about 0.5 %
    assert eff.mean == pytest.approx(res.estimate / (6 * mean_rate), rel=0.01)
    predictive = effect_from_meta(res, months=6, model=model)
    assert predictive.mean == eff.mean
    assert predictive.sd == pytest.approx(
        math.sqrt(res.tau2 + res.se**2) / (6 * mean_rate), rel=0.01
    )
    assert "predictive distribution" in predictive.source and "linear model" in eff.source


def test_simulated_trials_under_the_meta_effect_reproduce_the_pooled_md() -> None:
    # The D50 model has no closed form: run large simulated trials (no noise, rounding,
    # death or dropout, so every patient is seen at month 6) and compare the difference
    # in mean change at 6 months with the pooled MD.
    quiet = EventModel(rate_per_month=0.0)
    model = D50Progression(noise_sd=0.0, rounding=False, death=quiet, dropout=quiet)
    res = _meta([3.4, 2.0, 1.0], [1.2, 0.5, 0.9])
    eff = effect_from_meta(res, months=6, predictive=False, model=model)
    design = TrialDesign(design="parallel", n_per_arm=50_000, follow_up_months=6.0)
    batch = simulate_trials(design, model, eff, 1, rng=np.random.default_rng(8))
    change = batch.total[0, :, -1] - batch.total[0, :, 0]
    treated, control = change[batch.arm == 1], change[batch.arm == 0]
    md = treated.mean() - control.mean()
    se = math.sqrt(treated.var() / treated.size + control.var() / control.size)
    assert abs(md - res.estimate) < 4 * se, (md, res.estimate, se)
    assert expected_difference(model, eff, months=6) == pytest.approx(res.estimate, abs=1e-6)


def test_effect_from_meta_refuses_what_the_model_cannot_produce() -> None:
    res = _meta([3.4, 2.0, 1.0], [1.2, 0.5, 0.9])
    with pytest.raises(InputError, match="months=0"):
        effect_from_meta(res, months=0)
    with pytest.raises(InputError, match="outside what the d50 model can produce"):
        effect_from_meta(_meta([40.0, 41.0], [1.0, 1.0]), months=6)


def test_expected_difference_checks_its_arguments() -> None:
    with pytest.raises(InputError, match="months"):
        expected_difference(LinearProgression(), 0.2, months=-1)
    with pytest.raises(InputError):
        expected_difference(LinearProgression(), 2.0, scale="d50")
    assert expected_difference(D50Progression(), 0.0, scale="percent") == 0.0


def test_predictive_effect_varies_between_trials() -> None:
    eff = TreatmentEffect(mean=0.3, sd=0.2, scale="points")
    res = power_curve([10], [eff], model=CLOSED_FORM, reps=50, seed=1)
    true = res.replicates["true_effect"].to_numpy()
    assert true.std() > 0.1
    assert res.to_dict()[0]["effect_sd"] == 0.2


# --------------------------------------------------------------------------- errors
def test_power_curve_collects_every_problem() -> None:
    with pytest.raises(InputError) as info:
        power_curve([1, 1], [], reps=0, seed=-1, alpha=2, endpoint="nope", chunk_size=0)
    messages = [p.message for p in info.value.problems]
    assert len(messages) >= 7, messages


def test_backend_options_are_checked() -> None:
    with pytest.raises(InputError, match="workers and scheduler apply"):
        power_curve([10], [0.3], model=CLOSED_FORM, reps=2, workers=2)
    with pytest.raises(InputError, match="backend="):
        power_curve([10], [0.3], model=CLOSED_FORM, reps=2, backend="spark")


def test_effect_scale_the_model_cannot_express() -> None:
    with pytest.raises(InputError, match="d50"):
        power_curve([10], [3.0], model=LinearProgression(), effect_scale="d50", reps=2)


def test_a_trial_that_cannot_be_analysed_gets_nan_and_does_not_stop_the_others() -> None:
    from alsmeta.simulate._lmm_batch import fit_slope_batch, sufficient_batch

    batch = simulate_trials(TrialDesign(n_per_arm=20), D50Progression(),
                            TreatmentEffect(mean=0.3, scale="percent"), 4,
                            rng=np.random.default_rng(2))  # fmt: skip
    observed = np.array(batch.observed)
    observed[1, batch.arm == 1, 1:] = False  # no treated patient seen after month 0
    stats_all = sufficient_batch(batch.months, batch.total, observed, batch.arm)
    res = fit_slope_batch(stats_all)
    assert np.isnan(res.estimate[1]) and np.isnan(res.p_value[1])
    assert res.analysable.tolist() == [True, False, True, True]
    alone = fit_slope_batch(sufficient_batch(batch.months, batch.total[[0, 2, 3]],
                                             observed[[0, 2, 3]], batch.arm))  # fmt: skip
    np.testing.assert_allclose(res.estimate[[0, 2, 3]], alone.estimate, rtol=1e-9)
    with pytest.raises(InputError, match="df_method"):
        fit_slope_batch(stats_all, df_method="kenward-roger")


def test_endpoint_options_are_checked_against_the_endpoint() -> None:
    with pytest.raises(InputError, match="endpoint 'slope' has no option 'month'"):
        power_curve([10], [0.3], model=CLOSED_FORM, reps=2, endpoint_options={"month": 3})
    ok = power_curve([10], [0.3], model=CLOSED_FORM, reps=2, endpoint="ancova",
                     endpoint_options={"month": 3})  # fmt: skip
    assert ok.to_dict()[0]["endpoint"] == "ancova"


def test_sample_size_keeps_a_predictive_effect_apart_from_its_mean() -> None:
    effects = [TreatmentEffect(mean=0.45, scale="points"),
               TreatmentEffect(mean=0.45, sd=0.2, scale="points")]  # fmt: skip
    res = power_curve([20, 60], effects, model=CLOSED_FORM, reps=40, seed=1)
    table = res.sample_size(0.5)
    assert len(table) == 2
    assert sorted(table["effect_sd"]) == [0.0, 0.2]


def test_favourable_share_and_its_clopper_pearson_interval() -> None:
    from scipy.stats import binomtest

    res = power_curve([15], [0.0], model=LinearProgression(), reps=80, seed=11,
                      design=TrialDesign(design="single-arm-lead-in", min_lead_in_decline=3),
                      endpoint="lead-in")  # fmt: skip
    row = res.to_dict()[0]
    reps = res.replicates
    k = int(((reps["p_value"] < 0.05) & reps["favours_treatment"]).sum())
    assert row["power_favourable"] == k / 80
    ci = binomtest(k, 80).proportion_ci(confidence_level=0.95, method="exact")
    assert row["power_favourable_ci_lower"] == pytest.approx(ci.low, abs=1e-12)
    assert row["power_favourable_ci_upper"] == pytest.approx(ci.high, abs=1e-12)


def test_enrolling_fast_lead_in_decliners_makes_a_single_arm_study_show_slowing() -> None:
    # Regression to the mean: patients enrolled because they lost >= 3 points in a noisy
    # 3-month lead-in decline more slowly afterwards, with no treatment at all (linear
    # natural history, so nothing else changes their rate). Without enrichment the paired
    # test keeps its level.
    reps = 400
    common = {"model": LinearProgression(), "reps": reps, "seed": 4, "endpoint": "lead-in"}
    enriched = power_curve(
        [30], [0.0], design=TrialDesign(design="single-arm-lead-in", min_lead_in_decline=3),
        **common,
    ).to_dict()[0]  # fmt: skip
    plain = power_curve([30], [0.0], design=TrialDesign(design="single-arm-lead-in"), **common)
    assert enriched["mean_estimate"] > 0.1  # apparent slowing, points/month
    assert enriched["power_favourable"] > 0.05 + _mc_bound(0.05, reps)
    assert plain.to_dict()[0]["power"] < 0.05 + _mc_bound(0.05, reps)


def test_sample_size_on_the_favourable_share() -> None:
    # A predictive effect reaching far below zero: many significant trials favour control.
    res = power_curve([10, 40], [TreatmentEffect(mean=0.2, sd=1.5)], model=CLOSED_FORM,
                      reps=200, seed=2)  # fmt: skip
    rows = res.to_dict()
    assert all(r["power_favourable"] < r["power"] - 0.1 for r in rows)
    target = 0.6  # reached by the two-sided share at n = 10, never by the favourable one
    assert rows[0]["power"] >= target > max(r["power_favourable"] for r in rows)
    assert res.sample_size(target)["n_per_arm_simulated"].iloc[0] == 10
    favourable = res.sample_size(target, column="power_favourable")
    assert math.isnan(favourable["n_per_arm_simulated"].iloc[0])
    with pytest.raises(InputError, match="column="):
        res.sample_size(0.8, column="p_value")
