"""The diagnostics against metafor, case by case and field by field.

The cases are written by ``validation/r/diagnostics_fixtures.R`` (metafor 3.8-1 with
tight convergence control); every block records its R call. Closed-form quantities must
agree to rtol 1e-8; anything that involves an iterative tau^2 estimator (REML, ML, PM,
EB) or a trim-and-fill refit to 1e-6. Trim-and-fill's ``k0`` and ``side``, cumul's order
and influence's ``is.infl`` flags must agree exactly.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta import EffectSizeTable, InputError, meta_analysis
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
from conftest import load_fixture

REFERENCE = load_fixture("diagnostics_reference.json")
CASES = REFERENCE["cases"]
FITTED = [c for c in CASES if "error" not in c]
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM"}

#: Size of the case grid; shrinking it must be a deliberate change.
EXPECTED_CASES = 106


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


def rtol_for(case: dict[str, Any]) -> float:
    return 1e-6 if case["method"] in ITERATIVE else 1e-8


def atol_for(key: str) -> float:
    """Absolute floor: 1e-9, but I^2 is in percent, so a tau^2 that is 0 in exact arithmetic
    and left at ~1e-11 by metafor's Fisher scoring shows up as I^2 ~ 1e-9 / v~ there."""
    return 1e-6 if key == "i2" else 1e-9


def fit(case: dict[str, Any]):
    data = case["data"]
    frame = pd.DataFrame({key: data[key] for key in ("yi", "vi", "ni", "year")})
    es = EffectSizeTable.from_frame(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(es, method=case["method"], test=case["test"])


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_close(name: str, have: Any, want: Any, rtol: float, atol: float = 1e-9) -> None:
    """Compare numbers or lists; ``None`` in the fixture (R's NA) must be nan or None here."""
    if isinstance(want, list):
        have_a = np.asarray(have, dtype=float)
        assert have_a.shape == (len(want),), f"{name}: length {have_a.shape} vs {len(want)}"
        for i, w in enumerate(want):
            assert_close(f"{name}[{i}]", have_a[i], w, rtol, atol)
        return
    if want is None:
        assert have is None or not math.isfinite(float(have)), f"{name}: {have!r}, metafor NA"
        return
    assert have is not None, f"{name}: missing, metafor {want!r}"
    assert np.isclose(float(have), float(want), rtol=rtol, atol=atol), (
        f"{name} = {have!r}, metafor {want!r}"
    )


# ------------------------------------------------------------------ grid
def test_grid_size() -> None:
    assert len(CASES) == EXPECTED_CASES
    assert REFERENCE["metafor_version"] == "3.8-1"
    families = {c["family"] for c in CASES}
    assert families == {"bcg", "normand1999", "random", "asymmetric"}
    assert {c["method"] for c in CASES} == {"REML", "DL", "EE", "PM"}
    assert {c["test"] for c in CASES} == {"z", "knha"}
    assert not [c for c in CASES if "error" in c]


def test_grid_exercises_the_hard_branches() -> None:
    """Both sides of trim and fill with k0 > 0, ties in ranktest, influential studies."""
    sides = {(c["expected"]["trimfill"]["L0"]["side"], c["expected"]["trimfill"]["L0"]["k0"] > 0)
             for c in FITTED}  # fmt: skip
    assert ("left", True) in sides and ("right", True) in sides
    assert any(c["expected"]["ranktest"]["vi_ties"] for c in FITTED)
    assert any(any(c["expected"]["influence"]["inf"]) for c in FITTED)


# ------------------------------------------------------------------ model
@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_model(case: dict[str, Any]) -> None:
    res = fit(case)
    ex = case["expected"]
    assert res.k == ex["k"]
    for key in ("estimate", "se", "tau2", "q", "i2"):
        assert_close(
            f"{case['name']} {key}", getattr(res, key), ex[key], rtol_for(case), atol_for(key)
        )


# ------------------------------------------------------------------ leave1out
L1_KEYS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "q", "q_p_value",
           "tau2", "i2", "h2")  # fmt: skip


