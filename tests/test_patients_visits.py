"""The visit table: layout, time units, validation that names subject, visit and column."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsmeta.alsfrs import ITEM_COLUMNS, PROACT_ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import DAYS_PER_MONTH, SUBJECT_COLUMNS, VISIT_COLUMNS, visit_table

ITEMS_5A = [c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"]


def visit(subject: str, days: float, total_loss: int = 0, **extra: object) -> dict[str, object]:
    """A visit whose items lose ``total_loss`` points, first items first."""
    row: dict[str, object] = {"subject_id": subject, "days": days}
    for i, item in enumerate(ITEMS_5A):
        row[item] = 4 - min(4, max(0, total_loss - 4 * i))
    row.update(extra)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_columns_and_time_units() -> None:
    # months = days / (365.25 / 12), as jpkrooney/ALSFRS_models:R/data_prep.R (research 1.4)
    vt = visit_table(
        frame(
            visit("A", 0, 0, onset_days=-400),
            visit("A", 91, 3, onset_days=-400),
            visit("B", -30, 10, onset_days=-200, arm="Active"),
        )
    )
    assert DAYS_PER_MONTH == 30.4375
    assert list(vt.table.columns) == list(VISIT_COLUMNS)
    assert list(vt.subjects.columns) == list(SUBJECT_COLUMNS)
    a = vt.table[vt.table["subject_id"] == "A"]
    assert a["months"].tolist() == pytest.approx([0.0, 91 / 30.4375])
    # time from onset = ALSFRS_Delta + |Onset_Delta| (research file section 1.4)
    assert a["days_from_onset"].tolist() == [400.0, 491.0]
    assert a["months_from_onset"].tolist() == pytest.approx([400 / 30.4375, 491 / 30.4375])
    assert a["total"].tolist() == [48.0, 45.0]
    assert a["visit"].tolist() == [1, 2]
    assert (vt.table["instrument"] == "ALSFRS-R").all()
    assert vt.subjects.set_index("subject_id").loc["B", "arm"] == "Active"
    assert vt.n_subjects == 2 and vt.n_visits == 3


def test_proact_item_names_and_months_column_are_accepted() -> None:
    reverse = {v: k for k, v in reversed(list(PROACT_ITEM_COLUMNS.items()))}
    rows = [visit("7", 0.0, 2), visit("7", 30.0, 4)]
    data = frame(*rows).rename(columns={**reverse, "days": "ALSFRS_Delta"})
    vt = visit_table(data)
    assert vt.table["total"].tolist() == [46.0, 44.0]
    months = frame(*rows).assign(months=[0.0, 2.0]).drop(columns="days")
    assert visit_table(months).table["days"].tolist() == [0.0, 60.875]


def test_missing_columns_are_all_listed() -> None:
    data = frame(visit("A", 0)).drop(columns=["subject_id", "days", "speech", "walking"])
    with pytest.raises(InputError) as info:
        visit_table(data)
    text = str(info.value)
    assert "subject_id" in text and "time column" in text
    assert "'speech'" in text and "'walking'" in text
    assert len(info.value.problems) == 4


def test_every_visit_problem_is_named_by_subject_visit_and_column() -> None:
    data = frame(
        visit("A", 0, onset_days=-100),
        visit("A", 30, onset_days=-100),
        visit("A", 30, onset_days=-100),  # duplicate time
        visit("A", 10, onset_days=-100),  # goes back in time
        visit("B", -200, onset_days=-100),  # before onset
        visit("B", 0, onset_days=-100, walking=7),  # item out of range
    )
    with pytest.raises(InputError) as info:
        visit_table(data)
    problems = info.value.problems
    by_row = {p.row: p for p in problems}
    assert set(by_row) == {3, 4, 5, 6}
    assert "subject 'A', visit at day 30" in by_row[3].message
    assert "duplicate" in by_row[3].message and by_row[3].column == "days"
    assert "not in time order" in by_row[4].message and "day 10" in by_row[4].message
    assert "before symptom onset" in by_row[5].message and by_row[5].column == "onset_days"
    assert "subject 'B', visit at day 0" in by_row[6].message and by_row[6].column == "walking"


def test_sort_option_sorts_instead_of_failing() -> None:
    data = frame(visit("A", 60, 2), visit("A", 0, 0), visit("A", 30, 1))
    vt = visit_table(data, sort=True)
    assert vt.table["days"].tolist() == [0.0, 30.0, 60.0]
    assert vt.table["total"].tolist() == [48.0, 47.0, 46.0]


def test_keep_going_skips_bad_visits_and_lists_each() -> None:
    data = frame(
        visit("A", 0), visit("A", 30, speech=9), visit("A", 60), visit("B", 0, dyspnea=None)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vt = visit_table(data, keep_going=True)
    assert vt.table["days"].tolist() == [0.0, 60.0]
    assert [p.row for p in vt.skipped] == [2, 4]
    messages = [str(w.message) for w in caught]
    assert any("row 2" in m and "speech" in m for m in messages)
    assert any("row 4" in m and "dyspnea" in m for m in messages)


def test_subject_values_must_not_change_between_visits() -> None:
    data = frame(visit("A", 0, arm="Active"), visit("A", 30, arm="Placebo"))
    with pytest.raises(InputError, match="arm differs"):
        visit_table(data)


def test_visit_after_death_is_an_error() -> None:
    data = frame(visit("A", 0, death_days=20), visit("A", 30, death_days=20))
    with pytest.raises(InputError, match="after death"):
        visit_table(data)


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(8))), st.lists(st.integers(0, 40), min_size=8, max_size=8))
def test_row_order_does_not_change_the_sorted_table(order: list[int], losses: list[int]) -> None:
    rows = [visit("AB"[i % 2], 10 * i, losses[i]) for i in range(8)]
    shuffled = [rows[i] for i in order]
    a = visit_table(frame(*rows), sort=True).table
    b = visit_table(frame(*shuffled), sort=True).table
    a = a.sort_values(["subject_id", "days"]).reset_index(drop=True)
    b = b.sort_values(["subject_id", "days"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert np.all(np.diff(a.loc[a["subject_id"] == "A", "days"]) > 0)


def test_subject_values_given_once_hold_for_every_visit() -> None:
    data = frame(visit("A", 0, onset_days=-300, arm="Active"), visit("A", 30, 2), visit("A", 60, 3))
    vt = visit_table(data)
    assert vt.table["days_from_onset"].tolist() == [300.0, 330.0, 360.0]
    assert (vt.table["arm"] == "Active").all()
    assert vt.subjects.loc[0, "onset_days"] == -300
