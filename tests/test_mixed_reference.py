"""slope_model, ancova and mmrm against lme4/lmerTest, lm and nlme::gls (fixtures written by
``validation/r/mixed_fixtures.R``).

Tolerances (relative): slope model 1e-5 for every quantity (observed worst: 5e-7 for the
variance components, 1e-6 for p-values); ANCOVA 1e-10; MMRM 1e-4 for the covariance
(nlme stops ~5e-5 short of the optimum; the log-likelihoods agree to 1e-9) and 5e-5 for the
treatment difference and its SE.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta.patients.mixed import ancova, mmrm, slope_model
from conftest import load_fixture

REFERENCE = load_fixture("mixed_reference.json")
CASES = REFERENCE["cases"]
RTOL = 1e-5


def test_case_grid_size() -> None:
    assert REFERENCE["n_cases"] == len(CASES) == 10
    assert len({c["name"] for c in CASES}) == 10
    assert sum(c["reml"]["singular"] for c in CASES) >= 1  # a boundary fit is covered
    assert {c["n_subjects"] for c in CASES} >= {30, 400}


def frame(case: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(case["data"])


def quiet(fun: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fun(*args, **kwargs)


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_slope_model_matches_lmertest(case: dict[str, Any], method: str) -> None:
    want = case[method]
    res = quiet(slope_model, frame(case), control=case["control"], reml=method == "reml")
    assert res.n_subjects == case["n_subjects"]
    assert res.n_visits == case["n_visits"]
    assert res.fixed_effects["term"].tolist() == want["terms"]
    np.testing.assert_allclose(res.slope_difference, want["slope_difference"], rtol=RTOL)
    np.testing.assert_allclose(res.se, want["slope_difference_se"], rtol=RTOL)
    np.testing.assert_allclose(res.df, want["slope_difference_df"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, want["slope_difference_p"], rtol=RTOL)
    fe = res.fixed_effects
    np.testing.assert_allclose(fe["estimate"], want["estimate"], rtol=RTOL)
    np.testing.assert_allclose(fe["se"], want["se"], rtol=RTOL)
    np.testing.assert_allclose(fe["df"], want["df"], rtol=RTOL)
    np.testing.assert_allclose(fe["statistic"], want["statistic"], rtol=RTOL)
    # Intercept p-values reach 1e-276: compare them on the log scale, where an error of
    # 1e-9 in t shows as 1e-9 relative instead of t^2 * 1e-9.
    np.testing.assert_allclose(np.log(fe["p_value"]), np.log(want["p_value"]), rtol=1e-6)
    np.testing.assert_allclose(res.vcov, want["vcov"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(res.slopes["slope"], [s["slope"] for s in want["slopes"]], rtol=RTOL)
    np.testing.assert_allclose(res.slopes["se"], [s["se"] for s in want["slopes"]], rtol=RTOL)
    for key in ("intercept_var", "slope_var", "intercept_slope_cov", "residual_var"):
        np.testing.assert_allclose(getattr(res, key), want[key], rtol=RTOL, err_msg=key)
    np.testing.assert_allclose(res.loglik, want["loglik"], rtol=1e-9)
    np.testing.assert_allclose(res.deviance, want["deviance"], rtol=1e-9)
    assert res.boundary == want["singular"]
    assert res.converged


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_ancova_matches_lm(case: dict[str, Any]) -> None:
    want = case["ancova"]
    res = quiet(
        ancova, frame(case), month=want["month"], window=want["window"], control=case["control"]
    )
    ok = res.subjects.loc[res.subjects["status"] == "ok", "subject_id"].tolist()
    assert ok == want["subjects"]
    assert res.coefficients["term"].tolist() == want["terms"]
    np.testing.assert_allclose(res.coefficients["estimate"], want["coefficients"], rtol=1e-10)
    for key in ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "df"):
        np.testing.assert_allclose(getattr(res, key), want[key], rtol=1e-10, err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_mmrm_matches_gls(case: dict[str, Any]) -> None:
    want = case["mmrm"]
    res = quiet(
        mmrm,
        frame(case),
        visits_months=want["visits_months"],
        window=want["window"],
        control=case["control"],
    )
    ok = res.subjects.loc[res.subjects["status"] == "ok", "subject_id"].tolist()
    assert sorted(ok) == sorted(want["subjects"])
    assert res.n_obs == want["n_obs"]
    assert sorted(res.coefficients["term"]) == sorted(want["terms"])
    np.testing.assert_allclose(res.estimate, want["estimate"], rtol=5e-5)
    np.testing.assert_allclose(res.se, want["se"], rtol=5e-5)
    np.testing.assert_allclose(res.covariance, want["covariance"], rtol=1e-4)
    np.testing.assert_allclose(res.loglik, want["loglik"], rtol=1e-9)
    by_name = dict(zip(want["terms"], want["coefficients"], strict=True))
    have = dict(zip(res.coefficients["term"], res.coefficients["estimate"], strict=True))
    for term, value in by_name.items():
        np.testing.assert_allclose(have[term], value, rtol=1e-4, atol=1e-5, err_msg=term)
