"""The original ALSFRS (1996): 10 items, total 0-40, a separate instrument.

The original ALS Functional Rating Scale has items 1-9 as in the ALSFRS-R (item 5 as 5a
or 5b) and one breathing item, Q10 "Respiratory", which the revision replaced by the
three respiratory items R1-R3. PRO-ACT stores both in the same ``ALSFRS`` form: an
original record fills ``Q10_Respiratory`` and ``ALSFRS_Total``, a revised one
``R_1_Dyspnea`` .. ``R_3_Respiratory_Insufficiency`` and ``ALSFRS_R_Total`` (research
file §1.3).

The two totals are not interchangeable. :func:`approximate_alsfrs_total` converts an
ALSFRS-R visit to an approximate 0-40 total by one of the two ad hoc rules found in
public code; it is an explicit opt-in and the result is **not** a validated equivalent
of the original ALSFRS.

The anchors of the original Q10 were not found in the sources read (research file §1.3
marks them unverified), so :data:`BREATHING_ITEM` carries no anchor texts.

References
----------
The ALS CNTF Treatment Study (ACTS) Phase I-II Study Group. The Amyotrophic Lateral
Sclerosis Functional Rating Scale. Arch Neurol 1996;53:141-147.
doi:10.1001/archneur.1996.00550020045014
Cedarbaum JM et al. J Neurol Sci 1999;169:13-21. doi:10.1016/S0022-510X(99)00210-5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alsmeta.alsfrs.items import ITEM_COLUMNS, PROACT_ITEM_COLUMNS
from alsmeta.alsfrs.scoring import Instrument, checked_items, total_kernel
from alsmeta.errors import check_choice

__all__ = [
    "APPROXIMATION_METHODS",
    "BREATHING_ITEM",
    "ORIGINAL_ITEM_COLUMNS",
    "ORIGINAL_MAX_TOTAL",
    "ORIGINAL_PROACT_COLUMNS",
    "OriginalItem",
    "approximate_alsfrs_total",
    "total_score_original",
]

ORIGINAL_MAX_TOTAL = 40
APPROXIMATION_METHODS: tuple[str, ...] = ("dyspnea", "respiratory_mean")


@dataclass(frozen=True, slots=True)
class OriginalItem:
    """The original ALSFRS breathing item (item 10); anchors unverified, so not given."""

    number: str
    column: str
    proact: tuple[str, ...]
    label: str


BREATHING_ITEM = OriginalItem("10", "breathing", ("Q10_Respiratory",), "Breathing (ALSFRS 1996)")

_SHARED = ITEM_COLUMNS[: ITEM_COLUMNS.index("stairs") + 1]
_RESPIRATORY_R = ("dyspnea", "orthopnea", "respiratory_insufficiency")

ORIGINAL_ITEM_COLUMNS: tuple[str, ...] = (*_SHARED, BREATHING_ITEM.column)
"""Readable item columns of the original ALSFRS: items 1-9 (5a, 5b) and ``breathing``."""

ORIGINAL_PROACT_COLUMNS: dict[str, str] = {
    **{k: v for k, v in PROACT_ITEM_COLUMNS.items() if v in _SHARED},
    **dict.fromkeys(BREATHING_ITEM.proact, BREATHING_ITEM.column),
}
"""PRO-ACT column name -> readable name for the original ALSFRS."""

_ORIGINAL = Instrument(
    name="ALSFRS",
    columns=ORIGINAL_ITEM_COLUMNS,
    spellings=ORIGINAL_PROACT_COLUMNS,
    total_columns=("ALSFRS_Total",),
)


def total_score_original(
    frame: pd.DataFrame,
    *,
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> np.ndarray:
    """Return the validated original-ALSFRS total (0-40) of every row.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit with items 1-9 (readable or PRO-ACT names; item 5 as 5a or 5b)
        and ``breathing`` or ``Q10_Respiratory``. An ``ALSFRS_Total`` column, if present,
        is checked against the items.
    subject_col, visit_col : str, optional
        Columns naming subject and visit in error messages.

    Returns
    -------
    numpy.ndarray
        Float totals, 0-40.

    Raises
    ------
    InputError
        Listing every bad item or disagreeing recorded total, by row, subject, visit and
        column.

    Notes
    -----
    total = items 1-4 + (5a or 5b) + items 6-9 + Q10 (research file Appendix A). Use
    ``alsmeta.alsfrs.delta_fs(total, months, max_total=40)`` for "ΔFS-orig".

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs.alsfrs_original import ORIGINAL_ITEM_COLUMNS, total_score_original
    >>> visit = {c: 4 for c in ORIGINAL_ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visit["breathing"] = 3
    >>> total_score_original(pd.DataFrame([visit])).tolist()
    [39.0]
    """
    items = checked_items(frame, subject_col=subject_col, visit_col=visit_col, instrument=_ORIGINAL)
    total = total_kernel(items)
    total.setflags(write=False)
    return total


def approximate_alsfrs_total(
    frame: pd.DataFrame,
    *,
    method: str,
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> np.ndarray:
    """Return an **approximate** original-ALSFRS total (0-40) from ALSFRS-R items.

    This is not a validated equivalence: both rules are ad hoc harmonisations found in
    public code (research file §1.3). Use it only to put old and new records on one
    scale for exploration, and say so wherever the numbers are shown.

    Parameters
    ----------
    frame : pandas.DataFrame
        ALSFRS-R visits (validated as by :func:`alsmeta.alsfrs.total_score`).
    method : {"dyspnea", "respiratory_mean"}
        Required; there is no default. ``"dyspnea"``: items 1-9 + R1 (dyspnea) in
        place of Q10 (ttompk/als:readme.md). ``"respiratory_mean"``: items 1-9 + the
        mean of R1-R3 rounded to the nearest integer (public code, repository not
        recorded); a mean of three integers is never exactly half-way, so the rounding
        is unambiguous.
    subject_col, visit_col : str, optional
        Columns naming subject and visit in error messages.

    Returns
    -------
    numpy.ndarray
        Approximate 0-40 totals.

    Raises
    ------
    InputError
        If the items are invalid or ``method`` is not one of the two rules.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS
    >>> from alsmeta.alsfrs.alsfrs_original import approximate_alsfrs_total
    >>> visit = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visit.update(dyspnea=1, orthopnea=4, respiratory_insufficiency=4)
    >>> frame = pd.DataFrame([visit])
    >>> approximate_alsfrs_total(frame, method="dyspnea").tolist()
    [37.0]
    >>> approximate_alsfrs_total(frame, method="respiratory_mean").tolist()
    [39.0]
    """
    check_choice("method", method, APPROXIMATION_METHODS)
    items = checked_items(frame, subject_col=subject_col, visit_col=visit_col)
    r_idx = [ITEM_COLUMNS.index(c) for c in _RESPIRATORY_R]
    first_nine = total_kernel(items[:, : len(_SHARED)])
    if method == "dyspnea":
        breathing = items[:, r_idx[0]]
    else:
        breathing = np.round(items[:, r_idx].mean(axis=1))
    return first_nine + breathing
