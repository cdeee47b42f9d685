"""The report's "What would a definitive trial need?": its numbers are the ``PowerResult``
numbers, its effects come from the report's own primary meta-analysis, it says why when
there is none, ``--power-reps 0`` skips it, and the page stays byte-identical.

Few simulated trials per scenario (``REPS``) keep the tests fast; the numbers are checked
against the result objects, whatever their Monte Carlo error.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("jinja2", reason="the report needs the 'report' extra (jinja2)")
pytest.importorskip("matplotlib", reason="the report needs matplotlib (the 'plot' extra)")

from alsmeta.cli import main
from alsmeta.evidence import load_evidence, read_evidence_file
from alsmeta.meta import meta_analysis
from alsmeta.report import build as report_build
from alsmeta.report import build_report, primary_effect_sizes, read_report_input, render_report
from alsmeta.report.build import POWER_OPTIONS, _percent, fmt_num
from alsmeta.simulate import (
    D50Progression,
    TreatmentEffect,
    TrialDesign,
    effect_from_meta,
    expected_difference,
    power_curve,
)

FIXED = "2026-01-01T00:00:00+00:00"
REPS = 40
HEADING = "What would a definitive trial need?"


class _Page(HTMLParser):
    """Every ``data-key`` number, the ``<h2>`` headings in order, and the contents links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.numbers: dict[str, list[str]] = {}
        self.headings: list[str] = []
        self.hrefs: list[str] = []
        self._keys: list[tuple[str, list[str]]] = []
        self._h2: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
        if tag == "h2":
            self._h2 = []
        if "data-key" in a:
            self._keys.append((str(a["data-key"]), []))

    def handle_data(self, data: str) -> None:
        for _, parts in self._keys:
            parts.append(data)
        if self._h2 is not None:
            self._h2.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._keys:
            key, parts = self._keys.pop()
            self.numbers.setdefault(key, []).append("".join(parts).strip())
        if tag == "h2" and self._h2 is not None:
            self.headings.append("".join(self._h2).strip())
            self._h2 = None


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def number(page: _Page, key: str) -> str:
    values = page.numbers.get(key)
    assert values, f"no element with data-key={key!r} in the report"
    assert len(set(values)) == 1, f"{key} shown with different values: {values}"
    return values[0]


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture(scope="module")
def bundled() -> tuple[Any, str, _Page]:
    model = build_report(generated_at=FIXED, power_reps=REPS)
    html = render_report(model)
    return model, html, parse(html)


def _needed_text(res: Any) -> str:
    """The report's "patients per arm for 80% power", worked out here from sample_size."""
    row = res.sample_size(0.8, column="power_favourable").iloc[0]
    grid = sorted(POWER_OPTIONS["n_per_arm"])
    if not math.isfinite(row["n_per_arm_simulated"]):
        return f"more than {grid[-1]}"
    if row["n_per_arm_simulated"] == grid[0]:
        return f"{grid[0]} or fewer"
    return str(math.ceil(row["n_per_arm_interpolated"]))


# ------------------------------------------------------------------ the section
def test_section_has_its_heading_after_grade_and_in_the_contents(
    bundled: tuple[Any, str, _Page],
) -> None:
    _, html, page = bundled
    assert HEADING in page.headings
    at = page.headings.index(HEADING)
    assert page.headings[at - 1] == "Summary of findings (GRADE)"
    assert page.headings[at + 1] == "Methods"
    assert "#power" in page.hrefs
    body = section(html, "power")
    assert '<figure id="figure-power_curve">' in body and "<svg " in body
    assert "Castrillo-Viguera" in body
    assert "https://www.semanticscholar.org/paper/640eb7cc7da89d964193403e63ab644aac834c5e" in body
    for words in ("modelling assumptions", "solved by Brent", "seed", "from 2 trials"):
        assert words in body, words


