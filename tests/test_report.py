"""``alsmeta report``: the numbers in the HTML are the analyses' ``to_dict()`` numbers, the
file is self-contained, user text is escaped, output is byte-identical for a fixed
timestamp, and the command line writes the file (exit 0) or refuses bad input (exit 2)."""

from __future__ import annotations

import math
import re
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
from alsmeta.report import (
    build_report,
    primary_effect_sizes,
    read_report_input,
    render_report,
)
from alsmeta.report.build import claim_number_text, fmt_num, fmt_p

FIXED = "2026-01-01T00:00:00+00:00"
#: Few simulated trials in the power section: its numbers are tested in test_report_power.
POWER_REPS = 20


class _Numbers(HTMLParser):
    """Collect the text of every element with a ``data-key``, and every link and source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.numbers: dict[str, list[str]] = {}
        self.verdicts: dict[str, str] = {}
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self._open: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href") is not None:
            self.hrefs.append(str(a["href"]))
        for name in ("src", "xlink:href", "href"):
            if tag != "a" and a.get(name):
                self.srcs.append(f"{tag} {name}={a[name]}")
        if "data-key" in a:
            self._open.append(("key", str(a["data-key"]), []))
        elif "data-claim" in a:
            self._open.append(("claim", str(a["data-claim"]), []))

    def handle_data(self, data: str) -> None:
        for _, _, parts in self._open:
            parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open:
            kind, key, parts = self._open.pop()
            text = "".join(parts).strip()
            if kind == "key":
                self.numbers.setdefault(key, []).append(text)
            else:
                self.verdicts[key] = text


def parse(html: str) -> _Numbers:
    parser = _Numbers()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def bundled() -> tuple[Any, str, _Numbers]:
    model = build_report(generated_at=FIXED, power_reps=POWER_REPS)
    html = render_report(model)
    return model, html, parse(html)


def number(parsed: _Numbers, key: str) -> str:
    values = parsed.numbers.get(key)
    assert values, f"no element with data-key={key!r} in the report"
    assert len(set(values)) == 1, f"{key} shown with different values: {values}"
    return values[0]


# ------------------------------------------------------------------ numbers
def test_primary_meta_analysis_numbers_equal_to_dict(bundled: tuple[Any, str, _Numbers]) -> None:
    _, _, parsed = bundled
    es = primary_effect_sizes(load_evidence())
    d = meta_analysis(es, method="REML", test="z", level=0.95).to_dict()
    assert number(parsed, "primary.k") == str(d["k"])
    for key in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "se", "tau2", "q"):
        assert number(parsed, f"primary.{key}") == fmt_num(d[key]), key
    assert number(parsed, "primary.p_value") == fmt_p(d["p_value"])
    kh = meta_analysis(es, method="REML", test="knha", level=0.95).to_dict()
    for key in ("ci_lower", "ci_upper", "q_df"):
        assert number(parsed, f"primary_knha.{key}") == (
            str(kh[key]) if key == "q_df" else fmt_num(kh[key])
        ), key
    assert number(parsed, "primary.q_p_value") == fmt_p(d["q_p_value"])
    assert number(parsed, "primary.i2") == f"{d['i2']:.0f}%"
    assert number(parsed, "summary.abs_estimate") == fmt_num(abs(d["estimate"]))


def test_oh2018_six_month_row_shows_the_published_ci(bundled: tuple[Any, str, _Numbers]) -> None:
    model, _, parsed = bundled
    labels = list(model.analyses["primary"].es.study)
    i = next(j for j, label in enumerate(labels) if label.startswith("Oh2018"))
    assert "6 mo" in labels[i]
    row = f"primary.forest.rows.{i}"
    assert number(parsed, f"{row}.estimate") == "3.38"
    assert number(parsed, f"{row}.ci_lower") == "1.23"
    assert number(parsed, f"{row}.ci_upper") == "5.54"
    assert number(parsed, f"{row}.n1") == "31"
    assert number(parsed, f"{row}.n2") == "25"


def test_forest_figure_draws_the_same_oh2018_text(bundled: tuple[Any, str, _Numbers]) -> None:
    from alsmeta import plots

    model, _, _ = bundled
    spec = next(s for s in model.figures if s.name == "primary_forest")
    ax = getattr(plots, spec.function)(*spec.args, **spec.kwargs)
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "estimate_ci"]
    assert "3.38 [1.23, 5.54]" in texts
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "label"]
    assert any(label.startswith("Oh2018") for label in labels)


def test_sensitivity_fits_equal_to_dict(bundled: tuple[Any, str, _Numbers]) -> None:
    model, _, parsed = bundled
    keys = [k for k in model.analyses if k.startswith("sensitivity.")]
    assert keys, "the bundled Cudkowicz 2022 subgroups give a sensitivity table"
    estimates = []
    for key in keys:
        d = model.analyses[key].to_dict()
        estimates.append(d["estimate"])
        assert number(parsed, f"{key}.estimate") == fmt_num(d["estimate"])
        assert number(parsed, f"{key}.ci_lower") == fmt_num(d["ci_lower"])
    estimates.append(model.analyses["primary"].estimate)
    assert number(parsed, "sensitivity.range.low") == fmt_num(min(estimates))
    assert number(parsed, "sensitivity.range.high") == fmt_num(max(estimates))


def test_grade_and_sign_test_numbers_equal_to_dict(bundled: tuple[Any, str, _Numbers]) -> None:
    model, html, parsed = bundled
    sof = model.analyses["grade"].to_dict()["sof_row"]
    assert number(parsed, "grade.estimate") == fmt_num(sof["estimate"])
    assert number(parsed, "grade.ci_lower") == fmt_num(sof["ci_lower"])
    assert number(parsed, "grade.ci_upper") == fmt_num(sof["ci_upper"])
    assert number(parsed, "grade.n_studies") == str(sof["n_studies"])
    statement = model.analyses["grade"].sof_row(intervention="cell therapy")["statement"]
    assert _escaped(statement) in html
    st = model.analyses["sign_test"].to_dict()
    for key in ("n_benefit", "n_harm", "n_no_effect"):
        assert number(parsed, f"sign_test.{key}") == str(st[key])
    assert number(parsed, "sign_test.p_value") == fmt_p(st["p_value"])
    assert number(parsed, "sign_test.proportion_benefit") == fmt_num(st["proportion_benefit"])


def test_subgroups_say_plainly_when_there_are_too_few_trials(
    bundled: tuple[Any, str, _Numbers],
) -> None:
    model, html, parsed = bundled
    sections = {s["by"]: s for s in model.to_dict()["subgroups"]}
    assert set(sections) == {"route", "cell_type", "followup_class"}
    for by, section in sections.items():
        if section["available"]:
            d = model.analyses[f"subgroups.{by}"].to_dict()
            assert number(parsed, f"subgroups.{by}.q_between") == fmt_num(d["q_between"])
        else:
            assert "Too few trials" in section["note"]
            assert section["note"] in html


def test_responders_are_shown_and_not_pooled_from_one_trial(
    bundled: tuple[Any, str, _Numbers],
) -> None:
    model, _, parsed = bundled
    section = model.to_dict()["responders"]
    assert section["available"]
    if not section["poolable"]:
        assert "cannot be pooled" in section["note"]
        assert "responders" not in model.analyses
    frame = load_evidence().effect_size_frame("alsfrs_responder", "OR")
    row = frame[(frame["design"] == "RCT") & frame["reason"].isna()].iloc[0]
    key = f"responders.{row['outcome_id']}.or"
    assert number(parsed, key) == fmt_num(math.exp(row["yi"]))


def test_every_claim_has_its_verdict_and_numbers(bundled: tuple[Any, str, _Numbers]) -> None:
    model, _, parsed = bundled
    claims = model.to_dict()["claims"]
    try:
        from alsmeta.evidence.claims import evaluate_claims
    except ImportError:
        assert not claims["available"]
        assert "not available" in claims["note"]
        assert not parsed.verdicts
        return
    verdicts = evaluate_claims(load_evidence())
    assert claims["available"]
    assert len(parsed.verdicts) == len(verdicts)
    for v in verdicts:
        d = v.to_dict()
        assert parsed.verdicts[d["claim_id"]] == d["verdict"]

        def walk(prefix: str, value: Any, claim_id: str = d["claim_id"]) -> None:
            if isinstance(value, dict):
                for k, v2 in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v2)
            elif isinstance(value, list):
                for j, v2 in enumerate(value):
                    walk(f"{prefix}.{j}", v2)
            else:
                key = f"claims.{claim_id}.numbers.{prefix}"
                assert number(parsed, key) == claim_number_text(prefix, value), key

        walk("", d["numbers"])


def test_claims_missing_gives_an_explicit_note_and_no_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_claims(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "alsmeta.evidence.claims":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_claims)
    model = build_report(generated_at=FIXED, power_reps=POWER_REPS)
    claims = model.to_dict()["claims"]
    assert not claims["available"]
    assert claims["note"].startswith("Claims are not available")
    assert claims["items"] == []


def test_not_computed_lists_every_unconverted_outcome(bundled: tuple[Any, str, _Numbers]) -> None:
    model, html, _ = bundled
    frame = load_evidence().not_converted()
    rows = model.to_dict()["not_computed"]["rows"]
    assert [r["outcome_id"] for r in rows] == list(frame["outcome_id"])
    for reason in frame["reason"]:
        assert _escaped(reason) in html


def _escaped(text: str) -> str:
    """``text`` as Jinja2's autoescape writes it."""
    from markupsafe import escape

    return str(escape(text))


