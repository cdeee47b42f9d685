"""King's (Balendra 2014) and MiToS (Chiò 2015) stages from ALSFRS-R items.

Spec: /work/shared/research/als_domain.md §3 and Appendix B. Every expected value in the
tables below is worked out by hand from the rule quoted in its comment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsmeta.alsfrs import (
    ITEM_COLUMNS,
    KingsStage,
    MitosStage,
    kings_stage,
    mitos_stage,
    months_from_onset,
    score,
    worst_so_far,
)
from alsmeta.errors import InputError

FIVE_A, FIVE_B = "cutting_without_gastrostomy", "cutting_with_gastrostomy"
GASTROSTOMY = {FIVE_A: None, FIVE_B: 4.0}  # 5b answered instead of 5a


def visit(**items: float | None) -> dict[str, float | None]:
    """A visit with every item normal (4), answered on 5a, then ``items`` applied."""
    row: dict[str, float | None] = dict.fromkeys(ITEM_COLUMNS, 4.0)
    row[FIVE_B] = None
    row.update(items)
    return row


def frame(rows: list[dict[str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))


# ----------------------------------------------------------------------------- King's
# (items, stage with defaults, regions_involved, stage with zero_region="keep")
KINGS_CASES = [
    # No region: regions 0; King's has no stage 0, so the default reports 1.
    (visit(), "1", 0, "0"),
    # Bulbar ⇔ any of speech, salivation, swallowing < 4.
    (visit(speech=3), "1", 1, "1"),
    (visit(salivation=3), "1", 1, "1"),
    (visit(swallowing=0), "1", 1, "1"),
    # Upper limb ⇔ handwriting < 4 or 5a < 4.
    (visit(handwriting=2), "1", 1, "1"),
    (visit(cutting_without_gastrostomy=3), "1", 1, "1"),
    # Lower limb ⇔ walking < 4.
    (visit(walking=3), "1", 1, "1"),
    # Stairs, dressing and turning are not region items: still 0 regions.
    (visit(stairs=0, dressing=1, turning=0), "1", 0, "0"),
    # Dyspnea 1 (not 0), orthopnea 0: respiratory items without NIV count no region.
    (visit(dyspnea=1, orthopnea=0), "1", 0, "0"),
    # Two regions: bulbar + lower limb; bulbar + upper limb.
    (visit(speech=3, walking=3), "2", 2, "2"),
    (visit(salivation=2, handwriting=3, stairs=1), "2", 2, "2"),
    # Three regions: bulbar + upper + lower.
    (visit(swallowing=2, cutting_without_gastrostomy=2, walking=1), "3", 3, "3"),
    # 4A ⇔ 5b answered (gastrostomy) and no NIV; overrides the region count.
    (visit(**GASTROSTOMY), "4A", 0, "4A"),
    (visit(**GASTROSTOMY, speech=2, walking=2), "4A", 2, "4A"),
    # 5b is not an upper-limb item: 5b = 1 with handwriting 4 leaves the upper limb free.
    (visit(cutting_without_gastrostomy=None, cutting_with_gastrostomy=1), "4A", 0, "4A"),
    # 4B ⇔ dyspnea = 0 or respiratory insufficiency < 4 (any BiPAP use).
    (visit(respiratory_insufficiency=3), "4B", 0, "4B"),
    (visit(dyspnea=0), "4B", 0, "4B"),
    (visit(dyspnea=0, speech=1, handwriting=1, walking=1), "4B", 3, "4B"),
    # Both 4A and 4B: 4B by default precedence (checked first, as Precision-ALS).
    (visit(**GASTROSTOMY, respiratory_insufficiency=2), "4B", 0, "4B"),
]


@pytest.mark.parametrize(("items", "stage", "regions", "kept"), KINGS_CASES)
def test_kings_branches(items, stage, regions, kept) -> None:
    res = kings_stage(frame([items]))
    assert res.stage.tolist() == [stage]
    assert res.regions_involved.tolist() == [regions]
    assert kings_stage(frame([items]), zero_region="keep").stage.tolist() == [kept]


def test_kings_components_are_reported() -> None:
    res = kings_stage(frame([visit(speech=3, **GASTROSTOMY, respiratory_insufficiency=3)]))
    got = {k: v.tolist() for k, v in res.components().items()}
    assert got == {
        "stage": ["4B"],
        "regions_involved": [1],
        "bulbar": [True],
        "upper_limb": [False],
        "lower_limb": [False],
        "gastrostomy": [True],
        "niv": [True],
        "died": [False],
    }


def test_kings_precedence_option_when_both_gastrostomy_and_niv() -> None:
    both = frame([visit(**GASTROSTOMY, dyspnea=0)])
    assert kings_stage(both).stage.tolist() == ["4B"]
    assert kings_stage(both, precedence="4A").stage.tolist() == ["4A"]
    # The option only matters when both apply.
    only_niv = frame([visit(dyspnea=0)])
    assert kings_stage(only_niv, precedence="4A").stage.tolist() == ["4B"]


def test_kings_gastrostomy_flag_adds_to_5b() -> None:
    data = frame([visit(), visit(speech=3), visit(**GASTROSTOMY)])
    flag = [False, True, False]
    assert kings_stage(data, gastrostomy=flag).stage.tolist() == ["1", "4A", "4A"]
    data["peg"] = [0, 1, 0]
    assert kings_stage(data, gastrostomy="peg").stage.tolist() == ["1", "4A", "4A"]
    with pytest.raises(InputError, match="one per row"):
        kings_stage(data, gastrostomy=[True])


def test_stage_5_comes_only_from_death_records() -> None:
    data = frame([visit(walking=0), {c: None for c in ITEM_COLUMNS}])
    data["dead"] = [False, True]
    # The death record has no items; they are neither needed nor checked.
    assert kings_stage(data, died="dead").stage.tolist() == ["1", "5"]
    assert mitos_stage(data, died="dead").stage.tolist() == [1, 5]
    with pytest.raises(InputError, match="is missing"):
        kings_stage(data)


def test_kings_rejects_bad_items_and_options() -> None:
    with pytest.raises(InputError, match="speech is 5"):
        kings_stage(frame([visit(speech=5)]))
    with pytest.raises(InputError, match="zero_region='zero' is not valid"):
        kings_stage(frame([visit()]), zero_region="zero")


# ----------------------------------------------------------------------------- MiToS
# (items, stage): a domain is lost when its rule holds; stage = domains lost.
MITOS_CASES = [
    (visit(), 0),
    # Functional involvement without loss of independence is stage 0.
    (
        visit(
            speech=2, walking=2, dressing=2, swallowing=2, dyspnea=2, respiratory_insufficiency=3
        ),
        0,
    ),
    # Movement ⇔ walking ≤ 1 OR dressing ≤ 1.
    (visit(walking=1), 1),
    (visit(dressing=1), 1),
    (visit(walking=0, dressing=0), 1),
    # Swallowing ⇔ swallowing ≤ 1.
    (visit(swallowing=1), 1),
    # Communicating ⇔ speech ≤ 1 AND handwriting ≤ 1 (Chiò Table 1; not OR).
    (visit(speech=1), 0),
    (visit(handwriting=0), 0),
    (visit(speech=1, handwriting=1), 1),
    (visit(speech=0, handwriting=0), 1),
    # Breathing ⇔ dyspnea ≤ 1 OR respiratory insufficiency ≤ 2.
    (visit(dyspnea=1), 1),
    (visit(respiratory_insufficiency=2), 1),
    (visit(orthopnea=0), 0),  # orthopnea is not a MiToS item
    # Several domains.
    (visit(walking=1, swallowing=0), 2),
    (visit(walking=1, swallowing=1, speech=1, handwriting=1), 3),
    (visit(dressing=0, swallowing=0, speech=0, handwriting=0, respiratory_insufficiency=0), 4),
    # 5b answered does not change MiToS.
    (visit(**GASTROSTOMY, swallowing=1), 1),
]


@pytest.mark.parametrize(("items", "stage"), MITOS_CASES)
def test_mitos_branches(items, stage) -> None:
    assert mitos_stage(frame([items])).stage.tolist() == [stage]


def test_mitos_components_are_reported() -> None:
    res = mitos_stage(frame([visit(dressing=1, speech=1, respiratory_insufficiency=2)]))
    got = {k: v.tolist() for k, v in res.components().items()}
    assert got == {
        "stage": [2],
        "movement": [True],
        "swallowing": [False],
        "communicating": [False],
        "breathing": [True],
        "died": [False],
    }


def test_results_are_frozen_read_only_and_serialisable() -> None:
    res = kings_stage(frame([visit(), visit(walking=2)]))
    assert isinstance(res, KingsStage)
    with pytest.raises(ValueError, match="read-only"):
        res.stage[0] = "3"
    with pytest.raises(AttributeError):
        res.precedence = "4A"  # type: ignore[misc]
    assert res.to_dict()["stage"] == ["1", "1"] and res.to_dict()["precedence"] == "4B"
    assert list(res.to_frame().columns)[:2] == ["stage", "regions_involved"]
    assert "1: 2" in res.summary()
    m = mitos_stage(frame([visit()]))
    assert isinstance(m, MitosStage) and m.to_dict()["stage"] == [0]


# ----------------------------------------------------------------------------- worst so far
def test_worst_so_far_carries_components_forward_per_subject() -> None:
    rows = [
        visit(speech=3),  # A t0: bulbar -> 1
        visit(**GASTROSTOMY),  # B t0: 4A
        visit(speech=3, walking=3),  # A t6: 2
        visit(),  # B t3: back to 5a, normal -> raw 1; worst keeps 4A
        visit(speech=4, walking=3),  # A t3: raw 1 (lower only); worst: bulbar from t0 -> 2
    ]
    subject = ["A", "B", "A", "B", "A"]
    time = [0, 0, 6, 3, 3]
    raw = kings_stage(frame(rows))
    assert raw.stage.tolist() == ["1", "4A", "2", "1", "1"]
    worst = worst_so_far(raw, subject=subject, time=time)
    assert worst.stage.tolist() == ["1", "4A", "2", "4A", "2"] and worst.worst_so_far
    raw_m = mitos_stage(frame([visit(walking=1), visit(), visit(swallowing=1)]))
    worst_m = worst_so_far(raw_m, subject=[1, 1, 1], time=[0, 1, 2])
    assert worst_m.stage.tolist() == [1, 1, 2]


def test_worst_so_far_checks_lengths() -> None:
    raw = mitos_stage(frame([visit()]))
    with pytest.raises(InputError, match="subject has 2 values"):
        worst_so_far(raw, subject=[1, 2], time=[0])


def test_score_can_add_worst_so_far_columns() -> None:
    data = frame([visit(walking=1), visit()])
    data["id"], data["week"] = ["x", "x"], [0, 4]
    table = score(data, subject_col="id", visit_col="week", worst_so_far=True).table
    assert table["mitos_stage"].tolist() == [1, 0]
    assert table["mitos_stage_worst"].tolist() == [1, 1]
    assert table["kings_stage_worst"].tolist() == ["1", "1"]


# ----------------------------------------------------------------------------- properties
answered = st.lists(st.integers(0, 4), min_size=12, max_size=12)


def to_visit(values: list[int], gastrostomy: bool) -> dict[str, float | None]:
    names = [c for c in ITEM_COLUMNS if c != FIVE_B]
    row = visit(**dict(zip(names, map(float, values), strict=True)))
    if gastrostomy:
        row[FIVE_B], row[FIVE_A] = row[FIVE_A], None
    return row


visits = st.builds(to_visit, answered, st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(visits, min_size=1, max_size=10))
def test_stages_never_exceed_4_without_death(rows) -> None:
    data = frame(rows)
    kings = kings_stage(data)
    assert set(kings.stage.tolist()) <= {"1", "2", "3", "4A", "4B"}
    assert ((kings.number >= 1) & (kings.number <= 4)).all()
    mitos = mitos_stage(data).stage
    assert ((mitos >= 0) & (mitos <= 4)).all()


@st.composite
def falling_patient(draw):
    """A patient whose items only fall (never rise) from visit to visit, 5a throughout."""
    current = np.array(draw(answered))
    rows = [to_visit(current.tolist(), False)]
    for _ in range(draw(st.integers(1, 6))):
        drop = np.array(draw(st.lists(st.integers(0, 2), min_size=12, max_size=12)))
        current = np.maximum(current - drop, 0)
        rows.append(to_visit(current.tolist(), False))
    return rows


@settings(max_examples=200, deadline=None)
@given(falling_patient())
def test_falling_items_never_give_back_a_mitos_domain(rows) -> None:
    res = mitos_stage(frame(rows))
    for domain in ("movement", "swallowing", "communicating", "breathing"):
        lost = getattr(res, domain).astype(int)
        assert (np.diff(lost) >= 0).all(), domain
    assert (np.diff(res.stage) >= 0).all()
    # The same holds for King's: regions and NIV only accumulate when items only fall.
    kings = kings_stage(frame(rows))
    assert (np.diff(kings.number) >= 0).all()
    # and the monotone view changes nothing for such a patient.
    n = len(rows)
    same = worst_so_far(res, subject=[0] * n, time=list(range(n)))
    np.testing.assert_array_equal(same.stage, res.stage)


@st.composite
def cohort(draw):
    n = draw(st.integers(1, 25))
    rows = [draw(visits) for _ in range(n)]
    subject = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    time = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    died = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return rows, subject, time, died


@settings(max_examples=200, deadline=None)
@given(cohort(), st.sampled_from(["4B", "4A"]))
def test_worst_so_far_is_monotone_and_never_below_the_raw_stage(data, precedence) -> None:
    rows, subject, time, died = data
    table = frame(rows)
    kings = kings_stage(table, died=died, precedence=precedence)
    mitos = mitos_stage(table, died=died)
    worst_k = worst_so_far(kings, subject=subject, time=time)
    worst_m = worst_so_far(mitos, subject=subject, time=time)
    assert (worst_k.number >= kings.number).all()
    assert (worst_m.stage >= mitos.stage).all()
    order = pd.DataFrame({"s": subject, "t": time}).sort_values(["s", "t"], kind="stable")
    for _, group in order.groupby("s"):
        idx = group.index.to_numpy()
        assert (np.diff(worst_k.number[idx]) >= 0).all()
        assert (np.diff(worst_m.stage[idx]) >= 0).all()
        # once 4A/4B is reached the stage stays in {4A, 4B, 5}
        seen_four = np.maximum.accumulate(worst_k.number[idx] >= 4)
        assert (worst_k.number[idx][seen_four] >= 4).all()


# ----------------------------------------------------------------------------- names, time
def test_proact_names_give_the_same_stages() -> None:
    rows = [visit(speech=1, handwriting=1, walking=2), visit(**GASTROSTOMY, dyspnea=0)]
    readable = frame(rows)
    proact = readable.rename(
        columns={
            "speech": "Q1_Speech",
            "handwriting": "Q4_Handwriting",
            FIVE_A: "Q5a_Cutting_without_Gastrostomy",
            FIVE_B: "Q5b_Cutting_with_Gastrostomy",
            "walking": "Q8_Walking",
            "dyspnea": "R1_Dyspnea",
            "respiratory_insufficiency": "R_3_Respiratory_Insufficiency",
        }
    )
    for a, b in (
        (kings_stage(readable), kings_stage(proact)),
        (mitos_stage(readable), mitos_stage(proact)),
    ):
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_months_from_onset_uses_365_25_over_12_day_months() -> None:
    # Research file §1.4: days from onset = ALSFRS_Delta + |Onset_Delta|; months =
    # days / (365.25 / 12) as in jpkrooney/ALSFRS_models.
    got = months_from_onset([0.0, 30.4375], [-365.25, -365.25])
    np.testing.assert_allclose(got, [12.0, 13.0])


def test_flag_errors_name_every_bad_row() -> None:
    from alsmeta.alsfrs.staging import _flag

    with pytest.raises(InputError) as info:
        _flag(["1", "x", "0", "2"], 4, "gastrostomy")
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, "gastrostomy"),
        (4, "gastrostomy"),
    ]
