"""Behaviour of the diagnostics API: immutability, refits, few studies, bad input."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsmeta import (
    EffectSizeTable,
    FewStudiesWarning,
    InputError,
    escalc,
    load_dataset,
    meta_analysis,
    meta_regression,
)
from alsmeta.diagnostics import (
    baujat,
    begg_test,
    cumulative,
    egger_test,
    fail_safe_n,
    influence,
    leave_one_out,
    pet_peese,
    trim_and_fill,
)
from alsmeta.diagnostics.small_study import _kendall_null_cdf


@pytest.fixture(scope="module")
def bcg() -> EffectSizeTable:
    data = load_dataset("bcg")
    data["ni"] = data["tpos"] + data["tneg"] + data["cpos"] + data["cneg"]
    return escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)


@pytest.fixture(scope="module")
def res(bcg):
    return meta_analysis(bcg)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def table(yi, vi, **columns) -> EffectSizeTable:
    return EffectSizeTable.from_frame(pd.DataFrame({"yi": yi, "vi": vi, **columns}))


ALL = [
    ("leave_one_out", leave_one_out),
    ("influence", influence),
    ("baujat", baujat),
    ("cumulative", cumulative),
    ("egger_test", egger_test),
    ("begg_test", begg_test),
    ("trim_and_fill", trim_and_fill),
    ("pet_peese", pet_peese),
]


# ------------------------------------------------------------------ result objects
@pytest.mark.parametrize(("name", "fn"), ALL, ids=[n for n, _ in ALL])
def test_results_are_frozen_with_readonly_arrays(res, name, fn) -> None:
    out = fn(res)
    field = dataclasses.fields(out)[1].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(out, field, None)
    arrays = [getattr(out, f.name) for f in dataclasses.fields(out)]
    arrays = [a for a in arrays if isinstance(a, np.ndarray)]
    for a in arrays:
        with pytest.raises(ValueError, match="read-only"):
            a[...] = 0


@pytest.mark.parametrize(("name", "fn"), ALL, ids=[n for n, _ in ALL])
def test_to_dict_is_strict_json_and_summary_is_text(res, name, fn) -> None:
    out = fn(res)
    text = json.dumps(out.to_dict(), allow_nan=False)
    assert json.loads(text) == json.loads(text)
    assert isinstance(out.summary(), str) and out.summary() == str(out)
    if hasattr(out, "to_frame"):
        assert isinstance(out.to_frame(), pd.DataFrame)


def test_summaries_follow_metafor_layout(res) -> None:
    assert "rstudent  dffits cook.d  cov.r tau2.del   QE.del    hat  weight    dfbs inf" in str(
        influence(res)
    )
    assert "Test for Funnel Plot Asymmetry: z = -0.8033, p = 0.4218" in str(egger_test(res))
    assert "Limit Estimate (as sei -> 0):   b = -0.5104 (CI: -1.1182, 0.0974)" in str(
        egger_test(res)
    )
    assert "Kendall's tau = 0.0256, p = 0.9524" in str(begg_test(res))
    assert "Estimated number of missing studies on the right side: 1 (SE = 2.4528)" in str(
        trim_and_fill(res)
    )
    assert "Fail-safe N: 598" in str(fail_safe_n(res))
    assert "Observed Significance Level: <.0001" in str(fail_safe_n(res))
    r0 = str(trim_and_fill(meta_analysis(res.es, method="EE"), estimator="R0"))
    assert "Estimated number of missing studies on the right side: 4 (SE = 3.1623)" in r0
    assert "Test of H0: no missing studies on the right side:      p-val = 0.0312" in r0
    header = str(leave_one_out(res)).splitlines()[3].split()
    assert header == ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub", "Q", "Qp", "tau2",
                      "I2", "H2"]  # fmt: skip
    assert "tau2" not in str(leave_one_out(meta_analysis(res.es, method="EE"))).splitlines()[3]
    assert "tval" in str(leave_one_out(meta_analysis(res.es, test="knha")))


# ------------------------------------------------------------------ refits
@pytest.mark.parametrize(("method", "test"), [("REML", "knha"), ("DL", "z"), ("PM", "adhoc")])
def test_leave_one_out_equals_one_fit_per_omitted_study(bcg, method, test) -> None:
    res = meta_analysis(bcg, method=method, test=test, level=0.9)
    l1 = leave_one_out(res)
    for i in (0, 5, 12):
        keep = np.arange(bcg.k) != i
        one = meta_analysis(
            EffectSizeTable(yi=bcg.yi[keep], vi=bcg.vi[keep]), method=method, test=test, level=0.9
        )
        assert l1.estimate[i] == pytest.approx(one.estimate, rel=1e-10)
        assert l1.ci_lower[i] == pytest.approx(one.ci_lower, rel=1e-10)
        assert l1.tau2[i] == pytest.approx(one.tau2, rel=1e-9)
    assert l1.level == 0.9 and l1.test == test


def test_user_weights_and_knha_match_metafor(bcg) -> None:
    # R: res <- rma(yi, vi, weights=1/sqrt(vi), data=dat, method="REML", test="knha",
    #               control=list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12))
    #    influence(res); leave1out(res); baujat(res)   (metafor 3.8-1)
    res = meta_analysis(bcg, method="REML", test="knha", weights=1 / np.sqrt(bcg.vi))
    inf = influence(res)
    assert inf.rstudent[:3] == pytest.approx(
        [-0.35907027756999732, -1.41136619619198167, -0.86531271523588715], rel=1e-6
    )
    assert inf.dffits[[0, 7]] == pytest.approx([-0.035900012239164551, 0.91193465817946906], 1e-6)
    assert inf.cook_d[7] == pytest.approx(0.7434769089464537961, rel=1e-6)
    assert inf.cov_r[7] == pytest.approx(0.92022567818633794, rel=1e-6)
    assert inf.dfbetas[3] == pytest.approx(-0.495641945212395407, rel=1e-6)
    assert inf.influential.tolist() == [i == 7 for i in range(13)]
    l1 = leave_one_out(res)
    assert l1.estimate[7] == pytest.approx(-0.76751912314286042, rel=1e-6)
    assert l1.se[7] == pytest.approx(0.19939765956103175, rel=1e-6)
    bj = baujat(res)
    assert bj.x[1] == pytest.approx(1.957771550955543782, rel=1e-6)
    assert bj.y[7] == pytest.approx(0.8079288880655489669, rel=1e-6)


def test_genq_with_sample_size_weights_matches_metafor(bcg) -> None:
    # R: dat$ni <- with(dat.bcg, tpos+tneg+cpos+cneg)
    #    res <- rma(yi, vi, weights=ni, data=dat, method="GENQ")
    #    regtest(res); trimfill(res); influence(res)   (metafor 3.8-1)
    ni = bcg.data["ni"].to_numpy(dtype=float)
    res = quiet(meta_analysis, bcg, method="GENQ", weights=ni)
    eg = egger_test(res)
    assert eg.statistic == pytest.approx(-0.406219356453833, rel=1e-8)
    assert eg.p_value == pytest.approx(0.684581432919364, rel=1e-8)
    tf = trim_and_fill(res)
    assert (tf.k0, tf.side) == (6, "right")
    assert tf.estimate == pytest.approx(-0.106642756194789, rel=1e-8)
    assert tf.tau2 == pytest.approx(0.433018314659186, rel=1e-8)
    inf = influence(res)
    assert inf.dffits[:3] == pytest.approx(
        [-0.00172961779020687, -0.00836835567643513, -0.00508127962249594], rel=1e-8
    )
    assert inf.rstudent[:3] == pytest.approx(
        [-0.816502243848212, -1.899777199183088, -1.303433995569959], rel=1e-8
    )


def test_cumulative_order_options(res) -> None:
    years = np.asarray(res.es.data["year"])
    by_column = cumulative(res, order="year")
    by_values = cumulative(res, order=years)
    assert by_column.order.tolist() == by_values.order.tolist()
    assert by_column.order.tolist() == np.argsort(years, kind="stable").tolist()
    down = cumulative(res, order=years, decreasing=True)
    assert years[down.order].tolist() == sorted(years, reverse=True)
    # Ties keep input order in both directions (R's order() is stable).
    assert down.order.tolist()[:2] == [7, 3]  # 1980, 1977
    tied = [i for i in down.order if years[i] == 1973]
    assert tied == sorted(tied)
    with_nan = cumulative(res, order=[np.nan, *years[1:]])
    assert with_nan.order[-1] == 0
    assert by_column.estimate[-1] == pytest.approx(res.estimate, rel=1e-12)
    assert by_column.estimate[0] == pytest.approx(res.es.yi[by_column.order[0]])
    assert cumulative(res).order.tolist() == list(range(res.k))
    assert by_column.to_frame()["study"].tolist() == [res.es.study[i] for i in by_column.order]


def test_trim_and_fill_refit_options_and_symmetry(res, bcg) -> None:
    tf = trim_and_fill(res)
    assert tf.model.test == "z" and tf.model.k == res.k + tf.k0
    assert tf.to_frame()["filled"].sum() == tf.k0
    assert tf.to_frame()["study"].tolist()[-1] == "Filled 1"
    knha = trim_and_fill(meta_analysis(bcg, test="knha"))
    assert knha.model.test == "knha"
    assert knha.estimate == pytest.approx(tf.estimate, rel=1e-10)
    metafor_like = trim_and_fill(meta_analysis(bcg, test="knha"), test="z", level=0.95)
    assert metafor_like.se == pytest.approx(tf.se, rel=1e-10)
    # Mirroring every effect mirrors the funnel: the other side, the same k0.
    flipped = meta_analysis(EffectSizeTable(yi=-bcg.yi, vi=bcg.vi))
    tf2 = trim_and_fill(flipped)
    assert (tf2.side, tf2.k0) == ("left", tf.k0)
    assert tf2.estimate == pytest.approx(-tf.estimate, rel=1e-9)
    assert tf2.filled_yi == pytest.approx(-tf.filled_yi, rel=1e-9)
    # The filled studies mirror the most extreme ones about the trimmed estimate.
    r0 = trim_and_fill(res, estimator="R0")
    assert r0.k0 == 0 and r0.p_k0 == 0.5 and r0.model is res


def test_egger_lm_and_rma_agree_on_coefficients(res) -> None:
    lm = egger_test(res, model="lm")
    ee = egger_test(meta_analysis(res.es, method="EE"))
    assert lm.coef == pytest.approx(ee.coef, rel=1e-10)
    assert lm.df == res.k - 2 and math.isinf(ee.df)
    kh = egger_test(meta_analysis(res.es, test="knha"))
    assert kh.df == res.k - 2 and "t = " in kh.summary()
    assert math.isnan(egger_test(res, predictor="ni", ni="ni").limit_estimate)
    sei = np.sqrt(res.es.vi)
    reg = meta_regression(res.es, sei)
    assert egger_test(res).statistic == pytest.approx(reg.statistic[1], rel=1e-12)


def test_begg_exact_p_matches_scipy_and_ties_fall_back(res) -> None:
    bt = begg_test(res)
    y, v = np.asarray(res.es.yi), np.asarray(res.es.vi)
    w = 1 / v
    ystar = (y - np.sum(w * y) / np.sum(w)) / np.sqrt(v - 1 / np.sum(w))
    ref = stats.kendalltau(ystar, v, method="exact")
    assert bt.exact
    assert bt.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert _kendall_null_cdf(4)[-1] == pytest.approx(1.0)
    assert _kendall_null_cdf(3).tolist() == pytest.approx([1 / 6, 3 / 6, 5 / 6, 1.0])
    tied = meta_analysis(table([0.1, 0.5, 0.3, 0.9, 0.2], [0.1, 0.1, 0.2, 0.3, 0.4]))
    with pytest.warns(UserWarning, match="ties"):
        bt2 = begg_test(tied)
    assert not bt2.exact and any("normal approximation" in n for n in bt2.notes)


def test_begg_exact_beyond_r_limit_and_normal_above_1000() -> None:
    rng = np.random.default_rng(7)
    for k, exact in ((200, True), (1100, False)):
        v = rng.uniform(0.01, 0.5, k)
        res = quiet(meta_analysis, EffectSizeTable(yi=rng.normal(0, np.sqrt(v)), vi=v))
        bt = begg_test(res)
        y, w = np.asarray(res.es.yi), 1 / v
        ystar = (y - np.sum(w * y) / np.sum(w)) / np.sqrt(v - 1 / np.sum(w))
        method = "exact" if exact else "asymptotic"
        ref = stats.kendalltau(ystar, v, method=method)
        assert bt.exact is exact
        assert bt.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert bt.tau == pytest.approx(ref.statistic, rel=1e-12)
    assert any("normal approximation" in n for n in bt.notes)


def test_fail_safe_n_types(bcg, res) -> None:
    assert fail_safe_n(bcg).fsnum == fail_safe_n(res).fsnum == 598
    orwin = fail_safe_n(bcg, type="Orwin", target=0.0)
    assert math.isinf(orwin.fsnum) and orwin.to_dict()["fsnum"] is None
    flipped = fail_safe_n(bcg, type="Orwin", target=0.2)
    assert flipped.target == -0.2 and flipped.notes
    assert fail_safe_n(bcg.to_frame(), type="Rosenberg").fsnum == 370
    assert "Rosenberg" in str(fail_safe_n(bcg, type="Rosenberg"))


# ------------------------------------------------------------------ few studies
def test_low_power_warning_below_ten_studies() -> None:
    small = meta_analysis(table([0.1, 0.5, 0.3, 0.9, 0.2], [0.1, 0.15, 0.2, 0.3, 0.4]))
    for fn in (egger_test, begg_test, trim_and_fill, pet_peese):
        with pytest.warns(UserWarning, match="little power"):
            out = fn(small)
        assert any("little power" in n for n in out.notes)


def test_no_low_power_warning_with_ten_or_more(res) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        egger_test(res)
        begg_test(res)


@pytest.mark.parametrize("fn", [egger_test, begg_test, trim_and_fill, pet_peese])
def test_small_study_methods_need_three_studies(fn) -> None:
    two = quiet(meta_analysis, table([0.1, 0.5], [0.1, 0.2]))
    with pytest.raises(InputError, match="at least 3 studies"):
        fn(two)


def test_two_studies_give_single_study_refits_with_a_note() -> None:
    two = quiet(meta_analysis, table([0.1, 0.5], [0.1, 0.2]))
    with pytest.warns(FewStudiesWarning, match="single study"):
        l1 = leave_one_out(two)
    assert l1.estimate.tolist() == pytest.approx([0.5, 0.1])
    assert l1.tau2.tolist() == [0.0, 0.0] and l1.notes
    with pytest.warns(FewStudiesWarning):
        inf = influence(two)
    assert inf.cook_d.shape == (2,)


@pytest.mark.parametrize("fn", [leave_one_out, influence, baujat])
def test_one_study_is_an_input_error(fn) -> None:
    one = quiet(meta_analysis, table([0.1], [0.1]))
    with pytest.raises(InputError, match="at least 2 studies"):
        fn(one)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("name", "fn"), ALL, ids=[n for n, _ in ALL])
def test_a_meta_regression_is_refused(res, name, fn) -> None:
    reg = meta_regression(res.es, "ablat")
    with pytest.raises(InputError, match="MetaAnalysisResult"):
        fn(reg)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "glm"}, "model='glm' is not valid"),
        ({"predictor": "SEI"}, "did you mean 'sei'"),
        ({"predictor": "ninv", "ni": "nope"}, "no such column"),
        ({"predictor": "ni", "ni": [1, 2]}, "2 values for 13 studies"),
        ({"predictor": "ni", "ni": [10] * 12 + [-1]}, "must be a number > 0"),
    ],
)
def test_egger_bad_options(res, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        egger_test(res, **kwargs)


def test_egger_without_sample_sizes() -> None:
    es = table([0.1, 0.5, 0.3, 0.9], [0.1, 0.15, 0.2, 0.3])
    with pytest.raises(InputError, match="no sample size information"):
        quiet(egger_test, quiet(meta_analysis, es), predictor="ni")


def test_constant_variances() -> None:
    res = quiet(meta_analysis, table([0.1, 0.5, 0.3, 0.9], [0.1] * 4))
    with pytest.raises(InputError, match="same for every study"):
        quiet(egger_test, res)
    with pytest.raises(InputError, match="side='left' or side='right'"):
        quiet(trim_and_fill, res)
    assert quiet(trim_and_fill, res, side="left").side == "left"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimator": "Q0"}, "estimator='Q0' is not valid"),
        ({"side": "up"}, "side='up' is not valid"),
        ({"maxiter": 0}, "maxiter"),
        ({"level": 95}, "looks like a percentage"),
    ],
)
def test_trim_and_fill_bad_options(res, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        trim_and_fill(res, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "REM"}, "type='REM' is not valid"),
        ({"alpha": 5}, "alpha=5"),
    ],
)
def test_fail_safe_n_bad_options(bcg, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        fail_safe_n(bcg, **kwargs)


def test_fail_safe_n_bad_object() -> None:
    with pytest.raises(InputError, match="got list"):
        fail_safe_n([0.1, 0.2])  # type: ignore[arg-type]


def test_cumulative_bad_order(res) -> None:
    with pytest.raises(InputError, match="no such column"):
        cumulative(res, order="yr")
    with pytest.raises(InputError, match="3 values for 13 studies"):
        cumulative(res, order=[1, 2, 3])