def test_numbers_equal_the_power_results(bundled: tuple[Any, str, _Page]) -> None:
    model, _, page = bundled
    for name in ("pooled", "predictive", "mcid"):
        res = model.analyses[f"power.{name}"]
        rows = res.to_dict()
        assert [r["n_per_arm"] for r in rows] == list(POWER_OPTIONS["n_per_arm"])
        for i, row in enumerate(rows):
            assert row["reps"] == REPS
            prefix = f"power.{name}.rows.{i}"
            if name == "pooled":  # the table shows the sizes once, from the first scenario
                assert number(page, f"{prefix}.n_per_arm") == str(row["n_per_arm"])
            # power: significant in favour of cell therapy
            for key, column in (
                ("power", "power_favourable"),
                ("power_ci_lower", "power_favourable_ci_lower"),
                ("power_ci_upper", "power_favourable_ci_upper"),
            ):
                assert number(page, f"{prefix}.{key}") == fmt_num(row[column]), (prefix, key)
        assert number(page, f"power.{name}.n_needed") == _needed_text(res), name
        reached = res.sample_size(0.8, column="power_favourable").iloc[0]["n_per_arm_simulated"]
        want = f"{reached:.0f}" if math.isfinite(reached) else "none up to 400"
        assert number(page, f"power.{name}.n_needed_simulated") == want, name
    null = model.analyses["power.pooled"].to_dict()
    for i, row in enumerate(null):
        assert row["type1_error"] is not None
        for key in ("type1_error", "type1_error_ci_lower", "type1_error_ci_upper"):
            assert number(page, f"power.pooled.rows.{i}.{key}") == fmt_num(row[key], 3)
    assert number(page, "power.reps") == str(REPS)
    assert number(page, "power.seed") == str(POWER_OPTIONS["seed"])


def test_effects_come_from_the_primary_meta_analysis(bundled: tuple[Any, str, _Page]) -> None:
    model, _, page = bundled
    fit = meta_analysis(primary_effect_sizes(load_evidence()), method="REML", test="z")
    assert model.analyses["primary"].estimate == pytest.approx(fit.estimate, rel=1e-12)
    d50 = D50Progression()
    pooled = effect_from_meta(model.analyses["primary"], months=6.0, predictive=False, model=d50)
    predictive = effect_from_meta(model.analyses["primary"], months=6.0, model=d50)
    assert model.analyses["power.effect.pooled"] == pooled
    assert model.analyses["power.effect.predictive"] == predictive
    # the simulated trial reproduces the pooled MD at six months
    assert expected_difference(d50, pooled, months=6.0) == pytest.approx(fit.estimate, abs=1e-6)
    assert pooled.scale == predictive.scale == "percent"
    assert model.analyses["power.effect.mcid"] == TreatmentEffect(
        mean=0.20, scale="percent", source=model.analyses["power.effect.mcid"].source
    )
    for name, effect in (("pooled", pooled), ("predictive", predictive)):
        frame = model.analyses[f"power.{name}"].scenarios
        assert (frame["effect"] == effect.mean).all()
        assert (frame["effect_sd"] == effect.sd).all()
    assert predictive.sd > 0
    assert number(page, "power.effect.pooled.percent") == _percent(pooled.mean)
    assert number(page, "power.effect.predictive.sd_percent") == _percent(predictive.sd)
    mcid_md = expected_difference(d50, 0.2, months=6.0, scale="percent")
    assert number(page, "power.effect.mcid.md") == fmt_num(mcid_md)
    assert number(page, "power.meta.k") == str(fit.k)
    assert number(page, "power.meta.estimate") == fmt_num(fit.estimate)


