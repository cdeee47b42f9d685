"""The schema of the evidence base: studies, outcomes, and a source for every number.

A :class:`Study` holds what describes a trial (design, randomisation, cell type, route,
doses, follow-up); an :class:`Outcome` holds one reported result of one study, with its
arms and the numbers *as reported*, in whatever form (per-arm mean and SD, least-squares
mean and SE, a mean difference with CI, a p-value, medians, slopes, responder
percentages). Every number is a :class:`Number`: a value with the :class:`Source` it
was read from (URL or DOI, and the table, page or figure). What a source leaves empty
stays ``None``.

Categories (design, cell type, route, endpoint) are controlled vocabularies, listed in
:data:`DESIGNS`, :data:`CELL_TYPES`, :data:`ROUTES` and :data:`ENDPOINTS`; the wording
of the source is kept next to each category (``design_reported``, ...).

Sign convention
---------------
``Outcome.direction`` says which way is better on the outcome's own scale:
``"higher_is_benefit"`` (ALSFRS-R change from baseline, slope change, responders, CAFS,
survival) or ``"lower_is_benefit"``. Effect sizes built from the evidence base are
oriented so that a **positive value means benefit of cell therapy** (for ALSFRS-R: a
slower decline), whatever the outcome's scale.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CELL_TYPES",
    "DESIGNS",
    "DIRECTIONS",
    "ENDPOINTS",
    "ROUTES",
    "Arm",
    "EvidenceFile",
    "Fact",
    "Number",
    "Outcome",
    "ReportedEffect",
    "Source",
    "Study",
]

Design = Literal[
    "RCT",
    "non-randomised controlled",
    "single-arm with lead-in",
    "single-arm",
    "external or historical control",
    "within-patient randomised",
    "within-patient controlled",
    "uncontrolled comparison of treated groups",
]
CellType = Literal[
    "MSC, bone marrow",
    "MSC, adipose",
    "MSC, umbilical cord",
    "MSC, Wharton's jelly",
    "MSC, source not stated",
    "MSC-NTF",
    "neural stem/progenitor cells",
    "bone-marrow mononuclear cells",
    "bone-marrow-derived cells, type not stated",
    "peripheral-blood mononuclear cells",
    "CD133+ cells",
    "G-CSF mobilisation",
]
Route = Literal[
    "intrathecal",
    "intramuscular",
    "intravenous",
    "intraspinal",
    "intracerebral",
    "subcutaneous",
    "intrathecal + intramuscular",
    "intrathecal + intravenous",
    "intrathecal or intravenous (separate groups)",
]
Endpoint = Literal[
    "alsfrs_r_change",
    "alsfrs_r_slope_change",
    "alsfrs_r_slope",
    "alsfrs_r_total",
    "alsfrs_responder",
    "cafs",
    "survival",
    "d50_index",
    "safety",
    "other",
]
Direction = Literal["higher_is_benefit", "lower_is_benefit"]
Relation = Literal["=", "<", "<=", ">", ">=", "~"]

DESIGNS: tuple[str, ...] = get_args(Design)
CELL_TYPES: tuple[str, ...] = get_args(CellType)
ROUTES: tuple[str, ...] = get_args(Route)
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
RELATIONS: tuple[str, ...] = get_args(Relation)

#: Field -> valid values, for error messages that list them.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "design": DESIGNS,
    "cell_type": CELL_TYPES,
    "route": ROUTES,
    "endpoint": ENDPOINTS,
    "direction": DIRECTIONS,
    "relation": RELATIONS,
}

_CONFIG = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(BaseModel):
    """Where a number or fact was read: a URL or a DOI, and the place in it.

    Examples
    --------
    >>> from alsmeta.evidence.schema import Source
    >>> Source(doi="10.1002/ana.25302", location="Table 3").location
    'Table 3'
    """

    model_config = _CONFIG

    url: str | None = None
    doi: str | None = None
    location: str = Field(min_length=1, description="table, page, figure or paragraph")

    @model_validator(mode="after")
    def _url_or_doi(self) -> Source:
        if not (self.url or self.doi):
            raise ValueError("a source needs a url or a doi")
        return self


class Number(BaseModel):
    """One reported number with its source.

    ``value`` is the number; ``relation`` is ``"<"`` etc. when the source gives only a
    bound (``p < 0.001``); ``reported`` keeps the text exactly as printed; ``label`` says
    what the number is when that is not clear from the field it sits in.

    Examples
    --------
    >>> from alsmeta.evidence.schema import Number
    >>> n = Number(value=0.001, relation="<", reported="<0.001",
    ...            source={"url": "https://example.org", "location": "Table 3"})
    >>> n.is_exact
    False
    """

    model_config = _CONFIG

    value: float
    relation: Relation = "="
    unit: str | None = None
    reported: str | None = None
    label: str | None = None
    source: Source

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @property
    def is_exact(self) -> bool:
        """``True`` when the source gives the value itself, not a bound or approximation."""
        return self.relation == "="


class Fact(BaseModel):
    """A reported statement that holds numbers but is not one number (``"1-4 doses"``)."""

    model_config = _CONFIG

    text: str = Field(min_length=1)
    source: Source


class Arm(BaseModel):
    """One arm (group) of an outcome, with the numbers reported for it."""

    model_config = _CONFIG

    role: Literal["treatment", "control"]
    label: str
    n: Number | None = None
    mean: Number | None = None
    sd: Number | None = None
    se: Number | None = None
    ls_mean: Number | None = None
    ls_se: Number | None = None
    median: Number | None = None
    q1: Number | None = None
    q3: Number | None = None
    minimum: Number | None = None
    maximum: Number | None = None
    percent: Number | None = None
    events: Number | None = None
    slope_before: Number | None = None
    slope_after: Number | None = None

    @field_validator("n")
    @classmethod
    def _n_at_least_one(cls, v: Number | None) -> Number | None:
        if v is not None and v.value < 1:
            raise ValueError(f"impossible value: n must be >= 1 (got {v.value:g})")
        return v

    @field_validator("sd", "se", "ls_se")
    @classmethod
    def _non_negative(cls, v: Number | None) -> Number | None:
        if v is not None and v.value < 0:
            raise ValueError(f"impossible value: must be >= 0 (got {v.value:g})")
        return v

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: Number | None) -> Number | None:
        if v is not None and not 0 <= v.value <= 100:
            raise ValueError(
                f"impossible value: a percentage must lie in [0, 100] (got {v.value:g})"
            )
        return v

    @model_validator(mode="after")
    def _events_within_n(self) -> Arm:
        if self.events is not None and self.n is not None and self.events.value > self.n.value:
            raise ValueError(
                f"impossible value: events ({self.events.value:g}) exceed n ({self.n.value:g})"
            )
        return self


class ReportedEffect(BaseModel):
    """A between-group effect as the source reports it (measure on its natural scale)."""

    model_config = _CONFIG

    measure: Literal["MD", "OR", "RR", "HR"]
    reported: str | None = None
    estimate: Number
    se: Number | None = None
    ci_lower: Number | None = None
    ci_upper: Number | None = None
    level: float = Field(default=0.95, gt=0, lt=1)
    adjusted: bool | None = None

    @field_validator("se")
    @classmethod
    def _se_positive(cls, v: Number | None) -> Number | None:
        if v is not None and v.value < 0:
            raise ValueError(f"impossible value: SE must be >= 0 (got {v.value:g})")
        return v

    @model_validator(mode="after")
    def _ci_ordered(self) -> ReportedEffect:
        lo, hi = self.ci_lower, self.ci_upper
        if (lo is None) != (hi is None):
            raise ValueError("give both ci_lower and ci_upper, or neither")
        if lo is not None and hi is not None and lo.value > hi.value:
            raise ValueError(
                f"impossible value: CI lower ({lo.value:g}) is greater than upper ({hi.value:g})"
            )
        return self


class Study(BaseModel):
    """One trial or study, with the facts that describe it.

    ``design``, ``cell_type`` and ``route`` are controlled vocabularies; the source's own
    words stay in the ``*_reported`` fields. ``None`` means the source does not say.
    """

    model_config = _CONFIG

    study_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    citation: str
    authors: str | None = None
    year: str | None = None
    doi: str | None = None
    url: str | None = None
    registration: str | None = None
    country: str | None = None
    design: Design
    design_reported: str | None = None
    randomised: bool | None = None
    randomised_reported: str | None = None
    blinding: str | None = None
    funding: str | None = None
    cell_type: CellType | None = None
    cell_type_reported: str | None = None
    cell_source: str | None = None
    route: Route | None = None
    route_reported: str | None = None
    doses: Number | None = None
    doses_reported: Fact | None = None
    cells_per_dose: Fact | None = None
    followup: Number | None = None
    enrolled: Number | None = None
    notes: str | None = None
    source: Source

    @field_validator("followup")
    @classmethod
    def _followup(cls, v: Number | None) -> Number | None:
        return _check_duration(v)

    @field_validator("doses")
    @classmethod
    def _doses(cls, v: Number | None) -> Number | None:
        if v is not None and v.value < 1:
            raise ValueError(f"impossible value: doses must be >= 1 (got {v.value:g})")
        return v

    @property
    def followup_months(self) -> float | None:
        """Follow-up in months (weeks and days converted at 365.25/12 days per month)."""
        return months(self.followup)


class Outcome(BaseModel):
    """One reported result of one study: definition, time point, arms and numbers."""

    model_config = _CONFIG

    outcome_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    study_id: str
    definition: str
    endpoint: Endpoint
    timepoint: Number | None = None
    subgroup: str | None = None
    nesting_group: str | None = None
    primary: bool | None = None
    arms: tuple[Arm, ...] = ()
    effect: ReportedEffect | None = None
    p_value: Number | None = None
    result: Fact | None = None
    significant_reported: bool | None = None
    significant_reported_text: str | None = None
    direction: Direction | None = None
    other_numbers: tuple[Number, ...] = ()
    notes: str | None = None
    source: Source

    @field_validator("timepoint")
    @classmethod
    def _timepoint(cls, v: Number | None) -> Number | None:
        return _check_duration(v)

    @field_validator("p_value")
    @classmethod
    def _p_value(cls, v: Number | None) -> Number | None:
        if v is not None and not 0 < v.value <= 1:
            raise ValueError(f"impossible value: a p-value must lie in (0, 1] (got {v.value:g})")
        return v

    @property
    def timepoint_months(self) -> float | None:
        """Time point in months (weeks and days converted at 365.25/12 days per month)."""
        return months(self.timepoint)

    def arm(self, role: str) -> Arm | None:
        """Return the only arm with this role, or ``None`` (none, or several)."""
        found = [a for a in self.arms if a.role == role]
        return found[0] if len(found) == 1 else None


class EvidenceFile(BaseModel):
    """The whole file: a version, the studies and their outcomes."""

    model_config = _CONFIG

    version: int = 1
    description: str | None = None
    studies: tuple[Study, ...]
    outcomes: tuple[Outcome, ...]


_DAYS_PER_MONTH = 365.25 / 12
DURATION_UNITS: tuple[str, ...] = ("months", "weeks", "days", "years")


def _check_duration(v: Number | None) -> Number | None:
    if v is None:
        return v
    if v.value < 0:
        raise ValueError(f"impossible value: follow-up must be >= 0 (got {v.value:g})")
    if (v.unit or "months") not in DURATION_UNITS:
        raise ValueError(f"unknown unit {v.unit!r}; use one of {', '.join(DURATION_UNITS)}")
    return v


def months(number: Number | None) -> float | None:
    """Convert a duration ``Number`` (unit months, weeks or days) to months.

    Examples
    --------
    >>> from alsmeta.evidence.schema import Number, months
    >>> src = {"url": "https://example.org", "location": "Abstract"}
    >>> round(months(Number(value=28, unit="weeks", source=src)), 2)
    6.44
    """
    if number is None:
        return None
    factor = {
        "months": 1.0,
        "weeks": 7 / _DAYS_PER_MONTH,
        "days": 1 / _DAYS_PER_MONTH,
        "years": 12.0,
    }
    return number.value * factor.get(number.unit or "months", math.nan)
