"""``alsmeta patients cafs`` and ``alsmeta patients survival``: outputs, options, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alsmeta.patients import read_visits, synth_cohort, write_visits
from alsmeta.patients.cafs import cafs
from alsmeta.patients.survival import survival
from conftest import run_cli as run


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    write_visits(synth_cohort(150, rng=np.random.default_rng(8), effect=0.3), path)
    return path


@pytest.fixture
def deaths_csv(cohort_csv: Path, tmp_path: Path) -> Path:
    subjects = read_visits(cohort_csv).subjects
    path = tmp_path / "DEATHDATA.csv"
    pd.DataFrame(
        {
            "subject_id": subjects["subject_id"],
            "Subject_Died": np.where(subjects["died"], "Yes", "No"),
            "Death_Days": subjects["death_days"],
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("rule", ["locf", "rank-at-withdrawal"])
def test_cafs_json_matches_the_api(cohort_csv, rule, capsys) -> None:
    code, out, err = run(
        ["patients", "cafs", str(cohort_csv), "--dropout", rule, "--window", "9",
         "--format", "json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = cafs(read_visits(cohort_csv), dropout=rule, window_months=9).to_dict()
    assert got == json.loads(json.dumps(want))
    assert got["dropout"] == rule and got["window_months"] == 9


def test_cafs_text_and_deaths_file(cohort_csv, deaths_csv, capsys) -> None:
    code, text, err = run(["patients", "cafs", str(cohort_csv)], capsys)
    assert code == 0, err
    assert "mean_rank" in text and "Wilcoxon rank sum test" in text
    code, out, err = run(
        ["patients", "cafs", str(cohort_csv), "--deaths", str(deaths_csv), "--format", "json"],
        capsys,
    )
    assert code == 0, err
    code, base, _ = run(["patients", "cafs", str(cohort_csv), "--format", "json"], capsys)
    a, b = json.loads(out), json.loads(base)
    assert a["p_value"] == b["p_value"] and a["by_arm"] == b["by_arm"]


def test_survival_json_matches_the_api(cohort_csv, capsys) -> None:
    code, out, err = run(
        ["patients", "survival", str(cohort_csv), "--format", "json", "--conf-type", "log"],
        capsys,
    )
    assert code == 0, err
    got = json.loads(out)
    want = survival(read_visits(cohort_csv), conf_type="log").to_dict()
    assert got == json.loads(json.dumps(want))
    assert got["cox"][0]["term"] == "Active vs Placebo"
    code, text, _ = run(["patients", "survival", str(cohort_csv)], capsys)
    assert "Chisq=" in text and "Cox model (Efron ties)" in text and "Number at risk" in text


def test_survival_composite_from_event_records(cohort_csv, tmp_path, capsys) -> None:
    subjects = read_visits(cohort_csv).subjects
    ids = subjects["subject_id"].tolist()
    events = pd.DataFrame(
        {
            "subject_id": [ids[0], ids[1], ids[2]],
            "event_type": ["tracheostomy", "ventilation", "death"],
            "event_month": [2.0, 3.0, 11.5],
            "event": [1, 1, 0],
        }
    )
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    code, out, err = run(
        ["patients", "survival", str(cohort_csv), "--deaths", str(path), "--event",
         "composite", "--format", "json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["n_events"] == 2 and result["event"] == "composite"
    if result["cox"] == []:  # both events in one arm: no finite hazard ratio
        assert "not estimable" in err
    code, out, err = run(
        ["patients", "survival", str(cohort_csv), "--deaths", str(path), "--format", "json"],
        capsys,
    )
    assert code == 0 and json.loads(out)["n_events"] == 0
    assert "no events" in err  # the warning reaches stderr as a note


def test_bad_input_names_subject_and_column_with_exit_2(cohort_csv, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "subject_id": ["S00001", "S99999", "S00002"],
            "Subject_Died": ["Yes", "Maybe", "Yes"],
            "Death_Days": [None, 100, 50],
        }
    ).to_csv(bad, index=False)
    code, out, err = run(["patients", "survival", str(cohort_csv), "--deaths", str(bad)], capsys)
    assert code == 2 and out == ""
    assert "row 1, column 'Death_Days': subject 'S00001': the time is missing" in err
    assert "column 'Subject_Died': subject 'S99999'" in err
    unknown = tmp_path / "unknown.csv"
    pd.DataFrame({"subject_id": ["NOPE"], "event_month": [3.0], "event": [1]}).to_csv(
        unknown, index=False
    )
    code, _, err = run(["patients", "cafs", str(cohort_csv), "--deaths", str(unknown)], capsys)
    assert code == 2 and "subject 'NOPE' of the event records has no visits" in err
    columns = tmp_path / "columns.csv"
    pd.DataFrame({"subject_id": ["S00001"], "when": [3.0]}).to_csv(columns, index=False)
    code, _, err = run(["patients", "cafs", str(cohort_csv), "--deaths", str(columns)], capsys)
    assert code == 2 and "'event_month' and 'event'" in err
    code, _, err = run(["patients", "cafs", str(cohort_csv), "--dropout", "mmrm"], capsys)
    assert code == 2 and "invalid choice: 'mmrm'" in err
    code, _, err = run(["patients", "cafs", str(cohort_csv), "--control", "Drug"], capsys)
    assert code == 2 and "control='Drug' is not an arm" in err
    code, _, err = run(["patients", "survival", str(cohort_csv), "--level", "95"], capsys)
    assert code == 2 and "use 0.95" in err
    code, _, err = run(["patients", "survival", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "file not found" in err


def test_output_file_is_written_atomically(cohort_csv, tmp_path, capsys) -> None:
    target = tmp_path / "cafs.json"
    code, out, err = run(
        ["patients", "cafs", str(cohort_csv), "--format", "json", "-o", str(target)], capsys
    )
    assert code == 0 and out == "", err
    assert json.loads(target.read_text())["dropout"] == "locf"


def test_by_subprocess(cohort_csv) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alsmeta", "patients", "survival", str(cohort_csv),
         "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["logrank"]["df"] == 1
    done = subprocess.run(
        [sys.executable, "-m", "alsmeta", "patients", "cafs", str(cohort_csv), "--window", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("alsmeta: error: window_months=-1.0 must be a positive number")
