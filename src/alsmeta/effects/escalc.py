"""Effect sizes and sampling variances from study summaries, as metafor's ``escalc``.

Every measure follows metafor 3.8-1 ``escalc()`` line by line: the same formulas, the
same default ``vtype``, the same zero-cell rules (``add``, ``to``, ``drop00``) and the
same recoding of values that cannot be computed to missing. Where metafor would return
``NA`` silently, :func:`escalc` returns ``nan`` and warns, naming the studies and the
reason; where metafor would accept malformed input (an arm with no participants, a
non-numeric cell), :func:`escalc` raises one :class:`~alsmeta.errors.InputError` that
lists every offending row.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from alsmeta.effects.table import (
    MISSING_CHOICES,
    EffectSizeTable,
    default_labels,
    finish_table,
    labels_from_values,
    missing_column_problem,
    name_list,
    rows_problems,
    sort_problems,
    to_float,
)
from alsmeta.errors import InputError, Problem, check_choice

__all__ = ["MEASURES", "escalc"]

ArrayLike = Sequence[Any] | np.ndarray | pd.Series
Column = str | ArrayLike

TO_CHOICES: tuple[str, ...] = ("only0", "all", "if0all", "none")


@dataclass(frozen=True, slots=True)
class _Spec:
    family: str
    description: str
    requires: tuple[tuple[str, ...], ...]
    vtypes: tuple[str, ...] = ()
    default_add: float = 0.5
    ignored: tuple[str, ...] = ()


_TWO_BY_TWO = (("ai",), ("bi", "n1i"), ("ci",), ("di", "n2i"))
_TWO_GROUPS = (("m1i",), ("sd1i",), ("n1i",), ("m2i",), ("sd2i",), ("n2i",))
_CHANGE = (("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("ni",), ("ri",))
_PROPORTION = (("xi",), ("mi", "ni"))
_GENERIC = (("yi",), ("vi", "sei"))

_SPECS: dict[str, _Spec] = {
    "RR": _Spec("2x2", "log risk ratio", _TWO_BY_TWO),
    "OR": _Spec("2x2", "log odds ratio", _TWO_BY_TWO),
    "RD": _Spec("2x2", "risk difference", _TWO_BY_TWO, ("LS", "UB", "AV")),
    "AS": _Spec(
        "2x2", "arcsine square root transformed risk difference", _TWO_BY_TWO, default_add=0.0
    ),
    "PETO": _Spec("2x2", "log odds ratio by the one-step method", _TWO_BY_TWO),
    "MD": _Spec("means", "raw mean difference", _TWO_GROUPS, ("LS", "UB", "HO")),
    "SMD": _Spec(
        "means",
        "standardised mean difference, bias-corrected",
        _TWO_GROUPS,
        ("LS", "UB", "LS2", "AV"),
    ),
    "SMDH": _Spec(
        "means", "standardised mean difference, heteroscedastic groups", _TWO_GROUPS, ("LS", "LS2")
    ),
    "ROM": _Spec("means", "log ratio of means", _TWO_GROUPS, ("LS", "HO", "AV", "AVHO")),
    "MC": _Spec("change", "raw mean change", _CHANGE),
    "SMCC": _Spec(
        "change", "standardised mean change, change-score standardisation", _CHANGE, ("LS", "LS2")
    ),
    "SMCR": _Spec(
        "change",
        "standardised mean change, raw-score standardisation",
        (("m1i",), ("m2i",), ("sd1i",), ("ni",), ("ri",)),
        ("LS", "LS2"),
        ignored=("sd2i",),
    ),
    "PR": _Spec("proportion", "raw proportion", _PROPORTION, ("LS", "UB", "AV")),
    "PLO": _Spec("proportion", "logit transformed proportion", _PROPORTION, ("LS", "AV")),
    "PAS": _Spec(
        "proportion", "arcsine square root transformed proportion", _PROPORTION, default_add=0.0
    ),
    "PFT": _Spec(
        "proportion", "double arcsine transformed proportion", _PROPORTION, default_add=0.0
    ),
    "GEN": _Spec("generic", "generic outcome measure (yi given with vi or sei)", _GENERIC),
}

#: Measure code -> description, for every measure :func:`escalc` computes.
MEASURES: Mapping[str, str] = MappingProxyType({m: s.description for m, s in _SPECS.items()})

# metafor measures that exist but are not (yet) computed here: named in the error.
_METAFOR_ONLY = frozenset((
    "PHI", "YUQ", "YUY", "RTET", "PBIT", "OR2D", "OR2DN", "OR2DL", "MPRD", "MPRR", "MPOR",
    "MPORC", "MPPETO", "MPORM", "IRR", "IRD", "IRSD", "SMD1", "SMD1H", "CVR", "VR", "RPB",
    "RBIS", "D2OR", "D2ORN", "D2ORL", "COR", "UCOR", "ZCOR", "PCOR", "ZPCOR", "SPCOR", "PLN",
    "IR", "IRLN", "IRS", "IRFT", "MN", "MNLN", "CVLN", "SDLN", "SMN", "SMCRH", "ROMC", "CVRC",
    "VRC", "ARAW", "AHW", "ABT", "REH",
))  # fmt: skip

_ARGUMENTS = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "xi", "mi", "ni",
    "ri", "yi", "vi", "sei",
)  # fmt: skip


def escalc(
    measure: str,
    *,
    data: pd.DataFrame | Mapping[str, Any] | None = None,
    ai: Column | None = None,
    bi: Column | None = None,
    ci: Column | None = None,
    di: Column | None = None,
    n1i: Column | None = None,
    n2i: Column | None = None,
    m1i: Column | None = None,
    m2i: Column | None = None,
    sd1i: Column | None = None,
    sd2i: Column | None = None,
    xi: Column | None = None,
    mi: Column | None = None,
    ni: Column | None = None,
    ri: Column | None = None,
    yi: Column | None = None,
    vi: Column | None = None,
    sei: Column | None = None,
    study: Column | None = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str | None = None,
    missing: str = "raise",
) -> EffectSizeTable:
    r"""Compute effect sizes and their sampling variances, as metafor's ``escalc``.

    Parameters
    ----------
    measure : str
        Measure code, spelled as in metafor; one of :data:`MEASURES`:

        * two groups, 2x2 counts (``ai``, ``bi``, ``ci``, ``di``, or ``ai``/``ci`` with
          ``n1i``/``n2i``): ``"RR"``, ``"OR"``, ``"RD"``, ``"AS"``, ``"PETO"``;
        * two groups, means (``m1i``, ``sd1i``, ``n1i``, ``m2i``, ``sd2i``, ``n2i``):
          ``"MD"``, ``"SMD"``, ``"SMDH"``, ``"ROM"``;
        * one group, change from pre to post (``m1i`` = post/first mean, ``m2i`` = pre,
          ``sd1i``, ``sd2i``, ``ni``, ``ri`` = pre/post correlation): ``"MC"``, ``"SMCC"``,
          ``"SMCR"`` (standardised by ``sd1i``; ``sd2i`` is not used);
        * one group, events ``xi`` of ``ni`` (or ``xi`` and non-events ``mi``): ``"PR"``,
          ``"PLO"``, ``"PAS"``, ``"PFT"``;
        * ``"GEN"``: effect sizes already computed, ``yi`` with ``vi`` or ``sei``. Giving
          ``yi`` with any other measure labels pre-computed values with that measure.
    data : pandas.DataFrame or mapping, optional
        The study rows. Each data argument below is either a column name in ``data`` or
        an array-like with one value per study (taken by position).
    ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, xi, mi, ni, ri, yi, vi, sei : str or array_like
        The summaries the measure needs (metafor's argument names).
    study : str or array_like, optional
        Study labels; repeated labels are numbered ``.1``, ``.2``, ... as metafor does.
        Defaults to ``"1"`` .. ``"k"`` (input positions).
    add : float, optional
        Amount added to the cells of 2x2 tables or to event/non-event counts. Default
        1/2, except 0 for ``"AS"``, ``"PAS"`` and ``"PFT"`` (metafor's defaults).
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which tables get ``add``: those with a zero cell, all, all if any has a zero
        cell, or none. ``add``, ``to`` and ``drop00`` are ignored, as by metafor, for
        measures not computed from counts; a non-default value is recorded in ``notes``.
    drop00 : bool, default False
        Set ``yi`` and ``vi`` to ``nan`` for 2x2 tables with no events (or only events)
        in both groups.
    vtype : str, optional
        Sampling-variance estimator, metafor's ``vtype``; default ``"LS"``. ``"MD"``:
        LS, UB (identical), HO (pooled SD); ``"SMD"``: LS, UB, LS2, AV; ``"SMDH"``: LS,
        LS2; ``"ROM"``: LS, HO, AV, AVHO; ``"RD"`` and ``"PR"``: LS, UB, AV; ``"PLO"``:
        LS, AV; ``"SMCC"`` and ``"SMCR"``: LS, LS2. Other measures have no choice.
    missing : {"raise", "drop"}, default "raise"
        Missing input values raise an error listing every row; ``"drop"`` drops those
        rows with a warning naming them, recorded in ``notes``.

    Returns
    -------
    EffectSizeTable
        ``yi``, ``vi``, study labels, the measure, a copy of the input rows and the notes
        (corrections applied, rows dropped, values that could not be computed).

    Raises
    ------
    InputError
        Listing every problem: unknown measure or option, arguments the measure needs
        but were not given (or given but not used), unknown column names (with the
        available ones), non-numeric or infinite cells, missing values (unless
        ``missing="drop"``), negative counts or counts above the group size, group sizes
        below 1 (counts) or 2 (means and SDs), negative SDs, correlations outside
        [-1, 1], ``vi <= 0`` or ``sei <= 0`` for ``"GEN"``.

    Warns
    -----
    UserWarning
        When ``yi``/``vi`` cannot be computed for some studies (for example the log of a
        zero cell with ``to="none"``): they are ``nan``, as metafor's ``NA``, and the
        warning names the studies and the reason. Also when ``vi`` is exactly 0, and
        when rows are dropped with ``missing="drop"``.

    Notes
    -----
    With :math:`p_1 = a/n_1`, :math:`p_2 = c/n_2` (after any zero-cell addition):

    * RR: :math:`y = \ln p_1 - \ln p_2`, :math:`v = 1/a - 1/n_1 + 1/c - 1/n_2`.
    * OR: :math:`y = \operatorname{logit} p_1 - \operatorname{logit} p_2`,
      :math:`v = 1/a + 1/b + 1/c + 1/d`.
    * RD: :math:`y = p_1 - p_2`, :math:`v = p_1(1-p_1)/n_1 + p_2(1-p_2)/n_2` (LS).
    * PETO: :math:`y = (a - E)/V`, :math:`v = 1/V`, with :math:`E = (a+c) n_1/n` and
      :math:`V = (a+c)(b+d)(n_1/n)(n_2/n)/(n-1)`.
    * MD: :math:`y = \bar x_1 - \bar x_2`, :math:`v = s_1^2/n_1 + s_2^2/n_2`.
    * SMD: :math:`y = c(m)\,d`, :math:`d = (\bar x_1 - \bar x_2)/s_p`,
      :math:`m = n_1 + n_2 - 2`, with the exact correction
      :math:`c(m) = \Gamma(m/2) / (\sqrt{m/2}\,\Gamma((m-1)/2))`;
      :math:`v = 1/n_1 + 1/n_2 + y^2/(2(n_1+n_2))` (LS).
    * ROM: :math:`y = \ln(\bar x_1/\bar x_2)`,
      :math:`v = s_1^2/(n_1 \bar x_1^2) + s_2^2/(n_2 \bar x_2^2)` (LS).
    * MC: :math:`y = \bar x_1 - \bar x_2`, :math:`v = (s_1^2 + s_2^2 - 2 r s_1 s_2)/n`.
    * SMCC: :math:`y = c(n-1)(\bar x_1 - \bar x_2)/s_d`, :math:`v = 1/n + y^2/(2n)`.
    * SMCR: :math:`y = c(n-1)(\bar x_1 - \bar x_2)/s_1`,
      :math:`v = 2(1-r)/n + y^2/(2n)`.
    * PR, PLO, PAS, PFT: :math:`p`, :math:`\operatorname{logit} p` with
      :math:`v = 1/x + 1/(n-x)`, :math:`\arcsin\sqrt p` with :math:`v = 1/(4n)`, and
      :math:`\tfrac12(\arcsin\sqrt{x/(n+1)} + \arcsin\sqrt{(x+1)/(n+1)})` with
      :math:`v = 1/(4n+2)`.

    Matches ``metafor::escalc(measure, ai=, bi=, ..., add=1/2, to="only0",
    drop00=FALSE, vtype="LS", data=)`` (metafor 3.8-1), including that the zero-cell
    addition also applies to ``"RD"`` and ``"PETO"``, that ``drop00`` tables are
    excluded from the ``"if0all"`` check and from the ``"AV"`` averages, and that an
    infinite or undefined ``yi``/``vi`` becomes missing while a ``vi`` of exactly 0 is
    kept.

    References
    ----------
    The metafor package and its ``escalc`` measures: J Stat Softw 2010;36(3):1-48.
    doi:10.18637/jss.v036.i03

    Examples
    --------
    >>> from alsmeta.datasets import load_dataset
    >>> from alsmeta.effects import escalc
    >>> bcg = load_dataset("bcg")
    >>> res = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg,
    ...              study="author")
    >>> res.yi[:3].round(4).tolist(), res.vi[:3].round(4).tolist()
    ([-0.8893, -1.5854, -1.348], [0.3256, 0.1946, 0.4154])
    >>> res.study[2]
    'Rosenthal et al.1'
    """
    given = {name: value for name, value in zip(_ARGUMENTS, (
        ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, xi, mi, ni, ri, yi, vi, sei
    ), strict=True) if value is not None}  # fmt: skip
    problems: list[Problem] = []

    # ---- options ----------------------------------------------------------------
    spec = _check_measure(measure, problems)
    _collect(problems, check_choice, "to", to, TO_CHOICES)
    _collect(problems, check_choice, "missing", missing, MISSING_CHOICES)
    if not isinstance(drop00, bool | np.bool_):
        problems.append(Problem(f"drop00={drop00!r} must be True or False"))
    if add is not None and (
        isinstance(add, bool)
        or not isinstance(add, int | float | np.number)
        or not np.isfinite(add)
        or add < 0
    ):
        problems.append(Problem(f"add={add!r} must be a number >= 0"))
    if spec is None:
        raise InputError(problems)
    generic = "yi" in given
    family = "generic" if generic else spec.family
    vtype_used = _check_vtype(measure, spec, vtype, generic, problems)
    notes: list[str] = []
    # metafor ignores the zero-cell options where there are no cells; so does escalc, but a
    # deliberate non-default choice is recorded rather than dropped without a word.
    ignored = [
        option
        for option, applies, chosen in (
            ("add", family in ("2x2", "proportion"), add not in (None, 0.5)),
            ("to", family in ("2x2", "proportion"), to != "only0"),
            ("drop00", family == "2x2", bool(drop00)),
        )
        if chosen and not applies
    ]
    if ignored:
        verb = "does" if len(ignored) == 1 else "do"
        notes.append(f"{' and '.join(ignored)} {verb} not apply to measure {measure!r}; ignored")

    requires = _GENERIC if generic else spec.requires
    accepted = {a for group in requires for a in group} | set(spec.ignored)
    complete = _check_arguments(measure, requires, accepted, given, generic, problems)
    frame = _as_frame(data, problems)
    values, columns, labels = _read_columns(given, frame, study, problems, notes)
    k = len(labels)
    if not complete or any(a not in values for a in given if a in accepted):
        raise InputError(sort_problems(problems))
    if generic:
        if problems:
            raise InputError(sort_problems(problems))
        var_kind = "sei" if "sei" in values else "vi"
        return finish_table(
            values["yi"],
            values[var_kind],
            var_kind=var_kind,
            columns={"yi": columns["yi"], var_kind: columns[var_kind]},
            labels=labels,
            measure=measure,
            missing=missing,
            data=frame,
            problems=[],
            notes=notes,
        )

    # ---- row-level checks ---------------------------------------------------------
    for name, arr in values.items():
        problems += rows_problems(np.isinf(arr), f"{name} is infinite", columns[name], labels)
    unreadable: set[tuple[int | None, str | None]] = {
        (p.row, p.column) for p in problems if p.row is not None
    }
    rows = _Rows(columns, labels, problems)
    eff, missing_groups = _ROW_CHECKS[spec.family](rows, values, measure)
    missing_mask = np.zeros(k, dtype=bool)
    for group, mask in missing_groups:
        missing_mask |= mask
        if missing == "raise":
            _report_missing(rows, group, mask, unreadable)
    if problems:
        raise InputError(sort_problems(problems))

    if missing == "drop" and missing_mask.any():
        dropped = [labels[i] for i in np.flatnonzero(missing_mask)]
        message = (
            f"dropped {_count(len(dropped), 'study')} with missing values: {name_list(dropped)}"
        )
        warnings.warn(f"escalc(measure={measure!r}): {message}", UserWarning, stacklevel=2)
        notes.append(message)
        keep = ~missing_mask
        eff = {name: arr[keep] for name, arr in eff.items()}
        labels = tuple(s for s, kept in zip(labels, keep, strict=True) if kept)
        if frame is not None:
            frame = frame.iloc[np.flatnonzero(keep)]

    # ---- compute ------------------------------------------------------------------
    add_used = spec.default_add if add is None else float(add)
    ctx = _Context(
        measure=measure,
        labels=labels,
        add=add_used,
        to=to,
        drop00=bool(drop00),
        vtype=vtype_used,
        spec=spec,
    )
    with np.errstate(all="ignore"):
        est, var, reasons = _COMPUTE[spec.family](eff, ctx, notes)
        est, var = _recode(est, var, reasons, ctx, notes)
    if spec.vtypes:
        notes.append(f"sampling variances by vtype={vtype_used!r}")
    if "sd2i" in given and "sd2i" in spec.ignored:
        notes.append(f"sd2i is not used by measure {measure!r}")
    return EffectSizeTable(
        yi=est, vi=var, study=labels, measure=measure, data=frame, notes=tuple(notes)
    )


# ------------------------------------------------------------------------ validation
def _collect(problems: list[Problem], check: Callable[..., Any], *args: Any) -> None:
    try:
        check(*args)
    except InputError as err:
        problems.extend(err.problems)


def _check_measure(measure: Any, problems: list[Problem]) -> _Spec | None:
    if isinstance(measure, str) and measure in _SPECS:
        return _SPECS[measure]
    valid = ", ".join(map(repr, _SPECS))
    if isinstance(measure, str) and measure in _METAFOR_ONLY:
        problems.append(
            Problem(
                f"measure={measure!r} is a metafor measure that alsmeta does not compute yet; "
                f"use one of {valid}"
            )
        )
    else:
        _collect(problems, check_choice, "measure", measure, tuple(_SPECS))
    return None


def _check_vtype(
    measure: str, spec: _Spec, vtype: str | None, generic: bool, problems: list[Problem]
) -> str:
    if vtype is None:
        return "LS"
    if spec.vtypes and not generic:
        before = len(problems)
        _collect(problems, check_choice, "vtype", vtype, spec.vtypes)
        if len(problems) > before:
            problems[-1] = Problem(f"{problems[-1].message} (for measure {measure!r})")
        return vtype if vtype in spec.vtypes else "LS"
    if vtype != "LS":
        problems.append(Problem(f"vtype={vtype!r}: measure {measure!r} has no vtype option"))
    return "LS"


def _check_arguments(
    measure: str,
    requires: tuple[tuple[str, ...], ...],
    accepted: set[str],
    given: dict[str, Any],
    generic: bool,
    problems: list[Problem],
) -> bool:
    """Check which data arguments were given; return whether every requirement is met."""
    unused = [a for a in given if a not in accepted]
    if unused and generic and measure != "GEN":
        problems.append(
            Problem(
                f"yi was given, so the effect sizes are taken as they are; "
                f"{', '.join(unused)} cannot also be given"
            )
        )
    elif unused:
        problems.append(
            Problem(
                f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by "
                f"measure {measure!r}, which takes {_describe(requires)}"
            )
        )
    lacking = [g for g in requires if not any(a in given for a in g)]
    if lacking:
        problems.append(
            Problem(
                f"measure {measure!r} needs {_describe(requires)}; missing: "
                + ", ".join(" or ".join(g) for g in lacking)
            )
        )
    if generic and "vi" in given and "sei" in given:
        problems.append(Problem("give vi or sei, not both"))
    return not lacking


def _read_columns(
    given: dict[str, Any],
    frame: pd.DataFrame | None,
    study: Any,
    problems: list[Problem],
    notes: list[str],
) -> tuple[dict[str, np.ndarray], dict[str, str], tuple[str, ...]]:
    """Resolve each argument to a float column; return values, column names and labels."""
    raw: dict[str, np.ndarray] = {}
    columns: dict[str, str] = {}
    for name, value in given.items():
        resolved = _resolve(name, value, frame, problems)
        if resolved is not None:
            raw[name], columns[name] = resolved
    first = next(iter(raw), None)
    k = len(frame) if frame is not None else (raw[first].size if first else 0)
    source = "data has" if frame is not None else f"{first} has"
    for name, arr in list(raw.items()):
        if arr.size != k:
            problems.append(
                Problem(
                    f"{name} has {arr.size} values but {source} {k}; give one value per study",
                    column=columns[name],
                )
            )
            del raw[name]
    labels = default_labels(k)
    if study is not None:
        resolved = _resolve("study", study, frame, problems, labels=True)
        if resolved is not None and resolved[0].size != k:
            problems.append(Problem(f"study has {resolved[0].size} labels for {k} studies"))
        elif resolved is not None:
            labels, label_problems, label_note = labels_from_values(resolved[0], resolved[1])
            problems += label_problems
            if label_note:
                notes.append(label_note)
    values: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        values[name], cell_problems = to_float(arr, columns[name], labels)
        problems += cell_problems
    return values, columns, labels


def _report_missing(
    rows: _Rows,
    group: tuple[str, ...],
    mask: np.ndarray,
    unreadable: set[tuple[int | None, str | None]],
) -> None:
    """One problem per row with no value for ``group`` (unless the cell was unreadable)."""
    shown = [g for g in group if g in rows.col]
    where = "/".join(rows.col[g] for g in shown)
    message = (
        "missing value" if len(shown) == 1 else f"missing value (neither {' nor '.join(shown)})"
    )
    for i in map(int, np.flatnonzero(mask)):
        if any((i + 1, rows.col[g]) in unreadable for g in shown):
            continue
        rows.problems.append(Problem(message, row=i + 1, study=rows.labels[i], column=where))


def _describe(requires: tuple[tuple[str, ...], ...]) -> str:
    parts = [g[0] if len(g) == 1 else f"{g[0]} (or {' or '.join(g[1:])})" for g in requires]
    return ", ".join(parts)


def _as_frame(data: Any, problems: list[Problem]) -> pd.DataFrame | None:
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except (TypeError, ValueError) as err:
            problems.append(Problem(f"data cannot be read as a table: {err}"))
            return None
    problems.append(
        Problem(f"data must be a pandas DataFrame or a mapping, not {type(data).__name__}")
    )
    return None


def _resolve(
    name: str,
    value: Any,
    frame: pd.DataFrame | None,
    problems: list[Problem],
    labels: bool = False,
) -> tuple[np.ndarray, str] | None:
    if isinstance(value, str):
        if frame is None:
            problems.append(
                Problem(f"{name}={value!r} names a column but no data was given", column=value)
            )
            return None
        if value not in frame.columns:
            problems.append(missing_column_problem(name, value, frame.columns))
            return None
        return frame[value].to_numpy(), value
    if isinstance(value, pd.Series | pd.Index):
        arr = value.to_numpy()
    elif np.isscalar(value):
        what = "labels" if labels else "values"
        problems.append(
            Problem(
                f"{name}={value!r} must be a column name or a sequence of {what}, one per study"
            )
        )
        return None
    else:
        arr = np.asarray(value, dtype=object if labels else None)
    if arr.ndim != 1:
        problems.append(Problem(f"{name} must be one-dimensional (one value per study)"))
        return None
    return arr, name


Values = dict[str, np.ndarray]
MissingGroups = list[tuple[tuple[str, ...], np.ndarray]]


@dataclass(frozen=True, slots=True)
class _Rows:
    """Collects one problem per offending row; messages name the metafor argument."""

    col: dict[str, str]
    labels: Sequence[str]
    problems: list[Problem]

    def flag(self, mask: np.ndarray, name: str, template: str, **values: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            text = template.format(**{key: float(arr[i]) for key, arr in values.items()})
            self.problems.append(
                Problem(text, row=int(i) + 1, study=self.labels[int(i)], column=self.col[name])
            )


def _check_counts(rows: _Rows, v: Values, measure: str) -> tuple[Values, MissingGroups]:
    for name in ("ai", "bi", "ci", "di"):
        if name in v:
            rows.flag(v[name] < 0, name, name + " must not be negative (got {x:g})", x=v[name])
    for events, other, size, arm in (("ai", "bi", "n1i", 1), ("ci", "di", "n2i", 2)):
        e = v[events]
        if size in v:
            n = v[size]
            rows.flag(n < 1, size, size + " must be at least 1 (got {n:g})", n=n)
            rows.flag(
                (e > n) & (n >= 1), events, f"{events} = {{e:g}} exceeds {size} = {{n:g}}", e=e, n=n
            )
            if other in v:
                o = v[other]
                rows.flag(
                    (e + o != n) & (e >= 0) & (o >= 0) & (n >= 1),
                    size,
                    f"{size} = {{n:g}} is not {events} + {other} = {{t:g}}",
                    n=n,
                    t=e + o,
                )
        elif other in v:
            rows.flag(
                e + v[other] == 0,
                other,
                f"group {arm} has no participants ({events} + {other} = 0)",
            )
    a, c = v["ai"], v["ci"]
    b = _fill(v.get("bi"), v.get("n1i"), a)
    d = _fill(v.get("di"), v.get("n2i"), c)
    groups: MissingGroups = [(g, _absent(v, g)) for g in _TWO_BY_TWO]
    return {"ai": a, "bi": b, "ci": c, "di": d}, groups


def _absent(v: Values, names: tuple[str, ...]) -> np.ndarray:
    """Rows where none of the alternative arguments ``names`` has a value."""
    given = [np.isnan(v[n]) for n in names if n in v]
    return np.logical_and.reduce(given) if given else np.ones(0, dtype=bool)


def _fill(other: np.ndarray | None, size: np.ndarray | None, events: np.ndarray) -> np.ndarray:
    """metafor's ``replmiss(bi, n1i - ai)``: the non-event count, from n where missing."""
    if other is None:
        return (size if size is not None else np.full_like(events, np.nan)) - events
    if size is None:
        return other
    return np.where(np.isnan(other), size - events, other)


_NEGATIVE_SD = " (a standard deviation) must not be negative (got {s:g})"
_SMALL_N = " must be at least 2 for a standard deviation to exist (got {n:g})"


def _check_means(rows: _Rows, v: Values, measure: str) -> tuple[Values, MissingGroups]:
    for name in ("sd1i", "sd2i"):
        rows.flag(v[name] < 0, name, name + _NEGATIVE_SD, s=v[name])
    for name in ("n1i", "n2i"):
        rows.flag(v[name] < 2, name, name + _SMALL_N, n=v[name])
    used = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    groups: MissingGroups = [((name,), np.isnan(v[name])) for name in used]
    return {name: v[name] for name in used}, groups


def _check_change(rows: _Rows, v: Values, measure: str) -> tuple[Values, MissingGroups]:
    used: tuple[str, ...] = ("m1i", "m2i", "sd1i", "ni", "ri")
    if measure != "SMCR":
        used += ("sd2i",)
    for name in ("sd1i", "sd2i"):
        if name in used:
            rows.flag(v[name] < 0, name, name + _NEGATIVE_SD, s=v[name])
    rows.flag(v["ni"] < 2, "ni", "ni" + _SMALL_N, n=v["ni"])
    r = v["ri"]
    rows.flag(np.abs(r) > 1, "ri", "ri (a correlation) must lie in [-1, 1] (got {r:g})", r=r)
    groups: MissingGroups = [((name,), np.isnan(v[name])) for name in used]
    return {name: v[name] for name in used}, groups


def _check_proportions(rows: _Rows, v: Values, measure: str) -> tuple[Values, MissingGroups]:
    x = v["xi"]
    rows.flag(x < 0, "xi", "xi must not be negative (got {x:g})", x=x)
    if "mi" in v:
        rows.flag(v["mi"] < 0, "mi", "mi must not be negative (got {m:g})", m=v["mi"])
    if "ni" in v:
        n = v["ni"]
        rows.flag(n < 1, "ni", "ni must be at least 1 (got {n:g})", n=n)
        rows.flag((x > n) & (n >= 1), "xi", "xi = {x:g} exceeds ni = {n:g}", x=x, n=n)
        if "mi" in v:
            m = v["mi"]
            rows.flag(
                (x + m != n) & (x >= 0) & (m >= 0) & (n >= 1),
                "ni",
                "ni = {n:g} is not xi + mi = {t:g}",
                n=n,
                t=x + m,
            )
    elif "mi" in v:
        rows.flag(x + v["mi"] == 0, "mi", "the study has no participants (xi + mi = 0)")
    m_eff = _fill(v.get("mi"), v.get("ni"), x)
    groups: MissingGroups = [(g, _absent(v, g)) for g in _PROPORTION]
    return {"xi": x, "mi": m_eff}, groups


_ROW_CHECKS: dict[str, Callable[..., tuple[Values, MissingGroups]]] = {
    "2x2": _check_counts,
    "means": _check_means,
    "change": _check_change,
    "proportion": _check_proportions,
}


# ------------------------------------------------------------------------ computation
@dataclass(frozen=True, slots=True)
class _Context:
    measure: str
    labels: tuple[str, ...]
    add: float
    to: str
    drop00: bool
    vtype: str
    spec: _Spec


Reasons = list[tuple[np.ndarray, str]]


def _cmi(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))."""
    # metafor's .cmicalc: computed on the log scale so large m does not overflow.
    out = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    return np.where(m <= 1, np.nan, out)


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean over rows where both are available (metafor's ``.wmean(na.rm=TRUE)``)."""
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))


