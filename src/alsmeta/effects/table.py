"""The table of effect sizes and sampling variances that every analysis starts from.

An :class:`EffectSizeTable` holds one observed effect size ``yi`` and its sampling
variance ``vi`` per study, on the analysis scale (log risk ratio, not risk ratio), with
the study labels, the measure code, a copy of the input rows and the notes that record
every assumption or correction applied on the way (zero-cell additions, dropped rows).
It is what :func:`alsmeta.effects.escalc` returns, and it can also be built from a table
of effect sizes computed elsewhere with :meth:`EffectSizeTable.from_frame` or
:meth:`EffectSizeTable.from_arrays`.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.errors import InputError, Problem, check_choice

__all__ = ["EffectSizeTable"]

MISSING_CHOICES: tuple[str, ...] = ("raise", "drop")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EffectSizeTable:
    """Observed effect sizes and sampling variances, one row per study.

    Parameters
    ----------
    yi : array_like of float
        Observed effect sizes on the analysis scale; ``nan`` where a value could not be
        computed.
    vi : array_like of float
        Sampling variances of ``yi``; same length as ``yi``.
    study : tuple of str, optional
        Study labels, unique. Defaults to ``"1"`` .. ``"k"``.
    measure : str, default "GEN"
        The metafor measure code (``"RR"``, ``"SMD"``, ...); ``"GEN"`` for effect sizes
        computed elsewhere.
    data : pandas.DataFrame or None, optional
        A copy of the input rows the effect sizes were computed from, in the same order.
    notes : tuple of str, optional
        Assumptions and corrections applied (zero-cell additions, dropped rows, ...).

    Attributes
    ----------
    k : int
        Number of studies.
    sei : numpy.ndarray
        Standard errors, ``sqrt(vi)``.

    Raises
    ------
    InputError
        If ``yi``, ``vi`` and ``study`` do not have one entry per study, or labels repeat.

    Notes
    -----
    This is the object metafor builds with ``escalc()``: an ``escalc`` data frame with
    the columns ``yi`` and ``vi`` and the study labels in ``attr(yi, "slab")``. The
    arrays are stored as read-only float64 copies.

    Examples
    --------
    >>> from alsmeta.effects import EffectSizeTable
    >>> tab = EffectSizeTable(yi=[0.1, -0.3], vi=[0.04, 0.09], study=("A", "B"))
    >>> tab.k, tab.sei.round(2).tolist()
    (2, [0.2, 0.3])
    >>> tab.to_frame()
      study   yi    vi
    0     A  0.1  0.04
    1     B -0.3  0.09
    """

    yi: np.ndarray
    vi: np.ndarray
    study: tuple[str, ...] = ()
    measure: str = "GEN"
    data: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        yi = _frozen_float_array(self.yi, "yi")
        vi = _frozen_float_array(self.vi, "vi")
        problems: list[Problem] = []
        if yi.shape != vi.shape:
            problems.append(
                Problem(f"yi has {yi.size} values but vi has {vi.size}; give one per study")
            )
        study = tuple(str(s) for s in self.study) if len(self.study) else default_labels(yi.size)
        if len(study) != yi.size:
            problems.append(
                Problem(f"study has {len(study)} labels but there are {yi.size} effect sizes")
            )
        repeated = sorted(s for s, n in Counter(study).items() if n > 1)
        if repeated:
            problems.append(
                Problem(f"study labels must be unique; repeated: {', '.join(map(repr, repeated))}")
            )
        data = self.data
        if data is not None:
            if not isinstance(data, pd.DataFrame):
                problems.append(Problem("data must be a pandas DataFrame or None"))
            elif len(data) != yi.size:
                problems.append(
                    Problem(f"data has {len(data)} rows but there are {yi.size} effect sizes")
                )
            else:
                data = data.reset_index(drop=True).copy()
        if problems:
            raise InputError(problems)
        object.__setattr__(self, "yi", yi)
        object.__setattr__(self, "vi", vi)
        object.__setattr__(self, "study", study)
        object.__setattr__(self, "measure", str(self.measure))
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    # ------------------------------------------------------------------ properties
    @property
    def k(self) -> int:
        """Number of studies (rows), including rows whose ``yi`` is ``nan``."""
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``sqrt(vi)`` as a read-only array."""
        with np.errstate(invalid="ignore"):
            sei = np.sqrt(self.vi)
        sei.setflags(write=False)
        return sei

    # ------------------------------------------------------------------ views
    def to_frame(self) -> pd.DataFrame:
        """Return the input columns, then ``study``, ``yi`` and ``vi``, one row per study.

        Columns of the input already named ``study``, ``yi`` or ``vi`` are replaced.
        Values are not rounded.

        Examples
        --------
        >>> from alsmeta.effects import EffectSizeTable
        >>> EffectSizeTable(yi=[0.5], vi=[0.25]).to_frame().columns.tolist()
        ['study', 'yi', 'vi']
        """
        own = {"study": list(self.study), "yi": self.yi.copy(), "vi": self.vi.copy()}
        if self.data is None:
            return pd.DataFrame(own)
        frame = self.data.drop(columns=[c for c in own if c in self.data.columns])
        frame = frame.reset_index(drop=True)
        for name, values in own.items():
            frame[name] = pd.Series(values, index=frame.index)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (``nan`` becomes ``None``).

        Keys: ``measure``, ``k``, ``study``, ``yi``, ``vi``, ``sei``, ``notes`` and
        ``data`` (column name -> list of values, or ``None``).

        Examples
        --------
        >>> from alsmeta.effects import EffectSizeTable
        >>> EffectSizeTable(yi=[0.5, float("nan")], vi=[0.25, float("nan")]).to_dict()["yi"]
        [0.5, None]
        """
        data = None
        if self.data is not None:
            data = {
                str(col): [_json_value(v) for v in self.data[col].tolist()]
                for col in self.data.columns
            }
        return {
            "measure": self.measure,
            "k": self.k,
            "study": list(self.study),
            "yi": [_json_value(v) for v in self.yi.tolist()],
            "vi": [_json_value(v) for v in self.vi.tolist()],
            "sei": [_json_value(v) for v in self.sei.tolist()],
            "notes": list(self.notes),
            "data": data,
        }

    def summary(self, digits: int = 4) -> str:
        """Return the table as text, laid out like metafor's print of an escalc object.

        Examples
        --------
        >>> from alsmeta.effects import EffectSizeTable
        >>> print(EffectSizeTable(yi=[0.5, -0.25], vi=[0.25, 0.04], measure="SMD").summary())
        Effect sizes: SMD (standardised mean difference, bias-corrected), k = 2
        <BLANKLINE>
        study       yi      vi     sei
        1       0.5000  0.2500  0.5000
        2      -0.2500  0.0400  0.2000
        """
        from alsmeta.effects.escalc import MEASURES

        label = MEASURES.get(self.measure)
        head = f"Effect sizes: {self.measure}" + (f" ({label})" if label else "")
        lines = [f"{head}, k = {self.k}", ""]
        cols = {
            "yi": _fmt(self.yi, digits),
            "vi": _fmt(self.vi, digits),
            "sei": _fmt(self.sei, digits),
        }
        width_study = max([len("study"), *map(len, self.study)])
        widths = {
            name: max(len(name), *map(len, vals)) if vals else len(name)
            for name, vals in cols.items()
        }
        header = "study".ljust(width_study) + "".join(
            "  " + name.rjust(widths[name]) for name in cols
        )
        lines.append(header)
        for i, label_i in enumerate(self.study):
            row = label_i.ljust(width_study) + "".join(
                "  " + cols[name][i].rjust(widths[name]) for name in cols
            )
            lines.append(row)
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        return "\n".join(lines)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        yi: str = "yi",
        vi: str = "vi",
        sei: str | None = None,
        study: str | None = None,
        measure: str = "GEN",
        missing: str = "raise",
    ) -> EffectSizeTable:
        """Build a table from a data frame that already holds effect sizes.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per study.
        yi : str, default "yi"
            Column of effect sizes.
        vi : str, default "vi"
            Column of sampling variances; not read when ``sei`` is given.
        sei : str, optional
            Column of standard errors; ``vi = sei**2``.
        study : str, optional
            Column of study labels (repeated labels get suffixes ``.1``, ``.2``, ... as in
            metafor). Defaults to ``"1"`` .. ``"k"``.
        measure : str, default "GEN"
            Measure code recorded on the table.
        missing : {"raise", "drop"}, default "raise"
            What to do with rows whose effect size or variance is missing. ``"drop"``
            drops them with a warning naming the studies and records it in ``notes``.

        Returns
        -------
        EffectSizeTable

        Raises
        ------
        InputError
            Listing every problem found: missing columns (with the available names),
            non-numeric or infinite cells, missing values (with ``missing="raise"``),
            ``vi <= 0`` or ``sei <= 0``.

        Notes
        -----
        Matches ``escalc(measure="GEN", yi=yi, vi=vi, data=df)`` (or ``sei=sei``) in
        metafor, except that a variance of 0 or below is an error rather than ``NA``.

        Examples
        --------
        >>> import pandas as pd
        >>> from alsmeta.effects import EffectSizeTable
        >>> df = pd.DataFrame({"trial": ["A", "B"], "lnrr": [-0.2, 0.1], "se": [0.1, 0.2]})
        >>> tab = EffectSizeTable.from_frame(df, yi="lnrr", sei="se", study="trial")
        >>> tab.vi.round(4).tolist(), tab.study
        ([0.01, 0.04], ('A', 'B'))
        """
        problems: list[Problem] = []
        if not isinstance(df, pd.DataFrame):
            raise InputError(Problem(f"df must be a pandas DataFrame, not {type(df).__name__}"))
        try:
            check_choice("missing", missing, MISSING_CHOICES)
        except InputError as err:
            problems += err.problems
        var_name, var_kind = (sei, "sei") if sei is not None else (vi, "vi")
        wanted = {"yi": yi, var_kind: var_name}
        if study is not None:
            wanted["study"] = study
        for arg, col in wanted.items():
            if col not in df.columns:
                problems.append(missing_column_problem(arg, col, df.columns))
        k = len(df)
        labels: tuple[str, ...] = default_labels(k)
        label_note: str | None = None
        if study is not None and study in df.columns:
            labels, label_problems, label_note = labels_from_values(df[study].to_numpy(), study)
            problems += label_problems
        values: dict[str, np.ndarray | None] = {"yi": None, var_kind: None}
        for arg in values:
            col = wanted[arg]
            if col in df.columns:
                values[arg], cell_problems = to_float(df[col].to_numpy(), col, labels)
                problems += cell_problems
        return finish_table(
            values["yi"],
            values[var_kind],
            var_kind=var_kind,
            columns={"yi": yi, var_kind: var_name},
            labels=labels,
            measure=measure,
            missing=missing,
            data=df,
            problems=problems,
            notes=[label_note] if label_note else [],
        )

    @classmethod
    def from_arrays(
        cls,
        yi: Sequence[float] | np.ndarray,
        vi: Sequence[float] | np.ndarray | None = None,
        *,
        sei: Sequence[float] | np.ndarray | None = None,
        study: Sequence[Any] | None = None,
        measure: str = "GEN",
        missing: str = "raise",
    ) -> EffectSizeTable:
        """Build a table from arrays of effect sizes and variances (or standard errors).

        Parameters
        ----------
        yi : array_like
            Effect sizes.
        vi : array_like, optional
            Sampling variances. Give exactly one of ``vi`` and ``sei``.
        sei : array_like, optional
            Standard errors; ``vi = sei**2``.
        study : sequence, optional
            Study labels; defaults to ``"1"`` .. ``"k"``.
        measure : str, default "GEN"
            Measure code recorded on the table.
        missing : {"raise", "drop"}, default "raise"
            As in :meth:`from_frame`.

        Returns
        -------
        EffectSizeTable

        Raises
        ------
        InputError
            Listing every problem, with the same rules as :meth:`from_frame`.

        Notes
        -----
        Matches ``escalc(measure="GEN", yi=yi, vi=vi)`` in metafor.

        Examples
        --------
        >>> from alsmeta.effects import EffectSizeTable
        >>> EffectSizeTable.from_arrays([0.3, 0.1], sei=[0.5, 0.1]).vi.round(4).tolist()
        [0.25, 0.01]
        """
        problems: list[Problem] = []
        try:
            check_choice("missing", missing, MISSING_CHOICES)
        except InputError as err:
            problems += err.problems
        if (vi is None) == (sei is None):
            problems.append(Problem("give exactly one of vi and sei"))
            raise InputError(problems)
        var_kind = "vi" if vi is not None else "sei"
        var_values = vi if vi is not None else sei
        if np.isscalar(yi) or np.isscalar(var_values):
            problems.append(Problem("yi and vi/sei must be sequences with one value per study"))
            raise InputError(problems)
        yi_arr = np.asarray(yi, dtype=object).ravel()
        var_arr = np.asarray(var_values, dtype=object).ravel()
        k = yi_arr.size
        if var_arr.size != k:
            problems.append(
                Problem(f"yi has {k} values but {var_kind} has {var_arr.size}", column=var_kind)
            )
            raise InputError(problems)
        labels = default_labels(k)
        label_note: str | None = None
        if study is not None:
            study_arr = np.asarray(study, dtype=object).ravel()
            if study_arr.size != k:
                problems.append(Problem(f"study has {study_arr.size} labels but yi has {k} values"))
                raise InputError(problems)
            labels, label_problems, label_note = labels_from_values(study_arr, "study")
            problems += label_problems
        yi_f, p1 = to_float(yi_arr, "yi", labels)
        var_f, p2 = to_float(var_arr, var_kind, labels)
        return finish_table(
            yi_f,
            var_f,
            var_kind=var_kind,
            columns={"yi": "yi", var_kind: var_kind},
            labels=labels,
            measure=measure,
            missing=missing,
            data=None,
            problems=[*problems, *p1, *p2],
            notes=[label_note] if label_note else [],
        )


# ---------------------------------------------------------------------- shared helpers
def default_labels(k: int) -> tuple[str, ...]:
    """Return the default study labels ``"1"`` .. ``"k"``."""
    return tuple(str(i) for i in range(1, k + 1))


def make_unique(labels: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """Make labels unique the way metafor does (every copy of a repeat gets ``.1``, ``.2``).

    Returns the labels and a note (or ``None`` when nothing changed).
    """
    labels = [str(s) for s in labels]
    counts = Counter(labels)
    repeated = [s for s, n in counts.items() if n > 1]
    if not repeated:
        return tuple(labels), None
    seen: dict[str, int] = {}
    out = []
    for s in labels:
        if counts[s] > 1:
            seen[s] = seen.get(s, 0) + 1
            out.append(f"{s}.{seen[s]}")
        else:
            out.append(s)
    note = "repeated study labels were numbered: " + ", ".join(map(repr, repeated))
    return tuple(out), note


def labels_from_values(
    values: np.ndarray, column: str
) -> tuple[tuple[str, ...], list[Problem], str | None]:
    """Turn a column of labels into unique strings; a missing label is a problem.

    Returns the labels, the problems and a note when repeated labels were numbered.
    """
    problems: list[Problem] = []
    raw = list(values)
    missing = [i for i, v in enumerate(raw) if _is_missing_scalar(v)]
    for i in missing:
        problems.append(Problem("study label is missing", row=i + 1, column=column))
    text = [str(i + 1) if _is_missing_scalar(v) else _label_text(v) for i, v in enumerate(raw)]
    labels, note = make_unique(text)
    return labels, problems, note


def _label_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _is_missing_scalar(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float | np.floating) and math.isnan(value))
    except TypeError:
        return False


def missing_column_problem(arg: str, column: str, available: Any) -> Problem:
    """Describe a column that is not in the data, listing the available names."""
    names = [str(c) for c in available]
    hint = ""
    lowered = {n.lower(): n for n in names}
    if isinstance(column, str) and column.lower() in lowered:
        hint = f" (did you mean {lowered[column.lower()]!r}?)"
    listing = ", ".join(map(repr, names)) if names else "none"
    return Problem(
        f"{arg}={column!r}: no such column{hint}; available columns: {listing}",
        column=str(column),
    )


def to_float(values: Any, column: str, labels: Sequence[str]) -> tuple[np.ndarray, list[Problem]]:
    """Convert one column to float64, naming every cell that is not a number.

    Missing cells (None, NaN, NA) become ``nan`` and are not problems here; cells that
    hold text or True/False are. Non-numeric cells become ``nan`` in the result.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64).ravel(), []
    cells = pd.Series(np.asarray(values, dtype=object).ravel(), dtype=object)
    absent = cells.isna().to_numpy()
    logical = cells.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    text = cells.where(~logical)
    if len(text):
        text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan, copy=True
    )
    # Text that parses to nothing, or to NaN ("nan", ""), is a typing slip, not a
    # deliberate missing value, so it is reported rather than treated as missing.
    bad = ~absent & np.isnan(numbers)
    problems = [
        _cell_problem(f"{cells.iloc[i]!r} is not a number", int(i), column, labels)
        for i in np.flatnonzero(bad)
    ]
    numbers[bad] = np.nan
    return numbers, problems