def test_simulation_is_the_stated_design_and_seed(bundled: tuple[Any, str, _Page]) -> None:
    model, _, _ = bundled
    o = POWER_OPTIONS
    design = TrialDesign(
        design=o["design"],
        follow_up_months=o["follow_up_months"],
        visit_interval_months=o["visit_interval_months"],
    )
    again = power_curve(
        list(o["n_per_arm"]), [TreatmentEffect(mean=0.20, scale="percent")], design=design,
        endpoint="slope", reps=REPS, seed=o["seed"], alpha=o["alpha"],
        chunk_size=o["chunk_size"],
    )  # fmt: skip
    got = model.analyses["power.mcid"].to_dict()
    assert [r["power"] for r in got] == [r["power"] for r in again.to_dict()]


def test_plain_words_and_provenance(bundled: tuple[Any, str, _Page]) -> None:
    model, html, page = bundled
    body = section(html, "power")
    needed = {n: number(page, f"power.{n}.n_needed") for n in ("pooled", "predictive", "mcid")}
    assert "If the true effect of cell therapy were as large as the two trials suggest" in body
    assert "smallest effect that clinicians call meaningful" in body
    summary = section(html, "summary")
    assert "What would a new trial need?" in summary
    assert 'data-key="power.pooled.n_needed"' in summary
    options = {o["name"]: o["value"] for o in model.to_dict()["provenance"]["options"]}
    assert options["power_reps"] == str(REPS)
    assert options["power_seed"] == str(POWER_OPTIONS["seed"])
    assert all(needed.values())
    assert any(f"{REPS} simulated trials per scenario" in p for p in model.to_dict()["methods"])


# ------------------------------------------------------------------ single-arm studies
SINGLE_ARM = ("linear_all", "linear_enriched", "d50_all", "d50_enriched")


def test_single_arm_studies_are_simulated_as_stated(bundled: tuple[Any, str, _Page]) -> None:
    from alsmeta.simulate import D50Progression, LinearProgression

    model, _, _ = bundled
    o = POWER_OPTIONS
    for name in SINGLE_ARM:
        res = model.analyses[f"power.single_arm.{name}"]
        kind, enrol = name.split("_")
        assert res.design == TrialDesign(
            design="single-arm-lead-in",
            follow_up_months=o["follow_up_months"],
            visit_interval_months=o["visit_interval_months"],
            lead_in_months=o["single_arm_lead_in_months"],
            min_lead_in_decline=o["single_arm_min_decline"] if enrol == "enriched" else None,
        )
        assert res.endpoint == "lead-in"
        assert res.model == (D50Progression() if kind == "d50" else LinearProgression())
        assert (res.scenarios["effect"] == 0.0).all()
        assert res.scenarios["n_per_arm"].tolist() == list(o["single_arm_n"])
        assert (res.scenarios["reps"] == REPS).all()
    # One of them rerun here: the same numbers.
    res = model.analyses["power.single_arm.linear_enriched"]
    again = power_curve(
        list(o["single_arm_n"]), [0.0], design=res.design, model=LinearProgression(),
        endpoint="lead-in", reps=REPS, seed=o["seed"], alpha=o["alpha"],
        chunk_size=o["chunk_size"],
    )  # fmt: skip
    assert again.scenarios["power_favourable"].tolist() == (
        res.scenarios["power_favourable"].tolist()
    )


