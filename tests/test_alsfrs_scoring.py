"""ALSFRS-R items, validation, totals, domains, ΔFS and the score() result.

Spec: /work/shared/research/als_domain.md §1, §2.1 and Appendices A and C.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsmeta.alsfrs import (
    DOMAINS,
    DOMAINS_THREE,
    ITEM_COLUMNS,
    ITEMS,
    PROACT_ITEM_COLUMNS,
    ScoreResult,
    delta_fs,
    domain_scores,
    normalise_item_columns,
    score,
    total_score,
)
from alsmeta.alsfrs.alsfrs_original import (
    ORIGINAL_ITEM_COLUMNS,
    approximate_alsfrs_total,
    total_score_original,
)
from alsmeta.errors import InputError

FIVE_A, FIVE_B = "cutting_without_gastrostomy", "cutting_with_gastrostomy"
READABLE_TO_PROACT = {
    "speech": "Q1_Speech",
    "salivation": "Q2_Salivation",
    "swallowing": "Q3_Swallowing",
    "handwriting": "Q4_Handwriting",
    FIVE_A: "Q5a_Cutting_without_Gastrostomy",
    FIVE_B: "Q5b_Cutting_with_Gastrostomy",
    "dressing": "Q6_Dressing_and_Hygiene",
    "turning": "Q7_Turning_in_Bed",
    "walking": "Q8_Walking",
    "stairs": "Q9_Climbing_Stairs",
    "dyspnea": "R_1_Dyspnea",
    "orthopnea": "R_2_Orthopnea",
    "respiratory_insufficiency": "R_3_Respiratory_Insufficiency",
}


def visit(**items: float | None) -> dict[str, float | None]:
    """A visit with every item normal (4), answered on 5a, then ``items`` applied."""
    row: dict[str, float | None] = dict.fromkeys(ITEM_COLUMNS, 4.0)
    row[FIVE_B] = None
    row.update(items)
    return row


def frame(*rows: dict[str, float | None], **extra: list[object]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows), columns=list(ITEM_COLUMNS))
    for name, values in extra.items():
        out.insert(0, name, values)
    return out


# ----------------------------------------------------------------------------- the contract
def test_item_columns_are_the_13_readable_names_5a_before_5b() -> None:
    assert ITEM_COLUMNS == (
        "speech",
        "salivation",
        "swallowing",
        "handwriting",
        "cutting_without_gastrostomy",
        "cutting_with_gastrostomy",
        "dressing",
        "turning",
        "walking",
        "stairs",
        "dyspnea",
        "orthopnea",
        "respiratory_insufficiency",
    )


def test_proact_names_are_the_spellings_of_the_research_file() -> None:
    # §1.4(a) per-form release and §1.4(b)/Appendix A DREAM spellings (R1_ without "_").
    for readable, proact in READABLE_TO_PROACT.items():
        assert PROACT_ITEM_COLUMNS[proact] == readable
    assert PROACT_ITEM_COLUMNS["R1_Dyspnea"] == "dyspnea"
    assert PROACT_ITEM_COLUMNS["R2_Orthopnea"] == "orthopnea"
    assert PROACT_ITEM_COLUMNS["R3_Respiratory_Insufficiency"] == "respiratory_insufficiency"
    assert "Q10_Respiratory" not in PROACT_ITEM_COLUMNS  # the original ALSFRS item


def test_every_item_has_five_anchors_normal_at_4() -> None:
    assert len(ITEMS) == 13
    for item in ITEMS:
        assert len(item.anchors) == 5
    walking = next(i for i in ITEMS if i.column == "walking")
    assert walking.anchors[4] == "normal" and walking.anchors[0] == "no purposeful leg movement"


def test_domains_partition_the_items() -> None:
    four = [c for cols in DOMAINS.values() for c in cols]
    three = [c for cols in DOMAINS_THREE.values() for c in cols]
    assert sorted(four) == sorted(ITEM_COLUMNS) == sorted(three)
    assert list(DOMAINS) == ["bulbar", "fine_motor", "gross_motor", "respiratory"]
    assert list(DOMAINS_THREE) == ["bulbar", "motor", "respiratory"]


def test_normalise_renames_proact_names_in_any_case_and_keeps_the_rest() -> None:
    raw = pd.DataFrame(columns=["subject_id", "q1_speech", "R_1_DYSPNEA", "walking", "x"])
    assert list(normalise_item_columns(raw).columns) == [
        "subject_id",
        "speech",
        "dyspnea",
        "walking",
        "x",
    ]
    assert list(raw.columns)[1] == "q1_speech"  # a copy: the input is unchanged


def test_normalise_rejects_an_item_given_twice() -> None:
    with pytest.raises(InputError, match="'dyspnea' is given by more than one column"):
        normalise_item_columns(pd.DataFrame(columns=["R_1_Dyspnea", "R1_Dyspnea"]))
    with pytest.raises(InputError, match="'speech'"):
        normalise_item_columns(pd.DataFrame(columns=["speech", "Q1_Speech"]))


# ----------------------------------------------------------------------------- totals
def test_total_range_is_0_to_48() -> None:
    # Cedarbaum 1999 / NINDS CDE page: 12 items 0-4, maximum 48 (research file §1.1).
    zeros = visit(**{**dict.fromkeys(ITEM_COLUMNS, 0.0), FIVE_B: None})
    assert total_score(frame(visit(), zeros)).tolist() == [48.0, 0.0]


def test_item_5_counts_once_whether_5a_or_5b() -> None:
    got = total_score(
        frame(
            visit(cutting_without_gastrostomy=2),
            visit(cutting_without_gastrostomy=None, cutting_with_gastrostomy=2),
        )
    )
    assert got.tolist() == [46.0, 46.0]


def test_item_columns_may_be_absent_for_the_unused_form_of_item_5() -> None:
    only_5a = frame(visit()).drop(columns=[FIVE_B])
    assert total_score(only_5a).tolist() == [48.0]


@pytest.mark.parametrize(
    ("items", "column", "message"),
    [
        ({"speech": 5}, "speech", "speech is 5; ALSFRS-R items are integers 0-4"),
        ({"walking": -1}, "walking", "walking is -1; ALSFRS-R items are integers 0-4"),
        ({"dyspnea": 2.5}, "dyspnea", "dyspnea is 2.5; ALSFRS-R items are integers 0-4"),
        ({"stairs": None}, "stairs", "stairs is missing"),
        ({FIVE_B: 3}, FIVE_B, "both cutting_without_gastrostomy (5a) and"),
        ({FIVE_A: None}, FIVE_A, "item 5 is missing"),
        ({"orthopnea": "four"}, "orthopnea", "orthopnea is 'four', not a number"),
        ({"turning": math.inf}, "turning", "turning is inf; ALSFRS-R items are integers 0-4"),
    ],
)
def test_bad_items_raise_naming_row_subject_visit_and_column(items, column, message) -> None:
    data = frame(visit(), visit(**items), subject=["P1", "P1"], week=[0, 12])
    with pytest.raises(InputError) as info:
        total_score(data, subject_col="subject", visit_col="week")
    (problem,) = info.value.problems
    assert problem.row == 2 and problem.column == column
    assert problem.message.startswith("subject 'P1', visit 12: ")
    assert message in problem.message


def test_every_problem_is_collected_before_raising() -> None:
    data = frame(visit(speech=5, walking=-1), visit(), visit(cutting_with_gastrostomy=1))
    with pytest.raises(InputError) as info:
        total_score(data)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (1, "speech"),
        (1, "walking"),
        (3, FIVE_B),
    ]
    assert str(info.value).startswith("3 problems in the input:")


def test_problems_name_the_input_column_as_spelled_in_the_file() -> None:
    data = frame(visit(speech=7)).rename(columns=READABLE_TO_PROACT)
    with pytest.raises(InputError) as info:
        total_score(data)
    assert info.value.problems[0].column == "Q1_Speech"


def test_a_missing_item_column_is_a_whole_input_error() -> None:
    with pytest.raises(InputError, match="no column for ALSFRS-R item 'walking'"):
        total_score(frame(visit()).drop(columns=["walking"]))
    with pytest.raises(InputError, match="item 5"):
        total_score(frame(visit()).drop(columns=[FIVE_A, FIVE_B]))


@pytest.mark.parametrize("column", ["total", "ALSFRS_R_Total", "alsfrs_r_total"])
def test_a_recorded_total_that_disagrees_with_the_items_is_reported(column) -> None:
    data = frame(visit(), visit(walking=2))
    data[column] = [48, 47]
    with pytest.raises(InputError) as info:
        total_score(data)
    (problem,) = info.value.problems
    assert problem.row == 2 and problem.column == column
    assert "= 47 disagrees with the sum of the items, 46" in problem.message
    data[column] = [48, None]  # a missing recorded total is not checked
    assert total_score(data).tolist() == [48.0, 46.0]


# ----------------------------------------------------------------------------- domains
def test_four_and_three_domain_subscores() -> None:
    row = visit(
        speech=3,
        handwriting=2,
        cutting_without_gastrostomy=None,
        cutting_with_gastrostomy=1,
        stairs=0,
        orthopnea=3,
    )
    four = domain_scores(frame(row)).iloc[0].to_dict()
    # bulbar 3+4+4, fine motor 2+1(5b)+4, gross motor 4+4+0, respiratory 4+3+4
    assert four == {"bulbar": 11, "fine_motor": 7, "gross_motor": 8, "respiratory": 11}
    three = domain_scores(frame(row), domains="three").iloc[0].to_dict()
    assert three == {"bulbar": 11, "motor": 15, "respiratory": 11}
    with pytest.raises(InputError, match="domains='two' is not valid"):
        domain_scores(frame(row), domains="two")


answered_visits = st.tuples(
    st.lists(st.integers(0, 4), min_size=12, max_size=12), st.booleans()
).map(
    lambda t: visit(
        **{
            **dict(zip([c for c in ITEM_COLUMNS if c != FIVE_B], map(float, t[0]), strict=True)),
            **({FIVE_A: None, FIVE_B: float(t[0][4])} if t[1] else {}),
        }
    )
)


@settings(max_examples=200, deadline=None)
@given(st.lists(answered_visits, min_size=1, max_size=8))
def test_domain_subscores_sum_to_the_total(rows) -> None:
    data = frame(*rows)
    total = total_score(data)
    assert ((total >= 0) & (total <= 48)).all()
    for convention in ("four", "three"):
        np.testing.assert_array_equal(domain_scores(data, domains=convention).sum(axis=1), total)
    table = score(data).table
    assert (table[list(DOMAINS)].sum(axis=1) == table["total"]).all()


# ----------------------------------------------------------------------------- ΔFS
def test_delta_fs_formula() -> None:
    # Appendix C: ΔFS = (48 - total) / months from onset; Kimura cut-off 0.67 (§2.1):
    # 40 points at 12 months is (48 - 40) / 12 = 0.667 points/month.
    assert delta_fs([40.0], [12.0])[0] == pytest.approx(8 / 12)
    # §1.3 / §2.1: "ΔFS-orig" uses 40 in place of 48.
    assert delta_fs([30.0], [10.0], max_total=40)[0] == pytest.approx(1.0)


def test_delta_fs_of_the_nurown_phase3_baseline_means() -> None:
    # PMC9305113 Table 1 (research file §2.3): baseline ALSFRS-R 30.3 at 19.6 months from
    # onset (MSC-NTF arm). [derived] (48 - 30.3) / 19.6 = 0.9031: a ratio of arm means,
    # not the arm's mean ΔFS, used here only as a published-number arithmetic check.
    assert delta_fs([30.3], [19.6])[0] == pytest.approx(0.903061, abs=1e-6)


def test_delta_fs_edge_cases() -> None:
    with pytest.raises(InputError, match="visit before symptom onset"):
        delta_fs([40.0], [-1.0])
    with pytest.raises(InputError, match=r"outside 0\.\.48"):
        delta_fs([49.0], [3.0])
    with pytest.warns(UserWarning, match="months from onset is 0"):
        got = delta_fs([40.0, 48.0], [0.0, 0.0])
    assert np.isnan(got).all()


# ----------------------------------------------------------------------------- score()
def test_score_appends_the_documented_columns_in_order() -> None:
    data = frame(visit(speech=3), subject=["A"], months=[6.0])
    res = score(data, onset_col="months", subject_col="subject")
    assert isinstance(res, ScoreResult)
    appended = list(res.table.columns[len(data.columns) :])
    assert appended == [
        "total",
        "bulbar",
        "fine_motor",
        "gross_motor",
        "respiratory",
        "delta_fs",
        "kings_stage",
        "mitos_stage",
    ]
    row = res.table.iloc[0]
    assert row["total"] == 47 and row["delta_fs"] == pytest.approx(1 / 6)
    assert row["kings_stage"] == "1" and row["mitos_stage"] == 0
    assert list(data.columns) == ["months", "subject", *ITEM_COLUMNS]  # input untouched


def test_score_without_onset_has_no_delta_fs_and_three_domains_on_request() -> None:
    res = score(frame(visit()), domains="three")
    assert "delta_fs" not in res.table and "motor" in res.table and "fine_motor" not in res.table


def test_readable_and_proact_names_give_identical_results() -> None:
    rows = [
        visit(speech=2, walking=1),
        visit(cutting_without_gastrostomy=None, cutting_with_gastrostomy=3, dyspnea=0),
    ]
    readable = frame(*rows, months=[5.0, 9.0])
    proact = readable.rename(columns=READABLE_TO_PROACT)
    dream = proact.rename(columns={"R_1_Dyspnea": "R1_Dyspnea", "Q8_Walking": "q8_walking"})
    computed = ["total", *DOMAINS, "delta_fs", "kings_stage", "mitos_stage"]
    expected = score(readable, onset_col="months").table[computed]
    for other in (proact, dream):
        pd.testing.assert_frame_equal(score(other, onset_col="months").table[computed], expected)


def test_visit_before_onset_and_missing_onset_are_errors() -> None:
    data = frame(visit(), visit(), visit(), months=[-0.5, None, 3.0], id=["a", "b", "c"])
    with pytest.raises(InputError) as info:
        score(data, onset_col="months", subject_col="id")
    messages = [(p.row, p.column, p.message) for p in info.value.problems]
    assert messages == [
        (1, "months", "subject 'a': visit is before symptom onset: months is -0.5 months"),
        (2, "months", "subject 'b': months (months from onset) is missing"),
    ]


def test_visit_at_onset_gives_nan_delta_fs_with_a_note() -> None:
    with pytest.warns(UserWarning, match="delta_fs is nan"):
        res = score(frame(visit(walking=3), months=[0.0]), onset_col="months")
    assert math.isnan(res.table["delta_fs"].iloc[0])
    assert any("division by zero" in note for note in res.notes)


def test_keep_going_skips_bad_visits_and_lists_every_one() -> None:
    data = frame(
        visit(),
        visit(speech=5, stairs=None),
        visit(walking=2),
        visit(dyspnea=-1),
        subject=["A", "A", "B", "B"],
        week=[0, 4, 0, 4],
    )
    with pytest.raises(InputError):
        score(data, subject_col="subject", visit_col="week")
    with pytest.warns(UserWarning) as caught:
        res = score(data, subject_col="subject", visit_col="week", keep_going=True)
    assert res.table.index.tolist() == [0, 2] and res.n_scored == 2 and res.n_skipped == 2
    assert res.skipped[["row", "subject", "visit", "column"]].values.tolist() == [
        [2, "A", 4, "speech"],
        [2, "A", 4, "stairs"],
        [4, "B", 4, "dyspnea"],
    ]
    assert len([w for w in caught if "skipped row" in str(w.message)]) == 3
    assert len(res.notes) == 3


def test_keep_going_still_raises_for_whole_input_problems() -> None:
    with pytest.raises(InputError, match="no column 'onset'"):
        score(frame(visit()), onset_col="onset", keep_going=True)


def test_result_is_frozen_and_json_safe() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = score(
            frame(visit(), visit(speech=9), months=[0.0, 1.0]), onset_col="months", keep_going=True
        )
    with pytest.raises(AttributeError):
        res.notes = ()  # type: ignore[misc]
    text = json.dumps(res.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["rows"][0]["total"] == 48 and back["rows"][0]["delta_fs"] is None
    assert back["skipped"][0]["column"] == "speech"
    assert back["options"]["precedence"] == "4B"
    assert "visits scored: 1; skipped: 1" in res.summary()


def test_bad_options_are_rejected() -> None:
    with pytest.raises(InputError, match="precedence='4C' is not valid"):
        score(frame(visit()), precedence="4C")
    with pytest.raises(InputError, match="worst_so_far=True needs subject_col and visit_col"):
        score(frame(visit()), worst_so_far=True)


# ----------------------------------------------------------------------------- original ALSFRS
def original_visit(**items: float | None) -> dict[str, float | None]:
    row: dict[str, float | None] = dict.fromkeys(ORIGINAL_ITEM_COLUMNS, 4.0)
    row[FIVE_B] = None
    row.update(items)
    return row


def test_original_alsfrs_is_10_items_0_to_40() -> None:
    # ACTS 1996 (research file §1.3): items 1-9 plus Q10, total 0-40.
    zeros = original_visit(**{**dict.fromkeys(ORIGINAL_ITEM_COLUMNS, 0.0), FIVE_B: None})
    data = pd.DataFrame([original_visit(), zeros])
    assert total_score_original(data).tolist() == [40.0, 0.0]
    proact = pd.DataFrame([original_visit(breathing=2)]).rename(
        columns={**READABLE_TO_PROACT, "breathing": "Q10_Respiratory"}
    )
    proact["ALSFRS_Total"] = [38]
    assert total_score_original(proact).tolist() == [38.0]
    proact["ALSFRS_Total"] = [40]
    with pytest.raises(InputError, match="ALSFRS_Total = 40 disagrees"):
        total_score_original(proact)
    with pytest.raises(InputError, match="ALSFRS items are integers 0-4"):
        total_score_original(pd.DataFrame([original_visit(breathing=6)]))


def test_an_alsfrs_r_table_is_not_an_original_alsfrs_table() -> None:
    with pytest.raises(InputError, match="no column for ALSFRS item 'breathing'"):
        total_score_original(frame(visit()))


def test_approximate_mapping_is_explicit_and_follows_the_two_ad_hoc_rules() -> None:
    data = frame(visit(walking=3, dyspnea=2, orthopnea=4, respiratory_insufficiency=0))
    with pytest.raises(TypeError):
        approximate_alsfrs_total(data)  # type: ignore[call-arg]
    # items 1-9 = 35; "dyspnea": + R1 = 2 -> 37; "respiratory_mean": + round(6/3) = 2 -> 37
    assert approximate_alsfrs_total(data, method="dyspnea").tolist() == [37.0]
    assert approximate_alsfrs_total(data, method="respiratory_mean").tolist() == [37.0]
    data2 = frame(visit(dyspnea=4, orthopnea=4, respiratory_insufficiency=3))
    # round(11/3 = 3.67) = 4 -> 40; R1 = 4 -> 40
    assert approximate_alsfrs_total(data2, method="respiratory_mean").tolist() == [40.0]
    data3 = frame(visit(dyspnea=1, orthopnea=2, respiratory_insufficiency=2))
    # round(5/3 = 1.67) = 2 -> 38; R1 = 1 -> 37
    assert approximate_alsfrs_total(data3, method="respiratory_mean").tolist() == [38.0]
    assert approximate_alsfrs_total(data3, method="dyspnea").tolist() == [37.0]
    with pytest.raises(InputError, match="method='mean' is not valid"):
        approximate_alsfrs_total(data, method="mean")
