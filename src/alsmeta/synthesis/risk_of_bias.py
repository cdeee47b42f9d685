"""Risk-of-bias assessments entered as data: RoB 2 (randomised) and ROBINS-I (non-randomised).

Every domain judgment carries its justification, and the overall judgment follows the
tool's published algorithm. A reviewer may depart from the algorithm only where the tool
allows it (RoB 2: some concerns in several domains raised to high; ROBINS-I: 'no
information' in a domain judged not to be key), and only with a written reason.

Records are dicts, one per study (and outcome, when given), for example::

    {"study": "Oh 2018", "outcome": "ALSFRS-R 6 months",
     "randomisation": "low", "randomisation_justification": "central computer list",
     ...,
     "overall": "high", "overall_justification": "three domains with some concerns"}

Domain keys may also be ``"D1"`` .. ``"D5"`` (RoB 2) or ``"D1"`` .. ``"D7"`` (ROBINS-I).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice

__all__ = [
    "ROB2_DOMAINS",
    "ROBINS_I_DOMAINS",
    "TOOLS",
    "DomainJudgment",
    "RiskOfBiasAssessment",
    "RiskOfBiasTable",
    "rob2",
    "robins_i",
]

TOOLS: tuple[str, ...] = ("RoB2", "ROBINS-I")

#: RoB 2 domains: key and the tool's wording (Sterne et al. 2019, Table 1).
ROB2_DOMAINS: tuple[tuple[str, str], ...] = (
    ("randomisation", "Bias arising from the randomisation process"),
    ("deviations", "Bias due to deviations from intended interventions"),
    ("missing_outcome_data", "Bias due to missing outcome data"),
    ("measurement", "Bias in measurement of the outcome"),
    ("reported_result", "Bias in selection of the reported result"),
)
#: ROBINS-I domains (Sterne et al. 2016, Table 1).
ROBINS_I_DOMAINS: tuple[tuple[str, str], ...] = (
    ("confounding", "Bias due to confounding"),
    ("selection", "Bias in selection of participants into the study"),
    ("classification", "Bias in classification of interventions"),
    ("deviations", "Bias due to deviations from intended interventions"),
    ("missing_data", "Bias due to missing data"),
    ("measurement", "Bias in measurement of outcomes"),
    ("reported_result", "Bias in selection of the reported result"),
)

ROB2_LEVELS: tuple[str, ...] = ("low", "some concerns", "high")
ROBINS_I_LEVELS: tuple[str, ...] = ("low", "moderate", "serious", "critical", "no information")

_DOMAINS = {"RoB2": ROB2_DOMAINS, "ROBINS-I": ROBINS_I_DOMAINS}
_LEVELS = {"RoB2": ROB2_LEVELS, "ROBINS-I": ROBINS_I_LEVELS}
#: Judgments that count as 'high risk' (for GRADE's share of weight at high risk).
HIGH_RISK = {"RoB2": ("high",), "ROBINS-I": ("serious", "critical")}
#: Judgments that count as 'some concerns' short of high risk. For ROBINS-I, moderate is
#: the best a non-randomised study can usually reach ("sound for a non-randomised
#: study", Sterne 2016), so only 'no information' counts here.
SOME_CONCERNS = {"RoB2": ("some concerns",), "ROBINS-I": ("no information",)}

_LEVEL_ALIASES = {
    "some_concerns": "some concerns", "some": "some concerns", "unclear": "some concerns",
    "no_information": "no information", "ni": "no information", "no info": "no information",
}  # fmt: skip
_RESERVED = ("study", "outcome", "overall", "overall_justification", "weight")


def _canonical_level(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return _LEVEL_ALIASES.get(text, text)


def rob2_overall(judgments: Sequence[str]) -> str:
    """The RoB 2 default overall judgment: high if any high, low if all low, else some
    concerns (Sterne et al. 2019, Table 2)."""
    if "high" in judgments:
        return "high"
    if all(j == "low" for j in judgments):
        return "low"
    return "some concerns"


def robins_i_overall(judgments: Sequence[str]) -> str:
    """The ROBINS-I overall judgment (Sterne et al. 2016, Table 2): critical if any
    critical; else serious if any serious; else no information if any domain lacks
    information; else moderate if any moderate; else low."""
    for level in ("critical", "serious", "no information", "moderate"):
        if level in judgments:
            return level
    return "low"


@dataclass(frozen=True, slots=True)
class DomainJudgment:
    """One domain's judgment and the reason for it."""

    domain: str
    label: str
    judgment: str
    justification: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RiskOfBiasAssessment:
    """One study's (and outcome's) assessment with one tool.

    ``algorithm_overall`` is what the tool's default algorithm gives; ``overall`` is the
    final judgment, which differs only where the tool lets the reviewer decide, and then
    ``overall_justification`` says why.
    """

    tool: str
    study: str
    outcome: str | None
    domains: tuple[DomainJudgment, ...]
    algorithm_overall: str
    overall: str
    overall_justification: str | None

    def judgment(self, domain: str) -> str:
        """The judgment of one domain (by key)."""
        for d in self.domains:
            if d.domain == domain:
                return d.judgment
        valid = [d.domain for d in self.domains]
        check_choice("domain", domain, valid)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def high_risk(self) -> bool:
        """Whether the overall judgment is high (RoB 2) or serious/critical (ROBINS-I)."""
        return self.overall in HIGH_RISK[self.tool]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the assessment."""
        return {
            "tool": self.tool,
            "study": self.study,
            "outcome": self.outcome,
            "domains": [
                {"domain": d.domain, "judgment": d.judgment, "justification": d.justification}
                for d in self.domains
            ],
            "algorithm_overall": self.algorithm_overall,
            "overall": self.overall,
            "overall_justification": self.overall_justification,
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RiskOfBiasTable:
    """Risk-of-bias assessments of several studies with one tool (RoB 2 or ROBINS-I)."""

    tool: str
    assessments: tuple[RiskOfBiasAssessment, ...]

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], *, tool: str) -> RiskOfBiasTable:
        """Build and validate a table from one dict per study (see the module docstring).

        Parameters
        ----------
        records : list of dict
            Each with ``study``, optionally ``outcome``, and for every domain the
            judgment under the domain key and its reason under ``<key>_justification``;
            optionally ``overall`` and ``overall_justification``.
        tool : {"RoB2", "ROBINS-I"}
            (``"rob2"`` and ``"robins_i"``, the spelling of :mod:`alsmeta.plots`, work too)

        Returns
        -------
        RiskOfBiasTable

        Raises
        ------
        InputError
            Listing every problem: a missing study, unknown keys, a missing or unknown
            judgment, a missing justification (naming study and domain), a repeated
            study/outcome, an overall judgment the algorithm does not allow.
        """
        return _build(records, tool)

    @property
    def studies(self) -> tuple[str, ...]:
        """Study labels in input order (repeated when a study has several outcomes)."""
        return tuple(a.study for a in self.assessments)

    def overall(self, outcome: str | None = None) -> dict[str, str]:
        """Overall judgment by study, for one outcome (or the only one)."""
        chosen = [a for a in self.assessments if outcome is None or a.outcome == outcome]
        out: dict[str, str] = {}
        for a in chosen:
            if a.study in out:
                raise InputError(
                    Problem(
                        "several outcomes assessed for this study; give outcome=",
                        study=a.study,
                    )
                )
            out[a.study] = a.overall
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per study, outcome and domain, plus an ``overall`` row.

        Columns: ``tool``, ``study``, ``outcome``, ``domain``, ``label``, ``judgment``,
        ``justification``.
        """
        rows = []
        for a in self.assessments:
            for d in a.domains:
                rows.append(
                    {"tool": self.tool, "study": a.study, "outcome": a.outcome,
                     "domain": d.domain, "label": d.label, "judgment": d.judgment,
                     "justification": d.justification}
                )  # fmt: skip
            reason = a.overall_justification or (f"{self.tool} algorithm: {_rule_text(self.tool)}")
            rows.append(
                {"tool": self.tool, "study": a.study, "outcome": a.outcome,
                 "domain": "overall", "label": "Overall risk of bias",
                 "judgment": a.overall, "justification": reason}
            )  # fmt: skip
        return pd.DataFrame(rows)

    def to_wide(self) -> pd.DataFrame:
        """One row per assessment: ``study``, (``outcome`` when any is given), ``D1`` ..
        ``Dn`` and ``overall`` - the layout of :func:`alsmeta.plots.traffic_light_plot`
        (``tool="rob2"`` or ``"robins_i"``)."""
        rows = []
        with_outcome = any(a.outcome is not None for a in self.assessments)
        for a in self.assessments:
            row: dict[str, Any] = {"study": a.study}
            if with_outcome:
                row["outcome"] = a.outcome
            row.update({f"D{i + 1}": d.judgment for i, d in enumerate(a.domains)})
            row["overall"] = a.overall
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the tool, its overall rule and every assessment."""
        return {
            "tool": self.tool,
            "rule": _rule_text(self.tool),
            "assessments": [a.to_dict() for a in self.assessments],
        }

    def summary(self) -> str:
        """A traffic-light table in text: studies as rows, domains (D1..) as columns."""
        keys = [k for k, _ in _DOMAINS[self.tool]]
        # robvis symbols, as alsmeta.plots.traffic_light_plot draws them.
        short = {"low": "+", "some concerns": "-", "high": "X", "moderate": "-",
                 "serious": "X", "critical": "!", "no information": "?"}  # fmt: skip
        names = [a.study + (f" [{a.outcome}]" if a.outcome else "") for a in self.assessments]
        width = max(len(n) for n in names)
        head = " " * width + "  " + "  ".join(f"D{i + 1}" for i in range(len(keys))) + "  Overall"
        lines = [f"{self.tool} risk of bias", "", head]
        for name, a in zip(names, self.assessments, strict=True):
            cells = "  ".join(short[d.judgment].center(2) for d in a.domains)
            lines.append(f"{name.ljust(width)}  {cells}  {a.overall}")
        lines.append("")
        legend = ", ".join(f"{v} {k}" for k, v in short.items() if k in _LEVELS[self.tool])
        named = (f"D{i + 1} {lab}" for i, (_, lab) in enumerate(_DOMAINS[self.tool]))
        lines.append(f"Domains: {'; '.join(named)}")
        lines.append(f"Key: {legend}")
        lines.append(f"Overall: {_rule_text(self.tool)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _rule_text(tool: str) -> str:
    if tool == "RoB2":
        return (
            "low if every domain is low; high if any domain is high; otherwise some "
            "concerns (raised to high only by the reviewer, with a reason, when several "
            "domains have some concerns)"
        )
    return (
        "critical if any domain is critical; else serious if any is serious; else no "
        "information if any domain lacks information (unless the reviewer, with a reason, "
        "judges it not a key domain); else moderate if any is moderate; else low"
    )


_TOOL_ALIASES = {"rob2": "RoB2", "rob 2": "RoB2", "robins_i": "ROBINS-I", "robins-i": "ROBINS-I"}


def _build(records: Sequence[Mapping[str, Any]], tool: str) -> RiskOfBiasTable:
    if isinstance(tool, str):
        tool = _TOOL_ALIASES.get(tool.strip().lower(), tool)
    tool = check_choice("tool", tool, TOOLS)
    if isinstance(records, pd.DataFrame):
        records = records.to_dict(orient="records")
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise InputError(Problem("records must be a list of dicts, one per study"))
    domains = _DOMAINS[tool]
    levels = _LEVELS[tool]
    aliases = {f"d{i + 1}": key for i, (key, _) in enumerate(domains)}
    valid_keys = [k for k, _ in domains]
    problems: list[Problem] = []
    seen: set[tuple[str, str | None]] = set()
    out: list[RiskOfBiasAssessment] = []
    for row, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            problems.append(Problem("each record must be a dict", row=row))
            continue
        rec: dict[str, Any] = {}
        for key, value in record.items():
            k = str(key).strip().lower()
            base, sep, _ = k.partition("_justification")
            if base in aliases:
                k = aliases[base] + sep
            rec[k] = value
        study = rec.get("study")
        study_text = None if _is_missing(study) else str(study).strip()
        if not study_text:
            problems.append(Problem("study is missing", row=row, column="study"))
            study_text = f"row {row}"
        outcome = None if _is_missing(rec.get("outcome")) else str(rec["outcome"])
        if (study_text, outcome) in seen:
            problems.append(
                Problem("assessed twice for the same outcome", row=row, study=study_text)
            )
        seen.add((study_text, outcome))
        allowed = set(_RESERVED) | set(valid_keys) | {f"{k}_justification" for k in valid_keys}
        unknown = sorted(k for k in rec if k not in allowed)
        for k in unknown:
            problems.append(
                Problem(
                    f"unknown key {k!r} for {tool}; domains are {', '.join(valid_keys)} "
                    "(or D1..), each with <domain>_justification",
                    row=row, study=study_text, column=k,
                )
            )  # fmt: skip
        judged: list[DomainJudgment] = []
        for key, label in domains:
            level = _canonical_level(rec.get(key))
            reason = rec.get(f"{key}_justification")
            if _is_missing(rec.get(key)):
                problems.append(
                    Problem(f"no judgment for '{label}'", row=row, study=study_text, column=key)
                )
            elif level not in levels:
                problems.append(
                    Problem(
                        f"judgment {rec.get(key)!r} is not valid for {tool}; use one of "
                        f"{', '.join(map(repr, levels))}",
                        row=row, study=study_text, column=key,
                    )
                )  # fmt: skip
            if _is_missing(reason) or not str(reason).strip():
                problems.append(
                    Problem(
                        f"the judgment for '{label}' has no justification; give "
                        f"{key}_justification",
                        row=row, study=study_text, column=key,
                    )
                )  # fmt: skip
            judged.append(
                DomainJudgment(
                    domain=key,
                    label=label,
                    judgment=level or "",
                    justification="" if _is_missing(reason) else str(reason).strip(),
                )
            )
        if any(d.judgment not in levels or not d.justification for d in judged):
            continue
        algorithm = (rob2_overall if tool == "RoB2" else robins_i_overall)(
            [d.judgment for d in judged]
        )
        overall, reason = _overall(tool, rec, judged, algorithm, row, study_text, problems)
        out.append(
            RiskOfBiasAssessment(
                tool=tool,
                study=study_text,
                outcome=outcome,
                domains=tuple(judged),
                algorithm_overall=algorithm,
                overall=overall,
                overall_justification=reason,
            )
        )
    if problems:
        raise InputError(problems)
    if not out:
        raise InputError(Problem("no assessments given"))
    return RiskOfBiasTable(tool=tool, assessments=tuple(out))


def _overall(
    tool: str,
    rec: Mapping[str, Any],
    judged: Sequence[DomainJudgment],
    algorithm: str,
    row: int,
    study: str,
    problems: list[Problem],
) -> tuple[str, str | None]:
    reason_raw = rec.get("overall_justification")
    reason = None if _is_missing(reason_raw) or not str(reason_raw).strip() else str(reason_raw)
    given_raw = rec.get("overall")
    if _is_missing(given_raw):
        if reason is not None:
            problems.append(
                Problem("overall_justification given without an overall judgment",
                        row=row, study=study, column="overall")
            )  # fmt: skip
        return algorithm, None
    given = _canonical_level(given_raw)
    levels = _LEVELS[tool]
    if given not in levels:
        problems.append(
            Problem(f"overall {given_raw!r} is not valid; use one of {', '.join(levels)}",
                    row=row, study=study, column="overall")
        )  # fmt: skip
        return algorithm, None
    if given == algorithm:
        return given, reason
    judgments = [d.judgment for d in judged]
    allowed = False
    if tool == "RoB2":
        # Sterne 2019: high also when "some concerns for multiple domains in a way that
        # substantially lowers confidence in the result" - a reviewer's call.
        allowed = (
            algorithm == "some concerns" and given == "high"
            and judgments.count("some concerns") >= 2
        )  # fmt: skip
        rule = (
            "RoB 2 allows only raising 'some concerns' to 'high', when at least two "
            "domains have some concerns"
        )
    else:
        # Sterne 2016: 'no information' overall needs a lack of information in a key
        # domain; if the reviewer judges the missing domains not key, the worst of the
        # informative domains stands.
        informative = [j for j in judgments if j != "no information"]
        allowed = algorithm == "no information" and given == robins_i_overall(
            informative or ["low"]
        )
        rule = (
            "ROBINS-I allows departing from the worst domain only when 'no information' "
            "concerns domains the reviewer judges not key; the overall is then the worst "
            "informative domain"
        )
    if not allowed:
        problems.append(
            Problem(f"overall {given!r} contradicts the {tool} algorithm ({algorithm!r}); "
                    f"{rule}", row=row, study=study, column="overall")
        )  # fmt: skip
        return algorithm, None
    if reason is None:
        problems.append(
            Problem(f"overall {given!r} departs from the algorithm ({algorithm!r}) and needs "
                    "overall_justification", row=row, study=study, column="overall")
        )  # fmt: skip
    return given, reason


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def rob2(records: Sequence[Mapping[str, Any]]) -> RiskOfBiasTable:
    """Validate RoB 2 assessments of randomised trials and derive the overall judgments.

    Parameters
    ----------
    records : list of dict
        One per study (and outcome): ``study``, optional ``outcome``, the five domains
        ``randomisation``, ``deviations``, ``missing_outcome_data``, ``measurement``,
        ``reported_result`` (or ``D1`` .. ``D5``) judged ``"low"``, ``"some concerns"`` or
        ``"high"``, each with ``<domain>_justification``; optionally ``overall`` and
        ``overall_justification``.

    Returns
    -------
    RiskOfBiasTable

    Raises
    ------
    InputError
        Every problem found, each naming the study and the domain.

    Notes
    -----
    Overall (Sterne et al. 2019, Table 2): low if every domain is low; high if at least
    one domain is high; otherwise some concerns. The tool also allows high when "some
    concerns for multiple domains ... substantially lowers confidence"; this is the
    reviewer's call, so ``overall="high"`` is accepted only when two or more domains have
    some concerns and ``overall_justification`` says why.

    References
    ----------
    Sterne JAC, Savović J, Page MJ, et al. (2019). RoB 2: a revised tool for assessing
    risk of bias in randomised trials. BMJ 366:l4898. doi:10.1136/bmj.l4898

    Examples
    --------
    >>> from alsmeta.synthesis import rob2
    >>> rec = {"study": "A", "D1": "low", "D2": "some concerns", "D3": "low",
    ...        "D4": "low", "D5": "low"}
    >>> rec.update({f"D{i}_justification": "see protocol" for i in range(1, 6)})
    >>> rob2([rec]).overall()
    {'A': 'some concerns'}
    """
    return _build(records, "RoB2")


def robins_i(records: Sequence[Mapping[str, Any]]) -> RiskOfBiasTable:
    """Validate ROBINS-I assessments of non-randomised studies and derive the overall.

    Parameters
    ----------
    records : list of dict
        One per study (and outcome): ``study``, optional ``outcome``, the seven domains
        ``confounding``, ``selection``, ``classification``, ``deviations``,
        ``missing_data``, ``measurement``, ``reported_result`` (or ``D1`` .. ``D7``)
        judged ``"low"``, ``"moderate"``, ``"serious"``, ``"critical"`` or
        ``"no information"``, each with ``<domain>_justification``; optionally
        ``overall`` and ``overall_justification``.

    Returns
    -------
    RiskOfBiasTable

    Raises
    ------
    InputError
        Every problem found, each naming the study and the domain.

    Notes
    -----
    Overall (Sterne et al. 2016, Table 2): critical if any domain is critical; serious
    if any is serious (none critical); no information if there is no clear indication of
    serious or critical risk and information is lacking in one or more key domains;
    moderate if all are low or moderate; low if all are low. Whether a domain with no
    information is *key* is the reviewer's call: by default it is, and
    ``overall`` may be set to the worst informative domain with a justification.

    References
    ----------
    Sterne JAC, Hernán MA, Reeves BC, et al. (2016). ROBINS-I: a tool for assessing risk
    of bias in non-randomised studies of interventions. BMJ 355:i4919.
    doi:10.1136/bmj.i4919

    Examples
    --------
    >>> from alsmeta.synthesis import robins_i
    >>> rec = {"study": "B", "D1": "serious", "D2": "low", "D3": "low", "D4": "moderate",
    ...        "D5": "no information", "D6": "moderate", "D7": "low"}
    >>> rec.update({f"D{i}_justification": "see report" for i in range(1, 8)})
    >>> robins_i([rec]).overall()
    {'B': 'serious'}
    """
    return _build(records, "ROBINS-I")