def test_provenance_records_version_hash_options_and_timestamp(
    bundled: tuple[Any, str, _Numbers],
) -> None:
    import hashlib
    from importlib import resources

    import alsmeta

    _, html, _ = bundled
    raw = resources.files("alsmeta.evidence.data").joinpath("als_trials.yaml").read_bytes()
    assert hashlib.sha256(raw).hexdigest() in html
    assert FIXED in html
    assert f"alsmeta {alsmeta.__version__}" in html
    assert "option method" in html and "REML" in html


def test_summary_counts_come_from_the_evidence(bundled: tuple[Any, str, _Numbers]) -> None:
    _, _, parsed = bundled
    evidence = load_evidence()
    assert number(parsed, "summary.n_studies") == str(len(evidence.studies))
    assert number(parsed, "summary.n_randomised") == str(
        sum(1 for s in evidence.studies if s.randomised)
    )
    assert number(parsed, "summary.n_rct") == str(
        sum(1 for s in evidence.studies if s.design == "RCT")
    )


# ------------------------------------------------------------------ self-contained
def test_report_references_nothing_external(bundled: tuple[Any, str, _Numbers]) -> None:
    model, html, parsed = bundled
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "<iframe" not in lowered and "<object" not in lowered and "<embed" not in lowered
    assert not re.search(r"""\ssrc\s*=""", lowered)
    for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html):
        assert target.startswith("#"), f"url({target}) is not an in-page reference"
    for attr in parsed.srcs:
        assert "=#" in attr, f"non-local reference {attr}"
    evidence = load_evidence()
    sources = {s.source.url for s in evidence.studies} | {o.source.url for o in evidence.outcomes}
    # The power section cites the sources of its assumptions (MCID survey, natural history).
    sources |= {ref["href"] for ref in model.to_dict()["power"]["references"]}
    for href in parsed.hrefs:
        assert href.startswith("#") or href in sources, f"unexpected link {href}"
    assert any(h.startswith("https://") for h in parsed.hrefs)


