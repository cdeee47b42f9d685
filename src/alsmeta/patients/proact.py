"""Readers and writers for PRO-ACT data, normalised into the visit table.

Two public PRO-ACT layouts are read (research file section 1.4):

(a) the per-form CSV release, ``PROACT_<FORM>.csv`` in older releases and
    ``F_PROACT_<FORM>.csv`` in newer ones; the forms read are ALSFRS, ALSHISTORY
    (``Onset_Delta``), DEATHDATA (``Subject_Died``, ``Death_Days``), TREATMENT
    (``Study_Arm``) and DEMOGRAPHICS (``Age``, ``Sex``). Key ``subject_id``; time is
    ``ALSFRS_Delta`` in days from the subject's trial time 0.
(b) the DREAM challenge "all_forms" long format, pipe-delimited
    ``SubjectID|form_name|feature_name|feature_value|feature_unit|feature_delta``.

A plain CSV (one row per visit, readable or PRO-ACT item names) is read by
:func:`read_visits` as well, so one entry point takes any of the three.

References
----------
Atassi N et al. Neurology 2014;83:1719-1725. doi:10.1212/WNL.0000000000000951.
File names: ``jpkrooney/ALSFRS_models:R/data_prep.R``,
``martinmodrak/ALSFRS_models:HANDOVER.md``; long format:
``dreamtools/dreamtools:dreamtools/dream7/D7C3/README.rst``,
``yoonhohong/proact:preprocess_predict.R`` (commit 004a15e).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alsmeta.alsfrs import ITEM_COLUMNS, PROACT_ITEM_COLUMNS
from alsmeta.errors import InputError, Problem
from alsmeta.patients.visits import VisitTable, visit_table

__all__ = [
    "FORMS",
    "LONG_COLUMNS",
    "read_proact",
    "read_proact_long",
    "read_visits",
    "write_proact",
    "write_proact_long",
    "write_visits",
]

FORMS: tuple[str, ...] = ("ALSFRS", "ALSHISTORY", "DEATHDATA", "TREATMENT", "DEMOGRAPHICS")
"""The per-form files read; only ALSFRS is required."""

LONG_COLUMNS: tuple[str, ...] = (
    "SubjectID",
    "form_name",
    "feature_name",
    "feature_value",
    "feature_unit",
    "feature_delta",
)
"""Columns of the DREAM "all_forms" long format."""

# Readable item name -> PRO-ACT per-form spelling (first spelling) and DREAM spelling.
_PER_FORM = {readable: name for name, readable in reversed(PROACT_ITEM_COLUMNS.items())}
_DREAM = {readable: name for name, readable in PROACT_ITEM_COLUMNS.items()}
_ORIGINAL_ONLY = ("Q10_Respiratory", "ALSFRS_Total")
_R_ITEMS = ("dyspnea", "orthopnea", "respiratory_insufficiency")
_ROW = "__alsmeta_file_row__"  # carries 1-based file rows through merges, for messages


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError:
        raise InputError(Problem(f"{path}: the file is empty")) from None
    except pd.errors.ParserError as exc:
        raise InputError(Problem(f"{path}: not a readable CSV file ({exc})")) from None
    except UnicodeDecodeError:
        raise InputError(Problem(f"{path}: not a text (UTF-8) file")) from None


def _form_files(directory: Path) -> dict[str, Path]:
    pattern = re.compile(r"^(F_)?PROACT_([A-Z]+)\.csv$", re.IGNORECASE)
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        match = pattern.match(path.name)
        if match and match.group(2).upper() in FORMS:
            found.setdefault(match.group(2).upper(), []).append(path)
    problems = [
        Problem(f"{directory}: more than one {form} file: {', '.join(p.name for p in paths)}")
        for form, paths in found.items()
        if len(paths) > 1
    ]
    if "ALSFRS" not in found:
        problems.append(
            Problem(f"{directory}: no PROACT_ALSFRS.csv or F_PROACT_ALSFRS.csv in the folder")
        )
    if problems:
        raise InputError(problems)
    return {form: paths[0] for form, paths in found.items()}


def _one_per_subject(
    frame: pd.DataFrame, columns: dict[str, str], form: str, subject_col: str
) -> pd.DataFrame:
    """First non-missing value per subject of each column; conflicting values are errors."""
    present = {src: dst for src, dst in columns.items() if src in frame.columns}
    if not present:
        return pd.DataFrame({"subject_id": pd.Series(dtype="string")})
    data = frame[[subject_col, *present]].rename(columns={subject_col: "subject_id", **present})
    data["subject_id"] = _ids(data["subject_id"])
    grouped = data.groupby("subject_id", sort=False)
    problems = []
    for dst in present.values():
        counts = grouped[dst].nunique(dropna=True)
        for sid in counts.index[counts.to_numpy() > 1]:
            values = data.loc[data["subject_id"] == sid, dst].dropna().unique()
            problems.append(
                Problem(
                    f"{form}: subject {sid!r} has conflicting values {', '.join(map(str, values))}",
                    column=next(k for k, v in present.items() if v == dst),
                )
            )
    if problems:
        raise InputError(problems)
    return grouped.first().reset_index()


def _ids(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)


def _drop_original_alsfrs(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop visits of the original 10-item ALSFRS (Q10 answered, R1-R3 not)."""
    notes: list[str] = []
    r_cols = [c for c in frame.columns if PROACT_ITEM_COLUMNS.get(str(c)) in _R_ITEMS]
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    q10 = lowered.get("q10_respiratory")
    if q10 is not None:
        no_r = frame[r_cols].isna().all(axis=1) if r_cols else pd.Series(True, index=frame.index)
        original = frame[q10].notna() & no_r
        if original.any():
            notes.append(
                f"{int(original.sum())} visit(s) of the original ALSFRS (0-40, Q10_Respiratory "
                "without R1-R3) left out: it is a different instrument from the ALSFRS-R"
            )
            frame = frame.loc[~original]
    drop = [lowered[c.lower()] for c in _ORIGINAL_ONLY if c.lower() in lowered]
    return frame.drop(columns=drop), notes


