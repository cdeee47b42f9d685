"""The tidy visit table: one row per ALSFRS-R visit, validated once.

Every patient-level analysis (slopes, lead-in change, responders, D50) starts from a
:class:`VisitTable`. Its ``table`` has one row per visit with the columns of
:data:`VISIT_COLUMNS`; its ``subjects`` has one row per patient with the columns of
:data:`SUBJECT_COLUMNS` (onset, death, arm).

Time is kept in days, as PRO-ACT stores it (``ALSFRS_Delta``: days from the subject's
trial time 0, enrolment or first treatment; pre-trial visits are negative), and in
months = days / 30.4375 (= 365.25 / 12, as ``jpkrooney/ALSFRS_models:R/data_prep.R``).

References
----------
Atassi N et al. The PRO-ACT database. Neurology 2014;83:1719-1725.
doi:10.1212/WNL.0000000000000951 (PRO-ACT layout; research file section 1.4).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.alsfrs import ITEM_COLUMNS, normalise_item_columns, total_score
from alsmeta.errors import InputError, Problem

__all__ = [
    "DAYS_PER_MONTH",
    "SUBJECT_COLUMNS",
    "VISIT_COLUMNS",
    "VisitTable",
    "as_visit_table",
    "visit_table",
]

DAYS_PER_MONTH = 365.25 / 12
"""Days per month (30.4375): months = days / DAYS_PER_MONTH."""

VISIT_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "visit",
    "days",
    "months",
    "days_from_onset",
    "months_from_onset",
    *ITEM_COLUMNS,
    "instrument",
    "total",
    "arm",
)
"""Columns of :attr:`VisitTable.table`, in order."""

SUBJECT_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "arm",
    "onset_days",
    "died",
    "death_days",
    "first_visit_days",
    "last_visit_days",
    "n_visits",
    "age",
    "sex",
)
"""Columns of :attr:`VisitTable.subjects`, in order."""

# Accepted spellings of the non-item columns of a plain visit file (first match wins).
_ALIASES: dict[str, tuple[str, ...]] = {
    "subject_id": ("subject_id", "SubjectID", "subject"),
    "days": ("days", "ALSFRS_Delta", "feature_delta", "t_days"),
    "months": ("months", "t_months"),
    "onset_days": ("onset_days", "Onset_Delta", "onset_delta"),
    "arm": ("arm", "Study_Arm"),
    "death_days": ("death_days", "Death_Days"),
    "died": ("died", "Subject_Died"),
    "age": ("age", "Age"),
    "sex": ("sex", "Sex"),
}
_REQUIRED_ITEMS = tuple(
    c for c in ITEM_COLUMNS if c not in ("cutting_without_gastrostomy", "cutting_with_gastrostomy")
)
_ITEM5 = ("cutting_without_gastrostomy", "cutting_with_gastrostomy")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VisitTable:
    """A validated visit table.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per visit, columns :data:`VISIT_COLUMNS`, sorted by subject (in order
        of first appearance) and time. ``visit`` counts 1, 2, ... within a subject.
    subjects : pandas.DataFrame
        One row per subject, columns :data:`SUBJECT_COLUMNS`. ``onset_days`` and
        ``death_days`` are days from trial time 0 (``nan`` when unknown).
    skipped : tuple of Problem
        Visits left out with ``keep_going=True``, one problem each.
    notes : tuple of str
        Anything the reader did that the user should know.
    """

    table: pd.DataFrame
    subjects: pd.DataFrame
    skipped: tuple[Problem, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self.subjects)

    @property
    def n_visits(self) -> int:
        """Number of visits."""
        return len(self.table)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the visit table."""
        return self.table.copy()

    def to_plain(self) -> pd.DataFrame:
        """Return the plain layout: the visit table plus the subject columns per row.

        This is what :func:`visit_table` reads back, so ``visit_table(vt.to_plain())``
        reproduces ``vt``.
        """
        extra = self.subjects[["subject_id", "onset_days", "died", "death_days", "age", "sex"]]
        return self.table.merge(extra, on="subject_id", how="left", sort=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description (counts, skipped visits and notes)."""
        return {
            "n_subjects": self.n_subjects,
            "n_visits": self.n_visits,
            "skipped": [str(p) for p in self.skipped],
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Return a short text description."""
        lines = [f"Visit table: {self.n_visits} visits of {self.n_subjects} subjects"]
        if self.n_visits:
            per = self.subjects["n_visits"]
            lines.append(
                f"visits per subject: median {per.median():g} (range {per.min()}-{per.max()}); "
                f"follow-up {self.table['months'].min():.2f} to "
                f"{self.table['months'].max():.2f} months"
            )
        lines += [f"skipped: {p}" for p in self.skipped]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _find(frame: pd.DataFrame, key: str) -> str | None:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for name in _ALIASES[key]:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _where(subject: Any, day: float) -> str:
    day_text = "unknown day" if not math.isfinite(day) else f"day {day:g}"
    return f"subject {str(subject)!r}, visit at {day_text}"


def _died_flag(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(["yes", "y", "true", "1", "1.0"])] = True
    out[text.isin(["no", "n", "false", "0", "0.0"])] = False
    return out


def visit_table(
    frame: pd.DataFrame,
    *,
    sort: bool = False,
    keep_going: bool = False,
    instrument: str = "ALSFRS-R",
    _rows: np.ndarray | None = None,
) -> VisitTable:
    """Validate a plain visit frame and return the tidy :class:`VisitTable`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit. Required: ``subject_id`` (or ``SubjectID``), a time column
        ``days`` (or ``ALSFRS_Delta``; or ``months``) in days from trial time 0, and the
        item columns in readable names (:data:`alsmeta.alsfrs.ITEM_COLUMNS`) or PRO-ACT
        names (``Q1_Speech`` ...; either of the two item-5 columns may be absent).
        Optional, constant within a subject: ``onset_days`` (``Onset_Delta``, days,
        <= 0), ``arm`` (``Study_Arm``), ``death_days`` (``Death_Days``), ``died``
        (``Subject_Died``, Yes/No), ``age``, ``sex``. A recorded ``total`` is checked
        against the items by :func:`alsmeta.alsfrs.total_score`.
    sort : bool, default False
        Sort visits by time within a subject. Otherwise visits out of time order are
        an error (they usually mean a mistyped date).
    keep_going : bool, default False
        Skip the visits that have problems (each is listed in ``skipped`` and in a
        warning) instead of raising. Missing columns still raise.
    instrument : str, default "ALSFRS-R"
        Value of the ``instrument`` column.

    Returns
    -------
    VisitTable

    Raises
    ------
    InputError
        Listing every problem at once, each naming the subject, the visit (by its
        day), the column and the file row: missing columns or values, duplicate or
        unsorted visit times within a subject, a visit before onset or after death,
        subject values that change between visits, items outside 0-4.

    Notes
    -----
    months = days / 30.4375 (365.25 / 12); time from onset is
    ``days - onset_days`` (PRO-ACT: ``ALSFRS_Delta + |Onset_Delta|``, research file
    section 1.4).

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS
    >>> from alsmeta.patients import visit_table
    >>> items = {c: [4, 3] for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> frame = pd.DataFrame({"subject_id": ["A", "A"], "days": [0, 61],
    ...                       "onset_days": [-365, -365], **items})
    >>> vt = visit_table(frame)
    >>> vt.table[["subject_id", "visit", "months", "months_from_onset", "total"]]
      subject_id  visit    months  months_from_onset  total
    0          A      1  0.000000          11.991786   48.0
    1          A      2  2.004107          13.995893   36.0
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(Problem(f"expected a pandas DataFrame, got {type(frame).__name__}"))
    data = normalise_item_columns(frame).reset_index(drop=True)
    problems: list[Problem] = []
    names = {key: _find(data, key) for key in _ALIASES}
    if names["subject_id"] is None:
        problems.append(Problem("missing column 'subject_id' (or 'SubjectID')"))
    if names["days"] is None and names["months"] is None:
        problems.append(Problem("missing time column: 'days' (or 'ALSFRS_Delta') or 'months'"))
    for item in _REQUIRED_ITEMS:
        if item not in data.columns:
            problems.append(Problem(f"missing item column {item!r}", column=item))
    if not any(c in data.columns for c in _ITEM5):
        problems.append(
            Problem(
                "missing item 5: give 'cutting_without_gastrostomy' and/or "
                "'cutting_with_gastrostomy'"
            )
        )
    if problems:
        raise InputError(problems)

    n = len(data)
    rows = np.arange(1, n + 1) if _rows is None else _rows  # file rows, for messages
    subject_col = str(names["subject_id"])
    ids = data[subject_col]
    id_missing = ids.isna().to_numpy()
    subject = ids.astype("string").str.strip()
    subject = subject.str.replace(r"\.0$", "", regex=True)  # 12.0 read as float -> "12"
    in_days = names["days"] is not None
    time_col = str(names["days"] if in_days else names["months"])
    days = pd.to_numeric(data[time_col], errors="coerce").to_numpy(dtype=float)
    if not in_days:
        days = days * DAYS_PER_MONTH

    def num(key: str) -> np.ndarray:
        col = names[key]
        if col is None:
            return np.full(n, np.nan)
        return pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)

    onset = num("onset_days")
    death = num("death_days")
    age = num("age")
    died = (
        _died_flag(data[names["died"]])
        if names["died"] is not None
        else pd.Series(pd.NA, index=data.index, dtype="boolean")
    )
    arm = (
        data[names["arm"]].astype("string")
        if names["arm"] is not None
        else pd.Series(pd.NA, index=data.index, dtype="string")
    )
    sex = (
        data[names["sex"]].astype("string")
        if names["sex"] is not None
        else pd.Series(pd.NA, index=data.index, dtype="string")
    )

    # Per-row problems, keyed by the 0-based row so keep_going can drop the rows.
    bad: dict[int, list[Problem]] = {}
    subj_text = subject.fillna("<missing>").to_numpy(dtype=object)

    def add(i: int, message: str, column: str | None) -> None:
        where = _where(subj_text[i], float(days[i]))
        problem = Problem(f"{where}: {message}", row=int(rows[i]), column=column)
        bad.setdefault(i, []).append(problem)

    for i in np.flatnonzero(id_missing):
        add(int(i), "subject id is missing", subject_col)
    for i in np.flatnonzero(~np.isfinite(days)):
        add(int(i), "visit time is missing or not a number", time_col)

    # Items and totals: alsfrs validates them and names each bad cell by its row and by
    # the column as the input spells it (Q8_Walking or walking).
    try:
        totals = np.asarray(total_score(frame.reset_index(drop=True)), dtype=float)
    except InputError as exc:
        totals = np.full(n, np.nan)
        for p in exc.problems:
            if p.row is None:
                raise
            add(p.row - 1, p.message, p.column)

    codes, _ = pd.factorize(subject, sort=False)
    order = np.lexsort((np.arange(n), codes))  # by subject, then file order
    sc = codes[order]
    sd = days[order]
    same = np.r_[False, sc[1:] == sc[:-1]]
    dup = pd.DataFrame({"s": codes, "d": days}).duplicated().to_numpy() & np.isfinite(days)
    for i in np.flatnonzero(dup):
        add(int(i), "duplicate visit time within the subject", time_col)
    if not sort:
        # A visit earlier than one listed before it for the same subject.
        running = pd.Series(sd).groupby(sc).cummax().shift(1).to_numpy()
        with np.errstate(invalid="ignore"):
            back = same & (sd < running)
        for i in order[back]:
            add(
                int(i),
                "visits of the subject are not in time order (sort=True sorts them)",
                time_col,
            )

    # Subject-level values must be constant within a subject.
    sub_frames = {
        "onset_days": pd.Series(onset),
        "death_days": pd.Series(death),
        "age": pd.Series(age),
        "arm": arm.reset_index(drop=True),
        "sex": sex.reset_index(drop=True),
        "died": died.reset_index(drop=True),
    }
    for key, values in sub_frames.items():
        if names[key] is None:
            continue
        counts = values.groupby(codes).nunique(dropna=True)
        for code in counts.index[counts.to_numpy() > 1]:
            members = np.flatnonzero(codes == code)
            first_value = values.iloc[members[0]]
            for i in members[1:]:
                value = values.iloc[i]
                if not pd.isna(value) and value != first_value:
                    add(
                        int(i),
                        f"{key} differs from the subject's first visit ({first_value})",
                        names[key],
                    )
    # A subject value given on some visits only (e.g. the first) holds for all of them.
    onset = _broadcast(onset, codes)
    death = _broadcast(death, codes)
    age = _broadcast(age, codes)
    arm = _broadcast_text(arm, codes)
    sex = _broadcast_text(sex, codes)
    died = pd.Series(died.to_numpy(dtype=object), dtype="boolean").groupby(codes).transform("first")
    with np.errstate(invalid="ignore"):
        before_onset = days < onset
        after_death = days > death
        onset_positive = onset > 0
    for i in np.flatnonzero(before_onset):
        add(int(i), f"visit before symptom onset (onset at day {onset[i]:g})", names["onset_days"])
    for i in np.flatnonzero(after_death & ~before_onset):
        add(int(i), f"visit after death (death at day {death[i]:g})", names["death_days"])
    for i in np.flatnonzero(onset_positive & ~before_onset):
        add(int(i), f"onset after trial time 0 (onset_days {onset[i]:g} > 0)", names["onset_days"])

    skipped: list[Problem] = []
    if bad:
        found = [p for i in sorted(bad) for p in bad[i]]
        if not keep_going:
            raise InputError(found)
        skipped = found
        keep = np.ones(n, dtype=bool)
        keep[list(bad)] = False
        for p in found:
            warnings.warn(f"skipped visit: {p}", UserWarning, stacklevel=2)
        retry = frame.iloc[np.flatnonzero(keep)]
        if retry.empty:
            raise InputError(found)
        result = visit_table(
            retry, sort=sort, keep_going=True, instrument=instrument, _rows=rows[keep]
        )
        return VisitTable(
            table=result.table,
            subjects=result.subjects,
            skipped=tuple(skipped) + result.skipped,
            notes=result.notes,
        )

    order = np.lexsort((days, codes))
    sid = subject.to_numpy(dtype=object)[order]
    out = pd.DataFrame({"subject_id": pd.array(sid, dtype="string")})
    out["visit"] = pd.Series(codes[order]).groupby(codes[order]).cumcount().to_numpy() + 1
    out["days"] = days[order]
    out["months"] = out["days"] / DAYS_PER_MONTH
    out["days_from_onset"] = days[order] - onset[order]
    out["months_from_onset"] = out["days_from_onset"] / DAYS_PER_MONTH
    for item in ITEM_COLUMNS:
        out[item] = (
            pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float)[order]
            if item in data.columns
            else np.nan
        )
    out["instrument"] = instrument
    out["total"] = totals[order]
    out["arm"] = pd.array(arm.to_numpy(dtype=object)[order], dtype="string")
    out = out[list(VISIT_COLUMNS)]

    first = np.r_[True, codes[order][1:] != codes[order][:-1]]
    last = np.r_[codes[order][1:] != codes[order][:-1], True]
    died_sorted = died.to_numpy(dtype=object)[order][first]
    death_first = death[order][first]
    died_flag = np.array(
        [
            bool(d) if d is not pd.NA else bool(np.isfinite(t))
            for d, t in zip(died_sorted, death_first, strict=True)
        ]
    )
    subjects = pd.DataFrame(
        {
            "subject_id": out["subject_id"].to_numpy()[first],
            "arm": out["arm"].to_numpy()[first],
            "onset_days": onset[order][first],
            "died": died_flag,
            "death_days": death_first,
            "first_visit_days": days[order][first],
            "last_visit_days": days[order][last],
            "n_visits": np.bincount(codes[order])[codes[order][first]],
            "age": age[order][first],
            "sex": sex.to_numpy(dtype=object)[order][first],
        }
    )
    subjects["subject_id"] = subjects["subject_id"].astype("string")
    subjects["arm"] = subjects["arm"].astype("string")
    subjects["sex"] = subjects["sex"].astype("string")
    return VisitTable(table=out, subjects=subjects[list(SUBJECT_COLUMNS)])


def _broadcast(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """First non-missing value of each group, repeated on every row of the group."""
    return pd.Series(values).groupby(codes).transform("first").to_numpy(dtype=float)


def _broadcast_text(values: pd.Series, codes: np.ndarray) -> pd.Series:
    series = pd.Series(values.to_numpy(dtype=object), dtype="string")
    return series.groupby(codes).transform("first").astype("string")


def as_visit_table(visits: VisitTable | pd.DataFrame, **options: Any) -> VisitTable:
    """Return ``visits`` unchanged if it is a :class:`VisitTable`, else validate it."""
    if isinstance(visits, VisitTable):
        return visits
    return visit_table(visits, **options)