@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_leave_one_out(case: dict[str, Any]) -> None:
    ex = case["expected"]["leave1out"]
    got = quiet(leave_one_out, fit(case))
    for key in L1_KEYS:
        want = ex[key]
        if key == "tau2" and case["method"] == "EE":
            assert want is None  # metafor drops tau2 for EE models; alsmeta reports 0
            assert np.all(np.asarray(got.tau2) == 0)
            continue
        assert_close(
            f"{case['name']} leave1out {key}", getattr(got, key), want, rtol_for(case),
            atol_for(key),
        )  # fmt: skip
    assert got.to_dict()["estimate"] == pytest.approx(list(got.estimate))


# ------------------------------------------------------------------ influence
INF_KEYS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight",
            "dfbetas")  # fmt: skip


@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_influence(case: dict[str, Any]) -> None:
    ex = case["expected"]["influence"]
    got = quiet(influence, fit(case))
    for key in INF_KEYS:
        assert_close(f"{case['name']} influence {key}", getattr(got, key), ex[key], rtol_for(case))
    want_inf = [bool(b) for b in ex["inf"]]
    assert [bool(b) for b in got.influential] == want_inf, case["name"]


# ------------------------------------------------------------------ cumul
@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_cumulative(case: dict[str, Any]) -> None:
    ex = case["expected"]["cumul"]
    assert ex["order"] == "year"
    got = quiet(cumulative, fit(case), order="year")
    assert [int(i) for i in got.order] == ex["index"], case["name"]
    for key in L1_KEYS:
        want = ex[key]
        if key == "tau2" and case["method"] == "EE":
            assert want is None
            continue
        assert_close(
            f"{case['name']} cumul {key}", getattr(got, key), want, rtol_for(case), atol_for(key)
        )


# ------------------------------------------------------------------ baujat
@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_baujat(case: dict[str, Any]) -> None:
    ex = case["expected"]["baujat"]
    got = quiet(baujat, fit(case))
    assert_close(f"{case['name']} baujat x", got.x, ex["x"], rtol_for(case))
    assert_close(f"{case['name']} baujat y", got.y, ex["y"], rtol_for(case))


# ------------------------------------------------------------------ regtest
REGTEST = [(c, key) for c in FITTED for key in c["expected"]["regtest"]]


@pytest.mark.parametrize(("case", "key"), REGTEST, ids=[f"{c['name']}-{k}" for c, k in REGTEST])
def test_egger(case: dict[str, Any], key: str) -> None:
    ex = case["expected"]["regtest"][key]
    res = fit(case)
    if "error" in ex:
        with pytest.raises(InputError):
            quiet(egger_test, res, model=ex["model"], predictor=ex["predictor"], ni="ni")
        return
    got = quiet(egger_test, res, model=ex["model"], predictor=ex["predictor"], ni="ni")
    rtol = rtol_for(case) if ex["model"] == "rma" else 1e-8
    name = f"{case['name']} regtest {key}"
    for field in ("statistic", "p_value", "limit_estimate", "limit_ci_lower", "limit_ci_upper",
                  "sigma", "tau2"):  # fmt: skip
        assert_close(f"{name} {field}", getattr(got, field), ex[field], rtol)
    # Coefficients of the ni predictors span 10 orders of magnitude: compare each relative
    # to itself, with no absolute floor.
    assert_close(f"{name} coef", got.coef, ex["coef"], rtol, atol=0.0)
    assert_close(f"{name} coef_se", got.coef_se, ex["coef_se"], rtol, atol=0.0)
    if ex["df"] is None:
        assert math.isinf(got.df)
    else:
        assert got.df == ex["df"]


