"""The command line: exit codes, output formats, and one line per bad-input problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from alsmeta import escalc, load_dataset, meta_analysis
from alsmeta.meta import FIT_KEYS
from conftest import run_cli as run


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    path = tmp_path / "bcg.csv"
    es.to_frame().to_csv(path, index=False, float_format="%.17g")
    return path


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_prints_the_bcg_summary(capsys) -> None:
    code, out, _ = run(["example"], capsys)
    assert code == 0
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in out
    assert "-0.7145" in out and "0.3132" in out and "Q(df = 12) = 152.2330" in out


def test_fit_json_has_exactly_the_documented_keys(bcg_csv, capsys) -> None:
    code, out, err = run(["fit", str(bcg_csv), "--format", "json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert list(got) == list(FIT_KEYS)
    assert got["method"] == "REML" and got["test"] == "z" and got["k"] == 13
    assert got["estimate"] == pytest.approx(-0.7145323421582117, rel=1e-9)  # metafor, tight control
    assert got["tau2_ci_lower"] == pytest.approx(0.119718361, rel=1e-6)


def test_fit_text_matches_metafor_layout(bcg_csv, capsys) -> None:
    code, out, _ = run(["fit", str(bcg_csv), "--method", "DL", "--test", "knha"], capsys)
    assert code == 0
    assert "estimate      se     tval  df    pval    ci.lb    ci.ub" in out
    assert " -0.7141  0.1807  -3.9520  12  0.0019  -1.1078  -0.3204" in out
    assert "Q(df = 12) = 152.2330, p-val < .0001" in out


def test_fit_csv_output_is_one_row_of_keys(bcg_csv, capsys) -> None:
    code, out, _ = run(["fit", str(bcg_csv), "--format", "csv", "--method", "PM"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split(",") == list(FIT_KEYS)
    assert len(lines) == 2


def test_fit_by_gives_one_object_per_group(bcg_csv, capsys) -> None:
    code, out, _ = run(["fit", str(bcg_csv), "--by", "alloc", "--format", "json"], capsys)
    assert code == 0
    groups = json.loads(out)
    assert [g["group"] for g in groups] == ["alternate", "random", "systematic"]
    assert all(list(g) == ["group", *FIT_KEYS] for g in groups)
    frame = pd.read_csv(bcg_csv)
    for g in groups:
        sub = frame[frame["alloc"] == g["group"]].reset_index(drop=True)
        single = meta_analysis(sub[["yi", "vi"]]).to_dict()
        for key, value in single.items():
            assert g[key] == (
                pytest.approx(value, rel=1e-10) if isinstance(value, float) else value
            )


def test_fit_accepts_standard_errors_and_other_column_names(tmp_path, capsys) -> None:
    path = write(tmp_path, "effect,se\n0.1,0.2\n0.5,0.3\n0.3,0.25\n")
    code, out, _ = run(
        ["fit", str(path), "--yi", "effect", "--sei", "se", "--format", "json"], capsys
    )
    assert code == 0
    direct = meta_analysis(pd.DataFrame({"yi": [0.1, 0.5, 0.3], "vi": [0.04, 0.09, 0.0625]}))
    assert json.loads(out)["estimate"] == pytest.approx(direct.estimate, rel=1e-12)


def test_escalc_pipes_into_fit(tmp_path, capsys, monkeypatch) -> None:
    data = tmp_path / "bcg_raw.csv"
    load_dataset("bcg").to_csv(data, index=False)
    code, out, _ = run(
        [
            "escalc",
            str(data),
            "--measure",
            "RR",
            "--ai",
            "tpos",
            "--bi",
            "tneg",
            "--ci",
            "cpos",
            "--di",
            "cneg",
        ],
        capsys,
    )
    assert code == 0
    table = pd.read_csv(__import__("io").StringIO(out))
    assert {"yi", "vi", "tpos", "author"} <= set(table.columns)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(out))
    code, out, _ = run(["fit", "-", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["tau2"] == pytest.approx(0.3132432581372742, rel=1e-8)


def test_every_bad_row_is_named_and_the_exit_code_is_2(tmp_path, capsys) -> None:
    path = write(tmp_path, "study,yi,vi\nA,0.1,0.02\nB,0.3,-0.1\nC,abc,0.03\nD,,0.04\nE,0.2,0\n")
    code, out, err = run(["fit", str(path), "--study", "study"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert all(line.startswith("alsmeta: error: ") for line in lines)
    for row, study, column in [(2, "B", "vi"), (3, "C", "yi"), (4, "D", "yi"), (5, "E", "vi")]:
        assert any(
            f"row {row}" in ln and f"'{study}'" in ln and f"'{column}'" in ln for ln in lines
        )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "empty"),
        ("yi,vi\n", [], "no data rows"),
        ("yi,vx\n1,2\n", [], "'vi'"),
        ("yi,vi\n1,0.1\n2,0.2\n", ["--level", "95"], "looks like a percentage; use 0.95"),
        ("yi,vi\n1,0.1\n2,0.2\n", ["--method", "reml"], "did you mean 'REML'"),
        ("yi,vi\n1,0.1\n2,0.2\n", ["--test", "hk"], "use one of 'z', 't', 'knha', 'adhoc'"),
        ("yi,vi\n1,0.1\n2,0.2\n", ["--method", "GENQ"], "needs weights"),
        ("yi,vi\n1,0.1\n2,0.2\n", ["--by", "nope"], "no column 'nope'"),
        ("yi,vi,w\n1,0.1,1\n2,0.2,-1\n", ["--weights", "w"], "row 2"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, content, args, message) -> None:
    path = write(tmp_path, content)
    code, _, err = run(["fit", str(path), *args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_file_and_usage_errors_exit_2(capsys) -> None:
    code, _, err = run(["fit", "/no/such/file.csv"], capsys)
    assert code == 2 and "file not found" in err
    code, _, err = run(["fit"], capsys)
    assert code == 2 and "alsmeta: error:" in err
    code, _, err = run(["fit", "x.csv", "--format", "xml"], capsys)
    assert code == 2 and "invalid choice" in err


def test_missing_values_can_be_dropped_with_a_note(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.1,0.02\n,0.03\n0.4,0.05\n0.2,0.04\n")
    code, _, err = run(["fit", str(path)], capsys)
    assert code == 2 and "row 2" in err
    code, out, err = run(["fit", str(path), "--missing", "drop", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["k"] == 3
    assert "alsmeta: note:" in err and "drop" in err.lower()


def test_single_study_is_fitted_and_the_output_says_so(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.3,0.04\n")
    code, out, err = run(["fit", str(path), "--test", "knha", "--format", "json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert got["k"] == 1 and got["test"] == "z" and got["tau2"] == 0
    assert got["tau2_ci_lower"] is None and got["estimate"] == pytest.approx(0.3)
    assert "k = 1" in err


def test_the_installed_command_runs_in_a_subprocess(bcg_csv) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "fit", str(bcg_csv), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["k"] == 13
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "fit", str(bcg_csv), "--level", "95"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "alsmeta: error: level=95 looks like a percentage; use 0.95"
