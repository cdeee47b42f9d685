"""GRADE certainty of evidence per outcome, with ratings proposed from the data.

alsmeta *proposes* ratings for the domains it can judge from numbers (risk of bias from a
risk-of-bias table and the meta-analytic weights, inconsistency, imprecision,
small-study effects, a large effect for non-randomised ratio measures); the reviewer
confirms or overrides each with a written reason. Indirectness, dose response and
plausible confounding cannot be judged from data and are left to the reviewer.

References
----------
Guyatt GH, Oxman AD, Akl EA, et al. (2011). GRADE guidelines: 1. Introduction - GRADE
evidence profiles and summary of findings tables. J Clin Epidemiol 64:383-394.
doi:10.1016/j.jclinepi.2010.04.026
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.meta.model import MetaAnalysisResult
from alsmeta.synthesis._common import fmt, json_float
from alsmeta.synthesis.risk_of_bias import HIGH_RISK, SOME_CONCERNS, RiskOfBiasTable

__all__ = [
    "CERTAINTY_LEVELS",
    "DESIGNS",
    "DOWNGRADE_DOMAINS",
    "UPGRADE_DOMAINS",
    "DomainRating",
    "GradeAssessment",
    "grade_certainty",
    "optimal_information_size",
]

DESIGNS: tuple[str, ...] = ("RCT", "non-randomised")
DOWNGRADE_DOMAINS: tuple[str, ...] = (
    "risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias",
)  # fmt: skip
UPGRADE_DOMAINS: tuple[str, ...] = ("large_effect", "dose_response", "plausible_confounding")
#: Certainty by score: 4 high, 3 moderate, 2 low, 1 very low.
CERTAINTY_LEVELS: dict[int, str] = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
_SYMBOLS = {4: "⊕⊕⊕⊕", 3: "⊕⊕⊕◯", 2: "⊕⊕◯◯", 1: "⊕◯◯◯"}
_RATIO_MEASURES = ("RR", "OR", "PETO", "HR", "IRR", "ROM")

#: Egger's test is interpreted only with at least this many studies (Sterne et al. 2011),
#: at the 0.10 level of Egger et al. (1997).
EGGER_MIN_K = 10
EGGER_ALPHA = 0.10
#: I^2 bands (Cochrane Handbook 10.10.2): 50-90 % substantial, 75-100 % considerable.
I2_SERIOUS = 50.0
I2_VERY_SERIOUS = 75.0
#: Share of the meta-analytic weight from studies at high risk (or with concerns) above
#: which risk of bias is rated down.
ROB_WEIGHT_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class DomainRating:
    """One GRADE domain: alsmeta's proposal and the final rating with its reason.

    ``proposed`` is ``None`` when alsmeta cannot assess the domain from the data; the
    final rating is then 0 unless the reviewer overrides it. Downgrades are 0, -1, -2;
    upgrades 0, +1, +2.
    """

    domain: str
    kind: str
    proposed: int | None
    proposed_reason: str
    final: int
    reason: str
    overridden: bool


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GradeAssessment:
    """GRADE certainty of the evidence for one outcome.

    ``start`` is 4 (high) for randomised evidence and 2 (low) for non-randomised;
    ``score = start + sum of final ratings``, kept within 1..4, gives ``certainty``.
    """

    outcome: str
    design: str
    result: MetaAnalysisResult
    start: int
    score: int
    certainty: str
    domains: tuple[DomainRating, ...]
    n_studies: int
    n_participants: int | None
    mid: float | None
    sd: float | None
    optimal_information_size: float
    notes: tuple[str, ...]

    def domain(self, name: str) -> DomainRating:
        """The rating of one domain."""
        name = check_choice("domain", name, DOWNGRADE_DOMAINS + UPGRADE_DOMAINS)
        return next(d for d in self.domains if d.domain == name)

    def to_frame(self) -> pd.DataFrame:
        """One row per domain: ``domain``, ``kind``, ``proposed``, ``proposed_reason``,
        ``final``, ``reason``, ``overridden``."""
        return pd.DataFrame(
            {
                "domain": [d.domain for d in self.domains],
                "kind": [d.kind for d in self.domains],
                "proposed": pd.array([d.proposed for d in self.domains], dtype="Int64"),
                "proposed_reason": [d.proposed_reason for d in self.domains],
                "final": [d.final for d in self.domains],
                "reason": [d.reason for d in self.domains],
                "overridden": [d.overridden for d in self.domains],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: certainty, every domain and the summary-of-findings row."""
        return {
            "outcome": self.outcome,
            "design": self.design,
            "start": CERTAINTY_LEVELS[self.start],
            "score": self.score,
            "certainty": self.certainty,
            "n_studies": self.n_studies,
            "n_participants": self.n_participants,
            "mid": self.mid,
            "sd": self.sd,
            "optimal_information_size": json_float(self.optimal_information_size),
            "domains": [
                {
                    "domain": d.domain,
                    "kind": d.kind,
                    "proposed": d.proposed,
                    "proposed_reason": d.proposed_reason,
                    "final": d.final,
                    "reason": d.reason,
                    "overridden": d.overridden,
                }
                for d in self.domains
            ],
            "sof_row": self.sof_row(),
            "notes": list(self.notes),
        }

    def sof_row(
        self,
        *,
        intervention: str = "the intervention",
        transform: Callable[[float], float] | None = None,
        digits: int = 2,
    ) -> dict[str, Any]:
        """One row of a summary-of-findings table.

        Parameters
        ----------
        intervention : str
            Name used in the plain-language statement.
        transform : callable, optional
            Applied to the estimate and CI for display (e.g. ``math.exp`` for log RR),
            as metafor's ``transf``.
        digits : int
            Decimals of the displayed effect.

        Returns
        -------
        dict
            ``outcome``, ``n_studies``, ``n_participants``, ``design``, ``effect``
            (text), ``estimate``, ``ci_lower``, ``ci_upper`` (transformed),
            ``certainty``, ``certainty_symbols``, ``reasons`` and ``statement``.

        Notes
        -----
        The statement uses the standard GRADE wording (Santesso et al. 2020, Table 3):
        high "reduces/increases", moderate "probably reduces/increases", low "may
        reduce/increase", very low "the evidence is very uncertain about the effect";
        with "results in little to no difference" in place of the verb when the
        estimate is smaller than the MID (or, without a MID, when the CI includes the
        null).
        """
        res = self.result
        est, lo, hi = res.estimate, res.ci_lower, res.ci_upper
        measure = res.es.measure
        label = "" if measure == "GEN" else f"{measure} "
        if transform is not None:
            est, lo, hi = (float(transform(x)) for x in (est, lo, hi))
            if lo > hi:
                lo, hi = hi, lo
        elif measure in _RATIO_MEASURES:
            label = f"log {measure} "
        pct = f"{100 * res.level:g}%"
        effect = f"{label}{est:.{digits}f} ({pct} CI {lo:.{digits}f} to {hi:.{digits}f})"
        reasons = [
            f"{d.domain.replace('_', ' ')} ({d.final:+d}): {d.reason}"
            for d in self.domains
            if d.final != 0
        ]
        return {
            "outcome": self.outcome,
            "n_studies": self.n_studies,
            "n_participants": self.n_participants,
            "design": self.design,
            "effect": effect,
            "estimate": json_float(est),
            "ci_lower": json_float(lo),
            "ci_upper": json_float(hi),
            "certainty": self.certainty,
            "certainty_symbols": _SYMBOLS[self.score],
            "reasons": reasons,
            "statement": _statement(self, intervention),
        }

    def summary(self) -> str:
        """Plain-text GRADE profile of the outcome."""
        row = self.sof_row()
        lines = [
            f"GRADE certainty for {self.outcome!r}: {self.certainty.upper()} "
            f"{row['certainty_symbols']}",
            f"{self.n_studies} studies ({self.design}), "
            f"{'unknown' if self.n_participants is None else self.n_participants} "
            f"participants; start {CERTAINTY_LEVELS[self.start]}; effect {row['effect']}",
            "",
        ]
        width = max(len(d.domain) for d in self.domains)
        for d in self.domains:
            proposed = "n/a" if d.proposed is None else _signed(d.proposed)
            flag = " (override)" if d.overridden else ""
            lines.append(
                f"{d.domain.ljust(width)}  proposed {proposed:>3}  final {_signed(d.final)}{flag}: "
                f"{d.reason}"
            )
        lines += ["", row["statement"], ""]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _signed(x: int) -> str:
    return f"{x:+d}" if x else "0"


