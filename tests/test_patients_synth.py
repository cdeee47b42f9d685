"""Synthetic cohorts, PRO-ACT round trips and the D50 model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from alsmeta.alsfrs import ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import (
    d50_curve,
    fit_d50,
    read_proact,
    read_proact_long,
    read_visits,
    slopes,
    synth_cohort,
    write_proact,
    write_proact_long,
    write_visits,
)


@pytest.fixture(scope="module")
def cohort():
    return synth_cohort(2000, rng=np.random.default_rng(2024))


def test_same_seed_same_cohort_and_different_seed_differs() -> None:
    a = synth_cohort(50, rng=np.random.default_rng(5))
    b = synth_cohort(50, rng=np.random.default_rng(5))
    c = synth_cohort(50, rng=np.random.default_rng(6))
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.subjects, b.subjects)
    assert not a.table["total"].equals(c.table["total"])


def test_items_are_valid_and_item_5_is_one_form(cohort) -> None:
    items = cohort.table[list(ITEM_COLUMNS)]
    five = items[["cutting_without_gastrostomy", "cutting_with_gastrostomy"]]
    assert (five.notna().sum(axis=1) == 1).all()
    values = items.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    assert set(np.unique(finite)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    # Once a gastrostomy (5b), always a gastrostomy.
    gast = cohort.table["cutting_with_gastrostomy"].notna()
    assert (gast.groupby(cohort.table["subject_id"]).cummax() == gast).all()


def test_decline_matches_the_natural_history_numbers(cohort) -> None:
    # Atassi 2014 (research file 2.3): 1.02 (SD 2.3) points/month, right-skewed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = slopes(cohort, window=(0, 12), min_visits=3)
    placebo = res.table[(res.table["arm"] == "Placebo") & (res.table["status"] == "ok")]
    decline = -placebo["slope"]
    assert 0.7 < decline.mean() < 1.4
    assert decline.median() < decline.mean()  # right skew
    assert decline.std() > 0.8
    base = cohort.table[cohort.table["days"] == 0]["total"]
    assert 26 < base.mean() < 35  # NurOwn phase 3 Table 1: 30.3 (SD 6.5)


def test_deaths_dropouts_and_arms(cohort) -> None:
    subjects = cohort.subjects
    assert 0.02 < subjects["died"].mean() < 0.5
    died = subjects[subjects["died"]]
    assert (died["death_days"] > died["last_visit_days"]).all()
    alive = subjects[~subjects["died"]]
    assert alive["death_days"].isna().all()
    dropped = (alive["last_visit_days"] < 12 * 30.4375 - 10).mean()
    assert 0.02 < dropped < 0.3
    assert set(subjects["arm"]) == {"Active", "Placebo"}
    assert (subjects["onset_days"] < subjects["first_visit_days"]).all()


def test_treatment_effect_slows_the_active_arm() -> None:
    cohort = synth_cohort(3000, rng=np.random.default_rng(9), effect=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = slopes(cohort, window=(0, 12), min_visits=3).table
    mean = table.groupby("arm")["slope"].mean()
    assert mean["Active"] > mean["Placebo"] + 0.2


def test_bad_arguments_are_listed_together() -> None:
    with pytest.raises(InputError) as info:
        synth_cohort(0, rng=np.random.default_rng(1), effect=1.5)
    assert len(info.value.problems) == 2
    with pytest.raises(InputError, match="Generator"):
        synth_cohort(5, rng=1)  # type: ignore[arg-type]


# ------------------------------------------------------------------ reader round trips


@pytest.mark.parametrize("prefix", ["PROACT_", "F_PROACT_"])
def test_proact_per_form_round_trip(cohort, tmp_path, prefix) -> None:
    small = synth_cohort(80, rng=np.random.default_rng(3))
    paths = write_proact(small, tmp_path, prefix=prefix)
    assert sorted(p.name for p in paths) == sorted(
        f"{prefix}{form}.csv"
        for form in ("ALSFRS", "ALSHISTORY", "DEATHDATA", "TREATMENT", "DEMOGRAPHICS")
    )
    back = read_proact(tmp_path)
    pd.testing.assert_frame_equal(back.table, small.table)
    pd.testing.assert_frame_equal(back.subjects, small.subjects)
    # read_visits dispatches on a folder too.
    pd.testing.assert_frame_equal(read_visits(tmp_path).table, small.table)


def test_long_format_round_trip(tmp_path) -> None:
    small = synth_cohort(40, rng=np.random.default_rng(4))
    path = tmp_path / "all_forms_PROACT_training.txt"
    write_proact_long(small, path)
    assert path.read_text().splitlines()[0] == (
        "SubjectID|form_name|feature_name|feature_value|feature_unit|feature_delta"
    )
    back = read_proact_long(path)
    pd.testing.assert_frame_equal(back.table, small.table)
    pd.testing.assert_frame_equal(back.subjects, small.subjects)
    pd.testing.assert_frame_equal(read_visits(path).table, small.table)


def test_plain_round_trip(tmp_path) -> None:
    small = synth_cohort(40, rng=np.random.default_rng(8))
    path = tmp_path / "cohort.csv"
    write_visits(small, path)
    back = read_visits(path)
    pd.testing.assert_frame_equal(back.table, small.table)
    pd.testing.assert_frame_equal(back.subjects, small.subjects)


def test_proact_reader_leaves_out_original_alsfrs_and_checks_subject_files(tmp_path) -> None:
    small = synth_cohort(5, rng=np.random.default_rng(1))
    write_proact(small, tmp_path)
    alsfrs = pd.read_csv(tmp_path / "PROACT_ALSFRS.csv", dtype={"subject_id": "string"})
    old = alsfrs.iloc[[0]].copy()
    old["ALSFRS_Delta"] = -200
    old[["R_1_Dyspnea", "R_2_Orthopnea", "R_3_Respiratory_Insufficiency", "ALSFRS_R_Total"]] = (
        np.nan
    )
    old["Q10_Respiratory"] = 3
    pd.concat([alsfrs, old]).to_csv(tmp_path / "PROACT_ALSFRS.csv", index=False)
    with pytest.warns(UserWarning, match="original ALSFRS"):
        back = read_proact(tmp_path)
    assert back.n_visits == small.n_visits
    assert any("original ALSFRS" in n for n in back.notes)

    arms = pd.read_csv(tmp_path / "PROACT_TREATMENT.csv", dtype={"subject_id": "string"})
    clash = arms.iloc[[0]].assign(Study_Arm="Other")
    pd.concat([arms, clash]).to_csv(tmp_path / "PROACT_TREATMENT.csv", index=False)
    with pytest.raises(InputError, match="conflicting values"):
        read_proact(tmp_path)


def test_proact_folder_without_alsfrs_file(tmp_path) -> None:
    with pytest.raises(InputError, match=r"no PROACT_ALSFRS\.csv"):
        read_proact(tmp_path)


# ------------------------------------------------------------------ D50


def test_d50_formula_points_from_appendix_c() -> None:
    # F(D50) = 24; F'(D50) = -12/dx (research file Appendix C).
    d50, dx, h = 30.0, 5.0, 1e-6
    assert float(d50_curve(d50, d50, dx)) == 24.0
    slope = (float(d50_curve(d50 + h, d50, dx)) - float(d50_curve(d50 - h, d50, dx))) / (2 * h)
    assert slope == pytest.approx(-12 / dx, rel=1e-6)


def test_d50_fit_recovers_the_curve_of_noise_free_patients() -> None:
    rows = []
    truth = {"A": (20.0, 4.0), "B": (45.0, 8.0)}
    items = [c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"]
    for sid, (d50, dx) in truth.items():
        for month in np.arange(6.0, 60.0, 3.0):
            total = round(float(d50_curve(month, d50, dx)))
            if total < 1:
                continue
            loss = 48 - total
            visit = {c: 4 - min(4, max(0, loss - 4 * i)) for i, c in enumerate(items)}
            rows.append({"subject_id": sid, "months": month - 6, "onset_days": -182.625, **visit})
    res = fit_d50(pd.DataFrame(rows), progress=False)
    table = res.table.set_index("subject_id")
    for sid, (d50, dx) in truth.items():
        assert table.loc[sid, "d50"] == pytest.approx(d50, abs=0.5)
        assert table.loc[sid, "dx"] == pytest.approx(dx, abs=0.5)
        assert table.loc[sid, "rmse"] < 0.6
        assert table.loc[sid, "slope_at_d50"] == pytest.approx(-12 / table.loc[sid, "dx"])


def test_d50_needs_three_visits_and_onset(cohort) -> None:
    small = synth_cohort(30, rng=np.random.default_rng(12))
    res = fit_d50(small, progress=False)
    ok = res.table["status"] == "ok"
    assert ok.mean() > 0.8
    assert res.table.loc[ok, "d50"].between(3, 120).all()
    few = small.table.groupby("subject_id").head(2)
    with pytest.warns(UserWarning, match="no D50 fit"):
        res2 = fit_d50(
            few.drop(columns=["visit"]).assign(onset_days=few["days"] - few["days_from_onset"]),
            progress=False,
        )
    assert (res2.table["status"] != "ok").all()
    assert all(math.isnan(v) for v in res2.table["d50"])


def test_proact_errors_name_the_file_row_and_the_proact_column(tmp_path) -> None:
    small = synth_cohort(4, rng=np.random.default_rng(7))
    write_proact(small, tmp_path)
    path = tmp_path / "PROACT_ALSFRS.csv"
    alsfrs = pd.read_csv(path, dtype={"subject_id": "string"})
    alsfrs = alsfrs.sample(frac=1.0, random_state=1).reset_index(drop=True)  # unsorted file
    alsfrs.loc[10, "Q8_Walking"] = 6
    alsfrs.loc[10, "ALSFRS_R_Total"] = np.nan
    alsfrs.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        read_proact(tmp_path)
    (problem,) = info.value.problems
    assert problem.row == 11 and problem.column == "Q8_Walking"
    sid, day = alsfrs.loc[10, "subject_id"], alsfrs.loc[10, "ALSFRS_Delta"]
    assert f"subject '{sid}', visit at day {day:g}" in problem.message
    with pytest.warns(UserWarning, match="skipped visit"):
        back = read_proact(tmp_path, keep_going=True)
    assert back.n_visits == small.n_visits - 1


def test_d50_bounds_and_progress_bar(capsys) -> None:
    small = synth_cohort(8, rng=np.random.default_rng(21))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_d50(small, dx_bounds=(1.0, 200.0), d50_bounds=(1.0, 400.0), progress=True)
    assert res.dx_bounds == (1.0, 200.0)
    assert "D50 fits" in capsys.readouterr().err
    with pytest.raises(InputError, match="dx_bounds"):
        fit_d50(small, dx_bounds=(5.0, 1.0))
