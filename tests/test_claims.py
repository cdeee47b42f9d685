"""Claims: each verdict of each claim kind on small synthetic evidence where it is known.

The evidence sets are built through the evidence schema (plain dicts, validated by
:func:`~alsmeta.evidence.validate_evidence` and :class:`EvidenceFile`), with per-trial
mean differences and SEs chosen so that significance is obvious (``md / se`` far from
1.96), and the bundled claims evaluated on them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from alsmeta.errors import InputError
from alsmeta.evidence import load_evidence, validate_evidence
from alsmeta.evidence.base import EvidenceBase
from alsmeta.evidence.claims import (
    VERDICTS,
    Claim,
    Verdict,
    claims_from_records,
    evaluate_claim,
    evaluate_claims,
    load_claims,
)
from alsmeta.evidence.schema import EvidenceFile

SRC = {"url": "https://example.org/trial", "location": "Table 2"}
CLAIMS = {c.claim_id: c for c in load_claims()}


def num(value: float, **extra: Any) -> dict[str, Any]:
    return {"value": value, "source": dict(SRC), **extra}


def study(
    sid: str,
    *,
    md: float | None = 2.0,
    se: float | None = 0.5,
    significant: bool | None = None,
    p: float | None = None,
    design: str = "RCT",
    randomised: bool | None = True,
    route: str | None = "intrathecal",
    cell: str | None = "MSC, bone marrow",
    followup: float = 6.0,
    endpoint: str = "alsfrs_r_change",
    result: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One study and its one ALSFRS-R outcome (MD with SE, optional reported result)."""
    s: dict[str, Any] = {
        "study_id": sid, "citation": f"{sid} et al.", "design": design,
        "randomised": randomised, "route": route, "cell_type": cell,
        "followup": num(followup, unit="months"), "source": dict(SRC),
    }  # fmt: skip
    arms: list[dict[str, Any]] = [{"role": "treatment", "label": "cells", "n": num(40)}]
    if design != "single-arm":
        arms.append({"role": "control", "label": "placebo", "n": num(40)})
    o: dict[str, Any] = {
        "outcome_id": f"{sid}_alsfrs", "study_id": sid, "definition": "ALSFRS-R change",
        "endpoint": endpoint, "direction": "higher_is_benefit", "primary": True,
        "timepoint": num(followup, unit="months"), "arms": arms, "source": dict(SRC),
    }  # fmt: skip
    if md is not None:
        o["effect"] = {"measure": "MD", "estimate": num(md)}
        if se is not None:
            o["effect"]["se"] = num(se)
    if significant is not None:
        o["significant_reported"] = significant
    if p is not None:
        o["p_value"] = num(p)
    if result is not None:
        o["result"] = {"text": result, "source": dict(SRC)}
    return s, o


def evidence(*records: tuple[dict[str, Any], dict[str, Any]]) -> EvidenceBase:
    raw = {"studies": [s for s, _ in records], "outcomes": [o for _, o in records]}
    assert validate_evidence(raw) == []
    parsed = EvidenceFile.model_validate(raw)
    return EvidenceBase(studies=parsed.studies, outcomes=parsed.outcomes, origin="test")


def verdict(claim_id: str, ev: EvidenceBase) -> Verdict:
    return evaluate_claim(CLAIMS[claim_id], ev)


