"""``alsmeta evidence validate`` and ``alsmeta evidence show``: exit codes, stdout, stderr."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alsmeta.cli import main

RESEARCH_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "research" / "als_trials.csv"
SRC = {"url": "https://example.org/trial", "location": "Table 2"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _bad_file(tmp_path: Path) -> Path:
    raw: dict[str, Any] = {
        "studies": [
            {"study_id": "Bad2021", "citation": "Bad et al.", "design": "RCT",
             "route": "intranasal", "source": dict(SRC)},
        ],
        "outcomes": [
            {"outcome_id": "Bad2021_chg", "study_id": "Bad2021", "definition": "ALSFRS-R change",
             "endpoint": "alsfrs_r_change", "direction": "higher_is_benefit",
             "arms": [
                 {"role": "treatment", "label": "MSC", "n": {"value": 12, "source": dict(SRC)},
                  "mean": {"value": -2.0}, "sd": {"value": -1.5, "source": dict(SRC)}},
             ],
             "source": dict(SRC)},
        ],
    }  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_validate_bundled_data(capsys) -> None:
    code, out, err = run(["evidence", "validate"], capsys)
    assert code == 0, err
    assert out == "bundled als_trials.yaml: valid (35 studies, 48 outcomes)\n"
    assert err == ""


def test_validate_reports_every_problem_by_study_and_field(tmp_path, capsys) -> None:
    code, out, err = run(["evidence", "validate", str(_bad_file(tmp_path))], capsys)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith("alsmeta: error: study 'Bad2021', column '") for line in lines)
    assert any(
        "column 'route': unknown route 'intranasal'; valid: 'intrathecal'" in x for x in lines
    )
    assert any("arms[0].mean.source': number without source" in x for x in lines)
    assert any("arms[0].sd': impossible value: must be >= 0 (got -1.5)" in x for x in lines)


def test_validate_missing_and_unreadable_files(tmp_path, capsys) -> None:
    code, _, err = run(["evidence", "validate", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "file not found" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("studies: [\n  - {", encoding="utf-8")
    code, _, err = run(["evidence", "validate", str(broken)], capsys)
    assert code == 2 and "not a readable YAML/JSON file" in err
    assert len(err.splitlines()) == 1


def test_validate_accepts_json(tmp_path, capsys) -> None:
    from alsmeta.evidence import read_evidence_file

    raw, _ = read_evidence_file()
    path = tmp_path / "trials.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    code, out, _ = run(["evidence", "validate", str(path)], capsys)
    assert code == 0 and "valid (35 studies, 48 outcomes)" in out


@pytest.mark.skipif(not RESEARCH_CSV.is_file(), reason="research CSV not available")
def test_show_lists_every_study_id_of_the_research_file(capsys) -> None:
    with open(RESEARCH_CSV, encoding="utf-8") as fh:
        ids = [row["study_id"] for row in csv.DictReader(fh)]
    code, out, err = run(["evidence", "show", "--format", "csv"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted(r["outcome_id"] for r in rows) == sorted(ids)
    code, text, _ = run(["evidence", "show"], capsys)
    assert code == 0
    assert all(i in text for i in ids)


def test_show_csv_columns_and_oh2018(capsys) -> None:
    code, out, _ = run(["evidence", "show", "--format", "csv"], capsys)
    assert code == 0
    rows = {r["outcome_id"]: r for r in csv.DictReader(io.StringIO(out))}
    oh = rows["Oh2018_ALSFRSR_chg_6mo"]
    for col in (
        "design",
        "route",
        "cell_type",
        "yi",
        "vi",
        "conversion",
        "source_url",
        "source_location",
        "assumptions",
        "reason",
    ):
        assert col in oh
    assert float(oh["yi"]) == 3.38
    assert round(float(oh["vi"]) ** 0.5, 2) == 1.07
    assert oh["design"] == "RCT" and oh["route"] == "intrathecal"
    assert oh["conversion"] == "reported_md_ci+se_from_ci_t"
    # Oh 2018, Table 3: MD 3.38 (95 % CI 1.23 to 5.54), shown as printed beside yi and vi
    assert (float(oh["reported_estimate"]), float(oh["reported_ci_lower"]),
            float(oh["reported_ci_upper"])) == (3.38, 1.23, 5.54)  # fmt: skip
    assert rows["Oh2015_phI"]["yi"] == "" and rows["Oh2015_phI"]["reason"]


def test_show_json_and_outcome_filter(capsys) -> None:
    code, out, err = run(
        [
            "evidence",
            "show",
            "--format",
            "json",
            "--outcome",
            "Oh2018_ALSFRSR_chg_6mo",
            "--outcome",
            "alsfrs_responder",
        ],
        capsys,
    )
    assert code == 0, err
    records = json.loads(out)
    assert [r["outcome_id"] for r in records] == [
        "Oh2018_ALSFRSR_chg_6mo",
        "Cudkowicz2022_primary_responder_28wk",
    ]
    assert records[0]["yi"] == 3.38 and records[0]["randomised"] is True
    assert records[1]["yi"] is None and "binary" in records[1]["reason"]


def test_show_text_summarises_reasons(capsys) -> None:
    code, out, _ = run(["evidence", "show", "--outcome", "alsfrs_r_change"], capsys)
    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["outcome_id", "design", "route", "cell_type"]
    assert "12 outcomes, 11 converted to MD (positive yi = benefit of cell therapy)" in out
    assert "Prabhakar2012: no control arm" in out


def test_show_odds_ratio_measure(capsys) -> None:
    code, out, _ = run(
        [
            "evidence",
            "show",
            "--format",
            "json",
            "--measure",
            "OR",
            "--outcome",
            "alsfrs_responder",
        ],
        capsys,
    )
    assert code == 0
    (record,) = json.loads(out)
    assert record["conversion"] == "reported_or_p+se_from_p_z"


def test_show_errors(tmp_path, capsys) -> None:
    code, out, err = run(["evidence", "show", "--outcome", "nonsense"], capsys)
    assert code == 2 and out == ""
    assert "alsmeta: error: column 'outcome': outcome='nonsense' is neither" in err
    code, _, err = run(["evidence", "show", str(_bad_file(tmp_path))], capsys)
    assert code == 2 and len(err.splitlines()) == 3
    code, _, err = run(["evidence", "show", "--format", "xml"], capsys)
    assert code == 2 and "invalid choice" in err


def test_evidence_without_action_prints_help(capsys) -> None:
    code, _out, err = run(["evidence"], capsys)
    assert code == 2
    assert "validate" in err and "show" in err


def test_subprocess_and_light_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "evidence", "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid (35 studies, 48 outcomes)" in proc.stdout
    probe = (
        "import sys\nfrom alsmeta.cli import main\n"
        "code = main(['--help'])\n"
        "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]"
