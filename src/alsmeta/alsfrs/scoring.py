"""Scoring ALSFRS-R visits: validation, totals, domain subscores, ΔFS and stages.

:func:`score` is the one-call entry point: it validates every visit, computes the total
(0-48), the domain subscores, ΔFS when the time from onset is given, and King's and
MiToS stages, and returns a :class:`ScoreResult`. :func:`total_score` returns only the
validated totals.

Validation (research file Appendix A, "Scoring rules to enforce"):

- every item is an integer in 0..4;
- item 5 takes exactly one of 5a or 5b per visit (both answered is an error);
- a missing item is an error: a total from incomplete items is undefined, and alsmeta
  does not prorate;
- a recorded total (column ``total`` or ``ALSFRS_R_Total``) that disagrees with the
  sum of the items is an error.

All problems are collected and raised together as one :class:`~alsmeta.errors.InputError`
whose problems name the row, the column and, when given, the subject and the visit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.alsfrs.items import (
    DOMAINS,
    DOMAINS_THREE,
    ITEM_COLUMNS,
    MAX_TOTAL,
    PROACT_ITEM_COLUMNS,
    RECORDED_TOTAL_COLUMNS,
    rename_columns,
)
from alsmeta.errors import InputError, Problem, check_choice

__all__ = [
    "DOMAIN_CHOICES",
    "ScoreResult",
    "domain_scores",
    "score",
    "total_score",
]

DOMAIN_CHOICES: tuple[str, ...] = ("four", "three")

_IDX = {name: i for i, name in enumerate(ITEM_COLUMNS)}
_I5A = _IDX["cutting_without_gastrostomy"]
_I5B = _IDX["cutting_with_gastrostomy"]
# Column of each item in the 12-column "answered" array, where 5a and 5b share item 5.
_MERGED_IDX = {name: i if i <= _I5A else i - 1 for name, i in _IDX.items()}


@dataclass(frozen=True, slots=True)
class Instrument:
    """What validation needs to know about an instrument (internal).

    ``columns`` are the readable item names, with 5a and 5b at positions 4 and 5;
    ``spellings`` maps other accepted names to them; ``total_columns`` may hold a
    recorded total; ``name`` is used in messages.
    """

    name: str
    columns: tuple[str, ...]
    spellings: dict[str, str]
    total_columns: tuple[str, ...]


ALSFRS_R = Instrument(
    name="ALSFRS-R",
    columns=ITEM_COLUMNS,
    spellings=PROACT_ITEM_COLUMNS,
    total_columns=RECORDED_TOTAL_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class Validated:
    """Item values of a visit table after validation (internal to :mod:`alsmeta.alsfrs`).

    ``items`` is an ``(n, k)`` float array in the instrument's item order, ``nan`` for the
    unanswered form of item 5 and for every item of a row with a problem; ``bad`` marks
    the rows with a problem; ``problems`` lists them; ``columns`` maps readable item
    names to the input's own column names.
    """

    items: np.ndarray
    bad: np.ndarray
    problems: tuple[Problem, ...]
    columns: dict[str, str]


class _Where:
    """Per-row prefix naming subject and visit, e.g. ``"subject 'P1', visit 3: "``.

    Built only for rows with a problem, so a clean table costs no per-row Python work.
    """

    def __init__(self, frame: pd.DataFrame, subject_col: str | None, visit_col: str | None):
        self.subject = None if subject_col is None else frame[subject_col]
        self.visit = None if visit_col is None else frame[visit_col]

    def __getitem__(self, i: int) -> str:
        parts = []
        if self.subject is not None:
            parts.append(f"subject {_label(self.subject.iloc[i])}")
        if self.visit is not None:
            parts.append(f"visit {_label(self.visit.iloc[i], quote=False)}")
        return (", ".join(parts) + ": ") if parts else ""

    def values(self, i: int) -> tuple[Any, Any]:
        """The raw subject and visit values of row ``i`` (``None`` when not given)."""
        subject = None if self.subject is None else self.subject.iloc[i]
        visit = None if self.visit is None else self.visit.iloc[i]
        return subject, visit


def _label(value: Any, *, quote: bool = True) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and quote:
        return repr(value)
    return str(value)


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def check_columns(frame: pd.DataFrame, *names: str | None) -> None:
    """Raise an :class:`InputError` for each named column missing from ``frame``."""
    problems = [
        Problem(
            f"no column {name!r} in the input; columns are {', '.join(map(str, frame.columns))}"
        )
        for name in names
        if name is not None and name not in frame.columns
    ]
    if problems:
        raise InputError(problems)


def validate_items(
    frame: pd.DataFrame,
    *,
    subject_col: str | None = None,
    visit_col: str | None = None,
    skip: np.ndarray | None = None,
    check_total: bool = True,
    instrument: Instrument = ALSFRS_R,
) -> Validated:
    """Validate the ALSFRS-R items of every row; collect every problem, raise none.

    Whole-input problems (an item column absent, a named subject or visit column absent,
    one item given twice) raise an :class:`InputError` at once. ``skip`` marks rows that
    are not validated (death records); their items are ``nan``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(Problem(f"expected a pandas DataFrame, got {type(frame).__name__}"))
    check_columns(frame, subject_col, visit_col)
    original = list(map(str, frame.columns))
    item_columns = instrument.columns
    renamed = rename_columns(frame, item_columns, instrument.spellings)
    columns = {new: old for old, new in zip(original, map(str, renamed.columns), strict=True)}
    absent = [c for c in item_columns if c not in renamed.columns]
    whole: list[Problem] = []
    for name in absent:
        if name in ("cutting_without_gastrostomy", "cutting_with_gastrostomy"):
            continue
        whole.append(Problem(f"no column for {instrument.name} item {name!r}", column=name))
    if "cutting_without_gastrostomy" in absent and "cutting_with_gastrostomy" in absent:
        whole.append(
            Problem(
                f"no column for {instrument.name} item 5: give 'cutting_without_gastrostomy' (5a) "
                "and/or 'cutting_with_gastrostomy' (5b)"
            )
        )
    if len(frame) == 0:
        whole.append(Problem("the table has no rows"))
    if whole:
        raise InputError(whole)

    n = len(frame)
    check = np.ones(n, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    where = _Where(frame, subject_col, visit_col)
    items = np.full((n, len(item_columns)), np.nan)
    cell_bad = np.zeros((n, len(item_columns)), dtype=bool)
    # (row, order, Problem); order keeps the column order within a row.
    found: list[tuple[int, int, Problem]] = []

    def report(mask: np.ndarray, order: int, column: str, message: Any) -> None:
        for i in map(int, np.flatnonzero(mask & check)):
            found.append((i, order, Problem(where[i] + message(i), row=i + 1, column=column)))

    for j, name in enumerate(item_columns):
        if name not in renamed.columns:
            continue
        column = columns[name]
        raw = renamed[name]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        missing = raw.isna().to_numpy()
        not_number = ~missing & np.isnan(values)
        valid = np.isin(values, (0.0, 1.0, 2.0, 3.0, 4.0))
        out_of_rule = ~missing & ~not_number & ~valid
        report(
            not_number,
            j,
            column,
            lambda i, c=column, r=raw: f"{c} is {_value_text(r.iloc[i])}, not a number",
        )
        report(
            out_of_rule,
            j,
            column,
            lambda i, c=column, v=values: (
                f"{c} is {_value_text(float(v[i]))}; {instrument.name} items are integers 0-4"
            ),
        )
        if j not in (_I5A, _I5B):
            report(missing, j, column, lambda i, c=column: f"{c} is missing")
            cell_bad[:, j] = missing
        cell_bad[:, j] |= not_number | out_of_rule
        items[:, j] = np.where(valid, values, np.nan)

    answered_5a = _answered(renamed, "cutting_without_gastrostomy")
    answered_5b = _answered(renamed, "cutting_with_gastrostomy")
    col_5a = columns.get("cutting_without_gastrostomy", "cutting_without_gastrostomy")
    col_5b = columns.get("cutting_with_gastrostomy", "cutting_with_gastrostomy")
    both = answered_5a & answered_5b
    neither = ~answered_5a & ~answered_5b
    report(
        both,
        _I5B,
        col_5b,
        lambda i: (
            f"both {col_5a} (5a) and {col_5b} (5b) are answered; item 5 takes exactly one "
            "(5b only for patients with a gastrostomy)"
        ),
    )
    report(
        neither,
        _I5A,
        col_5a,
        lambda i: f"item 5 is missing: answer {col_5a} (5a) or {col_5b} (5b)",
    )
    bad = (cell_bad.any(axis=1) | both | neither) & check

    if check_total:
        merged = _merged(items)
        total = merged.sum(axis=1)
        lowered = {str(c).lower(): str(c) for c in frame.columns}
        for candidate in instrument.total_columns:
            total_col = lowered.get(candidate.lower())
            if total_col is None:
                continue
            raw = frame[total_col]
            recorded = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            present = raw.notna().to_numpy()
            not_number = present & np.isnan(recorded)
            differs = present & ~not_number & ~bad & (recorded != total)
            order = len(item_columns)
            report(
                not_number,
                order,
                total_col,
                lambda i, c=total_col, r=raw: (
                    f"recorded total {c} is {_value_text(r.iloc[i])}, not a number"
                ),
            )
            report(
                differs,
                order,
                total_col,
                lambda i, c=total_col, r=recorded, t=total: (
                    f"recorded total {c} = {_value_text(float(r[i]))} disagrees with the sum "
                    f"of the items, {_value_text(float(t[i]))}"
                ),
            )
            bad |= (not_number | differs) & check
    items[bad] = np.nan
    if skip is not None:
        items[~check] = np.nan
    found.sort(key=lambda t: (t[0], t[1]))
    bad.setflags(write=False)
    items.setflags(write=False)
    return Validated(items=items, bad=bad, problems=tuple(p for *_, p in found), columns=columns)


def checked_items(
    frame: pd.DataFrame,
    *,
    subject_col: str | None = None,
    visit_col: str | None = None,
    skip: np.ndarray | None = None,
    instrument: Instrument = ALSFRS_R,
) -> np.ndarray:
    """The item array of :func:`validate_items`; raise one error listing every problem."""
    checked = validate_items(
        frame, subject_col=subject_col, visit_col=visit_col, skip=skip, instrument=instrument
    )
    if checked.problems:
        raise InputError(checked.problems)
    return checked.items


def _answered(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[name].notna().to_numpy()


def _merged(items: np.ndarray) -> np.ndarray:
    """The 12 answered items: item 5 is 5a where answered, else 5b."""
    item5 = np.where(np.isnan(items[:, _I5A]), items[:, _I5B], items[:, _I5A])
    return np.column_stack([items[:, :_I5A], item5, items[:, _I5B + 1 :]])


def total_kernel(items: np.ndarray) -> np.ndarray:
    """ALSFRS-R totals from an ``(n, 13)`` validated item array (``nan`` where invalid)."""
    return _merged(items).sum(axis=1)


def domain_kernel(items: np.ndarray, domains: str = "four") -> dict[str, np.ndarray]:
    """Domain subscores from an ``(n, 13)`` validated item array."""
    table = DOMAINS if domains == "four" else DOMAINS_THREE
    merged = _merged(items)
    return {
        domain: merged[:, sorted({_MERGED_IDX[c] for c in names})].sum(axis=1)
        for domain, names in table.items()
    }


def total_score(
    frame: pd.DataFrame,
    *,
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> np.ndarray:
    """Return the validated ALSFRS-R total (0-48) of every row.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit, with the 12 items in readable (``speech`` ...) or PRO-ACT
        (``Q1_Speech`` ...) columns; item 5 as ``cutting_without_gastrostomy`` (5a)
        and/or ``cutting_with_gastrostomy`` (5b). A ``total`` or ``ALSFRS_R_Total``
        column, if present, is checked against the items.
    subject_col, visit_col : str, optional
        Columns whose values name the subject and the visit in error messages.

    Returns
    -------
    numpy.ndarray
        Float totals in input row order.

    Raises
    ------
    InputError
        Listing every bad item (not an integer 0-4, missing, both or neither of 5a/5b)
        and every recorded total that disagrees with the items, by row, subject, visit
        and column.

    Notes
    -----
    total = items 1-4 + (5a or 5b) + items 6-9 + R1 + R2 + R3 (Cedarbaum et al. 1999;
    research file Appendix A). Incomplete visits are not prorated.

    References
    ----------
    Cedarbaum JM et al. J Neurol Sci 1999;169:13-21. doi:10.1016/S0022-510X(99)00210-5

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, total_score
    >>> visit = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visit["walking"] = 2
    >>> total_score(pd.DataFrame([visit])).tolist()
    [46.0]
    """
    total = total_kernel(checked_items(frame, subject_col=subject_col, visit_col=visit_col))
    total.setflags(write=False)
    return total


def domain_scores(
    frame: pd.DataFrame,
    *,
    domains: str = "four",
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> pd.DataFrame:
    """Return the ALSFRS-R domain subscores of every row.

    Parameters
    ----------
    frame : pandas.DataFrame
        Visit table as for :func:`total_score`.
    domains : {"four", "three"}, default "four"
        ``"four"``: bulbar (items 1-3), fine_motor (4-6), gross_motor (7-9), respiratory
        (R1-R3), each 0-12. ``"three"``: bulbar (1-3, 0-12), motor (4-9, 0-24),
        respiratory (R1-R3, 0-12), as in Rooney et al. 2017.
    subject_col, visit_col : str, optional
        Columns naming the subject and the visit in error messages.

    Returns
    -------
    pandas.DataFrame
        One column per domain, same index as ``frame``.

    Raises
    ------
    InputError
        As :func:`total_score`, or if ``domains`` is not valid.

    References
    ----------
    Four domains: https://calcmd.com/calculators/alsfrs-r; HQLO review Table 3,
    doi:10.1186/s12955-022-01919-9. Three domains: Rooney J et al., JNNP 2017;88:381-385,
    doi:10.1136/jnnp-2016-314661.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, domain_scores
    >>> visit = {c: 3 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> domain_scores(pd.DataFrame([visit]), domains="three")
       bulbar  motor  respiratory
    0     9.0   18.0          9.0
    """
    check_choice("domains", domains, DOMAIN_CHOICES)
    items = checked_items(frame, subject_col=subject_col, visit_col=visit_col)
    return pd.DataFrame(domain_kernel(items, domains), index=frame.index)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScoreResult:
    """Scored ALSFRS-R visits, the visits skipped, and the notes.

    Attributes
    ----------
    table : pandas.DataFrame
        The input rows that were scored (all of them unless ``keep_going`` skipped some),
        with their own columns and index, and appended: ``total``, the domain subscores
        (``bulbar, fine_motor, gross_motor, respiratory`` or ``bulbar, motor,
        respiratory``), ``delta_fs`` (when ``onset_col`` was given), ``kings_stage``
        (str) and ``mitos_stage`` (int), and with ``worst_so_far`` also
        ``kings_stage_worst`` and ``mitos_stage_worst``.
    skipped : pandas.DataFrame
        One line per problem of a skipped row: ``row`` (1-based), ``subject``,
        ``visit``, ``column``, ``message``. Empty unless ``keep_going``.
    notes : tuple of str
        Everything worth knowing about the result (rows skipped, ΔFS not computable).
    domains, onset_col, subject_col, visit_col, precedence, zero_region : options used.
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    notes: tuple[str, ...] = field(default=())
    domains: str = "four"
    onset_col: str | None = None
    subject_col: str | None = None
    visit_col: str | None = None
    precedence: str = "4B"
    zero_region: str = "stage1"

    @property
    def n_scored(self) -> int:
        """Number of visits scored."""
        return len(self.table)

    @property
    def n_skipped(self) -> int:
        """Number of visits skipped."""
        return int(self.skipped["row"].nunique()) if len(self.skipped) else 0

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the scored table (unrounded)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: ``rows`` (records), ``skipped``, ``notes``, ``options``."""
        return {
            "rows": [_json_record(r) for r in self.table.to_dict(orient="records")],
            "skipped": [_json_record(r) for r in self.skipped.to_dict(orient="records")],
            "notes": list(self.notes),
            "options": {
                "domains": self.domains,
                "onset_col": self.onset_col,
                "subject_col": self.subject_col,
                "visit_col": self.visit_col,
                "precedence": self.precedence,
                "zero_region": self.zero_region,
            },
        }

    def summary(self) -> str:
        """Return a short text summary: counts, total range, stage distributions."""
        lines = [f"ALSFRS-R visits scored: {self.n_scored}; skipped: {self.n_skipped}"]
        if self.n_scored:
            total = self.table["total"]
            lines.append(
                f"total: min {total.min():g}, median {total.median():g}, max {total.max():g}"
            )
            kings = self.table["kings_stage"].value_counts().sort_index()
            lines.append("King's stage: " + ", ".join(f"{k}: {v}" for k, v in kings.items()))
            mitos = self.table["mitos_stage"].value_counts().sort_index()
            lines.append("MiToS stage: " + ", ".join(f"{k}: {v}" for k, v in mitos.items()))
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _json_record(record: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        missing = value is pd.NA or value is pd.NaT
        if missing or (isinstance(value, float) and not math.isfinite(value)):
            value = None
        out[str(key)] = value
    return out


def _onset_months(
    frame: pd.DataFrame, onset_col: str, where: _Where
) -> tuple[np.ndarray, list[tuple[int, Problem]]]:
    raw = frame[onset_col]
    months = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = raw.isna().to_numpy()
    not_number = ~missing & (np.isnan(months) | np.isinf(months))
    negative = months < 0
    found: list[tuple[int, Problem]] = []

    def add(mask: np.ndarray, message: Any) -> None:
        for i in map(int, np.flatnonzero(mask)):
            found.append((i, Problem(where[i] + message(i), row=i + 1, column=onset_col)))

    add(missing, lambda i: f"{onset_col} (months from onset) is missing")
    add(not_number, lambda i: f"{onset_col} is {_value_text(raw.iloc[i])}, not a number of months")
    add(negative, lambda i: f"visit is before symptom onset: {onset_col} is {months[i]:g} months")
    return months, found


def score(
    frame: pd.DataFrame,
    *,
    onset_col: str | None = None,
    visit_col: str | None = None,
    subject_col: str | None = None,
    keep_going: bool = False,
    domains: str = "four",
    precedence: str = "4B",
    zero_region: str = "stage1",
    worst_so_far: bool = False,
) -> ScoreResult:
    """Score ALSFRS-R visits: total, domains, ΔFS, King's and MiToS stages.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit with the 12 ALSFRS-R items in readable or PRO-ACT columns
        (see :data:`alsmeta.alsfrs.PROACT_ITEM_COLUMNS`, matched case-insensitively),
        item 5 as 5a and/or 5b columns. A ``total`` or ``ALSFRS_R_Total`` column is
        checked against the items.
    onset_col : str, optional
        Column holding the time **in months from symptom onset to this visit** (a
        number ≥ 0; months = days / (365.25 / 12)). For PRO-ACT, that is
        ``(ALSFRS_Delta - Onset_Delta) / (365.25 / 12)``, see
        :func:`alsmeta.alsfrs.months_from_onset`. When given, ``delta_fs`` is appended.
        A negative value (visit before onset) or a missing value is an input error; 0
        gives ``delta_fs = nan`` with a note.
    visit_col, subject_col : str, optional
        Columns naming the visit (a time or visit number) and the subject; used in
        every message, and to order visits for ``worst_so_far``.
    keep_going : bool, default False
        If False, any bad visit raises an :class:`InputError` listing every problem.
        If True, bad visits are skipped, each one reported in ``skipped``, in ``notes``
        and by a warning. Problems with the whole input (a missing column) always raise.
    domains : {"four", "three"}, default "four"
        Domain convention, see :func:`domain_scores`.
    precedence : {"4B", "4A"}, default "4B"
        King's stage when both gastrostomy and NIV apply, see
        :func:`alsmeta.alsfrs.kings_stage`.
    zero_region : {"stage1", "keep"}, default "stage1"
        King's stage when no region is involved, see :func:`alsmeta.alsfrs.kings_stage`.
    worst_so_far : bool, default False
        Also append ``kings_stage_worst`` and ``mitos_stage_worst``, the most advanced
        stage reached so far by the subject (needs ``subject_col`` and ``visit_col``).

    Returns
    -------
    ScoreResult

    Raises
    ------
    InputError
        Listing every problem, by row, subject, visit and column.

    Notes
    -----
    ΔFS = (48 - total) / months from onset (Kimura et al. 2006; formula as summarised
    for Labra et al. 2016 by AANEM; research file §2.1 and Appendix C). King's stage
    from the items follows Balendra et al. 2014 and MiToS Chiò et al. 2015 Table 1, as
    given in the research file's Appendix B; see :mod:`alsmeta.alsfrs.staging`.

    References
    ----------
    Cedarbaum JM et al. J Neurol Sci 1999;169:13-21. doi:10.1016/S0022-510X(99)00210-5
    Kimura F et al. Neurology 2006;66:265-267. doi:10.1212/01.wnl.0000194316.91908.8a
    Labra J et al. JNNP 2016;87:628-632. doi:10.1136/jnnp-2015-310998
    Balendra R et al. ALS FTD 2014;15:279-284. doi:10.3109/21678421.2014.897357
    Chiò A et al. JNNP 2015;86:38-44. doi:10.1136/jnnp-2013-306589

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, score
    >>> visit = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visit.update(speech=3, walking=3, months=12.0)
    >>> res = score(pd.DataFrame([visit]), onset_col="months")
    >>> res.table[["total", "bulbar", "gross_motor", "delta_fs", "kings_stage", "mitos_stage"]]
       total  bulbar  gross_motor  delta_fs kings_stage  mitos_stage
    0     46      11           11  0.166667           2            0
    """
    from alsmeta.alsfrs import staging

    check_choice("domains", domains, DOMAIN_CHOICES)
    check_choice("precedence", precedence, staging.PRECEDENCE_CHOICES)
    check_choice("zero_region", zero_region, staging.ZERO_REGION_CHOICES)
    if worst_so_far and (subject_col is None or visit_col is None):
        raise InputError(Problem("worst_so_far=True needs subject_col and visit_col"))
    check_columns(frame, onset_col)
    checked = validate_items(frame, subject_col=subject_col, visit_col=visit_col)
    found = [(p.row - 1 if p.row is not None else -1, p) for p in checked.problems]
    bad = checked.bad.copy()
    months = np.full(len(frame), np.nan)
    where = _Where(frame, subject_col, visit_col)
    if onset_col is not None:
        months, onset_found = _onset_months(frame, onset_col, where)
        found += onset_found
        for i, _ in onset_found:
            bad[i] = True
    found.sort(key=lambda t: t[0])  # stable: item order kept within a row
    problems = [p for _, p in found]
    if problems and not keep_going:
        raise InputError(problems)

    notes: list[str] = []
    for problem in problems:
        note = f"skipped {problem}"
        notes.append(note)
        warnings.warn(note, UserWarning, stacklevel=2)
    located = [where.values(p.row - 1) if p.row else (None, None) for p in problems]
    skipped = pd.DataFrame(
        {
            "row": [p.row for p in problems],
            "subject": [subject for subject, _ in located],
            "visit": [visit for _, visit in located],
            "column": [p.column for p in problems],
            "message": [p.message for p in problems],
        }
    )

    keep = ~bad
    items = checked.items[keep]
    table = frame.loc[keep].copy()
    total = total_kernel(items)
    # Every kept row is complete, so totals and subscores are whole numbers.
    appended: dict[str, Any] = {
        "total": total.astype(np.int64),
        **{k: v.astype(np.int64) for k, v in domain_kernel(items, domains).items()},
    }
    if onset_col is not None:
        m = months[keep]
        at_onset = m == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            dfs = np.where(at_onset, np.nan, (MAX_TOTAL - total) / m)
        if at_onset.any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(keep)[at_onset])
            note = (
                f"delta_fs is nan where {onset_col} is 0 (visit at symptom onset: "
                f"division by zero); rows {rows}"
            )
            notes.append(note)
            warnings.warn(note, UserWarning, stacklevel=2)
        appended["delta_fs"] = dfs
    kings = staging.kings_kernel(items, precedence=precedence, zero_region=zero_region)
    mitos = staging.mitos_kernel(items)
    appended["kings_stage"] = kings["stage"]
    appended["mitos_stage"] = mitos["stage"]
    if worst_so_far:
        subject = table[subject_col].to_numpy()
        time = table[visit_col].to_numpy()
        order = staging.visit_order(subject, time)
        appended["kings_stage_worst"] = staging.kings_worst_kernel(
            kings, subject, order, precedence=precedence, zero_region=zero_region
        )["stage"]
        appended["mitos_stage_worst"] = staging.mitos_worst_kernel(mitos, subject, order)["stage"]
    replaced = [c for c in appended if c in table.columns and c != "total"]
    if replaced:
        names = ", ".join(map(repr, replaced))
        notes.append(f"replaced input column(s) {names} by computed values")
    for name, values in appended.items():
        table[name] = values
    return ScoreResult(
        table=table,
        skipped=skipped,
        notes=tuple(notes),
        domains=domains,
        onset_col=onset_col,
        subject_col=subject_col,
        visit_col=visit_col,
        precedence=precedence,
        zero_region=zero_region,
    )
