"""meta_regression, subgroup_analysis, permutation and likelihood-ratio tests against
metafor (fixtures written by ``validation/r/regression_fixtures.R``)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta import InputError, likelihood_ratio_test, meta_analysis, meta_regression
from alsmeta import permutation_test as perm_test
from alsmeta.cli import main
from alsmeta.meta import REGRESSION_KEYS, subgroup_analysis
from conftest import load_fixture

REFERENCE = load_fixture("regression_reference.json")
CASES = [c for c in REFERENCE["cases"] if "expected" in c]
ERRORS = [c for c in REFERENCE["cases"] if "error" in c]
SUBGROUPS = REFERENCE["subgroups"]
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM"}


def frame(case: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(case["data"])


def fit(case: dict[str, Any], **extra: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_regression(
            frame(case), case["mods"], method=case["method"], test=case["test"],
            level=case["level"], **extra,
        )  # fmt: skip


#: Absolute floors for quantities that are 0 in exact arithmetic: metafor's Fisher scoring
#: stops ~1e-13 short of a tau^2 = 0 boundary, which shows as ~1e-9 in I^2 (a percentage).
FLOORS = {"i2": 1e-7, "separate i2": 1e-7, "tau2": 1e-10, "separate tau2": 1e-10, "r2": 1e-7}


def close(have: Any, want: Any, case: dict[str, Any], what: str, rtol: float | None = None) -> None:
    if rtol is None:
        rtol = 1e-6 if case["method"] in ITERATIVE else 1e-7
    want_a = np.asarray(want, dtype=float)
    have_a = np.asarray(have, dtype=float)
    # The fixtures write infinities (a zero SE under Knapp-Hartung with a perfect fit) as null.
    have_a = np.where(np.isinf(have_a) & np.isnan(want_a), np.nan, have_a)
    scale = max(1.0, float(np.nanmax(np.abs(want_a)))) if np.isfinite(want_a).any() else 1.0
    np.testing.assert_allclose(
        have_a, want_a, rtol=rtol, atol=max(1e-9 * scale, FLOORS.get(what, 0.0)),
        err_msg=f"{case['name']} [{case.get('call', '')}]: {what}",
    )  # fmt: skip


def test_grid_size() -> None:
    assert len(REFERENCE["cases"]) == 296
    assert sum(c["family"] == "random" for c in REFERENCE["cases"]) >= 100
    assert len(SUBGROUPS) == 64


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_meta_regression_matches_metafor(case: dict[str, Any]) -> None:
    e = case["expected"]
    res = fit(case)
    assert res.p == e["p"] and res.k == e["k"]
    assert len(res.terms) == len(e["terms"])
    for key in ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper"):
        close(getattr(res, "coef" if key == "estimate" else key), e[key], case, key)
    pairs = {"tau2": "tau2", "i2": "i2", "h2": "h2", "qe": "q", "qe_p_value": "q_p_value",
             "qm": "qm", "qm_p_value": "qm_p_value"}  # fmt: skip
    for key, ours in pairs.items():
        close(getattr(res, ours), e[key], case, key)
    if e.get("tau2_se") is not None:
        close(res.tau2_se, e["tau2_se"], case, "tau2_se")
    if e.get("r2") is None:
        assert np.isnan(res.r2)
    else:
        close(res.r2, e["r2"], case, "r2", rtol=1e-6 if case["method"] == "EE" else None)
    assert res.qm_df == e["qm_df"][0] and res.q_df == e["qe_df"]
    close(res.vcov, e["vcov"], case, "vcov")
    close(res.hat, e["hat"], case, "hat")
    close(res.fitted, e["fitted"], case, "fitted")
    close(res.weights, e["weights"], case, "weights")
    close(res.loglik, e["ll"], case, "loglik")
    pred = e.get("predict")
    if pred:
        got = res.predict(np.asarray(pred["newmods"], dtype=float))
        for key in ("pred", "se", "ci_lower", "ci_upper"):
            close(got[key], pred[key], case, f"predict {key}")
        if pred.get("pi_lower") is not None:
            close(got["pi_lower"], pred["pi_lower"], case, "predict pi_lower")
            close(got["pi_upper"], pred["pi_upper"], case, "predict pi_upper")


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_what_metafor_refuses_is_an_input_error(case: dict[str, Any]) -> None:
    # metafor: more parameters than studies, or contrasts for a one-level factor
    with pytest.raises(InputError, match=r"cannot estimate|single level"):
        fit(case)


ANOVA = [c for c in CASES if "anova" in c["expected"]]


@pytest.mark.parametrize("case", ANOVA, ids=[c["name"] for c in ANOVA])
def test_likelihood_ratio_test_matches_anova(case: dict[str, Any]) -> None:
    a = case["expected"]["anova"]
    full = fit(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = frame(case)[["yi", "vi"]]
        reduced = meta_analysis(data, method=case["method"], test=case["test"])
    lrt = likelihood_ratio_test(full, reduced)
    assert lrt.df == a["df"]
    close(lrt.lrt, a["LRT"], case, "LRT", rtol=1e-6)
    close(lrt.p_value, a["p_value"], case, "p", rtol=1e-6)
    stats = [a["full"]["AIC"], a["full"]["BIC"], a["full"]["AICc"]]
    close([lrt.aic_full, lrt.bic_full, lrt.aicc_full], stats, case, "fit stats", rtol=1e-6)


PERMUTEST = [c for c in CASES if "permutest" in c["expected"]]


@pytest.mark.parametrize("case", PERMUTEST, ids=[c["name"] for c in PERMUTEST])
def test_permutation_test_matches_permutest(case: dict[str, Any]) -> None:
    pt = case["expected"]["permutest"]
    res = fit(case)  # an intercept-only formula ("1") gets the sign-flip test, as metafor
    if pt["exact"]:
        ours = perm_test(res, exact=True)
        assert ours.exact and ours.iterations == pt["iterations"]
        if pt.get("n_failed_fits", 0) == 0:
            np.testing.assert_allclose(ours.p_value, pt["p_value"], atol=1e-12)
            assert ours.qm_p_value == pytest.approx(pt["qm_p_value"], abs=1e-12)
        else:  # metafor leaves out fits that fail to converge; alsmeta's converge
            np.testing.assert_allclose(ours.p_value, pt["p_value"], atol=2.0 / pt["iterations"])
    else:
        n = pt["iterations"]
        ours = perm_test(res, iter=n, rng=np.random.default_rng(pt["seed"]))
        # Different random permutations: agree within sampling error of both p-values.
        for have, want in zip([*ours.p_value, ours.qm_p_value], [*pt["p_value"], pt["qm_p_value"]],
                              strict=True):  # fmt: skip
            sd = np.sqrt(max(want * (1 - want), 1.0 / n) * 2.0 / n)
            assert abs(have - want) <= 5 * sd + 2.0 / n, (case["name"], have, want)


@pytest.mark.parametrize("case", SUBGROUPS, ids=[c["name"] for c in SUBGROUPS])
def test_subgroups_match_metafor(case: dict[str, Any]) -> None:
    e = case["expected"]
    data = pd.DataFrame(case["data"])
    method, test = case["method"], case["test"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sep = subgroup_analysis(data, case["group"], method=method, test=test)
        com = subgroup_analysis(data, case["group"], tau2="common", method=method, test=test)
    s = e["separate"]
    assert sep.subgroups["group"].astype(str).tolist() == [str(x) for x in s["level"]]
    for key in ("k", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "q"):
        close(sep.subgroups[key], s[key], case, f"separate {key}")
    close(sep.q_between, s["test"]["qm"], case, "Q between")
    close(sep.q_between_p_value, s["test"]["qm_p_value"], case, "Q between p")
    c = e["common"]
    close(com.q_between, c["qm"], case, "common QM")
    close(com.q_between_p_value, c["qm_p_value"], case, "common QM p")
    cells = c["cellmeans"]
    for key in ("estimate", "se", "ci_lower", "ci_upper"):
        close(com.subgroups[key], cells[key], case, f"common {key}")
    close(com.subgroups["tau2"].iloc[0], c["tau2"], case, "common tau2")
    o = e["overall"]
    for key in ("estimate", "se", "tau2", "q"):
        close(getattr(sep.overall, key), o[key], case, f"overall {key}")


RANDOM = [c for c in CASES if c["family"] == "random"][:40]


@pytest.mark.parametrize("case", RANDOM, ids=[c["name"] for c in RANDOM])
def test_cli_mods_json_matches_metafor(case: dict[str, Any], tmp_path, capsys) -> None:
    path = tmp_path / "data.csv"
    frame(case).to_csv(path, index=False, float_format="%.17g")
    code = main(["fit", str(path), "--mods", case["mods"], "--method", case["method"],
                 "--test", case["test"], "--format", "json"])  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == list(REGRESSION_KEYS)
    e = case["expected"]
    close([c["estimate"] for c in out["coefficients"]], e["estimate"], case, "estimate")
    close([c["se"] for c in out["coefficients"]], e["se"], case, "se")
    for key, ref in (("tau2", "tau2"), ("qm", "qm"), ("qm_p_value", "qm_p_value"), ("q", "qe"),
                     ("q_p_value", "qe_p_value"), ("i2", "i2")):  # fmt: skip
        close(out[key], e[ref], case, key)
    if e.get("r2") is not None:
        close(out["r2"], e["r2"], case, "r2")
