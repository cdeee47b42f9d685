"""Kaplan–Meier, log-rank and Cox against R's survival package, case by case.

The cases are written by ``validation/r/survival_fixtures.R`` (survfit, survdiff, coxph
with Efron ties); each records its R call. Kaplan–Meier and the log-rank test are closed
form and agree to 1e-12; the Cox fit is iterative (R: relative log-likelihood change below
eps = 1e-13; alsmeta through lifelines: full Newton steps until the step is below 1e-13),
and the coefficients agree to about 1e-10; they are compared at a relative 1e-8.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta.alsfrs import ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import synth_cohort, visit_table
from alsmeta.patients.survival import endpoints, event_records, survival
from conftest import load_fixture

REFERENCE = load_fixture("survival_reference.json")
CASES = REFERENCE["survival_cases"]

#: Size of the case grid; shrinking it must be a deliberate change.
EXPECTED_CASES = 7


def as_float(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def one_visit_cohort(subjects: list[str], arms: list[str]):
    items = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    return visit_table(pd.DataFrame({"subject_id": subjects, "days": 0.0, "arm": arms, **items}))


def fit_case(case: dict[str, Any], conf_type: str = "log-log"):
    data = case["data"]
    vt = one_visit_cohort(data["subject_id"], data["arm"])
    events = pd.DataFrame(
        {
            "subject_id": data["subject_id"],
            "event_month": data["event_month"],
            "event": data["event"],
        }
    )
    return survival(vt, events, conf_type=conf_type)


def test_grid_size_and_provenance() -> None:
    assert len(CASES) == EXPECTED_CASES == REFERENCE["n_survival_cases"]
    assert REFERENCE["generator"] == "validation/r/survival_fixtures.R"
    assert REFERENCE["survival_version"] and REFERENCE["r_version"]
    sizes = [c["n"] for c in CASES]
    assert min(sizes) == 20 and max(sizes) == 500
    # ties in event times and censoring in every case
    for case in CASES:
        times = as_float(case["data"]["event_month"])
        events = as_float(case["data"]["event"])
        assert 0 < events.sum() < events.size
        if case["n"] >= 50 and case["name"] != "n500_continuous":
            assert np.unique(times[events == 1]).size < (events == 1).sum()


@pytest.mark.parametrize("conf_type", ["log-log", "log"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_kaplan_meier_matches_survfit(case: dict[str, Any], conf_type: str) -> None:
    res = fit_case(case, conf_type)
    for arm, expected in case["km"][conf_type]["arms"].items():
        got = res.km[res.km["arm"] == arm]
        for theirs, ours in [
            ("time", "time"),
            ("n_risk", "n_risk"),
            ("n_event", "n_event"),
            ("n_censor", "n_censor"),
            ("surv", "survival"),
            ("lower", "ci_lower"),
            ("upper", "ci_upper"),
        ]:
            want = as_float(expected[theirs])
            have = got[ours].to_numpy(dtype=float)
            np.testing.assert_array_equal(np.isnan(have), np.isnan(want), err_msg=theirs)
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14, err_msg=theirs)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_logrank_matches_survdiff(case: dict[str, Any]) -> None:
    res = fit_case(case)
    expected = case["logrank"]
    assert res.arms == tuple(expected["arms"])
    assert res.logrank["df"] == expected["df"] == 1
    np.testing.assert_allclose(res.logrank["statistic"], expected["chisq"], rtol=1e-12)
    np.testing.assert_allclose(res.logrank["p_value"], expected["p_value"], rtol=1e-10)
    np.testing.assert_allclose(res.logrank["observed"], expected["observed"], rtol=1e-12)
    np.testing.assert_allclose(res.logrank["expected"], expected["expected"], rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cox_matches_coxph_efron(case: dict[str, Any]) -> None:
    res = fit_case(case)
    expected = case["cox"]
    row = res.cox.iloc[0]
    assert row["term"] == "Active vs Placebo"
    pairs = {
        "coef": row["estimate"],
        "se": row["se"],
        "hazard_ratio": row["hazard_ratio"],
        "ci_lower": row["hazard_ratio_ci_lower"],
        "ci_upper": row["hazard_ratio_ci_upper"],
        "z": row["statistic"],
        "p_value": row["p_value"],
    }
    for key, have in pairs.items():
        np.testing.assert_allclose(have, expected[key], rtol=1e-8, err_msg=key)
    np.testing.assert_allclose(res.loglik, expected["loglik"], rtol=1e-12)
    np.testing.assert_allclose(res.loglik_null, expected["loglik_null"], rtol=1e-12)
    np.testing.assert_allclose(res.lr_statistic, expected["lr_statistic"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(res.lr_p_value, expected["lr_p_value"], rtol=1e-8)
    assert res.n_events == expected["n_event"]
    assert res.log_hazard_ratio == row["estimate"] and res.se == row["se"]


def test_deathdata_layout_and_visit_table_deaths_agree() -> None:
    cohort = synth_cohort(120, rng=np.random.default_rng(11))
    subjects = cohort.subjects
    deathdata = pd.DataFrame(
        {
            "subject_id": subjects["subject_id"],
            "Subject_Died": np.where(subjects["died"], "Yes", "No"),
            "Death_Days": subjects["death_days"],
        }
    )
    a = survival(cohort)
    b = survival(cohort, deathdata)
    assert a.n_events == b.n_events == int(subjects["died"].sum())
    np.testing.assert_allclose(a.log_hazard_ratio, b.log_hazard_ratio, rtol=1e-12)
    pd.testing.assert_frame_equal(a.km, b.km)
    d = a.to_dict()
    assert d["logrank"]["p_value"] == a.logrank["p_value"]
    assert "Chisq=" in a.summary() and "Number at risk" in a.summary()


def test_composite_counts_the_first_event_and_death_ignores_others() -> None:
    vt = one_visit_cohort(["A", "B", "C", "D"], ["Active", "Active", "Placebo", "Placebo"])
    records = pd.DataFrame(
        {
            "subject_id": ["A", "A", "B", "C", "D"],
            "event_type": ["tracheostomy", "death", "ventilation", "death", "death"],
            "event_month": [3.0, 8.0, 5.0, 4.0, 9.0],
            "event": [1, 1, 1, 1, 0],
        }
    )
    death, _ = endpoints(vt, records, event="death")
    composite, _ = endpoints(vt, records, event="composite")
    assert death["time_months"].tolist() == [8.0, 5.0, 4.0, 9.0]
    assert death["event"].tolist() == [1, 0, 1, 0]
    assert composite["time_months"].tolist() == [3.0, 5.0, 4.0, 9.0]
    assert composite["event"].tolist() == [1, 1, 1, 0]
    assert composite["event_type"].tolist()[:3] == ["tracheostomy", "ventilation", "death"]
    censored, _ = endpoints(vt, records, event="death", follow_up_months=6)
    assert censored["time_months"].tolist() == [6.0, 5.0, 4.0, 6.0]
    assert censored["event"].tolist() == [0, 0, 1, 0]


def test_event_records_name_every_bad_row() -> None:
    bad = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D"],
            "event_month": [3.0, None, -1.0, 2.0],
            "event": [1, 1, 1, "maybe"],
            "event_type": ["death", "death", "death", "stroke"],
        }
    )
    with pytest.raises(InputError) as info:
        event_records(bad)
    text = str(info.value)
    assert "subject 'B': the time is missing" in text
    assert "subject 'C'" in text and "before trial time 0" in text
    assert "subject 'D': event is 'maybe'" in text
    assert "'stroke' is not one of" in text
    with pytest.raises(InputError, match="event_month"):
        event_records(pd.DataFrame({"subject_id": ["A"], "time": [1.0]}))


def test_deaths_before_visits_and_unknown_subjects_are_errors() -> None:
    cohort = synth_cohort(10, rng=np.random.default_rng(2))
    sid = str(cohort.subjects["subject_id"].iloc[0])
    early = pd.DataFrame({"subject_id": [sid], "event_month": [0.5], "event": [1]})
    with pytest.raises(InputError, match=f"subject '{sid}': death at month 0.5 is before"):
        survival(cohort, early)
    stranger = pd.DataFrame({"subject_id": ["ZZZ"], "event_month": [5.0], "event": [1]})
    with pytest.raises(InputError, match="subject 'ZZZ' of the event records has no visits"):
        survival(cohort, stranger)
    with pytest.raises(InputError, match="control='Drug' is not an arm"):
        survival(cohort, control="Drug")
    with pytest.raises(InputError, match="conf_type"):
        survival(cohort, conf_type="plain")


def test_an_arm_without_events_gives_no_hazard_ratio() -> None:
    vt = one_visit_cohort(["A", "B", "C", "D"], ["Active", "Active", "Placebo", "Placebo"])
    events = pd.DataFrame(
        {"subject_id": ["A", "B", "C", "D"], "event_month": [2.0, 4, 5, 6], "event": [1, 1, 0, 0]}
    )
    with pytest.warns(UserWarning, match="no events in arm\\(s\\) 'Placebo'"):
        res = survival(vt, events)
    assert res.cox.empty and np.isnan(res.log_hazard_ratio)
    assert np.isfinite(res.logrank["statistic"])
    from alsmeta.effects.trials import hazard_ratio_effect

    with pytest.raises(InputError, match="no hazard ratio"):
        hazard_ratio_effect(res)
