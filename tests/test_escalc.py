"""Tests of alsmeta.effects: escalc against metafor, the EffectSizeTable, bad input.

Reference values come from ``validation/r/escalc_fixtures.R`` (metafor 3.8-1), pinned in
``tests/fixtures/escalc_reference.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsmeta.datasets import DATASETS, load_dataset
from alsmeta.effects import MEASURES, EffectSizeTable, escalc
from alsmeta.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "escalc_reference.json").read_text(encoding="utf-8"))
CASES = REFERENCE["cases"]
RTOL, ATOL = 1e-10, 1e-14

# The case grid: shrinking it (or silently regenerating it smaller) must fail a test.
EXPECTED_CASE_COUNT = 119

# Every vtype metafor 3.8-1 offers for these measures must have a pinned case.
VTYPES = {
    "MD": ("LS", "UB", "HO"),
    "SMD": ("LS", "UB", "LS2", "AV"),
    "SMDH": ("LS", "LS2"),
    "ROM": ("LS", "HO", "AV", "AVHO"),
    "RD": ("LS", "UB", "AV"),
    "PR": ("LS", "UB", "AV"),
    "PLO": ("LS", "AV"),
    "SMCC": ("LS", "LS2"),
    "SMCR": ("LS", "LS2"),
}


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _assert_matches(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=f"{what}: nan")
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=RTOL, atol=ATOL, err_msg=what)


# ---------------------------------------------------------------------- pinned metafor
def test_fixture_provenance() -> None:
    assert REFERENCE["metafor_version"] == "3.8.1"
    assert REFERENCE["r_version"] == "4.2.2"
    assert REFERENCE["generator"] == "validation/r/escalc_fixtures.R"
    assert all(case["call"].startswith("escalc(measure = ") for case in CASES)


def test_case_grid_size() -> None:
    assert len(CASES) == EXPECTED_CASE_COUNT
    assert REFERENCE["n_cases"] == EXPECTED_CASE_COUNT
    assert len({case["name"] for case in CASES}) == EXPECTED_CASE_COUNT


def test_case_grid_covers_every_measure_and_rule() -> None:
    assert {case["measure"] for case in CASES} == set(MEASURES)
    for measure in ("RR", "OR", "RD", "PETO"):
        combos = {
            (case["args"].get("to", "only0"), case["args"].get("drop00", False))
            for case in CASES
            if case["measure"] == measure and case["dataset"] in ("bcg_zero", "bcg_zerocol")
        }
        assert combos == {
            (to, d) for to in ("only0", "all", "if0all", "none") for d in (False, True)
        }
    vtypes = {(case["measure"], case["args"].get("vtype", "LS")) for case in CASES}
    for measure, options in VTYPES.items():
        assert {(measure, v) for v in options} <= vtypes, measure


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    data = pd.DataFrame(case["data"])
    expected_yi = _array(case["expected"]["yi"])
    expected_vi = _array(case["expected"]["vi"])
    should_warn = bool(np.isnan(expected_vi).any() or (expected_vi == 0).any())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = escalc(case["measure"], data=data, **case["args"])
    _assert_matches(res.yi, expected_yi, f"{case['name']} yi")
    _assert_matches(res.vi, expected_vi, f"{case['name']} vi")
    # Values metafor returns as NA (or a vi of 0) are never silent here.
    assert bool(caught) == should_warn, [str(w.message) for w in caught]
    for i in np.flatnonzero(np.isnan(expected_yi)):
        assert any(repr(res.study[i]) in str(w.message) for w in caught)
    assert res.k == len(data)
    assert res.measure == case["measure"]


# Cases of the shared metafor reference (pinned separately), mapped to escalc arguments.
_TWO_BY_TWO = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}
_NORMAND = {m: m for m in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
_COCHRANE = {"m1i": "m.t", "sd1i": "sd.t", "n1i": "n.t", "m2i": "m.c", "sd2i": "sd.c", "n2i": "n.c"}
_FINE = {"ai": "e2i", "n1i": "nei", "ci": "c2i", "n2i": "nci"}
_CHANGE = {"m1i": "m_post", "m2i": "m_pre", "ni": "ni", "ri": "ri"}
SHARED_CALLS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    **{f"bcg_escalc_{m}": [(m, _TWO_BY_TWO, "")] for m in ("RR", "OR", "RD", "AS", "PETO")},
    **{f"normand1999_escalc_{m}": [(m, _NORMAND, "")] for m in ("MD", "SMD", "SMDH", "ROM")},
    "normand1999_escalc_SMD_UB": [("SMD", {**_NORMAND, "vtype": "UB"}, "")],
    "cochrane_smd_example_escalc_SMD_LS": [("SMD", {**_COCHRANE, "vtype": "LS"}, "")],
    "cochrane_smd_example_escalc_SMD_UB": [("SMD", {**_COCHRANE, "vtype": "UB"}, "")],
    "changescore_escalc_SMCR_MC_SMCC": [
        ("SMCR", {**_CHANGE, "sd1i": "sd_pre"}, "SMCR_"),
        ("MC", {**_CHANGE, "sd1i": "sd_post", "sd2i": "sd_pre"}, "MC_"),
        ("SMCC", {**_CHANGE, "sd1i": "sd_post", "sd2i": "sd_pre"}, "SMCC_"),
    ],
    "egger2001_escalc_OR_zero_cell": [
        ("OR", {"ai": "ai", "n1i": "n1i", "ci": "ci", "n2i": "n2i"}, "")
    ],
    **{
        f"{prefix}fine1993_escalc_{m}": [(m, _FINE, "")]
        for prefix in ("", "sm_")
        for m in ("RR", "OR", "RD", "AS")
    },
}
# Measures alsmeta does not compute (yet); listed so a new shared case cannot slip by.
SHARED_NOT_COMPUTED = {"molloy2014_escalc_COR"}


def _shared_reference() -> list[dict[str, Any]]:
    for path in (
        FIXTURES / "metafor_reference.json",
        Path(__file__).parents[2] / "shared" / "research" / "metafor_reference.json",
    ):
        if path.exists():
            cases = json.loads(path.read_text(encoding="utf-8"))
            return [c for c in cases if "escalc" in c["name"]]
    return []


SHARED = _shared_reference()


@pytest.mark.skipif(not SHARED, reason="shared metafor_reference.json not available")
def test_shared_reference_cases_are_all_mapped() -> None:
    names = {case["name"] for case in SHARED}
    assert names == set(SHARED_CALLS) | SHARED_NOT_COMPUTED


@pytest.mark.skipif(not SHARED, reason="shared metafor_reference.json not available")
@pytest.mark.parametrize("name", sorted(SHARED_CALLS))
def test_shared_reference_case(name: str) -> None:
    case = next(c for c in SHARED if c["name"] == name)
    data = pd.DataFrame(case["data"])
    for measure, kwargs, prefix in SHARED_CALLS[name]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = escalc(measure, data=data, **kwargs)
        _assert_matches(res.yi, _array(case["expected"][f"{prefix}yi"]), f"{name} {measure} yi")
        _assert_matches(res.vi, _array(case["expected"][f"{prefix}vi"]), f"{name} {measure} vi")


# ---------------------------------------------------------------------- worked values
def test_bcg_log_risk_ratio_first_trial_by_hand() -> None:
    # Aronson 1948: 4/123 vaccinated vs 11/139 controls.
    res = escalc("RR", ai=[4], bi=[119], ci=[11], di=[128])
    assert res.yi[0] == pytest.approx(math.log((4 / 123) / (11 / 139)), rel=1e-14)
    assert res.vi[0] == pytest.approx(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139, rel=1e-14)
    assert res.notes == ()


def test_smd_uses_exact_gamma_correction() -> None:
    res = escalc("SMD", m1i=[1.0], sd1i=[1.0], n1i=[4], m2i=[0.0], sd2i=[1.0], n2i=[4])
    m = 6
    exact = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    assert res.yi[0] == pytest.approx(exact, rel=1e-13)
    assert res.yi[0] != pytest.approx(1 - 3 / (4 * m - 1), rel=1e-6)  # not the approximation


def test_only0_note_names_the_tables() -> None:
    res = escalc("OR", ai=[0, 3, 4], bi=[10, 7, 6], ci=[2, 0, 5], di=[8, 10, 5], study=list("ABC"))
    assert (
        res.notes[0]
        == "added 1/2 to every cell of 2 tables with a zero cell (to='only0'): 'A', 'B'"
    )
    np.testing.assert_allclose(res.vi[0], 1 / 0.5 + 1 / 10.5 + 1 / 2.5 + 1 / 8.5)
    np.testing.assert_allclose(res.vi[2], 1 / 4 + 1 / 6 + 1 / 5 + 1 / 5)


def test_peto_and_rd_also_get_the_zero_cell_addition() -> None:
    # metafor 3.8-1 applies add/to to every 2x2 measure, PETO and RD included.
    kw = {"ai": [0, 3], "bi": [10, 7], "ci": [2, 4], "di": [8, 6]}
    rd = escalc("RD", **kw)
    assert rd.yi[0] == pytest.approx(0.5 / 11 - 2.5 / 11, rel=1e-14)
    assert rd.yi[1] == pytest.approx(3 / 10 - 4 / 10, rel=1e-14)
    peto_none = escalc("PETO", **kw, to="none")
    assert escalc("PETO", **kw).yi[0] != pytest.approx(peto_none.yi[0])


def test_to_none_gives_nan_with_a_warning_naming_the_study() -> None:
    with pytest.warns(UserWarning, match=r"'B'") as caught:
        res = escalc("RR", ai=[3, 0], bi=[7, 10], ci=[4, 2], di=[6, 8], to="none", study=["A", "B"])
    assert np.isnan(res.yi[1]) and np.isnan(res.vi[1])
    assert np.isfinite(res.yi[0])
    assert "zero cell was left unadjusted (to='none')" in str(caught[0].message)
    assert any("nan" in note for note in res.notes)


def test_drop00_sets_double_zero_tables_to_nan_and_says_so() -> None:
    kw = {"ai": [0, 3, 5], "bi": [10, 7, 0], "ci": [0, 4, 6], "di": [12, 6, 0]}
    with pytest.warns(UserWarning, match="drop00"):
        res = escalc("OR", **kw, drop00=True, study=["X", "Y", "Z"])
    assert np.isnan(res.yi[[0, 2]]).all() and np.isfinite(res.yi[1])
    assert any("drop00" in note and "'X', 'Z'" in note for note in res.notes)


def test_pas_and_pft_default_to_no_addition() -> None:
    res = escalc("PAS", xi=[0, 5], ni=[10, 10])
    assert res.yi[0] == 0.0 and res.vi[0] == pytest.approx(1 / 40)
    res_add = escalc("PAS", xi=[0, 5], ni=[10, 10], add=0.5)
    assert res_add.yi[0] == pytest.approx(math.asin(math.sqrt(0.5 / 11)))


def test_yi_given_with_a_measure_labels_precomputed_values() -> None:
    res = escalc("RR", yi=[-0.2, 0.1], sei=[0.1, 0.2])
    assert res.measure == "RR"
    np.testing.assert_allclose(res.vi, [0.01, 0.04])


def test_missing_drop_in_escalc_warns_notes_and_subsets_data() -> None:
    bcg = load_dataset("bcg")
    bcg.loc[[1, 4], "tneg"] = np.nan
    with pytest.warns(UserWarning, match=r"dropped 2 studies with missing values: '2', '5'"):
        res = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg, missing="drop")
    assert res.k == 11
    assert res.study[:3] == ("1", "3", "4")
    assert res.data is not None and res.data["author"].iloc[1] == "Rosenthal et al"
    assert any("dropped 2 studies" in note for note in res.notes)
    full = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    np.testing.assert_array_equal(res.yi, np.delete(full.yi, [1, 4]))


# ---------------------------------------------------------------------- properties
counts = st.integers(min_value=0, max_value=60)
sizes = st.integers(min_value=1, max_value=60)


@st.composite
def two_by_two(draw: st.DrawFn) -> pd.DataFrame:
    k = draw(st.integers(min_value=1, max_value=8))
    return pd.DataFrame(
        {
            "ai": draw(st.lists(counts, min_size=k, max_size=k)),
            "bi": draw(st.lists(sizes, min_size=k, max_size=k)),
            "ci": draw(st.lists(counts, min_size=k, max_size=k)),
            "di": draw(st.lists(sizes, min_size=k, max_size=k)),
        }
    )


@st.composite
def two_groups(draw: st.DrawFn) -> pd.DataFrame:
    k = draw(st.integers(min_value=1, max_value=8))
    means = st.floats(min_value=-50, max_value=50, allow_nan=False)
    sds = st.floats(min_value=0.1, max_value=20, allow_nan=False)
    ns = st.integers(min_value=2, max_value=200)
    return pd.DataFrame(
        {
            "m1i": draw(st.lists(means, min_size=k, max_size=k)),
            "sd1i": draw(st.lists(sds, min_size=k, max_size=k)),
            "n1i": draw(st.lists(ns, min_size=k, max_size=k)),
            "m2i": draw(st.lists(means, min_size=k, max_size=k)),
            "sd2i": draw(st.lists(sds, min_size=k, max_size=k)),
            "n2i": draw(st.lists(ns, min_size=k, max_size=k)),
        }
    )


ARMS_2X2 = {"ai": "ci", "bi": "di", "ci": "ai", "di": "bi"}
ARMS_MEANS = {
    "m1i": "m2i",
    "sd1i": "sd2i",
    "n1i": "n2i",
    "m2i": "m1i",
    "sd2i": "sd1i",
    "n2i": "n1i",
}


@settings(max_examples=60, deadline=None)
@given(
    data=two_by_two(),
    measure=st.sampled_from(["RR", "OR", "RD"]),
    to=st.sampled_from(["only0", "all", "if0all"]),
)
def test_arm_swap_flips_sign_of_2x2_measures(data: pd.DataFrame, measure: str, to: str) -> None:
    cols = {c: c for c in ARMS_2X2}
    res = escalc(measure, data=data, to=to, **cols)
    swapped = escalc(measure, data=data, to=to, **ARMS_2X2)
    np.testing.assert_allclose(swapped.yi, -res.yi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(swapped.vi, res.vi, rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    data=two_groups(),
    measure=st.sampled_from(["MD", "SMD"]),
    vtype=st.sampled_from(["LS", "UB", "LS2", "AV", "HO"]),
)
def test_arm_swap_flips_sign_of_mean_differences(
    data: pd.DataFrame, measure: str, vtype: str
) -> None:
    vtype = vtype if (measure, vtype) not in {("MD", "LS2"), ("MD", "AV"), ("SMD", "HO")} else "LS"
    res = escalc(measure, data=data, vtype=vtype, **{c: c for c in ARMS_MEANS})
    swapped = escalc(measure, data=data, vtype=vtype, **ARMS_MEANS)
    np.testing.assert_allclose(swapped.yi, -res.yi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(swapped.vi, res.vi, rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    data=two_by_two(),
    measure=st.sampled_from(["RR", "OR", "RD", "PETO"]),
    to=st.sampled_from(["only0", "all", "if0all"]),
    rd_vtype=st.sampled_from(["LS", "AV"]),
    perm_seed=st.randoms(use_true_random=False),
)
def test_row_order_does_not_change_any_study(
    data: pd.DataFrame, measure: str, to: str, rd_vtype: str, perm_seed: Any
) -> None:
    order = list(range(len(data)))
    perm_seed.shuffle(order)
    vtype = rd_vtype if measure == "RD" else None
    cols = {c: c for c in ARMS_2X2}
    res = escalc(measure, data=data, to=to, vtype=vtype, **cols)
    shuffled = escalc(
        measure,
        data=data.iloc[order],
        to=to,
        vtype=vtype,
        study=[str(i + 1) for i in order],
        **cols,
    )
    back = np.argsort(order)
    np.testing.assert_allclose(shuffled.yi[back], res.yi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(shuffled.vi[back], res.vi, rtol=1e-12, atol=1e-15)
    assert tuple(np.array(shuffled.study)[back]) == res.study


@settings(max_examples=40, deadline=None)
@given(data=two_groups(), scale=st.floats(min_value=0.01, max_value=100))
def test_smd_is_scale_free_and_md_scales(data: pd.DataFrame, scale: float) -> None:
    cols = {c: c for c in ARMS_MEANS}
    scaled = data.assign(**{c: data[c] * scale for c in ("m1i", "m2i", "sd1i", "sd2i")})
    np.testing.assert_allclose(
        escalc("SMD", data=scaled, **cols).yi,
        escalc("SMD", data=data, **cols).yi,
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        escalc("MD", data=scaled, **cols).vi,
        escalc("MD", data=data, **cols).vi * scale**2,
        rtol=1e-9,
    )


# ---------------------------------------------------------------------- bad input
def _rows(err: pytest.ExceptionInfo[InputError]) -> set[int | None]:
    return {p.row for p in err.value.problems}


def test_every_bad_row_of_a_2x2_table_is_named() -> None:
    data = pd.DataFrame(
        {
            "trial": ["A", "B", "C", "D", "E", "F"],
            "ev1": [3, -1, 4, 12, "x", 2],
            "n1": [10, 10, 10, 10, 10, 10],
            "ev2": [2, 2, 3, 1, 2, np.nan],
            "n2": [10, 10, 10, 10, 10, 10],
        }
    )
    with pytest.raises(InputError) as err:
        escalc("RR", ai="ev1", n1i="n1", ci="ev2", n2i="n2", data=data, study="trial")
    assert _rows(err) == {2, 4, 5, 6}
    message = str(err.value)
    for study in ("'B'", "'D'", "'E'", "'F'"):
        assert study in message
    by_row = {p.row: p for p in err.value.problems}
    assert by_row[2].column == "ev1" and "negative" in by_row[2].message
    assert by_row[4].column == "ev1" and "exceeds n1i" in by_row[4].message
    assert by_row[5].column == "ev1" and "'x' is not a number" in by_row[5].message
    assert by_row[6].column == "ev2" and by_row[6].message == "missing value"
    assert by_row[6].study == "F"


def test_every_bad_row_of_means_is_named() -> None:
    data = load_dataset("normand1999")
    data.loc[1, "sd1i"] = -7
    data.loc[3, "n2i"] = 1
    data.loc[6, "m2i"] = np.nan
    with pytest.raises(InputError) as err:
        escalc("SMD", data=data, study="source", **{c: c for c in ARMS_MEANS})
    assert _rows(err) == {2, 4, 7}
    assert {p.column for p in err.value.problems} == {"sd1i", "n2i", "m2i"}
    assert "'Orpington-Mild'" in str(err.value) and "'Newcastle'" in str(err.value)


def test_change_scores_check_correlations_and_sizes() -> None:
    with pytest.raises(InputError) as err:
        escalc(
            "SMCC",
            m1i=[1, 2, 3],
            m2i=[0, 0, 0],
            sd1i=[1, -1, 1],
            sd2i=[1, 1, 1],
            ni=[10, 10, 1],
            ri=[1.2, 0.5, 0.5],
        )
    assert {(p.row, p.column) for p in err.value.problems} == {(1, "ri"), (2, "sd1i"), (3, "ni")}


def test_proportions_check_counts() -> None:
    with pytest.raises(InputError) as err:
        escalc("PLO", xi=[3, 12, -1, 2], ni=[10, 10, 10, 0])
    assert {(p.row, p.column) for p in err.value.problems} == {(2, "xi"), (3, "xi"), (4, "ni")}


def test_inconsistent_group_sizes_are_errors() -> None:
    with pytest.raises(InputError, match=r"n1i = 11 is not ai \+ bi = 10"):
        escalc("OR", ai=[3, 4], bi=[7, 6], n1i=[11, 10], ci=[1, 2], di=[9, 8])


def test_missing_values_raise_by_default_listing_rows() -> None:
    with pytest.raises(InputError) as err:
        escalc(
            "MD",
            m1i=[1, np.nan, 3],
            sd1i=[1, 1, None],
            n1i=[5, 5, 5],
            m2i=[0, 0, 0],
            sd2i=[1, 1, 1],
            n2i=[5, 5, 5],
        )
    assert {(p.row, p.column) for p in err.value.problems} == {(2, "m1i"), (3, "sd1i")}
    assert all(p.message == "missing value" for p in err.value.problems)


def test_unknown_measure_lists_valid_ones() -> None:
    with pytest.raises(InputError) as err:
        escalc("SMDD", m1i=[1])
    for measure in MEASURES:
        assert repr(measure) in str(err.value)
    with pytest.raises(InputError, match="did you mean 'SMD'"):
        escalc("smd", m1i=[1])
    with pytest.raises(InputError, match="metafor measure that alsmeta does not compute"):
        escalc("ZCOR", ri=[0.3], ni=[20])


def test_missing_arguments_are_named() -> None:
    with pytest.raises(InputError) as err:
        escalc("SMD", m1i=[1], sd1i=[1], n1i=[5])
    assert "missing: m2i, sd2i, n2i" in str(err.value)
    with pytest.raises(InputError, match="missing: bi or n1i"):
        escalc("RR", ai=[1], ci=[1], di=[3])


def test_unknown_columns_list_the_available_ones() -> None:
    bcg = load_dataset("bcg")
    with pytest.raises(InputError) as err:
        escalc("OR", ai="tpos", bi="t_neg", ci="Cpos", di="cneg", data=bcg)
    message = str(err.value)
    assert "bi='t_neg': no such column" in message
    assert "did you mean 'cpos'" in message
    assert "available columns: 'trial', 'author'" in message
    assert {p.column for p in err.value.problems} == {"t_neg", "Cpos"}


def test_options_are_checked_together() -> None:
    with pytest.raises(InputError) as err:
        escalc("RR", ai=[1], bi=[2], ci=[1], di=[2], to="some", add=-1, vtype="UB", missing="skip")
    assert len(err.value.problems) == 4


def test_vtype_is_checked_per_measure() -> None:
    with pytest.raises(InputError, match="'LS', 'HO', 'AV', 'AVHO'"):
        escalc("ROM", m1i=[2], sd1i=[1], n1i=[5], m2i=[1], sd2i=[1], n2i=[5], vtype="UB")


def test_zero_cell_options_are_ignored_where_there_are_no_cells() -> None:
    kw = {"m1i": [2.0], "sd1i": [1.0], "n1i": [5], "m2i": [1.0], "sd2i": [1.0], "n2i": [5]}
    plain = escalc("SMD", **kw)
    assert escalc("SMD", **kw, add=0.5).notes == plain.notes
    noted = escalc("SMD", **kw, to="all", drop00=True)
    assert noted.yi[0] == plain.yi[0]
    assert "to and drop00 do not apply to measure 'SMD'; ignored" in noted.notes


def test_unused_arguments_are_errors() -> None:
    with pytest.raises(InputError, match="sd1i is not used by measure 'RR'"):
        escalc("RR", ai=[1], bi=[2], ci=[1], di=[2], sd1i=[1])


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(InputError, match="bi has 3 values but ai has 2"):
        escalc("RR", ai=[1, 2], bi=[3, 4, 5], ci=[1, 1], di=[2, 2])


def test_generic_rejects_non_positive_variances() -> None:
    with pytest.raises(InputError) as err:
        escalc("GEN", yi=[0.1, 0.2, 0.3], vi=[0.1, 0, -1])
    assert _rows(err) == {2, 3}
    with pytest.raises(InputError) as err:
        escalc("GEN", yi=[0.1, 0.2], sei=[-0.1, 0.2])
    assert _rows(err) == {1}


# ---------------------------------------------------------------------- the table
def test_table_is_frozen_and_read_only() -> None:
    res = escalc("OR", ai=[3], bi=[7], ci=[2], di=[8])
    with pytest.raises(ValueError):
        res.yi[0] = 1.0
    with pytest.raises(ValueError):
        res.sei[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.measure = "RR"  # type: ignore[misc]


def test_to_frame_keeps_input_columns_and_replaces_yi_vi() -> None:
    bcg = load_dataset("bcg").assign(yi=0.0, vi=1.0)
    res = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    frame = res.to_frame()
    assert frame.columns.tolist() == [*load_dataset("bcg").columns, "study", "yi", "vi"]
    np.testing.assert_array_equal(frame["yi"].to_numpy(), res.yi)
    assert frame["yi"].iloc[0] != 0.0
    assert bcg["yi"].iloc[0] == 0.0  # the input is not modified


def test_to_dict_is_json_safe() -> None:
    with pytest.warns(UserWarning):
        res = escalc("RR", ai=[0, 3], bi=[7, 7], ci=[2, 4], di=[8, 6], to="none")
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert out["yi"][0] is None and out["k"] == 2 and out["measure"] == "RR"
    assert out["study"] == ["1", "2"]


def test_summary_lists_studies_and_notes() -> None:
    bcg = load_dataset("bcg")
    text = escalc(
        "OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg, study="author", to="all"
    ).summary()
    assert text.startswith("Effect sizes: OR (log odds ratio), k = 13")
    assert "Comstock et al.2" in text and "to='all'" in text


def test_from_frame_round_trip_and_drop() -> None:
    df = pd.DataFrame({"name": ["A", "B", "C"], "y": [0.1, np.nan, 0.3], "v": [0.01, 0.02, 0.03]})
    with pytest.warns(UserWarning, match="dropped 1 study with a missing yi or vi: 'B'"):
        tab = EffectSizeTable.from_frame(df, yi="y", vi="v", study="name", missing="drop")
    assert tab.study == ("A", "C")
    assert tab.data is not None and tab.data["name"].tolist() == ["A", "C"]
    assert any("dropped 1 study" in note for note in tab.notes)
    with pytest.raises(InputError) as err:
        EffectSizeTable.from_frame(df, yi="y", vi="v", study="name")
    assert [(p.row, p.study, p.column) for p in err.value.problems] == [(2, "B", "y")]


def test_from_frame_collects_every_problem() -> None:
    df = pd.DataFrame({"y": [0.1, "high", 0.3, np.inf], "v": [0.0, 0.02, -1, 0.1]})
    with pytest.raises(InputError) as err:
        EffectSizeTable.from_frame(df, yi="y", vi="v", study="trial")
    problems = {(p.row, p.column) for p in err.value.problems}
    assert problems == {(None, "trial"), (2, "y"), (1, "v"), (3, "v"), (4, "y")}
    assert "available columns: 'y', 'v'" in str(err.value)


def test_from_arrays_matches_generic_escalc() -> None:
    tab = EffectSizeTable.from_arrays([0.2, -0.1], sei=[0.3, 0.4], study=["x", "y"])
    res = escalc("GEN", yi=[0.2, -0.1], sei=[0.3, 0.4], study=["x", "y"])
    np.testing.assert_array_equal(tab.vi, res.vi)
    assert tab.study == res.study == ("x", "y")


def test_repeated_labels_are_numbered_like_metafor() -> None:
    res = escalc(
        "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"), study="author"
    )
    assert res.study[2] == "Rosenthal et al.1" and res.study[9] == "Rosenthal et al.2"
    assert res.study[0] == "Aronson"
    assert res.notes == (
        "repeated study labels were numbered: 'Rosenthal et al', 'Comstock et al'",
    )


# ---------------------------------------------------------------------- data sets
@pytest.mark.parametrize(("name", "case"), [("bcg", "bcg_RR"), ("normand1999", "normand_MD")])
def test_bundled_data_match_metadat(name: str, case: str) -> None:
    expected = pd.DataFrame(next(c for c in CASES if c["name"] == case)["data"])
    got = load_dataset(name)
    assert got.columns.tolist() == expected.columns.tolist()
    for col in got.columns:
        assert got[col].tolist() == expected[col].tolist(), col


def test_unknown_data_set_lists_names() -> None:
    with pytest.raises(InputError) as err:
        load_dataset("bcgg")
    for name in DATASETS:
        assert repr(name) in str(err.value)


@pytest.mark.parametrize("measure", sorted(VTYPES))
def test_vtype_choices_are_metafors(measure: str) -> None:
    with pytest.raises(InputError) as err:
        escalc(measure, vtype="XX", m1i=[1.0])
    listed = str(err.value).split("use one of ", 1)[1].split(" (for measure")[0]
    assert listed == ", ".join(map(repr, VTYPES[measure]))
