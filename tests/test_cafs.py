"""CAFS against the literal O(n^2) pairwise definition in R, hand-made cohorts and properties.

The R reference (``validation/r/survival_fixtures.R``) loops over every pair of patients
with the documented rules, for both dropout rules and two windows; scores and ranks are
integers or halves and must agree exactly, the rank test to 1e-12.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsmeta.alsfrs import ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import synth_cohort, visit_table
from alsmeta.patients.cafs import cafs, cafs_scores
from conftest import load_fixture

REFERENCE = load_fixture("survival_reference.json")
CASES = REFERENCE["cafs_cases"]

#: Size of the case grid; shrinking it must be a deliberate change.
EXPECTED_CASES = 16


def as_float(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def case_visits(case: dict[str, Any]):
    data = {k: [np.nan if x is None else x for x in v] for k, v in case["data"].items()}
    return visit_table(pd.DataFrame(data))


def test_grid_size() -> None:
    assert len(CASES) == EXPECTED_CASES == REFERENCE["n_cafs_cases"]
    assert max(c["n"] for c in CASES) <= 200
    rules = {c["expected"]["options"]["dropout"] for c in CASES}
    assert rules == {"locf", "rank-at-withdrawal"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_the_literal_pairwise_definition(case: dict[str, Any]) -> None:
    expected = case["expected"]
    options = expected["options"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cafs(
            case_visits(case),
            window_months=options["window_months"],
            dropout=options["dropout"],
            visit_window_days=options["visit_window_days"],
        )
    table = res.table.set_index("subject_id").loc[expected["subject_id"]]
    np.testing.assert_array_equal(table["score"].to_numpy(), as_float(expected["score"]))
    np.testing.assert_array_equal(table["rank"].to_numpy(), as_float(expected["rank"]))
    np.testing.assert_array_equal(table["status"] == "excluded", ~np.array(expected["included"]))
    np.testing.assert_array_equal(table["status"] == "died", np.array(expected["died"]))
    included = np.array(expected["included"])
    np.testing.assert_array_equal(
        table["status"] == "dropout", np.array(expected["dropout"]) & included
    )
    by_arm = res.by_arm.set_index("arm")["mean_rank"]
    for arm, value in expected["mean_rank"].items():
        np.testing.assert_allclose(by_arm[arm], value, rtol=1e-13)
    assert res.treatment == "Active" and res.control == "Placebo"
    np.testing.assert_allclose(res.statistic, expected["w_statistic"], rtol=1e-13)
    np.testing.assert_allclose(res.p_value, expected["p_value"], rtol=1e-12)


def test_the_dropout_rules_give_different_scores() -> None:
    differ = 0
    for name in {c["name"].split("_")[0] for c in CASES}:
        locf = next(c for c in CASES if c["name"] == f"{name}_locf_T12")
        rank = next(c for c in CASES if c["name"] == f"{name}_rank-at-withdrawal_T12")
        differ += not np.array_equal(
            as_float(locf["expected"]["score"]), as_float(rank["expected"]["score"])
        )
    assert differ >= 3


# ---------------------------------------------------------------- hand-made cohorts ------
def cohort(rows: list[tuple[str, str, float, float]], deaths: dict[str, float] | None = None):
    """Visits from (subject, arm, day, total); items fill the total from the top."""
    deaths = deaths or {}
    records = []
    for subject, arm, day, total in rows:
        loss = 48 - total
        items = {}
        for j, name in enumerate(c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"):
            items[name] = 4 - min(4, max(0, loss - 4 * j))
        records.append(
            {
                "subject_id": subject,
                "arm": arm,
                "days": day,
                **items,
                "died": "Yes" if subject in deaths else "No",
                "death_days": deaths.get(subject, np.nan),
            }
        )
    return visit_table(pd.DataFrame(records))


M = 365.25 / 12  # days per month


def test_obvious_ranking() -> None:
    vt = cohort(
        [
            ("early_death", "Placebo", 0, 40), ("early_death", "Placebo", 30, 35),
            ("late_death", "Placebo", 0, 40), ("late_death", "Placebo", 120, 30),
            ("fast", "Active", 0, 40), ("fast", "Active", 12 * M, 30),
            ("slow", "Active", 0, 40), ("slow", "Active", 12 * M, 38),
        ],
        deaths={"early_death": 60, "late_death": 200},
    )  # fmt: skip
    res = cafs(vt)
    t = res.table.set_index("subject_id")
    assert t["score"].to_dict() == {"early_death": -3, "late_death": -1, "fast": 1, "slow": 3}
    assert t["rank"].to_dict() == {"early_death": 1, "late_death": 2, "fast": 3, "slow": 4}
    assert res.by_arm.set_index("arm")["mean_rank"].to_dict() == {"Placebo": 1.5, "Active": 3.5}
    assert res.win_probability == 1.0


def test_ties_are_explicit() -> None:
    vt = cohort(
        [
            ("d1", "Placebo", 0, 40), ("d1", "Placebo", 30, 35),
            ("d2", "Active", 0, 40), ("d2", "Active", 30, 36),
            ("s1", "Placebo", 0, 40), ("s1", "Placebo", 12 * M, 34),
            ("s2", "Active", 0, 44), ("s2", "Active", 12 * M, 38),
        ],
        deaths={"d1": 100, "d2": 100},
    )  # fmt: skip
    t = cafs(vt).table.set_index("subject_id")
    # same death day ties, equal change (-6) ties, whatever the totals
    assert t["score"].to_dict() == {"d1": -2, "d2": -2, "s1": 2, "s2": 2}
    assert t["rank"].to_dict() == {"d1": 1.5, "d2": 1.5, "s1": 3.5, "s2": 3.5}


def test_death_after_the_window_counts_as_alive() -> None:
    vt = cohort(
        [
            ("late", "Placebo", 0, 40), ("late", "Placebo", 12 * M, 20),
            ("alive", "Active", 0, 40), ("alive", "Active", 12 * M, 30),
        ],
        deaths={"late": 12 * M + 10},
    )  # fmt: skip
    t = cafs(vt).table.set_index("subject_id")
    assert t.loc["late", "status"] == "completed"
    assert t["score"].to_dict() == {"late": -1, "alive": 1}
    with pytest.warns(UserWarning, match="excluded"):
        t6 = cafs(vt, window_months=6).table.set_index("subject_id")
    assert t6.loc["late", "status"] == "excluded"  # no visit between baseline and month 6


def test_dropout_rules_on_a_pair_where_they_disagree() -> None:
    # The dropout left at month 4 with a change of -1; the completer was unchanged at
    # month 4 but lost 8 points by month 12.
    vt = cohort(
        [
            ("drop", "Active", 0, 40), ("drop", "Active", 4 * M, 39),
            ("done", "Placebo", 0, 40), ("done", "Placebo", 4 * M, 40),
            ("done", "Placebo", 12 * M, 32),
        ]
    )  # fmt: skip
    locf = cafs(vt, dropout="locf").table.set_index("subject_id")
    rank = cafs(vt, dropout="rank-at-withdrawal").table.set_index("subject_id")
    assert locf["score"].to_dict() == {"drop": 1, "done": -1}
    assert rank["score"].to_dict() == {"drop": -1, "done": 1}
    assert rank.loc["drop", "horizon_month"] == pytest.approx(4.0)
    # A death after the withdrawal is not seen at the withdrawal time ...
    late = cohort(
        [
            ("drop", "Active", 0, 40), ("drop", "Active", 4 * M, 39),
            ("dies", "Placebo", 0, 40), ("dies", "Placebo", 4 * M, 38),
        ],
        deaths={"dies": 8 * M},
    )  # fmt: skip
    t = cafs(late, dropout="rank-at-withdrawal").table.set_index("subject_id")
    assert t["score"].to_dict() == {"drop": 1, "dies": -1}  # compared on function at 4
    # ... a death before it is.
    early = cohort(
        [
            ("drop", "Active", 0, 40), ("drop", "Active", 4 * M, 20),
            ("dies", "Placebo", 0, 40), ("dies", "Placebo", 1 * M, 40),
        ],
        deaths={"dies": 2 * M},
    )  # fmt: skip
    t = cafs(early, dropout="rank-at-withdrawal").table.set_index("subject_id")
    assert t["score"].to_dict() == {"drop": 1, "dies": -1}


def test_subjects_without_follow_up_are_excluded_with_a_warning() -> None:
    vt = cohort(
        [
            ("only_baseline", "Active", 0, 40),
            ("a", "Active", 0, 40), ("a", "Active", 12 * M, 30),
            ("b", "Placebo", 0, 40), ("b", "Placebo", 12 * M, 35),
        ]
    )  # fmt: skip
    with pytest.warns(UserWarning, match="1 subject\\(s\\) excluded.*only_baseline"):
        res = cafs(vt)
    t = res.table.set_index("subject_id")
    assert t.loc["only_baseline", "status"] == "excluded"
    assert np.isnan(t.loc["only_baseline", "score"])
    assert res.to_dict()["n_excluded"] == 1


def test_errors_name_the_subject_and_the_option() -> None:
    vt = cohort([("late_start", "Active", 10, 40), ("late_start", "Active", 100, 38)])
    with pytest.raises(InputError, match="subject 'late_start': no visit on or before trial"):
        cafs(vt)
    ok = synth_cohort(20, rng=np.random.default_rng(1))
    with pytest.raises(InputError, match="dropout='lastobs' is not valid"):
        cafs(ok, dropout="lastobs")
    with pytest.raises(InputError, match="window_months"):
        cafs(ok, window_months=0)
    with pytest.raises(InputError, match="control='Drug' is not an arm"):
        cafs(ok, control="Drug")


# ---------------------------------------------------------------- properties -------------
def brute_force(died, death, change, horizon, values) -> np.ndarray:
    n = died.size
    score = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            h = min(horizon[i], horizon[j])
            di = died[i] and death[i] <= h
            dj = died[j] and death[j] <= h
            if di and dj:
                w = np.sign(death[i] - death[j])
            elif di or dj:
                w = -1.0 if di else 1.0
            else:
                w = np.sign(values(i, h) - values(j, h))
            score[i] += w
    return score


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 25),
    seed=st.integers(0, 2**32 - 1),
    p_drop=st.sampled_from([0.0, 0.3, 0.8]),
)
def test_kernel_equals_the_double_loop(n: int, seed: int, p_drop: float) -> None:
    rng = np.random.default_rng(seed)
    died = rng.random(n) < 0.3
    death = rng.integers(1, 6, n).astype(float)  # ties on purpose
    slopes = -rng.integers(0, 3, n).astype(float)
    change = slopes * 6
    dropout = ~died & (rng.random(n) < p_drop)
    horizon = np.where(dropout, rng.integers(1, 6, n).astype(float), np.inf)

    def values(i, h):
        i, h = np.broadcast_arrays(np.asarray(i), np.asarray(h, dtype=float))
        return np.where(np.isfinite(h), slopes[i] * np.minimum(h, horizon[i]), change[i])

    got = cafs_scores(died, death, change, horizon=horizon, value_at=values)
    want = brute_force(died, death, change, horizon, lambda i, h: float(values(i, h)))
    np.testing.assert_array_equal(got, want)
    assert got.sum() == 0  # every win is someone's loss


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rule=st.sampled_from(["locf", "rank-at-withdrawal"]))
def test_swapping_arm_labels_mirrors_the_rank_test(seed: int, rule: str) -> None:
    vt = synth_cohort(40, rng=np.random.default_rng(seed), dropout_per_month=0.05)
    arms = vt.subjects["arm"].astype(str)
    if arms.nunique() < 2:
        return
    swapped_plain = vt.to_plain()
    swapped_plain["arm"] = swapped_plain["arm"].map({"Active": "Placebo", "Placebo": "Active"})
    swapped = visit_table(swapped_plain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = cafs(vt, dropout=rule)
        b = cafs(swapped, dropout=rule)
    n_t = int((a.table["arm"] == "Active").sum() - (a.table["status"] == "excluded")[
        a.table["arm"] == "Active"].sum())  # fmt: skip
    n_c = int(a.by_arm.set_index("arm").loc["Placebo", "n"])
    assert n_t == int(a.by_arm.set_index("arm").loc["Active", "n"])
    np.testing.assert_allclose(a.statistic + b.statistic, n_t * n_c)
    np.testing.assert_allclose(a.p_value, b.p_value, rtol=1e-12)
    np.testing.assert_allclose(a.win_probability + b.win_probability, 1.0)
    ranks_a = a.by_arm.set_index("arm")["mean_rank"]
    ranks_b = b.by_arm.set_index("arm")["mean_rank"]
    assert ranks_a["Active"] == ranks_b["Placebo"] and ranks_a["Placebo"] == ranks_b["Active"]
    pd.testing.assert_series_equal(a.table["score"], b.table["score"])


def test_ten_thousand_patients_run_in_seconds() -> None:
    vt = synth_cohort(10_000, rng=np.random.default_rng(5), dropout_per_month=0.03)
    for rule, limit in (("locf", 5.0), ("rank-at-withdrawal", 30.0)):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = cafs(vt, dropout=rule)
        assert time.perf_counter() - start < limit
        assert res.table["score"].sum() == 0


def test_outputs_are_json_safe_and_readable() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cafs(synth_cohort(50, rng=np.random.default_rng(9)))
    d = res.to_dict()
    assert set(d) >= {"statistic", "p_value", "by_arm", "subjects", "notes", "dropout"}
    assert d["notes"][0].startswith("CAFS (Berry 2013)")
    assert "Wilcoxon rank sum test" in res.summary()
    assert list(res.to_frame().columns)[:3] == ["subject_id", "arm", "status"]
