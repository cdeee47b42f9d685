"""Invariants of meta_analysis that hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alsmeta import EffectSizeTable, meta_analysis, meta_analysis_by
from alsmeta.meta import METHODS, TESTS

RE_METHODS = [m for m in METHODS if m not in ("EE", "GENQ")]


@st.composite
def datasets(draw: st.DrawFn, min_k: int = 2, max_k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k))
    # log-uniform variances over ten orders of magnitude: extreme ratios are where
    # textbook formulas cancel catastrophically
    log_vi = draw(st.lists(st.floats(-8, 2, allow_nan=False), min_size=k, max_size=k))
    vi = [10.0**x for x in log_vi]
    return np.array(yi), np.array(vi)


def table(yi: np.ndarray, vi: np.ndarray) -> EffectSizeTable:
    return EffectSizeTable.from_frame(pd.DataFrame({"yi": yi, "vi": vi}))


def close(a: float, b: float, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    return bool(np.isclose(a, b, rtol=rtol, atol=atol) or (np.isnan(a) and np.isnan(b)))


@settings(max_examples=60, deadline=None)
@given(
    data=datasets(),
    method=st.sampled_from(RE_METHODS),
    test=st.sampled_from(TESTS),
    seed=st.integers(0, 2**31 - 1),
)
def test_study_order_does_not_matter(data, method, test, seed) -> None:
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(len(yi))
    a = meta_analysis(table(yi, vi), method=method, test=test)
    b = meta_analysis(table(yi[perm], vi[perm]), method=method, test=test)
    for key in ("estimate", "se", "tau2", "q", "i2", "ci_lower", "pi_upper", "tau2_ci_upper"):
        assert close(getattr(a, key), getattr(b, key)), key
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-7, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=datasets(min_k=1), method=st.sampled_from(RE_METHODS))
def test_tau2_is_never_negative_and_intervals_are_ordered(data, method) -> None:
    yi, vi = data
    res = meta_analysis(table(yi, vi), method=method, test="knha")
    assert res.tau2 >= 0
    assert res.ci_lower <= res.estimate <= res.ci_upper
    assert res.pi_lower <= res.ci_lower + 1e-12 and res.pi_upper >= res.ci_upper - 1e-12
    if res.k > 1 and not np.isnan(res.tau2_ci_upper):
        assert 0 <= res.tau2_ci_lower <= res.tau2_ci_upper
        if res.method in ("PM", "EB"):  # Q(tau2) = k - 1 lies between the two quantiles
            assert res.tau2_ci_lower <= res.tau2 <= res.tau2_ci_upper
    assert abs(np.sum(res.weights) - 100) < 1e-9


@st.composite
def homogeneous(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes well inside their sampling error, so that tau^2 is usually 0."""
    k = draw(st.integers(2, 20))
    log_vi = draw(st.lists(st.floats(-6, 1, allow_nan=False), min_size=k, max_size=k))
    z = draw(st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=k, max_size=k))
    vi = 10.0 ** np.array(log_vi)
    return 1.0 + np.array(z) * np.sqrt(vi), vi


@settings(max_examples=60, deadline=None)
@given(data=homogeneous(), method=st.sampled_from(RE_METHODS), test=st.sampled_from(TESTS))
def test_random_effects_equals_equal_effects_when_tau2_is_zero(data, method, test) -> None:
    yi, vi = data
    re = meta_analysis(table(yi, vi), method=method, test=test)
    assume(re.tau2 == 0)
    ee = meta_analysis(table(yi, vi), method="EE", test=test)
    for key in ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "q"):
        assert close(getattr(re, key), getattr(ee, key)), key


@settings(max_examples=60, deadline=None)
@given(data=datasets(), method=st.sampled_from(RE_METHODS), test=st.sampled_from(TESTS))
def test_arm_swap_negates_the_estimate(data, method, test) -> None:
    yi, vi = data
    a = meta_analysis(table(yi, vi), method=method, test=test)
    b = meta_analysis(table(-yi, vi), method=method, test=test)
    assert close(a.estimate, -b.estimate, atol=1e-9)
    assert close(a.ci_lower, -b.ci_upper, atol=1e-9)
    assert close(a.tau2, b.tau2) and close(a.p_value, b.p_value, atol=1e-9)


def test_shifting_the_data_shifts_only_the_estimate() -> None:
    rng = np.random.default_rng(7)
    yi, vi = rng.normal(size=12), rng.uniform(0.05, 0.5, 12)
    a = meta_analysis(table(yi, vi), method="REML")
    b = meta_analysis(table(yi + 3.0, vi), method="REML")
    assert b.estimate == pytest.approx(a.estimate + 3.0, rel=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-10)
    assert b.tau2_ci_upper == pytest.approx(a.tau2_ci_upper, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    groups=st.lists(datasets(min_k=1, max_k=8), min_size=1, max_size=6),
    method=st.sampled_from(RE_METHODS),
    test=st.sampled_from(TESTS),
)
def test_batch_equals_single_fits(groups, method, test) -> None:
    frames = [
        pd.DataFrame({"yi": yi, "vi": vi, "g": f"g{j:02d}"}) for j, (yi, vi) in enumerate(groups)
    ]
    data = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)
    batch = meta_analysis_by(EffectSizeTable.from_frame(data), "g", method=method, test=test)
    records = batch.to_dict()
    assert [r["group"] for r in records] == [f"g{j:02d}" for j in range(len(groups))]
    for (yi, vi), rec in zip(groups, records, strict=True):
        single = meta_analysis(table(yi, vi), method=method, test=test).to_dict()
        assert rec.keys() - {"group"} == single.keys()
        for key, value in single.items():
            if isinstance(value, float):
                # atol 1e-9: at the tau^2 = 0 boundary both fits stop at tau^2 ~ 1e-13,
                # where I^2 and H^2 - 1 differ in the twelfth decimal between solvers.
                assert close(rec[key], value, rtol=1e-9, atol=1e-9), key
            else:
                assert rec[key] == value, key
