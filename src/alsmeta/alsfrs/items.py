"""The items of the ALSFRS-R: names, PRO-ACT spellings, anchors and domains.

The revised ALS Functional Rating Scale (ALSFRS-R) has 12 items scored 0-4 as integers,
4 normal and 0 complete loss of function, for a total of 0-48 (higher is better). Item 5
has two forms of which exactly one is answered at a visit: 5a "cutting food and handling
utensils" for patients without a gastrostomy and 5b, the alternate scale for patients
with one. alsmeta therefore knows 13 item columns, 5a before 5b.

Readable names (``speech``, ``walking``, ...) are the package's spelling; the PRO-ACT
spellings (``Q1_Speech``, ``R_1_Dyspnea`` in the per-form release, ``R1_Dyspnea`` in the
DREAM "all_forms" layout) are accepted case-insensitively and renamed by
:func:`normalise_item_columns`.

References
----------
Cedarbaum JM et al. The ALSFRS-R: a revised ALS functional rating scale that
incorporates assessments of respiratory function. J Neurol Sci 1999;169:13-21.
doi:10.1016/S0022-510X(99)00210-5. Item texts as reproduced at
https://calcmd.com/calculators/alsfrs-r (anchors condensed; use the official form's
wording in user-facing text).

PRO-ACT column names: Atassi N et al., Neurology 2014;83:1719-1725,
doi:10.1212/WNL.0000000000000951; spellings as used in
``yoonhohong/proact:preprocess_predict.R`` and ``jpkrooney/ALSFRS_models:R/data_prep.R``.

Domains: four-domain convention (bulbar, fine motor, gross motor, respiratory) as at
https://calcmd.com/calculators/alsfrs-r and in the HQLO review Table 3
(doi:10.1186/s12955-022-01919-9); three-domain convention (bulbar, motor, respiratory)
from Rooney J et al., JNNP 2017;88:381-385, doi:10.1136/jnnp-2016-314661.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from alsmeta.errors import InputError, Problem

__all__ = [
    "DOMAINS",
    "DOMAINS_THREE",
    "ITEMS",
    "ITEM_COLUMNS",
    "MAX_TOTAL",
    "PROACT_ITEM_COLUMNS",
    "RECORDED_TOTAL_COLUMNS",
    "Item",
    "normalise_item_columns",
    "rename_columns",
]

MAX_TOTAL = 48


@dataclass(frozen=True, slots=True)
class Item:
    """One ALSFRS-R item.

    Attributes
    ----------
    number : str
        Item number on the form: ``"1"`` .. ``"9"``, ``"5a"``, ``"5b"``, ``"R1"`` .. ``"R3"``
        (R1-R3 are items 10-12).
    column : str
        alsmeta's readable column name.
    proact : tuple of str
        PRO-ACT spellings of the column (per-form release first, then DREAM layout).
    label : str
        Short item title.
    anchors : tuple of str
        Condensed anchor texts indexed by score: ``anchors[0]`` is score 0,
        ``anchors[4]`` is score 4 (normal).
    """

    number: str
    column: str
    proact: tuple[str, ...]
    label: str
    anchors: tuple[str, str, str, str, str]


# Anchors condensed from Cedarbaum 1999 (research file Appendix A), listed 0 -> 4.
ITEMS: tuple[Item, ...] = (
    Item("1", "speech", ("Q1_Speech",), "Speech", (
        "loss of useful speech",
        "speech combined with non-vocal communication",
        "intelligible with repeating",
        "detectable speech disturbance",
        "normal speech processes",
    )),
    Item("2", "salivation", ("Q2_Salivation",), "Salivation", (
        "marked drooling; requires constant tissue or handkerchief",
        "marked excess of saliva with some drooling",
        "moderately excessive saliva; may have minimal drooling",
        "slight but definite excess of saliva in mouth; may have nighttime drooling",
        "normal",
    )),
    Item("3", "swallowing", ("Q3_Swallowing",), "Swallowing", (
        "NPO (exclusively parenteral or enteral feeding)",
        "needs supplemental tube feeding",
        "dietary consistency changes",
        "early eating problems; occasional choking",
        "normal eating habits",
    )),
    Item("4", "handwriting", ("Q4_Handwriting",), "Handwriting", (
        "unable to grip pen",
        "able to grip pen but unable to write",
        "not all words are legible",
        "slow or sloppy; all words are legible",
        "normal",
    )),
    Item("5a", "cutting_without_gastrostomy", ("Q5a_Cutting_without_Gastrostomy",),
         "Cutting food and handling utensils (patients without gastrostomy)", (
        "needs to be fed",
        "food must be cut by someone, but can still feed slowly",
        "can cut most foods, although clumsy and slow; some help needed",
        "somewhat slow and clumsy, but no help needed",
        "normal",
    )),
    Item("5b", "cutting_with_gastrostomy", ("Q5b_Cutting_with_Gastrostomy",),
         "Cutting food and handling utensils (alternate scale for patients with gastrostomy)", (
        "unable to perform any aspect of task",
        "provides minimal assistance to caregiver",
        "some help needed with closures and fasteners",
        "clumsy but able to perform all manipulations independently",
        "normal",
    )),
    Item("6", "dressing", ("Q6_Dressing_and_Hygiene",), "Dressing and hygiene", (
        "total dependence",
        "needs attendant for self-care",
        "intermittent assistance or substitute methods",
        "independent and complete self-care with effort or decreased efficiency",
        "normal function",
    )),
    Item("7", "turning", ("Q7_Turning_in_Bed",), "Turning in bed and adjusting bed clothes", (
        "helpless",
        "can initiate, but not turn or adjust sheets alone",
        "can turn alone or adjust sheets, but with great difficulty",
        "somewhat slow and clumsy, but no help needed",
        "normal",
    )),
    Item("8", "walking", ("Q8_Walking",), "Walking", (
        "no purposeful leg movement",
        "non-ambulatory functional movement only",
        "walks with assistance",
        "early ambulation difficulties",
        "normal",
    )),
    Item("9", "stairs", ("Q9_Climbing_Stairs",), "Climbing stairs", (
        "cannot do",
        "needs assistance",
        "mild unsteadiness or fatigue",
        "slow",
        "normal",
    )),
    Item("R1", "dyspnea", ("R_1_Dyspnea", "R1_Dyspnea"), "Dyspnea", (
        "significant difficulty, considering using mechanical respiratory support",
        "occurs at rest, difficulty breathing when either sitting or lying",
        "occurs with one or more of: eating, bathing, dressing (ADL)",
        "occurs when walking",
        "none",
    )),
    Item("R2", "orthopnea", ("R_2_Orthopnea", "R2_Orthopnea"), "Orthopnea", (
        "unable to sleep",
        "can only sleep sitting up",
        "needs extra pillows in order to sleep (more than two)",
        "some difficulty sleeping at night due to shortness of breath; "
        "does not routinely use more than two pillows",
        "none",
    )),
    Item("R3", "respiratory_insufficiency",
         ("R_3_Respiratory_Insufficiency", "R3_Respiratory_Insufficiency"),
         "Respiratory insufficiency", (
        "invasive mechanical ventilation by intubation or tracheostomy",
        "continuous use of BiPAP during the night and day",
        "continuous use of BiPAP during the night",
        "intermittent use of BiPAP",
        "none",
    )),
)  # fmt: skip

ITEM_COLUMNS: tuple[str, ...] = tuple(item.column for item in ITEMS)
"""The 13 readable item column names, 5a before 5b."""

PROACT_ITEM_COLUMNS: dict[str, str] = {
    spelling: item.column for item in ITEMS for spelling in item.proact
}
"""PRO-ACT column name -> readable name (both the per-form and the DREAM spellings)."""

DOMAINS: dict[str, tuple[str, ...]] = {
    "bulbar": ("speech", "salivation", "swallowing"),
    "fine_motor": (
        "handwriting",
        "cutting_without_gastrostomy",
        "cutting_with_gastrostomy",
        "dressing",
    ),
    "gross_motor": ("turning", "walking", "stairs"),
    "respiratory": ("dyspnea", "orthopnea", "respiratory_insufficiency"),
}
"""Four-domain convention (default), each 0-12; item 5 is 5a or 5b, whichever is answered."""

DOMAINS_THREE: dict[str, tuple[str, ...]] = {
    "bulbar": DOMAINS["bulbar"],
    "motor": DOMAINS["fine_motor"] + DOMAINS["gross_motor"],
    "respiratory": DOMAINS["respiratory"],
}
"""Three-domain convention of Rooney et al. 2017: bulbar 0-12, motor 0-24, respiratory 0-12."""

RECORDED_TOTAL_COLUMNS: tuple[str, ...] = ("total", "ALSFRS_R_Total")
"""Columns that may hold a recorded ALSFRS-R total to check against the items."""


def normalise_item_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with PRO-ACT item columns renamed to readable names.

    PRO-ACT names are matched case-insensitively (``Q1_Speech``, ``q1_speech``,
    ``R_1_Dyspnea`` and ``R1_Dyspnea`` all become ``speech`` / ``dyspnea``). Readable
    names and every other column are kept as they are, in the same order.

    Parameters
    ----------
    frame : pandas.DataFrame
        A visit table.

    Returns
    -------
    pandas.DataFrame
        A renamed copy.

    Raises
    ------
    InputError
        If one item is given twice (for example ``speech`` and ``Q1_Speech``, or
        ``R_1_Dyspnea`` and ``R1_Dyspnea``).

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import normalise_item_columns
    >>> frame = pd.DataFrame({"subject_id": [1], "Q1_Speech": [4], "r1_dyspnea": [3]})
    >>> list(normalise_item_columns(frame).columns)
    ['subject_id', 'speech', 'dyspnea']
    """
    return rename_columns(frame, ITEM_COLUMNS, PROACT_ITEM_COLUMNS)


def rename_columns(
    frame: pd.DataFrame, readable: tuple[str, ...], spellings: dict[str, str]
) -> pd.DataFrame:
    """Rename the columns of ``frame`` spelled as in ``spellings`` (any case) to readable names.

    Shared by the ALSFRS-R and the original ALSFRS; raises an :class:`InputError` if an
    item is given by more than one column.
    """
    lookup = {name.lower(): name_readable for name, name_readable in spellings.items()}
    renames: dict[str, str] = {}
    sources: dict[str, list[str]] = {}
    for column in frame.columns:
        name = str(column)
        target = name if name in readable else lookup.get(name.lower())
        if target is None:
            continue
        sources.setdefault(target, []).append(name)
        if name != target:
            renames[name] = target
    problems = [
        Problem(
            f"item {target!r} is given by more than one column: {', '.join(map(repr, names))}; "
            "keep one",
            column=names[1],
        )
        for target, names in sources.items()
        if len(names) > 1
    ]
    if problems:
        raise InputError(problems)
    return frame.rename(columns=renames)