def test_single_arm_table_and_plain_words_show_the_simulated_shares(
    bundled: tuple[Any, str, _Page],
) -> None:
    model, html, page = bundled
    o = POWER_OPTIONS
    middle = o["single_arm_n"][len(o["single_arm_n"]) // 2]
    shares = {}
    for name in SINGLE_ARM:
        for row in model.analyses[f"power.single_arm.{name}"].to_dict():
            key = f"power.single_arm.{name}.n{row['n_per_arm']}"
            for sfx in ("", "_ci_lower", "_ci_upper"):
                got = number(page, f"{key}.favourable{sfx}")
                assert got == fmt_num(row[f"power_favourable{sfx}"], 3), (key, sfx)
            if row["n_per_arm"] == middle:
                shares[name] = row["power_favourable"]
    # Regression to the mean: enrolling fast lead-in decliners "shows" slowing without any
    # effect, more often than chance (alpha / 2) allows, under linear natural history.
    assert shares["linear_enriched"] > o["alpha"] / 2
    low, high = min(shares.values()), max(shares.values())
    assert number(page, "power.single_arm.plain.high") == f"{100 * high:.0f}%"
    low_text = number(page, "power.single_arm.plain.low")
    assert float(low_text.rstrip("%")) == pytest.approx(100 * low, abs=0.5)
    body = section(html, "power")
    assert "And a study without a control group?" in body
    assert number(page, "power.single_arm.chance") == fmt_num(o["alpha"] / 2, 3)
    frame = load_evidence().to_frame()
    ids = sorted(set(frame.loc[frame["design"] == "single-arm with lead-in", "study_id"]))
    assert f"holds {len(ids)} single-arm studies with a lead-in" in body
    assert all(i in body for i in ids)


# ------------------------------------------------------------------ no meta-analysis
def test_no_primary_meta_analysis_says_why_and_shows_only_the_20_percent_scenario(
    tmp_path: Path,
) -> None:
    raw, _ = read_evidence_file()
    raw["outcomes"] = [o for o in raw["outcomes"] if o.get("endpoint") != "alsfrs_r_change"]
    path = tmp_path / "no_primary.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    model = build_report(read_report_input(path), generated_at=FIXED, power_reps=REPS)
    html = render_report(model)
    page = parse(html)
    assert "primary" not in model.analyses
    assert [k for k in model.analyses if k.startswith("power.") and ".single_arm." not in k] == [
        "power.effect.mcid",
        "power.mcid",
    ]
    assert len([k for k in model.analyses if k.startswith("power.single_arm.")]) == 4
    body = section(html, "power")
    assert "The effect of the existing trials cannot be used" in body
    assert "No randomised trial reports an ALSFRS-R change at about six months" in body
    assert "Only the comparison scenario, a 20% slowing of decline, is shown." in body
    assert not [k for k in page.numbers if k.startswith(("power.pooled", "power.predictive"))]
    res = model.analyses["power.mcid"]
    assert number(page, "power.mcid.n_needed") == _needed_text(res)
    for i, row in enumerate(res.to_dict()):  # the null run moves to the only scenario
        assert number(page, f"power.mcid.rows.{i}.power") == fmt_num(row["power"])
        assert number(page, f"power.mcid.rows.{i}.type1_error") == fmt_num(row["type1_error"], 3)
    notes = model.to_dict()["not_computed"]["notes"]
    assert any(n.startswith("Power of a new trial: no primary meta-analysis") for n in notes)


# ------------------------------------------------------------------ options
def test_power_reps_0_skips_the_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = main(["report", "--power-reps", "0", "--generated-at", FIXED, "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    body = section(html, "power")
    assert HEADING in body
    assert "This section was skipped" in body and "--power-reps 0" in body
    assert "<svg" not in body and "data-key" not in body
    assert "not simulated (--power-reps 0)" in section(html, "methods")
    assert "What would a new trial need?" not in section(html, "summary")


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_bad_power_reps_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--power-reps", value, "-o", str(out)]) == 2
    assert "--power-reps" in capsys.readouterr().err
    assert not out.exists()


def test_build_report_refuses_negative_reps() -> None:
    from alsmeta.errors import InputError

    with pytest.raises(InputError, match="--power-reps"):
        build_report(generated_at=FIXED, power_reps=-3)


# ------------------------------------------------------------------ determinism
def test_byte_identical_for_a_fixed_timestamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_build._POWER_CACHE.clear()  # simulate again, do not reuse the first results
    first = render_report(build_report(generated_at=FIXED, power_reps=REPS)).encode("utf-8")
    report_build._POWER_CACHE.clear()
    second = render_report(build_report(generated_at=FIXED, power_reps=REPS)).encode("utf-8")
    assert first == second
    # One process, one simulation after the other (no fork): the same bytes.
    report_build._POWER_CACHE.clear()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    serial = render_report(build_report(generated_at=FIXED, power_reps=REPS)).encode("utf-8")
    assert serial == first
    out = tmp_path / "sub.html"
    proc = subprocess.run(
        [sys.executable, "-m", "alsmeta", "report", "--power-reps", str(REPS),
         "--generated-at", FIXED, "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == first


# ------------------------------------------------------------------ robustness
def test_low_reps_are_flagged(bundled: tuple[Any, str, _Page]) -> None:
    _, html, _ = bundled
    assert f"Only {REPS} simulated trials per point" in section(html, "power")


def test_cache_keeps_what_a_build_needs_while_evicting(monkeypatch: pytest.MonkeyPatch) -> None:
    # More distinct jobs than the cache holds, with one job shared by every call: the
    # least recently used go, never one the current call returns.
    calls: list[Any] = []

    def fake(job: Any) -> Any:
        calls.append(job)
        return ("result", job.effect.mean, job.null)

    monkeypatch.setattr(report_build, "_run_power_job", fake)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # no fork: the fake runs here
    monkeypatch.setattr(report_build, "_POWER_CACHE", {})
    shared = report_build._PowerJob(effect=TreatmentEffect(mean=0.2, scale="percent"),
                                    null=False, reps=3)  # fmt: skip
    size = report_build._POWER_CACHE_SIZE
    for i in range(3 * size):
        own = report_build._PowerJob(effect=TreatmentEffect(mean=i / 100), null=True, reps=3)
        got = report_build._run_power_jobs([own, shared])
        assert got == [("result", i / 100, True), ("result", 0.2, False)]
        assert len(report_build._POWER_CACHE) <= size
    assert calls.count(shared) == 1  # simulated once, then always found in the cache


def test_single_arm_sentence_claims_a_bias_only_when_the_simulation_shows_one() -> None:
    low, high = (0.0, "design a"), (0.0, 0.0, "design b")
    text = "".join(
        p if isinstance(p, str) else p["text"]
        for p in report_build._single_arm_plain(20, low, high, 0.025, 1)
    )
    assert "none of these designs is clearly above chance" in text
    assert "decide the result" not in text
    high = (0.3, 0.2, "design b")
    text = "".join(
        p if isinstance(p, str) else p["text"]
        for p in report_build._single_arm_plain(20, low, high, 0.025, 200)
    )
    assert "decide the result as much as the cells do" in text
    assert "between 0.0% of cases (design a) and 30% (design b)" in text


def test_pooled_estimate_against_cell_therapy_is_listed_as_not_computed(tmp_path: Path) -> None:
    path = tmp_path / "harm.csv"
    path.write_text("study,yi,vi\nA,-2.0,0.5\nB,-1.0,0.8\n", encoding="utf-8")
    model = build_report(read_report_input(path), generated_at=FIXED, power_reps=4)
    html = render_report(model)
    body = section(html, "power")
    assert "does not favour cell therapy" in body
    assert "the assurance curve is dashed" not in body
    notes = model.to_dict()["not_computed"]["notes"]
    assert any("the pooled estimate does not favour cell therapy" in n for n in notes)
    assert not any("effect_from_meta" in a for a in model.to_dict()["power"]["assumptions"])


def test_an_md_the_model_cannot_produce_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("study,yi,vi\nA,40.0,0.5\nB,41.0,0.8\n", encoding="utf-8")
    model = build_report(read_report_input(path), generated_at=FIXED, power_reps=4)
    body = section(render_report(model), "power")
    assert "cannot be simulated" in body and "outside what the d50 model can produce" in body
    assert [k for k in model.analyses if k.startswith("power.") and "single_arm" not in k] == [
        "power.effect.mcid",
        "power.mcid",
    ]
