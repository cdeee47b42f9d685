"""GRADE certainty: proposals from synthetic meta-analyses whose right rating is known,
overrides, and the summary-of-findings row."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsmeta import EffectSizeTable, InputError, meta_analysis
from alsmeta.synthesis import grade_certainty, optimal_information_size, rob2
from alsmeta.synthesis.risk_of_bias import ROB2_DOMAINS

K = 12
VI = np.linspace(0.03, 0.12, K)
NOISE = np.array([0.05, -0.04, 0.02, -0.06, 0.03, -0.01, 0.04, -0.05, 0.01, -0.02, 0.06, -0.03])
STUDIES = [f"S{i + 1}" for i in range(K)]
INDIRECT_OK = {"indirectness": (0, "ALS patients, cell therapy vs placebo, ALSFRS-R")}


def _fit(yi, vi, **data):
    frame = pd.DataFrame({"yi": yi, "vi": vi, **data})
    return meta_analysis(frame, method="REML")


def _rob_table(judgments: dict[str, str]):
    records = []
    for study, overall_level in judgments.items():
        rec = {"study": study}
        for i, (key, _) in enumerate(ROB2_DOMAINS):
            rec[key] = overall_level if i == 0 else "low"
            rec[f"{key}_justification"] = "as reported"
        records.append(rec)
    return rob2(records)


@pytest.fixture(scope="module")
def precise():
    """12 consistent, precise trials with 200 participants each (true MD about 3)."""
    es = EffectSizeTable.from_frame(
        pd.DataFrame({"study": STUDIES, "yi": 3 + NOISE, "vi": VI, "ni": [200] * K}),
        study="study",
    )
    return meta_analysis(es)


def test_consistent_precise_low_risk_rct_is_high(precise) -> None:
    rob = _rob_table(dict.fromkeys(STUDIES, "low"))
    g = grade_certainty(
        precise, outcome="ALSFRS-R", mid=1.0, sd=4.0, risk_of_bias=rob, overrides=INDIRECT_OK
    )
    assert g.certainty == "high" and g.score == 4 and g.start == 4
    proposed = {d.domain: d.proposed for d in g.domains}
    assert proposed["risk_of_bias"] == 0
    assert proposed["inconsistency"] == 0
    assert proposed["imprecision"] == 0
    assert proposed["publication_bias"] == 0  # k = 12, Egger p = 0.93
    assert "Egger" in g.domain("publication_bias").reason
    assert g.n_participants == 2400
    assert g.optimal_information_size == 504  # 2 * ceil(2 * 7.849 * 16)
    assert "meet the optimal information size of 504" in g.domain("imprecision").reason
    row = g.sof_row(intervention="cell therapy")
    assert row["statement"] == "Cell therapy increases ALSFRS-R."
    assert row["certainty_symbols"] == "⊕⊕⊕⊕"
    assert row["n_studies"] == 12 and row["n_participants"] == 2400
    assert row["effect"] == "3.00 (95% CI 2.86 to 3.14)"
    json.dumps(g.to_dict())
    assert "HIGH" in g.summary()


@pytest.mark.parametrize(
    ("yi", "expected", "phrase"),
    [
        ([-2, 4, -1, 5, 0, 6], -2, "considerable heterogeneity"),  # I^2 99 %, PI crosses 0
        ([0.2, 1.4, 0.5, 1.6, 0.9, 0.1], -1, "substantial heterogeneity"),  # I^2 74 %
        ([1.0, 2.2, 1.4, 2.6, 1.8, 0.9], 0, "same side"),  # I^2 78 %, PI above 0
        ([0.3, 1.2, 0.4, 1.0, 0.6, 1.3], 0, "below 50%"),  # I^2 44 %
    ],
)
def test_inconsistency_rule(yi, expected, phrase) -> None:
    res = _fit(yi, [0.1] * 6)
    g = grade_certainty(res, outcome="ALSFRS-R")
    d = g.domain("inconsistency")
    assert d.proposed == expected, (res.i2, res.pi_lower, res.pi_upper)
    assert phrase in d.reason


def test_inconsistency_with_mid_uses_mid_thresholds() -> None:
    # PI 0.36 to 2.94 does not cross 0 but crosses +MID = 1: important inconsistency.
    res = _fit([1.0, 2.2, 1.4, 2.6, 1.8, 0.9], [0.1] * 6)
    g = grade_certainty(res, outcome="x", mid=1.0)
    assert res.i2 >= 75
    assert g.domain("inconsistency").proposed == -2
    assert "minimal important difference" in g.domain("inconsistency").reason


def test_single_study_inconsistency_not_assessable() -> None:
    g = grade_certainty(_fit([1.0], [0.2]), outcome="x")
    assert g.domain("inconsistency").proposed is None
    assert g.domain("inconsistency").final == 0


def test_imprecision_ci_crossing_null_and_both_mids() -> None:
    res = _fit([1.0, -0.5, 2.0], [1.0, 1.0, 1.0])
    assert res.ci_lower < 0 < res.ci_upper
    g = grade_certainty(res, outcome="x")
    assert g.domain("imprecision").proposed == -1
    assert "crosses the null" in g.domain("imprecision").reason
    g2 = grade_certainty(res, outcome="x", mid=0.5)
    assert res.ci_lower < -0.5 and res.ci_upper > 0.5
    assert g2.domain("imprecision").proposed == -2
    assert "both important benefit and important harm" in g2.domain("imprecision").reason


def test_imprecision_ois_and_ci_add_up_to_two(precise) -> None:
    # CI 2.86 to 3.14 crosses a MID of 3; OIS with sd = 10, MID = 3 is 2 * ceil(174.4) = 350,
    # met by 2400 participants -> -1; with 120 participants both fail -> -2.
    g = grade_certainty(precise, outcome="x", mid=3.0, sd=10.0)
    assert g.optimal_information_size == 350
    assert g.domain("imprecision").proposed == -1
    g2 = grade_certainty(precise, outcome="x", mid=3.0, sd=10.0, n_participants=120)
    assert g2.domain("imprecision").proposed == -2
    # Precise CI clear of the MID but too few participants: -1 (GRADE 6).
    g3 = grade_certainty(precise, outcome="x", mid=1.0, sd=4.0, n_participants=300)
    assert g3.domain("imprecision").proposed == -1
    assert "below the optimal information size of 504" in g3.domain("imprecision").reason


def test_optimal_information_size_formula() -> None:
    z = stats.norm.isf(0.025) + stats.norm.ppf(0.8)
    for mid, sd in ((4.0, 8.0), (2.5, 6.9), (0.3, 1.0)):
        per_arm = math.ceil(2 * z**2 * sd**2 / mid**2)
        assert optimal_information_size(mid, sd) == 2 * per_arm
    # Hand: (1.959964 + 0.841621)^2 = 7.848879; 2 * 7.848879 * 4 = 62.79 -> 63 per arm.
    assert optimal_information_size(4.0, 8.0) == 126
    assert optimal_information_size(4.0, 8.0, power=0.9) > 126
    with pytest.raises(InputError) as err:
        optimal_information_size(0.0, -1.0, alpha=1.5)
    assert len(err.value.problems) == 3


def test_publication_bias_egger_rule() -> None:
    asym = 0.2 + 10 * np.sqrt(VI) + NOISE
    g = grade_certainty(_fit(asym, VI), outcome="x")
    assert g.domain("publication_bias").proposed == -1
    assert "< 0.1" in g.domain("publication_bias").reason
    few = _fit(asym[:9], VI[:9])
    g9 = grade_certainty(few, outcome="x")
    assert g9.domain("publication_bias").proposed is None
    assert "not assessable" in g9.domain("publication_bias").reason


def test_risk_of_bias_from_weights(precise) -> None:
    w = np.asarray(precise.weights)
    order = np.argsort(-w)  # heaviest first
    top = [STUDIES[i] for i in order]
    half = np.cumsum(w[order]) / 100
    n_major = int(np.searchsorted(half, 0.5) + 1)  # fewest studies holding > 50 %
    high = dict.fromkeys(STUDIES, "low") | dict.fromkeys(top[:n_major], "high")
    g = grade_certainty(precise, outcome="x", risk_of_bias=_rob_table(high))
    assert g.domain("risk_of_bias").proposed == -2
    some = dict.fromkeys(STUDIES, "low") | dict.fromkeys(top[:n_major], "some concerns")
    g = grade_certainty(precise, outcome="x", risk_of_bias=_rob_table(some))
    assert g.domain("risk_of_bias").proposed == -1
    minority = dict.fromkeys(STUDIES, "low") | {top[-1]: "high"}
    g = grade_certainty(precise, outcome="x", risk_of_bias=_rob_table(minority))
    assert g.domain("risk_of_bias").proposed == 0
    assert "% of the weight" in g.domain("risk_of_bias").reason


def test_risk_of_bias_missing_studies_and_no_table(precise) -> None:
    partial = _rob_table(dict.fromkeys(STUDIES[:10], "low"))
    with pytest.raises(InputError) as err:
        grade_certainty(precise, outcome="x", risk_of_bias=partial)
    assert {p.study for p in err.value.problems} == {"S11", "S12"}
    g = grade_certainty(precise, outcome="x")
    assert g.domain("risk_of_bias").proposed is None
    assert any("certainty may be overstated" in n for n in g.notes)


def test_overrides_need_reasons_and_valid_levels(precise) -> None:
    with pytest.raises(InputError) as err:
        grade_certainty(
            precise,
            outcome="x",
            overrides={
                "imprecision": -1,
                "inconsistency": (-3, "very"),
                "indirectness": {"level": -1, "reason": " "},
                "colour": (0, "x"),
                "large_effect": (1, "RR 3"),
            },
        )
    cols = sorted(p.column for p in err.value.problems)
    assert cols == sorted(
        ["colour", "inconsistency", "indirectness", "imprecision", "large_effect"]
    )
    text = str(err.value)
    assert "needs a reason" in text and "non-randomised evidence only" in text
    g = grade_certainty(
        precise,
        outcome="x",
        overrides={"indirectness": {"level": -1, "reason": "surrogate outcome"}},
    )
    d = g.domain("indirectness")
    assert (d.proposed, d.final, d.reason, d.overridden) == (None, -1, "surrogate outcome", True)
    g = grade_certainty(precise, outcome="x", overrides={"imprecision": (0, "agreed")})
    assert g.domain("imprecision").overridden


def test_non_randomised_starts_low_and_large_effect_rates_up() -> None:
    def rr(log_ratio: float):
        es = EffectSizeTable(
            yi=log_ratio + np.array([0.02, -0.03, 0.01, 0.0]),
            vi=[0.01, 0.012, 0.015, 0.011],
            study=("A", "B", "C", "D"),
            measure="RR",
        )
        return meta_analysis(es)

    g = grade_certainty(rr(math.log(3)), outcome="death", design="non-randomised")
    assert g.start == 2
    assert g.domain("large_effect").proposed == 1
    assert g.certainty == "moderate"
    g = grade_certainty(rr(math.log(1 / 6)), outcome="death", design="non-randomised")
    assert g.domain("large_effect").proposed == 2 and g.certainty == "high"
    row = g.sof_row(transform=math.exp)
    assert row["effect"].startswith("RR 0.1")
    assert row["statement"] == "The intervention reduces death."
    assert g.sof_row()["effect"].startswith("log RR -1.7")
    g = grade_certainty(rr(math.log(1.5)), outcome="death", design="non-randomised")
    assert g.domain("large_effect").proposed == 0 and g.certainty == "low"
    g = grade_certainty(
        rr(math.log(3)),
        outcome="death",
        design="non-randomised",
        overrides={"risk_of_bias": (-1, "confounding by indication")},
    )
    assert g.domain("large_effect").proposed == 0 and g.certainty == "very low"
    g = grade_certainty(
        rr(math.log(1.5)),
        outcome="death",
        design="non-randomised",
        overrides={"dose_response": (1, "clear gradient over three doses")},
    )
    assert g.certainty == "moderate"


@pytest.mark.parametrize(
    ("penalty", "certainty", "statement"),
    [
        ({}, "high", "Cell therapy increases ALSFRS-R."),
        ({"indirectness": (-1, "r")}, "moderate", "Cell therapy probably increases ALSFRS-R."),
        (
            {"indirectness": (-2, "r")},
            "low",
            "Cell therapy may increase ALSFRS-R.",
        ),
        (
            {"indirectness": (-2, "r"), "risk_of_bias": (-1, "r")},
            "very low",
            "The evidence is very uncertain about the effect of cell therapy on ALSFRS-R.",
        ),
        (
            {"indirectness": (-2, "r"), "risk_of_bias": (-2, "r"), "inconsistency": (-2, "r")},
            "very low",
            "The evidence is very uncertain about the effect of cell therapy on ALSFRS-R.",
        ),
    ],
)
def test_statement_wording_by_certainty(precise, penalty, certainty, statement) -> None:
    g = grade_certainty(precise, outcome="ALSFRS-R", overrides=penalty)
    assert g.certainty == certainty
    assert g.sof_row(intervention="cell therapy")["statement"] == statement


def test_statement_little_to_no_difference_and_reduces(precise) -> None:
    g = grade_certainty(precise, outcome="ALSFRS-R", mid=5.0, overrides=INDIRECT_OK)
    # Estimate 3 < MID 5; CI 2.86-3.14 inside (-5, 5): precise, trivial effect.
    assert g.domain("imprecision").proposed == 0
    assert g.sof_row()["statement"] == (
        "The intervention results in little to no difference in ALSFRS-R."
    )
    neg = _fit(-(3 + NOISE), VI)
    g = grade_certainty(neg, outcome="decline", overrides={"indirectness": (-1, "r")})
    assert g.sof_row()["statement"] == "The intervention probably reduces decline."
    null = _fit([0.5, -0.4, 0.1], [0.2, 0.2, 0.2])
    g = grade_certainty(null, outcome="decline", overrides={"imprecision": (0, "agreed")})
    assert (
        g.sof_row()["statement"]
        == "The intervention results in little to no difference in decline."
    )


def test_frame_and_bad_inputs(precise) -> None:
    g = grade_certainty(precise, outcome="x")
    frame = g.to_frame()
    assert frame["domain"].tolist()[:5] == [
        "risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias",
    ]  # fmt: skip
    assert frame["proposed"].isna().tolist()[:3] == [True, False, True]
    with pytest.raises(InputError, match="design="):
        grade_certainty(precise, outcome="x", design="cohort")
    with pytest.raises(InputError) as err:
        grade_certainty(precise, outcome="", mid=-1.0, sd=0.0)
    assert len(err.value.problems) == 3
    with pytest.raises(InputError, match="MetaAnalysisResult"):
        grade_certainty("fit", outcome="x")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="whole number"):
        grade_certainty(precise, outcome="x", n_participants=12.5)
