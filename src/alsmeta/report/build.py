"""Compute and describe the report: every analysis, formatted once, as a pure model.

:func:`build_report` runs the analyses of the report on an evidence base (or on an
effect-size CSV) and returns a :class:`ReportModel`: ``context`` holds every number as
text, already formatted, next to the key it came from (``data-key`` in the HTML), and
``analyses`` holds the result objects whose ``to_dict()`` those numbers come from.
Nothing here draws or renders; :mod:`alsmeta.report.render` does that.

Formatting rules (one place, here): estimates and bounds with 2 decimals, p-values with 3
(``< 0.001`` below), I^2 as a whole percent, ``NA`` for a number that is not defined;
ASCII hyphen-minus for negative numbers so that the HTML parses back to the same value.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem

__all__ = [
    "DEFAULT_POWER_REPS",
    "POWER_OPTIONS",
    "REPORT_OPTIONS",
    "FigureSpec",
    "ReportInput",
    "ReportModel",
    "build_report",
    "fmt_num",
    "fmt_p",
    "primary_effect_sizes",
    "read_report_input",
    "read_trial_rows",
]

#: The options of every analysis in the report; the methods section is written from them.
REPORT_OPTIONS: dict[str, Any] = {
    "method": "REML",
    "test": "z",
    "level": 0.95,
    "tau2_model": "separate",
    "primary_endpoint": "alsfrs_r_change",
    "primary_design": "RCT",
    "timepoint_window_months": [5.0, 7.5],
    "target_timepoint_months": 6.0,
    "nested_subgroup_rule": "most precise (smallest vi)",
    "subgroup_min_k": 2,
    "responder_measure": "OR",
    "direction_threshold": 0.70,
}

#: The simulated trials of "What would a definitive trial need?"; ``reps`` is an argument
#: of :func:`build_report` (``--power-reps``), the rest is fixed so the page is reproducible.
POWER_OPTIONS: dict[str, Any] = {
    "design": "parallel",
    "follow_up_months": 6.0,
    "visit_interval_months": 1.0,
    "endpoint": "slope",
    "alpha": 0.05,
    "target_power": 0.80,
    "n_per_arm": (25, 50, 100, 200, 400),
    "mcid_percent": 0.20,
    "seed": 20260101,
    "chunk_size": 100,
    "single_arm_n": (10, 20, 40),
    "single_arm_lead_in_months": 3.0,
    "single_arm_min_decline": 3.0,
}

#: Simulated trials per scenario when ``--power-reps`` is not given (5 to 7 s on 2 cores).
DEFAULT_POWER_REPS = 200

#: The smallest clinically meaningful effect used for comparison.
_MCID_SOURCE = {
    "text": "Castrillo-Viguera C et al. Clinical significance in the change of decline in "
    "ALSFRS-R. Amyotroph Lateral Scler 2010;11:178-180 (survey of NEALS clinicians, n = 65)",
    "href": "https://www.semanticscholar.org/paper/640eb7cc7da89d964193403e63ab644aac834c5e",
}
_MODEL_SOURCES = (
    {
        "text": "Atassi N et al. The PRO-ACT database. Neurology 2014;83:1719-1725 (rate of "
        "decline)",
        "href": "https://doi.org/10.1212/WNL.0000000000000951",
    },
    {
        "text": "Cudkowicz ME et al. NurOwn phase 3 trial. Muscle Nerve 2022;65:291-302, Table 1 "
        "(baseline ALSFRS-R and time since onset)",
        "href": "https://doi.org/10.1002/mus.27472",
    },
)

_FOLLOWUP_CLASSES = ("under 5 months", "about 6 months (5 to 7.5)", "over 7.5 months")
_DOMAINS: dict[str, str] = {
    "alsfrs_r_change": "ALSFRS-R",
    "alsfrs_r_slope_change": "ALSFRS-R",
    "alsfrs_r_slope": "ALSFRS-R",
    "alsfrs_r_total": "ALSFRS-R",
    "alsfrs_responder": "responders",
    "cafs": "CAFS",
    "survival": "survival",
}
_SAFE_SCHEMES = ("https://", "http://")

#: How a patient-level trial added with ``alsmeta report --trial`` is labelled.
USER_TRIAL_LABEL = "patient-level (user)"


# ---------------------------------------------------------------------- formatting
def fmt_num(x: Any, digits: int = 2) -> str:
    """Format a number with ``digits`` decimals; ``"NA"`` for ``None`` or non-finite.

    Examples
    --------
    >>> fmt_num(3.3812), fmt_num(-0.001), fmt_num(float("nan")), fmt_num(None)
    ('3.38', '0.00', 'NA', 'NA')
    """
    if x is None or isinstance(x, bool):
        return "NA"
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "NA"
    if not math.isfinite(value):
        return "NA"
    text = f"{value:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def fmt_p(p: Any) -> str:
    """Format a p-value: 3 decimals, ``"< 0.001"`` below 0.001, ``"NA"`` if undefined.

    Examples
    --------
    >>> fmt_p(0.0031), fmt_p(1e-6), fmt_p(None)
    ('0.003', '< 0.001', 'NA')
    """
    if p is None:
        return "NA"
    value = float(p)
    if not math.isfinite(value):
        return "NA"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _fmt_pct(x: Any) -> str:
    text = fmt_num(x, 0)
    return text if text == "NA" else f"{text}%"


def _fmt_int(x: Any) -> str:
    if x is None:
        return "NA"
    value = float(x)
    return "NA" if not math.isfinite(value) else f"{value:.0f}"


def _n(key: str, text: str) -> dict[str, str]:
    """A number as the template shows it: its text and the key it came from."""
    return {"key": key, "text": text}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def _link(url: Any) -> str | None:
    """A safe href for a source: http(s) URLs as given, ``doi:`` as a doi.org link."""
    text = _text(url).strip()
    if text.startswith("doi:"):
        return "https://doi.org/" + text[4:].strip()
    if text.startswith(_SAFE_SCHEMES):
        return text
    return None


def _value_text(value: Any) -> str:
    """A claim number as text: floats with 2 decimals (p-values with 3), others as is."""
    if isinstance(value, bool) or value is None:
        return "NA" if value is None else str(value).lower()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return fmt_num(value)
    return str(value)


def claim_number_text(key: str, value: Any) -> str:
    """Format one claim number as the report shows it (p-values by :func:`fmt_p`)."""
    if isinstance(value, float | np.floating) and ("p_value" in key or key == "p"):
        return fmt_p(value)
    return _value_text(value)


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    if isinstance(value, list | tuple):
        out = []
        for i, v in enumerate(value):
            out += _flatten(f"{prefix}.{i}", v)
        return out
    return [(prefix, value)]


# ---------------------------------------------------------------------- input
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReportInput:
    """What the report analyses: an evidence base, or a table of effect sizes.

    ``kind`` is ``"evidence"`` (the bundled schema) or ``"effect_sizes"`` (a CSV with
    ``yi`` and ``vi`` or ``sei``); ``sha256`` is the hash of the input file's bytes.
    ``trials`` holds the user's own patient-level trials (:func:`read_trial_rows`), added
    to the primary meta-analysis only; ``trial_files`` their ``(path, sha256)``.
    """

    kind: str
    origin: str
    sha256: str
    evidence: Any = None
    effect_sizes: Any = None
    trials: Any = None
    trial_files: tuple[tuple[str, str], ...] = ()


def read_report_input(
    path: str | Path | None = None, *, trials: Sequence[str | Path] = ()
) -> ReportInput:
    """Read the report's input: the bundled evidence, an evidence file, or an effect-size CSV.

    Parameters
    ----------
    path : str or Path, optional
        A YAML/JSON file in the evidence schema, or a ``.csv`` file with columns ``yi``
        and ``vi`` (or ``sei``) and optionally ``study``, ``design``, ``route``,
        ``cell_type``, ``followup_months``, ``n1i``, ``n2i``, ``source_url``. The
        bundled evidence base when omitted.
    trials : sequence of str or Path, optional
        Effect-size CSVs of the user's own patient-level trials (as written by ``alsmeta
        patients compare --format effect``), read by :func:`read_trial_rows` and added to
        the primary meta-analysis as extra studies.

    Returns
    -------
    ReportInput

    Raises
    ------
    InputError
        A missing or unreadable file, an evidence file that fails validation (every
        problem listed), a CSV without ``yi`` and ``vi``/``sei`` or with bad cells.

    Examples
    --------
    >>> from alsmeta.report import read_report_input
    >>> data = read_report_input()
    >>> data.kind, len(data.sha256)
    ('evidence', 64)
    """
    from alsmeta.evidence import load_evidence
    from alsmeta.evidence.loader import BUNDLED

    user = read_trial_rows(trials) if trials else None
    files = tuple((str(t), hashlib.sha256(Path(t).read_bytes()).hexdigest()) for t in trials)
    if path is None:
        raw = resources.files("alsmeta.evidence.data").joinpath(BUNDLED).read_bytes()
        evidence = load_evidence()
        return ReportInput(
            kind="evidence",
            origin=f"bundled {BUNDLED}",
            sha256=hashlib.sha256(raw).hexdigest(),
            evidence=evidence,
            trials=user,
            trial_files=files,
        )
    p = Path(path)
    if not p.is_file():
        raise InputError(Problem(f"file not found: {path}"))
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    if p.suffix.lower() == ".csv":
        return ReportInput(
            kind="effect_sizes",
            origin=str(path),
            sha256=digest,
            effect_sizes=_read_effect_size_csv(p),
            trials=user,
            trial_files=files,
        )
    return ReportInput(
        kind="evidence",
        origin=str(path),
        sha256=digest,
        evidence=load_evidence(p),
        trials=user,
        trial_files=files,
    )


def _cell_number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def read_trial_rows(paths: Sequence[str | Path]) -> Any:
    """Read effect-size rows of the user's own trials for the primary meta-analysis.

    Parameters
    ----------
    paths : sequence of str or Path
        CSV files with columns ``study``, ``yi``, ``vi`` (the difference in ALSFRS-R change
        from baseline, treated - control, points; positive = benefit, and its variance)
        and optionally ``design``, ``followup_months``, ``measure`` (must be ``MD``),
        ``outcome`` (must be ``alsfrs_r_change``), ``conversion``, ``notes``, ``source``,
        ``n1i``, ``n2i``, ``route``, ``cell_type``: what ``alsmeta patients compare
        --format effect`` writes.

    Returns
    -------
    EffectSizeTable
        ``measure="MD"``, one row per input row, labelled ``"<study> [patient-level
        (user)], <T> mo"``; ``data`` has the columns of the primary analysis plus
        ``user_trial``, ``user_conversion``, ``user_notes``, ``user_file``.

    Raises
    ------
    InputError
        Every problem of every file at once: a missing file or column, a ``yi`` that is
        not a finite number, a ``vi`` that is not > 0, an empty or repeated study label,
        another measure or outcome, a ``followup_months`` that is not > 0 (each names its
        file, row and column).

    Notes
    -----
    The rows are taken as given, like ``yi``/``vi`` of metafor's ``rma``; the report
    states where they came from and how they were converted.
    """
    from alsmeta.cli._io import read_table
    from alsmeta.effects import EffectSizeTable
    from alsmeta.effects.trials import DESIGNS

    endpoint = REPORT_OPTIONS["primary_endpoint"]
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in paths:
        name = str(path)
        if name == "-":
            problems.append(Problem("--trial needs a file name, not '-' (standard input)"))
            continue
        try:
            frame = read_table(name)
        except InputError as exc:
            problems += [Problem(f"--trial {name}: {q.message}") for q in exc.problems]
            continue
        missing = [c for c in ("study", "yi", "vi") if c not in frame.columns]
        if missing:
            problems += [
                Problem(
                    f"--trial {name}: no column {c!r}; a trial row needs study, yi and vi "
                    "(e.g. from alsmeta patients compare --format effect); found: "
                    + ", ".join(map(str, frame.columns)),
                    column=c,
                )
                for c in missing
            ]
            continue
        for i, row in enumerate(frame.to_dict("records"), start=1):
            study = _text(row.get("study")).strip()
            errs: list[tuple[str, str]] = []
            if not study:
                errs.append(("study", "the study label is empty"))
            elif study in seen:
                errs.append(
                    (
                        "study",
                        f"the study label is already used (in {seen[study]}); give each trial "
                        "its own name, e.g. with --study",
                    )
                )
            else:
                seen[study] = name
            yi, vi = _cell_number(row.get("yi")), _cell_number(row.get("vi"))
            if not math.isfinite(yi):
                errs.append(("yi", f"yi={row.get('yi')!r} is not a finite number"))
            if not (math.isfinite(vi) and vi > 0):
                errs.append(("vi", f"vi={row.get('vi')!r} must be a finite number > 0"))
            measure = _text(row.get("measure")).strip() or "MD"
            if measure != "MD":
                errs.append(
                    (
                        "measure",
                        f"measure={measure!r}: the primary analysis pools mean differences "
                        "(MD) of ALSFRS-R change",
                    )
                )
            outcome = _text(row.get("outcome")).strip() or endpoint
            if outcome != endpoint:
                errs.append(
                    (
                        "outcome",
                        f"outcome={outcome!r}: the primary analysis pools {endpoint} (change "
                        "from baseline, points); express a slope difference as the change at "
                        "month T with patients compare --model slope --months T",
                    )
                )
            design = _text(row.get("design")).strip() or "not given"
            if design != "not given" and design not in DESIGNS:
                errs.append(
                    (
                        "design",
                        f"design={design!r} is not valid; use one of "
                        + ", ".join(map(repr, DESIGNS)),
                    )
                )
            months = _cell_number(row.get("followup_months"))
            if _text(row.get("followup_months")) and not (math.isfinite(months) and months > 0):
                errs.append(
                    (
                        "followup_months",
                        f"followup_months={row.get('followup_months')!r} must be a number > 0 "
                        "(months)",
                    )
                )
            problems += [
                Problem(f"--trial {name}: {message}", row=i, study=study or None, column=column)
                for column, message in errs
            ]
            records.append(
                {
                    "study": study,
                    "yi": yi,
                    "vi": vi,
                    "design": design,
                    "months": months,
                    "n1i": _cell_number(row.get("n1i")),
                    "n2i": _cell_number(row.get("n2i")),
                    "route": row.get("route"),
                    "cell_type": row.get("cell_type"),
                    "conversion": _text(row.get("conversion")) or "not stated in the file",
                    "notes": _text(row.get("notes")),
                    "source": _text(row.get("source")),
                    "file": name,
                    "row": i,
                }
            )
    if problems:
        raise InputError(problems)
    return _trial_table(records, EffectSizeTable)


def _trial_table(records: list[dict[str, Any]], cls: Any) -> Any:
    labels = []
    for r in records:
        label = f"{r['study']} [{USER_TRIAL_LABEL}]"
        months = _round_months(r["months"])
        labels.append(label if months == "NA" else f"{label}, {months} mo")
    data = pd.DataFrame(
        {
            "label": labels,
            "study_id": [r["study"] for r in records],
            "outcome_id": [f"user:{r['study']}" for r in records],
            "design": [r["design"] for r in records],
            "cell_type": [r["cell_type"] for r in records],
            "route": [r["route"] for r in records],
            "followup_months": [r["months"] for r in records],
            "followup_class": [_followup_class(r["months"]) for r in records],
            "timepoint_months": [r["months"] for r in records],
            "subgroup": [None] * len(records),
            "conversion": [r["conversion"] for r in records],
            "source_url": [None] * len(records),
            "source_location": [f"{r['file']}, row {r['row']}" for r in records],
            "n1i": [r["n1i"] for r in records],
            "n2i": [r["n2i"] for r in records],
            "ci_lower_reported": [math.nan] * len(records),
            "ci_upper_reported": [math.nan] * len(records),
            "user_trial": [True] * len(records),
            "user_notes": [r["notes"] for r in records],
            "user_source": [r["source"] for r in records],
        }
    )
    return cls(
        yi=np.array([r["yi"] for r in records], dtype=float),
        vi=np.array([r["vi"] for r in records], dtype=float),
        study=tuple(labels),
        measure="MD",
        data=data,
    )


def _with_trials(es: Any, trials: Any) -> Any:
    """The primary effect sizes with the user's trials appended (published rows first)."""
    from alsmeta.effects import EffectSizeTable

    if es is None or es.k == 0:
        return trials
    base = es.data.copy() if es.data is not None else pd.DataFrame(index=range(es.k))
    if "label" not in base.columns:
        base.insert(0, "label", list(es.study))
    base["user_trial"] = False
    data = pd.concat([base, trials.data], ignore_index=True, sort=False)
    data = data[[*base.columns, *[c for c in trials.data.columns if c not in base.columns]]]
    return EffectSizeTable(
        yi=np.concatenate([es.yi, trials.yi]),
        vi=np.concatenate([es.vi, trials.vi]),
        study=(*es.study, *trials.study),
        measure=es.measure,
        data=data,
        notes=es.notes,
    )


