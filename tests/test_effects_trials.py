"""Trial-level results as effect-size rows, and those rows inside meta_analysis."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from alsmeta import EffectSizeTable, escalc, meta_analysis
from alsmeta.effects.trials import (
    DATA_COLUMNS,
    change_effect,
    hazard_ratio_effect,
    lead_in_effect,
    odds_ratio_effect,
    slope_effect,
    stack_effects,
    trial_effect,
)
from alsmeta.errors import InputError
from alsmeta.patients import lead_in, responders, synth_cohort
from alsmeta.patients.cafs import cafs
from alsmeta.patients.slopes import LEAD_IN_CAVEATS
from alsmeta.patients.survival import survival


@pytest.fixture(scope="module")
def trial():
    return synth_cohort(240, rng=np.random.default_rng(21), effect=0.3)


def test_slope_row_from_an_object_or_numbers() -> None:
    mixed = SimpleNamespace(slope_difference=0.31, se=0.12)
    a = slope_effect(mixed, study="mine", n_treatment=50, n_control=48)
    b = slope_effect(0.31, se=0.12, study="mine", n_treatment=50, n_control=48)
    for row in (a, b):
        assert row.measure == "MD" and row.study == ("mine",)
        assert row.yi.tolist() == [0.31]
        np.testing.assert_allclose(row.vi, [0.12**2])
        assert list(row.data.columns) == list(DATA_COLUMNS)
        assert row.data["design"].iloc[0] == "RCT"
        assert any("taken as known" in n for n in row.notes)
    assert a.data["source"].iloc[0].startswith("SimpleNamespace")
    with pytest.raises(InputError, match="se="):
        slope_effect(0.3)
    with pytest.raises(InputError, match="se=-1"):
        slope_effect(0.3, se=-1)
    with pytest.raises(InputError, match="design='cohort' is not valid"):
        slope_effect(0.3, se=0.1, design="cohort")


def test_change_row() -> None:
    row = change_effect(1.8, 0.64, month=6, design="non-randomised controlled")
    assert row.measure == "MD" and row.vi.tolist() == [0.64]
    assert "month 6" in row.data["effect"].iloc[0]
    ancova = SimpleNamespace(estimate=1.8, se=0.8)
    np.testing.assert_allclose(change_effect(ancova).vi, [0.64])


def test_hazard_ratio_row_is_the_cox_fit(trial) -> None:
    res = survival(trial)
    row = hazard_ratio_effect(res, study="own")
    assert row.measure == "GEN"
    assert row.yi[0] == res.log_hazard_ratio and row.vi[0] == res.se**2
    assert row.data["effect"].iloc[0] == "log hazard ratio of death, Active vs Placebo"
    n = res.endpoints["arm"].value_counts()
    assert row.data["n_treatment"].iloc[0] == n["Active"]
    assert "proportional hazards" in row.data["assumption"].iloc[0]
    assert trial_effect(res, study="own").yi[0] == row.yi[0]


def test_odds_ratio_row_is_escalc_of_the_responder_counts(trial) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = responders(trial, "nurown_ph3")
    row = odds_ratio_effect(res)
    by_arm = res.by_arm.set_index("arm")
    a, n1 = by_arm.loc["Active", "n_responders"], by_arm.loc["Active", "n_counted"]
    c, n2 = by_arm.loc["Placebo", "n_responders"], by_arm.loc["Placebo", "n_counted"]
    direct = escalc("OR", ai=[a], bi=[n1 - a], ci=[c], di=[n2 - c])
    np.testing.assert_allclose(row.yi, direct.yi, rtol=1e-15)
    np.testing.assert_allclose(row.vi, direct.vi, rtol=1e-15)
    assert row.measure == "OR" and row.data["n_treatment"].iloc[0] == n1
    assert trial_effect(res).yi[0] == row.yi[0]
    with pytest.raises(InputError, match="'Drug'"):
        odds_ratio_effect(res, treatment="Drug")
    zero = odds_ratio_effect(counts=(0, 10, 3, 7))
    assert np.isfinite(zero.yi[0])  # 1/2 added to every cell, as metafor
    with pytest.raises(InputError, match="exactly one"):
        odds_ratio_effect(res, counts=(1, 2, 3, 4))


def test_lead_in_row_reuses_lead_in_and_states_the_caveats(trial) -> None:
    res = lead_in(trial)
    row = lead_in_effect(res)
    ok = res.table["status"] == "ok"
    d = res.table.loc[ok, "change"].to_numpy()
    assert row.measure == "MC"
    np.testing.assert_allclose(row.yi, [res.mean_change], rtol=1e-14)
    np.testing.assert_allclose(row.vi, [d.var(ddof=1) / d.size], rtol=1e-14)
    assert row.data["design"].iloc[0] == "single-arm with lead-in"
    for caveat in LEAD_IN_CAVEATS:
        assert any(caveat in n for n in row.notes)
    # the same variance as metafor's MC from the paired summaries (sd of the differences)
    active = lead_in_effect(res, arm="Active")
    d_act = res.table.loc[ok & (res.table["arm"] == "Active"), "change"].to_numpy()
    np.testing.assert_allclose(active.yi, [d_act.mean()])
    assert "arm Active" in active.data["source"].iloc[0]


def test_cafs_has_no_poolable_effect(trial) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cafs(trial)
    with pytest.raises(InputError, match="CAFS mean ranks"):
        trial_effect(res)


def test_own_trial_joins_meta_analysis_beside_published_trials() -> None:
    published = escalc(
        "MD",
        m1i=[-0.80, -1.00, -0.75],
        sd1i=[0.9, 1.1, 0.8],
        n1i=[40, 25, 60],
        m2i=[-1.05, -1.10, -1.00],
        sd2i=[1.0, 1.2, 0.9],
        n2i=[38, 24, 58],
        study=["Trial A", "Trial B", "Trial C"],
    )
    own = slope_effect(SimpleNamespace(slope_difference=0.28, se=0.11), study="Own trial")
    both = stack_effects(published, own)
    assert both.k == 4 and both.study[-1] == "Own trial" and both.measure == "MD"
    assert both.data["design"].tolist()[-1] == "RCT"
    fit = meta_analysis(both, method="REML")
    # the same fit from the plain numbers, as a user would type them
    plain = EffectSizeTable.from_arrays(
        np.r_[published.yi, 0.28], vi=np.r_[published.vi, 0.11**2], measure="MD"
    )
    ref = meta_analysis(plain, method="REML")
    np.testing.assert_allclose(fit.estimate, ref.estimate, rtol=1e-12)
    np.testing.assert_allclose(fit.se, ref.se, rtol=1e-12)
    # and through a frame, as `alsmeta fit` reads it
    frame = both.to_frame()
    assert {"study", "yi", "vi", "design"} <= set(frame.columns)
    again = meta_analysis(EffectSizeTable.from_frame(frame, study="study"), method="REML")
    np.testing.assert_allclose(again.estimate, ref.estimate, rtol=1e-12)


def test_log_hazard_ratio_joins_published_log_hazard_ratios(trial) -> None:
    own = hazard_ratio_effect(survival(trial), study="Own")
    published = EffectSizeTable.from_frame(
        pd.DataFrame({"study": ["P1", "P2"], "yi": [-0.2, 0.05], "sei": [0.15, 0.2]}),
        sei="sei",
        study="study",
    )
    fit = meta_analysis(stack_effects(published, own), method="DL")
    assert fit.k == 3 and np.isfinite(fit.estimate)


def test_stack_refuses_mixed_scales() -> None:
    with pytest.raises(InputError, match="different measures"):
        stack_effects(slope_effect(0.2, se=0.1), odds_ratio_effect(counts=(5, 5, 3, 7)))
    with pytest.raises(InputError, match="unique"):
        stack_effects(slope_effect(0.2, se=0.1), slope_effect(0.3, se=0.1))
