"""Load the bundled evidence base, or a user's evidence file, validated."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from alsmeta.errors import InputError, Problem

__all__ = ["BUNDLED", "load_evidence", "read_evidence_file"]

#: Name of the bundled data file inside ``alsmeta.evidence.data``.
BUNDLED = "als_trials.yaml"


def read_evidence_file(path: str | Path | None = None) -> tuple[Any, str]:
    """Parse an evidence file (YAML or JSON) without validating it.

    Parameters
    ----------
    path : str or Path, optional
        The file; the bundled ``als_trials.yaml`` when omitted.

    Returns
    -------
    (object, str)
        The parsed content and a name for messages (the path, or ``"bundled als_trials.yaml"``).

    Raises
    ------
    InputError
        If the file does not exist or is not valid YAML/JSON.
    """
    import yaml

    if path is None:
        text = resources.files("alsmeta.evidence.data").joinpath(BUNDLED).read_text("utf-8")
        name = f"bundled {BUNDLED}"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(Problem(f"file not found: {path}"))
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(Problem(f"{path}: not a UTF-8 text file")) from None
        name = str(path)
    try:
        if name.endswith(".json"):
            return json.loads(text), name
        return yaml.safe_load(text), name
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(Problem(f"{name}: not a readable YAML/JSON file ({first})")) from None


def load_evidence(path: str | Path | None = None) -> Any:
    """Load and validate an evidence base.

    Parameters
    ----------
    path : str or Path, optional
        A YAML or JSON file with ``studies`` and ``outcomes``; the bundled ALS
        cell-therapy evidence base when omitted.

    Returns
    -------
    EvidenceBase

    Raises
    ------
    InputError
        Listing every problem :func:`~alsmeta.evidence.validate_evidence` finds.

    Examples
    --------
    >>> from alsmeta.evidence import load_evidence
    >>> ev = load_evidence()
    >>> ev.study("Oh2018").design, ev.study("Oh2018").route
    ('RCT', 'intrathecal')
    """
    from alsmeta.evidence.base import EvidenceBase
    from alsmeta.evidence.schema import EvidenceFile
    from alsmeta.evidence.validate import validate_evidence

    raw, name = read_evidence_file(path)
    problems = validate_evidence(raw)
    if problems:
        raise InputError(problems)
    parsed = EvidenceFile.model_validate(raw)
    return EvidenceBase(studies=parsed.studies, outcomes=parsed.outcomes, origin=name)