def _fmt_add(add: float) -> str:
    frac = Fraction(add).limit_denominator(1000)
    return str(frac) if float(frac) == add else f"{add:g}"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {plural}"


def _correct_zero_cells(
    cells: list[np.ndarray],
    ctx: _Context,
    notes: list[str],
    *,
    unit: str,
    noun: str,
    zero: str,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Apply metafor's ``add``/``to`` rule; return the cells and the rows with a zero."""
    k = len(ctx.labels)
    id0 = np.zeros(k, dtype=bool)
    for cell in cells:
        id0 |= cell == 0  # nan (drop00 rows) compares False, as metafor's id0[is.na] <- FALSE
    if ctx.to == "all":
        target = np.ones(k, dtype=bool)
    elif ctx.to == "only0":
        target = id0
    elif ctx.to == "if0all":
        target = np.full(k, bool(id0.any()))
    else:
        target = np.zeros(k, dtype=bool)
    add_txt = _fmt_add(ctx.add)
    zero_names = name_list([ctx.labels[i] for i in np.flatnonzero(id0)])
    if ctx.add != 0 and target.any():
        cells = [cell + np.where(target, ctx.add, 0.0) for cell in cells]
        if ctx.to == "all":
            notes.append(f"added {add_txt} to {unit} of all {_count(k, noun)} (to='all')")
        elif ctx.to == "only0":
            notes.append(
                f"added {add_txt} to {unit} of {_count(int(id0.sum()), noun)} "
                f"{zero} (to='only0'): {zero_names}"
            )
        else:
            notes.append(
                f"added {add_txt} to {unit} of all {_count(k, noun)} because "
                f"{int(id0.sum())} had {zero.split(' ', 1)[1]} (to='if0all'): "
                f"{zero_names}"
            )
    elif id0.any() and ctx.spec.default_add != 0:
        why = "to='none'" if ctx.to == "none" else "add=0"
        notes.append(f"{_count(int(id0.sum()), noun)} {zero} left unadjusted ({why}): {zero_names}")
    return cells, id0 & ~(target if ctx.add != 0 else np.zeros(k, dtype=bool))


def _compute_2x2(
    v: Values, ctx: _Context, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, Reasons]:
    a, b, c, d = v["ai"], v["bi"], v["ci"], v["di"]
    reasons: Reasons = []
    if ctx.drop00:
        id00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        if id00.any():
            a, b, c, d = (np.where(id00, np.nan, x) for x in (a, b, c, d))
            reasons.append((id00, "no events, or only events, in both groups (drop00=True)"))
    (a, b, c, d), left0 = _correct_zero_cells(
        [a, b, c, d], ctx, notes, unit="every cell", noun="table", zero="with a zero cell"
    )
    n1 = a + b
    n2 = c + d
    n = n1 + n2
    p1 = a / n1
    p2 = c / n2
    m = ctx.measure
    if m == "RR":
        yi = np.log(p1) - np.log(p2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif m == "OR":
        yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    elif m == "RD":
        yi = p1 - p2
        if ctx.vtype == "UB":
            vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
        elif ctx.vtype == "AV":
            w1, w2 = _wmean(p1, n1), _wmean(p2, n2)
            vi = w1 * (1 - w1) / n1 + w2 * (1 - w2) / n2
        else:
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    elif m == "PETO":
        xt = a + c
        yt = b + d
        expected = xt * n1 / n
        variance = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
        yi = (a - expected) / variance
        vi = 1 / variance
        reasons.append(
            (
                variance == 0,
                "no events, or only events, in both groups taken "
                "together: the one-step variance is 0",
            )
        )
    else:  # AS
        yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
        vi = 1 / (4 * n1) + 1 / (4 * n2)
    why = "to='none'" if ctx.to == "none" else "add=0"
    reasons.append((left0, f"a zero cell was left unadjusted ({why})"))
    return yi, vi, reasons


def _compute_means(
    v: Values, ctx: _Context, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, Reasons]:
    m1, m2, sd1, sd2, n1, n2 = (v[x] for x in ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"))
    n = n1 + n2
    mi = n - 2
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
    d = (m1 - m2) / sdp
    reasons: Reasons = []
    vt = ctx.vtype
    m = ctx.measure
    if m == "MD":
        yi = m1 - m2
        vi = sdp**2 * (1 / n1 + 1 / n2) if vt == "HO" else sd1**2 / n1 + sd2**2 / n2
    elif m == "SMD":
        cmi = _cmi(mi)
        yi = cmi * d
        if vt == "UB":
            vi = 1 / n1 + 1 / n2 + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
        elif vt == "AV":
            vi = 1 / n1 + 1 / n2 + _wmean(yi, n) ** 2 / (2 * n)
        elif vt == "LS2":
            vi = cmi**2 * (1 / n1 + 1 / n2 + d**2 / (2 * n))
        else:
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * n)
        reasons.append((sdp == 0, "both standard deviations are 0"))
    elif m == "SMDH":
        cmi = _cmi(mi)
        si = np.sqrt((sd1**2 + sd2**2) / 2)
        yi = cmi * (m1 - m2) / si
        if vt == "LS2":
            vi = (
                yi**2 * sd1**2 / (2 * n1 * (sd1**2 + sd2**2) ** 2)
                + yi**2 * sd2**2 / (2 * n2 * (sd1**2 + sd2**2) ** 2)
                + 2 * sd1**2 / (n1 * (sd1**2 + sd2**2))
                + 2 * sd2**2 / (n2 * (sd1**2 + sd2**2))
            )
        else:
            vi = yi**2 * (sd1**4 / (n1 - 1) + sd2**4 / (n2 - 1)) / (2 * (sd1**2 + sd2**2) ** 2) + (
                sd1**2 / (n1 - 1) + sd2**2 / (n2 - 1)
            ) / ((sd1**2 + sd2**2) / 2)
            vi = cmi**2 * vi
        reasons.append((si == 0, "both standard deviations are 0"))
    else:  # ROM
        yi = np.log(m1 / m2)
        cv1 = sd1 / m1
        cv2 = sd2 / m2
        if vt == "HO":
            vi = sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
        elif vt == "AV":
            vi = _wmean(cv1, n1) ** 2 / n1 + _wmean(cv2, n2) ** 2 / n2
        elif vt == "AVHO":
            ok = ~(np.isnan(n1) | np.isnan(n2) | np.isnan(cv1) | np.isnan(cv2))
            mnwcvi = (np.sum(n1[ok] * cv1[ok]) + np.sum(n2[ok] * cv2[ok])) / np.sum((n1 + n2)[ok])
            vi = mnwcvi**2 * (1 / n1 + 1 / n2)
        else:
            vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        reasons.append((~(m1 / m2 > 0), "the ratio of the means is not positive"))
    return yi, vi, reasons


def _compute_change(
    v: Values, ctx: _Context, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, Reasons]:
    m1, m2, sd1, ni, ri = (v[x] for x in ("m1i", "m2i", "sd1i", "ni", "ri"))
    mi = ni - 1
    reasons: Reasons = []
    m = ctx.measure
    if m == "MC":
        sd2 = v["sd2i"]
        yi = m1 - m2
        vi = (sd1**2 + sd2**2 - 2 * ri * sd1 * sd2) / ni
        return yi, vi, reasons
    cmi = _cmi(mi)
    reasons.append((mi <= 1, "the bias correction needs ni >= 3"))
    if m == "SMCC":
        sd2 = v["sd2i"]
        sddi = np.sqrt(sd1**2 + sd2**2 - 2 * ri * sd1 * sd2)
        d = (m1 - m2) / sddi
        yi = cmi * d
        if ctx.vtype == "LS2":
            vi = cmi**2 * (1 / ni + d**2 / (2 * ni))
        else:
            vi = 1 / ni + yi**2 / (2 * ni)
        reasons.append((sddi == 0, "the standard deviation of the change is 0"))
    else:  # SMCR
        d = (m1 - m2) / sd1
        yi = cmi * d
        if ctx.vtype == "LS2":
            vi = cmi**2 * (2 * (1 - ri) / ni + d**2 / (2 * ni))
        else:
            vi = 2 * (1 - ri) / ni + yi**2 / (2 * ni)
        reasons.append((sd1 == 0, "sd1i is 0"))
    return yi, vi, reasons


def _compute_proportions(
    v: Values, ctx: _Context, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, Reasons]:
    (x, mi), left0 = _correct_zero_cells(
        [v["xi"], v["mi"]],
        ctx,
        notes,
        unit="the event and non-event counts",
        noun="study",
        zero="with 0 events or 0 non-events",
    )
    n = x + mi
    pr = x / n
    m = ctx.measure
    if m == "PR":
        yi = pr
        if ctx.vtype == "UB":
            vi = pr * (1 - pr) / (n - 1)
        elif ctx.vtype == "AV":
            w = _wmean(pr, n)
            vi = w * (1 - w) / n
        else:
            vi = pr * (1 - pr) / n
    elif m == "PLO":
        yi = np.log(pr / (1 - pr))
        if ctx.vtype == "AV":
            w = _wmean(pr, n)
            vi = 1 / (w * n) + 1 / ((1 - w) * n)
        else:
            vi = 1 / x + 1 / mi
    elif m == "PAS":
        yi = np.arcsin(np.sqrt(pr))
        vi = 1 / (4 * n)
    else:  # PFT
        yi = 1 / 2 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        vi = 1 / (4 * n + 2)
    why = "to='none'" if ctx.to == "none" else "add=0"
    return yi, vi, [(left0, f"0 events or 0 non-events left unadjusted ({why})")]


_COMPUTE: dict[str, Callable[..., tuple[np.ndarray, np.ndarray, Reasons]]] = {
    "2x2": _compute_2x2,
    "means": _compute_means,
    "change": _compute_change,
    "proportion": _compute_proportions,
}


def _recode(
    yi: np.ndarray, vi: np.ndarray, reasons: Reasons, ctx: _Context, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Recode as metafor does, but say so: non-finite -> nan for both, vi < 0 -> nan."""
    yi = np.asarray(yi, dtype=np.float64).copy()
    vi = np.asarray(vi, dtype=np.float64).copy()
    undefined = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi[undefined] = np.nan
    vi[undefined] = np.nan
    negative = vi < 0
    vi[negative] = np.nan
    if undefined.any() or negative.any():
        by_reason: dict[str, list[str]] = {}
        fallback = (
            "not computable from these values (division by zero or log of a non-positive number)"
        )
        for i in np.flatnonzero(undefined | negative):
            why = next((text for mask, text in reasons if mask[i]), fallback)
            if negative[i] and not undefined[i]:
                why = "the sampling variance came out negative (vi only)"
            by_reason.setdefault(why, []).append(ctx.labels[i])
        count = int((undefined | negative).sum())
        detail = "; ".join(f"{why}: {name_list(names)}" for why, names in by_reason.items())
        message = f"yi and vi are nan for {_count(count, 'study')}: {detail}"
        warnings.warn(f"escalc(measure={ctx.measure!r}): {message}", UserWarning, stacklevel=3)
        notes.append(message)
    zero = vi == 0
    if zero.any():
        names = [ctx.labels[i] for i in np.flatnonzero(zero)]
        message = (
            f"vi is 0 for {_count(len(names), 'study')} (as metafor keeps it): {name_list(names)}"
        )
        warnings.warn(f"escalc(measure={ctx.measure!r}): {message}", UserWarning, stacklevel=3)
        notes.append(message)
    return yi, vi