def _statement(g: GradeAssessment, intervention: str) -> str:
    res = g.result
    outcome = g.outcome
    if g.score == 1:
        return f"The evidence is very uncertain about the effect of {intervention} on {outcome}."
    if g.mid is not None:
        important = abs(res.estimate) >= g.mid
    else:
        important = not res.ci_lower <= 0 <= res.ci_upper
    subject = intervention[:1].upper() + intervention[1:]
    if not important:
        verb = {
            4: "results in",
            3: "probably results in",
            2: "may result in",
        }[g.score]
        return f"{subject} {verb} little to no difference in {outcome}."
    up = res.estimate > 0
    verb = {
        4: "increases" if up else "reduces",
        3: "probably increases" if up else "probably reduces",
        2: "may increase" if up else "may reduce",
    }[g.score]
    return f"{subject} {verb} {outcome}."


def optimal_information_size(
    mid: float, sd: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Total sample size of one adequately powered two-arm trial (continuous outcome).

    Parameters
    ----------
    mid : float
        Minimal important difference (the difference to detect), > 0.
    sd : float
        Standard deviation of the outcome, > 0 (1 for an SMD).
    alpha : float
        Two-sided significance level.
    power : float
        Power.

    Returns
    -------
    float
        ``N = 4 (z_{1-alpha/2} + z_{power})^2 sd^2 / mid^2`` (two equal arms of
        ``N / 2``), rounded up.

    Raises
    ------
    InputError
        A value out of range.

    Notes
    -----
    GRADE's optimal information size is the number of patients a single adequately
    powered trial would need (Guyatt et al. 2011, GRADE 6); for a difference in means
    each arm needs ``2 (z_{1-alpha/2} + z_{1-beta})^2 sd^2 / mid^2`` (e.g. Julious 2004).

    References
    ----------
    Guyatt GH, Oxman AD, Kunz R, et al. (2011). GRADE guidelines 6. Rating the quality
    of evidence - imprecision. J Clin Epidemiol 64:1283-1293.
    doi:10.1016/j.jclinepi.2011.01.012

    Julious SA (2004). Sample sizes for clinical trials with normal data. Stat Med
    23:1921-1986. doi:10.1002/sim.1783

    Examples
    --------
    >>> from alsmeta.synthesis import optimal_information_size
    >>> optimal_information_size(4.0, 8.0)
    126.0
    """
    problems = []
    for name, value in (("mid", mid), ("sd", sd)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            problems.append(Problem(f"{name}={value!r} must be a number > 0"))
    for name, value in (("alpha", alpha), ("power", power)):
        if not (isinstance(value, int | float) and 0 < value < 1):
            problems.append(Problem(f"{name}={value!r} must lie strictly between 0 and 1"))
    if problems:
        raise InputError(problems)
    z = float(stats.norm.isf(alpha / 2) + stats.norm.ppf(power))
    per_arm = 2 * z * z * sd * sd / (mid * mid)
    return float(2 * math.ceil(per_arm - 1e-9))


def _participants(res: MetaAnalysisResult, given: Any) -> int | None:
    if given is not None:
        try:
            value = float(given)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value <= 0 or value != int(value):
            raise InputError(Problem(f"n_participants={given!r} must be a whole number > 0"))
        return int(value)
    data = res.es.data
    if data is None:
        return None
    for cols in (("ni",), ("n1i", "n2i")):
        if all(c in data.columns for c in cols):
            values = data[list(cols)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            if np.isfinite(values).all():
                return int(values.sum())
    return None


def _crosses(lo: float, hi: float, thresholds: tuple[float, ...]) -> bool:
    return any(lo < t < hi for t in thresholds)


def _thresholds(mid: float | None) -> tuple[float, ...]:
    return (0.0,) if mid is None else (-mid, mid)


def _threshold_text(mid: float | None) -> str:
    return "the null (0)" if mid is None else f"a minimal important difference (+/-{mid:g})"


def _propose_risk_of_bias(
    res: MetaAnalysisResult, rob: RiskOfBiasTable | None, rob_outcome: str | None,
    design: str, notes: list[str], overridden: bool,
) -> tuple[int | None, str]:  # fmt: skip
    if rob is None:
        if not overridden:
            notes.append(
                "no risk-of-bias assessment was given: risk of bias is not rated down, so "
                "the certainty may be overstated"
            )
        return None, "not assessable: no risk-of-bias table given"
    overall = rob.overall(rob_outcome)
    missing = [s for s in res.es.study if s not in overall]
    if missing:
        raise InputError(
            [Problem("study of the meta-analysis has no risk-of-bias assessment", study=s)
             for s in missing]
        )  # fmt: skip
    if (design == "RCT") != (rob.tool == "RoB2"):
        notes.append(f"design {design!r} assessed with {rob.tool}; check the tool fits")
    w = np.asarray(res.weights, dtype=float) / 100.0
    high = np.array([overall[s] in HIGH_RISK[rob.tool] for s in res.es.study])
    concern = np.array([overall[s] in SOME_CONCERNS[rob.tool] for s in res.es.study])
    share_high = float(w[high].sum())
    share_any = float(w[high | concern].sum())
    high_words = " or ".join(HIGH_RISK[rob.tool])
    text = (
        f"{share_high:.0%} of the weight from studies at {high_words} risk, "
        f"{share_any:.0%} at {high_words} risk or with {' or '.join(SOME_CONCERNS[rob.tool])}"
    )
    if share_high > ROB_WEIGHT_SHARE:
        return -2, f"{text}; more than half the weight at {high_words} risk"
    if share_any > ROB_WEIGHT_SHARE:
        return -1, f"{text}; more than half the weight not at low risk"
    return 0, f"{text}; most of the weight from studies without serious concerns"


def _propose_inconsistency(res: MetaAnalysisResult, mid: float | None) -> tuple[int | None, str]:
    if res.k < 2:
        return None, "not assessable: a single study"
    lo, hi = res.pi_lower, res.pi_upper
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = res.ci_lower, res.ci_upper
    important = _crosses(lo, hi, _thresholds(mid))
    where = f"prediction interval {fmt(lo, 3)} to {fmt(hi, 3)}"
    cross = (
        f"crosses {_threshold_text(mid)}" if important else f"does not cross {_threshold_text(mid)}"
    )
    text = f"I^2 = {res.i2:.0f}%, {where} {cross}"
    if res.i2 >= I2_VERY_SERIOUS and important:
        return -2, f"{text}: considerable heterogeneity that matters for the decision"
    if res.i2 >= I2_SERIOUS and important:
        return -1, f"{text}: substantial heterogeneity that matters for the decision"
    if res.i2 >= I2_SERIOUS:
        return 0, f"{text}: effects differ in size but lie on the same side of the threshold"
    return 0, f"{text}: I^2 below {I2_SERIOUS:g}%"


def _propose_imprecision(
    res: MetaAnalysisResult, mid: float | None, ois: float, n: int | None
) -> tuple[int | None, str]:
    lo, hi = res.ci_lower, res.ci_upper
    ci = f"CI {fmt(lo, 3)} to {fmt(hi, 3)}"
    if mid is not None and lo < -mid and hi > mid:
        return -2, f"{ci} includes both important benefit and important harm (MID {mid:g})"
    crosses = _crosses(lo, hi, _thresholds(mid))
    parts = [f"{ci} {'crosses' if crosses else 'does not cross'} {_threshold_text(mid)}"]
    ois_failed = False
    if math.isfinite(ois):
        if n is None:
            parts.append(f"OIS {ois:g} not checked: number of participants unknown")
        else:
            ois_failed = n < ois
            parts.append(
                f"{n} participants {'below' if ois_failed else 'meet'} the optimal "
                f"information size of {ois:g}"
            )
    else:
        parts.append("OIS not computed (needs mid and sd)")
    rating = -min(2, int(crosses) + int(ois_failed))
    return rating, "; ".join(parts)


def _propose_publication_bias(res: MetaAnalysisResult) -> tuple[int | None, str]:
    if res.k < EGGER_MIN_K:
        return None, (f"not assessable: {res.k} studies; Egger's test needs at least {EGGER_MIN_K}")
    from alsmeta.diagnostics import egger_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = egger_test(res).p_value
    if p < EGGER_ALPHA:
        return -1, f"Egger's test p = {p:.3f} < {EGGER_ALPHA:g}: small-study effects"
    return 0, (
        f"Egger's test p = {p:.3f} >= {EGGER_ALPHA:g}: no evidence of small-study "
        "effects (which does not rule publication bias out)"
    )


def _propose_large_effect(res: MetaAnalysisResult, downgraded: bool) -> tuple[int | None, str]:
    if res.es.measure not in _RATIO_MEASURES:
        return None, "not assessable from data: needs a ratio measure (RR, OR, HR)"
    if downgraded:
        return 0, "not proposed: GRADE upgrades only evidence not rated down"
    ratio = math.exp(abs(res.estimate))
    excludes = not res.ci_lower <= 0 <= res.ci_upper
    text = f"ratio {ratio:.2f} (or its inverse)"
    if excludes and res.k >= 2 and ratio > 5:
        return 2, f"{text} > 5 with a CI excluding the null: very large effect"
    if excludes and res.k >= 2 and ratio > 2:
        return 1, f"{text} > 2 with a CI excluding the null: large effect"
    return 0, f"{text}: not a large effect (needs > 2 from at least 2 studies)"


def _parse_overrides(
    overrides: Mapping[str, Any] | None, design: str
) -> dict[str, tuple[int, str]]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise InputError(Problem("overrides must be a dict {domain: (level, reason)}"))
    problems: list[Problem] = []
    out: dict[str, tuple[int, str]] = {}
    for domain, value in overrides.items():
        if domain not in DOWNGRADE_DOMAINS + UPGRADE_DOMAINS:
            problems.append(
                Problem(
                    f"unknown GRADE domain {domain!r}; use one of "
                    f"{', '.join(DOWNGRADE_DOMAINS + UPGRADE_DOMAINS)}",
                    column=str(domain),
                )
            )
            continue
        if isinstance(value, Mapping):
            level, reason = value.get("level"), value.get("reason")
        elif isinstance(value, tuple | list) and len(value) == 2:
            level, reason = value
        else:
            level, reason = value, None
        valid = (0, -1, -2) if domain in DOWNGRADE_DOMAINS else (0, 1, 2)
        if isinstance(level, bool) or level not in valid:
            problems.append(
                Problem(f"level {level!r} is not valid; use one of {valid}", column=domain)
            )
        if not isinstance(reason, str) or not reason.strip():
            problems.append(
                Problem("an override needs a reason: give (level, 'reason')", column=domain)
            )
        if domain in UPGRADE_DOMAINS and design == "RCT" and level not in (0, None):
            problems.append(
                Problem(
                    "rating up applies to non-randomised evidence only (GRADE 9)",
                    column=domain,
                )
            )
        if all(p.column != domain for p in problems) and isinstance(level, int):
            out[domain] = (level, str(reason).strip())
    if problems:
        raise InputError(problems)
    return out


def grade_certainty(
    result: MetaAnalysisResult,
    *,
    outcome: str,
    design: str = "RCT",
    risk_of_bias: RiskOfBiasTable | None = None,
    rob_outcome: str | None = None,
    mid: float | None = None,
    sd: float | None = None,
    n_participants: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    overrides: Mapping[str, Any] | None = None,
) -> GradeAssessment:
    """Rate the certainty of evidence for one outcome with GRADE.

    Parameters
    ----------
    result : MetaAnalysisResult
        The meta-analysis of the outcome (on the analysis scale, null at 0).
    outcome : str
        Name of the outcome, used in the statement (e.g. ``"ALSFRS-R decline"``).
    design : {"RCT", "non-randomised"}
        Randomised evidence starts high, non-randomised low.
    risk_of_bias : RiskOfBiasTable, optional
        Assessments of the studies of ``result`` (labels must match).
    rob_outcome : str, optional
        Outcome to read from ``risk_of_bias`` when it holds several per study.
    mid : float, optional
        Minimal important difference on the analysis scale (> 0).
    sd : float, optional
        Standard deviation of the outcome for the optimal information size.
    n_participants : int, optional
        Total participants; default from the data columns ``ni`` or ``n1i + n2i``.
    alpha, power : float
        For the optimal information size.
    overrides : dict, optional
        ``{domain: (level, reason)}`` or ``{domain: {"level": .., "reason": ..}}``;
        downgrades 0/-1/-2, upgrades 0/+1/+2. A reason is required.

    Returns
    -------
    GradeAssessment

    Raises
    ------
    InputError
        Unknown design or domain, an override without a reason or with a bad level,
        upgrades for randomised evidence, studies missing from ``risk_of_bias``, a bad
        ``mid``, ``sd`` or ``n_participants``.

    Notes
    -----
    Proposals (each rule written into the domain's reason):

    * risk of bias: share of the random-effects weight from studies at high risk (RoB 2
      "high"; ROBINS-I "serious"/"critical") > 50 %: -2; else share at high risk or
      some concerns (ROBINS-I: "no information") > 50 %: -1; else 0 (GRADE 4).
    * inconsistency: with thresholds T = {0} without a MID, {-MID, +MID} with one, the
      heterogeneity matters when the prediction interval crosses a threshold; -2 if it
      does and I^2 >= 75 %, -1 if it does and I^2 >= 50 %, else 0 (GRADE 7; I^2 bands of
      the Cochrane Handbook 10.10.2).
    * imprecision: -2 if the CI includes both -MID and +MID; else -1 for each of "the CI
      crosses a threshold of T" and "the participants are fewer than the optimal
      information size ``4 (z_{1-alpha/2} + z_{power})^2 sd^2 / MID^2``", at most -2
      (GRADE 6).
    * publication bias: with k >= 10, Egger's regression test (metafor ``regtest``
      default) p < 0.10: -1, else 0; with k < 10 not assessable (Sterne et al. 2011).
    * large effect (non-randomised, ratio measures, no downgrade): ratio > 2 (or < 1/2)
      with a CI excluding 1 from >= 2 studies: +1; > 5: +2 (GRADE 9).
    * indirectness, dose response, plausible confounding: the reviewer's call.

    Certainty = start (4 RCT, 2 non-randomised) + final ratings, within 1 (very low) to
    4 (high) (GRADE 3).

    References
    ----------
    Guyatt GH, Oxman AD, Akl EA, et al. (2011). GRADE guidelines 1. J Clin Epidemiol
    64:383-394. doi:10.1016/j.jclinepi.2010.04.026

    Balshem H, Helfand M, Schünemann HJ, et al. (2011). GRADE guidelines 3. Rating the
    quality of evidence. J Clin Epidemiol 64:401-406. doi:10.1016/j.jclinepi.2010.07.015

    Guyatt GH, Oxman AD, Vist G, et al. (2011). GRADE guidelines 4. Risk of bias.
    J Clin Epidemiol 64:407-415. doi:10.1016/j.jclinepi.2010.07.017

    Guyatt GH, Oxman AD, Kunz R, et al. (2011). GRADE guidelines 6. Imprecision.
    J Clin Epidemiol 64:1283-1293. doi:10.1016/j.jclinepi.2011.01.012

    Guyatt GH, Oxman AD, Kunz R, et al. (2011). GRADE guidelines 7. Inconsistency.
    J Clin Epidemiol 64:1294-1302. doi:10.1016/j.jclinepi.2011.03.017

    Guyatt GH, Oxman AD, Montori V, et al. (2011). GRADE guidelines 5. Publication bias.
    J Clin Epidemiol 64:1277-1282. doi:10.1016/j.jclinepi.2011.01.011

    Guyatt GH, Oxman AD, Sultan S, et al. (2011). GRADE guidelines 9. Rating up the
    quality of evidence. J Clin Epidemiol 64:1311-1316.
    doi:10.1016/j.jclinepi.2011.06.004

    Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations for examining
    and interpreting funnel plot asymmetry. BMJ 343:d4002. doi:10.1136/bmj.d4002

    Santesso N, Glenton C, Dahm P, et al. (2020). GRADE guidelines 26: informative
    statements to communicate the findings of systematic reviews of interventions.
    J Clin Epidemiol 119:126-135. doi:10.1016/j.jclinepi.2019.10.014

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta import meta_analysis
    >>> from alsmeta.synthesis import grade_certainty
    >>> es = pd.DataFrame({"yi": [3.1, 2.4, 3.8, 2.9, 3.3], "vi": [1.0, 1.2, 0.9, 1.1, 1.0],
    ...                    "ni": [40, 36, 50, 44, 42]})
    >>> g = grade_certainty(meta_analysis(es), outcome="ALSFRS-R at 6 months",
    ...                     mid=2.0, sd=6.0,
    ...                     overrides={"risk_of_bias": (-1, "open-label trials")})
    >>> g.certainty, g.domain("imprecision").final
    ('low', -1)
    >>> g.domain("imprecision").reason.split("; ")[1]
    '212 participants below the optimal information size of 284'
    >>> g.sof_row(intervention="cell therapy")["statement"]
    'Cell therapy may increase ALSFRS-R at 6 months.'
    """
    if not isinstance(result, MetaAnalysisResult):
        raise InputError(Problem(f"expected a MetaAnalysisResult, got {type(result).__name__}"))
    design = check_choice("design", design, DESIGNS)
    problems: list[Problem] = []
    if not isinstance(outcome, str) or not outcome.strip():
        problems.append(Problem("outcome must be a non-empty name"))
    for name, value in (("mid", mid), ("sd", sd)):
        if value is not None and not (
            isinstance(value, int | float) and math.isfinite(value) and value > 0
        ):
            problems.append(Problem(f"{name}={value!r} must be a number > 0"))
    if problems:
        raise InputError(problems)
    parsed = _parse_overrides(overrides, design)
    n = _participants(result, n_participants)
    ois = (
        optimal_information_size(float(mid), float(sd), alpha=alpha, power=power)
        if mid is not None and sd is not None
        else math.nan
    )
    notes: list[str] = []
    proposals: dict[str, tuple[int | None, str]] = {
        "risk_of_bias": _propose_risk_of_bias(
            result, risk_of_bias, rob_outcome, design, notes, "risk_of_bias" in parsed
        ),
        "inconsistency": _propose_inconsistency(result, None if mid is None else float(mid)),
        "indirectness": (
            None,
            "not assessable from data: population, intervention, comparator and outcome "
            "must be judged by the reviewer",
        ),
        "imprecision": _propose_imprecision(result, None if mid is None else float(mid), ois, n),
        "publication_bias": _propose_publication_bias(result),
    }
    domains: list[DomainRating] = []
    for name in DOWNGRADE_DOMAINS:
        domains.append(_rate(name, "downgrade", proposals[name], parsed.get(name)))
    downgraded = any(d.final < 0 for d in domains)
    for name in UPGRADE_DOMAINS:
        if design == "RCT":
            proposal: tuple[int | None, str] = (
                None, "not applicable: randomised evidence is not rated up",
            )  # fmt: skip
        elif name == "large_effect":
            proposal = _propose_large_effect(result, downgraded)
        else:
            proposal = (None, "not assessable from data: the reviewer's call")
        domains.append(_rate(name, "upgrade", proposal, parsed.get(name)))
    start = 4 if design == "RCT" else 2
    score = max(1, min(4, start + sum(d.final for d in domains)))
    if "indirectness" not in parsed:
        notes.append(
            "indirectness was not rated: alsmeta cannot judge it from data; confirm it with "
            "overrides={'indirectness': (0, 'reason')}"
        )
    if mid is None:
        notes.append(
            "no minimal important difference given: imprecision and inconsistency are "
            "judged against the null, and no optimal information size is computed"
        )
    if result.method == "EE" and result.k > 1:
        notes.append(
            "equal-effects model: its prediction interval equals the CI, so inconsistency "
            "is judged from I^2 and the CI only"
        )
    return GradeAssessment(
        outcome=outcome,
        design=design,
        result=result,
        start=start,
        score=score,
        certainty=CERTAINTY_LEVELS[score],
        domains=tuple(domains),
        n_studies=result.k,
        n_participants=n,
        mid=None if mid is None else float(mid),
        sd=None if sd is None else float(sd),
        optimal_information_size=ois,
        notes=tuple(notes),
    )


def _rate(
    name: str, kind: str, proposal: tuple[int | None, str], override: tuple[int, str] | None
) -> DomainRating:
    proposed, why = proposal
    if override is not None:
        level, reason = override
        return DomainRating(name, kind, proposed, why, level, reason, True)
    return DomainRating(name, kind, proposed, why, 0 if proposed is None else proposed, why, False)
