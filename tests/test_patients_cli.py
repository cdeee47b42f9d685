"""``alsmeta patients``: exit codes, outputs, errors naming subject, visit and column."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alsmeta.patients import read_visits, responders, slopes, synth_cohort, write_visits
from conftest import run_cli as run


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    write_visits(synth_cohort(60, rng=np.random.default_rng(1)), path)
    return path


def test_synth_writes_the_plain_layout_reproducibly(tmp_path, capsys) -> None:
    out = tmp_path / "a.csv"
    code, stdout, err = run(
        ["patients", "synth", "--n", "25", "--seed", "3", "-o", str(out)], capsys
    )
    assert code == 0, err
    assert stdout == ""
    expected = synth_cohort(25, rng=np.random.default_rng(3))
    pd.testing.assert_frame_equal(read_visits(out).table, expected.table)
    code, stdout, _ = run(["patients", "synth", "--n", "25", "--seed", "3"], capsys)
    assert stdout == out.read_text()


def test_synth_proact_layout_is_a_folder(tmp_path, capsys) -> None:
    folder = tmp_path / "release"
    code, _, err = run(
        [
            "patients",
            "synth",
            "--n",
            "10",
            "--seed",
            "1",
            "--layout",
            "proact",
            "--prefix",
            "F_PROACT_",
            "-o",
            str(folder),
        ],
        capsys,
    )
    assert code == 0, err
    assert (folder / "F_PROACT_ALSFRS.csv").is_file()
    code, out, err = run(["patients", "slopes", str(folder), "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["n_subjects"] == 10
    code, _, err = run(["patients", "synth", "--layout", "proact"], capsys)
    assert code == 2 and "give -o FOLDER" in err


def test_slopes_csv_and_json_match_the_api(cohort_csv, capsys) -> None:
    code, out, err = run(["patients", "slopes", str(cohort_csv), "--window", "0", "12"], capsys)
    assert code == 0, err
    got = pd.read_csv(pd.io.common.StringIO(out), dtype={"subject_id": str})
    expected = slopes(read_visits(cohort_csv), window=(0, 12)).table
    np.testing.assert_allclose(got["slope"], expected["slope"], rtol=1e-12)
    code, out, _ = run(["patients", "slopes", str(cohort_csv), "--format", "json"], capsys)
    data = json.loads(out)
    assert data["n_subjects"] == 60 and len(data["subjects"]) == 60
    code, out, _ = run(["patients", "slopes", str(cohort_csv), "--format", "text"], capsys)
    assert out.startswith("Per-patient ALSFRS-R slopes")


def test_responders_preset_and_overrides(cohort_csv, capsys) -> None:
    code, out, err = run(
        ["patients", "responders", str(cohort_csv), "--preset", "nurown_ph3", "--format", "json"],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["rule"]["threshold"] == 1.25
    api = responders(read_visits(cohort_csv), "nurown_ph3")
    assert data["by_arm"] == api.to_dict()["by_arm"]
    code, out, err = run(
        [
            "patients",
            "responders",
            str(cohort_csv),
            "--preset",
            "pct50",
            "--threshold",
            "20",
            "--death",
            "exclude",
            "--format",
            "text",
        ],
        capsys,
    )
    assert code == 0, err
    assert "percent slope improvement >= 20 %" in out and "death exclude" in out


def test_lead_in_and_d50_commands(cohort_csv, capsys) -> None:
    code, out, err = run(["patients", "lead-in", str(cohort_csv)], capsys)
    assert code == 0, err
    assert "Paired t-test" in out and "regression to the mean" in out
    code, out, err = run(["patients", "d50", str(cohort_csv), "--format", "csv"], capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("subject_id,arm,n_visits,d50,dx")


def test_bad_input_exits_2_naming_subject_visit_and_column(tmp_path, capsys) -> None:
    cohort = synth_cohort(3, rng=np.random.default_rng(2))
    plain = cohort.to_plain()
    plain.loc[1, "walking"] = 7
    plain.loc[5, "speech"] = np.nan
    bad = tmp_path / "bad.csv"
    plain.to_csv(bad, index=False)
    out_file = tmp_path / "out.csv"
    code, out, err = run(["patients", "slopes", str(bad), "-o", str(out_file)], capsys)
    assert code == 2
    assert out == "" and not out_file.exists()  # nothing written
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("alsmeta: error: ") for line in lines)
    sid1, day1 = plain.loc[1, "subject_id"], plain.loc[1, "days"]
    assert f"row 2, column 'walking': subject '{sid1}', visit at day {day1:g}" in lines[0]
    assert "column 'speech'" in lines[1] and "Traceback" not in err


def test_keep_going_lists_each_skipped_visit(tmp_path, capsys) -> None:
    plain = synth_cohort(3, rng=np.random.default_rng(2)).to_plain()
    plain.loc[1, "walking"] = 7
    plain.loc[5, "days"] = plain.loc[4, "days"]
    bad = tmp_path / "bad.csv"
    plain.to_csv(bad, index=False)
    code, out, err = run(["patients", "slopes", str(bad), "--keep-going"], capsys)
    assert code == 0, err
    skipped = [line for line in err.splitlines() if "skipped visit" in line]
    assert len(skipped) == 2
    assert "row 2" in skipped[0] and "walking" in skipped[0]
    assert "row 6" in skipped[1] and "duplicate" in skipped[1]
    assert len(pd.read_csv(pd.io.common.StringIO(out))) == 3


def test_missing_file_and_bad_options(capsys, tmp_path) -> None:
    code, _, err = run(["patients", "slopes", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "file not found" in err
    code, _, err = run(["patients", "responders", "x.csv", "--preset", "nurown"], capsys)
    assert code == 2 and "invalid choice" in err
    code, _, err = run(["patients", "synth", "--n", "0"], capsys)
    assert code == 2 and "--n 0" in err


def test_pipeline_by_subprocess(tmp_path) -> None:
    out = tmp_path / "c.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "alsmeta",
            "patients",
            "synth",
            "--n",
            "20",
            "--seed",
            "4",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "alsmeta",
            "patients",
            "responders",
            str(out),
            "--preset",
            "nurown_ph2",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rule"]["name"] == "nurown_ph2"