def test_user_study_names_are_escaped(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    csv_path = tmp_path / "evil.csv"
    csv_path.write_text(
        "study,yi,vi,route,source_url\n"
        f'"{evil} A",1.0,0.5,intrathecal,javascript:alert(1)\n'
        f'"B {evil}",2.0,0.4,"<b>iv</b>",https://example.org/b\n',
        encoding="utf-8",
    )
    html = render_report(
        build_report(read_report_input(csv_path), generated_at=FIXED, power_reps=POWER_REPS)
    )
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "<b>iv</b>" not in html
    assert 'href="javascript:' not in html

    raw, _ = read_evidence_file()
    raw["studies"][0]["citation"] = f"{evil} Oh KW"
    yaml_path = tmp_path / "evil.yaml"
    yaml_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    html = render_report(
        build_report(read_report_input(yaml_path), generated_at=FIXED, power_reps=POWER_REPS)
    )
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Oh KW" in html


def test_effect_size_csv_input_pools_every_row(tmp_path: Path) -> None:
    csv_path = tmp_path / "es.csv"
    csv_path.write_text(
        "study,yi,vi,route,followup_months\n"
        "A,1.0,0.5,intrathecal,6\nB,2.0,0.4,intrathecal,6\n"
        "C,0.5,0.3,intravenous,12\nD,0.1,0.35,intravenous,12\n",
        encoding="utf-8",
    )
    model = build_report(read_report_input(csv_path), generated_at=FIXED, power_reps=POWER_REPS)
    html = render_report(model)
    parsed = parse(html)
    d = model.analyses["primary"].to_dict()
    assert d["k"] == 4
    assert number(parsed, "primary.estimate") == fmt_num(d["estimate"])
    for by in ("route", "followup_class"):
        sub = model.analyses[f"subgroups.{by}"].to_dict()
        assert number(parsed, f"subgroups.{by}.q_between") == fmt_num(sub["q_between"])
        assert number(parsed, f"subgroups.{by}.q_between_p_value") == fmt_p(
            sub["q_between_p_value"]
        )
        for i, group in enumerate(sub["subgroups"]):
            key = f"subgroups.{by}.groups.{i}.estimate"
            assert number(parsed, key) == fmt_num(group["estimate"])
    assert "Too few trials to compare subgroups by cell type" not in html
    assert not model.to_dict()["claims"]["available"]
    assert "not available" in model.to_dict()["claims"]["note"]


# ------------------------------------------------------------------ determinism
def test_byte_identical_for_a_fixed_timestamp() -> None:
    first = render_report(build_report(generated_at=FIXED, power_reps=POWER_REPS)).encode("utf-8")
    second = render_report(build_report(generated_at=FIXED, power_reps=POWER_REPS)).encode("utf-8")
    assert first == second


# ------------------------------------------------------------------ command line
def test_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = main(
        ["report", "--power-reps", str(POWER_REPS), "-o", str(out), "--generated-at", FIXED]
    )
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert out.is_file()
    assert str(out.resolve()) in stdout
    assert "alsmeta report: running the analyses" in stderr
    assert "alsmeta: error" not in stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert out.read_bytes() == render_report(
        build_report(generated_at=FIXED, power_reps=POWER_REPS)
    ).encode("utf-8")


def test_cli_subprocess_output_is_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alsmeta",
            "report",
            "--power-reps",
            str(POWER_REPS),
            "-o",
            str(out),
            "--generated-at",
            FIXED,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "report written to" in proc.stdout
    in_process = tmp_path / "b.html"
    assert (
        main(
            [
                "report",
                "--power-reps",
                str(POWER_REPS),
                "-o",
                str(in_process),
                "--generated-at",
                FIXED,
            ]
        )
        == 0
    )
    assert out.read_bytes() == in_process.read_bytes()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ("studies: 3\noutcomes: []\n", "bad.yaml"),
        ("studies: [\n", "broken.yaml"),
        ("a,b\n1,2\n", "no_yi.csv"),
        ("study,yi,vi\nA,1.0,-0.5\n", "negative_vi.csv"),
    ],
)
def test_cli_bad_evidence_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, name: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "report.html"
    code = main(
        ["report", "--power-reps", str(POWER_REPS), "--evidence", str(path), "-o", str(out)]
    )
    _, stderr = capsys.readouterr()
    assert code == 2
    assert "alsmeta: error:" in stderr
    assert not out.exists()