def _read_effect_size_csv(path: Path) -> Any:
    from alsmeta.cli._io import read_table
    from alsmeta.effects import EffectSizeTable

    frame = read_table(str(path))
    if "yi" not in frame.columns or not ({"vi", "sei"} & set(frame.columns)):
        raise InputError(
            Problem(
                f"{path}: an effect-size CSV needs the columns yi and vi (or sei); found: "
                + ", ".join(map(str, frame.columns))
            )
        )
    study = "study" if "study" in frame.columns else None
    sei = "sei" if "vi" not in frame.columns else None
    return EffectSizeTable.from_frame(frame, study=study, sei=sei, measure="MD")


# ---------------------------------------------------------------------- model
@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A figure to draw at render time: the plot function's name and its arguments."""

    name: str
    function: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    caption: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReportModel:
    """The report, computed and described: formatted text plus the analyses behind it.

    ``context`` is JSON-safe and holds only strings, numbers-as-text (``{"key", "text"}``)
    and lists/dicts of them: the templates show it as it is. ``analyses`` maps a name
    (``"primary"``, ``"responders"``, ``"grade"``, ``"subgroups.route"``, ...) to the
    result object whose ``to_dict()`` the numbers come from. ``figures`` are drawn by the
    renderer.
    """

    context: Mapping[str, Any]
    analyses: Mapping[str, Any]
    figures: tuple[FigureSpec, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The formatted report content (what the HTML shows), JSON-safe."""
        import copy

        return copy.deepcopy(dict(self.context))

    def numbers(self) -> dict[str, str]:
        """Every marked number of the report: ``{data-key: text}``."""
        out: dict[str, str] = {}

        def walk(value: Any) -> None:
            if isinstance(value, Mapping):
                if set(value) == {"key", "text"}:
                    out[str(value["key"])] = str(value["text"])
                    return
                for v in value.values():
                    walk(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v)

        walk(self.context)
        return out


# ---------------------------------------------------------------------- selection
def _round_months(x: Any) -> str:
    value = float(x) if x is not None else math.nan
    return "NA" if not math.isfinite(value) else f"{value:.1f}".removesuffix(".0")


def _short_subgroup(text: str) -> str:
    return text.split(" (", 1)[0].strip()


def _label(study_id: str, subgroup: Any, timepoint: Any) -> str:
    label = str(study_id)
    sub = _text(subgroup)
    if sub:
        label += f" ({_short_subgroup(sub)})"
    months = _round_months(timepoint)
    if months != "NA":
        label += f", {months} mo"
    return label


def _followup_class(months: Any) -> str:
    value = float(months) if months is not None else math.nan
    if not math.isfinite(value):
        return "not reported"
    lo, hi = REPORT_OPTIONS["timepoint_window_months"]
    if value < lo:
        return _FOLLOWUP_CLASSES[0]
    if value <= hi:
        return _FOLLOWUP_CLASSES[1]
    return _FOLLOWUP_CLASSES[2]


def _orient_bounds(row: pd.Series) -> tuple[float, float]:
    """The study's own reported CI of an MD, oriented so that positive = benefit."""
    if row.get("effect_measure") != "MD":
        return math.nan, math.nan
    lo, hi = row.get("ci_lower"), row.get("ci_upper")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return math.nan, math.nan
    if row.get("direction") == "lower_is_benefit":
        return -float(hi), -float(lo)
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class _Selection:
    table: Any  # EffectSizeTable or None
    excluded: list[dict[str, str]]
    alternatives: list[tuple[str, pd.DataFrame]]  # (label of the replaced row, rows)


def primary_effect_sizes(evidence: Any) -> Any:
    """The effect sizes of the primary analysis: ALSFRS-R change at about six months, RCTs.

    One outcome per randomised trial (design ``"RCT"``), endpoint ``alsfrs_r_change``,
    converted to a mean difference (positive = benefit), time point within 5 to 7.5
    months (the one closest to 6 when a trial reports several). Whole-trial results come
    first; a trial that reports only nested subgroups (one ``nesting_group``) enters with
    its most precise subgroup (smallest ``vi``), and the report's sensitivity table refits
    with each of the others.

    Parameters
    ----------
    evidence : EvidenceBase

    Returns
    -------
    EffectSizeTable or None
        ``None`` when no trial qualifies. ``data`` has ``label``, ``study_id``,
        ``outcome_id``, ``design``, ``cell_type``, ``route``, ``followup_months``,
        ``followup_class``, ``subgroup``, ``n1i``, ``n2i``, ``ci_lower_reported``,
        ``ci_upper_reported`` (the trial's own CI), ``source_url``, ``source_location``.

    Examples
    --------
    >>> from alsmeta.evidence import load_evidence
    >>> from alsmeta.report import primary_effect_sizes
    >>> es = primary_effect_sizes(load_evidence())
    >>> row = es.data.iloc[0]
    >>> row["study_id"], float(row["ci_lower_reported"]), float(row["ci_upper_reported"])
    ('Oh2018', 1.23, 5.54)
    """
    return _select_primary(evidence).table


def _select_primary(evidence: Any) -> _Selection:
    from alsmeta.effects import EffectSizeTable

    endpoint = REPORT_OPTIONS["primary_endpoint"]
    lo, hi = REPORT_OPTIONS["timepoint_window_months"]
    target = REPORT_OPTIONS["target_timepoint_months"]
    frame = evidence.effect_size_frame(endpoint, "MD")
    if frame.empty:  # no outcome with this endpoint at all
        return _Selection(None, [], [])
    facts = evidence.to_frame().set_index("outcome_id")
    frame = frame[frame["design"] == REPORT_OPTIONS["primary_design"]].copy()
    excluded: list[dict[str, str]] = []
    chosen: list[pd.Series] = []
    alternatives: list[tuple[str, pd.DataFrame]] = []
    for study_id, part in frame.groupby("study_id", sort=False):
        usable = part[part["reason"].isna()]
        for row in part[part["reason"].notna()].itertuples():
            excluded.append({"outcome_id": row.outcome_id, "why": f"not converted: {row.reason}"})
        in_window = usable[usable["timepoint_months"].between(lo, hi)]
        for row in usable[~usable.index.isin(in_window.index)].itertuples():
            excluded.append(
                {
                    "outcome_id": row.outcome_id,
                    "why": f"time point {_round_months(row.timepoint_months)} months is "
                    f"outside {lo:g} to {hi:g} months",
                }
            )
        if in_window.empty:
            continue
        whole = in_window[in_window["subgroup"].isna() & in_window["nesting_group"].isna()]
        pool = whole if not whole.empty else in_window
        distance = (pool["timepoint_months"] - target).abs()
        pool = pool[distance == distance.min()]
        pick = pool.sort_values("vi", kind="stable").iloc[0]
        chosen.append(pick)
        others = in_window[in_window["outcome_id"] != pick["outcome_id"]]
        for row in others.itertuples():
            if whole.empty:
                why = (
                    f"another nested subgroup of {study_id}; the analysis uses one, the most "
                    "precise, and the sensitivity table refits with this one"
                )
            elif row.Index in whole.index:
                why = f"another time point of {study_id}; the one closest to {target:g} is used"
            else:
                why = f"a subgroup of {study_id}; the whole-trial result is used"
            excluded.append({"outcome_id": row.outcome_id, "why": why})
        if whole.empty and len(others):
            alternatives.append((str(pick["outcome_id"]), others))
    if not chosen:
        return _Selection(None, excluded, [])
    table = pd.DataFrame(chosen).reset_index(drop=True)
    es = _table_from_rows(table, facts, EffectSizeTable)
    return _Selection(es, excluded, alternatives)


def _table_from_rows(rows: pd.DataFrame, facts: pd.DataFrame, cls: Any) -> Any:
    data = pd.DataFrame(
        {
            "label": [
                _label(s, g, t)
                for s, g, t in zip(
                    rows["study_id"], rows["subgroup"], rows["timepoint_months"], strict=True
                )
            ],
            "study_id": rows["study_id"].to_numpy(),
            "outcome_id": rows["outcome_id"].to_numpy(),
            "design": rows["design"].to_numpy(),
            "cell_type": rows["cell_type"].to_numpy(),
            "route": rows["route"].to_numpy(),
            "followup_months": rows["followup_months"].to_numpy(dtype=float),
            "followup_class": [_followup_class(m) for m in rows["followup_months"]],
            "timepoint_months": rows["timepoint_months"].to_numpy(dtype=float),
            "subgroup": rows["subgroup"].to_numpy(),
            "conversion": rows["conversion"].to_numpy(),
            "source_url": rows["source_url"].to_numpy(),
            "source_location": rows["source_location"].to_numpy(),
        }
    )
    n1, n2, lo, hi = [], [], [], []
    for oid in rows["outcome_id"]:
        fact = facts.loc[oid]
        n1.append(float(fact["n_t"]) if pd.notna(fact["n_t"]) else math.nan)
        n2.append(float(fact["n_c"]) if pd.notna(fact["n_c"]) else math.nan)
        a, b = _orient_bounds(fact)
        lo.append(a)
        hi.append(b)
    data["n1i"], data["n2i"] = n1, n2
    data["ci_lower_reported"], data["ci_upper_reported"] = lo, hi
    return cls(
        yi=rows["yi"].to_numpy(dtype=float),
        vi=rows["vi"].to_numpy(dtype=float),
        study=tuple(data["label"]),
        measure=str(rows["measure"].iloc[0]),
        data=data,
    )


def _replace_row(es: Any, label: str, row: pd.Series, facts: pd.DataFrame) -> Any:
    from alsmeta.effects import EffectSizeTable

    base = es.data.copy()
    base["yi"], base["vi"], base["measure"] = es.yi, es.vi, es.measure
    new = _table_from_rows(pd.DataFrame([row]), facts, EffectSizeTable)
    add = new.data.copy()
    add["yi"], add["vi"], add["measure"] = new.yi, new.vi, new.measure
    i = int(np.flatnonzero(base["outcome_id"].to_numpy() == label)[0])
    if "user_trial" in base.columns:
        add["user_trial"] = False
    base.iloc[i] = add.iloc[0].reindex(base.columns)
    return EffectSizeTable(
        yi=base["yi"].to_numpy(dtype=float),
        vi=base["vi"].to_numpy(dtype=float),
        study=tuple(base["label"]),
        measure=es.measure,
        data=base.drop(columns=["yi", "vi", "measure"]),
    )


# ---------------------------------------------------------------------- analyses
def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call ``fn`` and collect its warnings as notes (the report lists them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, list(dict.fromkeys(str(w.message) for w in caught))


def _fit(es: Any) -> tuple[Any, list[str]]:
    from alsmeta.meta import meta_analysis

    return _quiet(
        meta_analysis,
        es,
        method=REPORT_OPTIONS["method"],
        test=REPORT_OPTIONS["test"],
        level=REPORT_OPTIONS["level"],
    )


def _fit_numbers(
    prefix: str, res: Any, *, transform: Callable[[float], float] | None = None
) -> dict[str, dict[str, str]]:
    d = res.to_dict()

    def tr(x: Any) -> Any:
        if x is None or transform is None:
            return x
        return transform(x)

    return {
        "k": _n(f"{prefix}.k", str(d["k"])),
        "estimate": _n(f"{prefix}.estimate", fmt_num(tr(d["estimate"]))),
        "ci_lower": _n(f"{prefix}.ci_lower", fmt_num(tr(d["ci_lower"]))),
        "ci_upper": _n(f"{prefix}.ci_upper", fmt_num(tr(d["ci_upper"]))),
        "pi_lower": _n(f"{prefix}.pi_lower", fmt_num(tr(d["pi_lower"]))),
        "pi_upper": _n(f"{prefix}.pi_upper", fmt_num(tr(d["pi_upper"]))),
        "se": _n(f"{prefix}.se", fmt_num(d["se"])),
        "statistic": _n(f"{prefix}.statistic", fmt_num(d["statistic"])),
        "p_value": _n(f"{prefix}.p_value", fmt_p(d["p_value"])),
        "tau2": _n(f"{prefix}.tau2", fmt_num(d["tau2"])),
        "i2": _n(f"{prefix}.i2", _fmt_pct(d["i2"])),
        "q": _n(f"{prefix}.q", fmt_num(d["q"])),
        "q_df": _n(f"{prefix}.q_df", str(d["q_df"])),
        "q_p_value": _n(f"{prefix}.q_p_value", fmt_p(d["q_p_value"])),
    }


def _forest_rows(prefix: str, res: Any, *, subgroups: Any = None, transform: Any = None,
                 ci_columns: tuple[str, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    from alsmeta.plots import forest_frame, format_forest_frame

    labels = "label" if res.es.data is not None and "label" in res.es.data.columns else None
    frame = forest_frame(res, subgroups, transform, labels=labels, ci_columns=ci_columns)
    text = format_forest_frame(frame)
    rows = []
    for i in frame.index:
        kind = str(frame.at[i, "kind"])
        rows.append(
            {
                "kind": kind,
                "label": str(text.at[i, "label"]),
                "n1": _n(f"{prefix}.rows.{i}.n1", str(text.at[i, "n1"]) or "NA"),
                "n2": _n(f"{prefix}.rows.{i}.n2", str(text.at[i, "n2"]) or "NA"),
                "estimate": _n(f"{prefix}.rows.{i}.estimate", fmt_num(frame.at[i, "estimate"])),
                "ci_lower": _n(f"{prefix}.rows.{i}.ci_lower", fmt_num(frame.at[i, "ci_lower"])),
                "ci_upper": _n(f"{prefix}.rows.{i}.ci_upper", fmt_num(frame.at[i, "ci_upper"])),
                "weight": _n(f"{prefix}.rows.{i}.weight", str(text.at[i, "weight"]) or "NA"),
                "estimate_ci": str(text.at[i, "estimate_ci"]),
                "heterogeneity": str(text.at[i, "heterogeneity"]),
                "test": str(text.at[i, "test"]),
            }
        )
    return rows


def _complete_n(es: Any) -> bool:
    data = es.data
    if data is None or not {"n1i", "n2i"} <= set(data.columns):
        return False
    return bool(np.isfinite(data[["n1i", "n2i"]].to_numpy(dtype=float)).all())


def _describe_change(est: float) -> str:
    if est > 0:
        return "less"
    if est < 0:
        return "more"
    return "no more and no less"


# ---------------------------------------------------------------------- sections
def _question(data: ReportInput) -> dict[str, Any]:
    return {
        "paragraphs": [
            "Does cell therapy (stem cells and related cell products, given into the spinal "
            "fluid, a muscle, a vein or the spinal cord) slow the loss of everyday function "
            "in people with amyotrophic lateral sclerosis (ALS), compared with the same care "
            "without it?",
            "Function is measured with the ALSFRS-R, a 0 to 48 point questionnaire (12 "
            "everyday activities such as speech, swallowing, walking and breathing; higher "
            "is better). People with ALS lose on average about one point a month. Every "
            "effect in this report is oriented so that a positive number means benefit of "
            "cell therapy (a slower decline).",
        ],
        "input": data.origin,
    }


def _evidence_section(data: ReportInput) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    if data.kind == "evidence":
        ev = data.evidence
        by_study: dict[str, list[Any]] = {}
        for o in ev.outcomes:
            by_study.setdefault(o.study_id, []).append(o)
        for s in ev.studies:
            sources: dict[str, list[str]] = {}
            for src in [s.source, *(o.source for o in by_study.get(s.study_id, []))]:
                url = src.url or (f"doi:{src.doi}" if src.doi else "")
                places = sources.setdefault(url, [])
                if src.location not in places:
                    places.append(src.location)
            rows.append(
                {
                    "study": s.study_id,
                    "citation": s.citation,
                    "design": s.design,
                    "randomised": {True: "yes", False: "no", None: "not stated"}[s.randomised],
                    "cell_type": _text(s.cell_type) or "not stated",
                    "route": _text(s.route) or "not stated",
                    "dose": _dose_text(s),
                    "followup": _n(
                        f"evidence.{s.study_id}.followup_months",
                        fmt_num(s.followup_months, 1),
                    ),
                    "outcomes": str(len(by_study.get(s.study_id, []))),
                    "sources": [
                        {"href": _link(u), "url": u, "location": "; ".join(places)}
                        for u, places in sources.items()
                    ],
                }
            )
        n_rct = sum(1 for s in ev.studies if s.design == "RCT")
        n_rand = sum(1 for s in ev.studies if s.randomised)
        note = (
            f"{len(ev.studies)} studies with {len(ev.outcomes)} reported outcomes; "
            f"{n_rand} are randomised, {n_rct} of them randomised controlled trials (RCTs) "
            "with separate groups of patients."
        )
    else:
        es = data.effect_sizes
        frame = es.data if es.data is not None else pd.DataFrame(index=range(es.k))
        for i, label in enumerate(es.study):
            row = frame.iloc[i]
            url = _text(row.get("source_url"))
            rows.append(
                {
                    "study": label,
                    "citation": _text(row.get("citation")),
                    "design": _text(row.get("design")) or "not given",
                    "randomised": _text(row.get("randomised")) or "not given",
                    "cell_type": _text(row.get("cell_type")) or "not given",
                    "route": _text(row.get("route")) or "not given",
                    "dose": _text(row.get("dose")) or "not given",
                    "followup": _n(
                        f"evidence.{label}.followup_months",
                        fmt_num(row.get("followup_months"), 1),
                    ),
                    "outcomes": "1",
                    "sources": [
                        {
                            "href": _link(url),
                            "url": url,
                            "location": _text(row.get("source_location")),
                        }
                    ]
                    if url
                    else [],
                }
            )
        note = (
            f"{es.k} effect sizes from a user-supplied CSV; design, cell type, route and "
            "follow-up are shown only where the file has those columns."
        )
    return {"rows": rows, "note": note}


def _dose_text(study: Any) -> str:
    parts = []
    if study.doses_reported is not None:
        parts.append(f"doses: {study.doses_reported.text}")
    elif study.doses is not None:
        parts.append(f"doses: {study.doses.reported or fmt_num(study.doses.value, 0)}")
    if study.cells_per_dose is not None:
        parts.append(f"cells per dose: {study.cells_per_dose.text}")
    return "; ".join(parts) or "not stated"


def _claims_section(data: ReportInput, analyses: dict[str, Any]) -> dict[str, Any]:
    if data.kind != "evidence":
        return {
            "available": False,
            "note": "Claims are not available: they are checked against an evidence base in "
            "the bundled schema, and this report was built from an effect-size CSV.",
            "items": [],
        }
    try:
        from alsmeta.evidence.claims import evaluate_claims
    except ImportError as exc:
        return {
            "available": False,
            "note": "Claims are not available: the claims module (alsmeta.evidence.claims) "
            f"could not be imported ({type(exc).__name__}: {exc}). No verdict is given.",
            "items": [],
        }
    try:
        verdicts, notes = _quiet(evaluate_claims, data.evidence)
    except Exception as exc:  # the report still states why there is no verdict
        return {
            "available": False,
            "note": "Claims are not available: evaluating them failed "
            f"({type(exc).__name__}: {exc}). No verdict is given.",
            "items": [],
        }
    items = []
    for v in verdicts:
        d = v.to_dict()
        cid = str(d.get("claim_id", ""))
        analyses[f"claims.{cid}"] = v
        numbers: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        for key, val in _flatten("", d.get("numbers") or {}):
            entry = {
                "name": key,
                "value": _n(f"claims.{cid}.numbers.{key}", claim_number_text(key, val)),
            }
            nested_list = any(part.isdigit() for part in key.split("."))
            (details if nested_list else numbers).append(entry)
        items.append(
            {
                "claim_id": cid,
                "statement": _text(d.get("statement")),
                "verdict": _text(d.get("verdict")),
                "reason": _text(d.get("reason")),
                "numbers": numbers,
                "details": details,
                "evidence_used": [str(x) for x in (d.get("evidence_used") or [])],
                "evidence_excluded": [
                    _excluded_text(x) for x in (d.get("evidence_excluded") or [])
                ],
                "notes": [str(x) for x in (d.get("notes") or [])],
            }
        )
    out = {"available": True, "note": "", "items": items, "warnings": notes}
    if data.trials is not None:
        out["user_trials_note"] = (
            "The verdicts use the bundled evidence only: the patient-level trial(s) added "
            f"with --trial ({', '.join(dict.fromkeys(data.trials.data['study_id']))}) enter "
            "the primary meta-analysis below but do not change any claim."
        )
    return out


def _excluded_text(x: Any) -> str:
    if isinstance(x, Mapping):
        rest = {k: v for k, v in x.items() if k != "reason"}
        head = ", ".join(str(v) for v in rest.values())
        return f"{head}: {x['reason']}" if "reason" in x else head
    if isinstance(x, list | tuple):
        return ": ".join(map(str, x))
    return str(x)


def _primary_section(
    data: ReportInput, analyses: dict[str, Any], figures: list[FigureSpec], problems: list[str]
) -> dict[str, Any]:
    if data.kind == "evidence":
        sel = _select_primary(data.evidence)
        es = sel.table
        title = "ALSFRS-R change at about six months, randomised trials"
    else:
        sel = _Selection(data.effect_sizes, [], [])
        es = data.effect_sizes
        title = "All effect sizes of the input file"
    if data.trials is not None:
        es = _with_trials(es, data.trials)
    out: dict[str, Any] = {
        "title": title,
        "available": es is not None and es.k > 0,
        "excluded": sel.excluded,
        "sensitivity": [],
        "notes": [],
    }
    if es is None or es.k == 0:
        out["note"] = (
            "No randomised trial reports an ALSFRS-R change at about six months that can be "
            "converted to a mean difference, so there is no primary meta-analysis."
        )
        problems.append(out["note"])
        return out
    res, notes = _fit(es)
    analyses["primary"] = res
    if res.k >= 2:
        # With few trials the z interval ignores the uncertainty in tau^2; Knapp-Hartung
        # (t with k - 1 df) does not, and is shown beside it (very wide at k = 2, as it
        # should be).
        from alsmeta.meta import meta_analysis

        res_kh, _ = _quiet(
            meta_analysis, es, method=REPORT_OPTIONS["method"], test="knha",
            level=REPORT_OPTIONS["level"],
        )  # fmt: skip
        analyses["primary_knha"] = res_kh
        out["knha"] = _fit_numbers("primary_knha", res_kh)
    ci_columns = (
        ("ci_lower_reported", "ci_upper_reported")
        if es.data is not None and "ci_lower_reported" in es.data.columns
        else None
    )
    out["fit"] = _fit_numbers("primary", res)
    out["rows"] = _forest_rows("primary.forest", res, ci_columns=ci_columns)
    if not _complete_n(es):
        for row in out["rows"]:
            if row["kind"] != "study":
                row["n1"]["text"] = row["n2"]["text"] = "NA"
    out["notes"] = list(dict.fromkeys([*res.notes, *notes]))
    if data.trials is not None:
        out["user_trials"] = _user_trial_items(data.trials)
        out["user_trials_note"] = (
            f"Rows marked [{USER_TRIAL_LABEL}] are the user's own trials, analysed from "
            "patient-level data and added with --trial; they have no published source. "
            + " ".join(item["text"] for item in out["user_trials"])
        )
        lo, hi = REPORT_OPTIONS["timepoint_window_months"]
        for i, months in enumerate(data.trials.data["followup_months"]):
            if not lo <= float(months) <= hi:  # nan (not given) is outside too
                out["notes"].append(
                    f"{data.trials.data['study_id'].iloc[i]} ({USER_TRIAL_LABEL}): the time "
                    f"point ({_round_months(months)} months) is not within {lo:g} to {hi:g} "
                    "months, the window of the published trials; it is pooled because it was "
                    "given with --trial."
                )
    published = []
    if ci_columns is not None and es.data is not None:
        has_ci = es.data[list(ci_columns)].notna().all(axis=1).to_numpy()
        published = [str(label) for label, ok in zip(es.study, has_ci, strict=True) if ok]
    out["ci_note"] = (
        "Study rows show the trial's own published confidence interval for "
        + ", ".join(published)
        + " (as printed in the source, e.g. from a t distribution); the weights and the pooled "
        "result use the standard error derived from that interval. Other study intervals are "
        "the estimate +/- 1.96 standard errors."
        if published
        else "Study intervals are the estimate +/- 1.96 standard errors."
    )
    labels = "label" if es.data is not None and "label" in es.data.columns else None
    complete_n = _complete_n(es)
    if not complete_n:
        out["notes"].append(
            "Some trials do not report the number of participants per arm, so the figure "
            "shows no sample sizes and the table no totals."
        )
    figures.append(
        FigureSpec(
            name="primary_forest",
            function="forest_plot",
            args=(res,),
            kwargs={
                "labels": labels,
                "ci_columns": ci_columns,
                "favours": ("favours control", "favours cell therapy"),
                "columns": ("n", "estimate_ci", "weight")
                if complete_n
                else ("estimate_ci", "weight"),
            },
            caption=f"Forest plot: {title} (mean difference in ALSFRS-R points; positive = "
            "slower decline with cell therapy).",
        )
    )
    if data.kind == "evidence":
        facts = data.evidence.to_frame().set_index("outcome_id")
        j = 0
        for label, rows in sel.alternatives:
            for _, row in rows.iterrows():
                alt, _ = _fit(_replace_row(es, label, row, facts))
                key = f"sensitivity.{j}"
                j += 1
                analyses[key] = alt
                out["sensitivity"].append(
                    {
                        "replaces": label,
                        "with": _label(row["study_id"], row["subgroup"], row["timepoint_months"]),
                        "fit": _fit_numbers(key, alt),
                    }
                )
        if out["sensitivity"]:
            est = [float(a.estimate) for k, a in analyses.items() if k.startswith("sensitivity.")]
            est.append(float(res.estimate))
            out["sensitivity_range"] = {
                "low": _n("sensitivity.range.low", fmt_num(min(est))),
                "high": _n("sensitivity.range.high", fmt_num(max(est))),
            }
    return out


def _user_trial_items(trials: Any) -> list[dict[str, Any]]:
    """One description per user trial: its label, estimate and how it was converted."""
    items = []
    for i, label in enumerate(trials.study):
        row = trials.data.iloc[i]
        se = math.sqrt(float(trials.vi[i]))
        text = (
            f"{row['study_id']}: MD {fmt_num(trials.yi[i])} (SE {fmt_num(se)}) points at "
            f"{_round_months(row['followup_months'])} months, from {row['source_location']}; "
            f"conversion: {row['conversion']}"
        )
        if _text(row.get("user_notes")):
            text += f"; assumptions: {row['user_notes']}"
        items.append({"label": str(label), "study": str(row["study_id"]), "text": text + "."})
    return items


def _responders_section(
    data: ReportInput, analyses: dict[str, Any], figures: list[FigureSpec], problems: list[str]
) -> dict[str, Any]:
    if data.kind != "evidence":
        return {"available": False, "note": "Responder analyses need the evidence schema."}
    measure = REPORT_OPTIONS["responder_measure"]
    frame = data.evidence.effect_size_frame("alsfrs_responder", measure)
    frame = frame[frame["design"] == REPORT_OPTIONS["primary_design"]]
    usable = frame[frame["reason"].isna()].drop_duplicates("study_id")
    rows = []
    crit = 1.959963984540054
    for r in usable.itertuples():
        se = math.sqrt(r.vi)
        rows.append(
            {
                "label": _label(r.study_id, r.subgroup, r.timepoint_months),
                "estimate": _n(f"responders.{r.outcome_id}.or", fmt_num(math.exp(r.yi))),
                "ci_lower": _n(
                    f"responders.{r.outcome_id}.ci_lower", fmt_num(math.exp(r.yi - crit * se))
                ),
                "ci_upper": _n(
                    f"responders.{r.outcome_id}.ci_upper", fmt_num(math.exp(r.yi + crit * se))
                ),
                "definition": _text(r.definition),
            }
        )
    for r in frame[frame["reason"].notna()].itertuples():
        problems.append(f"responders, {r.outcome_id}: {r.reason}")
    out: dict[str, Any] = {"available": True, "rows": rows, "measure": measure}
    if len(usable) < REPORT_OPTIONS["subgroup_min_k"]:
        out["poolable"] = False
        out["note"] = (
            f"Responders cannot be pooled: {len(usable)} randomised "
            f"{'trial reports' if len(usable) == 1 else 'trials report'} a responder outcome "
            "in a form that can be converted to an odds ratio; pooling needs at least 2."
        )
        return out
    from alsmeta.effects import EffectSizeTable

    es = EffectSizeTable(
        yi=usable["yi"].to_numpy(dtype=float),
        vi=usable["vi"].to_numpy(dtype=float),
        study=tuple(str(r["label"]) for r in rows),
        measure=measure,
        data=usable.reset_index(drop=True),
    )
    res, notes = _fit(es)
    analyses["responders"] = res
    out["poolable"] = True
    out["fit"] = _fit_numbers("responders", res, transform=math.exp)
    out["notes"] = list(dict.fromkeys([*res.notes, *notes]))
    figures.append(
        FigureSpec(
            name="responders_forest",
            function="forest_plot",
            args=(res,),
            kwargs={"transform": np.exp, "favours": ("favours control", "favours cell therapy")},
            caption="Forest plot: responders (odds ratio; above 1 favours cell therapy).",
        )
    )
    return out


def _subgroup_section(analyses: dict[str, Any], figures: list[FigureSpec]) -> list[dict[str, Any]]:
    from alsmeta.meta import subgroup_analysis

    res = analyses.get("primary")
    out = []
    min_k = REPORT_OPTIONS["subgroup_min_k"]
    for by, title in (
        ("route", "Route of delivery"),
        ("cell_type", "Cell type"),
        ("followup_class", "Length of follow-up"),
    ):
        item: dict[str, Any] = {"by": by, "title": title, "levels": [], "available": False}
        data = None if res is None else res.es.data
        if (
            data is not None
            and by == "followup_class"
            and by not in data.columns
            and "followup_months" in data.columns
        ):
            data = data.assign(followup_class=[_followup_class(m) for m in data["followup_months"]])
        if data is None or by not in data.columns:
            item["note"] = (
                f"No subgroups by {title.lower()}: the primary analysis has no such column."
            )
            out.append(item)
            continue
        labels = data[by].astype(object).where(data[by].notna(), "not stated").astype(str)
        counts = labels.value_counts(sort=False)
        item["levels"] = [
            {"level": str(level), "k": _n(f"subgroups.{by}.{level}.k", str(int(k)))}
            for level, k in sorted(counts.items())
        ]
        few = [str(level) for level, k in counts.items() if k < min_k]
        if len(counts) < 2 or few:
            why = (
                "all the trials fall in one subgroup"
                if len(counts) < 2
                else f"{len(few)} of {len(counts)} subgroups have fewer than {min_k} trials"
            )
            item["note"] = (
                f"Too few trials to compare subgroups by {title.lower()}: {why}. A comparison "
                f"needs at least two subgroups with at least {min_k} trials each."
            )
            out.append(item)
            continue
        assert res is not None  # data is not None only with a primary result
        es = _with_column(res.es, by, labels)
        sub, notes = _quiet(
            subgroup_analysis,
            es,
            by,
            tau2=REPORT_OPTIONS["tau2_model"],
            method=REPORT_OPTIONS["method"],
            test=REPORT_OPTIONS["test"],
            level=REPORT_OPTIONS["level"],
        )
        analyses[f"subgroups.{by}"] = sub
        d = sub.to_dict()
        item["available"] = True
        item["groups"] = [
            {
                "group": str(g["group"]),
                "k": _n(f"subgroups.{by}.groups.{i}.k", str(g["k"])),
                "estimate": _n(f"subgroups.{by}.groups.{i}.estimate", fmt_num(g["estimate"])),
                "ci_lower": _n(f"subgroups.{by}.groups.{i}.ci_lower", fmt_num(g["ci_lower"])),
                "ci_upper": _n(f"subgroups.{by}.groups.{i}.ci_upper", fmt_num(g["ci_upper"])),
                "i2": _n(f"subgroups.{by}.groups.{i}.i2", _fmt_pct(g["i2"])),
            }
            for i, g in enumerate(d["subgroups"])
        ]
        item["q_between"] = _n(f"subgroups.{by}.q_between", fmt_num(d["q_between"]))
        item["q_between_df"] = _n(f"subgroups.{by}.q_between_df", str(d["q_between_df"]))
        item["q_between_p_value"] = _n(
            f"subgroups.{by}.q_between_p_value", fmt_p(d["q_between_p_value"])
        )
        item["notes"] = list(dict.fromkeys([*sub.notes, *notes]))
        figures.append(
            FigureSpec(
                name=f"subgroups_{by}",
                function="forest_plot",
                args=(res,),
                kwargs={"subgroups": sub, "labels": "label" if "label" in data.columns else None},
                caption=f"Forest plot by {title.lower()}.",
            )
        )
        out.append(item)
    return out


def _with_column(es: Any, by: str, labels: pd.Series) -> Any:
    from alsmeta.effects import EffectSizeTable

    data = es.data.copy()
    data[by] = labels.to_numpy()
    return EffectSizeTable(yi=es.yi, vi=es.vi, study=es.study, measure=es.measure, data=data)


def _direction_of(o: Any, study: Any, converted: Mapping[str, float]) -> tuple[int | None, str]:
    """The direction of one outcome's point estimate, and what it was read from."""
    if o.outcome_id in converted:
        yi = converted[o.outcome_id]
        return int(np.sign(yi)), f"effect size {fmt_num(yi)} (positive = benefit)"
    sign = 1.0 if o.direction == "higher_is_benefit" else -1.0
    eff = o.effect
    if eff is not None and eff.estimate.is_exact:
        value = eff.estimate.value
        null = 1.0 if eff.measure in ("OR", "RR", "HR") else 0.0
        return int(np.sign(sign * (value - null))), f"reported {eff.measure} {fmt_num(value)}"
    t, c = o.arm("treatment"), o.arm("control")
    if t is not None and c is not None:
        for name in ("mean", "ls_mean", "median", "percent"):
            a, b = getattr(t, name), getattr(c, name)
            if a is not None and b is not None and a.is_exact and b.is_exact:
                diff = sign * (a.value - b.value)
                return int(np.sign(diff)), (
                    f"{name.replace('_', ' ')} {fmt_num(a.value)} (cell therapy) vs "
                    f"{fmt_num(b.value)} (control)"
                )
    if t is not None and c is None and t.slope_before is not None and t.slope_after is not None:
        diff = sign * (t.slope_after.value - t.slope_before.value)
        return int(np.sign(diff)), (
            f"slope {fmt_num(t.slope_before.value)} before vs {fmt_num(t.slope_after.value)} "
            "after treatment (no control group)"
        )
    return None, ""


def _swim_section(
    data: ReportInput, analyses: dict[str, Any], figures: list[FigureSpec], problems: list[str]
) -> dict[str, Any]:
    if data.kind != "evidence":
        return {"available": False, "note": "Synthesis without meta-analysis needs the evidence "
                "schema (directions are read from reported numbers)."}  # fmt: skip
    from alsmeta.synthesis import effect_direction

    ev = data.evidence
    pooled: set[str] = set()
    res = analyses.get("primary")
    if res is not None and res.es.data is not None:
        pooled = set(res.es.data["study_id"])
    conv = ev.effect_size_frame(None, "MD")
    conv = conv[conv["reason"].isna()]
    converted = dict(zip(conv["outcome_id"], conv["yi"].astype(float), strict=True))
    studies = {s.study_id: s for s in ev.studies}
    records: list[dict[str, Any]] = []
    no_direction: list[str] = []
    for o in ev.outcomes:
        domain = _DOMAINS.get(o.endpoint)
        if o.study_id in pooled or domain is None or o.direction is None:
            continue
        code, basis = _direction_of(o, studies[o.study_id], converted)
        if code is None:
            no_direction.append(o.outcome_id)
            continue
        ns = [a.n.value for a in o.arms if a.n is not None and a.role == "treatment"]
        records.append(
            {
                "study": o.study_id,
                "domain": domain,
                "direction": code,
                "n_outcome": float(sum(ns)) if ns else math.nan,
                "design": studies[o.study_id].design,
                "outcome_id": o.outcome_id,
                "basis": basis,
            }
        )
    for oid in no_direction:
        problems.append(
            f"effect direction, {oid}: no number in the evidence base shows which way the "
            "result went (no estimate, arm means or before/after slopes); it is not counted"
        )
    out: dict[str, Any] = {"available": bool(records)}
    if not records:
        out["note"] = "No study outside the meta-analysis reports numbers with a direction."
        return out
    long = pd.DataFrame(records)
    long["n"] = long.groupby("study")["n_outcome"].transform("max")
    ed, notes = _quiet(effect_direction, long, threshold=REPORT_OPTIONS["direction_threshold"])
    analyses["effect_direction"] = ed
    out["outcomes"] = [
        {
            "study": r.study,
            "outcome_id": r.outcome_id,
            "domain": r.domain,
            "design": r.design,
            "direction": {1: "benefit", -1: "harm", 0: "no clear direction"}[int(str(r.direction))],
            "basis": r.basis,
        }
        for r in long.itertuples()
    ]
    ed_dict = ed.to_dict()
    out["cells"] = [
        {
            "study": str(row["study"]),
            "domain": str(row["domain"]),
            "design": _text(row.get("design")),
            "symbol": str(row["symbol"]),
            "label": str(row["label"]),
            "n": _n(f"effect_direction.{i}.n", _fmt_int(row["n"])),
            "n_outcomes": _n(f"effect_direction.{i}.n_outcomes", str(row["n_outcomes"])),
        }
        for i, row in enumerate(ed_dict["rows"])
    ]
    out["notes"] = list(dict.fromkeys([*ed.notes, *notes]))
    figures.append(
        FigureSpec(
            name="effect_direction",
            function="effect_direction_plot",
            args=(ed.frame[["study", "domain", "direction", "n", "design"]],),
            kwargs={},
            caption="Effect direction of the studies that could not be pooled (▲ benefit, "
            "▼ harm, ◄► no clear direction; symbol size = number of people given cell "
            "therapy).",
        )
    )
    if "ALSFRS-R" in ed.domains:
        st, st_notes = _quiet(ed.sign_test, "ALSFRS-R")
        analyses["sign_test"] = st
        d = st.to_dict()
        out["sign_test"] = {
            "n_benefit": _n("sign_test.n_benefit", str(d["n_benefit"])),
            "n_harm": _n("sign_test.n_harm", str(d["n_harm"])),
            "n_no_effect": _n("sign_test.n_no_effect", str(d["n_no_effect"])),
            "p_value": _n("sign_test.p_value", fmt_p(d["p_value"])),
            "proportion_benefit": _n(
                "sign_test.proportion_benefit", fmt_num(d["proportion_benefit"])
            ),
            "ci_lower": _n("sign_test.ci_lower", fmt_num(d["ci_lower"])),
            "ci_upper": _n("sign_test.ci_upper", fmt_num(d["ci_upper"])),
            "notes": list(dict.fromkeys([*st.notes, *st_notes])),
        }
    return out


def _rob_section(data: ReportInput) -> dict[str, Any]:
    rows = []
    if data.kind == "evidence":
        for s in data.evidence.studies:
            if s.randomised:
                rows.append(
                    {
                        "study": s.study_id,
                        "design": s.design,
                        "blinding": _text(s.blinding) or "not stated",
                        "funding": _text(s.funding) or "not stated",
                    }
                )
    return {
        "judgments": False,
        "note": "The evidence base holds no risk-of-bias judgments (RoB 2 for randomised "
        "trials, ROBINS-I for the others), so none are shown and none are made up here. "
        "Because of this, the GRADE rating below is not lowered for risk of bias and may "
        "overstate how sure we can be. What the sources report about blinding and funding "
        "of the randomised studies is listed for the reader to judge.",
        "rows": rows,
    }


def _grade_section(analyses: dict[str, Any], primary_title: str) -> dict[str, Any]:
    from alsmeta.synthesis import grade_certainty

    res = analyses.get("primary")
    if res is None:
        return {"available": False, "note": "No primary meta-analysis, so no GRADE rating."}
    outcome = "ALSFRS-R function at about six months"
    g, notes = _quiet(grade_certainty, res, outcome=outcome, design="RCT")
    analyses["grade"] = g
    d = g.to_dict()
    sof = g.sof_row(intervention="cell therapy")
    return {
        "available": True,
        "outcome": primary_title,
        "certainty": sof["certainty"],
        "symbols": sof["certainty_symbols"],
        "statement": sof["statement"],
        "n_studies": _n("grade.n_studies", str(sof["n_studies"])),
        "n_participants": _n("grade.n_participants", _fmt_int(sof["n_participants"])),
        "estimate": _n("grade.estimate", fmt_num(sof["estimate"])),
        "ci_lower": _n("grade.ci_lower", fmt_num(sof["ci_lower"])),
        "ci_upper": _n("grade.ci_upper", fmt_num(sof["ci_upper"])),
        "domains": [
            {
                "domain": dom["domain"].replace("_", " "),
                "kind": dom["kind"],
                "final": f"{dom['final']:+d}" if dom["final"] else "0",
                "reason": dom["reason"],
            }
            for dom in d["domains"]
        ],
        "notes": list(dict.fromkeys([*g.notes, *notes])),
    }


def _summary_section(
    data: ReportInput, analyses: Mapping[str, Any], primary: dict[str, Any],
    grade: dict[str, Any], claims: dict[str, Any], swim: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    paras: list[list[Any]] = []
    if data.kind == "evidence":
        ev = data.evidence
        n_rct = sum(1 for s in ev.studies if s.design == "RCT")
        n_rand = sum(1 for s in ev.studies if s.randomised)
        uncontrolled = sum(
            1 for s in ev.studies if s.design in ("single-arm", "single-arm with lead-in")
        )
        paras.append(
            [
                "The evidence base holds ",
                _n("summary.n_studies", str(len(ev.studies))),
                " studies of cell therapy in ALS. Only ",
                _n("summary.n_randomised", str(n_rand)),
                " are randomised (",
                _n("summary.n_rct", str(n_rct)),
                " of them randomised controlled trials with separate groups of patients), the "
                "kind of study that can show whether a treatment works; ",
                _n("summary.n_uncontrolled", str(uncontrolled)),
                " treated everyone and had no comparison group, so they cannot show it.",
            ]
        )
    if primary.get("available"):
        fit = primary["fit"]
        est = float(analyses["primary"].estimate)
        k = int(fit["k"]["text"])
        paras.append(
            [
                "What the randomised trials show: in the ",
                fit["k"],
                f" {'trial' if k == 1 else 'trials'} that report the ALSFRS-R change after about "
                "six months in a usable form, people given cell therapy lost on average ",
                _n("summary.abs_estimate", fmt_num(abs(est))),
                f" points {_describe_change(est)} than people in the control groups (95% "
                "confidence interval ",
                fit["ci_lower"],
                " to ",
                fit["ci_upper"],
                "; the ALSFRS-R runs from 0 to 48).",
            ]
        )
        knha = primary.get("knha")
        if knha is not None and k < 5:
            kh = analyses["primary_knha"]
            crosses = kh.ci_lower <= 0 <= kh.ci_upper
            paras[-1] += [
                f" With only {k} {'trial' if k == 1 else 'trials'} that interval is too "
                "narrow: a method that allows for how much trials differ (Knapp-Hartung) "
                "gives ",
                knha["ci_lower"],
                " to ",
                knha["ci_upper"],
                ", which includes no effect, so these trials cannot yet rule out that cell "
                "therapy makes no difference."
                if crosses
                else ", which still excludes no effect.",
            ]
        elif knha is not None:
            paras[-1].append(" The true average effect is likely to lie in that interval.")
        if data.trials is not None:
            names = ", ".join(dict.fromkeys(map(str, data.trials.data["study_id"])))
            m = data.trials.k
            paras.append(
                [
                    f"This includes {m} {'trial' if m == 1 else 'trials'} from the user's own "
                    f"patient-level data ({names}, marked {USER_TRIAL_LABEL}), analysed with "
                    "alsmeta and converted to the same scale (the ALSFRS-R change from "
                    "baseline; the conversion is stated under Methods). They are not "
                    "published trials; the claims below use the bundled evidence only.",
                ]
            )
        if primary.get("sensitivity_range"):
            rng = primary["sensitivity_range"]
            subgroups = analyses["primary"].es.data["subgroup"].dropna().astype(str)
            post_hoc = (
                ", chosen after the trial" if subgroups.str.contains("post hoc").any() else ""
            )
            paras.append(
                [
                    "A trial in this analysis reports this result only for subgroups of its "
                    f"patients{post_hoc}; depending on which subgroup is used, the average "
                    "difference lies between ",
                    rng["low"],
                    " and ",
                    rng["high"],
                    " points.",
                ]
            )
    else:
        paras.append([_text(primary.get("note"))])
    if grade.get("available"):
        res = analyses["primary"]
        caveats = ["no risk-of-bias judgments are bundled, so it is not lowered for bias"]
        data_frame = res.es.data
        if (
            data_frame is not None
            and "subgroup" in data_frame.columns
            and data_frame["subgroup"].notna().any()
        ):
            caveats.append(
                "a trial that reports only subgroups of its patients contributes one of them"
            )
        if res.k < 5:
            caveats.append(f"{res.k} {'trial is' if res.k == 1 else 'trials are'} little evidence")
        paras.append(
            [
                "How sure we are: by the GRADE approach, computed from the numbers alone, the "
                f"certainty would be rated {grade['certainty']} ({grade['symbols']}): “",
                grade["statement"],
                "” No reviewer has checked this rating: "
                + "; ".join(caveats)
                + ". The real certainty is likely lower than this rating says.",
            ]
        )
    if claims.get("available"):
        counts: dict[str, int] = {}
        for item in claims["items"]:
            counts[item["verdict"]] = counts.get(item["verdict"], 0) + 1
        text = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        paras.append([f"Claims checked against this evidence: {len(claims['items'])} ({text})."])
    if swim.get("sign_test"):
        st = swim["sign_test"]
        paras.append(
            [
                "Among the studies that could not be combined, ",
                st["n_benefit"],
                " point towards benefit and ",
                st["n_harm"],
                " towards harm on ALSFRS-R, but most had no control group, so this says "
                "little about whether cell therapy works.",
            ]
        )
    return {"paragraphs": paras}


def _methods(data: ReportInput, primary: Mapping[str, Any]) -> list[str]:
    o = REPORT_OPTIONS
    lo, hi = o["timepoint_window_months"]
    level = f"{100 * o['level']:g}%"
    paras = []
    if data.kind == "evidence":
        paras.append(
            "Studies and outcomes come from the evidence base named under Provenance; every "
            "number carries its source. Effect sizes are mean differences in ALSFRS-R points "
            "(treatment minus control, oriented so that positive means benefit), converted "
            "from what each trial reports (its own difference with CI, per-arm means and "
            "SDs, least-squares means with SEs, or a difference with an exact p-value); the "
            "conversion of each study is listed in the evidence tables of `alsmeta evidence "
            "show`."
        )
        paras.append(
            f"Primary analysis: randomised controlled trials (design {o['primary_design']}), "
            f"endpoint {o['primary_endpoint']}, time point within {lo:g} to {hi:g} months "
            f"(closest to {o['target_timepoint_months']:g} when several), one outcome per "
            "trial; whole-trial results before subgroups, and for a trial reporting only "
            f"nested subgroups the {o['nested_subgroup_rule']} one, with a sensitivity "
            "analysis refitting with each other subgroup."
        )
    else:
        paras.append(
            "Effect sizes (yi) and sampling variances (vi) are taken from the input CSV as "
            "given; all rows are pooled."
        )
    if data.trials is not None:
        paras.append(
            f"Patient-level trials of the user ({USER_TRIAL_LABEL}): "
            f"{data.trials.k} effect-size {'row was' if data.trials.k == 1 else 'rows were'} "
            "from the user's own data (--trial) added to the primary meta-analysis as extra "
            "studies, taken as given (yi, vi). "
            + " ".join(item["text"] for item in _user_trial_items(data.trials))
            + " They also enter the subgroup comparisons and the GRADE rating of the primary "
            "analysis; the claims, responders and synthesis without meta-analysis use the "
            "bundled evidence only."
        )
    paras.append(
        f"Random-effects meta-analysis: tau^2 by {o['method']}, {o['test']}-test and "
        f"{level} confidence intervals, prediction interval from z, as metafor's "
        f'rma(yi, vi, method="{o["method"]}", test="{o["test"]}"); heterogeneity by Q '
        "and I^2 (metafor's definition from tau^2)."
    )
    paras.append(
        f"Subgroups (route, cell type, follow-up class: under {lo:g}, {lo:g} to {hi:g}, over "
        f"{hi:g} months) are compared only when at least two subgroups each hold at least "
        f"{o['subgroup_min_k']} trials, with a separate tau^2 per subgroup and the Q test "
        "for subgroup differences."
    )
    if data.kind == "evidence":
        paras.append(
            f"Responders: odds ratios ({o['responder_measure']}) of randomised trials, pooled "
            f"only when at least {o['subgroup_min_k']} trials report them. Synthesis without "
            "meta-analysis for the other studies: the direction of each reported point "
            "estimate (or of the arm means, or of the slope before and after treatment for "
            f"single-arm studies with a lead-in), summarised per study and domain with a "
            f"{o['direction_threshold']:.0%} rule (Thomson and Thomas 2013, Boon and Thomson "
            "2021) and an exact two-sided sign test on the ALSFRS-R domain. Certainty by "
            "GRADE as proposed from the data by alsmeta (no reviewer overrides, no "
            "minimal important difference)."
        )
    return paras


def _power_methods(reps: int) -> list[str]:
    o = POWER_OPTIONS
    if reps == 0:
        return ["Power of a new trial: not simulated (--power-reps 0)."]
    return [
        f"Power of a new trial: {reps} simulated trials per scenario and sample size "
        f"({', '.join(map(str, o['n_per_arm']))} per arm), seed {o['seed']}, chunks of "
        f"{o['chunk_size']}, by alsmeta.simulate.power_curve (D50 progression model, "
        f"parallel design, {o['follow_up_months']:g} months of visits every "
        f"{o['visit_interval_months']:g} month, slope endpoint by the linear mixed model, "
        f"two-sided alpha {o['alpha']:g}, a null run for the type I error); effects from "
        "alsmeta.simulate.effect_from_meta of the primary meta-analysis (pooled estimate, and "
        f"its predictive distribution) and a {o['mcid_percent']:.0%} slowing of decline; "
        f"sample size for {100 * o['target_power']:g}% power by PowerResult.sample_size. "
        "Single-arm lead-in studies with cells that do nothing: the same reps and seed, "
        f"{', '.join(map(str, o['single_arm_n']))} patients, a "
        f"{o['single_arm_lead_in_months']:g}-month lead-in, linear and D50 natural history, "
        f"every patient or only those who lost at least {o['single_arm_min_decline']:g} points "
        "in the lead-in, endpoint the paired t test of post- minus pre-treatment slopes; the "
        "share significant in favour of treatment (power_favourable) with its Clopper-Pearson "
        "interval."
    ]


def _not_computed(data: ReportInput, problems: list[str]) -> dict[str, Any]:
    rows = []
    if data.kind == "evidence":
        frame = data.evidence.not_converted()
        rows = [
            {
                "study": str(r.study_id),
                "outcome_id": str(r.outcome_id),
                "endpoint": str(r.endpoint),
                "design": str(r.design),
                "reason": str(r.reason),
            }
            for r in frame.itertuples()
        ]
    return {"rows": rows, "notes": list(dict.fromkeys(problems))}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "pandas", "matplotlib", "jinja2"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def parse_generated_at(text: str | None) -> str:
    """The report's timestamp: ``text`` (ISO 8601) normalised, or now in UTC.

    Raises
    ------
    InputError
        ``text`` is not an ISO 8601 date or date-time.

    Examples
    --------
    >>> parse_generated_at("2026-01-02T03:04:05Z")
    '2026-01-02T03:04:05+00:00'
    """
    if text is None:
        return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            Problem(
                f"--generated-at {text!r} is not an ISO 8601 date-time; e.g. 2026-01-02T03:04:05Z",
                column="generated_at",
            )
        ) from None
    return stamp.isoformat()


def build_report(
    data: ReportInput | None = None,
    *,
    generated_at: str | None = None,
    power_reps: int = DEFAULT_POWER_REPS,
) -> ReportModel:
    """Run every analysis of the report and describe it as a :class:`ReportModel`.

    Parameters
    ----------
    data : ReportInput, optional
        From :func:`read_report_input`; the bundled evidence base when omitted.
    generated_at : str, optional
        ISO 8601 timestamp written into the provenance; fixing it makes the rendered
        report byte-identical across runs. Default: now (UTC).
    power_reps : int, default DEFAULT_POWER_REPS
        Simulated trials per scenario and sample size in "What would a definitive trial
        need?" (:data:`POWER_OPTIONS` fixes the rest, including the seed); ``0`` skips
        the simulation and the section says so.

    Returns
    -------
    ReportModel

    Raises
    ------
    InputError
        A bad ``generated_at``, or ``power_reps`` that is not an integer >= 0.

    Examples
    --------
    >>> from alsmeta.report import build_report
    >>> model = build_report(generated_at="2026-01-01T00:00:00+00:00", power_reps=0)
    >>> model.numbers()["primary.forest.rows.0.ci_lower"]
    '1.23'
    >>> round(model.analyses["primary"].to_dict()["estimate"], 2) == float(
    ...     model.numbers()["primary.estimate"])
    True
    """
    from alsmeta import __version__

    stamp = parse_generated_at(generated_at)
    if (
        isinstance(power_reps, bool)
        or not isinstance(power_reps, int | np.integer)
        or (power_reps < 0)
    ):
        raise InputError(
            Problem(
                f"--power-reps {power_reps!r} must be a whole number >= 0 (simulated trials "
                f"per scenario; 0 skips the power section; default {DEFAULT_POWER_REPS})",
                column="power_reps",
            )
        )
    if data is None:
        data = read_report_input()
    analyses: dict[str, Any] = {}
    figures: list[FigureSpec] = []
    problems: list[str] = []
    question = _question(data)
    evidence = _evidence_section(data)
    claims = _claims_section(data, analyses)
    primary = _primary_section(data, analyses, figures, problems)
    responders = _responders_section(data, analyses, figures, problems)
    subgroups = _subgroup_section(analyses, figures)
    swim = _swim_section(data, analyses, figures, problems)
    rob = _rob_section(data)
    grade = _grade_section(analyses, primary["title"])
    if grade.get("notes"):
        problems += [f"GRADE: {n}" for n in grade["notes"]]
    power = _power_section(data, analyses, figures, problems, primary, int(power_reps))
    summary = _summary_section(data, analyses, primary, grade, claims, swim)
    if power.get("available"):
        summary["paragraphs"].append(["What would a new trial need? ", *power["plain"][0]])
    context: dict[str, Any] = {
        "title": "Cell therapy for ALS: what the trials show",
        "question": question,
        "summary": summary,
        "evidence": evidence,
        "claims": claims,
        "primary": primary,
        "responders": responders,
        "subgroups": subgroups,
        "swim": swim,
        "rob": rob,
        "grade": grade,
        "power": power,
        "methods": [*_methods(data, primary), *_power_methods(int(power_reps))],
        "not_computed": _not_computed(data, problems),
        "provenance": {
            "version": __version__,
            "input": data.origin,
            "input_kind": data.kind,
            "sha256": data.sha256,
            "generated_at": stamp,
            "options": [{"name": k, "value": _option_text(v)} for k, v in REPORT_OPTIONS.items()]
            + [{"name": "power_reps", "value": str(int(power_reps))}]
            + [{"name": f"power_{k}", "value": _option_text(v)} for k, v in POWER_OPTIONS.items()],
            "versions": [{"name": k, "value": v} for k, v in _versions().items()],
            "trials": [{"file": f, "sha256": h} for f, h in data.trial_files],
        },
    }
    return ReportModel(context=context, analyses=analyses, figures=tuple(figures))


def _option_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, list):
        return " to ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------- power
_POWER_CACHE: dict[tuple[Any, ...], Any] = {}
_POWER_CACHE_SIZE = 16


@dataclass(frozen=True, slots=True)
class _PowerJob:
    """One call of :func:`alsmeta.simulate.power_curve`; hashable, so results are reused
    within a process (the tests build the same report several times)."""

    effect: Any  # TreatmentEffect
    null: bool
    reps: int
    model: str = "d50"  # natural history: "d50" or "linear"
    #: None: the parallel trial; False/True: the single-arm lead-in study, enrolling every
    #: patient / only those who lost at least ``single_arm_min_decline`` in the lead-in.
    single_arm_enriched: bool | None = None


def _run_power_job(job: _PowerJob) -> Any:
    from alsmeta.simulate import D50Progression, LinearProgression, TrialDesign, power_curve

    o = POWER_OPTIONS
    timing = {
        "follow_up_months": o["follow_up_months"],
        "visit_interval_months": o["visit_interval_months"],
    }
    if job.single_arm_enriched is None:
        design = TrialDesign(design=o["design"], **timing)
        sizes, endpoint = list(o["n_per_arm"]), o["endpoint"]
    else:
        design = TrialDesign(
            design="single-arm-lead-in",
            lead_in_months=o["single_arm_lead_in_months"],
            min_lead_in_decline=o["single_arm_min_decline"] if job.single_arm_enriched else None,
            **timing,
        )
        sizes, endpoint = list(o["single_arm_n"]), "lead-in"
    return power_curve(
        sizes,
        [job.effect],
        design=design,
        model=D50Progression() if job.model == "d50" else LinearProgression(),
        endpoint=endpoint,
        reps=job.reps,
        seed=o["seed"],
        alpha=o["alpha"],
        null=job.null,
        chunk_size=o["chunk_size"],
        backend="local",
        progress=False,
    )


def _run_power_jobs(jobs: Sequence[_PowerJob]) -> list[Any]:
    """Run the simulations, two at a time in forked processes where that is possible.

    Each job is a pure function of its arguments (its seed is fixed), so the numbers do
    not depend on where it runs; on a machine with one CPU, without ``fork``, or in a
    process running other threads (which a fork could deadlock) the jobs run here, one
    after the other. Results are kept in a small in-process cache (least recently used
    first out).
    """
    import multiprocessing
    import os
    import sys
    import threading

    found = {j: _POWER_CACHE[_power_key(j)] for j in jobs if _power_key(j) in _POWER_CACHE}
    todo = [j for j in dict.fromkeys(jobs) if j not in found]
    parallel = (
        len(todo) > 1
        and sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon  # daemons may not have children
    )
    results: dict[_PowerJob, Any] = {}
    if parallel:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        # Longest jobs (the null run, then the large parallel trials) first, so the two
        # workers end together.
        order = sorted(todo, key=lambda j: (-int(j.null), j.single_arm_enriched is not None))
        try:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
                results = dict(zip(order, pool.map(_run_power_job, order), strict=True))
        except (OSError, BrokenProcessPool):  # no processes to be had: run them here
            results = {}
    results.update({j: _run_power_job(j) for j in todo if j not in results})
    results.update(found)
    for job in jobs:  # the jobs of this call become the most recently used
        _POWER_CACHE.pop(_power_key(job), None)
        _POWER_CACHE[_power_key(job)] = results[job]
    while len(_POWER_CACHE) > _POWER_CACHE_SIZE:
        _POWER_CACHE.pop(next(iter(_POWER_CACHE)))
    return [results[j] for j in jobs]


def _power_key(job: _PowerJob) -> tuple[Any, ...]:
    e = job.effect
    options = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in POWER_OPTIONS.items())
    return (e.mean, e.scale, e.sd, e.source, job.null, job.reps, job.model,
            job.single_arm_enriched, options)  # fmt: skip


def _needed(res: Any, prefix: str) -> dict[str, Any]:
    """Patients per arm for the target power, from ``PowerResult.sample_size``."""
    o = POWER_OPTIONS
    row = res.sample_size(o["target_power"], column="power_favourable").iloc[0]
    grid = sorted(int(n) for n in o["n_per_arm"])
    simulated = float(row["n_per_arm_simulated"])
    interpolated = float(row["n_per_arm_interpolated"])
    if not math.isfinite(simulated):
        text, about = f"more than {grid[-1]}", ""
    elif simulated == grid[0]:
        text, about = f"{grid[0]} or fewer", ""
    else:
        text, about = str(math.ceil(interpolated)), "about "
    return {
        "n": _n(f"{prefix}.n_needed", text),
        "simulated": _n(
            f"{prefix}.n_needed_simulated",
            _fmt_int(simulated) if math.isfinite(simulated) else f"none up to {grid[-1]}",
        ),
        "reached": math.isfinite(simulated),
        "about": about,
        "value": math.ceil(interpolated) if math.isfinite(interpolated) else math.nan,
    }


def _power_rows(res: Any, prefix: str) -> list[dict[str, Any]]:
    rows = []
    for i, d in enumerate(res.to_dict()):
        rows.append(
            {
                "n_per_arm": _n(f"{prefix}.rows.{i}.n_per_arm", str(d["n_per_arm"])),
                # Power counts trials significant in favour of cell therapy only.
                "power": _n(f"{prefix}.rows.{i}.power", fmt_num(d["power_favourable"])),
                "power_ci_lower": _n(
                    f"{prefix}.rows.{i}.power_ci_lower", fmt_num(d["power_favourable_ci_lower"])
                ),
                "power_ci_upper": _n(
                    f"{prefix}.rows.{i}.power_ci_upper", fmt_num(d["power_favourable_ci_upper"])
                ),
                "type1_error": _n(f"{prefix}.rows.{i}.type1_error", fmt_num(d["type1_error"], 3)),
                "type1_error_ci_lower": _n(
                    f"{prefix}.rows.{i}.type1_error_ci_lower",
                    fmt_num(d["type1_error_ci_lower"], 3),
                ),
                "type1_error_ci_upper": _n(
                    f"{prefix}.rows.{i}.type1_error_ci_upper",
                    fmt_num(d["type1_error_ci_upper"], 3),
                ),
            }
        )
    return rows


def _power_section(
    data: ReportInput, analyses: dict[str, Any], figures: list[FigureSpec],
    problems: list[str], primary: Mapping[str, Any], reps: int,
) -> dict[str, Any]:  # fmt: skip
    """What would a definitive trial need? Power by simulation under three assumptions."""
    from alsmeta.simulate import (
        D50Progression,
        TreatmentEffect,
        effect_from_meta,
        expected_difference,
    )

    o = POWER_OPTIONS
    grid = [int(n) for n in o["n_per_arm"]]
    target = f"{100 * o['target_power']:g}%"
    out: dict[str, Any] = {
        "available": reps > 0,
        "title": "What would a definitive trial need?",
        "references": [_MCID_SOURCE, *_MODEL_SOURCES],
    }
    if reps == 0:
        out["note"] = (
            "This section was skipped: the report was built with --power-reps 0, so no trials "
            "were simulated. Build it with --power-reps N (N simulated trials per scenario; "
            f"default {DEFAULT_POWER_REPS}) to see the sample size a new trial would need."
        )
        return out
    months = float(REPORT_OPTIONS["target_timepoint_months"])
    mcid = TreatmentEffect(
        mean=float(o["mcid_percent"]),
        scale="percent",
        source=f"{o['mcid_percent']:.0%} slowing of decline (Castrillo-Viguera 2010)",
    )
    res = analyses.get("primary")
    power_model = D50Progression()
    pooled = predictive = None
    scenarios: list[tuple[str, Any]] = []
    out["meta_available"] = res is not None
    if res is None:
        out["meta_note"] = (
            "The effect of the existing trials cannot be used. "
            + (_text(primary.get("note")) or "there is no primary meta-analysis.")
            + f" Only the comparison scenario, a {o['mcid_percent']:.0%} slowing of decline, "
            "is shown."
        )
        problems.append(
            "Power of a new trial: no primary meta-analysis, so only the "
            f"{o['mcid_percent']:.0%}-slowing scenario is simulated."
        )
    elif not float(res.estimate) > 0:
        out["meta_available"] = False
        out["meta_note"] = (
            f"The pooled estimate of the existing trials ({fmt_num(res.estimate)} points) does "
            "not favour cell therapy, so no trial size would show a benefit under it; only the "
            f"comparison scenario, a {o['mcid_percent']:.0%} slowing of decline, is shown."
        )
        problems.append(
            "Power of a new trial: the pooled estimate does not favour cell therapy, so only "
            f"the {o['mcid_percent']:.0%}-slowing scenario is simulated."
        )
    else:
        try:
            pooled = effect_from_meta(res, months=months, predictive=False, model=power_model)
            predictive = effect_from_meta(res, months=months, predictive=True, model=power_model)
        except InputError as exc:
            pooled = predictive = None
            out["meta_available"] = False
            reason = "; ".join(pr.message for pr in exc.problems)
            out["meta_note"] = (
                f"The effect of the existing trials cannot be simulated: {reason}. Only the "
                f"comparison scenario, a {o['mcid_percent']:.0%} slowing of decline, is shown."
            )
            problems.append(f"Power of a new trial: {reason}.")
    if res is not None and pooled is not None and predictive is not None:
        scenarios += [("pooled", pooled), ("predictive", predictive)]
        analyses["power.effect.pooled"] = pooled
        analyses["power.effect.predictive"] = predictive
        k = int(res.k)
        out["meta"] = {
            "k": _n("power.meta.k", str(k)),
            "trials": "trial" if k == 1 else "trials",
            "md": _n("power.meta.estimate", fmt_num(res.estimate)),
            "ci_lower": _n("power.meta.ci_lower", fmt_num(res.ci_lower)),
            "ci_upper": _n("power.meta.ci_upper", fmt_num(res.ci_upper)),
            "months": f"{months:g}",
            "pooled_percent": _n("power.effect.pooled.percent", _percent(pooled.mean)),
            "predictive_sd": _n("power.effect.predictive.sd_percent", _percent(predictive.sd)),
            "tau2": _n("power.meta.tau2", fmt_num(res.tau2)),
            "se": _n("power.meta.se", fmt_num(res.se)),
        }
        if data.kind != "evidence":
            out["meta"]["caveat"] = (
                "The effect sizes come from the input CSV and are taken to be differences in "
                f"ALSFRS-R change (points) at about {months:g} months; if they are on another "
                "scale, the first two scenarios do not apply."
            )
    scenarios.append(("mcid", mcid))
    analyses["power.effect.mcid"] = mcid
    jobs = [_PowerJob(effect=e, null=i == 0, reps=int(reps)) for i, (_, e) in enumerate(scenarios)]
    nothing = TreatmentEffect(mean=0.0, source="cells that do nothing")
    single_jobs = [
        _PowerJob(effect=nothing, null=False, reps=int(reps), model=m, single_arm_enriched=e)
        for m, e in _SINGLE_ARM_SCENARIOS
    ]
    everything = _run_power_jobs([*jobs, *single_jobs])
    results = everything[: len(jobs)]
    out["single_arm"] = _single_arm_part(data, analyses, everything[len(jobs) :], int(reps))
    labels = {
        "pooled": "the two trials' pooled estimate",
        "predictive": "allowing for its uncertainty (assurance)",
        "mcid": f"a {o['mcid_percent']:.0%} slowing of decline",
    }
    if res is not None and int(res.k) != 2:
        labels["pooled"] = "the trials' pooled estimate"
    items: list[dict[str, Any]] = []
    labels_used = [name for name, _ in scenarios]
    null_name = scenarios[0][0]
    for (name, _), result in zip(scenarios, results, strict=True):
        analyses[f"power.{name}"] = result
        items.append(
            {
                "name": name,
                "label": labels[name],
                "needed": _needed(result, f"power.{name}"),
                "rows": _power_rows(result, f"power.{name}"),
            }
        )
    out["scenarios"] = items
    # One table row per sample size, one column per scenario.
    out["table"] = [
        {
            "n_per_arm": items[0]["rows"][i]["n_per_arm"],
            "cells": [it["rows"][i] for it in items],
            "type1": items[0]["rows"][i],
        }
        for i in range(len(grid))
    ]
    out["null_scenario"] = null_name
    first = results[0]
    model = first.model
    out["mcid"] = {
        "percent": f"{o['mcid_percent']:.0%}",
        "md": _n(
            "power.effect.mcid.md",
            fmt_num(expected_difference(model, mcid, months=months)),
        ),
        "months": f"{months:g}",
    }
    out["n_assumptions"] = ("One assumption", "Two assumptions", "Three assumptions")[
        len(items) - 1
    ]
    out["reps"] = _n("power.reps", str(int(reps)))
    if reps < 100:
        out["low_reps_note"] = (
            f"Only {int(reps)} simulated trials per point: the numbers in this section are "
            "rough (a power near 50% is known only to within about "
            f"±{100 / math.sqrt(reps):.0f} percentage points). Build the report with "
            f"--power-reps {DEFAULT_POWER_REPS} or more for a usable answer."
        )
    out["seed"] = _n("power.seed", str(int(first.seed)))
    out["target"] = target
    out["grid"] = ", ".join(map(str, grid))
    out["largest"] = str(grid[-1])
    out["description"] = first.description
    out["notes"] = list(dict.fromkeys(n for r in results for n in r.notes))
    # Plain words for patients.
    mc = items[-1]["needed"]
    meaningful = (
        "nearer the smallest effect that clinicians call meaningful (a "
        f"{o['mcid_percent']:.0%} slower decline), "
    )
    if len(items) == 3:
        po, pr = items[0]["needed"], items[1]["needed"]
        k = int(res.k) if res is not None else 0
        what = "the two trials" if k == 2 else f"the {k} trials" if k > 2 else "the one trial"
        out["plain"] = [
            [
                f"If the true effect of cell therapy were as large as {what} suggest, "
                + po["about"],
                po["n"],
                " patients per arm (cell therapy and control) would be enough for an "
                f"{target} chance that a six-month trial shows it. Allowing for how uncertain "
                "that estimate still is, " + pr["about"],
                pr["n"],
                " per arm would be needed"
                + (
                    " (about the same: the difference is within the simulation's error)"
                    if _close(po["value"], pr["value"])
                    else ""
                )
                + f". If the true effect is {meaningful}"
                + mc["about"],
                mc["n"],
                " per arm would be needed.",
            ]
        ]
    else:
        out["plain"] = [
            [
                f"If cell therapy slowed the decline by {o['mcid_percent']:.0%}, the smallest "
                "effect that clinicians call meaningful, a six-month trial would need "
                + mc["about"],
                mc["n"],
                f" patients per arm (cell therapy and control) for an {target} chance to show it.",
            ]
        ]
    out["assumptions"] = _power_assumptions(
        model, res, first, reps, months, meta_used="pooled" in labels_used
    )
    figures.append(
        FigureSpec(
            name="power_curve",
            function="power_curve_plot",
            args=(tuple(results),),
            kwargs={
                "target": float(o["target_power"]),
                "labels": tuple(labels[it["name"]] for it in items),
                "log_x": True,
                "column": "power_favourable",
            },
            caption=f"Power of a six-month trial by patients per arm: the share of "
            f"{int(reps)} simulated trials per point with two-sided p below {o['alpha']:g} in "
            "favour of cell therapy (bars are 95% Monte Carlo confidence intervals"
            + ("; the assurance curve is dashed" if "predictive" in labels_used else "")
            + "). Dash-dot line: "
            f"{target} power; crosses: rejection rate when cell therapy has no effect (type I "
            f"error), beside a dotted line at the nominal {o['alpha']:g}.",
        )
    )
    return out


def _power_assumptions(
    model: Any, res: Any, first: Any, reps: int, months: float, *, meta_used: bool
) -> list[str]:
    o = POWER_OPTIONS
    lo, hi = model.rate_range
    death, drop = model.death, model.dropout
    items = [
        f"Design: a parallel randomised trial, 1:1, {o['follow_up_months']:g} months with a "
        f"visit every {o['visit_interval_months']:g} month from the start of treatment "
        f"({len(np.arange(0.0, o['follow_up_months'] + 1e-9, o['visit_interval_months']))} "
        "visits); "
        f"analysis: {first.description}; two-sided alpha {o['alpha']:g}.",
        f"Natural history ({model.name} progression model, the D50 sigmoid): baseline "
        f"ALSFRS-R normal with mean {model.baseline_mean:g} and SD {model.baseline_sd:g} "
        "(NurOwn phase 3, Cudkowicz 2022, Table 1); rate of decline log-normal with mean "
        f"{model.rate_mean:g} and SD {model.rate_sd:g} points/month, kept within {lo:g} to "
        f"{hi:g} (PRO-ACT, Atassi 2014); time since onset with mean {model.onset_mean:g} "
        f"months (Cudkowicz 2022); measurement noise SD {model.noise_sd:g} point (an "
        "assumption); totals rounded to whole points.",
        "Death and dropout are modelling assumptions, not published estimates: each has a "
        f"hazard of {death.rate_per_month:g} per month at an ALSFRS-R total of "
        f"{death.reference_total:g} that doubles for every {death.doubling_points:g} "
        f"(death) or {drop.doubling_points:g} (dropout) points lower.",
        "Treatment acts from the start of treatment, in the treated arm only, by slowing "
        "every treated patient's disease clock by the same fraction (a 20% effect: the "
        "disease takes 7.5 months to progress as far as it would in 6).",
    ]
    if meta_used:
        items.append(
            f"The pooled difference (MD) in ALSFRS-R change at about {months:g} months is "
            "turned into the slowing that produces that MD, on average, at "
            f"{months:g} months in the simulated patients (noise-free totals of 200,000 "
            "patients drawn from the model, solved by Brent's method; "
            "alsmeta.simulate.effect_from_meta), so a simulated trial is on average the "
            "trial the meta-analysis describes. The MD comes from "
            f"{res.k} {'trial' if res.k == 1 else 'trials'}, so it is very uncertain; "
            "the assurance scenario draws each simulated trial's true MD from the "
            "prediction distribution of the meta-analysis (normal, mean = pooled estimate, "
            "variance = tau^2 + SE^2), carried to the slowing by the local slope of the "
            "MD in the slowing (a linearisation)."
        )
    items.append(
        f"{int(reps)} simulated trials per scenario and sample size, seed {first.seed}, "
        f"chunks of {first.chunk_size} (the numbers depend on these three, and on nothing "
        "else); power intervals are 95% Clopper-Pearson intervals of the Monte Carlo "
        "proportion; power counts only trials significant in favour of cell therapy. The "
        f"sample size for {100 * o['target_power']:g}% power interpolates between the two "
        "simulated sizes around it on the probit scale and is rounded up."
    )
    return items


#: The single-arm lead-in studies simulated with cells that do nothing: natural history
#: (straight-line or sigmoid decline) and whom they enrol (everyone, or fast lead-in decliners).
_SINGLE_ARM_SCENARIOS: tuple[tuple[str, bool], ...] = (
    ("linear", False),
    ("linear", True),
    ("d50", False),
    ("d50", True),
)


def _single_arm_part(
    data: ReportInput, analyses: dict[str, Any], results: Sequence[Any], reps: int
) -> dict[str, Any]:
    """How often a single-arm lead-in study "shows" slowing when the cells do nothing.

    Each result is a :class:`~alsmeta.simulate.PowerResult` of a true effect of 0, so its
    ``power_favourable`` is the share of studies whose paired t test of post- minus
    pre-treatment slopes is significant *and* in favour of the cells; by chance alone that
    share is alpha / 2.
    """
    o = POWER_OPTIONS
    sizes = [int(n) for n in o["single_arm_n"]]
    decline = f"{o['single_arm_min_decline']:g}"
    history = {
        "linear": "straight-line decline",
        "d50": "D50 sigmoid decline",
    }
    rows = []
    shares: list[tuple[float, float, str]] = []
    middle = sizes[len(sizes) // 2]
    for (model, enriched), res in zip(_SINGLE_ARM_SCENARIOS, results, strict=True):
        name = f"{model}_{'enriched' if enriched else 'all'}"
        analyses[f"power.single_arm.{name}"] = res
        enrol = (
            f"only patients who lost at least {decline} points in the lead-in"
            if enriched
            else "every patient"
        )
        label = f"{history[model]}; {enrol}"
        cells = []
        for d in sorted(res.to_dict(), key=lambda d: d["n_per_arm"]):
            key = f"power.single_arm.{name}.n{d['n_per_arm']}"
            parts = {"share": "", "lower": "_ci_lower", "upper": "_ci_upper"}
            cells.append(
                {
                    part: _n(f"{key}.favourable{sfx}", fmt_num(d[f"power_favourable{sfx}"], 3))
                    for part, sfx in parts.items()
                }
            )
            if d["n_per_arm"] == middle:
                shares.append(
                    (float(d["power_favourable"]), float(d["power_favourable_ci_lower"]), label)
                )
        last = max(res.to_dict(), key=lambda d: d["n_per_arm"])
        rows.append(
            {
                "label": label[:1].upper() + label[1:],
                "cells": cells,
                "mean_change": _n(
                    f"power.single_arm.{name}.mean_estimate", fmt_num(last["mean_estimate"])
                ),
            }
        )
    chance = float(o["alpha"]) / 2
    # Ties go to the first scenario in _SINGLE_ARM_SCENARIOS order.
    high, high_lower, high_label = max(shares, key=lambda t: t[0])
    low, _, low_label = min(shares, key=lambda t: t[0])
    found = []
    if data.kind == "evidence":
        frame = data.evidence.to_frame()
        lead_in = frame[frame["design"] == "single-arm with lead-in"]
        ids = sorted(set(lead_in["study_id"]))
        n_t = lead_in.groupby("study_id")["n_t"].max().dropna()
        if ids:
            found = [
                f"The evidence base holds {len(ids)} single-arm studies with a lead-in ("
                + ", ".join(ids)
                + ")"
                + (
                    f", of {int(n_t.min())} to {int(n_t.max())} treated patients."
                    if len(n_t)
                    else "."
                )
            ]
    return {
        "sizes": sizes,
        "lead_in": f"{o['single_arm_lead_in_months']:g}",
        "follow_up": f"{o['follow_up_months']:g}",
        "decline": decline,
        "rows": rows,
        "chance": _n("power.single_arm.chance", fmt_num(chance, 3)),
        "largest": str(sizes[-1]),
        "middle": str(middle),
        "found": found,
        "plain": _single_arm_plain(
            middle, (low, low_label), (high, high_lower, high_label), chance, reps
        ),
    }


def _single_arm_plain(
    middle: int, low: tuple[float, str], high: tuple[float, float, str], chance: float,
    reps: int,
) -> list[Any]:  # fmt: skip
    """The plain-words sentence; it claims a bias only where the simulation shows one."""
    head = (
        f"If the cells did nothing at all, a single-arm study of {middle} patients that "
        "compares each patient's decline after treatment with the decline before it "
        "would report a significantly slower decline in between "
    )
    numbers = [
        head,
        _n("power.single_arm.plain.low", _percent(low[0])),
        f" of cases ({low[1]}) and ",
        _n("power.single_arm.plain.high", _percent(high[0])),
        f" ({high[2]}), against {100 * chance:g}% by chance",
    ]
    if high[1] > chance:  # the interval of the largest share lies above chance
        return [
            *numbers,
            ": without a control group, whom the study enrols and how the disease bends "
            "decide the result as much as the cells do.",
        ]
    return [
        *numbers,
        f". With {reps} simulated studies per point none of these designs is clearly above "
        "chance; more simulated studies (--power-reps) would tell the designs apart.",
    ]


def _percent(share: float) -> str:
    """A share as a percentage: whole numbers from 10%, one decimal below."""
    return f"{100 * share:.0f}%" if share >= 0.095 else f"{100 * share:.1f}%"


def _close(a: float, b: float) -> bool:
    """Two simulated sample sizes within 15% of each other (Monte Carlo noise)."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 0.15 * max(a, b)
