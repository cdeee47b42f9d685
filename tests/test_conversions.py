"""Conversions from reported statistics: R reference values, Oh 2018 and error rules."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from tests.conftest import load_fixture

from alsmeta.effects import (
    Conversion,
    change_from_slope,
    change_sd,
    log_odds_ratio_from_counts,
    log_odds_ratio_from_percentages,
    log_risk_ratio_from_counts,
    log_risk_ratio_from_percentages,
    mean_difference,
    mean_sd_from_ls_mean,
    mean_sd_from_quantiles,
    sd_from_se,
    se_from_ci,
    se_from_p,
)
from alsmeta.errors import InputError

REFERENCE = load_fixture("conversions_reference.json")
CASES: list[dict[str, Any]] = REFERENCE["cases"]
FUNCTIONS = {
    "mean_difference": mean_difference,
    "log_odds_ratio_from_counts": log_odds_ratio_from_counts,
    "log_risk_ratio_from_counts": log_risk_ratio_from_counts,
    "se_from_ci": se_from_ci,
    "se_from_p": se_from_p,
    "mean_sd_from_quantiles": mean_sd_from_quantiles,
    "change_sd": change_sd,
}


def test_reference_grid_size_and_provenance() -> None:
    assert REFERENCE["n_cases"] == len(CASES) == 42
    assert REFERENCE["metafor_version"] == "3.8.1"
    # metafor 3.8-1 has no conv.* functions; the fixtures say so rather than pretend.
    assert REFERENCE["metafor_conv_functions"] == ""
    assert {c["function"] for c in CASES} == set(FUNCTIONS)
    assert all(c["call"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    args = {k: v for k, v in case["args"].items() if v is not None}
    func = FUNCTIONS[case["function"]]
    if case["function"] == "mean_sd_from_quantiles":
        n = args.pop("n")
        conv = func(n, **args)
    elif case["function"] == "se_from_ci":
        conv = func(args.pop("lower"), args.pop("upper"), **args)
    elif case["function"] == "se_from_p":
        conv = func(args.pop("estimate"), args.pop("p_value"), **args)
    elif case["function"] == "change_sd":
        conv = func(args.pop("sd_baseline"), args.pop("sd_final"), **args)
    else:
        conv = func(*args.values())
    assert isinstance(conv, Conversion)
    for key, want in case["expected"].items():
        if key.startswith("ci_"):
            continue
        assert conv.values[key] == pytest.approx(want, rel=1e-12, abs=1e-14), key


# ---------------------------------------------------------------------- Oh 2018 check
def test_oh2018_six_month_md_reproduces_published_result() -> None:
    """Oh et al. 2018, Ann Neurol 84:361, Table 3, 'ALSFRS-R score change ... to 6 months'.

    Published: MD 3.38 (SE 1.07), 95 % CI 1.23 to 5.54, from MSC -3.10 (3.51), n 31, and
    control -6.48 (4.53), n 25.  The pooled-variance SE with a t quantile on
    n1 + n2 - 2 = 54 df is the analysis that matches: SE 1.074 -> 1.07 and a CI of
    1.227 to 5.533, which equals the published 1.23 to 5.54 to within the rounding of the
    per-arm means (each to 0.01, so their difference to +-0.01).  The unequal-variance SE
    (metafor vtype "LS", RevMan) is 1.104, which does not round to the published 1.07.
    """
    md = mean_difference(-3.10, 3.51, 31, -6.48, 4.53, 25)
    assert round(md.values["yi"], 2) == 3.38
    se_pooled = math.sqrt(md.values["vi_pooled"])
    assert round(se_pooled, 2) == 1.07
    assert round(md.values["se"], 2) == 1.10  # LS variance: not the published SE
    t = stats.t.ppf(0.975, md.values["df"])
    lower, upper = md.values["yi"] - t * se_pooled, md.values["yi"] + t * se_pooled
    assert round(lower, 2) == 1.23
    assert abs(upper - 5.54) <= 0.01
    # An MD within the rounding of the inputs (3.3817 to 3.388) reproduces both limits.
    for mid in (3.382, 3.385):
        assert (round(mid - t * se_pooled, 2), round(mid + t * se_pooled, 2)) == (1.23, 5.54)
    # The reverse direction: the published CI gives back the published SE.
    conv = se_from_ci(1.23, 5.54, n=(31, 25))
    assert conv.method == "se_from_ci_t" and conv.values["df"] == 54
    assert round(conv.values["se"], 2) == 1.07


def test_oh2018_four_month_row_also_matches_pooled_t() -> None:
    md = mean_difference(-1.69, 2.51, 32, -4.67, 3.25, 27)
    assert round(md.values["yi"], 2) == 2.98
    se = math.sqrt(md.values["vi_pooled"])
    assert round(se, 2) == 0.75
    # Published 95 % CI 1.48 to 4.47 (width 2.99); pooled t on 57 df gives 1.478 to 4.483
    # (width 3.005): the same to 0.013, a little more than the input rounding explains.
    t = stats.t.ppf(0.975, 57)
    assert abs(md.values["yi"] - t * se - 1.48) <= 0.015
    assert abs(md.values["yi"] + t * se - 4.47) <= 0.015


# ---------------------------------------------------------------------- rules
def test_se_from_ci_handbook_rule() -> None:
    assert se_from_ci(0, 1, n=59).method == "se_from_ci_t"
    assert se_from_ci(0, 1, n=59).values["df"] == 58
    assert se_from_ci(0, 1, n=60).method == "se_from_ci_z"
    assert se_from_ci(0, 1, n=(30, 70)).method == "se_from_ci_z"
    assert se_from_ci(0, 1).method == "se_from_ci_z"
    assert se_from_ci(0, 1, n=200, df=10).values["df"] == 10
    assert se_from_ci(0, 3.92).values["se"] == pytest.approx(3.92 / (2 * 1.959963984540054))
    conv = se_from_ci(0, 1, n=(31, 25))
    assert any("6.5.2" in a for a in conv.assumptions)
    assert "6.5.2.3" in conv.reference


def test_se_from_ci_errors_list_everything() -> None:
    with pytest.raises(InputError) as err:
        se_from_ci(2, 1, level=95, n=1)
    text = str(err.value)
    assert "greater than upper" in text and "percentage" in text and "n must be" in text
    assert len(err.value.problems) == 3


def test_se_from_p_rules() -> None:
    assert se_from_p(-1.0, 0.05).values["se"] == pytest.approx(1 / stats.norm.ppf(0.975))
    with pytest.raises(InputError, match="p_value must lie"):
        se_from_p(1.0, 0)
    with pytest.raises(InputError, match="no information"):
        se_from_p(1.0, 1.0)
    with pytest.raises(InputError, match="estimate of 0"):
        se_from_p(0.0, 0.5)
    # A t quantile is larger than z, so the implied SE is smaller.
    assert se_from_p(1.0, 0.05, df=10).values["se"] < se_from_p(1.0, 0.05).values["se"]


def test_sd_and_ls_mean() -> None:
    assert sd_from_se(1.0, 4).values["sd"] == 2.0
    conv = mean_sd_from_ls_mean(-2.44, 0.89, 40)
    assert conv.values["mean"] == -2.44
    assert conv.values["sd"] == pytest.approx(0.89 * math.sqrt(40))
    assert any("least-squares" in a for a in conv.assumptions)
    with pytest.raises(InputError) as err:
        mean_sd_from_ls_mean(1.0, -1.0, 0)
    assert len(err.value.problems) == 2


def test_quantiles_scenarios_and_errors() -> None:
    assert mean_sd_from_quantiles(30, median=5, minimum=1, maximum=9).method == "luo_shi_s1"
    assert mean_sd_from_quantiles(30, median=5, q1=4, q3=7, method="wan").method == "wan_s2"
    with pytest.raises(InputError, match="give minimum and maximum"):
        mean_sd_from_quantiles(30, median=5, q1=4)
    with pytest.raises(InputError, match="greater than"):
        mean_sd_from_quantiles(30, median=5, q1=6, q3=7)
    with pytest.raises(InputError, match="method"):
        mean_sd_from_quantiles(30, median=5, q1=4, q3=7, method="hozo")


@pytest.mark.parametrize("n", [25, 101, 401])
def test_quantile_estimators_recover_normal_sample(n: int) -> None:
    """Population quantiles of N(10, 2^2) at the plotting positions give back mu and sigma."""
    rng = np.random.default_rng(20240611 + n)
    errors_mean, errors_sd = [], []
    for _ in range(200):
        x = rng.normal(10, 2, n)
        q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
        conv = mean_sd_from_quantiles(n, median=q[2], q1=q[1], q3=q[3], minimum=q[0], maximum=q[4])
        errors_mean.append(conv.values["mean"] - x.mean())
        errors_sd.append(conv.values["sd"] / x.std(ddof=1) - 1)
    assert abs(np.mean(errors_mean)) < 0.05
    assert abs(np.mean(errors_sd)) < 0.05


def test_change_sd_sensitivity() -> None:
    conv = change_sd(5, 5, r=0.5, sensitivity=(0.2, 0.8))
    assert conv.values["sd"] == pytest.approx(5)
    assert set(conv.values) == {"sd", "sd_r0.2", "sd_r0.8"}
    assert conv.values["sd_r0.8"] < conv.values["sd"] < conv.values["sd_r0.2"]
    with pytest.raises(InputError) as err:
        change_sd(-1, 5, r=1.5)
    assert len(err.value.problems) == 2


def test_change_from_slope_needs_explicit_linearity() -> None:
    with pytest.raises(InputError, match="assume_linear=True"):
        change_from_slope(-1.0, 0.2, 6)
    conv = change_from_slope(-1.0, 0.2, 6, assume_linear=True)
    assert conv.values == {"change": -6.0, "se": pytest.approx(1.2)}
    assert conv.method == "change_from_slope_linear"
    assert "linearly" in conv.assumptions[0]


def test_counts_and_percentages() -> None:
    a = log_odds_ratio_from_counts(22, 32, 5, 27)
    b = log_odds_ratio_from_percentages(69, 32, 19, 27)
    assert b.values["yi"] == pytest.approx(a.values["yi"])
    assert b.method == "log_or_percent"
    assert log_risk_ratio_from_percentages(69, 32, 19, 27).values["yi"] == pytest.approx(
        log_risk_ratio_from_counts(22, 32, 5, 27).values["yi"]
    )
    with pytest.raises(InputError) as err:
        log_odds_ratio_from_counts(40, 32, 5, 0)
    assert len(err.value.problems) == 3


def test_percentages_that_do_not_pin_a_count_are_refused() -> None:
    # 2 % of 120: 2/120 = 1.67 % and 3/120 = 2.5 % both round to 2 % -> ambiguous.
    with pytest.raises(InputError, match="no single whole count"):
        log_odds_ratio_from_percentages(2, 120, 50, 100)


def test_conversion_is_frozen_and_json_safe() -> None:
    conv = sd_from_se(0.5, 16)
    with pytest.raises(AttributeError):
        conv.method = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        conv.values["sd"] = 1.0  # type: ignore[index]
    assert json.loads(json.dumps(conv.to_dict()))["values"] == {"sd": 2.0}
