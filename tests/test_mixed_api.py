"""Behaviour of slope_model, ancova and mmrm: invariances, results, bad input."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from alsmeta.errors import ConvergenceWarning, InputError
from alsmeta.patients import synth_cohort
from alsmeta.patients.mixed import (
    SlopeModelResult,
    TrialVisits,
    ancova,
    mmrm,
    slope_model,
    trial_visits,
)
from conftest import load_fixture

CASES = {c["name"]: c for c in load_fixture("mixed_reference.json")["cases"]}
SLOPE_KEYS = [
    "slope_difference", "se", "statistic", "p_value", "ci_lower", "ci_upper", "df", "slopes",
    "variance_components", "n_subjects", "n_visits",
]  # fmt: skip


def data(name: str = "n60") -> pd.DataFrame:
    return pd.DataFrame(CASES[name]["data"])


def quiet(fun, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fun(*args, **kwargs)


@pytest.fixture(scope="module")
def fit() -> SlopeModelResult:
    return quiet(slope_model, data(), control="Placebo")


def test_to_dict_has_exactly_the_cli_keys(fit: SlopeModelResult) -> None:
    out = fit.to_dict()
    assert list(out) == SLOPE_KEYS
    assert list(out["variance_components"]) == [
        "intercept_var", "slope_var", "intercept_slope_cov", "residual_var",
    ]  # fmt: skip
    assert out["slopes"][0]["arm"] == "Placebo"
    assert set(out["slopes"][0]) == {"arm", "slope", "se"}
    assert out["slope_difference"] == pytest.approx(
        out["slopes"][1]["slope"] - out["slopes"][0]["slope"], rel=1e-10
    )


def test_result_is_frozen_and_arrays_read_only(fit: SlopeModelResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.se = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        fit.vcov[0, 0] = 1.0
    assert fit.to_frame()["term"].tolist()[-1] == "t_months:armActive"
    text = fit.summary()
    assert "Satterthwaite" in text and "Slope difference Active - Placebo" in text


def test_default_control_is_first_sorted_level_and_swap_negates() -> None:
    default = quiet(slope_model, data())
    swapped = quiet(slope_model, data(), control="Placebo")
    assert default.control == "Active"
    assert default.slope_difference == pytest.approx(-swapped.slope_difference, rel=1e-7)
    assert default.se == pytest.approx(swapped.se, rel=1e-7)
    assert default.df == pytest.approx(swapped.df, rel=1e-6)
    assert default.slope_var == pytest.approx(swapped.slope_var, rel=1e-7)


def test_normal_df_and_ml() -> None:
    normal = quiet(slope_model, data(), control="Placebo", df_method="normal")
    assert math.isinf(normal.df) and normal.to_dict()["df"] is None
    z = normal.slope_difference / normal.se
    assert normal.ci_upper - normal.slope_difference == pytest.approx(1.959963985 * normal.se)
    assert normal.statistic == pytest.approx(z)
    ml = quiet(slope_model, data(), control="Placebo", reml=False)
    assert ml.method == "ML" and ml.loglik == pytest.approx(-ml.deviance / 2)
    assert "fit by ML" in ml.summary()


def test_days_and_months_give_the_same_per_month_slope() -> None:
    months = data()
    days = months.rename(columns={"t_months": "days"})
    days["days"] = days["days"] * 30.4375
    a = quiet(slope_model, months, control="Placebo")
    b = quiet(slope_model, days, control="Placebo")
    assert b.slope_difference == pytest.approx(a.slope_difference, rel=1e-7)


def test_row_order_does_not_matter() -> None:
    shuffled = data().sample(frac=1.0, random_state=3)
    a = quiet(slope_model, data(), control="Placebo")
    b = quiet(slope_model, shuffled, control="Placebo")
    assert b.slope_difference == pytest.approx(a.slope_difference, rel=1e-8)
    assert b.intercept_var == pytest.approx(a.intercept_var, rel=1e-7)


def test_visit_table_input_from_synthetic_cohort() -> None:
    cohort = synth_cohort(120, rng=np.random.default_rng(11), effect=0.4)
    res = quiet(slope_model, cohort, control="Placebo")
    assert res.n_subjects == 120 and res.n_visits == cohort.n_visits
    assert res.converged and res.iterations > 0 and res.gradient_norm < 1e-3
    assert isinstance(res.visits, TrialVisits)


def test_single_visit_subject_is_kept_with_a_warning() -> None:
    d = data()
    first = d["subject_id"].iloc[0]
    d = d[(d["subject_id"] != first) | (d["t_months"] == 0)]
    with pytest.warns(UserWarning, match="single visit"):
        res = slope_model(d, control="Placebo")
    assert res.n_subjects == CASES["n60"]["n_subjects"]


def test_boundary_fit_is_flagged() -> None:
    with pytest.warns(ConvergenceWarning, match="boundary"):
        res = slope_model(data("n40_singular"), control="Placebo")
    assert res.boundary and res.theta[2] < 1e-4
    assert any("boundary" in n for n in res.notes)


def test_bad_input_lists_every_problem() -> None:
    d = data()
    with pytest.raises(InputError, match="exactly 2 arms"):
        slope_model(d[d["arm"] == "Active"])
    with pytest.raises(InputError) as err:
        slope_model(d.drop(columns=["arm", "total"]))
    assert len(err.value.problems) == 2
    with pytest.raises(InputError, match="control='placebo' is not an arm"):
        slope_model(d, control="placebo")
    three = d.copy()
    three.loc[three["subject_id"] == three["subject_id"].iloc[0], "arm"] = "Other"
    with pytest.raises(InputError, match="found 3"):
        slope_model(three)
    changing = d.copy()
    changing.loc[0, "arm"] = "Placebo" if d.loc[0, "arm"] == "Active" else "Active"
    with pytest.raises(InputError, match="arm changes"):
        slope_model(changing)
    missing = d.copy()
    missing.loc[[2, 5], "total"] = np.nan
    with pytest.raises(InputError) as err:
        slope_model(missing)
    assert [p.row for p in err.value.problems] == [3, 6]
    dup = pd.concat([d, d.iloc[[1]]])
    with pytest.raises(InputError, match="duplicate visit time"):
        slope_model(dup)
    with pytest.raises(InputError, match="df_method"):
        slope_model(d, df_method="kenward-roger")
    with pytest.raises(InputError, match="percentage"):
        slope_model(d, level=95)
    with pytest.raises(InputError, match="VisitTable or a pandas DataFrame"):
        slope_model([1, 2, 3])  # type: ignore[arg-type]


def test_trial_visits_swaps_control() -> None:
    tv = trial_visits(data(), control="Placebo")
    back = trial_visits(tv, control="Active")
    assert back.control == "Active" and (back.arm == 1 - tv.arm).all()
    assert trial_visits(tv) is tv


def test_ancova_reports_who_contributed() -> None:
    with pytest.warns(UserWarning, match="did not contribute"):
        res = ancova(data(), month=12, control="Placebo")
    table = res.subjects
    assert res.n_subjects == int((table["status"] == "ok").sum())
    assert set(table["status"]) >= {"ok", "no visit within +-0.5 months of month 12"}
    assert res.by_arm["n"].sum() == res.n_subjects
    out = res.to_dict()
    assert out["n_excluded"] == len(table) - res.n_subjects
    assert {"subject_id", "arm", "status"} == set(out["subjects"][0])
    assert "lm(change ~ baseline + arm)" in res.summary()


def test_ancova_bad_options() -> None:
    with pytest.raises(InputError, match="window"):
        ancova(data(), month=12, window=0)
    with pytest.raises(InputError, match="month"):
        ancova(data(), month=0.2)
    with pytest.raises(InputError, match="too few subjects"):
        quiet(ancova, data(), month=40)


def test_mmrm_by_visit_and_contributions() -> None:
    res = quiet(mmrm, data(), visits_months=[12, 3, 6, 9], control="Placebo")
    assert res.visits_months == (3.0, 6.0, 9.0, 12.0)
    assert res.by_visit["visit_months"].tolist() == [3.0, 6.0, 9.0, 12.0]
    assert res.estimate == res.by_visit["estimate"].iloc[-1]
    assert res.df == res.n_subjects - 3
    assert np.allclose(res.covariance, res.covariance.T)
    assert np.all(np.linalg.eigvalsh(res.covariance) > 0)
    out = res.to_dict()
    assert out["df_method"] == "between-within" and out["n_obs"] == res.n_obs
    with pytest.raises(InputError, match="1 to 10"):
        mmrm(data(), visits_months=[])
    with pytest.raises(InputError, match="numbers"):
        mmrm(data(), visits_months=["x"])  # type: ignore[list-item]


def test_visit_table_without_arms_is_one_clear_error() -> None:
    cohort = synth_cohort(10, rng=np.random.default_rng(2))
    plain = cohort.table.drop(columns=["arm"])
    plain["arm"] = pd.NA
    with pytest.raises(InputError) as err:
        slope_model(plain[["subject_id", "arm", "months", "total"]])
    assert len(err.value.problems) == 1
    assert "'arm' column is empty" in str(err.value)
