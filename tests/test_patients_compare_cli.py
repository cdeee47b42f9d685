"""``alsmeta patients compare``: JSON contract, models, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alsmeta.patients import synth_cohort, write_visits
from conftest import load_fixture
from conftest import run_cli as run

CASE = next(c for c in load_fixture("mixed_reference.json")["cases"] if c["name"] == "n100")
SLOPE_KEYS = [
    "slope_difference", "se", "statistic", "p_value", "ci_lower", "ci_upper", "df", "slopes",
    "variance_components", "n_subjects", "n_visits",
]  # fmt: skip


@pytest.fixture
def trial_csv(tmp_path: Path) -> Path:
    path = tmp_path / "trial.csv"
    pd.DataFrame(CASE["data"]).to_csv(path, index=False)
    return path


def test_slope_json_has_exactly_the_contract_keys_and_matches_lme4(trial_csv, capsys) -> None:
    argv = ["patients", "compare", str(trial_csv), "--control", "Placebo", "--format", "json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == SLOPE_KEYS
    assert list(result["variance_components"]) == [
        "intercept_var", "slope_var", "intercept_slope_cov", "residual_var",
    ]  # fmt: skip
    assert [s["arm"] for s in result["slopes"]] == ["Placebo", "Active"]
    assert all(list(s) == ["arm", "slope", "se"] for s in result["slopes"])
    want = CASE["reml"]
    assert result["slope_difference"] == pytest.approx(want["slope_difference"], rel=1e-6)
    assert result["se"] == pytest.approx(want["slope_difference_se"], rel=1e-6)
    assert result["df"] == pytest.approx(want["slope_difference_df"], rel=1e-6)
    for key in ("intercept_var", "slope_var", "intercept_slope_cov", "residual_var"):
        assert result["variance_components"][key] == pytest.approx(want[key], rel=1e-6)
    assert result["n_subjects"] == CASE["n_subjects"]
    assert result["n_visits"] == CASE["n_visits"]


def test_slope_text_ml_and_normal(trial_csv, capsys) -> None:
    argv = ["patients", "compare", str(trial_csv), "--method", "ML", "--df", "normal"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert out.startswith("Linear mixed model fit by ML (t-tests use normal)")
    assert "Slope difference Placebo - Active" in out  # default control: first sorted


def test_ancova_and_mmrm_json(trial_csv, tmp_path, capsys) -> None:
    argv = ["patients", "compare", str(trial_csv), "--model", "ancova", "--month", "12",
            "--control", "Placebo", "--format", "json"]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["model"] == "ancova"
    assert result["estimate"] == pytest.approx(CASE["ancova"]["estimate"], rel=1e-10)
    assert result["n_subjects"] == len(CASE["ancova"]["subjects"])
    assert "did not contribute" in err
    target = tmp_path / "mmrm.json"
    argv = ["patients", "compare", str(trial_csv), "--model", "mmrm", "--visits", "3", "6",
            "9", "12", "--control", "Placebo", "--format", "json", "-o", str(target)]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert out == ""
    result = json.loads(target.read_text())
    assert result["estimate"] == pytest.approx(CASE["mmrm"]["estimate"], rel=5e-5)
    assert result["df_method"] == "between-within"


def test_item_level_visit_file(tmp_path, capsys) -> None:
    path = tmp_path / "items.csv"
    write_visits(synth_cohort(80, rng=np.random.default_rng(5), effect=0.3), path)
    code, out, err = run(["patients", "compare", str(path), "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["n_subjects"] == 80


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d[d["arm"] == "Active"], "a two-arm comparison needs exactly 2 arms; found 1"),
        (lambda d: d.drop(columns=["total"]), "missing column 'total'"),
        (lambda d: d.drop(columns=["t_months"]), "missing column a time column"),
    ],
)
def test_bad_input_exits_2(tmp_path, capsys, edit, message) -> None:
    path = tmp_path / "bad.csv"
    edit(pd.DataFrame(CASE["data"])).to_csv(path, index=False)
    code, out, err = run(["patients", "compare", str(path)], capsys)
    assert code == 2
    assert out == ""
    assert f"alsmeta: error: {message}" in err


def test_missing_options_and_files(trial_csv, capsys) -> None:
    code, _, err = run(["patients", "compare", str(trial_csv), "--model", "ancova"], capsys)
    assert code == 2 and "needs --month" in err
    code, _, err = run(["patients", "compare", str(trial_csv), "--model", "mmrm"], capsys)
    assert code == 2 and "needs --visits" in err
    code, _, err = run(["patients", "compare", "/nonexistent.csv"], capsys)
    assert code == 2 and "file not found" in err
    code, _, err = run(["patients", "compare", str(trial_csv), "--model", "lme"], capsys)
    assert code == 2 and "invalid choice" in err


def test_single_visit_subject_is_noted(tmp_path, capsys) -> None:
    d = pd.DataFrame(CASE["data"])
    first = d["subject_id"].iloc[0]
    d = d[(d["subject_id"] != first) | (d["t_months"] == 0)]
    path = tmp_path / "one.csv"
    d.to_csv(path, index=False)
    code, out, err = run(["patients", "compare", str(path), "--format", "json"], capsys)
    assert code == 0
    assert "alsmeta: note:" in err and "single visit: kept" in err
    assert json.loads(out)["n_subjects"] == CASE["n_subjects"]


def test_subprocess(trial_csv) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "patients", "compare", str(trial_csv),
         "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)) == SLOPE_KEYS