def _assemble(
    alsfrs: pd.DataFrame,
    subject_tables: list[pd.DataFrame],
    *,
    keep_going: bool,
    notes: list[str],
) -> VisitTable:
    alsfrs = alsfrs.copy()
    alsfrs["subject_id"] = _ids(alsfrs["subject_id"])
    for table in subject_tables:
        if len(table.columns) > 1:
            alsfrs = alsfrs.merge(table, on="subject_id", how="left", sort=False)
    alsfrs, dropped = _drop_original_alsfrs(alsfrs)
    notes = notes + dropped
    for note in dropped:
        warnings.warn(note, UserWarning, stacklevel=3)
    if alsfrs.empty:
        raise InputError(Problem("no ALSFRS-R visits in the input"))
    rows = alsfrs.pop(_ROW).to_numpy(dtype=int) if _ROW in alsfrs.columns else None
    result = visit_table(alsfrs, sort=True, keep_going=keep_going, _rows=rows)
    return VisitTable(
        table=result.table,
        subjects=result.subjects,
        skipped=result.skipped,
        notes=tuple(notes) + result.notes,
    )


def read_proact(directory: str | os.PathLike[str], *, keep_going: bool = False) -> VisitTable:
    """Read a PRO-ACT per-form CSV release into a :class:`VisitTable`.

    Parameters
    ----------
    directory : path
        Folder holding ``PROACT_ALSFRS.csv`` (or ``F_PROACT_ALSFRS.csv``) and, if
        available, the ALSHISTORY, DEATHDATA, TREATMENT and DEMOGRAPHICS files under the
        same naming scheme.
    keep_going : bool, default False
        Skip bad visits (listed in ``skipped``) instead of raising.

    Returns
    -------
    VisitTable
        Visits sorted by time within a subject. Visits of the original ALSFRS (Q10
        answered and R1-R3 empty) are left out with a note; it is a different
        instrument (research file section 1.3).

    Raises
    ------
    InputError
        If the ALSFRS file is missing, a subject has conflicting values in a subject
        file, or any visit is invalid (see :func:`alsmeta.patients.visit_table`).

    Notes
    -----
    ``Onset_Delta`` (days, <= 0) becomes ``onset_days``; time from onset is
    ``ALSFRS_Delta + |Onset_Delta|``; a subject died when ``Subject_Died`` is "Yes",
    at ``Death_Days``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from alsmeta.patients import read_proact, synth_cohort, write_proact
    >>> cohort = synth_cohort(5, rng=np.random.default_rng(1))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_proact(cohort, folder)
    ...     back = read_proact(folder)
    >>> back.n_subjects
    5
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(Problem(f"not a folder: {folder}"))
    files = _form_files(folder)
    alsfrs = _read_csv(files["ALSFRS"], dtype={"subject_id": "string"})
    if "subject_id" not in alsfrs.columns:
        raise InputError(Problem(f"{files['ALSFRS'].name}: no column 'subject_id'"))
    alsfrs[_ROW] = np.arange(1, len(alsfrs) + 1)
    wanted = {
        "ALSHISTORY": {"Onset_Delta": "onset_days"},
        "DEATHDATA": {"Subject_Died": "died", "Death_Days": "death_days"},
        "TREATMENT": {"Study_Arm": "arm"},
        "DEMOGRAPHICS": {"Age": "age", "Sex": "sex"},
    }
    tables = []
    for form, columns in wanted.items():
        if form not in files:
            continue
        frame = _read_csv(files[form], dtype={"subject_id": "string"})
        if "subject_id" not in frame.columns:
            raise InputError(Problem(f"{files[form].name}: no column 'subject_id'"))
        tables.append(_one_per_subject(frame, columns, files[form].name, "subject_id"))
    notes = [f"read {', '.join(p.name for p in files.values())}"]
    return _assemble(alsfrs, tables, keep_going=keep_going, notes=notes)


def read_proact_long(path: str | os.PathLike[str], *, keep_going: bool = False) -> VisitTable:
    """Read the DREAM "all_forms" pipe-delimited long format into a :class:`VisitTable`.

    Parameters
    ----------
    path : path
        A ``|``-delimited file with columns :data:`LONG_COLUMNS`.
    keep_going : bool, default False
        Skip bad visits instead of raising.

    Returns
    -------
    VisitTable

    Notes
    -----
    ``form_name="ALSFRS"`` rows give the items (``R1_Dyspnea`` ... spellings accepted),
    one visit per subject and ``feature_delta``; the derived sums (``mouth``, ``hands``,
    ..., ``ALSFRS_Total``) are ignored and ``ALSFRS_R_Total`` is checked against the
    items. ``form_name="ALSHX"`` gives ``onset_delta``. The challenge files carry no
    death or treatment form; alsmeta also reads and writes ``form_name="DEATHDATA"``
    (``Subject_Died``, ``Death_Days``), ``"TREATMENT"`` (``Study_Arm``) and
    ``"Demographic"`` (``Age``, ``Sex``) rows so that a cohort survives a round trip.

    Examples
    --------
    >>> import io, tempfile, os
    >>> import numpy as np
    >>> from alsmeta.patients import read_proact_long, synth_cohort, write_proact_long
    >>> cohort = synth_cohort(3, rng=np.random.default_rng(2))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "all_forms.txt")
    ...     _ = write_proact_long(cohort, path)
    ...     back = read_proact_long(path)
    >>> back.n_visits == cohort.n_visits
    True
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(Problem(f"file not found: {source}"))
    frame = _read_csv(source, sep="|", dtype={"SubjectID": "string", "feature_value": "string"})
    missing = [c for c in LONG_COLUMNS if c not in frame.columns and c != "feature_unit"]
    if missing:
        raise InputError(
            [Problem(f"{source.name}: missing column {c!r}", column=c) for c in missing]
        )
    frame["form"] = frame["form_name"].astype("string").str.strip().str.upper()
    frame[_ROW] = np.arange(1, len(frame) + 1)
    alsfrs_rows = frame[frame["form"] == "ALSFRS"]
    if alsfrs_rows.empty:
        raise InputError(Problem(f"{source.name}: no form_name='ALSFRS' rows"))
    keep = {str(name).lower() for name in (*PROACT_ITEM_COLUMNS, *ITEM_COLUMNS)}
    keep |= {"alsfrs_r_total", "q10_respiratory"}
    alsfrs_rows = alsfrs_rows[alsfrs_rows["feature_name"].str.lower().isin(keep)]
    delta_missing = alsfrs_rows["feature_delta"].isna()
    if delta_missing.any():
        problems = [
            Problem(
                f"subject {sid!r}: ALSFRS feature {name!r} has no feature_delta",
                row=int(i),
                column="feature_delta",
            )
            for i, sid, name in zip(
                alsfrs_rows.loc[delta_missing, _ROW],
                alsfrs_rows.loc[delta_missing, "SubjectID"],
                alsfrs_rows.loc[delta_missing, "feature_name"],
                strict=True,
            )
        ]
        if not keep_going:
            raise InputError(problems)
        for p in problems:
            warnings.warn(f"skipped: {p}", UserWarning, stacklevel=2)
        alsfrs_rows = alsfrs_rows[~delta_missing]
    wide = alsfrs_rows.pivot_table(
        index=["SubjectID", "feature_delta"],
        columns="feature_name",
        values="feature_value",
        aggfunc="first",
        sort=False,
    ).reset_index()
    wide.columns.name = None
    first_row = alsfrs_rows.groupby(["SubjectID", "feature_delta"], sort=False)[_ROW].min()
    wide = wide.merge(first_row.reset_index(), on=["SubjectID", "feature_delta"], how="left")
    wide = wide.rename(columns={"SubjectID": "subject_id", "feature_delta": "days"})
    for column in wide.columns:
        if column not in ("subject_id", "days", _ROW):
            wide[column] = pd.to_numeric(wide[column], errors="coerce")

    def subject_values(form: str, features: dict[str, str]) -> pd.DataFrame:
        rows = frame[frame["form"] == form.upper()]
        rows = rows[rows["feature_name"].isin(list(features))]
        if rows.empty:
            return pd.DataFrame({"subject_id": pd.Series(dtype="string")})
        table = rows.pivot_table(
            index="SubjectID",
            columns="feature_name",
            values="feature_value",
            aggfunc="first",
            sort=False,
        ).reset_index()
        table.columns.name = None
        table = table.rename(columns={"SubjectID": "subject_id", **features})
        for column in ("onset_days", "death_days", "age"):
            if column in table.columns:
                table[column] = pd.to_numeric(table[column], errors="coerce")
        return table

    tables = [
        subject_values("ALSHX", {"onset_delta": "onset_days"}),
        subject_values("DEATHDATA", {"Subject_Died": "died", "Death_Days": "death_days"}),
        subject_values("TREATMENT", {"Study_Arm": "arm"}),
        subject_values("DEMOGRAPHIC", {"Age": "age", "Sex": "sex"}),
    ]
    for table in tables:
        table["subject_id"] = _ids(table["subject_id"])
    return _assemble(wide, tables, keep_going=keep_going, notes=[f"read {source.name}"])