def test_cli_missing_file_and_bad_timestamp_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                "--power-reps",
                str(POWER_REPS),
                "--evidence",
                str(tmp_path / "nope.yaml"),
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "file not found" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "--power-reps",
                str(POWER_REPS),
                "--generated-at",
                "yesterday",
                "-o",
                str(out),
            ]
        )
        == 2
    )
    assert "ISO 8601" in capsys.readouterr().err
    assert not out.exists()


def test_element_ids_are_unique_and_every_reference_resolves(
    bundled: tuple[Any, str, _Numbers],
) -> None:
    # Several inline SVGs in one page: each figure's ids are prefixed and de-duplicated.
    _, html, _ = bundled
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    refs = re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html)
    assert set(refs) <= set(ids)


# ------------------------------------------------------------------ sparse inputs
def test_one_study_csv_gives_a_report_without_knapp_hartung(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("study,yi,vi\nA,2.0,0.5\n", encoding="utf-8")
    model = build_report(read_report_input(path), generated_at=FIXED, power_reps=0)
    html = render_report(model)
    assert model.analyses["primary"].k == 1
    assert "primary_knha" not in model.analyses
    assert "Knapp–Hartung method" not in html


def test_evidence_without_randomised_trials_gives_a_report(tmp_path: Path) -> None:
    raw, _ = read_evidence_file()
    rct = {s["study_id"] for s in raw["studies"] if s.get("design") == "RCT"}
    raw["studies"] = [s for s in raw["studies"] if s["study_id"] not in rct]
    raw["outcomes"] = [o for o in raw["outcomes"] if o["study_id"] not in rct]
    path = tmp_path / "no_rct.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    model = build_report(read_report_input(path), generated_at=FIXED, power_reps=0)
    html = render_report(model)
    assert "primary" not in model.analyses
    assert "<h2>Methods</h2>" in html