def _cell_problem(message: str, index: int, column: str, labels: Sequence[str]) -> Problem:
    study = labels[index] if index < len(labels) else None
    return Problem(message, row=index + 1, study=study, column=column)


def rows_problems(
    mask: np.ndarray,
    message: str,
    column: str | None,
    labels: Sequence[str],
    **values: np.ndarray,
) -> list[Problem]:
    """One problem per row where ``mask`` holds; ``message`` is formatted with ``values[i]``."""
    out = []
    for i in map(int, np.flatnonzero(mask)):
        text = message.format(**{key: float(arr[i]) for key, arr in values.items()})
        out.append(Problem(text, row=i + 1, study=labels[i], column=column))
    return out


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """General problems first, then row problems in row order (stable within a row)."""
    general = [p for p in problems if p.row is None]
    rows = sorted((p for p in problems if p.row is not None), key=lambda p: p.row or 0)
    return general + rows


def name_list(labels: Sequence[str], limit: int = 20) -> str:
    """Quote labels for a message, shortening long lists."""
    quoted = [repr(s) for s in labels[:limit]]
    if len(labels) > limit:
        quoted.append(f"... ({len(labels) - limit} more)")
    return ", ".join(quoted)


def finish_table(
    yi: np.ndarray | None,
    var: np.ndarray | None,
    *,
    var_kind: str,
    columns: dict[str, str],
    labels: tuple[str, ...],
    measure: str,
    missing: str,
    data: pd.DataFrame | None,
    problems: list[Problem],
    notes: Sequence[str] = (),
) -> EffectSizeTable:
    """Check effect sizes and variances (or SEs), apply ``missing`` and build the table.

    ``labels`` must already be unique (see :func:`labels_from_values`).
    """
    notes = list(notes)
    drop = np.zeros(len(labels), dtype=bool)
    for arg, arr in (("yi", yi), (var_kind, var)):
        if arr is None:
            continue
        col = columns[arg]
        nan = np.isnan(arr)
        if missing == "raise":
            already = [p.row - 1 for p in problems if p.column == col and p.row is not None]
            nan_new = nan.copy()
            nan_new[already] = False
            problems += rows_problems(nan_new, "missing value", col, labels)
        drop |= nan
        problems += rows_problems(np.isinf(arr), "value is infinite", col, labels)
        if arg != "yi":
            bad = ~nan & ~np.isinf(arr) & (arr <= 0)
            problems += rows_problems(bad, arg + " must be > 0 (got {x:g})", col, labels, x=arr)
    if problems or yi is None or var is None:
        raise InputError(sort_problems(problems) or [Problem("yi and vi (or sei) are required")])
    if missing == "drop" and drop.any():
        dropped = [labels[i] for i in np.flatnonzero(drop)]
        message = (
            f"dropped {len(dropped)} stud{'y' if len(dropped) == 1 else 'ies'} with a missing "
            f"yi or {var_kind}: {name_list(dropped)}"
        )
        warnings.warn(message, UserWarning, stacklevel=3)
        notes.append(message)
        keep = ~drop
        yi, var = yi[keep], var[keep]
        labels = tuple(s for s, k in zip(labels, keep, strict=True) if k)
        if data is not None:
            data = data.iloc[np.flatnonzero(keep)]
    vi = var**2 if var_kind == "sei" else var
    if var_kind == "sei":
        notes.append(f"vi = sei^2 from column {columns['sei']!r}")
    return EffectSizeTable(
        yi=yi, vi=vi, study=labels, measure=measure, data=data, notes=tuple(notes)
    )


def _frozen_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise InputError(Problem(f"{name} must be an array of numbers")) from None
    if arr.ndim != 1:
        raise InputError(Problem(f"{name} must be a one-dimensional array (one value per study)"))
    arr.setflags(write=False)
    return arr


def _fmt(values: np.ndarray, digits: int) -> list[str]:
    return ["NA" if not np.isfinite(v) else f"{v:.{digits}f}" for v in values]


def _json_value(value: Any) -> Any:
    if _is_missing_scalar(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
