"""``alsmeta simulate``: power by simulation and simulated trajectories at the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli as run

pytest.importorskip("matplotlib")

POWER_KEYS = [
    "design", "endpoint", "n_per_arm", "effect", "reps", "power", "power_ci_lower",
    "power_ci_upper", "type1_error",
]  # fmt: skip
ALL_KEYS = [
    *POWER_KEYS, "type1_error_ci_lower", "type1_error_ci_upper", "n_treated", "effect_scale",
    "effect_sd", "effect_source", "power_favourable", "power_favourable_ci_lower",
    "power_favourable_ci_upper", "mean_estimate", "not_analysable",
]  # fmt: skip
SAMPLE_SIZE_KEYS = ["target_power", "n_per_arm_simulated", "n_per_arm_interpolated"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Small and fast: two sizes, 60 trials per scenario.
BASE = ["simulate", "power", "--n-per-arm", "20,40", "--effect", "0.3,0.6", "--reps", "60"]


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict]:
    code, out, err = run([*argv, "--format", "json"], capsys)
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------------------------- power ----
def test_power_json_has_exactly_the_documented_keys(capsys) -> None:
    rows = _json(BASE, capsys)
    assert len(rows) == 4
    for row in rows:
        assert list(row) == ALL_KEYS
        assert row["design"] == "parallel" and row["endpoint"] == "slope"
        assert row["reps"] == 60
        assert 0 <= row["power_ci_lower"] <= row["power"] <= row["power_ci_upper"] <= 1
        assert row["type1_error"] is None  # no null run
    assert [(r["n_per_arm"], r["effect"]) for r in rows] == [
        (20, 0.3), (20, 0.6), (40, 0.3), (40, 0.6),
    ]  # fmt: skip


def test_power_csv_parses_into_the_scenario_table(capsys) -> None:
    code, out, err = run([*BASE, "--format", "csv"], capsys)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ALL_KEYS
    assert len(table) == 4
    assert table["power"].between(0, 1).all()


def test_power_text_is_the_summary_table(capsys) -> None:
    code, out, err = run(BASE, capsys)
    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    assert out.startswith("Power by simulation: parallel design, endpoint slope")
    assert "60 trials per scenario; seed 1" in out
    header = next(line for line in out.splitlines() if "n/arm" in line)
    assert header.split()[:3] == ["n/arm", "effect", "power"]
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("20 ", "40 "))]
    pairs = [(r[0], r[1]) for r in rows]
    assert pairs == [("20", "0.3"), ("20", "0.6"), ("40", "0.3"), ("40", "0.6")]


def test_null_run_reports_type1_error(capsys) -> None:
    rows = _json([*BASE, "--null"], capsys)
    for row in rows:
        assert isinstance(row["type1_error"], float)
        assert 0 <= row["type1_error_ci_lower"] <= row["type1_error"] <= row["type1_error_ci_upper"]
    # The null run is one per sample size, shared by every effect at that size.
    assert rows[0]["type1_error"] == rows[1]["type1_error"]
    code, out, _ = run([*BASE, "--null"], capsys)
    assert code == 0
    assert "type I" in out


def test_same_seed_same_output_and_another_seed_differs(capsys) -> None:
    first = run([*BASE, "--format", "json", "--seed", "7"], capsys)
    second = run([*BASE, "--format", "json", "--seed", "7"], capsys)
    assert first == second
    other = run([*BASE, "--format", "json", "--seed", "8"], capsys)
    assert other[1] != first[1]


def test_dask_backend_gives_the_same_numbers_as_local(capsys) -> None:
    pytest.importorskip("distributed")
    argv = ["simulate", "power", "--n-per-arm", "20,30", "--effect", "0.5", "--reps", "40",
            "--chunk-size", "20", "--format", "json"]  # fmt: skip
    code, local, err = run(argv, capsys)
    assert code == 0, err
    code, dask, err = run([*argv, "--backend", "dask", "--workers", "2"], capsys)
    assert code == 0, err
    assert json.loads(dask) == json.loads(local)


def test_dask_backend_without_dask_exits_3(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, out, err = run([*BASE, "--backend", "dask"], capsys)
    assert code == 3
    assert out == ""
    assert err.startswith("alsmeta: error: missing optional dependency 'distributed'")
    assert len(err.splitlines()) == 1


def test_effect_from_meta_gives_assurance_and_pooled_scenarios(capsys) -> None:
    argv = ["simulate", "power", "--n-per-arm", "30,60", "--effect", "from-meta",
            "--reps", "40", "--format", "json"]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert [r["n_per_arm"] for r in rows] == [30, 30, 60, 60]
    for predictive, pooled in (rows[0:2], rows[2:4]):
        assert predictive["effect"] == pooled["effect"] > 0
        assert predictive["effect_sd"] > 0 and pooled["effect_sd"] == 0
        assert predictive["effect_scale"] == pooled["effect_scale"] == "percent"
    notes = [line for line in err.splitlines() if line.startswith("alsmeta: note: effect ")]
    assert len(notes) == 2
    assert "(assurance): meta-analysis of" in notes[0]
    assert "predictive distribution" in notes[0]
    assert "(fixed): meta-analysis of" in notes[1] and "pooled estimate" in notes[1]


def test_effect_from_meta_matches_the_reports_primary_analysis(capsys) -> None:
    from alsmeta.evidence import load_evidence
    from alsmeta.meta import meta_analysis
    from alsmeta.report.build import REPORT_OPTIONS, primary_effect_sizes
    from alsmeta.simulate import (
        D50Progression,
        LinearProgression,
        effect_from_meta,
        expected_difference,
    )

    es = primary_effect_sizes(load_evidence())
    res = meta_analysis(es, method=REPORT_OPTIONS["method"], test=REPORT_OPTIONS["test"])
    rows = _json(
        ["simulate", "power", "--n-per-arm", "20", "--effect", "from-meta", "--reps", "10"],
        capsys,
    )
    want = effect_from_meta(res, months=6.0, predictive=True, model=D50Progression())
    assert rows[0]["effect"] == pytest.approx(want.mean, rel=1e-12)
    assert rows[0]["effect_sd"] == pytest.approx(want.sd, rel=1e-12)
    assert expected_difference(D50Progression(), want, months=6.0) == pytest.approx(res.estimate)
    linear = _json(
        ["simulate", "power", "--n-per-arm", "20", "--effect", "from-meta", "--reps", "10",
         "--model", "linear"],
        capsys,
    )  # fmt: skip
    lin = effect_from_meta(res, months=6.0, predictive=False, model=LinearProgression())
    assert linear[1]["effect"] == pytest.approx(lin.mean, rel=1e-12)


def test_effect_from_meta_beside_numeric_percent_effects(capsys) -> None:
    rows = _json(["simulate", "power", "--n-per-arm", "20", "--effect", "from-meta,0.2",
                  "--effect-scale", "percent", "--reps", "10"], capsys)  # fmt: skip
    assert [r["effect_scale"] for r in rows] == ["percent"] * 3
    assert rows[2]["effect"] == 0.2 and rows[2]["effect_sd"] == 0


def test_effect_from_meta_text_marks_assurance(capsys) -> None:
    code, out, _ = run(
        ["simulate", "power", "--n-per-arm", "20", "--effect", "from-meta", "--reps", "10"],
        capsys,
    )
    assert code == 0
    assert "* effect drawn per trial from a predictive distribution (assurance)" in out


def test_target_power_adds_sample_sizes(capsys) -> None:
    argv = ["simulate", "power", "--n-per-arm", "20,80", "--effect", "0.4,1.5", "--reps", "60",
            "--model", "linear", "--target-power", "0.8"]  # fmt: skip
    rows = _json(argv, capsys)
    for row in rows:
        assert list(row) == [*ALL_KEYS, *SAMPLE_SIZE_KEYS]
        assert row["target_power"] == 0.8
    big = [r for r in rows if r["effect"] == 1.5]
    small = [r for r in rows if r["effect"] == 0.4]
    assert big[0]["n_per_arm_simulated"] in (20, 80)
    assert small[0]["n_per_arm_simulated"] is None  # not reached
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "Smallest n per arm reaching power 0.8:" in out
    assert "not reached" in out
    code, out, _ = run([*argv, "--format", "csv"], capsys)
    assert list(pd.read_csv(io.StringIO(out)).columns) == [*ALL_KEYS, *SAMPLE_SIZE_KEYS]


def test_target_power_keeps_equal_effects_apart(capsys) -> None:
    argv = ["simulate", "power", "--n-per-arm", "20,40", "--effect", "from-meta", "--reps", "20",
            "--target-power", "0.5", "--format", "json"]  # fmt: skip
    rows = _json(argv, capsys)
    assert len(rows) == 4  # not merged with each other by the join on the effect


def test_design_and_endpoint_options_reach_the_simulation(capsys) -> None:
    argv = ["simulate", "power", "--design", "lead-in-randomised", "--endpoint", "ancova",
            "--month", "3", "--n-per-arm", "20", "--effect", "0.25", "--effect-scale",
            "percent", "--allocation", "2", "--reps", "20"]  # fmt: skip
    rows = _json(argv, capsys)
    assert rows[0]["design"] == "lead-in-randomised" and rows[0]["endpoint"] == "ancova"
    assert rows[0]["n_treated"] == 40 and rows[0]["effect_scale"] == "percent"
    code, out, _ = run(argv, capsys)
    assert code == 0 and "month 3" in out


def test_endpoint_choices_come_from_the_registry() -> None:
    from alsmeta.cli.main import build_parser
    from alsmeta.simulate.analysis import ENDPOINTS

    parser = build_parser(["simulate", "power"])
    sub = next(a for a in parser._actions if a.dest == "command")
    simulate = sub.choices["simulate"]
    actions = next(a for a in simulate._actions if a.dest == "simulate_command")
    endpoint = next(a for a in actions.choices["power"]._actions if a.dest == "endpoint")
    assert tuple(endpoint.choices) == tuple(ENDPOINTS)


def test_output_png_writes_the_power_curve_and_data_to_stdout(tmp_path, capsys) -> None:
    path = tmp_path / "curve.png"
    code, out, err = run([*BASE, "--target-power", "0.8", "-o", str(path)], capsys)
    assert code == 0, err
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert out.startswith("Power by simulation")
    svg = tmp_path / "curve.svg"
    code, out, _ = run([*BASE, "--format", "json", "-o", str(svg)], capsys)
    assert code == 0
    assert b"<svg" in svg.read_bytes()[:500]
    assert len(json.loads(out)) == 4


def test_output_other_file_receives_the_data(tmp_path, capsys) -> None:
    path = tmp_path / "power.json"
    code, out, err = run([*BASE, "--format", "json", "-o", str(path)], capsys)
    assert code == 0, err
    assert out == ""
    assert [list(r) for r in json.loads(path.read_text())] == [ALL_KEYS] * 4


def test_help_documents_the_output_convention(capsys) -> None:
    code, out, _ = run(["simulate", "power", "--help"], capsys)
    assert code == 0
    assert ".png, .svg or .pdf" in out and "--n-per-arm" in out


# ------------------------------------------------------------------- bad input ------
@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["--n-per-arm", "10,x", "--effect", "0.3"], ["--n-per-arm: 'x' is not a whole number"]),
        (["--n-per-arm", "1,10,10", "--effect", "0.3"],
         ["--n-per-arm: 1: each size must be at least 2", "--n-per-arm: a size is repeated"]),
        (["--n-per-arm", "10", "--effect", "0.3,abc"],
         ["--effect: 'abc' is not a number (or the word 'from-meta')"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--reps", "-5"],
         ["--reps -5 must be a positive whole number"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--workers", "2"],
         ["--workers needs --backend dask"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--endpoint", "nope"],
         ["argument --endpoint: invalid choice: 'nope'"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--design", "nope"],
         ["argument --design: invalid choice: 'nope'"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--design", "single-arm-lead-in"],
         ["slope endpoint compares two arms"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--reps", "0", "--alpha", "2",
          "--target-power", "80"],
         ["--reps 0 must be a positive whole number", "--alpha 2 must lie strictly between",
          "--target-power 80 must lie between 0 and 1 (looks like a percentage; use 0.8)"]),
        (["--n-per-arm", "10", "--effect", "1.5", "--effect-scale", "percent"],
         ["a percent effect is a fraction < 1"]),
        (["--n-per-arm", "10", "--effect", "2", "--effect-scale", "d50", "--model", "linear"],
         ["--model linear cannot express an effect on --effect-scale d50"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--month", "3"],
         ["--month does not apply to endpoint 'slope'"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--endpoint", "ancova", "--month", "30"],
         ["--month 30 must be after month 0 and within the follow-up"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--min-lead-in-decline", "3"],
         ["min_lead_in_decline needs a lead-in design"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--allocation", "0"],
         ["allocation=0.0 must be > 0"]),
        (["--effect", "0.3"], ["the following arguments are required: --n-per-arm"]),
        (["--n-per-arm", "10", "--effect", "0.3", "--reps", "x"],
         ["argument --reps: invalid int value: 'x'"]),
    ],
)  # fmt: skip
def test_bad_power_input_exits_2_with_one_line_per_problem(args, messages, capsys) -> None:
    code, out, err = run(["simulate", "power", *args], capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("alsmeta: error: ")]
    assert len(errors) == len(messages), err
    for message in messages:
        assert any(message in line for line in errors), (message, err)


def test_unwritable_output_exits_2(capsys) -> None:
    code, out, err = run([*BASE, "-o", "/proc/no/such/dir/curve.png"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("alsmeta: error: cannot write /proc/no/such/dir/curve.png")


def test_simulate_needs_an_action(capsys) -> None:
    code, _, err = run(["simulate"], capsys)
    assert code == 2
    assert "alsmeta: error: simulate: the following arguments are required: ACTION" in err


# ----------------------------------------------------------------- trajectories -----
def test_trajectories_png(tmp_path, capsys) -> None:
    path = tmp_path / "traj.png"
    argv = ["simulate", "trajectories", "--n", "20", "--design", "lead-in-randomised",
            "--effect", "0.3", "--effect-scale", "percent", "-o", str(path)]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert out.startswith("One simulated trial: lead-in-randomised design, 20 control and 20")
    assert "30% slower decline" in out
    assert "Active" in out and "Placebo" in out


def test_trajectories_csv_is_the_visits_of_one_trial(capsys) -> None:
    argv = ["simulate", "trajectories", "--n", "15", "--model", "linear", "--format", "csv"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    visits = pd.read_csv(io.StringIO(out))
    assert list(visits.columns) == ["subject_id", "arm", "t_months", "days", "total"]
    assert visits["subject_id"].nunique() == 30
    assert set(visits["arm"]) == {"Active", "Placebo"}
    assert visits["t_months"].min() == 0 and visits["t_months"].max() == 6
    assert run(argv, capsys) == (code, out, err)  # seeded: the same trial again
    code, out2, _ = run([*argv, "--seed", "2"], capsys)
    assert out2 != out


def test_trajectories_json_lists_the_visits(capsys) -> None:
    argv = ["simulate", "trajectories", "--n", "5", "--format", "json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert list(rows[0]) == ["subject_id", "arm", "t_months", "days", "total"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "1"], "--n 1 must be at least 2 patients per arm"),
        (["--effect", "2", "--effect-scale", "d50", "--model", "linear"], "effect scale='d50'"),
        (["--design", "parallel", "--min-lead-in-decline", "2"], "needs a lead-in design"),
    ],
)
def test_bad_trajectories_input_exits_2(args, message, capsys) -> None:
    code, out, err = run(["simulate", "trajectories", *args], capsys)
    assert code == 2
    assert out == ""
    assert message in err and "Traceback" not in err


# ------------------------------------------------------------------- subprocess -----
def test_simulate_power_runs_in_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", *BASE, "--null", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # stderr is a pipe: no progress bar
    rows = json.loads(proc.stdout)
    assert [list(r)[: len(POWER_KEYS)] for r in rows] == [POWER_KEYS] * 4