# ------------------------------------------------------------------ ranktest
@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_begg(case: dict[str, Any]) -> None:
    ex = case["expected"]["ranktest"]
    got = quiet(begg_test, fit(case))
    assert_close(f"{case['name']} ranktest tau", got.tau, ex["tau"], 1e-8)
    assert_close(f"{case['name']} ranktest p", got.p_value, ex["p_value"], 1e-8)
    if ex["vi_ties"]:
        assert not got.exact


# ------------------------------------------------------------------ trimfill
TF_BLOCKS = ("L0", "R0", "L0_left", "L0_right")
TRIMFILL = [(c, b) for c in FITTED for b in TF_BLOCKS]
TF_KEYS = ("se_k0", "p_k0", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper",
           "tau2", "i2", "q", "filled_yi", "filled_vi")  # fmt: skip


@pytest.mark.parametrize(("case", "block"), TRIMFILL, ids=[f"{c['name']}-{b}" for c, b in TRIMFILL])
def test_trim_and_fill(case: dict[str, Any], block: str) -> None:
    ex = case["expected"]["trimfill"][block]
    assert "error" not in ex
    options: dict[str, Any] = {"estimator": ex["estimator"]}
    if block in ("L0_left", "L0_right"):
        options["side"] = block.split("_")[1]
    # metafor's trimfill(res) refits the filled data with its defaults (test "z", 95%);
    # alsmeta keeps the model's own unless told, so the metafor call is reproduced here.
    got = quiet(trim_and_fill, fit(case), test=ex["test_fitted"], level=0.95, **options)
    name = f"{case['name']} trimfill {block}"
    assert got.k0 == ex["k0"], name
    assert got.side == ex["side"], name
    assert got.model.k == ex["k"], name
    assert got.model.test == ex["test_fitted"], name
    d = got.to_dict()
    for key in TF_KEYS:
        assert_close(f"{name} {key}", d[key], ex[key], 1e-6, atol_for(key))


# ------------------------------------------------------------------ PET-PEESE
PP_KEYS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "slope",
           "slope_se", "slope_p_value")  # fmt: skip


@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
def test_pet_peese(case: dict[str, Any]) -> None:
    ex = case["expected"]["pet_peese"]
    got = quiet(pet_peese, fit(case))
    for model in ("pet", "peese"):
        part = getattr(got, model)
        for key in PP_KEYS:
            assert_close(f"{case['name']} {model} {key}", getattr(part, key), ex[model][key], 1e-8)
    assert got.selected == ("PEESE" if ex["pet"]["p_value"] < 0.10 else "PET")


# ------------------------------------------------------------------ fsn
FSN_CALLS: dict[str, dict[str, Any]] = {
    "rosenthal": {"type": "Rosenthal"},
    "orwin": {"type": "Orwin"},  # target taken from the fixture
    "orwin_default": {"type": "Orwin"},
    "orwin_weighted": {"type": "Orwin", "weighted": True},
    "rosenberg": {"type": "Rosenberg"},
}


@pytest.mark.parametrize("case", FITTED, ids=ids(FITTED))
@pytest.mark.parametrize("block", list(FSN_CALLS))
def test_fail_safe_n(case: dict[str, Any], block: str) -> None:
    ex = case["expected"]["fsn"][block]
    options = dict(FSN_CALLS[block])
    if block == "orwin":
        options["target"] = ex["target"]
    got = fail_safe_n(fit(case), **options)
    name = f"{case['name']} fsn {block}"
    assert got.type == ex["type"]
    if ex["fsnum"] is None:
        assert math.isinf(got.fsnum), name
    else:
        assert got.fsnum == ex["fsnum"], name
    assert got.alpha == ex["alpha"]
    assert_close(f"{name} pval", got.p_value, ex["pval"], 1e-8, atol=0.0)
    assert_close(f"{name} meanes", got.mean_effect, ex["meanes"], 1e-8)
    assert_close(f"{name} target", got.target, ex["target"], 1e-8)
