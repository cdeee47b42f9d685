"""RoB 2 and ROBINS-I entered as data: validation and the overall algorithms.

The overall rules are checked on every combination of domain judgments (3^5 for RoB 2,
5^7 for ROBINS-I) against an independent restatement of the published tables (Sterne et
al. 2019, Table 2; Sterne et al. 2016, Table 2).
"""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from alsmeta import InputError
from alsmeta.synthesis import RiskOfBiasTable, rob2, robins_i
from alsmeta.synthesis.risk_of_bias import (
    ROB2_DOMAINS,
    ROB2_LEVELS,
    ROBINS_I_DOMAINS,
    ROBINS_I_LEVELS,
    rob2_overall,
    robins_i_overall,
)

ROB2_KEYS = [k for k, _ in ROB2_DOMAINS]
ROBINS_KEYS = [k for k, _ in ROBINS_I_DOMAINS]


def _record(study: str, keys: list[str], judgments: tuple[str, ...], **extra: str) -> dict:
    rec: dict = {"study": study}
    for key, j in zip(keys, judgments, strict=True):
        rec[key] = j
        rec[f"{key}_justification"] = f"{key} judged {j} because ..."
    rec.update(extra)
    return rec


def _rob2_reference(judgments: tuple[str, ...]) -> str:
    # Sterne 2019 Table 2: low = all low; high = at least one high; otherwise some concerns.
    if any(j == "high" for j in judgments):
        return "high"
    if all(j == "low" for j in judgments):
        return "low"
    return "some concerns"


def _robins_reference(judgments: tuple[str, ...]) -> str:
    # Sterne 2016 Table 2, with the ordinal scale low < moderate < serious < critical;
    # 'no information' only decides when nothing is serious or critical.
    rank = {"low": 0, "moderate": 1, "serious": 2, "critical": 3}
    informative = [rank[j] for j in judgments if j != "no information"]
    worst = max(informative, default=0)
    if worst >= 2:
        return ["low", "moderate", "serious", "critical"][worst]
    if "no information" in judgments:
        return "no information"
    return ["low", "moderate"][worst]


def test_rob2_overall_every_combination() -> None:
    combos = list(itertools.product(ROB2_LEVELS, repeat=5))
    assert len(combos) == 243
    for combo in combos:
        assert rob2_overall(combo) == _rob2_reference(combo), combo


def test_robins_i_overall_every_combination() -> None:
    combos = itertools.product(ROBINS_I_LEVELS, repeat=7)
    count = 0
    for combo in combos:
        assert robins_i_overall(combo) == _robins_reference(combo), combo
        count += 1
    assert count == 5**7


@pytest.mark.parametrize(
    ("judgments", "overall"),
    [
        (("low",) * 5, "low"),
        (("low", "some concerns", "low", "low", "low"), "some concerns"),
        (("some concerns",) * 5, "some concerns"),
        (("low", "low", "low", "low", "high"), "high"),
        (("high", "some concerns", "low", "low", "low"), "high"),
    ],
)
def test_rob2_from_records_each_class(judgments: tuple[str, ...], overall: str) -> None:
    table = RiskOfBiasTable.from_records([_record("A", ROB2_KEYS, judgments)], tool="RoB2")
    assert table.overall() == {"A": overall}
    assert table.assessments[0].algorithm_overall == overall


@pytest.mark.parametrize(
    ("judgments", "overall"),
    [
        (("low",) * 7, "low"),
        (("low", "moderate", "low", "low", "low", "low", "low"), "moderate"),
        (("serious", "moderate", "low", "no information", "low", "low", "low"), "serious"),
        (("critical", "serious", "low", "low", "low", "low", "low"), "critical"),
        (("moderate", "low", "low", "low", "no information", "low", "low"), "no information"),
    ],
)
def test_robins_i_from_records_each_class(judgments: tuple[str, ...], overall: str) -> None:
    table = robins_i([_record("B", ROBINS_KEYS, judgments)])
    assert table.overall() == {"B": overall}


def test_rob2_escalation_needs_several_some_concerns_and_a_reason() -> None:
    two = ("some concerns", "some concerns", "low", "low", "low")
    reason = "two domains with some concerns together make the result unreliable"
    table = rob2([_record("A", ROB2_KEYS, two, overall="high", overall_justification=reason)])
    a = table.assessments[0]
    assert (a.algorithm_overall, a.overall, a.overall_justification) == (
        "some concerns",
        "high",
        reason,
    )
    assert a.high_risk
    with pytest.raises(InputError, match="needs overall_justification"):
        rob2([_record("A", ROB2_KEYS, two, overall="high")])
    one = ("some concerns", "low", "low", "low", "low")
    with pytest.raises(InputError, match="contradicts the RoB2 algorithm"):
        rob2([_record("A", ROB2_KEYS, one, overall="high", overall_justification=reason)])
    with pytest.raises(InputError, match="contradicts"):
        rob2([_record("A", ROB2_KEYS, ("high",) * 5, overall="low", overall_justification="x")])


