"""A patient-level trial enters ``alsmeta fit`` and the report as one more study.

``alsmeta patients compare --format effect`` writes one effect-size row on the report's
scale (ALSFRS-R change from baseline, treated - control); ``alsmeta fit`` pools it with the
bundled primary rows exactly as ``meta_analysis``; ``alsmeta report --trial`` shows it
beside the published trials, and leaves the report without ``--trial`` unchanged.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta.cli.patients_compare import EFFECT_COLUMNS
from alsmeta.effects import EffectSizeTable
from alsmeta.evidence import load_evidence
from alsmeta.meta import meta_analysis
from alsmeta.patients.mixed import ancova, slope_model, trial_visits
from alsmeta.report import primary_effect_sizes
from alsmeta.report.build import REPORT_OPTIONS, fmt_num
from conftest import run_cli as run

pytest.importorskip("jinja2", reason="the report needs the 'report' extra (jinja2)")
pytest.importorskip("matplotlib", reason="the report needs matplotlib (the 'plot' extra)")

FIXED = "2026-01-01T00:00:00+00:00"
#: Few simulated trials in the power section: its numbers are tested in test_report_power.
POWER_REPS = 20
MARK = "[patient-level (user)]"
Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alsmeta.cli import main

    path = tmp_path_factory.mktemp("trial") / "cohort.csv"
    assert main(["patients", "synth", "--n", "200", "--seed", "3", "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def row_csv(cohort: Path) -> Path:
    from alsmeta.cli import main

    path = cohort.with_name("row.csv")
    argv = ["patients", "compare", str(cohort), "--model", "ancova", "--month", "6",
            "--control", "Placebo", "--format", "effect", "--study", "My trial",
            "-o", str(path)]  # fmt: skip
    assert main(argv) == 0
    return path


def _effect(argv: list[str], capsys: pytest.CaptureFixture[str]) -> pd.DataFrame:
    code, out, err = run(argv, capsys)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


# ------------------------------------------------------------------ the effect row
def test_ancova_effect_row_is_the_change_at_month_6(
    cohort: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["patients", "compare", str(cohort), "--model", "ancova", "--month", "6",
            "--control", "Placebo", "--format", "effect"]  # fmt: skip
    frame = _effect(argv, capsys)
    assert list(frame.columns) == list(EFFECT_COLUMNS)
    assert len(frame) == 1
    row = frame.iloc[0]
    res = ancova(trial_visits(pd.read_csv(cohort), control="Placebo"), month=6)
    assert row["yi"] == pytest.approx(res.estimate, rel=1e-12)
    assert row["vi"] == pytest.approx(res.se**2, rel=1e-12)
    assert (row["study"], row["measure"], row["design"]) == ("cohort", "MD", "RCT")
    assert (row["outcome"], row["followup_months"]) == ("alsfrs_r_change", 6)
    assert (row["treatment_arm"], row["control_arm"]) == ("Active", "Placebo")
    assert row["n1i"] + row["n2i"] == res.n_subjects
    assert "no conversion" in row["conversion"]


def test_control_decides_the_sign(cohort: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["patients", "compare", str(cohort), "--model", "ancova", "--month", "6",
            "--format", "effect"]  # fmt: skip
    placebo = _effect([*base, "--control", "Placebo"], capsys).iloc[0]
    active = _effect([*base, "--control", "Active"], capsys).iloc[0]
    assert active["yi"] == pytest.approx(-placebo["yi"], rel=1e-9)
    assert active["vi"] == pytest.approx(placebo["vi"], rel=1e-9)
    assert active["treatment_arm"] == "Placebo"


def test_slope_effect_row_states_the_linearity_assumption(
    cohort: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["patients", "compare", str(cohort), "--model", "slope", "--months", "6",
            "--control", "Placebo", "--format", "effect", "--study", "S"]  # fmt: skip
    row = _effect(argv, capsys).iloc[0]
    res = slope_model(trial_visits(pd.read_csv(cohort), control="Placebo"))
    assert row["yi"] == pytest.approx(6 * res.slope_difference, rel=1e-9)
    assert row["vi"] == pytest.approx(36 * res.se**2, rel=1e-9)
    assert row["followup_months"] == 6
    assert "assume_linear=True" in row["conversion"]
    assert "linearly in time" in row["notes"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "slope", "--control", "Placebo"], "needs --months T"),
        (["--model", "ancova", "--month", "6"], "needs --control LEVEL"),
        (["--model", "mmrm", "--visits", "6", "--control", "Placebo"], "not mmrm"),
    ],
)
def test_effect_format_refuses_what_it_cannot_put_on_the_scale(
    cohort: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = run(["patients", "compare", str(cohort), "--format", "effect", *extra], capsys)
    assert code == 2
    assert out == ""
    assert message in err


def test_effect_row_by_subprocess(cohort: Path, row_csv: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "patients", "compare", str(cohort), "--model",
         "ancova", "--month", "6", "--control", "Placebo", "--format", "effect", "--study",
         "My trial"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == row_csv.read_text(encoding="utf-8")


# ------------------------------------------------------------------ into alsmeta fit
def _bundled_primary_rows(capsys: pytest.CaptureFixture[str]) -> pd.DataFrame:
    """The primary rows, from ``alsmeta evidence show --format csv``, filtered as the report."""
    code, out, err = run(["evidence", "show", "--format", "csv"], capsys)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    lo, hi = REPORT_OPTIONS["timepoint_window_months"]
    frame = frame[
        (frame["design"] == "RCT")
        & (frame["endpoint"] == "alsfrs_r_change")
        & (frame["measure"] == "MD")
        & frame["reason"].isna()
        & frame["timepoint_months"].between(lo, hi)
    ].copy()
    frame["distance"] = (frame["timepoint_months"] - 6).abs()
    frame = frame.sort_values(["study_id", "distance", "vi"], kind="stable")
    picked = frame.groupby("study_id", sort=False).head(1)
    return picked.rename(columns={"study_id": "study"})[["study", "yi", "vi"]]


def test_fit_pools_the_trial_with_the_bundled_primary_rows(
    row_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundled = _bundled_primary_rows(capsys)
    primary = primary_effect_sizes(load_evidence())
    assert sorted(bundled["yi"]) == pytest.approx(sorted(primary.yi.tolist()), rel=1e-12)
    user = pd.read_csv(row_csv)
    combined = pd.concat([bundled, user[["study", "yi", "vi"]]], ignore_index=True)
    path = tmp_path / "combined.csv"
    combined.to_csv(path, index=False, float_format="%.17g")
    code, out, err = run(["fit", str(path), "--study", "study", "--format", "json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    es = EffectSizeTable.from_arrays(
        combined["yi"].to_numpy(), vi=combined["vi"].to_numpy(),
        study=list(combined["study"]), measure="MD",
    )  # fmt: skip
    want = meta_analysis(es, method="REML", test="z").to_dict()
    assert got["k"] == primary.k + 1 == want["k"]
    for key in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "q", "i2", "p_value"):
        assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-14), key


# ------------------------------------------------------------------ into the report
class _PrimaryTable(HTMLParser):
    """Rows of the first table of ``<section id="primary">``: cell texts and data-keys."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, Any]] = []
        self.claims: dict[str, str] = {}
        self._section: str | None = None
        self._tables = 0
        self._in_table = False
        self._cell: list[str] | None = None
        self._key: str | None = None
        self._claim: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id")
        elif tag == "table" and self._section == "primary":
            self._tables += 1
            self._in_table = self._tables == 1
        elif tag == "tr" and self._in_table:
            self.rows.append({"cells": [], "keys": {}})
        elif tag == "td" and self._in_table:
            self._cell = []
        elif tag == "span" and a.get("data-key") and self._in_table:
            self._key = str(a["data-key"])
        elif tag == "span" and a.get("data-claim"):
            self._claim = str(a["data-claim"])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._key is not None:
            name = self._key.rsplit(".", 1)[-1]
            self.rows[-1]["keys"][name] = self.rows[-1]["keys"].get(name, "") + data
        if self._claim is not None:
            self.claims[self._claim] = self.claims.get(self._claim, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._key = self._claim = None
        elif tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._in_table = False


@pytest.fixture(scope="module")
def reports(row_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from alsmeta.cli import main

    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for name, extra in (("with", ["--trial", str(row_csv)]), ("without", [])):
        path = folder / f"{name}.html"
        assert (
            main(
                [
                    "report",
                    "--power-reps",
                    str(POWER_REPS),
                    *extra,
                    "--generated-at",
                    FIXED,
                    "-o",
                    str(path),
                ]
            )
            == 0
        )
        out[name] = path.read_text(encoding="utf-8")
    return out


def test_report_lists_the_trial_beside_oh2018(row_csv: Path, reports: dict[str, str]) -> None:
    parser = _PrimaryTable()
    parser.feed(reports["with"])
    labels = [r["cells"][0] for r in parser.rows if r["cells"]]
    oh = next(i for i, label in enumerate(labels) if label.startswith("Oh2018"))
    mine = next(i for i, label in enumerate(labels) if label.startswith("My trial"))
    assert MARK in labels[mine] and labels[mine].endswith("6 mo")
    assert MARK not in labels[oh]
    user = pd.read_csv(row_csv).iloc[0]
    keys = [r["keys"] for r in parser.rows if r["cells"]][mine]
    se = math.sqrt(user["vi"])
    assert keys["estimate"] == fmt_num(user["yi"])
    assert keys["ci_lower"] == fmt_num(user["yi"] - Z95 * se)
    assert keys["ci_upper"] == fmt_num(user["yi"] + Z95 * se)
    assert (keys["n1"], keys["n2"]) == (f"{user['n1i']:.0f}", f"{user['n2i']:.0f}")


def test_report_pools_the_trial_and_says_where_it_came_from(
    row_csv: Path, reports: dict[str, str]
) -> None:
    from alsmeta.report import build_report, read_report_input

    model = build_report(
        read_report_input(trials=[row_csv]), generated_at=FIXED, power_reps=POWER_REPS
    )
    primary = primary_effect_sizes(load_evidence())
    user = pd.read_csv(row_csv)
    es = EffectSizeTable.from_arrays(
        np.r_[primary.yi, user["yi"]], vi=np.r_[primary.vi, user["vi"]], measure="MD"
    )
    want = meta_analysis(es, method="REML", test="z").to_dict()
    got = model.analyses["primary"].to_dict()
    for key in ("k", "estimate", "se", "tau2", "ci_lower", "ci_upper"):
        assert got[key] == pytest.approx(want[key], rel=1e-10), key
    assert model.numbers()["primary.estimate"] == fmt_num(want["estimate"])
    html = reports["with"]
    assert "from the user&#39;s own data (--trial) added to the primary meta-analysis" in html
    assert "This includes 1 trial from the user&#39;s own patient-level data" in html
    assert "ancova_change_at_month" in html
    assert "The verdicts use the bundled evidence only" in html
    assert str(row_csv) in html  # provenance


def test_claims_are_not_changed_by_the_trial(reports: dict[str, str]) -> None:
    with_trial, without = _PrimaryTable(), _PrimaryTable()
    with_trial.feed(reports["with"])
    without.feed(reports["without"])
    assert with_trial.claims and with_trial.claims == without.claims


def test_report_without_trial_is_unchanged(reports: dict[str, str]) -> None:
    from alsmeta.report import build_report, render_report

    assert MARK not in reports["without"]
    assert "--trial" not in reports["without"]
    assert reports["without"] == render_report(
        build_report(generated_at=FIXED, power_reps=POWER_REPS)
    )


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("name,yi,vi\nA,1,0.5\n", "column 'study'"),
        ("study,yi,vi\nA,1,0.5\nB,x,0.5\n", "row 2, study 'B', column 'yi'"),
        ("study,yi,vi\nA,1,-0.5\n", "row 1, study 'A', column 'vi'"),
        ("study,yi,vi,outcome\nA,0.2,0.01,alsfrs_r_slope\n", "row 1, study 'A', column 'outcome'"),
        ("study,yi,vi,measure\nA,0.2,0.01,SMD\n", "row 1, study 'A', column 'measure'"),
        ("study,yi,vi\nA,1,0.5\nA,2,0.5\n", "row 2, study 'A', column 'study'"),
        ("study,yi,vi,followup_months\nA,1,0.5,-6\n", "row 1, study 'A', column 'followup_months'"),
    ],
)
def test_bad_trial_files_exit_2_naming_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, where: str
) -> None:
    path = tmp_path / "trial.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "report.html"
    code, _, err = run(
        ["report", "--power-reps", str(POWER_REPS), "--trial", str(path), "-o", str(out)], capsys
    )
    assert code == 2
    assert f"alsmeta: error: {where}" in err
    assert str(path) in err
    assert not out.exists()


def test_missing_trial_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code, _, err = run(
        [
            "report",
            "--power-reps",
            str(POWER_REPS),
            "--trial",
            str(tmp_path / "nope.csv"),
            "-o",
            str(out),
        ],
        capsys,
    )
    assert code == 2
    assert "file not found" in err
    assert not out.exists()
