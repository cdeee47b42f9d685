"""``alsmeta alsfrs score``: exit codes, output, and one stderr line per problem."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from alsmeta.alsfrs import ITEM_COLUMNS
from conftest import run_cli as run

PROACT = [
    "Q1_Speech",
    "Q2_Salivation",
    "Q3_Swallowing",
    "Q4_Handwriting",
    "Q5a_Cutting_without_Gastrostomy",
    "Q5b_Cutting_with_Gastrostomy",
    "Q6_Dressing_and_Hygiene",
    "Q7_Turning_in_Bed",
    "Q8_Walking",
    "Q9_Climbing_Stairs",
    "R_1_Dyspnea",
    "R_2_Orthopnea",
    "R_3_Respiratory_Insufficiency",
]
APPENDED = [
    "total",
    "bulbar",
    "fine_motor",
    "gross_motor",
    "respiratory",
    "delta_fs",
    "kings_stage",
    "mitos_stage",
]

# subject, visit, months, then the 13 items (5a, 5b) in ITEM_COLUMNS order.
GOOD_ROWS = [
    "P1,0,12,4,4,4,4,4,,4,4,4,4,4,4,4",  # all normal: 48, no region -> King's 1
    "P1,3,15,3,4,4,4,4,,4,4,3,4,4,4,4",  # speech 3, walking 3: 46, two regions -> 2
    # 4+4+1 + 3+2(5b)+4 + 4+1+0 + 4+4+3 = 34; 5b and R3 3 -> 4B (4B wins);
    # swallowing 1 and walking 1 -> MiToS 2 (R3 3 > 2, handwriting 3 > 1)
    "P2,0,10,4,4,1,3,,2,4,4,1,0,4,4,3",
]


def csv_text(rows: list[str], names: list[str] | None = None) -> str:
    header = ["subject", "visit", "months", *(names or list(ITEM_COLUMNS))]
    return ",".join(header) + "\n" + "\n".join(rows) + "\n"


def write(tmp_path: Path, text: str, name: str = "visits.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


OPTIONS = ["--subject-col", "subject", "--visit-col", "visit", "--onset-col", "months"]


def test_score_appends_totals_domains_delta_fs_and_stages(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text(GOOD_ROWS))
    code, out, err = run(["alsfrs", "score", str(path), *OPTIONS], capsys)
    assert code == 0 and err == ""
    got = pd.read_csv(io.StringIO(out), dtype={"kings_stage": str})
    assert list(got.columns[-len(APPENDED) :]) == APPENDED
    assert got["total"].tolist() == [48, 46, 34]
    assert got["bulbar"].tolist() == [12, 11, 9]
    assert got["fine_motor"].tolist() == [12, 12, 9]
    assert got["gross_motor"].tolist() == [12, 11, 5]
    assert got["respiratory"].tolist() == [12, 12, 11]
    # (48 - total) / months
    assert got["delta_fs"].tolist() == pytest.approx([0.0, 2 / 15, 1.4])
    assert got["kings_stage"].tolist() == ["1", "2", "4B"]
    assert got["mitos_stage"].tolist() == [0, 0, 2]
    assert "\n0.13333333333333333," in out or ",0.13333333333333333," in out  # full precision
    assert ",48,12,12,12,12,0,1,0" in out  # whole numbers without ".0"


def test_proact_and_readable_names_give_the_same_output(tmp_path, capsys) -> None:
    readable = write(tmp_path, csv_text(GOOD_ROWS), "a.csv")
    proact = write(tmp_path, csv_text(GOOD_ROWS, PROACT), "b.csv")
    _, out_a, _ = run(["alsfrs", "score", str(readable), *OPTIONS], capsys)
    _, out_b, _ = run(["alsfrs", "score", str(proact), *OPTIONS], capsys)
    a = pd.read_csv(io.StringIO(out_a))[APPENDED]
    b = pd.read_csv(io.StringIO(out_b))[APPENDED]
    pd.testing.assert_frame_equal(a, b)


BAD_ROWS = [
    "P1,0,12,5,4,4,4,4,,4,4,4,4,4,4,4",  # speech 5
    "P1,3,15,4,4,4,4,4,,4,4,-1,4,4,4,4",  # walking -1
    "P2,0,10,4,4,4,4,4,,4,4,4,4,2.5,4,4",  # dyspnea 2.5
    "P2,1,11,4,4,4,4,4,3,4,4,4,4,4,4,4",  # both 5a and 5b
    "P3,0,6,4,4,4,4,4,,4,4,4,,4,4,4",  # stairs missing
    "P3,1,-2,4,4,4,4,4,,4,4,4,4,4,4,4",  # visit before onset
]
EXPECTED_ERRORS = [
    "alsmeta: error: row 1, column 'speech': subject 'P1', visit 0: speech is 5; "
    "ALSFRS-R items are integers 0-4",
    "alsmeta: error: row 2, column 'walking': subject 'P1', visit 3: walking is -1; "
    "ALSFRS-R items are integers 0-4",
    "alsmeta: error: row 3, column 'dyspnea': subject 'P2', visit 0: dyspnea is 2.5; "
    "ALSFRS-R items are integers 0-4",
    "alsmeta: error: row 4, column 'cutting_with_gastrostomy': subject 'P2', visit 1: both "
    "cutting_without_gastrostomy (5a) and cutting_with_gastrostomy (5b) are answered; item 5 "
    "takes exactly one (5b only for patients with a gastrostomy)",
    "alsmeta: error: row 5, column 'stairs': subject 'P3', visit 0: stairs is missing",
    "alsmeta: error: row 6, column 'months': subject 'P3', visit 1: visit is before symptom "
    "onset: months is -2 months",
]


def test_bad_input_exits_2_with_one_line_per_problem_and_writes_nothing(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text([GOOD_ROWS[0], *BAD_ROWS]))
    out_file = tmp_path / "out.csv"
    code, out, err = run(["alsfrs", "score", str(path), *OPTIONS, "-o", str(out_file)], capsys)
    assert code == 2
    assert out == ""
    assert not out_file.exists()
    # rows are shifted by the good first row
    expected = [
        line.replace(f"row {i + 1},", f"row {i + 2},") for i, line in enumerate(EXPECTED_ERRORS)
    ]
    assert err.splitlines() == expected


def test_proact_names_appear_in_the_error_lines(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text(BAD_ROWS[:1], PROACT))
    code, _, err = run(["alsfrs", "score", str(path), *OPTIONS], capsys)
    assert code == 2
    assert "column 'Q1_Speech': subject 'P1', visit 0: Q1_Speech is 5" in err


def test_keep_going_skips_and_lists_every_bad_visit(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text([GOOD_ROWS[0], *BAD_ROWS, GOOD_ROWS[2]]))
    code, out, err = run(["alsfrs", "score", str(path), *OPTIONS, "--keep-going"], capsys)
    assert code == 0
    got = pd.read_csv(io.StringIO(out))
    assert got["subject"].tolist() == ["P1", "P2"] and got["total"].tolist() == [48, 34]
    lines = err.splitlines()
    assert len(lines) == len(BAD_ROWS)
    for i, line in enumerate(lines):
        assert line.startswith(f"alsmeta: note: skipped row {i + 2}, column ")
    assert "subject 'P2', visit 1: both" in err


def test_json_format_and_output_file(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text(GOOD_ROWS))
    out_file = tmp_path / "scored.json"
    code, out, err = run(
        ["alsfrs", "score", str(path), *OPTIONS, "--format", "json", "-o", str(out_file)], capsys
    )
    assert code == 0 and out == "" and err == ""
    got = json.loads(out_file.read_text(encoding="utf-8"))
    assert [r["kings_stage"] for r in got["rows"]] == ["1", "2", "4B"]
    assert got["rows"][0]["cutting_with_gastrostomy"] is None
    assert got["skipped"] == [] and got["options"]["onset_col"] == "months"


def test_without_onset_there_is_no_delta_fs(tmp_path, capsys) -> None:
    path = write(tmp_path, csv_text(GOOD_ROWS))
    code, out, _ = run(["alsfrs", "score", str(path)], capsys)
    assert code == 0
    header = out.splitlines()[0].split(",")
    assert "delta_fs" not in header and header[-2:] == ["kings_stage", "mitos_stage"]


def test_usage_errors_exit_2(tmp_path, capsys) -> None:
    code, _, err = run(["alsfrs"], capsys)
    assert code == 2 and "alsmeta: error:" in err
    code, _, err = run(["alsfrs", "score", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "file not found" in err
    path = write(tmp_path, "subject,speech\nP1,4\n")
    code, _, err = run(["alsfrs", "score", str(path)], capsys)
    assert code == 2 and "no column for ALSFRS-R item 'salivation'" in err
    path = write(tmp_path, csv_text(GOOD_ROWS))
    code, _, err = run(["alsfrs", "score", str(path), "--onset-col", "onset"], capsys)
    assert code == 2 and "no column 'onset' in the input" in err
    assert "Traceback" not in err


def test_subprocess_round_trip(tmp_path) -> None:
    path = write(tmp_path, csv_text([*GOOD_ROWS, BAD_ROWS[0]]))
    done = subprocess.run(
        [sys.executable, "-m", "alsmeta", "alsfrs", "score", str(path), *OPTIONS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("alsmeta: error: row 4, column 'speech': subject 'P1'")
    assert "Traceback" not in done.stderr
