"""`alsmeta diagnose`: the JSON contract, the text layout, exit codes and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alsmeta import escalc, load_dataset
from alsmeta.cli.diagnose_cmd import DIAGNOSE_KEYS
from conftest import load_fixture
from conftest import run_cli as run

REFERENCE = {c["name"]: c for c in load_fixture("diagnostics_reference.json")["cases"]}


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    data = load_dataset("bcg")
    data["ni"] = data["tpos"] + data["tneg"] + data["cpos"] + data["cneg"]
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    path = tmp_path / "bcg.csv"
    es.to_frame().to_csv(path, index=False, float_format="%.17g")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_has_exactly_the_documented_keys(bcg_csv, capsys) -> None:
    code, out, err = run(["diagnose", str(bcg_csv)], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert list(got) == ["leave_one_out", "egger", "begg", "trim_and_fill"]
    for section, keys in DIAGNOSE_KEYS.items():
        assert list(got[section]) == list(keys), section
    assert DIAGNOSE_KEYS == {
        "leave_one_out": ("estimate", "tau2", "i2"),
        "egger": ("statistic", "p_value"),
        "begg": ("tau", "p_value"),
        "trim_and_fill": ("k0", "side", "estimate", "tau2"),
    }


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha")])
def test_json_numbers_match_metafor(bcg_csv, capsys, method, test) -> None:
    ex = REFERENCE[f"bcg_RR_{method}_{test}"]["expected"]
    code, out, err = run(
        ["diagnose", str(bcg_csv), "--method", method, "--test", test, "--format", "json"], capsys
    )
    assert code == 0, err
    got = json.loads(out)
    rtol = 1e-6 if method == "REML" else 1e-8
    for key in ("estimate", "tau2", "i2"):
        np.testing.assert_allclose(got["leave_one_out"][key], ex["leave1out"][key], rtol=rtol)
    eg = ex["regtest"]["rma_sei"]
    assert got["egger"]["statistic"] == pytest.approx(eg["statistic"], rel=rtol)
    assert got["egger"]["p_value"] == pytest.approx(eg["p_value"], rel=rtol)
    assert got["begg"]["tau"] == pytest.approx(ex["ranktest"]["tau"], rel=1e-12)
    assert got["begg"]["p_value"] == pytest.approx(ex["ranktest"]["p_value"], rel=1e-10)
    tf = ex["trimfill"]["L0"]
    assert got["trim_and_fill"]["k0"] == tf["k0"]
    assert got["trim_and_fill"]["side"] == tf["side"]
    assert got["trim_and_fill"]["estimate"] == pytest.approx(tf["estimate"], rel=1e-6)
    assert got["trim_and_fill"]["tau2"] == pytest.approx(tf["tau2"], rel=1e-6)


def test_text_prints_metafor_tables(bcg_csv, capsys) -> None:
    code, out, err = run(
        ["diagnose", str(bcg_csv), "--format", "text", "--order", "year", "--ni", "ni"], capsys
    )
    assert code == 0, err
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in out
    assert "Leave-one-out analysis" in out and "Influence diagnostics" in out
    assert "Cumulative meta-analysis" in out
    assert "Test for Funnel Plot Asymmetry: z = -0.8033, p = 0.4218" in out
    assert "Kendall's tau = 0.0256, p = 0.9524" in out
    assert "Estimated number of missing studies on the right side: 1" in out
    assert "Peters' test" in out and "inverse of the sample size" in out


def test_few_studies_give_nulls_and_notes(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.1,0.1\n0.5,0.2\n")
    code, out, err = run(["diagnose", str(path)], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got["egger"] == {"statistic": None, "p_value": None}
    assert got["trim_and_fill"] == {"k0": None, "side": None, "estimate": None, "tau2": None}
    assert got["leave_one_out"]["estimate"] == pytest.approx([0.5, 0.1])
    assert "egger: not computed (egger_test needs at least 3 studies" in err
    assert "alsmeta: note:" in err


def test_one_study_is_an_input_error(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.1,0.1\n")
    code, out, err = run(["diagnose", str(path)], capsys)
    assert code == 2 and out == ""
    assert "alsmeta: error: diagnose needs at least 2 studies" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "alloc"], "--by cannot be used with diagnose"),
        (["--mods", "ablat"], "--mods cannot be used with diagnose"),
        (["--order", "when"], "--order 'when': no such column"),
        (["--ni", "n", "--format", "text"], "--ni 'n': no such column"),
        (["--method", "XX"], "method='XX' is not valid"),
        (["--level", "95"], "looks like a percentage"),
    ],
)
def test_bad_options_exit_2(bcg_csv, capsys, extra, message) -> None:
    code, out, err = run(["diagnose", str(bcg_csv), *extra], capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert all(line.startswith("alsmeta: ") for line in err.splitlines())


def test_format_choice_is_a_usage_error(bcg_csv, capsys) -> None:
    code, _, err = run(["diagnose", str(bcg_csv), "--format", "csv"], capsys)
    assert code == 2 and "invalid choice" in err


def test_every_bad_row_is_reported(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.1,0.1\nx,0.2\n0.3,-1\n")
    code, _, err = run(["diagnose", str(path)], capsys)
    assert code == 2
    assert "row 2" in err and "row 3" in err


def test_subprocess_run(bcg_csv) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "diagnose", str(bcg_csv), "--method", "DL"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert list(got) == list(DIAGNOSE_KEYS)
    assert got["trim_and_fill"]["side"] in ("left", "right")
    assert len(got["leave_one_out"]["estimate"]) == 13


def test_equal_variances_keep_the_other_sections(tmp_path, capsys) -> None:
    path = write(tmp_path, "yi,vi\n0.1,0.1\n0.5,0.1\n0.3,0.1\n0.9,0.1\n")
    code, out, err = run(["diagnose", str(path)], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got["egger"] == {"statistic": None, "p_value": None}
    assert got["trim_and_fill"]["k0"] is None
    assert got["begg"] == {"tau": None, "p_value": None}  # Kendall's tau undefined, as R's NA
    assert len(got["leave_one_out"]["i2"]) == 4
    assert "trim_and_fill: not computed" in err and "same for every study" in err