def sig(sid: str, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A clearly significant benefit (z = 6)."""
    return study(sid, md=3.0, se=0.5, **kw)


def nonsig(sid: str, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A clearly non-significant benefit (z = 0.4)."""
    return study(sid, md=0.4, se=1.0, **kw)


def harm(sid: str, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A clearly significant harm (z = -6)."""
    return study(sid, md=-3.0, se=0.5, **kw)


def non_randomised(sid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return study(sid, design="external or historical control", randomised=False, md=5, se=1)


# ---------------------------------------------------------------- (a) directions
class TestAllTrialsSlowing:
    def test_supported_when_six_randomised_trials_all_point_to_benefit(self) -> None:
        v = verdict("all_trials_show_slowing", evidence(*(nonsig(f"T{i}") for i in range(6))))
        assert v.verdict == "supported"
        assert v.numbers["n_benefit"] == 6
        assert v.numbers["sign_test"]["p_value"] == pytest.approx(0.03125)

    def test_not_supported_when_five_all_point_to_benefit(self) -> None:
        # 5 of 5 in one direction: two-sided sign test p = 0.0625, could be chance.
        v = verdict("all_trials_show_slowing", evidence(*(sig(f"T{i}") for i in range(5))))
        assert v.verdict == "not supported"
        assert v.numbers["sign_test"]["p_value"] == pytest.approx(0.0625)
        assert "could still be chance" in v.reason

    def test_not_supported_when_a_trial_gives_no_direction(self) -> None:
        records = [nonsig(f"T{i}") for i in range(6)]
        records.append(study("Silent", md=None, significant=False, result="no difference"))
        v = verdict("all_trials_show_slowing", evidence(*records))
        assert v.verdict == "not supported"
        assert v.numbers["n_direction_not_reported"] == 1
        assert "Silent" in v.evidence_used

    def test_contradicted_by_a_significantly_harmful_trial(self) -> None:
        v = verdict("all_trials_show_slowing", evidence(sig("A"), sig("B"), harm("C")))
        assert v.verdict == "contradicted"
        assert "C" in v.reason

    def test_contradicted_when_the_sign_test_points_to_harm(self) -> None:
        ev = evidence(*(study(f"T{i}", md=-0.3, se=1.0) for i in range(6)))
        v = verdict("all_trials_show_slowing", ev)
        assert v.verdict == "contradicted"
        assert v.numbers["n_harm"] == 6

    def test_insufficient_with_one_randomised_trial_and_context_from_all(self) -> None:
        ev = evidence(sig("R1"), non_randomised("N1"), non_randomised("N2"))
        v = verdict("all_trials_show_slowing", ev)
        assert v.verdict == "insufficient evidence"
        assert v.evidence_used == ("R1",)
        assert dict(v.evidence_excluded)["N1"].startswith("not randomised")
        context = v.numbers["all_studies_context"]
        assert context["n_trials"] == 3 and context["n_benefit"] == 3
        assert any("Context, not the verdict" in n for n in v.notes)


# ---------------------------------------------------------------- (b) significance
class TestSignificanceCount:
    def claim(self, **params: Any) -> Claim:
        base = CLAIMS["all_but_two_significant"]
        return dataclasses.replace(base, parameters={**base.parameters, **params})

    def test_supported_when_the_counts_match(self) -> None:
        ev = evidence(sig("A"), sig("B"), sig("C"), nonsig("D"), nonsig("E"))
        v = evaluate_claim(self.claim(claimed_trials=5), ev)
        assert v.verdict == "supported"
        assert v.numbers["significant"] == ["A", "B", "C"]
        assert v.numbers["not_significant"] == ["D", "E"]

    def test_contradicted_when_more_trials_were_not_significant(self) -> None:
        ev = evidence(sig("A"), nonsig("B"), nonsig("C"), nonsig("D"), nonsig("E"))
        v = verdict("all_but_two_significant", ev)
        assert v.verdict == "contradicted"
        assert v.numbers["n_significant"] == 1 and v.numbers["n_not_significant"] == 4

    def test_not_supported_when_the_claim_understates_or_miscounts(self) -> None:
        ev = evidence(sig("A"), sig("B"), sig("C"), sig("D"), nonsig("E"))
        assert verdict("all_but_two_significant", ev).verdict == "not supported"
        ev = evidence(sig("A"), sig("B"), sig("C"), nonsig("D"), nonsig("E"))
        v = evaluate_claim(self.claim(claimed_trials=4), ev)
        assert v.verdict == "not supported"
        assert "counts 4 trials" in v.reason
        # Claiming 6 of 8 significant when 3 were: the claim overstates.
        assert evaluate_claim(self.claim(claimed_trials=8), ev).verdict == "contradicted"

    def test_insufficient_with_one_randomised_trial(self) -> None:
        v = verdict("all_but_two_significant", evidence(sig("A"), non_randomised("N")))
        assert v.verdict == "insufficient evidence"

    def test_reported_significance_wins_and_a_disagreement_is_noted(self) -> None:
        # Reported significant, but md/se = 0.4 recomputes to p = 0.69.
        ev = evidence(nonsig("A", significant=True), sig("B"), nonsig("C"), nonsig("D"))
        v = verdict("all_but_two_significant", ev)
        trial = next(t for t in v.numbers["trials"] if t["study_id"] == "A")
        assert trial["significant_reported"] is True
        assert trial["significant_recomputed"] is False
        assert trial["p_value_recomputed"] == pytest.approx(0.6892, abs=1e-4)
        assert trial["status"] == "significant benefit"
        assert v.verdict == "supported"
        assert any(n.startswith("A: the trial reports") for n in v.notes)

    def test_significance_from_a_reported_p_value_alone(self) -> None:
        # A difference with an exact p-value: SE from p, and significance from p.
        ev = evidence(
            study("A", md=2, se=None, p=0.01), study("B", md=1, se=None, p=0.3),
            study("C", md=-1, se=None, p=0.4),
        )  # fmt: skip
        v = evaluate_claim(self.claim(claimed_not_significant=2, claimed_trials=3), ev)
        assert v.numbers["significant"] == ["A"]
        a, _, c = v.numbers["trials"]
        # SE from p with t(78) (arms < 60), recomputed with z: a slightly smaller p.
        assert a["p_value_recomputed"] == pytest.approx(0.01, abs=0.002)
        assert c["direction"] == "harm" and c["status"] == "not significant"
        assert v.verdict == "supported"


# ---------------------------------------------------------------- (c) follow-up
class TestFollowupSignificance:
    def test_supported_when_every_long_trial_is_significant(self) -> None:
        ev = evidence(sig("A", followup=6), sig("B", followup=12), nonsig("Short", followup=3))
        v = verdict("six_months_significant", ev)
        assert v.verdict == "supported"
        assert v.evidence_used == ("A", "B")
        assert dict(v.evidence_excluded)["Short"] == "follow-up 3 months (< 6)"

    def test_contradicted_by_a_long_trial_that_was_not_significant(self) -> None:
        ev = evidence(sig("A", followup=6), nonsig("B", followup=9))
        v = verdict("six_months_significant", ev)
        assert v.verdict == "contradicted"
        assert v.numbers["not_significant"] == ["B"]

    def test_insufficient_when_no_trial_qualifies(self) -> None:
        ev = evidence(sig("A", followup=3), sig("B", followup=4))
        v = verdict("six_months_significant", ev)
        assert v.verdict == "insufficient evidence"
        assert v.numbers["n_qualifying"] == 0

    def test_not_supported_when_a_long_trial_cannot_be_checked(self) -> None:
        ev = evidence(sig("A"), sig("B"), study("C", md=None, result="improved"))
        v = verdict("six_months_significant", ev)
        assert v.verdict == "not supported"
        assert v.numbers["unknown"] == ["C"]

    def test_non_randomised_long_studies_do_not_count(self) -> None:
        ev = evidence(sig("A"), nonsig("B"), non_randomised("N"))
        v = verdict("six_months_significant", ev)
        assert "N" not in v.evidence_used
        assert v.numbers["all_studies_context"]["significant"] == ["A", "N"]


# ------------------------------------------------------------ (d), (e) subgroups
ROUTE = {"claim": "intrathecal_works_best", "key": "route",
         "mine": "intrathecal", "other": "intravenous", "third": "intramuscular"}  # fmt: skip
CELL = {"claim": "msc_better_than_other_cells", "key": "cell",
        "mine": "MSC-NTF", "other": "neural stem/progenitor cells",
        "third": "CD133+ cells"}  # fmt: skip


def grouped(spec: dict[str, str], which: str, sid: str, md: float) -> Any:
    return study(sid, md=md, se=0.5, **{spec["key"]: spec[which]})


@pytest.mark.parametrize("spec", [ROUTE, CELL], ids=["route", "cell_type"])
class TestSubgroupBest:
    def test_supported_when_the_claimed_group_is_significantly_better(self, spec) -> None:
        ev = evidence(
            grouped(spec, "mine", "M1", 4.0), grouped(spec, "mine", "M2", 4.2),
            grouped(spec, "mine", "M3", 3.8), grouped(spec, "other", "O1", 0.1),
            grouped(spec, "other", "O2", -0.1), grouped(spec, "other", "O3", 0.0),
        )  # fmt: skip
        v = verdict(spec["claim"], ev)
        assert v.verdict == "supported"
        test = v.numbers["test_for_subgroup_differences"]
        assert test["p_value"] < 0.001 and test["df"] == 1
        assert v.numbers["pairwise"][0]["difference"] == pytest.approx(4.0, abs=1e-6)
        assert [g["k"] for g in v.numbers["subgroups"]] == [3, 3]

    def test_contradicted_when_another_group_is_significantly_better(self, spec) -> None:
        ev = evidence(
            grouped(spec, "mine", "M1", 0.0), grouped(spec, "mine", "M2", 0.2),
            grouped(spec, "other", "O1", 4.0), grouped(spec, "other", "O2", 4.1),
        )  # fmt: skip
        assert verdict(spec["claim"], ev).verdict == "contradicted"

    def test_not_supported_when_groups_do_not_differ(self, spec) -> None:
        ev = evidence(
            grouped(spec, "mine", "M1", 2.0), grouped(spec, "mine", "M2", 2.3),
            grouped(spec, "other", "O1", 2.1), grouped(spec, "other", "O2", 1.9),
        )  # fmt: skip
        v = verdict(spec["claim"], ev)
        assert v.verdict == "not supported"
        assert v.numbers["test_for_subgroup_differences"]["p_value"] > 0.05

    def test_insufficient_when_the_claimed_group_has_one_trial(self, spec) -> None:
        ev = evidence(
            grouped(spec, "mine", "M1", 4.0), grouped(spec, "other", "O1", 0.0),
            grouped(spec, "other", "O2", 0.1),
        )  # fmt: skip
        v = verdict(spec["claim"], ev)
        assert v.verdict == "insufficient evidence"
        assert "at least 2 trials" in v.reason
        assert "M1" in dict(v.evidence_excluded)

    def test_insufficient_when_only_one_group_has_data(self, spec) -> None:
        ev = evidence(grouped(spec, "mine", "M1", 4.0), grouped(spec, "mine", "M2", 4.0))
        v = verdict(spec["claim"], ev)
        assert v.verdict == "insufficient evidence"
        assert "no other group" in v.reason

    def test_a_single_trial_group_is_set_aside_and_the_rest_compared(self, spec) -> None:
        ev = evidence(
            grouped(spec, "mine", "M1", 4.0), grouped(spec, "mine", "M2", 4.0),
            grouped(spec, "other", "O1", 0.0), grouped(spec, "other", "O2", 0.0),
            grouped(spec, "third", "X1", 9.0),
        )  # fmt: skip
        v = verdict(spec["claim"], ev)
        if spec is CELL:
            # Every non-MSC type pools into "other cell types": nothing is set aside.
            assert v.numbers["trials_per_group"] == {"MSC": 2, "other cell types": 3}
            return
        assert v.verdict == "supported"
        assert "X1" not in v.evidence_used
        assert "only 1 trial" in dict(v.evidence_excluded)["X1"]


def test_msc_claim_pools_all_other_cell_types() -> None:
    ev = evidence(
        study("M1", md=3.0, cell="MSC, bone marrow"), study("M2", md=3.0, cell="MSC-NTF"),
        study("O1", md=0.0, cell="CD133+ cells"), study("O2", md=0.0, cell="G-CSF mobilisation"),
    )  # fmt: skip
    v = verdict("msc_better_than_other_cells", ev)
    assert v.numbers["trials_per_group"] == {"MSC": 2, "other cell types": 2}
    assert v.verdict == "supported"


def test_subgroup_claim_uses_randomised_trials_only() -> None:
    ev = evidence(
        study("M1", md=4.0), study("M2", md=4.0),
        study("N1", md=0.0, route="intravenous", design="single-arm", randomised=False),
        study("N2", md=0.0, route="intravenous", design="non-randomised controlled",
              randomised=False),
    )  # fmt: skip
    v = verdict("intrathecal_works_best", ev)
    assert v.verdict == "insufficient evidence"
    assert dict(v.evidence_excluded)["N2"] == "not randomised (design: non-randomised controlled)"


# ---------------------------------------------------------------------- (f) design
class TestDesign:
    def test_supported_when_every_study_is_a_randomised_controlled_trial(self) -> None:
        v = verdict("evidence_is_randomised", evidence(sig("A"), nonsig("B")))
        assert v.verdict == "supported"
        assert v.numbers["designs"] == {"RCT": 2}

    def test_not_supported_when_most_but_not_all_are(self) -> None:
        v = verdict("evidence_is_randomised", evidence(sig("A"), sig("B"), non_randomised("N")))
        assert v.verdict == "not supported"
        assert v.numbers["n_randomised_controlled"] == 2

    def test_contradicted_when_fewer_than_half_are(self) -> None:
        ev = evidence(
            sig("A"), non_randomised("N1"),
            study("S", design="single-arm", randomised=False, md=None),
        )  # fmt: skip
        v = verdict("evidence_is_randomised", ev)
        assert v.verdict == "contradicted"
        assert v.numbers["not_randomised_controlled"] == ["N1", "S"]

    def test_insufficient_without_studies(self) -> None:
        v = verdict("evidence_is_randomised", EvidenceBase(studies=(), outcomes=()))
        assert v.verdict == "insufficient evidence"


# ---------------------------------------------------------------------- contracts
def test_bundled_claims_are_the_six_of_the_issue_over_five_kinds() -> None:
    kinds = [c.kind for c in CLAIMS.values()]
    assert kinds == ["all_trials_slowing", "significance_count", "followup_significance",
                     "subgroup_best", "subgroup_best", "design"]  # fmt: skip
    assert [c.evidence for c in CLAIMS.values()] == ["randomised"] * 5 + ["all"]
    assert VERDICTS == ("supported", "not supported", "contradicted", "insufficient evidence")


def test_bundled_evidence_gives_a_verdict_with_numbers_for_every_claim() -> None:
    verdicts = evaluate_claims()
    assert [v.claim_id for v in verdicts] == [
        "all_trials_show_slowing", "all_but_two_significant", "six_months_significant",
        "intrathecal_works_best", "msc_better_than_other_cells", "evidence_is_randomised",
    ]  # fmt: skip
    ev = load_evidence()
    for v in verdicts:
        assert v.verdict in VERDICTS
        assert v.reason
        assert v.numbers and v.numbers["alpha"] == 0.05
        record = v.to_dict()
        json.dumps(record, allow_nan=False)
        used = set(v.evidence_used)
        excluded = {s for s, _ in v.evidence_excluded}
        assert not used & excluded
        assert used | excluded <= {s.study_id for s in ev.studies}
    a, b, c, d, e, f = verdicts
    assert a.numbers["n_trials"] >= 2 and "sign_test" in a.numbers
    assert "all_studies_context" in a.numbers
    assert b.numbers["n_significant"] + b.numbers["n_not_significant"] >= 1
    assert c.numbers["min_followup_months"] == 6
    for sub in (d, e):
        assert "trials_per_group" in sub.numbers
    assert f.numbers["n_studies"] == len(ev.studies)
    assert f.numbers["n_randomised_controlled"] < f.numbers["n_studies"]
    for v in (a, b, c, d, e):
        assert all(ev.study(s).randomised is True for s in v.evidence_used), (
            "efficacy claims use randomised trials only"
        )


def test_oh2018_numbers_are_carried_into_the_verdicts() -> None:
    a = evaluate_claims()[0]
    oh = next(t for t in a.numbers["trials"] if t["study_id"] == "Oh2018")
    assert oh["outcome_id"] == "Oh2018_ALSFRSR_chg_6mo"
    assert oh["yi"] == pytest.approx(3.38)
    assert oh["direction"] == "benefit" and oh["status"] == "significant benefit"


def test_verdict_is_frozen_and_to_dict_is_json_safe() -> None:
    v = verdict("all_trials_show_slowing", evidence(study("A", md=None, significant=False)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.verdict = "supported"  # type: ignore[misc]
    with pytest.raises(TypeError):
        v.numbers["n_trials"] = 99  # type: ignore[index]
    d = v.to_dict()
    assert set(d) == {"claim_id", "statement", "verdict", "reason", "numbers",
                      "evidence_used", "evidence_excluded", "notes"}  # fmt: skip
    assert d["numbers"]["sign_test"]["p_value"] is None  # nan -> None
    json.dumps(d, allow_nan=False)
    assert "Verdict: INSUFFICIENT EVIDENCE" in v.summary()


def test_a_verdict_outside_the_four_is_refused() -> None:
    with pytest.raises(ValueError, match="is not one of"):
        Verdict(claim_id="x", statement="x", verdict="true", reason="", numbers={},
                evidence_used=(), evidence_excluded=())  # fmt: skip


def test_claim_records_report_every_problem() -> None:
    with pytest.raises(InputError) as info:
        claims_from_records(
            [
                {"claim_id": "a", "statement": "s", "kind": "magic"},
                {"claim_id": "b", "statement": "s", "kind": "significance_count",
                 "evidence": "anecdotes", "parameters": {"colour": 1}},
                {"statement": "s", "kind": "design"},
            ]
        )  # fmt: skip
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 5
    assert any("kind='magic' is not valid" in m for m in messages)
    assert any("'claimed_not_significant' is required" in m for m in messages)
    assert any("'colour' is not known" in m for m in messages)
    assert any("evidence='anecdotes'" in m for m in messages)
    assert any("claim_id is missing" in m for m in messages)


def test_claims_file_round_trip(tmp_path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(
        "claims:\n- claim_id: f\n  statement: All RCTs.\n  kind: design\n  evidence: all\n",
        encoding="utf-8",
    )
    claims = load_claims(path)
    assert [c.to_dict()["kind"] for c in claims] == ["design"]
    v = evaluate_claims(evidence(sig("A")), claims=claims)
    assert v[0].verdict == "supported"
    with pytest.raises(InputError, match="file not found"):
        load_claims(tmp_path / "missing.yaml")


def test_direction_bases_without_a_convertible_effect() -> None:
    means, _ = study("Means", md=None)
    _, o_means = study("Means", md=None)
    o_means["arms"][0]["mean"] = num(-2.0)
    o_means["arms"][1]["mean"] = num(-5.0)
    o_means["p_value"] = num(0.01, relation="<")
    lead_in, o_lead = study("LeadIn", md=None, design="single-arm", randomised=False)
    o_lead["arms"][0]["slope_before"] = num(-1.2)
    o_lead["arms"][0]["slope_after"] = num(-0.4)
    ev = evidence((means, o_means), (lead_in, o_lead), sig("B"))
    v = verdict("all_trials_show_slowing", ev)
    trial = next(t for t in v.numbers["trials"] if t["study_id"] == "Means")
    assert trial["direction"] == "benefit"
    assert trial["direction_basis"] == "difference of the arms' means"
    assert trial["significant_reported_basis"] == "reported p < 0.01"
    assert trial["status"] == "significant benefit"
    assert "LeadIn" not in v.evidence_used
    assert v.numbers["all_studies_context"]["n_benefit"] == 3