def _is_long(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    return "|" in header and "form_name" in header


def read_visits(
    path: str | os.PathLike[str],
    *,
    sort: bool = False,
    keep_going: bool = False,
) -> VisitTable:
    """Read visits from a PRO-ACT folder, a DREAM long file, or a plain CSV.

    Parameters
    ----------
    path : path
        A folder of PRO-ACT per-form files (:func:`read_proact`); a pipe-delimited file
        whose header names ``form_name`` (:func:`read_proact_long`); otherwise a plain
        CSV with one row per visit (:func:`alsmeta.patients.visit_table`), readable or
        PRO-ACT item names, such as ``PROACT_ALSFRS.csv`` on its own.
    sort : bool, default False
        Plain CSV only: sort visits by time within a subject (PRO-ACT input is always
        sorted).
    keep_going : bool, default False
        Skip bad visits instead of raising.

    Returns
    -------
    VisitTable

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from alsmeta.patients import read_visits, synth_cohort, write_visits
    >>> cohort = synth_cohort(4, rng=np.random.default_rng(3))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "cohort.csv")
    ...     _ = write_visits(cohort, path)
    ...     back = read_visits(path)
    >>> back.table.equals(cohort.table)
    True
    """
    source = Path(path)
    if source.is_dir():
        return read_proact(source, keep_going=keep_going)
    if not source.is_file():
        raise InputError(Problem(f"file not found: {source}"))
    if _is_long(source):
        return read_proact_long(source, keep_going=keep_going)
    frame = _read_csv(source, dtype={"subject_id": "string", "SubjectID": "string"})
    if frame.empty:
        raise InputError(Problem(f"{source}: the file has a header but no data rows"))
    frame[_ROW] = np.arange(1, len(frame) + 1)
    frame, notes = _drop_original_alsfrs(frame)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    rows = frame.pop(_ROW).to_numpy(dtype=int)
    result = visit_table(frame, sort=sort, keep_going=keep_going, _rows=rows)
    return VisitTable(
        table=result.table,
        subjects=result.subjects,
        skipped=result.skipped,
        notes=tuple(notes) + result.notes,
    )


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(text: str, path: Path) -> None:
    """Write ``text`` as UTF-8 (newlines as given), atomically: see :func:`atomic_write_bytes`."""
    atomic_write_bytes(text.encode("utf-8"), path)


def atomic_write_bytes(data: bytes, path: Path) -> None:
    """Write to a temporary file in the same folder, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; use the mode open() would
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _csv_text(frame: pd.DataFrame, **kwargs: object) -> str:
    # Whole numbers (items, totals, days) are written as integers: faster and exact.
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f":
            array = values.to_numpy()
            finite = np.isfinite(array)
            whole = finite.any() and np.array_equal(array[finite], np.round(array[finite]))
            if whole and np.abs(array[finite]).max() < 2**53:
                frame[column] = values.astype("Int64")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.10g", **kwargs)  # type: ignore[call-overload]
    return buffer.getvalue()


def write_visits(visits: VisitTable, path: str | os.PathLike[str] | None = None) -> str:
    """Write the plain layout (:meth:`VisitTable.to_plain`) as CSV; return the text.

    Parameters
    ----------
    visits : VisitTable
    path : path, optional
        Output file, written atomically. ``None`` only returns the text.

    Returns
    -------
    str
        The CSV text.
    """
    text = _csv_text(visits.to_plain())
    if path is not None:
        atomic_write_text(text, Path(path))
    return text


def _died_text(subjects: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(subjects["died"].to_numpy(dtype=bool), "Yes", "No"))


def proact_forms(visits: VisitTable) -> dict[str, pd.DataFrame]:
    """Return the per-form PRO-ACT frames (keys as :data:`FORMS`) of a visit table."""
    table = visits.table
    subjects = visits.subjects
    alsfrs = pd.DataFrame({"subject_id": table["subject_id"]})
    for item in ITEM_COLUMNS:
        alsfrs[_PER_FORM[item]] = table[item]
    alsfrs["ALSFRS_R_Total"] = table["total"]
    alsfrs["ALSFRS_Delta"] = table["days"]
    history = pd.DataFrame(
        {"subject_id": subjects["subject_id"], "Onset_Delta": subjects["onset_days"]}
    )
    death = pd.DataFrame(
        {
            "subject_id": subjects["subject_id"],
            "Subject_Died": _died_text(subjects).to_numpy(),
            "Death_Days": subjects["death_days"],
        }
    )
    treatment = pd.DataFrame(
        {
            "subject_id": subjects["subject_id"],
            "Study_Arm": subjects["arm"],
            "Treatment_Group_Delta": 0.0,
        }
    )
    demographics = pd.DataFrame(
        {
            "subject_id": subjects["subject_id"],
            "Age": subjects["age"],
            "Sex": subjects["sex"],
            "Demographics_Delta": 0.0,
        }
    )
    return {
        "ALSFRS": alsfrs,
        "ALSHISTORY": history,
        "DEATHDATA": death,
        "TREATMENT": treatment,
        "DEMOGRAPHICS": demographics,
    }


def write_proact(
    visits: VisitTable, directory: str | os.PathLike[str], *, prefix: str = "PROACT_"
) -> list[Path]:
    """Write a visit table as PRO-ACT per-form CSV files; return the paths.

    Parameters
    ----------
    visits : VisitTable
    directory : path
        Output folder (created if needed). All files are written to a temporary folder
        first and moved in at the end, so a failure leaves no partial release.
    prefix : {"PROACT_", "F_PROACT_"}, default "PROACT_"
        Older or newer release naming.

    Returns
    -------
    list of pathlib.Path
    """
    if prefix not in ("PROACT_", "F_PROACT_"):
        raise InputError(Problem(f"prefix={prefix!r} is not valid; use 'PROACT_' or 'F_PROACT_'"))
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target, prefix=".proact."))
    paths = []
    try:
        for form, frame in proact_forms(visits).items():
            name = f"{prefix}{form}.csv"
            (staging / name).write_text(_csv_text(frame), encoding="utf-8")
            paths.append(name)
        for name in paths:
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [target / name for name in paths]


def write_proact_long(visits: VisitTable, path: str | os.PathLike[str] | None = None) -> str:
    """Write a visit table in the DREAM pipe-delimited long format; return the text.

    Item features use the DREAM spellings (``R1_Dyspnea`` ...), plus ``ALSFRS_R_Total``;
    unanswered item-5 forms are not written. Subject rows: ``ALSHX`` ``onset_delta``,
    ``DEATHDATA``, ``TREATMENT`` and ``Demographic`` as read by
    :func:`read_proact_long`.
    """
    table = visits.table
    names = [*ITEM_COLUMNS, "total"]
    values = table[names].to_numpy(dtype=float)
    n, k = values.shape
    feature = np.array([_DREAM[c] for c in ITEM_COLUMNS] + ["ALSFRS_R_Total"], dtype=object)
    long = pd.DataFrame(
        {
            "SubjectID": np.repeat(table["subject_id"].to_numpy(dtype=object), k),
            "form_name": "ALSFRS",
            "feature_name": np.tile(feature, n),
            "feature_value": values.ravel(),
            "feature_unit": "",
            "feature_delta": np.repeat(table["days"].to_numpy(dtype=float), k),
        }
    )
    long = long[np.isfinite(long["feature_value"].to_numpy(dtype=float))]
    long["feature_value"] = long["feature_value"].map("{:g}".format)
    subjects = visits.subjects
    extra = []
    for form, feature_name, column in (
        ("ALSHX", "onset_delta", subjects["onset_days"]),
        ("DEATHDATA", "Subject_Died", _died_text(subjects)),
        ("DEATHDATA", "Death_Days", subjects["death_days"]),
        ("TREATMENT", "Study_Arm", subjects["arm"]),
        ("Demographic", "Age", subjects["age"]),
        ("Demographic", "Sex", subjects["sex"]),
    ):
        part = pd.DataFrame(
            {
                "SubjectID": subjects["subject_id"].to_numpy(dtype=object),
                "form_name": form,
                "feature_name": feature_name,
                "feature_value": pd.Series(column.to_numpy(dtype=object)),
                "feature_unit": "days" if feature_name.endswith(("delta", "Days")) else "",
                "feature_delta": np.nan,
            }
        )
        part = part[part["feature_value"].notna()]
        part["feature_value"] = part["feature_value"].map(
            lambda v: f"{v:g}" if isinstance(v, float) else str(v)
        )
        extra.append(part)
    out = pd.concat([long, *extra], ignore_index=True)
    text = _csv_text(out, sep="|")
    if path is not None:
        atomic_write_text(text, Path(path))
    return text
