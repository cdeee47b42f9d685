"""Per-patient slopes, lead-in change and responder rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from alsmeta.alsfrs import DOMAINS, ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import (
    PRESETS,
    ResponderRule,
    lead_in,
    responders,
    slopes,
    synth_cohort,
    visit_table,
)
from alsmeta.patients.slopes import LEAD_IN_CAVEATS

ITEMS_5A = [c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"]
DOMAIN_ITEMS = {
    name: [c for c in items if c != "cutting_with_gastrostomy"] for name, items in DOMAINS.items()
}


@pytest.fixture(scope="module")
def cohort():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synth_cohort(300, rng=np.random.default_rng(11))


def items_for(total: int) -> dict[str, int]:
    loss = 48 - total
    return {c: 4 - min(4, max(0, loss - 4 * i)) for i, c in enumerate(ITEMS_5A)}


def items_for_domains(scores: dict[str, int]) -> dict[str, int]:
    row: dict[str, int] = {}
    for domain, items in DOMAIN_ITEMS.items():
        loss = 12 - scores[domain]
        for i, c in enumerate(items):
            row[c] = 4 - min(4, max(0, loss - 4 * i))
    return row


def patient(sid: str, points: list[tuple[float, int]], **extra: object) -> list[dict[str, object]]:
    """Visits at (months, total)."""
    return [{"subject_id": sid, "months": m, **items_for(t), **extra} for m, t in points]


# ---------------------------------------------------------------------------- slopes


def test_slopes_match_numpy_polyfit_per_patient(cohort) -> None:
    res = slopes(cohort)
    table = cohort.table
    for sid, group in list(table.groupby("subject_id", sort=False))[:60]:
        expected = np.polyfit(group["months"], group["total"], 1)
        row = res.table.set_index("subject_id").loc[sid]
        assert row["slope"] == pytest.approx(expected[0], rel=1e-9, abs=1e-12)
        assert row["intercept"] == pytest.approx(expected[1], rel=1e-9, abs=1e-9)
        assert row["n_visits"] == len(group)


def test_window_and_onset_axis(cohort) -> None:
    res = slopes(cohort, window=(0, 12))
    onset = slopes(cohort, time="onset")
    table = cohort.table
    for sid, group in list(table.groupby("subject_id", sort=False))[:30]:
        inside = group[(group["months"] >= 0) & (group["months"] <= 12)]
        if len(inside) < 2:
            continue
        expected = np.polyfit(inside["months"], inside["total"], 1)[0]
        assert res.table.set_index("subject_id").loc[sid, "slope"] == pytest.approx(expected)
    # Same slope on either axis; only the intercept moves.
    np.testing.assert_allclose(
        onset.table["slope"], slopes(cohort).table["slope"], rtol=1e-9, atol=1e-12
    )


def test_onset_anchor_adds_48_at_onset(cohort) -> None:
    res = slopes(cohort, anchor_onset=True)
    onset = cohort.subjects.set_index("subject_id")["onset_days"]
    for sid, group in list(cohort.table.groupby("subject_id", sort=False))[:30]:
        t = np.r_[onset[sid] / 30.4375, group["months"]]
        y = np.r_[48.0, group["total"]]
        expected = np.polyfit(t, y, 1)[0]
        assert res.table.set_index("subject_id").loc[sid, "slope"] == pytest.approx(expected)


def test_minimum_visits_and_span_give_nan_with_a_warning() -> None:
    rows = patient("A", [(0, 40), (1, 39), (2, 38)]) + patient("B", [(0, 40), (0.5, 39)])
    rows += patient("C", [(0, 44)])
    with pytest.warns(UserWarning, match="slope set to nan"):
        res = slopes(pd.DataFrame(rows), min_visits=2, min_span_months=1.5)
    table = res.table.set_index("subject_id")
    assert table.loc["A", "slope"] == pytest.approx(-1.0)
    assert table.loc["A", "status"] == "ok"
    assert math.isnan(table.loc["B", "slope"]) and table.loc["B", "status"] == "span too short"
    assert table.loc["C", "status"] == "too few visits"
    assert any("span too short" in n for n in res.notes)


def test_slope_options_are_validated() -> None:
    rows = pd.DataFrame(patient("A", [(0, 40), (1, 39)]))
    with pytest.raises(InputError, match="min_visits"):
        slopes(rows, min_visits=1)
    with pytest.raises(InputError, match="time="):
        slopes(rows, time="diagnosis")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 48), min_size=3, max_size=10),
    st.floats(0.2, 3.0),
)
def test_slope_equals_polyfit_for_any_totals(totals: list[int], step: float) -> None:
    months = [i * step for i in range(len(totals))]
    res = slopes(pd.DataFrame(patient("P", list(zip(months, totals, strict=True)))))
    assert res.table["slope"].iloc[0] == pytest.approx(
        np.polyfit(months, totals, 1)[0], rel=1e-9, abs=1e-9
    )


# ---------------------------------------------------------------------------- lead-in


def test_lead_in_matches_scipy_paired_t_test(cohort) -> None:
    with pytest.warns(UserWarning, match="too few visits"):
        res = lead_in(cohort)
    pre, post, ids = [], [], []
    for sid, group in cohort.table.groupby("subject_id", sort=False):
        before = group[group["days"] <= 0]
        after = group[group["days"] >= 0]
        if len(after) < 2:  # died or dropped out right after baseline
            continue
        ids.append(sid)
        pre.append(np.polyfit(before["months"], before["total"], 1)[0])
        post.append(np.polyfit(after["months"], after["total"], 1)[0])
    pre_a, post_a = np.array(pre), np.array(post)
    ok = res.table[res.table["status"] == "ok"]
    assert ok["subject_id"].tolist() == ids
    np.testing.assert_allclose(ok["slope_pre"], pre_a, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ok["slope_post"], post_a, rtol=1e-8, atol=1e-10)
    expected = stats.ttest_rel(post_a, pre_a)
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-8)
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-8)
    assert res.mean_change == pytest.approx(np.mean(post_a - pre_a))
    ci = stats.t.interval(0.95, len(pre_a) - 1, np.mean(post_a - pre_a), stats.sem(post_a - pre_a))
    assert (res.ci_lower, res.ci_upper) == pytest.approx(ci)
    assert res.n_pairs == len(pre_a)
    wil = lead_in(cohort, test="wilcoxon")
    assert wil.p_value == pytest.approx(stats.wilcoxon(post_a - pre_a).pvalue, rel=1e-8)


def test_lead_in_states_the_section_2_4_caveats(cohort) -> None:
    res = lead_in(cohort)
    assert res.notes[: len(LEAD_IN_CAVEATS)] == LEAD_IN_CAVEATS
    assert "regression to the mean" in res.summary()
    assert res.to_dict()["notes"][0] == LEAD_IN_CAVEATS[0]


def test_percent_change_definition() -> None:
    # Research file 4.4: percent = (s_post - s_pre) / |s_pre| * 100; 100 % = no further decline.
    rows = patient("A", [(-3, 42), (0, 36), (4, 36)]) + patient("B", [(-3, 42), (0, 36), (4, 32)])
    res = lead_in(pd.DataFrame(rows)).table.set_index("subject_id")
    assert res.loc["A", "slope_pre"] == pytest.approx(-2.0)
    assert res.loc["A", "percent_change"] == pytest.approx(100.0)
    assert res.loc["B", "change"] == pytest.approx(1.0)
    assert res.loc["B", "percent_change"] == pytest.approx(50.0)


# ---------------------------------------------------------------------------- responders

# Lead-in: 48 -> 42 over 3 months (s_pre = -2); follow-up: 42 -> 42 + 4 * s_post over 4 months.
ABSOLUTE_CASES = [
    # preset, s_post at the threshold, step either side
    ("nurown_ph2", -0.5, 0.25),  # >= 1.5 points/month
    ("nurown_ph3", -0.75, 0.25),  # >= 1.25 points/month
]
PERCENT_CASES = [("pct50", -1.0), ("pct75", -0.5), ("pct100", 0.0)]


def lead_in_patient(sid: str, s_post: float) -> list[dict[str, object]]:
    end = 42 + 4 * s_post
    assert end == int(end)
    return patient(sid, [(-3, 48), (0, 42), (4, int(end))])


@pytest.mark.parametrize(("preset", "at", "step"), ABSOLUTE_CASES)
def test_absolute_presets_at_and_either_side_of_the_threshold(preset, at, step) -> None:
    rows = lead_in_patient("below", at - step) + lead_in_patient("at", at)
    rows += lead_in_patient("above", at + step)
    res = responders(pd.DataFrame(rows), preset, post_months=4.0)
    got = res.table.set_index("subject_id")["responder"]
    assert got.to_dict() == {"below": False, "at": True, "above": True}
    change = res.table.set_index("subject_id")["change"]
    assert change["at"] == pytest.approx(PRESETS[preset].threshold)


@pytest.mark.parametrize(("preset", "at"), PERCENT_CASES)
def test_percent_presets_at_and_either_side_of_the_threshold(preset, at) -> None:
    rows = lead_in_patient("below", at - 0.25) + lead_in_patient("at", at)
    rows += lead_in_patient("above", at + 0.25)
    res = responders(pd.DataFrame(rows), preset)
    table = res.table.set_index("subject_id")
    assert table["responder"].to_dict() == {"below": False, "at": True, "above": True}
    assert table.loc["at", "percent_change"] == pytest.approx(PRESETS[preset].threshold)


def test_preset_values_are_those_of_section_4_4() -> None:
    assert PRESETS["nurown_ph2"].threshold == 1.5
    assert PRESETS["nurown_ph3"].threshold == 1.25
    assert PRESETS["nurown_ph3"].post_months * 30.4375 == pytest.approx(28 * 7)
    assert PRESETS["domain_nurown_ph2"].threshold == 0.375 == 0.25 * 1.5
    assert PRESETS["domain_nurown_ph2"].domains
    assert [PRESETS[k].threshold for k in ("pct50", "pct75", "pct100")] == [50, 75, 100]
    assert all(PRESETS[k].measure == "percent" for k in ("pct50", "pct75", "pct100"))


def domain_patient(sid: str, post_end: dict[str, int]) -> list[dict[str, object]]:
    """Each domain 12 -> 9 over 3 months (s_pre = -1), then 9 -> post_end over 8 months."""
    start = dict.fromkeys(DOMAIN_ITEMS, 12)
    base = dict.fromkeys(DOMAIN_ITEMS, 9)
    return [
        {"subject_id": sid, "months": m, **items_for_domains(s)}
        for m, s in ((-3, start), (0, base), (8, post_end))
    ]


def test_domain_preset_at_and_either_side_of_0_375() -> None:
    at = dict.fromkeys(DOMAIN_ITEMS, 4)  # s_post = -0.625: change 0.375
    above = dict.fromkeys(DOMAIN_ITEMS, 5)  # change 0.5
    one_below = {**at, "respiratory": 3}  # change 0.25 in one domain
    rows = domain_patient("at", at) + domain_patient("above", above)
    rows += domain_patient("one_below", one_below)
    data = pd.DataFrame(rows)
    res = responders(data, "domain_nurown_ph2").table.set_index("subject_id")
    assert res["responder"].to_dict() == {"at": True, "above": True, "one_below": False}
    assert res.loc["at", "change_bulbar"] == pytest.approx(0.375)
    assert not bool(res.loc["one_below", "responder_respiratory"])
    assert bool(res.loc["one_below", "responder_bulbar"])
    anyres = responders(data, "domain_nurown_ph2", domain_combine="any")
    assert bool(anyres.table.set_index("subject_id").loc["one_below", "responder"])


def test_death_and_dropout_handling_is_explicit() -> None:
    visits = lead_in_patient("died", 0.0)
    good = [*visits[:2], {**visits[2], "months": 2.0}]
    for row in good:
        row["death_days"] = 100.0
        row["died"] = "Yes"
    complete = lead_in_patient("done", 0.0)
    data = pd.DataFrame(good + complete)
    base = responders(data, "pct100", post_months=4.0)
    table = base.table.set_index("subject_id")
    assert table.loc["died", "outcome"] == "died"
    assert not bool(table.loc["died", "responder"])
    assert table.loc["died", "status"] == "non-responder: died"
    assert bool(table.loc["done", "responder"])
    with pytest.warns(UserWarning, match="excluded"):
        excl = responders(data, "pct100", post_months=4.0, death="exclude")
    assert pd.isna(excl.table.set_index("subject_id").loc["died", "responder"])
    assert excl.by_arm.iloc[-1]["n_counted"] == 1
    # LOCF carries 42 forward from month 2 to the landmark: no decline, a responder.
    locf = responders(data, "pct100", post_months=4.0, death="locf")
    row = locf.table.set_index("subject_id").loc["died"]
    assert row["slope_post"] == pytest.approx(0.0, abs=1e-12)
    assert bool(row["responder"])


def test_dropout_is_a_non_responder_by_default() -> None:
    rows = patient("gone", [(-3, 48), (0, 42), (1, 42)]) + lead_in_patient("done", 0.0)
    res = responders(pd.DataFrame(rows), "pct100", post_months=4.0).table.set_index("subject_id")
    assert res.loc["gone", "outcome"] == "dropout"
    assert not bool(res.loc["gone", "responder"])


def test_rule_validation_names_the_valid_values() -> None:
    with pytest.raises(InputError, match="nurown_ph3"):
        responders(pd.DataFrame(lead_in_patient("A", 0.0)), "nurown")
    with pytest.raises(InputError, match="death="):
        ResponderRule(name="x", measure="absolute", threshold=1.0, death="ignore")
    with pytest.raises(InputError, match="unknown rule option"):
        responders(pd.DataFrame(lead_in_patient("A", 0.0)), "pct50", thresh=3)


def test_responders_by_arm_counts(cohort) -> None:
    res = responders(cohort, "nurown_ph2")
    by = res.by_arm.set_index("arm")
    assert by.loc["all", "n"] == cohort.n_subjects
    assert by.loc["all", "n_responders"] == int(res.table["responder"].fillna(False).sum())
    assert set(res.to_dict()) == {"rule", "landmark_months", "by_arm", "notes", "subjects"}
    visit_table(cohort.to_plain())  # the plain layout validates again


def test_lead_in_reports_each_arm_beside_the_pooled_change(cohort) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lead_in(cohort)
    by = res.by_arm.set_index("arm")
    assert set(by.index) == {"Active", "Placebo"}
    assert by["n_pairs"].sum() == res.n_pairs
    ok = res.table[res.table["status"] == "ok"]
    placebo = ok[ok["arm"] == "Placebo"]
    expected = stats.ttest_rel(placebo["slope_post"], placebo["slope_pre"])
    assert by.loc["Placebo", "p_value"] == pytest.approx(expected.pvalue, rel=1e-8)
    assert "by arm:" in res.summary()


@settings(max_examples=15, deadline=None)
@given(st.floats(-1.0, 3.0), st.floats(0.0, 2.0))
def test_a_higher_threshold_never_adds_responders(cohort, low: float, extra: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lower = responders(cohort, "nurown_ph2", threshold=low).table["responder"]
        higher = responders(cohort, "nurown_ph2", threshold=low + extra).table["responder"]
    gained = higher.fillna(False).to_numpy(dtype=bool) & ~lower.fillna(False).to_numpy(dtype=bool)
    assert not gained.any()


@settings(max_examples=15, deadline=None)
@given(st.integers(-400, 400))
def test_shifting_every_visit_in_time_keeps_the_slopes(shift: int) -> None:
    rows = patient("A", [(0, 40), (1, 39), (2.5, 35), (4, 36)])
    rows += patient("B", [(0, 30), (3, 24), (6, 20)])
    data = pd.DataFrame(rows)
    moved = data.assign(months=data["months"] + shift / 30.4375)
    a = slopes(data).table["slope"].to_numpy()
    b = slopes(moved).table["slope"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_delta_fs_lead_in_slope_uses_months_to_the_visit() -> None:
    # Research file section 2.1: delta FS = (48 - total) / months from onset to the visit
    # that gave the total. Onset a year before treatment; the last lead-in visit is 30
    # days before treatment with a total of 40: -(48 - 40) / ((365.25 - 30) / 30.4375).
    from alsmeta.patients import responders, visit_table

    items = {name: [4.0] * 4 for name in ITEM_COLUMNS}
    items["cutting_with_gastrostomy"] = [np.nan] * 4
    items["walking"] = items["stairs"] = [0.0] * 4  # 48 - 8 = 40
    items["handwriting"] = [4.0, 3.0, 2.0, 1.0]  # totals 40, 39, 38, 37
    frame = pd.DataFrame(
        {"subject_id": ["A"] * 4, "days": [-30.0, 30.0, 60.0, 120.0], **items,
         "onset_days": -365.25, "arm": "cells"}
    )  # fmt: skip
    res = responders(visit_table(frame), "nurown_ph3", pre_slope="delta_fs", post_months=None)
    expected = -(48 - 40) / ((365.25 - 30) / 30.4375)
    assert res.table["slope_pre"].iloc[0] == pytest.approx(expected, rel=1e-12)
