"""Claims that clinics make about cell therapy for ALS, tested against the evidence base.

A :class:`Claim` is data (the statement as clinics make it, the outcome, population and
comparison, which evidence it may use) plus the name of an evaluator (``kind``). The six
claims of the bundled ``data/claims.yaml`` are read by :func:`load_claims`;
:func:`evaluate_claims` tests each against an evidence base and returns one frozen
:class:`Verdict` per claim, with the reason in plain words, the numbers used, the
studies used and the studies set aside with the reason.

Which evidence
--------------
Efficacy claims use **randomised trials only** (``evidence: randomised``, the default):
a study enters when its record says ``randomised: true``; every other study is set
aside with the reason ``"not randomised (design: ...)"``. Claims (a) to (c) also report,
as context and never as the verdict, what the same count looks like over all studies.

Each trial contributes **one ALSFRS-R result**: among its outcomes with an ALSFRS-R
endpoint (change, slope change, slope, total, responders) that describe the whole trial
(not a post hoc subgroup), the primary one first, then change before slope change, slope,
total and responders, then the latest time point.

* **Direction** of that result (+ slower decline, - faster decline): the sign of the
  converted effect size ``yi`` (positive = benefit, see
  :meth:`~alsmeta.evidence.EvidenceBase.effect_sizes`); else the sign of the reported
  difference or of the arms' (least-squares) means, oriented by the outcome's direction;
  for a single arm with a lead-in (context only), the change of slope after treatment.
  Otherwise it is ``"not reported"`` (a trial saying only "no significant difference"
  has no direction).
* **Significance**: as the trial reports it (``significant_reported``, else an exact
  p-value < 0.05, or a bound such as ``p < 0.01``); when the effect size can be
  converted it is also recomputed, ``p = 2 (1 - Phi(|yi| / sqrt(vi)))``, and a
  disagreement is noted. The verdict uses the reported significance, the recomputed one
  when nothing is reported.

Verdict rules
-------------
``ALPHA = 0.05`` and ``MIN_TRIALS = 2`` throughout. The rules are checked in the order
written; the first that applies gives the verdict.

Effect claims, where the evidence is the size or direction of effects:

(a) ``all_trials_slowing`` -- "all N trials show slowing". Directions of the randomised
    trials, exact two-sided sign test (:func:`~alsmeta.synthesis.sign_test`).
    *contradicted*: a trial shows a significantly faster decline, or the sign test is
    significant with more trials pointing to harm. *insufficient evidence*: fewer than
    2 trials with a direction. *supported*: every trial points to slowing and the sign
    test is significant (which needs at least 6 trials). *not supported*: otherwise
    (some trial does not point to slowing or does not say, or the count could be
    chance).
(d), (e) ``subgroup_best`` -- "route X works best", "cell type X does better". One
    poolable result per randomised trial (``endpoint``, a mean difference, whole trial);
    groups with fewer than 2 trials are set aside. *insufficient evidence*: the claimed
    group or every other group has fewer than 2 trials. Otherwise a random-effects
    subgroup analysis (REML, separate tau^2, z; :func:`~alsmeta.meta.subgroup_analysis`)
    with the test for subgroup differences, and z-tests of the claimed group against
    each other group. *contradicted*: another group is significantly better.
    *supported*: the test for subgroup differences is significant and the claimed group
    is significantly better than every other group. *not supported*: otherwise.

Claims about what the trials reported, where the trial records themselves are the
evidence:

(b) ``significance_count`` -- "N trials, all but two significant". *insufficient
    evidence*: fewer than 2 trials with a known significance. *contradicted*: fewer
    trials were significant (in favour of cell therapy) than the claim says, or more
    were not. *supported*: the counts match (and N, when the claim gives it) and no
    trial's significance is unknown. *not supported*: otherwise (the claim understates,
    or some trials cannot be checked).
(c) ``followup_significance`` -- "every trial with >= 6 months of follow-up saw
    significant ALSFRS-R differences". Trials with follow-up (else the result's time
    point) of at least ``min_followup_months``. *contradicted*: a qualifying trial was
    not significant, or significant against cell therapy. *insufficient evidence*: fewer
    than 2 qualifying trials with a known significance (none at all, for example).
    *supported*: all are significant in favour of cell therapy and none is unknown.
    *not supported*: otherwise (some cannot be checked).
(f) ``design`` -- "the evidence is randomised and controlled". Every study in the
    evidence base (``evidence: all``); a randomised controlled trial is a study with
    ``randomised: true`` and design ``"RCT"`` or ``"within-patient randomised"``.
    *insufficient evidence*: no studies. *supported*: all are randomised controlled.
    *contradicted*: fewer than half are. *not supported*: otherwise.

Examples
--------
>>> from alsmeta.evidence.claims import evaluate_claims
>>> for v in evaluate_claims():
...     print(f"{v.claim_id}: {v.verdict}")
all_trials_show_slowing: not supported
all_but_two_significant: contradicted
six_months_significant: contradicted
intrathecal_works_best: insufficient evidence
msc_better_than_other_cells: insufficient evidence
evidence_is_randomised: contradicted
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from alsmeta.errors import InputError, Problem

if TYPE_CHECKING:
    from alsmeta.evidence.base import EvidenceBase
    from alsmeta.evidence.schema import Outcome, Study

__all__ = [
    "ALPHA",
    "ALSFRS_ENDPOINTS",
    "CLAIM_KINDS",
    "MIN_TRIALS",
    "VERDICTS",
    "Claim",
    "Verdict",
    "evaluate_claim",
    "evaluate_claims",
    "load_claims",
]

#: The four verdicts, from best to worst supported.
VERDICTS: tuple[str, ...] = ("supported", "not supported", "contradicted", "insufficient evidence")
#: Significance level of every test a verdict rests on.
ALPHA = 0.05
#: The fewest trials (or trials per subgroup) that can test a claim.
MIN_TRIALS = 2
#: ALSFRS-R endpoints, in the order one is chosen when a trial reports several.
ALSFRS_ENDPOINTS: tuple[str, ...] = (
    "alsfrs_r_change",
    "alsfrs_r_slope_change",
    "alsfrs_r_slope",
    "alsfrs_r_total",
    "alsfrs_responder",
)
#: Designs that count as randomised controlled (with ``randomised: true``).
RANDOMISED_CONTROLLED: tuple[str, ...] = ("RCT", "within-patient randomised")
#: Where the bundled claims live (inside ``alsmeta.evidence.data``).
BUNDLED_CLAIMS = "claims.yaml"

_EVIDENCE_SCOPES = ("randomised", "all")
_DIRECTION_NAMES = {1: "benefit", -1: "harm", 0: "no clear direction", None: "not reported"}


# ---------------------------------------------------------------------------- data
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Claim:
    """A claim as data: what is said, about what, and which evidence may test it.

    Parameters
    ----------
    claim_id : str
        A short identifier.
    statement : str
        The claim in the words clinics use.
    kind : str
        The evaluator, one of :data:`CLAIM_KINDS`.
    outcome, population, comparison : str
        What the claim is about, in words.
    evidence : {"randomised", "all"}
        ``"randomised"``: randomised trials only (efficacy claims); ``"all"``: every study.
    parameters : mapping
        Options of the evaluator (see :data:`CLAIM_KINDS` and the module docstring).

    Examples
    --------
    >>> from alsmeta.evidence.claims import load_claims
    >>> claim = load_claims()[0]
    >>> claim.kind, claim.evidence
    ('all_trials_slowing', 'randomised')
    """

    claim_id: str
    statement: str
    kind: str
    outcome: str = ""
    population: str = ""
    comparison: str = ""
    evidence: str = "randomised"
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    def to_dict(self) -> dict[str, Any]:
        """Return the claim as a JSON-safe dict."""
        return {
            "claim_id": self.claim_id,
            "statement": self.statement,
            "kind": self.kind,
            "outcome": self.outcome,
            "population": self.population,
            "comparison": self.comparison,
            "evidence": self.evidence,
            "parameters": _json(dict(self.parameters)),
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Verdict:
    """What the evidence says about one claim.

    ``verdict`` is one of :data:`VERDICTS`; ``reason`` says why in plain words;
    ``numbers`` holds the counts, estimates with CIs, p-values and test statistics the
    verdict rests on; ``evidence_used`` lists the study ids used and
    ``evidence_excluded`` the study ids set aside, each with the reason.

    Examples
    --------
    >>> from alsmeta.evidence.claims import evaluate_claims
    >>> v = evaluate_claims()[-1]
    >>> v.verdict, v.numbers["n_studies"] > v.numbers["n_randomised_controlled"]
    ('contradicted', True)
    >>> sorted(v.to_dict())  # doctest: +NORMALIZE_WHITESPACE
    ['claim_id', 'evidence_excluded', 'evidence_used', 'notes', 'numbers', 'reason',
     'statement', 'verdict']
    """

    claim_id: str
    statement: str
    verdict: str
    reason: str
    numbers: Mapping[str, Any]
    evidence_used: tuple[str, ...]
    evidence_excluded: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not one of {', '.join(VERDICTS)}")
        object.__setattr__(self, "numbers", MappingProxyType(dict(self.numbers)))
        object.__setattr__(self, "evidence_used", tuple(self.evidence_used))
        object.__setattr__(self, "evidence_excluded", tuple(map(tuple, self.evidence_excluded)))
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (``nan`` becomes ``None``); the CLI's JSON record."""
        return {
            "claim_id": self.claim_id,
            "statement": self.statement,
            "verdict": self.verdict,
            "reason": self.reason,
            "numbers": _json(dict(self.numbers)),
            "evidence_used": list(self.evidence_used),
            "evidence_excluded": [
                {"study_id": study, "reason": why} for study, why in self.evidence_excluded
            ],
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Return the claim, its verdict, the reason and the numbers as plain text."""
        lines = [
            f"Claim {self.claim_id}: {self.statement}",
            f"Verdict: {self.verdict.upper()}",
            f"Why: {self.reason}",
            "Numbers:",
        ]
        lines += _render(dict(self.numbers), indent=2)
        lines.append(
            "Evidence used: " + (", ".join(self.evidence_used) if self.evidence_used else "none")
        )
        if self.evidence_excluded:
            lines.append("Set aside:")
            grouped: dict[str, list[str]] = {}
            for study, why in self.evidence_excluded:
                grouped.setdefault(why, []).append(study)
            lines += [f"  {why}: {', '.join(ids)}" for why, ids in grouped.items()]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------- loading
def load_claims(path: str | Path | None = None) -> tuple[Claim, ...]:
    """Read claims from a YAML file (the bundled ``claims.yaml`` by default).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with a top-level ``claims`` list; each item has ``claim_id``,
        ``statement``, ``kind`` and optionally ``outcome``, ``population``,
        ``comparison``, ``evidence`` and ``parameters``.

    Returns
    -------
    tuple of Claim

    Raises
    ------
    InputError
        Listing every problem: a missing field, an unknown ``kind`` or ``evidence``, an
        unknown or missing parameter.

    Examples
    --------
    >>> from alsmeta.evidence.claims import load_claims
    >>> [c.claim_id for c in load_claims()][:2]
    ['all_trials_show_slowing', 'all_but_two_significant']
    """
    import yaml

    if path is None:
        text = resources.files("alsmeta.evidence.data").joinpath(BUNDLED_CLAIMS).read_text("utf-8")
        name = f"bundled {BUNDLED_CLAIMS}"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(Problem(f"file not found: {path}"))
        text = p.read_text(encoding="utf-8")
        name = str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(Problem(f"{name}: not a readable YAML file ({exc})")) from None
    items = raw.get("claims") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise InputError(Problem(f"{name}: expected a top-level 'claims' list"))
    return claims_from_records(items)


def claims_from_records(records: Sequence[Mapping[str, Any]]) -> tuple[Claim, ...]:
    """Build and check claims from plain dicts (as in ``claims.yaml``).

    Raises
    ------
    InputError
        Listing every problem found, by row and claim.

    Examples
    --------
    >>> from alsmeta.evidence.claims import claims_from_records
    >>> claims_from_records([{"claim_id": "f", "statement": "All RCTs.", "kind": "design",
    ...                       "evidence": "all"}])[0].kind
    'design'
    """
    problems: list[Problem] = []
    claims: list[Claim] = []
    fields = {"claim_id", "statement", "kind", "outcome", "population", "comparison",
              "evidence", "parameters"}  # fmt: skip
    for row, rec in enumerate(records, start=1):
        if not isinstance(rec, Mapping):
            problems.append(Problem("a claim must be a mapping", row=row))
            continue
        cid = str(rec.get("claim_id", "")) or None
        for key in ("claim_id", "statement", "kind"):
            if not rec.get(key):
                problems.append(Problem(f"{key} is missing", row=row, study=cid, column=key))
        for key in sorted(set(rec) - fields):
            problems.append(
                Problem(f"unknown field; use {', '.join(sorted(fields))}", row=row, study=cid,
                        column=str(key))
            )  # fmt: skip
        kind = rec.get("kind")
        if kind and kind not in CLAIM_KINDS:
            problems.append(
                Problem(f"kind={kind!r} is not valid; use one of {', '.join(CLAIM_KINDS)}",
                        row=row, study=cid, column="kind")
            )  # fmt: skip
        evidence = rec.get("evidence", "randomised")
        if evidence not in _EVIDENCE_SCOPES:
            problems.append(
                Problem(f"evidence={evidence!r} is not valid; use 'randomised' or 'all'",
                        row=row, study=cid, column="evidence")
            )  # fmt: skip
        params = rec.get("parameters") or {}
        if not isinstance(params, Mapping):
            problems.append(Problem("must be a mapping", row=row, study=cid, column="parameters"))
            params = {}
        if kind in CLAIM_KINDS:
            for msg in _check_parameters(kind, params):
                problems.append(Problem(msg, row=row, study=cid, column="parameters"))
        if not problems:
            claims.append(
                Claim(
                    claim_id=str(rec["claim_id"]),
                    statement=str(rec["statement"]),
                    kind=str(kind),
                    outcome=str(rec.get("outcome") or ""),
                    population=str(rec.get("population") or ""),
                    comparison=str(rec.get("comparison") or ""),
                    evidence=str(evidence),
                    parameters=dict(params),
                )
            )
    ids = [c.claim_id for c in claims]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem("duplicate claim_id", study=dup, column="claim_id"))
    if problems:
        raise InputError(problems)
    return tuple(claims)


_PARAMETERS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required, optional)
    "all_trials_slowing": (set(), set()),
    "significance_count": ({"claimed_not_significant"}, {"claimed_trials"}),
    "followup_significance": (set(), {"min_followup_months"}),
    "subgroup_best": (
        {"by", "claimed_levels"},
        {"claimed_label", "others_label", "endpoint", "method", "test"},
    ),
    "design": (set(), set()),
}


def _check_parameters(kind: str, params: Mapping[str, Any]) -> list[str]:
    required, optional = _PARAMETERS[kind]
    out = [
        f"parameter {key!r} is required by kind {kind!r}" for key in sorted(required - set(params))
    ]
    unknown = sorted(set(params) - required - optional)
    if unknown:
        valid = ", ".join(sorted(required | optional)) or "none"
        out += [
            f"parameter {key!r} is not known for kind {kind!r}; valid: {valid}" for key in unknown
        ]
    if kind == "subgroup_best" and params.get("by") not in (None, "route", "cell_type"):
        out.append(f"by={params['by']!r} is not valid; use 'route' or 'cell_type'")
    if kind == "significance_count":
        for key in ("claimed_not_significant", "claimed_trials"):
            value = params.get(key)
            if value is not None and (not isinstance(value, int) or value < 0):
                out.append(f"{key}={value!r} must be a whole number >= 0")
    return out


# ---------------------------------------------------------------------------- evaluation
def evaluate_claims(
    evidence: EvidenceBase | str | Path | None = None,
    *,
    claims: Sequence[Claim] | None = None,
) -> tuple[Verdict, ...]:
    """Test claims against an evidence base.

    Parameters
    ----------
    evidence : EvidenceBase, str or Path, optional
        The evidence base, or a file to load with
        :func:`~alsmeta.evidence.load_evidence`; the bundled ALS trials when omitted.
    claims : sequence of Claim, optional
        The claims; the six bundled claims of :func:`load_claims` when omitted.

    Returns
    -------
    tuple of Verdict
        One per claim, in order.

    Raises
    ------
    InputError
        If the evidence file is invalid.

    Notes
    -----
    The verdict rules are in the module docstring. Warnings raised while fitting (few
    studies) are kept in the verdict's ``notes`` rather than emitted.

    Examples
    --------
    >>> from alsmeta.evidence.claims import evaluate_claims
    >>> v = evaluate_claims()[0]
    >>> v.verdict, v.numbers["n_benefit"], v.numbers["n_direction_not_reported"]
    ('not supported', 2, 3)
    """
    from alsmeta.evidence.base import EvidenceBase
    from alsmeta.evidence.loader import load_evidence

    base = evidence if isinstance(evidence, EvidenceBase) else load_evidence(evidence)
    chosen = load_claims() if claims is None else tuple(claims)
    context = _Context(base)
    return tuple(_EVALUATORS[c.kind](c, context) for c in chosen)


def evaluate_claim(claim: Claim, evidence: EvidenceBase | str | Path | None = None) -> Verdict:
    """Test one claim; see :func:`evaluate_claims`.

    Examples
    --------
    >>> from alsmeta.evidence.claims import evaluate_claim, load_claims
    >>> evaluate_claim(load_claims()[3]).verdict
    'insufficient evidence'
    """
    return evaluate_claims(evidence, claims=[claim])[0]


@dataclass(frozen=True, slots=True)
class _Trial:
    """One study's chosen ALSFRS-R result with its direction and significance."""

    study: Study
    outcome: Outcome
    measure: str
    yi: float
    vi: float
    conversion: str | None
    direction: int | None
    direction_basis: str
    significant_reported: bool | None
    reported_basis: str
    p_value_recomputed: float
    significant_recomputed: bool | None

    @property
    def significant(self) -> bool | None:
        if self.significant_reported is not None:
            return self.significant_reported
        return self.significant_recomputed

    @property
    def status(self) -> str:
        """``"significant benefit"``, ``"significant harm"``, ``"not significant"`` or
        ``"unknown"``."""
        sig = self.significant
        if sig is None:
            return "unknown"
        if not sig:
            return "not significant"
        if self.direction == 1:
            return "significant benefit"
        if self.direction == -1:
            return "significant harm"
        return "unknown"

    @property
    def followup_months(self) -> float | None:
        months = self.study.followup_months
        return months if months is not None else self.outcome.timepoint_months

    def to_dict(self) -> dict[str, Any]:
        se = math.sqrt(self.vi) if math.isfinite(self.vi) else math.nan
        o, p = self.outcome, self.outcome.p_value
        return {
            "study_id": self.study.study_id,
            "outcome_id": o.outcome_id,
            "endpoint": o.endpoint,
            "design": self.study.design,
            "randomised": self.study.randomised,
            "followup_months": _opt(self.followup_months),
            "measure": self.measure,
            "yi": self.yi,
            "vi": self.vi,
            "ci_lower": self.yi - _Z975 * se,
            "ci_upper": self.yi + _Z975 * se,
            "conversion": self.conversion,
            "direction": _DIRECTION_NAMES[self.direction],
            "direction_basis": self.direction_basis,
            "p_value_reported": None if p is None else p.value,
            "p_value_relation": None if p is None else p.relation,
            "significant_reported": self.significant_reported,
            "significant_reported_basis": self.reported_basis or None,
            "p_value_recomputed": self.p_value_recomputed,
            "significant_recomputed": self.significant_recomputed,
            "significant": self.significant,
            "status": self.status,
        }


_Z975 = 1.959963984540054


class _Context:
    """The evidence base with its conversions, computed once for all claims."""

    def __init__(self, base: EvidenceBase) -> None:
        self.base = base
        self.by_study: dict[str, list[Outcome]] = {s.study_id: [] for s in base.studies}
        for o in base.outcomes:
            self.by_study.setdefault(o.study_id, []).append(o)
        md = base.effect_size_frame(None, "MD")
        odds = base.effect_size_frame("alsfrs_responder", "OR")
        self.converted: dict[str, tuple[str, float, float, str | None, str | None]] = {}
        for frame, measure in ((md, "MD"), (odds, "log OR")):
            if frame.empty:
                continue
            for rec in frame.to_dict(orient="records"):
                key, yi = str(rec["outcome_id"]), float(rec["yi"])
                # A binary outcome converts as an OR only: keep its finite record.
                if key not in self.converted or math.isfinite(yi):
                    self.converted[key] = (
                        measure, yi, float(rec["vi"]), rec["conversion"], rec["reason"]
                    )  # fmt: skip

    def is_converted(self, outcome_id: str) -> bool:
        """Whether the outcome has a finite effect size."""
        rec = self.converted.get(outcome_id)
        return rec is not None and math.isfinite(rec[1])

    def scope(self, claim: Claim) -> tuple[list[Study], list[tuple[str, str]]]:
        """The studies a claim may use, and those set aside with the reason."""
        if claim.evidence == "all":
            return list(self.base.studies), []
        used, excluded = [], []
        for s in self.base.studies:
            if s.randomised is True:
                used.append(s)
            else:
                excluded.append((s.study_id, f"not randomised (design: {s.design})"))
        return used, excluded

    def trial(self, study: Study) -> tuple[_Trial | None, str]:
        """The study's one ALSFRS-R result, or ``None`` and the reason."""
        outcomes = self.by_study.get(study.study_id, [])
        alsfrs = [o for o in outcomes if o.endpoint in ALSFRS_ENDPOINTS]
        if not alsfrs:
            reported = ", ".join(sorted({o.endpoint for o in outcomes})) or "no outcomes"
            return None, f"no ALSFRS-R outcome (reports: {reported})"
        whole = [o for o in alsfrs if o.subgroup is None and o.nesting_group is None]
        if not whole:
            return None, "ALSFRS-R reported only for subgroups, not for the whole trial"
        best = min(
            whole,
            key=lambda o: (
                o.primary is not True,
                ALSFRS_ENDPOINTS.index(o.endpoint),
                -(o.timepoint_months or 0.0),
            ),
        )
        return self._assess(study, best), ""

    def _assess(self, study: Study, o: Outcome) -> _Trial:
        measure, yi, vi, conversion, _reason = self.converted.get(
            o.outcome_id, ("MD", math.nan, math.nan, None, None)
        )
        direction, basis = _direction(o, yi)
        reported, reported_basis = _reported_significance(o)
        p_re, sig_re = math.nan, None
        if math.isfinite(yi) and math.isfinite(vi) and vi > 0:
            p_re = math.erfc(abs(yi) / math.sqrt(vi) / math.sqrt(2.0))
            sig_re = p_re < ALPHA
        return _Trial(
            study=study,
            outcome=o,
            measure=measure if math.isfinite(yi) else "",
            yi=yi,
            vi=vi,
            conversion=conversion,
            direction=direction,
            direction_basis=basis,
            significant_reported=reported,
            reported_basis=reported_basis,
            p_value_recomputed=p_re,
            significant_recomputed=sig_re,
        )

    def trials(self, studies: Sequence[Study]) -> tuple[list[_Trial], list[tuple[str, str]]]:
        found, excluded = [], []
        for s in studies:
            t, why = self.trial(s)
            if t is None:
                excluded.append((s.study_id, why))
            else:
                found.append(t)
        return found, excluded


def _sign(x: float) -> int:
    return 1 if x > 0 else (-1 if x < 0 else 0)


def _direction(o: Outcome, yi: float) -> tuple[int | None, str]:
    if math.isfinite(yi):
        return _sign(yi), "sign of the effect size yi"
    if o.direction is None:
        return None, "which way is better is not recorded for this outcome"
    orient = 1 if o.direction == "higher_is_benefit" else -1
    eff = o.effect
    if eff is not None and eff.estimate.is_exact:
        value = eff.estimate.value
        if eff.measure == "MD":
            return orient * _sign(value), "sign of the reported difference"
        # Responder OR/RR above 1 favour treatment when more is better; an HR's sign
        # depends on which event it counts, so it gives no direction here.
        if eff.measure in ("OR", "RR") and value > 0:
            return orient * _sign(math.log(value)), f"reported {eff.measure} against 1"
    t, c = o.arm("treatment"), o.arm("control")
    if t is not None and c is not None:
        for name in ("mean", "ls_mean"):
            mt, mc = getattr(t, name), getattr(c, name)
            if mt is not None and mc is not None and mt.is_exact and mc.is_exact:
                label = "means" if name == "mean" else "least-squares means"
                return orient * _sign(mt.value - mc.value), f"difference of the arms' {label}"
    if t is not None and c is None and t.slope_before is not None and t.slope_after is not None:
        change = t.slope_after.value - t.slope_before.value
        return orient * _sign(change), "slope after minus before treatment (no control group)"
    return None, "no estimate reported"


def _reported_significance(o: Outcome) -> tuple[bool | None, str]:
    if o.significant_reported is not None:
        text = o.significant_reported_text or ("yes" if o.significant_reported else "no")
        return o.significant_reported, f"reported by the trial ({text})"
    p = o.p_value
    if p is None:
        return None, ""
    if p.relation == "=":
        return p.value < ALPHA, f"reported p = {p.value:g}"
    if p.relation in ("<", "<=") and p.value <= ALPHA:
        return True, f"reported p {p.relation} {p.value:g}"
    if p.relation in (">", ">=") and p.value >= ALPHA:
        return False, f"reported p {p.relation} {p.value:g}"
    return None, ""


def _verdict(
    claim: Claim,
    verdict: str,
    reason: str,
    numbers: dict[str, Any],
    used: Sequence[str],
    excluded: Sequence[tuple[str, str]],
    notes: Sequence[str] = (),
) -> Verdict:
    scope = (
        "randomised trials only" if claim.evidence == "randomised" else "all studies, any design"
    )
    base_notes = [f"Evidence used for the verdict: {scope}."]
    return Verdict(
        claim_id=claim.claim_id,
        statement=claim.statement,
        verdict=verdict,
        reason=reason,
        numbers={"evidence_scope": scope, "alpha": ALPHA, **numbers},
        evidence_used=tuple(used),
        evidence_excluded=tuple(excluded),
        notes=(*base_notes, *notes),
    )


def _trials_of(claim: Claim, ctx: _Context) -> tuple[list[_Trial], list[tuple[str, str]]]:
    studies, excluded = ctx.scope(claim)
    trials, more = ctx.trials(studies)
    return trials, excluded + more


def _discrepancy_notes(trials: Sequence[_Trial]) -> list[str]:
    notes = []
    for t in trials:
        rep, rec = t.significant_reported, t.significant_recomputed
        if rep is not None and rec is not None and rep != rec:
            notes.append(
                f"{t.study.study_id}: the trial reports the result as "
                f"{'significant' if rep else 'not significant'}, but recomputed from the "
                f"converted effect size (p = {t.p_value_recomputed:.3g}) it is "
                f"{'significant' if rec else 'not significant'}; the verdict uses the "
                "trial's own analysis"
            )
    return notes


def _direction_counts(trials: Sequence[_Trial]) -> dict[str, Any]:
    from alsmeta.synthesis import sign_test

    dirs = [t.direction for t in trials]
    known = [(t.study.study_id, d) for t, d in zip(trials, dirs, strict=True) if d is not None]
    out: dict[str, Any] = {
        "n_trials": len(trials),
        "n_benefit": dirs.count(1),
        "n_harm": dirs.count(-1),
        "n_no_clear_direction": dirs.count(0),
        "n_direction_not_reported": dirs.count(None),
    }
    test: dict[str, Any] = {"n": 0, "p_value": math.nan}
    if any(d != 0 for _, d in known):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sign_test([d for _, d in known], study=[s for s, _ in known])
        test = {
            "n": res.n,
            "p_value": res.p_value,
            "proportion_benefit": res.proportion_benefit,
            "ci_lower": res.ci_lower,
            "ci_upper": res.ci_upper,
        }
    out["sign_test"] = test
    return out


def _trial_list(trials: Sequence[_Trial]) -> list[dict[str, Any]]:
    return [t.to_dict() for t in trials]


def _ids(trials: Sequence[_Trial]) -> list[str]:
    return [t.study.study_id for t in trials]


def _plural(n: int, one: str, many: str | None = None) -> str:
    count = "no" if n == 0 else str(n)
    return f"{count} {one if n == 1 else (many or one + 's')}"


def _only(n: int, one: str) -> str:
    """``"No trial"``, ``"Only 1 trial"``, ``"Only 3 trials"``."""
    return f"No {one}" if n == 0 else f"Only {_plural(n, one)}"


# ------------------------------------------------------------------- (a) directions
def _eval_all_trials_slowing(claim: Claim, ctx: _Context) -> Verdict:
    trials, excluded = _trials_of(claim, ctx)
    counts = _direction_counts(trials)
    numbers: dict[str, Any] = {**counts, "trials": _trial_list(trials)}
    notes = [
        "A sign test counts directions only; it ignores the size and precision of each result."
    ]
    if claim.evidence == "randomised":
        everything, _ = ctx.trials(ctx.base.studies)
        context = _direction_counts(everything)
        context["studies"] = _ids(everything)
        numbers["all_studies_context"] = context
        notes.append(
            f"Context, not the verdict: over all {context['n_trials']} studies with an "
            f"ALSFRS-R result, whatever their design, {context['n_benefit']} point to slower "
            f"decline, {context['n_harm']} to faster decline and "
            f"{context['n_direction_not_reported'] + context['n_no_clear_direction']} give "
            "no direction; uncontrolled studies cannot separate the treatment from the "
            "natural course of ALS."
        )
    b, h, n = counts["n_benefit"], counts["n_harm"], counts["n_trials"]
    unknown = counts["n_direction_not_reported"] + counts["n_no_clear_direction"]
    p = counts["sign_test"]["p_value"]
    harmful = [t.study.study_id for t in trials if t.status == "significant harm"]
    label = "randomised trial" if claim.evidence == "randomised" else "study"
    if harmful or (math.isfinite(p) and p < ALPHA and h > b):
        verdict = "contradicted"
        reason = (
            f"{', '.join(harmful)} found a significantly faster decline with cell therapy."
            if harmful
            else f"{h} of {b + h} {label}s point to faster decline (sign test p = {p:.3g})."
        )
    elif b + h + counts["n_no_clear_direction"] < MIN_TRIALS:
        verdict = "insufficient evidence"
        reason = (
            f"{_only(b + h + counts['n_no_clear_direction'], label)} with an ALSFRS-R "
            f"result {'says' if b + h <= 1 else 'say'} which way it went; at least "
            f"{MIN_TRIALS} are needed to look for a pattern."
        )
    elif b == n and math.isfinite(p) and p < ALPHA:
        verdict = "supported"
        reason = (
            f"All {n} {label}s point to slower decline, more than chance would make likely "
            f"(sign test p = {p:.3g})."
        )
    else:
        verdict = "not supported"
        parts = [f"{b} of {n} {label}s with an ALSFRS-R result point to slower decline"]
        if h:
            parts.append(f"{h} to faster decline")
        if unknown:
            silent = [t for t in trials if t.direction in (None, 0)]
            said = (
                " (they report only that there was no significant difference)"
                if all(t.status == "not significant" for t in silent)
                else ""
            )
            parts.append(f"{unknown} do not report which way their result went{said}")
        reason = ", ".join(parts) + "."
        if b == n:
            reason += (
                f" With {n} {label}s, all pointing the same way could still be chance "
                f"(sign test p = {p:.3g})."
            )
        elif math.isfinite(p):
            reason += f" The sign test on the {b + h} with a direction gives p = {p:.3g}."
    notes += _discrepancy_notes(trials)
    return _verdict(claim, verdict, reason, numbers, _ids(trials), excluded, notes)


# ------------------------------------------------------------------ (b) significance
def _significance_counts(trials: Sequence[_Trial]) -> dict[str, Any]:
    status = [t.status for t in trials]
    return {
        "n_trials": len(trials),
        "n_significant": status.count("significant benefit"),
        "n_significant_harm": status.count("significant harm"),
        "n_not_significant": status.count("not significant"),
        "n_significance_unknown": status.count("unknown"),
        "significant": [t.study.study_id for t in trials if t.status == "significant benefit"],
        "not_significant": [
            t.study.study_id for t in trials if t.status in ("not significant", "significant harm")
        ],
        "unknown": [t.study.study_id for t in trials if t.status == "unknown"],
    }


def _eval_significance_count(claim: Claim, ctx: _Context) -> Verdict:
    trials, excluded = _trials_of(claim, ctx)
    counts = _significance_counts(trials)
    claimed_ns = int(claim.parameters["claimed_not_significant"])
    claimed_n = claim.parameters.get("claimed_trials")
    numbers: dict[str, Any] = {
        "claimed_trials": claimed_n,
        "claimed_not_significant": claimed_ns,
        **counts,
        "trials": _trial_list(trials),
    }
    if claim.evidence == "randomised":
        everything, _ = ctx.trials(ctx.base.studies)
        context = _significance_counts(everything)
        numbers["all_studies_context"] = context
    n_sig = counts["n_significant"]
    n_not = counts["n_not_significant"] + counts["n_significant_harm"]
    n_unknown = counts["n_significance_unknown"]
    known = n_sig + n_not
    label = "randomised trial" if claim.evidence == "randomised" else "study"
    claimed_sig = None if claimed_n is None else int(claimed_n) - claimed_ns
    observed = (
        f"{n_sig} of the {_plural(known, label)} with a known result "
        f"{'was' if n_sig == 1 else 'were'} statistically significant and {n_not} "
        f"{'was' if n_not == 1 else 'were'} not"
    )
    if known < MIN_TRIALS:
        verdict = "insufficient evidence"
        reason = (
            f"{_only(known, label)} {'reports' if known <= 1 else 'report'} whether "
            f"its ALSFRS-R result was significant; at least {MIN_TRIALS} are needed."
        )
    elif n_not > claimed_ns or (claimed_sig is not None and n_sig < claimed_sig):
        verdict = "contradicted"
        said = (
            f"all but {claimed_ns}"
            if claimed_n is None
            else f"{claimed_sig} of {claimed_n} significant"
        )
        reason = f"The claim says {said}; in fact {observed}."
    elif (
        n_not == claimed_ns
        and n_unknown == 0
        and (claimed_n is None or int(claimed_n) == len(trials))
    ):
        verdict = "supported"
        reason = f"As the claim says, {observed}."
    else:
        verdict = "not supported"
        why = []
        if n_not < claimed_ns:
            why.append(f"fewer trials were not significant than the claim says ({n_not})")
        if claimed_n is not None and int(claimed_n) != len(trials):
            why.append(f"the claim counts {claimed_n} trials, the evidence holds {len(trials)}")
        if n_unknown:
            why.append(f"{n_unknown} cannot be checked (no significance reported or computable)")
        reason = f"{observed[0].upper()}{observed[1:]}; " + "; ".join(why) + "."
    notes = _discrepancy_notes(trials)
    return _verdict(claim, verdict, reason, numbers, _ids(trials), excluded, notes)


# ---------------------------------------------------------------- (c) follow-up
def _eval_followup_significance(claim: Claim, ctx: _Context) -> Verdict:
    trials, excluded = _trials_of(claim, ctx)
    minimum = float(claim.parameters.get("min_followup_months", 6))
    qualifying: list[_Trial] = []
    for t in trials:
        months = t.followup_months
        if months is None:
            excluded.append((t.study.study_id, "follow-up not reported"))
        elif months + 1e-9 < minimum:
            excluded.append((t.study.study_id, f"follow-up {months:.3g} months (< {minimum:g})"))
        else:
            qualifying.append(t)
    counts = _significance_counts(qualifying)
    numbers: dict[str, Any] = {
        "min_followup_months": minimum,
        "n_qualifying": len(qualifying),
        **{k: v for k, v in counts.items() if k != "n_trials"},
        "trials": _trial_list(qualifying),
    }
    if claim.evidence == "randomised":
        everything, _ = ctx.trials(ctx.base.studies)
        long = [t for t in everything if (t.followup_months or 0.0) + 1e-9 >= minimum]
        numbers["all_studies_context"] = _significance_counts(long)
    label = "randomised trial" if claim.evidence == "randomised" else "study"
    failing = [
        t.study.study_id for t in qualifying if t.status in ("not significant", "significant harm")
    ]
    unknown = counts["unknown"]
    known = len(qualifying) - len(unknown)
    if failing:
        verdict = "contradicted"
        reason = (
            f"Of the {_plural(len(qualifying), label)} with at least {minimum:g} months of "
            f"follow-up, {len(failing)} did not find a significant ALSFRS-R difference in "
            f"favour of cell therapy ({', '.join(failing)})."
        )
    elif known < MIN_TRIALS:
        verdict = "insufficient evidence"
        reason = (
            f"{_only(known, label)} with at least {minimum:g} months of "
            f"follow-up {'reports' if known <= 1 else 'report'} whether the ALSFRS-R result "
            f"was significant; at least {MIN_TRIALS} are needed."
        )
    elif unknown:
        verdict = "not supported"
        reason = (
            f"{known} qualifying {label}s were significant, but {len(unknown)} "
            f"({', '.join(unknown)}) cannot be checked."
        )
    else:
        verdict = "supported"
        reason = (
            f"All {_plural(len(qualifying), label)} with at least {minimum:g} months of "
            "follow-up found a significant ALSFRS-R difference in favour of cell therapy."
        )
    notes = _discrepancy_notes(qualifying)
    return _verdict(claim, verdict, reason, numbers, _ids(qualifying), excluded, notes)


# -------------------------------------------------------------- (d), (e) subgroups
def _eval_subgroup_best(claim: Claim, ctx: _Context) -> Verdict:
    import pandas as pd

    from alsmeta.effects.table import EffectSizeTable
    from alsmeta.meta import subgroup_analysis

    prm = claim.parameters
    by = str(prm["by"])
    levels = {str(x) for x in prm["claimed_levels"]}
    claimed = str(prm.get("claimed_label") or ", ".join(sorted(levels)))
    others = prm.get("others_label")
    endpoint = str(prm.get("endpoint") or "alsfrs_r_change")
    method, test = str(prm.get("method", "REML")), str(prm.get("test", "z"))
    studies, excluded = ctx.scope(claim)
    rows: list[dict[str, Any]] = []
    for s in studies:
        outcomes = [o for o in ctx.by_study.get(s.study_id, []) if o.endpoint == endpoint]
        whole = [o for o in outcomes if o.subgroup is None and o.nesting_group is None]
        usable = [o for o in whole if ctx.is_converted(o.outcome_id)]
        level = getattr(s, by)
        if not outcomes:
            excluded.append((s.study_id, f"no {endpoint} outcome"))
            continue
        if not whole:
            excluded.append((s.study_id, f"{endpoint} reported only for subgroups"))
            continue
        if not usable:
            why = ctx.converted.get(whole[0].outcome_id, ("", 0, 0, None, None))[4]
            excluded.append((s.study_id, f"{endpoint} not poolable ({why or 'not converted'})"))
            continue
        if level is None:
            excluded.append((s.study_id, f"{by.replace('_', ' ')} not reported"))
            continue
        best = min(usable, key=lambda o: (o.primary is not True, -(o.timepoint_months or 0.0)))
        _m, yi, vi, _conv, _r = ctx.converted[best.outcome_id]
        group = claimed if level in levels else (others or level)
        rows.append(
            {"study_id": s.study_id, "outcome_id": best.outcome_id, by: level,
             "group": group, "yi": yi, "vi": vi}
        )  # fmt: skip
    sizes: dict[str, int] = {}
    for r in rows:
        sizes[r["group"]] = sizes.get(r["group"], 0) + 1
    small = {g for g, k in sizes.items() if k < MIN_TRIALS}
    for r in rows:
        if r["group"] in small:
            excluded.append(
                (r["study_id"], f"only {sizes[r['group']]} trial in group {r['group']!r}; a "
                 f"group needs at least {MIN_TRIALS}")
            )  # fmt: skip
    kept = [r for r in rows if r["group"] not in small]
    numbers: dict[str, Any] = {
        "by": by,
        "claimed_group": claimed,
        "endpoint": endpoint,
        "measure": "MD",
        "trials_per_group": dict(sorted(sizes.items())),
        "trials": rows,
    }
    other_groups = sorted({r["group"] for r in kept} - {claimed})
    group_notes = []
    if by == "route":
        group_notes.append(
            "Combined routes (such as intrathecal + intramuscular) are groups of their own."
        )
    if others:
        group_notes.append(
            f"The {claimed} group is: {'; '.join(sorted(levels))}. Every other "
            f"{by.replace('_', ' ')} counts as {others!r}."
        )
    label = "randomised trial" if claim.evidence == "randomised" else "study"
    if sizes.get(claimed, 0) < MIN_TRIALS or not other_groups:
        reasons: list[str] = []
        k_claim = sizes.get(claimed, 0)
        reasons.append(f"{_plural(k_claim, label)} in the {claimed} group")
        rest = {g: k for g, k in sizes.items() if g != claimed}
        if rest:
            reasons.append(
                "other groups: " + ", ".join(f"{g} {k}" for g, k in sorted(rest.items()))
            )
        else:
            reasons.append("no other group has any")
        reason = (
            f"Too few trials report a poolable ALSFRS-R result to compare {by.replace('_', ' ')}s: "
            + "; ".join(reasons)
            + f". A comparison needs at least {MIN_TRIALS} trials in the {claimed} group and "
            f"in at least one other group."
        )
        used = [r["study_id"] for r in kept]
        return _verdict(
            claim, "insufficient evidence", reason, numbers, used, excluded, group_notes
        )
    frame = pd.DataFrame(kept)
    table = EffectSizeTable(
        yi=frame["yi"].to_numpy(dtype=float),
        vi=frame["vi"].to_numpy(dtype=float),
        study=tuple(frame["study_id"]),
        measure="MD",
        data=frame[["study_id", "outcome_id", by, "group"]],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = subgroup_analysis(table, "group", tau2="separate", method=method, test=test)
    groups = {str(r["group"]): r for r in res.subgroups.to_dict(orient="records")}
    mine = groups[claimed]
    pairwise = []
    for g in other_groups:
        diff = float(mine["estimate"]) - float(groups[g]["estimate"])
        se = math.sqrt(float(mine["se"]) ** 2 + float(groups[g]["se"]) ** 2)
        z = diff / se
        pairwise.append(
            {"group": g, "difference": diff, "se": se, "statistic": z,
             "p_value": math.erfc(abs(z) / math.sqrt(2.0)),
             "ci_lower": diff - _Z975 * se, "ci_upper": diff + _Z975 * se}
        )  # fmt: skip
    numbers["subgroups"] = [
        {key: rec[key] for key in ("group", "k", "estimate", "se", "ci_lower", "ci_upper",
                                   "p_value", "tau2", "i2")}
        for rec in res.subgroups.to_dict(orient="records")
    ]  # fmt: skip
    numbers["test_for_subgroup_differences"] = {
        "statistic": res.q_between,
        "df": res.q_between_df,
        "p_value": res.q_between_p_value,
        "distribution": res.q_between_distribution,
    }
    numbers["pairwise"] = pairwise
    numbers["method"], numbers["test"] = res.method, res.test
    better = [c for c in pairwise if c["difference"] < 0 and c["p_value"] < ALPHA]
    worse = [c for c in pairwise if c["difference"] > 0 and c["p_value"] < ALPHA]
    p_q = res.q_between_p_value
    est = (
        f"{float(mine['estimate']):.2f} points ({float(mine['ci_lower']):.2f} to "
        f"{float(mine['ci_upper']):.2f})"
    )
    if better:
        verdict = "contradicted"
        reason = (
            f"{', '.join(c['group'] for c in better)} did significantly better than "
            f"{claimed} (difference {better[0]['difference']:.2f} points, p = "
            f"{better[0]['p_value']:.3g})."
        )
    elif p_q < ALPHA and len(worse) == len(pairwise):
        verdict = "supported"
        reason = (
            f"The {claimed} group did significantly better than every other group (pooled "
            f"difference {est}; test for subgroup differences p = {p_q:.3g})."
        )
    else:
        verdict = "not supported"
        reason = (
            f"The groups do not differ significantly (test for subgroup differences p = "
            f"{p_q:.3g}); the {claimed} group's pooled ALSFRS-R difference is {est}."
            if p_q >= ALPHA
            else f"The groups differ (p = {p_q:.3g}), but the {claimed} group is not "
            "significantly better than every other group."
        )
    notes = [
        "Subgroup comparisons are observational even within randomised trials: groups "
        "differ in more than the factor compared.",
        *group_notes,
    ]
    notes += list(res.notes) + [str(w.message) for w in caught]
    return _verdict(claim, verdict, reason, numbers, [r["study_id"] for r in kept], excluded, notes)


# ---------------------------------------------------------------------- (f) design
def _eval_design(claim: Claim, ctx: _Context) -> Verdict:
    studies, excluded = ctx.scope(claim)
    designs: dict[str, int] = {}
    for s in studies:
        designs[s.design] = designs.get(s.design, 0) + 1
    rct = [s for s in studies if s.randomised is True and s.design in RANDOMISED_CONTROLLED]
    not_rct = [s.study_id for s in studies if s not in rct]
    alsfrs = [s for s in studies if ctx.trial(s)[0] is not None]
    n, k = len(studies), len(rct)
    numbers: dict[str, Any] = {
        "n_studies": n,
        "n_randomised_controlled": k,
        "n_not_randomised_controlled": n - k,
        "designs": dict(sorted(designs.items(), key=lambda kv: (-kv[1], kv[0]))),
        "randomised_controlled": [s.study_id for s in rct],
        "not_randomised_controlled": not_rct,
        "alsfrs_r_studies": {
            "n_studies": len(alsfrs),
            "n_randomised_controlled": sum(1 for s in alsfrs if s in rct),
        },
    }
    if n == 0:
        verdict, reason = "insufficient evidence", "The evidence base holds no studies."
    elif k == n:
        verdict = "supported"
        reason = f"All {n} studies are randomised controlled trials."
    elif 2 * k < n:
        verdict = "contradicted"
        others = ", ".join(
            f"{count} {design}" for design, count in numbers["designs"].items()
            if design not in RANDOMISED_CONTROLLED
        )  # fmt: skip
        reason = (
            f"Only {k} of the {n} studies are randomised controlled trials; the others are "
            f"not randomised or have no control group ({others})."
        )
    else:
        verdict = "not supported"
        reason = f"{k} of the {n} studies are randomised controlled trials, {n - k} are not."
    return _verdict(claim, verdict, reason, numbers, [s.study_id for s in studies], excluded)


#: Evaluator of each claim kind.
_EVALUATORS: dict[str, Callable[[Claim, _Context], Verdict]] = {
    "all_trials_slowing": _eval_all_trials_slowing,
    "significance_count": _eval_significance_count,
    "followup_significance": _eval_followup_significance,
    "subgroup_best": _eval_subgroup_best,
    "design": _eval_design,
}
#: The claim kinds (evaluators) a :class:`Claim` may name.
CLAIM_KINDS: tuple[str, ...] = tuple(_EVALUATORS)


# ---------------------------------------------------------------------- helpers
def _opt(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _json(value: Any) -> Any:
    """Plain JSON types: nan/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _render(numbers: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in numbers.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines += _render(value, indent + 2)
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            lines.append(f"{pad}{key}:")
            for item in value:
                lines.append(f"{pad}  - " + _row(item))
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: " + (", ".join(map(_fmt, value)) or "none"))
        else:
            lines.append(f"{pad}{key}: {_fmt(value)}")
    return lines


_ROW_KEYS = (
    "study_id", "group", "k", "endpoint", "yi", "ci_lower", "ci_upper", "estimate",
    "difference", "direction", "p_value_reported", "p_value_recomputed", "p_value",
    "followup_months", "status",
)  # fmt: skip


def _row(item: Mapping[str, Any]) -> str:
    parts = []
    for key in _ROW_KEYS:
        if key in item and item[key] is not None:
            value = item[key]
            if isinstance(value, float) and not math.isfinite(value):
                continue
            if key == "p_value_reported" and item.get("p_value_relation") not in (None, "="):
                parts.append(f"{key} {item['p_value_relation']}{_fmt(value)}")
            else:
                parts.append(f"{key}={_fmt(value)}")
    return ", ".join(parts)
