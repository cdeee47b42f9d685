"""``alsmeta evidence claims``: exit codes, stdout, stderr, JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alsmeta.cli import main
from alsmeta.evidence.claims import VERDICTS

SRC = {"url": "https://example.org/trial", "location": "Table 2"}
CLAIM_IDS = [
    "all_trials_show_slowing", "all_but_two_significant", "six_months_significant",
    "intrathecal_works_best", "msc_better_than_other_cells", "evidence_is_randomised",
]  # fmt: skip
KEYS = {"claim_id", "statement", "verdict", "reason", "numbers", "evidence_used",
        "evidence_excluded", "notes"}  # fmt: skip


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _num(value: float, **extra: Any) -> dict[str, Any]:
    return {"value": value, "source": dict(SRC), **extra}


def _evidence_file(tmp_path: Path) -> Path:
    """Six randomised trials, all significant benefit, intrathecal vs intravenous."""
    studies, outcomes = [], []
    for i, (route, md) in enumerate([("intrathecal", 4.0)] * 3 + [("intravenous", 3.8)] * 3):
        sid = f"T{i}"
        studies.append(
            {"study_id": sid, "citation": f"{sid} et al.", "design": "RCT", "randomised": True,
             "route": route, "cell_type": "MSC, bone marrow",
             "followup": _num(6, unit="months"), "source": dict(SRC)}
        )  # fmt: skip
        outcomes.append(
            {"outcome_id": f"{sid}_chg", "study_id": sid, "definition": "ALSFRS-R change",
             "endpoint": "alsfrs_r_change", "direction": "higher_is_benefit", "primary": True,
             "arms": [{"role": "treatment", "label": "MSC", "n": _num(40)},
                      {"role": "control", "label": "placebo", "n": _num(40)}],
             "effect": {"measure": "MD", "estimate": _num(md), "se": _num(0.5)},
             "source": dict(SRC)}
        )  # fmt: skip
    path = tmp_path / "trials.yaml"
    path.write_text(yaml.safe_dump({"studies": studies, "outcomes": outcomes}), encoding="utf-8")
    return path


def test_text_lists_every_claim_with_verdict_and_numbers(capsys) -> None:
    code, out, err = run(["evidence", "claims"], capsys)
    assert code == 0, err
    assert err == ""
    for cid in CLAIM_IDS:
        assert f"Claim {cid}:" in out
    assert out.count("Verdict: ") == 6
    assert out.count("Numbers:") == 6
    assert "randomised trials only" in out
    assert out.rstrip().splitlines()[-1].startswith("6 claims: ")


def test_json_is_a_list_of_verdict_records(capsys) -> None:
    code, out, err = run(["evidence", "claims", "--format", "json"], capsys)
    assert code == 0, err
    records = json.loads(out)
    assert [r["claim_id"] for r in records] == CLAIM_IDS
    for r in records:
        assert set(r) == KEYS
        assert r["verdict"] in VERDICTS
        assert r["numbers"]["evidence_scope"] in (
            "randomised trials only",
            "all studies, any design",
        )
        assert all(set(e) == {"study_id", "reason"} for e in r["evidence_excluded"])
    design = records[-1]["numbers"]
    assert design["n_studies"] > design["n_randomised_controlled"] > 0


def test_evidence_file_option(tmp_path, capsys) -> None:
    path = _evidence_file(tmp_path)
    code, out, err = run(
        ["evidence", "claims", "--evidence", str(path), "--format", "json"], capsys
    )
    assert code == 0, err
    verdicts = {r["claim_id"]: r for r in json.loads(out)}
    assert verdicts["all_trials_show_slowing"]["verdict"] == "supported"
    assert verdicts["all_but_two_significant"]["verdict"] == "not supported"
    assert verdicts["six_months_significant"]["verdict"] == "supported"
    assert verdicts["intrathecal_works_best"]["verdict"] == "not supported"
    assert verdicts["intrathecal_works_best"]["numbers"]["trials_per_group"] == {
        "intrathecal": 3,
        "intravenous": 3,
    }
    assert verdicts["msc_better_than_other_cells"]["verdict"] == "insufficient evidence"
    assert verdicts["evidence_is_randomised"]["verdict"] == "supported"


def test_missing_evidence_file_is_an_input_error(tmp_path, capsys) -> None:
    code, out, err = run(["evidence", "claims", "--evidence", str(tmp_path / "no.yaml")], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("alsmeta: error: file not found")


def test_invalid_evidence_file_names_study_and_field(tmp_path, capsys) -> None:
    raw = {
        "studies": [{"study_id": "Bad", "citation": "x", "design": "RCT", "route": "nasal",
                     "source": dict(SRC)}],
        "outcomes": [],
    }  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run(["evidence", "claims", "--evidence", str(path)], capsys)
    assert code == 2
    assert out == ""
    assert "study 'Bad'" in err and "route" in err


def test_unknown_format_is_a_usage_error(capsys) -> None:
    code, out, err = run(["evidence", "claims", "--format", "csv"], capsys)
    assert code == 2
    assert out == ""
    assert "alsmeta: error:" in err and "--format" in err


def test_subprocess_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "evidence", "claims", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert [r["claim_id"] for r in json.loads(proc.stdout)] == CLAIM_IDS
