"""The bundled evidence base: validation, provenance of every number, effect sizes."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from scipy import stats

from alsmeta.effects import EffectSizeTable
from alsmeta.errors import InputError
from alsmeta.evidence import load_evidence, read_evidence_file, validate_evidence
from alsmeta.evidence.schema import CELL_TYPES, DESIGNS, ROUTES, Fact, Number

RESEARCH = Path(__file__).resolve().parents[1].parent / "shared" / "research"
CSV_PATH = RESEARCH / "als_trials.csv"
MD_PATH = RESEARCH / "als_trials.md"
needs_research = pytest.mark.skipif(
    not CSV_PATH.is_file(), reason="../shared/research/als_trials.csv is not available"
)
NUMERIC_COLUMNS = (
    "n_treat", "n_ctrl", "treat_mean", "treat_sd", "treat_se", "ctrl_mean", "ctrl_sd",
    "ctrl_se", "effect_reported", "ci_low", "ci_high", "p_value", "followup_months", "doses",
    "cells_per_dose",
)  # fmt: skip

SRC = {"url": "https://example.org/trial", "location": "Table 2"}


@pytest.fixture(scope="module")
def evidence() -> Any:
    return load_evidence()


def _walk(obj: Any) -> list[Number | Fact]:
    """Every Number and Fact inside a model, recursively."""
    found: list[Number | Fact] = []
    if isinstance(obj, Number | Fact):
        return [obj]
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found += _walk(getattr(obj, name))
    elif isinstance(obj, tuple | list):
        for item in obj:
            found += _walk(item)
    return found


def _numbers_in(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text.replace(",", ""))]


# ---------------------------------------------------------------------- the bundled data
def test_bundled_data_validates(evidence) -> None:
    raw, name = read_evidence_file()
    assert validate_evidence(raw) == []
    assert name == "bundled als_trials.yaml"
    assert len(evidence.studies) == 35
    assert len(evidence.outcomes) == 48


def test_categories_are_from_the_vocabularies(evidence) -> None:
    for s in evidence.studies:
        assert s.design in DESIGNS
        assert s.cell_type is None or s.cell_type in CELL_TYPES
        assert s.route is None or s.route in ROUTES


def test_every_number_has_a_source_and_its_text(evidence) -> None:
    for item in _walk(evidence.studies) + _walk(evidence.outcomes):
        assert item.source.url or item.source.doi
        assert item.source.location
        if isinstance(item, Number):
            assert item.reported, item
            # The value is one of the numbers printed in the reported text.
            assert any(math.isclose(item.value, x) for x in _numbers_in(item.reported)), item


@needs_research
def test_every_study_id_of_the_research_csv_is_an_outcome(evidence) -> None:
    with open(CSV_PATH, encoding="utf-8") as fh:
        ids = [row["study_id"] for row in csv.DictReader(fh)]
    assert sorted(o.outcome_id for o in evidence.outcomes) == sorted(ids)


@needs_research
def test_every_bundled_number_matches_the_research_files(evidence) -> None:
    """Each number's printed text comes from its CSV row (or the .md), and every non-empty
    numeric cell of the CSV is in the bundle: nothing invented, nothing dropped."""
    with open(CSV_PATH, encoding="utf-8") as fh:
        rows = {row["study_id"]: row for row in csv.DictReader(fh)}
    md_text = MD_PATH.read_text(encoding="utf-8").replace("**", "") if MD_PATH.is_file() else ""
    for o in evidence.outcomes:
        row = rows[o.outcome_id]
        row_text = " | ".join(row.values())
        study = evidence.study(o.study_id)
        items = _walk(o) + _walk(study)
        texts = {i.reported if isinstance(i, Number) else i.text for i in items}
        for item in _walk(o):
            text = item.reported if isinstance(item, Number) else item.text
            assert text in row_text or text in md_text, (o.outcome_id, text)
        for col in NUMERIC_COLUMNS:
            cell = row[col]
            if cell.strip():
                assert cell in texts, (o.outcome_id, col, cell)
        # Empty stays empty: standard per-arm cells that are empty have no number.
        arm = o.arm("treatment")
        if arm is not None and not row["treat_sd"]:
            assert arm.sd is None
        if not row["p_value"]:
            assert o.p_value is None
    for s in evidence.studies:
        for item in _walk(s):
            text = item.reported if isinstance(item, Number) else item.text
            study_rows = [
                r
                for r in rows.values()
                if r["study_id"]
                in {o.outcome_id for o in evidence.outcomes if o.study_id == s.study_id}
            ]
            assert any(text in " | ".join(r.values()) for r in study_rows) or text in md_text, (
                s.study_id,
                text,
            )


# ---------------------------------------------------------------------- effect sizes
def test_oh2018_six_month_row_reproduces_published_md(evidence) -> None:
    """Oh 2018, Table 3: MD 3.38 (95 % CI 1.23 to 5.54), SE 1.07, n 31 and 25.

    The row uses the trial's own MD with the SE from its CI by the Handbook's t rule
    (df = 31 + 25 - 2 = 54); that SE is the reported 1.07, and yi -/+ t(54) * SE gives back
    the published limits to their printed precision (the published centre is 3.385,
    printed as 3.38, so each limit is reproduced to within 0.005).
    """
    es = evidence.effect_sizes(outcome="Oh2018_ALSFRSR_chg_6mo")
    assert isinstance(es, EffectSizeTable) and es.k == 1
    yi, se = float(es.yi[0]), float(es.sei[0])
    assert yi == 3.38
    assert round(se, 2) == 1.07
    t = stats.t.ppf(0.975, 54)
    assert abs(yi - t * se - 1.23) <= 0.0051
    assert abs(yi + t * se - 5.54) <= 0.0051
    row = es.to_frame().iloc[0]
    assert row["conversion"] == "reported_md_ci+se_from_ci_t"
    assert "54 df" in row["assumptions"]
    assert row["design"] == "RCT" and row["route"] == "intrathecal"
    assert row["cell_type"] == "MSC, bone marrow" and bool(row["randomised"]) is True
    assert row["source_location"].startswith("Table 3")
    assert row["source_url"].endswith("ana25302-tbl-0003")


def test_effect_sizes_columns_and_sign(evidence) -> None:
    es = evidence.effect_sizes(outcome="alsfrs_r_change")
    assert es.k == 11 and es.measure == "MD"
    frame = es.to_frame()
    for col in (
        "design",
        "randomised",
        "cell_type",
        "route",
        "doses",
        "followup_months",
        "conversion",
        "assumptions",
        "source_url",
        "source_location",
        "study",
    ):
        assert col in frame.columns
    # Every ALSFRS-R change difference favours cell therapy in the sources: positive yi.
    assert (es.yi > 0).all()
    cud = frame[frame.study_id == "Cudkowicz2022"]
    assert len(cud) == 9 and set(cud.nesting_group) == {"Cudkowicz2022_week28_baseline_thresholds"}
    ge31 = frame.set_index("study").loc["Cudkowicz2022_ALSFRSR_chg_wk28_baselinege31"]
    assert ge31["conversion"] == "md_from_ls_means"
    vi = es.vi[list(es.study).index("Cudkowicz2022_ALSFRSR_chg_wk28_baselinege31")]
    assert vi == pytest.approx(0.89**2 + 0.86**2)


def test_lower_is_benefit_flips_the_sign() -> None:
    raw = _minimal()
    raw["outcomes"][0]["direction"] = "lower_is_benefit"
    ev = _load(raw)
    es = ev.effect_sizes()
    assert float(es.yi[0]) == pytest.approx(-(5.0 - 3.0))
    assert "control - treatment" in es.to_frame()["assumptions"][0]


def test_nothing_is_dropped_silently(evidence) -> None:
    es = evidence.effect_sizes()
    skipped = evidence.not_converted()
    assert es.k + len(skipped) == len(evidence.outcomes)
    assert skipped["reason"].notna().all()
    assert len(es.notes) == len(skipped)
    reasons = dict(zip(skipped.outcome_id, skipped.reason, strict=True))
    assert "binary" in reasons["Cudkowicz2022_primary_responder_28wk"]
    assert "no control arm" in reasons["Petrou2016_ph12_IT_slope"]
    assert "bound" in reasons["GeijoBarrientos2020_IM_BMMC"]
    assert reasons["Oh2015_phI"].startswith("safety")


def test_responder_odds_ratio(evidence) -> None:
    es = evidence.effect_sizes(outcome="alsfrs_responder", measure="OR")
    assert es.study == ("Cudkowicz2022_primary_responder_28wk",)
    assert float(es.yi[0]) == pytest.approx(math.log(1.33))
    se = math.log(1.33) / stats.norm.ppf(1 - 0.45 / 2)
    assert float(es.vi[0]) == pytest.approx(se**2)


def test_unknown_outcome_is_an_error(evidence) -> None:
    with pytest.raises(InputError, match="neither an endpoint nor an outcome_id"):
        evidence.effect_sizes(outcome="alsfrs_change_typo")
    with pytest.raises(InputError, match="measure"):
        evidence.effect_sizes(measure="SMD")


def test_to_frame_one_row_per_outcome(evidence) -> None:
    frame = evidence.to_frame()
    assert len(frame) == 48 and frame.outcome_id.is_unique
    oh = frame.set_index("outcome_id").loc["Oh2018_ALSFRSR_chg_4mo"]
    assert (oh.n_t, oh.mean_t, oh.sd_t, oh.n_c, oh.mean_c, oh.sd_c) == (
        32,
        -1.69,
        2.51,
        27,
        -4.67,
        3.25,
    )
    assert oh.p_value == 0.001 and oh.p_value_relation == "<"


# ---------------------------------------------------------------------- validation failures
def _minimal() -> dict[str, Any]:
    return {
        "studies": [
            {"study_id": "X2020", "citation": "X et al. 2020", "design": "RCT",
             "route": "intrathecal", "cell_type": "MSC, bone marrow", "source": dict(SRC)},
        ],
        "outcomes": [
            {"outcome_id": "X2020_chg", "study_id": "X2020", "definition": "ALSFRS-R change",
             "endpoint": "alsfrs_r_change", "direction": "higher_is_benefit",
             "arms": [
                 {"role": "treatment", "label": "MSC",
                  "n": {"value": 20, "source": dict(SRC)},
                  "mean": {"value": 5.0, "source": dict(SRC)},
                  "sd": {"value": 2.0, "source": dict(SRC)}},
                 {"role": "control", "label": "placebo",
                  "n": {"value": 20, "source": dict(SRC)},
                  "mean": {"value": 3.0, "source": dict(SRC)},
                  "sd": {"value": 2.5, "source": dict(SRC)}},
             ],
             "source": dict(SRC)},
        ],
    }  # fmt: skip


def _load(raw: dict[str, Any], tmp: Path | None = None) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "ev.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return load_evidence(path)


def test_minimal_file_loads_and_converts() -> None:
    es = _load(_minimal()).effect_sizes()
    assert es.k == 1 and float(es.yi[0]) == pytest.approx(2.0)
    assert float(es.vi[0]) == pytest.approx(2.0**2 / 20 + 2.5**2 / 20)
    assert es.to_frame()["conversion"][0] == "md_ls"


def test_validation_names_study_and_field_for_every_problem() -> None:
    raw = _minimal()
    del raw["outcomes"][0]["arms"][0]["mean"]["source"]  # number without source
    raw["studies"][0]["route"] = "intranasal"  # unknown route
    raw["outcomes"][0]["arms"][1]["sd"]["value"] = -2.5  # SD < 0
    raw["outcomes"][0]["p_value"] = {"value": 1.5, "source": dict(SRC)}
    raw["outcomes"][0]["effect"] = {
        "measure": "MD",
        "estimate": {"value": 2, "source": dict(SRC)},
        "ci_lower": {"value": 3, "source": dict(SRC)},
        "ci_upper": {"value": 1, "source": dict(SRC)},
    }
    raw["studies"][0]["followup"] = {"value": -1, "source": dict(SRC)}
    raw["outcomes"][0]["arms"][0]["n"]["value"] = 0
    problems = validate_evidence(raw)
    text = [str(p) for p in problems]
    assert all(p.study == "X2020" for p in problems), text
    by_column = {p.column: p.message for p in problems}
    assert "unknown route 'intranasal'" in by_column["route"]
    assert "'intrathecal'" in by_column["route"]  # lists the valid values
    assert "number without source" in by_column["outcome X2020_chg: arms[0].mean.source"]
    assert "must be >= 0" in by_column["outcome X2020_chg: arms[1].sd"]
    assert "p-value" in by_column["outcome X2020_chg: p_value"]
    assert "CI lower (3) is greater than upper (1)" in by_column["outcome X2020_chg: effect"]
    assert "follow-up" in by_column["followup"]
    assert "n must be >= 1" in by_column["outcome X2020_chg: arms[0].n"]
    assert len(problems) == 7
    with pytest.raises(InputError) as err:
        _load(raw)
    assert len(err.value.problems) == 7


def test_validation_of_ids_categories_and_structure() -> None:
    raw = _minimal()
    raw["studies"].append(dict(raw["studies"][0]))
    raw["outcomes"].append(dict(raw["outcomes"][0], study_id="Nope"))
    raw["outcomes"][0] = dict(raw["outcomes"][0], endpoint="quality_of_life", colour="red")
    raw["studies"][0] = dict(raw["studies"][0], design="case report")
    raw["extra"] = 1
    messages = [str(p) for p in validate_evidence(raw)]
    joined = "\n".join(messages)
    assert "duplicate study_id" in joined
    assert "duplicate outcome_id" in joined
    assert "study_id 'Nope' is not one of the studies" in joined
    assert "unknown endpoint 'quality_of_life'; valid: 'alsfrs_r_change'" in joined
    assert "unknown design 'case report'; valid: 'RCT'" in joined
    assert "unknown field 'colour'" in joined
    assert "unknown top-level key 'extra'" in joined
    assert validate_evidence([1, 2]) and "mapping" in str(validate_evidence([1, 2])[0])
    assert any("no 'outcomes' list" in str(p) for p in validate_evidence({"studies": []}))


def test_source_needs_url_or_doi_and_location() -> None:
    raw = _minimal()
    raw["outcomes"][0]["arms"][0]["sd"]["source"] = {"location": "Table 1"}
    raw["outcomes"][0]["arms"][1]["sd"]["source"] = {"doi": "10.1000/x"}
    by_column = {p.column: p.message for p in validate_evidence(raw)}
    assert "url or a doi" in by_column["outcome X2020_chg: arms[0].sd.source"]
    assert "location" in by_column["outcome X2020_chg: arms[1].sd.source.location"]


def test_effect_size_frame_has_its_columns_when_nothing_is_selected(tmp_path: Path) -> None:
    from alsmeta.evidence.base import EFFECT_SIZE_FRAME_COLUMNS

    raw, _ = read_evidence_file()
    raw["outcomes"] = [o for o in raw["outcomes"] if o["endpoint"] != "cafs"]
    path = tmp_path / "no_cafs.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    ev = load_evidence(path)
    full = ev.effect_size_frame("alsfrs_r_change", "MD")
    empty = ev.effect_size_frame("cafs", "MD")  # a known endpoint with no outcome left
    assert empty.empty
    assert list(empty.columns) == list(full.columns) == list(EFFECT_SIZE_FRAME_COLUMNS)
