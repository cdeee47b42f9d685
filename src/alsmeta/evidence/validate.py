"""Check an evidence file and report every problem, by study and field.

:func:`validate_evidence` takes the parsed file (a mapping with ``studies`` and
``outcomes``) and returns one :class:`~alsmeta.errors.Problem` per thing wrong: an
unknown category (with the valid values listed), a number without a source, an
impossible value (SD < 0, n < 1, CI lower > upper, p outside (0, 1], follow-up < 0), an
unknown field, a duplicate id, or an outcome whose study does not exist. Nothing stops
at the first problem, so a file can be fixed in one pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from alsmeta.errors import Problem

__all__ = ["validate_evidence"]

_TOP_LEVEL = ("version", "description", "studies", "outcomes")


def validate_evidence(raw: Any) -> list[Problem]:
    """Return every problem found in a parsed evidence file (empty when it is valid).

    Parameters
    ----------
    raw : mapping
        The file as parsed from YAML or JSON: ``{"studies": [...], "outcomes": [...]}``.

    Returns
    -------
    list of Problem
        Each names the study (``study``) and the field (``column``, a dotted path; for
        outcomes it starts with ``outcome <id>:``).

    Examples
    --------
    >>> from alsmeta.evidence import validate_evidence
    >>> src = {"url": "https://example.org/t1", "location": "Table 1"}
    >>> raw = {
    ...     "studies": [{"study_id": "A2020", "citation": "A et al.", "design": "RCT",
    ...                  "route": "intranasal", "source": src}],
    ...     "outcomes": [{"outcome_id": "A2020_chg", "study_id": "A2020",
    ...                   "definition": "ALSFRS-R change", "endpoint": "alsfrs_r_change",
    ...                   "arms": [{"role": "treatment", "label": "MSC",
    ...                             "sd": {"value": -1.0, "source": src},
    ...                             "n": {"value": 10}}],
    ...                   "source": src}],
    ... }
    >>> problems = validate_evidence(raw)
    >>> [p.column for p in problems]
    ['route', 'outcome A2020_chg: arms[0].n.source', 'outcome A2020_chg: arms[0].sd']
    >>> problems[1].message.split(":")[0]
    'number without source'
    >>> print(problems[2])
    study 'A2020', column 'outcome A2020_chg: arms[0].sd': impossible value: must be >= 0 (got -1)
    """
    from pydantic import ValidationError

    from alsmeta.evidence.schema import Outcome, Study

    if not isinstance(raw, Mapping):
        return [
            Problem(
                "the evidence file must be a mapping with the keys 'studies' and 'outcomes' "
                f"(got {type(raw).__name__})"
            )
        ]
    problems: list[Problem] = []
    for key in raw:
        if key not in _TOP_LEVEL:
            problems.append(
                Problem(
                    f"unknown top-level key {key!r}; valid: {', '.join(map(repr, _TOP_LEVEL))}",
                    column=str(key),
                )
            )
    studies = _list_of(raw, "studies", problems)
    outcomes = _list_of(raw, "outcomes", problems)

    study_ids: list[str] = []
    for i, item in enumerate(studies):
        label = _label(item, "study_id", f"studies[{i}]")
        study_ids.append(label)
        if not isinstance(item, Mapping):
            problems.append(Problem("a study must be a mapping of fields", study=label))
            continue
        try:
            Study.model_validate(item)
        except ValidationError as err:
            problems += [_problem(e, label, "") for e in err.errors()]
    for sid, k in Counter(study_ids).items():
        if k > 1:
            problems.append(
                Problem(f"duplicate study_id (used {k} times)", study=sid, column="study_id")
            )

    known = set(study_ids)
    outcome_ids: list[tuple[str, str]] = []
    for i, item in enumerate(outcomes):
        oid = _label(item, "outcome_id", f"outcomes[{i}]")
        sid = _label(item, "study_id", "?")
        outcome_ids.append((oid, sid))
        prefix = f"outcome {oid}: "
        if not isinstance(item, Mapping):
            problems.append(Problem("an outcome must be a mapping of fields", column=prefix))
            continue
        if "study_id" in item and sid not in known:
            problems.append(
                Problem(
                    f"study_id {sid!r} is not one of the studies in the file",
                    study=sid,
                    column=prefix + "study_id",
                )
            )
        try:
            Outcome.model_validate(item)
        except ValidationError as err:
            problems += [_problem(e, sid, prefix) for e in err.errors()]
    counts = Counter(oid for oid, _ in outcome_ids)
    for oid, sid in outcome_ids:
        if counts[oid] > 1:
            problems.append(
                Problem(
                    f"duplicate outcome_id (used {counts[oid]} times)",
                    study=sid,
                    column=f"outcome {oid}: outcome_id",
                )
            )
            counts[oid] = 0  # report each duplicate once
    return problems


def _list_of(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> Sequence[Any]:
    value = raw.get(key)
    if value is None:
        problems.append(Problem(f"the file has no {key!r} list", column=key))
        return []
    if not isinstance(value, list | tuple):
        problems.append(Problem(f"{key!r} must be a list", column=key))
        return []
    return value


def _label(item: Any, key: str, default: str) -> str:
    if isinstance(item, Mapping) and item.get(key) not in (None, ""):
        return str(item[key])
    return default


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _problem(error: Mapping[str, Any], study: str, prefix: str) -> Problem:
    """Turn one pydantic error into a Problem with a message a curator can act on."""
    from alsmeta.evidence.schema import VOCABULARIES

    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    path = _path(loc)
    value = error.get("input")
    message = str(error.get("msg", "invalid value"))
    if kind == "literal_error" and field in VOCABULARIES:
        valid = ", ".join(map(repr, VOCABULARIES[field]))
        message = f"unknown {field.replace('_', ' ')} {value!r}; valid: {valid}"
    elif kind == "missing" and field == "source" and len(loc) > 1:
        message = (
            "number without source: every number needs source.url or source.doi and "
            "source.location (table, page or figure)"
        )
    elif kind == "missing" and field == "source":
        message = "no source: give source.url or source.doi and source.location"
    elif kind == "missing" and field == "location":
        message = "source without location: give the table, page or figure"
    elif kind == "missing":
        message = f"required field {field!r} is missing"
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    return Problem(message, study=study, column=prefix + path)
