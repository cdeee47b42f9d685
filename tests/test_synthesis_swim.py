"""Synthesis without meta-analysis: sign test, p-value combination, effect direction,
albatross data.

Reference values are scipy's ``binomtest`` and ``combine_pvalues`` and closed forms
computed by hand (written out in each test). Neither Thomson & Thomas (2013) nor
Harrison et al. (2017) prints a table of derived numbers that can be checked without
their source data, so the effect-direction rule and the albatross geometry are checked
on hand-worked cases.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from alsmeta import InputError
from alsmeta.synthesis import (
    albatross_data,
    combine_p_values,
    effect_direction,
    sign_test,
)

# ------------------------------------------------------------------ sign test


@pytest.mark.parametrize(
    ("benefit", "harm", "none"),
    [(7, 1, 1), (9, 1, 0), (5, 5, 2), (0, 6, 0), (12, 3, 4), (1, 0, 0), (20, 11, 0)],
)
def test_sign_test_matches_scipy_binomtest(benefit: int, harm: int, none: int) -> None:
    dirs = ["benefit"] * benefit + ["harm"] * harm + ["none"] * none
    res = sign_test(dirs)
    ref = stats.binomtest(benefit, benefit + harm, 0.5, alternative="two-sided")
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert (res.n_benefit, res.n_harm, res.n_no_effect, res.n) == (
        benefit,
        harm,
        none,
        benefit + harm,
    )
    ci = ref.proportion_ci(confidence_level=0.95, method="wilson")
    assert res.ci_lower == pytest.approx(ci.low, rel=1e-10)
    assert res.ci_upper == pytest.approx(ci.high, rel=1e-10)


def test_sign_test_hand_values() -> None:
    # 9 benefit, 1 harm: P(X <= 1) = (1 + 10) / 2^10, two-sided p = 22 / 1024.
    assert sign_test([1] * 9 + [-1]).p_value == pytest.approx(22 / 1024, rel=1e-14)
    # 7 vs 1: 2 (1 + 8) / 256.
    assert sign_test([1] * 7 + [-1]).p_value == pytest.approx(18 / 256, rel=1e-14)


def test_sign_test_says_ties_excluded_and_what_it_cannot_say() -> None:
    res = sign_test(["▲", "▲", "◄►", "▼", "mixed"])
    assert res.n_no_effect == 2
    text = " ".join(res.notes)
    assert "excluded" in text
    assert "says nothing about the size of the effect" in text
    assert "cannot reach p < 0.05" in text
    assert "Sign test" in res.summary()
    json.dumps(res.to_dict())
    assert res.to_frame()["counted"].tolist() == [True, True, False, True, False]


def test_sign_test_all_ties_is_nan_with_note() -> None:
    with pytest.warns(UserWarning, match="cannot be done"):
        res = sign_test(["none", "none"])
    assert math.isnan(res.p_value)
    assert any("cannot be done" in n for n in res.notes)
    assert res.to_dict()["p_value"] is None


def test_sign_test_bad_direction_names_study() -> None:
    with pytest.raises(InputError) as err:
        sign_test(["benefit", "better", 2], study=["A", "B", "C"])
    probs = err.value.problems
    assert [p.study for p in probs] == ["B", "C"]


def test_result_is_frozen() -> None:
    res = sign_test([1, 1, -1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.directions[0] = 0


# ------------------------------------------------------------------ combining p-values
P1 = np.array([0.02, 0.10, 0.75, 0.30, 0.004])


@pytest.mark.parametrize("method", ["stouffer", "fisher"])
def test_combination_matches_scipy_on_one_sided(method: str) -> None:
    res = combine_p_values(P1, two_sided=False, method=method)
    ref = stats.combine_pvalues(P1, method=method)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)


def test_weighted_stouffer_matches_scipy() -> None:
    n = np.array([40, 120, 18, 64, 300])
    res = combine_p_values(P1, two_sided=False, n=n)
    ref = stats.combine_pvalues(P1, method="stouffer", weights=np.sqrt(n))
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
    res = combine_p_values(P1, two_sided=False, weights=w)
    ref = stats.combine_pvalues(P1, method="stouffer", weights=w)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)


def test_stouffer_hand_computed() -> None:
    # z = Phi^-1(1 - p1): 0.02 -> 2.0537489, 0.10 -> 1.2815516, 0.75 -> -0.6744898.
    # Z = (2.0537489 + 1.2815516 - 0.6744898) / sqrt(3) = 1.5362198.
    res = combine_p_values([0.04, 0.20, 0.50], directions=[1, 1, -1])
    assert res.p_one_sided.tolist() == pytest.approx([0.02, 0.10, 0.75], abs=1e-15)
    assert res.statistic == pytest.approx(1.5362198, abs=1e-6)
    assert res.p_value == pytest.approx(0.5 * math.erfc(1.5362198 / math.sqrt(2)), abs=1e-7)


def test_fisher_hand_computed_closed_form() -> None:
    # X^2 = -2 (ln 0.02 + ln 0.1 + ln 0.75) on 6 df; for even df the chi-square tail is
    # exp(-x/2) * sum_{j<3} (x/2)^j / j!.
    res = combine_p_values([0.04, 0.20, 0.50], directions=[1, 1, -1], method="fisher")
    x = -2 * (math.log(0.02) + math.log(0.1) + math.log(0.75))
    h = x / 2
    p = math.exp(-h) * (1 + h + h * h / 2)
    assert res.statistic == pytest.approx(x, rel=1e-13)
    assert res.df == 6
    assert res.p_value == pytest.approx(p, rel=1e-12)


def test_two_sided_to_one_sided_both_directions() -> None:
    res = combine_p_values([0.04, 0.04, 1.0, 1.0], directions=["benefit", "harm", 1, -1])
    assert res.p_one_sided.tolist() == pytest.approx([0.02, 0.98, 0.5, 0.5], abs=1e-15)
    assert res.z[0] == pytest.approx(-res.z[1], rel=1e-15)
    assert res.z[2] == pytest.approx(0.0, abs=1e-15)


def test_tiny_two_sided_p_in_harm_direction_keeps_precision() -> None:
    # 1 - 1e-300/2 rounds to 1 in floating point; z and log p must not.
    res = combine_p_values([1e-300], directions=["harm"])
    assert res.z[0] == pytest.approx(-stats.norm.isf(0.5e-300), rel=1e-12)
    fisher = combine_p_values([1e-300, 0.5], directions=["harm", "benefit"], method="fisher")
    assert math.isfinite(fisher.statistic)
    assert fisher.p_value_harm < 1e-290


def test_notes_state_null_and_limits() -> None:
    res = combine_p_values([0.04, 0.2], directions=[1, 1])
    text = " ".join(res.notes)
    assert "null hypothesis: no effect in any study" in text
    assert "says nothing about how large the effect is" in text
    assert "p/2" in text
    fisher = combine_p_values([1e-4, 1e-4], directions=[1, -1], method="fisher")
    assert fisher.p_value < 0.05 and fisher.p_value_harm < 0.05
    assert any("conflict" in n for n in fisher.notes)
    json.dumps(fisher.to_dict())
    assert list(fisher.to_frame().columns) == [
        "study", "p_value", "direction", "p_one_sided", "z", "weight",
    ]  # fmt: skip
    assert "Fisher" in fisher.summary()


def test_combination_input_errors_are_collected() -> None:
    with pytest.raises(InputError) as err:
        combine_p_values([0.0, 1.5, 0.2, 0.3], directions=[1, 1, 0, "up?"])
    messages = [str(p) for p in err.value.problems]
    assert len(messages) == 4
    assert "p < 0.001" in messages[0]
    with pytest.raises(InputError, match="need directions"):
        combine_p_values([0.1, 0.2])
    with pytest.raises(InputError, match="only used"):
        combine_p_values([0.1, 0.2], directions=[1, 1], two_sided=False)
    with pytest.raises(InputError, match="Fisher's method is unweighted"):
        combine_p_values([0.1, 0.2], directions=[1, 1], method="fisher", n=[10, 20])
    with pytest.raises(InputError, match="not both"):
        combine_p_values([0.1, 0.2], directions=[1, 1], weights=[1, 2], n=[10, 20])
    with pytest.raises(InputError, match="method="):
        combine_p_values([0.1, 0.2], directions=[1, 1], method="tippett")


p_values = st.floats(min_value=1e-8, max_value=1.0, allow_nan=False)
directions = st.sampled_from([1, -1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(p_values, directions, st.integers(5, 500)), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
    st.sampled_from(["stouffer", "fisher"]),
)
def test_combined_p_is_invariant_to_order(rows, rnd, method) -> None:
    p, d, n = (list(x) for x in zip(*rows, strict=True))
    weights = {"n": n} if method == "stouffer" else {}
    a = combine_p_values(p, directions=d, method=method, **weights)
    order = list(range(len(p)))
    rnd.shuffle(order)
    b = combine_p_values(
        [p[i] for i in order],
        directions=[d[i] for i in order],
        method=method,
        **({"n": [n[i] for i in order]} if weights else {}),
    )
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-300)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(p_values, directions), min_size=1, max_size=12))
def test_flipping_directions_mirrors_one_sided_p(rows) -> None:
    p, d = (list(x) for x in zip(*rows, strict=True))
    a = combine_p_values(p, directions=d)
    b = combine_p_values(p, directions=[-x for x in d])
    np.testing.assert_allclose(b.p_one_sided, 1 - a.p_one_sided, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.z, -a.z, rtol=1e-12)
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-12, abs=1e-12)
    assert b.p_value == pytest.approx(a.p_value_harm, rel=1e-9, abs=1e-300)
    fa = combine_p_values(p, directions=d, method="fisher")
    fb = combine_p_values(p, directions=[-x for x in d], method="fisher")
    assert fb.p_value == pytest.approx(fa.p_value_harm, rel=1e-9, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["benefit", "harm", "none"]), min_size=1, max_size=30))
def test_sign_test_symmetric_under_flip(dirs) -> None:
    flip = {"benefit": "harm", "harm": "benefit", "none": "none"}
    a, b = sign_test(dirs), sign_test([flip[x] for x in dirs])
    assert (a.n_benefit, a.n_harm) == (b.n_harm, b.n_benefit)
    if a.n:
        assert a.p_value == pytest.approx(b.p_value, rel=1e-12)


# ------------------------------------------------------------------ effect direction


def _rows(study: str, domain: str, dirs: list[str], **extra: object) -> list[dict]:
    return [{"study": study, "domain": domain, "direction": d, **extra} for d in dirs]


def test_effect_direction_seventy_percent_rule() -> None:
    rows = (
        _rows("A", "function", ["benefit"] * 7 + ["harm"] * 3, n=350, design="RCT")
        + _rows("B", "function", ["benefit"] * 6 + ["none"] * 4, n=120, design="RCT")
        + _rows("C", "function", ["harm"] * 3 + ["benefit"], n=30, design="single-arm")
        + _rows("C", "survival", ["none", "none"], n=30, design="single-arm")
        + _rows("D", "survival", ["harm"], n=50, design="external control")
    )
    ed = effect_direction(rows)
    f = ed.frame.set_index(["study", "domain"])
    # 7/10 = 70 % meets the threshold exactly; 6/10 does not; 3/4 = 75 % harm.
    assert f.loc[("A", "function"), "symbol"] == "▲"
    assert f.loc[("A", "function"), "share"] == pytest.approx(0.7)
    assert f.loc[("B", "function"), "symbol"] == "◄►"
    assert f.loc[("C", "function"), "symbol"] == "▼"
    assert f.loc[("C", "survival"), "symbol"] == "◄►"
    assert f.loc[("D", "survival"), "symbol"] == "▼"
    # Thomson & Thomas sizes: < 50 small, 50-300 medium, > 300 large.
    assert f["size_class"].tolist() == ["large", "medium", "small", "small", "medium"]
    assert f.loc[("D", "survival"), "design"] == "external control"
    assert ed.studies == ("A", "B", "C", "D")
    assert ed.domains == ("function", "survival")


def test_effect_direction_plot_data_and_sign_test() -> None:
    rows = _rows("A", "f", ["benefit"]) + _rows("B", "f", ["benefit"]) + _rows("C", "f", ["none"])
    rows += _rows("A", "g", ["harm"])
    ed = effect_direction(rows)
    pdata = ed.plot_data()
    assert pdata["studies"] == ["A", "B", "C"] and pdata["domains"] == ["f", "g"]
    cells = {(c["study"], c["domain"]): c for c in pdata["cells"]}
    assert cells[("A", "g")]["row"] == 0 and cells[("A", "g")]["column"] == 1
    assert cells[("A", "g")]["marker"] == "v"
    assert cells[("C", "f")]["symbol"] == "◄►"
    st_f = ed.sign_test("f")
    assert (st_f.n_benefit, st_f.n_harm, st_f.n_no_effect) == (2, 0, 1)
    json.dumps(ed.to_dict())
    assert "▲" in ed.summary()
    with pytest.raises(InputError, match="domain="):
        ed.sign_test("h")


def test_effect_direction_collects_problems() -> None:
    rows = [
        {"study": "A", "domain": "f", "direction": "sideways", "n": 10},
        {"study": "A", "domain": "g", "direction": "benefit", "n": 12},
        {"study": "B", "domain": None, "direction": "harm", "n": -3},
    ]
    with pytest.raises(InputError) as err:
        effect_direction(rows)
    text = str(err.value)
    assert "sideways" in text and "domain is missing" in text
    assert "sample size must be" in text and "one study must have one value" in text
    with pytest.raises(InputError, match="'direction' is missing"):
        effect_direction([{"study": "A", "domain": "f"}])


# ------------------------------------------------------------------ albatross


def test_albatross_points_hand_checked() -> None:
    alb = albatross_data([0.01, 0.5, 0.2], [100, 40, 64], ["benefit", "harm", "harm"])
    # x = sign * -log10(p2): 0.01 -> 2, 0.5 -> -0.30103, 0.2 -> -0.69897.
    assert alb.frame["x"].tolist() == pytest.approx([2.0, -0.30103, -0.69897], abs=1e-5)
    assert alb.frame["p_one_sided"].tolist() == pytest.approx([0.005, 0.75, 0.9])


def test_albatross_smd_contour_hand_checked() -> None:
    # SMD 0.5, two equal arms, N = 64: z = 0.5 sqrt(64) / 2 = 2, p2 = 0.0455003.
    alb = albatross_data([0.05], [64], [1], effect_contours=(0.5,), grid_size=3)
    c = alb.contours
    n = c["n"].to_numpy()
    z = c["z"].to_numpy()
    np.testing.assert_allclose(z[:3], 0.5 * np.sqrt(n[:3]) / 2)
    np.testing.assert_allclose(z[3:], -0.5 * np.sqrt(n[3:]) / 2)
    p2 = 2 * stats.norm.sf(2.0)
    assert p2 == pytest.approx(0.0455003, abs=1e-7)
    # A study of N = 64 with p2 = 0.0455 in the benefit direction lies on the contour.
    point = albatross_data([p2], [64], [1]).frame["x"].iloc[0]
    assert point == pytest.approx(-math.log10(p2))
    assert alb.plot_data()["yscale"] == "log"


def test_albatross_md_and_correlation_contours() -> None:
    md = albatross_data([0.05], [64], [1], effect_contours=(4.0,), measure="MD", sd=8.0)
    smd = albatross_data([0.05], [64], [1], effect_contours=(0.5,))
    np.testing.assert_allclose(md.contours["z"], smd.contours["z"])
    cor = albatross_data([0.05], [103], [1], effect_contours=(0.3,), measure="COR")
    row = cor.contours.iloc[(cor.contours["n"] - 103).abs().argmin()]
    assert row["z"] == pytest.approx(math.atanh(0.3) * math.sqrt(row["n"] - 3))
    with pytest.raises(InputError, match="needs sd"):
        albatross_data([0.05], [64], [1], measure="MD")


def test_albatross_one_sided_input_and_serialisation() -> None:
    alb = albatross_data([0.005, 0.95], [50, 80], [1, 1], two_sided=False)
    assert alb.frame["direction"].tolist() == ["benefit", "harm"]
    assert alb.frame["p_value"].tolist() == pytest.approx([0.01, 0.1])
    json.dumps(alb.to_dict())
    assert "not a pooled estimate" in " ".join(alb.notes)