def test_robins_i_no_information_not_key_domain() -> None:
    judg = ("moderate", "low", "low", "low", "no information", "low", "low")
    why = "missing data not key: complete follow-up of the registry"
    table = robins_i(
        [_record("B", ROBINS_KEYS, judg, overall="moderate", overall_justification=why)]
    )
    assert table.overall() == {"B": "moderate"}
    with pytest.raises(InputError, match="worst informative domain"):
        robins_i([_record("B", ROBINS_KEYS, judg, overall="low", overall_justification=why)])
    with pytest.raises(InputError, match="needs overall_justification"):
        robins_i([_record("B", ROBINS_KEYS, judg, overall="moderate")])


def test_missing_justification_names_study_and_domain() -> None:
    good = _record("Oh 2018", ROB2_KEYS, ("low",) * 5)
    bad = dict(good, study="Berry 2019")
    del bad["measurement_justification"]
    bad["missing_outcome_data_justification"] = "   "
    with pytest.raises(InputError) as err:
        rob2([good, bad])
    probs = err.value.problems
    assert {(p.study, p.column) for p in probs} == {
        ("Berry 2019", "measurement"),
        ("Berry 2019", "missing_outcome_data"),
    }
    assert all("justification" in p.message for p in probs)


def test_all_problems_reported_at_once() -> None:
    rec = {"study": "X", "D1": "low", "D2": "medium", "D9": "low", "colour": "red"}
    with pytest.raises(InputError) as err:
        rob2([rec, {"D1": "low"}])
    text = str(err.value)
    assert "'medium' is not valid" in text
    assert "unknown key 'd9'" in text and "unknown key 'colour'" in text
    assert "no judgment for 'Bias in measurement of the outcome'" in text
    assert "study is missing" in text
    assert len(err.value.problems) > 8


def test_aliases_and_case_are_accepted() -> None:
    rec = {"study": "A"}
    for i, j in enumerate(["Low", "Some_Concerns", "LOW", "low", "High"], start=1):
        rec[f"D{i}"] = j
        rec[f"D{i}_justification"] = "reason"
    table = rob2([rec])
    assert [d.judgment for d in table.assessments[0].domains] == [
        "low", "some concerns", "low", "low", "high",
    ]  # fmt: skip
    assert table.overall() == {"A": "high"}


def test_duplicate_study_outcome_rejected_and_outcomes_selectable() -> None:
    r1 = _record("A", ROB2_KEYS, ("low",) * 5, outcome="ALSFRS-R")
    r2 = _record("A", ROB2_KEYS, ("high",) * 5, outcome="FVC")
    table = rob2([r1, r2])
    assert table.overall("FVC") == {"A": "high"}
    with pytest.raises(InputError, match="give outcome="):
        table.overall()
    with pytest.raises(InputError, match="assessed twice"):
        rob2([r1, dict(r1)])


def test_to_frame_to_dict_summary() -> None:
    table = rob2(
        [
            _record("A", ROB2_KEYS, ("low",) * 5),
            _record("B", ROB2_KEYS, ("low", "high", "low", "low", "low")),
        ]
    )
    frame = table.to_frame()
    assert list(frame.columns) == [
        "tool", "study", "outcome", "domain", "label", "judgment", "justification",
    ]  # fmt: skip
    assert len(frame) == 2 * 6
    overall = frame[frame["domain"] == "overall"].set_index("study")["judgment"]
    assert overall.to_dict() == {"A": "low", "B": "high"}
    json.dumps(table.to_dict())
    text = table.summary()
    assert "D5" in text and "Overall" in text
    # Records may also come as a DataFrame.
    records = pd.DataFrame([_record("A", ROB2_KEYS, ("low",) * 5)])
    again = RiskOfBiasTable.from_records(records, tool="RoB2")  # type: ignore[arg-type]
    assert again.overall() == {"A": "low"}


def test_wide_layout_for_traffic_light_plot() -> None:
    table = RiskOfBiasTable.from_records(
        [_record("A", ROBINS_KEYS, ("low",) * 6 + ("serious",))], tool="robins_i"
    )
    assert table.tool == "ROBINS-I"
    wide = table.to_wide()
    assert list(wide.columns) == ["study", *(f"D{i}" for i in range(1, 8)), "overall"]
    assert wide.loc[0, "overall"] == "serious"


def test_unknown_tool() -> None:
    with pytest.raises(InputError, match="tool="):
        RiskOfBiasTable.from_records([], tool="RoB1")
