"""meta_regression and subgroup_analysis: behaviour, bad input, CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from alsmeta import InputError, escalc, load_dataset, meta_analysis, meta_regression
from alsmeta.cli import main
from alsmeta.meta import FIT_KEYS, REGRESSION_KEYS, subgroup_analysis


@pytest.fixture(scope="module")
def bcg():
    return escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))


# metafor 3.8-1, rma(yi, vi, mods=~ablat, data=dat, control=list(threshold=1e-13, maxiter=10000))
# on the BCG log risk ratios (pinned in the shared reference set as bcg_metareg_ablat_REML_tight)
BCG_ABLAT_REML = {
    "beta": [0.251468210007339, -0.02910172501164918],
    "tau2": 0.07634796395525532,
    "qm": 16.358232147155903,
    "qe": 30.733090010749258,
    "r2": 75.62662181160485,
    "i2": 68.39122483819722,
}


def test_bcg_ablat_matches_metafor(bcg) -> None:
    res = meta_regression(bcg, "ablat")
    np.testing.assert_allclose(res.coef, BCG_ABLAT_REML["beta"], rtol=1e-7)
    for key in ("tau2", "qm", "r2", "i2"):
        assert getattr(res, key) == pytest.approx(BCG_ABLAT_REML[key], rel=1e-9), key
    assert res.q == pytest.approx(BCG_ABLAT_REML["qe"], rel=1e-9)
    assert res.terms == ("intrcpt", "ablat")


def test_formula_and_matrix_give_the_same_fit(bcg) -> None:
    data = load_dataset("bcg")
    by_formula = meta_regression(bcg, "ablat + year")
    by_matrix = meta_regression(bcg, data[["ablat", "year"]])
    np.testing.assert_allclose(by_formula.coef, by_matrix.coef, rtol=1e-10)
    assert by_matrix.terms == ("intrcpt", "ablat", "year")


def test_factor_levels_follow_sorted_order(bcg) -> None:
    res = meta_regression(bcg, "C(alloc)")
    assert res.terms == ("intrcpt", "C(alloc)[T.random]", "C(alloc)[T.systematic]")
    assert res.qm_df == 2


def test_knha_gives_an_f_test(bcg) -> None:
    res = meta_regression(bcg, "ablat", test="knha")
    assert res.df == 11 and res.qm == pytest.approx(res.statistic[1] ** 2, rel=1e-10)


def test_intercept_only_regression_equals_meta_analysis(bcg) -> None:
    ma = meta_analysis(bcg, method="REML")
    res = meta_regression(bcg, np.zeros((13, 0)))
    assert res.coef[0] == pytest.approx(ma.estimate, rel=1e-10)
    assert res.tau2 == pytest.approx(ma.tau2, rel=1e-10)


def test_prediction_at_new_moderator_values(bcg) -> None:
    res = meta_regression(bcg, "ablat")
    pred = res.predict(pd.DataFrame({"ablat": [10, 30, 50]}))
    np.testing.assert_allclose(pred["pred"], res.coef[0] + res.coef[1] * np.array([10, 30, 50]))
    same = res.predict([[10], [30], [50]])
    np.testing.assert_allclose(pred.to_numpy(), same.to_numpy())
    assert (pred["pi_lower"] < pred["ci_lower"]).all()


def test_to_dict_has_the_documented_keys(bcg) -> None:
    out = meta_regression(bcg, "C(alloc) + ablat").to_dict()
    assert list(out) == list(REGRESSION_KEYS)
    assert list(out)[: len(FIT_KEYS)] == list(FIT_KEYS)
    assert out["estimate"] is None
    assert out["coefficients"][0]["term"] == "intrcpt"
    json.dumps(out, allow_nan=False)


def test_missing_moderator_values_are_named(bcg) -> None:
    data = load_dataset("bcg").assign(ablat=lambda d: d["ablat"].astype(float))
    data.loc[[2, 5], "ablat"] = np.nan
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data, study="author")
    with pytest.raises(InputError) as info:
        meta_regression(es, "ablat")
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "ablat"), (6, "ablat")]
    with pytest.warns(UserWarning, match="2 studies with missing moderator values dropped"):
        res = meta_regression(es, "ablat", missing="drop")
    assert res.k == 11


def test_single_level_factor_and_unknown_column_are_errors(bcg) -> None:
    data = load_dataset("bcg").assign(route="intrathecal")
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    with pytest.raises(InputError, match="single level"):
        meta_regression(es, "C(route)")
    with pytest.raises(InputError, match="'dose' is not a column"):
        meta_regression(es, "dose")


def test_constant_and_collinear_moderators_are_dropped_with_a_warning(bcg) -> None:
    data = load_dataset("bcg").assign(const=5.0, twice=lambda d: 2 * d["ablat"])
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    with pytest.warns(UserWarning, match="redundant moderator column.*const.*twice"):
        res = meta_regression(es, "ablat + const + twice")
    assert res.terms == ("intrcpt", "ablat")


def test_more_coefficients_than_studies_is_an_error() -> None:
    data = pd.DataFrame(
        {"yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.1], "a": [1, 2, 4], "b": [3, 1, 2]}
    )
    with pytest.raises(InputError, match="3 studies cannot estimate 3 coefficients and tau"):
        meta_regression(data, "a + b")


def test_subgroups_separate_match_metafor(bcg) -> None:
    # metafor 3.8-1: per-level rma(method="DL"), then rma(est, sei=se, mods=~factor(level),
    # method="FE"); pinned as bcg_subgroup_alloc_sep_tau2_DL in the shared reference set.
    res = subgroup_analysis(bcg, "alloc", method="DL")
    assert res.q_between == pytest.approx(1.5367688720627528, rel=1e-9)
    assert res.q_between_p_value == pytest.approx(0.4637617001098429, rel=1e-9)
    np.testing.assert_allclose(
        res.subgroups["estimate"],
        [-0.5407929618493453, -1.004161353998235, -0.43934657999800086],
        rtol=1e-9,
    )


def test_subgroups_common_tau2_use_the_moderator_test(bcg) -> None:
    res = subgroup_analysis(bcg, "alloc", tau2="common")
    reg = meta_regression(bcg, "C(alloc)")
    assert res.q_between == pytest.approx(reg.qm) and res.q_between_df == 2
    assert res.subgroups["tau2"].nunique() == 1


def test_cli_mods_and_subgroup(tmp_path, capsys, bcg) -> None:
    path = tmp_path / "bcg.csv"
    bcg.to_frame().to_csv(path, index=False)
    assert main(["fit", str(path), "--mods", "C(alloc) + ablat", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == list(REGRESSION_KEYS) and len(out["coefficients"]) == 4
    assert main(["fit", str(path), "--mods", "ablat", "--test", "knha"]) == 0
    text = capsys.readouterr().out
    assert "Mixed-Effects Model (k = 13; tau^2 estimator: REML)" in text and "F(df1 = 1" in text
    assert main(["fit", str(path), "--subgroup", "alloc", "--format", "json"]) == 0
    sub = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in sub["subgroups"]] == ["alternate", "random", "systematic"]
    assert main(["fit", str(path), "--mods", "nope"]) == 2
    assert "'nope' is not a column" in capsys.readouterr().err
    assert main(["fit", str(path), "--mods", "ablat", "--by", "alloc"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_no_warnings_on_a_clean_fit(bcg) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta_regression(bcg, "ablat")


def test_reml_tau2_se_is_exact_when_one_variance_dwarfs_the_others() -> None:
    # One study with a variance 10^7 times smaller than the rest: the textbook traces of
    # P cancel (metafor 3.8-1 loses digits here). The oracle is exact rational arithmetic
    # of sum(P * P) with P = W - W X (X'WX)^-1 X' W at the fitted tau^2 (= 0).
    from fractions import Fraction

    rng = np.random.default_rng(11)
    for _ in range(2):  # the second draw of this generator fits tau^2 = 0
        v = rng.uniform(0.01, 0.5, 6)
        v[0] = 1e-8
        y = rng.normal(0, np.sqrt(v + 0.2))
        x = rng.normal(size=6)
    res = meta_regression(pd.DataFrame({"yi": y, "vi": v, "x": x}), "x", method="REML")
    assert res.tau2 == 0
    w = [1 / Fraction(float(vi)) for vi in v]
    xs = [Fraction(float(xi)) for xi in x]
    s0, s1 = sum(w), sum(wi * xi for wi, xi in zip(w, xs, strict=True))
    s2 = sum(wi * xi * xi for wi, xi in zip(w, xs, strict=True))
    det = s0 * s2 - s1 * s1
    inv = [[s2 / det, -s1 / det], [-s1 / det, s0 / det]]

    def hat(i: int, j: int) -> Fraction:
        a, b = (1, xs[i]), (1, xs[j])
        return sum(a[p] * inv[p][q] * b[q] for p in range(2) for q in range(2))

    pp = sum(
        ((w[i] if i == j else 0) - w[i] * w[j] * hat(i, j)) ** 2 for i in range(6) for j in range(6)
    )
    assert res.tau2_se == pytest.approx(float(2 / pp) ** 0.5, rel=1e-10)


def test_likelihood_ratio_test_refuses_models_of_different_data(bcg) -> None:
    from alsmeta import likelihood_ratio_test

    other = pd.DataFrame({"yi": np.asarray(bcg.yi) + 0.1, "vi": bcg.vi})
    with pytest.raises(InputError, match="different effect sizes"):
        likelihood_ratio_test(meta_regression(bcg, "ablat", method="ML"),
                              meta_analysis(other, method="ML"))  # fmt: skip
