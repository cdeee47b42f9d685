"""Progression rate ΔFS and clinical stages (King's, MiToS) from ALSFRS-R items.

King's clinical staging (Roche et al. 2012) counts the regions involved (bulbar, upper
limb, lower limb), with stage 4A for need of gastrostomy, 4B for need of non-invasive
ventilation (NIV) and 5 for death. Balendra et al. (2014) estimate it from one ALSFRS-R
visit; the rules here are those of the research file's §3.2 and Appendix B, taken from
two independent implementations that cite Balendra 2014 and agree on them
(``yoonhohong/proact:staging/estimate_king_mitos_alsfrs.R`` at a1aca90 and
``rpavaneijk/Precision-ALS:src/ext_kings.R``):

- bulbar involved  ⇔ speech, salivation or swallowing < 4;
- upper limb       ⇔ handwriting < 4 or 5a (cutting without gastrostomy) < 4;
- lower limb       ⇔ walking < 4 (stairs is not used);
- gastrostomy (4A) ⇔ 5b is answered (or a gastrostomy flag is given);
- NIV (4B)         ⇔ dyspnea (R1) = 0 or respiratory insufficiency (R3) < 4;
- otherwise the stage is the number of regions involved.

MiToS (Chiò et al. 2015, Table 1) counts the functional domains in which independence
is lost: movement (walking ≤ 1 OR dressing ≤ 1), swallowing (≤ 1), communicating
(speech ≤ 1 AND handwriting ≤ 1, as the published table says) and breathing (dyspnea
≤ 1 OR respiratory insufficiency ≤ 2); stage 5 is death.

Stage 5 never comes from the items: it comes from death records passed explicitly
(``died=``). Stages computed visit by visit can go down (5b answered, then 5a again);
:func:`worst_so_far` gives the monotone view on request.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.alsfrs.items import ITEM_COLUMNS, MAX_TOTAL
from alsmeta.alsfrs.scoring import check_columns, checked_items
from alsmeta.errors import InputError, Problem, check_choice

__all__ = [
    "DAYS_PER_MONTH",
    "PRECEDENCE_CHOICES",
    "ZERO_REGION_CHOICES",
    "KingsStage",
    "MitosStage",
    "delta_fs",
    "kings_stage",
    "mitos_stage",
    "months_from_onset",
    "worst_so_far",
]

PRECEDENCE_CHOICES: tuple[str, ...] = ("4B", "4A")
ZERO_REGION_CHOICES: tuple[str, ...] = ("stage1", "keep")
DAYS_PER_MONTH = 365.25 / 12

_IDX = {name: i for i, name in enumerate(ITEM_COLUMNS)}
_KINGS_NUMBER = {"0": 0, "1": 1, "2": 2, "3": 3, "4A": 4, "4B": 4, "5": 5}


# ---------------------------------------------------------------------------- ΔFS
def months_from_onset(visit_days: Any, onset_days: Any) -> np.ndarray:
    """Return months from symptom onset to each visit, from PRO-ACT day offsets.

    Parameters
    ----------
    visit_days : array_like of float
        Visit time in days from the trial's time 0 (PRO-ACT ``ALSFRS_Delta``).
    onset_days : array_like of float
        Symptom onset in days from the same time 0 (PRO-ACT ``Onset_Delta``, ≤ 0).

    Returns
    -------
    numpy.ndarray
        ``(visit_days - onset_days) / (365.25 / 12)``; negative when the visit is
        before onset (rejected by :func:`delta_fs` and :func:`alsmeta.alsfrs.score`).

    Notes
    -----
    Time from onset in days is ``ALSFRS_Delta + |Onset_Delta|``; months are days /
    (365.25/12), as in ``jpkrooney/ALSFRS_models:R/data_prep.R`` (research file §1.4).

    Examples
    --------
    >>> from alsmeta.alsfrs import months_from_onset
    >>> months_from_onset([0, 182.625], [-365.25, -365.25]).tolist()
    [12.0, 18.0]
    """
    visit = np.asarray(visit_days, dtype=float)
    onset = np.asarray(onset_days, dtype=float)
    return (visit - onset) / DAYS_PER_MONTH


def delta_fs(total: Any, months: Any, *, max_total: float = MAX_TOTAL) -> np.ndarray:
    """Return the pre-baseline progression rate ΔFS in points per month.

    Parameters
    ----------
    total : array_like of float
        ALSFRS-R totals (0-48), already validated (see :func:`alsmeta.alsfrs.total_score`).
    months : array_like of float
        Months from symptom onset to each visit, ≥ 0.
    max_total : float, default 48
        The instrument maximum: 48 for the ALSFRS-R; 40 for the original ALSFRS
        ("ΔFS-orig", see :mod:`alsmeta.alsfrs.alsfrs_original`).

    Returns
    -------
    numpy.ndarray
        ΔFS, positive for decline; ``nan`` (with a warning) where ``months`` is 0 or
        missing.

    Raises
    ------
    InputError
        If a month value is negative (visit before onset) or a total lies outside
        0..max_total, or the shapes differ.

    Notes
    -----
    ΔFS = (48 − total) / months from onset (Kimura et al. 2006; the standard form as
    summarised for Labra et al. 2016 by AANEM,
    https://www.aanem.org/News-Express/Practice/Rate-of-Disease-Progression-A-Prognostic-Biomoarke;
    research file §2.1 and Appendix C). Published cut-offs: Kimura 0.67; Labra 0.47
    and 1.11 points/month.

    References
    ----------
    Kimura F et al. Neurology 2006;66:265-267. doi:10.1212/01.wnl.0000194316.91908.8a
    Labra J et al. JNNP 2016;87:628-632. doi:10.1136/jnnp-2015-310998

    Examples
    --------
    A total of 40 twelve months after onset: (48 - 40) / 12.

    >>> from alsmeta.alsfrs import delta_fs
    >>> delta_fs([40, 48], [12, 6]).round(4).tolist()
    [0.6667, 0.0]
    """
    t = np.asarray(total, dtype=float)
    m = np.asarray(months, dtype=float)
    problems: list[Problem] = []
    if t.shape != m.shape:
        raise InputError(Problem(f"total has shape {t.shape} but months has {m.shape}"))
    for i in np.flatnonzero(m < 0):
        problems.append(Problem(f"visit before symptom onset: months = {m[i]:g}", row=int(i) + 1))
    for i in np.flatnonzero((t < 0) | (t > max_total)):
        problems.append(Problem(f"total {t[i]:g} is outside 0..{max_total:g}", row=int(i) + 1))
    if problems:
        raise InputError(problems)
    undefined = (m == 0) | np.isnan(m)
    if undefined.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(undefined))
        warnings.warn(
            f"delta_fs is nan where months from onset is 0 or missing (rows {rows})",
            UserWarning,
            stacklevel=2,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(undefined, np.nan, (max_total - t) / m)
    return out


# ---------------------------------------------------------------------------- kernels
def _flag(value: Any, n: int, name: str) -> np.ndarray:
    if value is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise InputError(Problem(f"{name} has {arr.size} values; give one per row ({n})"))
    if arr.dtype != bool:
        numeric = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isin(numeric, (0.0, 1.0)))
        if bad.size:
            raise InputError(
                [
                    Problem(
                        f"must be True/False (or 1/0), got {str(arr[i])!r}",
                        row=int(i) + 1,
                        column=name,
                    )
                    for i in bad
                ]
            )
        arr = numeric == 1.0
    return arr


def _compose_kings(
    bulbar: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    gastrostomy: np.ndarray,
    niv: np.ndarray,
    died: np.ndarray,
    *,
    precedence: str,
    zero_region: str,
) -> tuple[np.ndarray, np.ndarray]:
    regions = bulbar.astype(int) + upper.astype(int) + lower.astype(int)
    # King's staging has no stage 0: stage 1 is symptom onset, so an ALS patient with
    # normal bulbar and limb items is still stage 1 unless the user asks to keep 0.
    counted = np.maximum(regions, 1) if zero_region == "stage1" else regions
    both = "4B" if precedence == "4B" else "4A"
    stage = np.select(
        [died, gastrostomy & niv, niv, gastrostomy],
        ["5", both, "4B", "4A"],
        default=counted.astype(str),
    ).astype(object)
    return stage, regions


def kings_kernel(
    items: np.ndarray,
    *,
    gastrostomy: np.ndarray | None = None,
    died: np.ndarray | None = None,
    precedence: str = "4B",
    zero_region: str = "stage1",
) -> dict[str, np.ndarray]:
    """King's stage components from an ``(n, 13)`` validated item array (no checks)."""
    q = items
    n = q.shape[0]
    died_ = np.zeros(n, dtype=bool) if died is None else died
    # nan compares False, so an unanswered 5a never marks the upper limb.
    bulbar = np.any(q[:, [_IDX["speech"], _IDX["salivation"], _IDX["swallowing"]]] < 4, axis=1)
    upper = (q[:, _IDX["handwriting"]] < 4) | (q[:, _IDX["cutting_without_gastrostomy"]] < 4)
    lower = q[:, _IDX["walking"]] < 4
    gast = ~np.isnan(q[:, _IDX["cutting_with_gastrostomy"]])
    if gastrostomy is not None:
        gast = gast | gastrostomy
    niv = (q[:, _IDX["dyspnea"]] == 0) | (q[:, _IDX["respiratory_insufficiency"]] < 4)
    stage, regions = _compose_kings(
        bulbar, upper, lower, gast, niv, died_, precedence=precedence, zero_region=zero_region
    )
    return {
        "stage": stage,
        "regions_involved": regions,
        "bulbar": bulbar,
        "upper_limb": upper,
        "lower_limb": lower,
        "gastrostomy": gast,
        "niv": niv,
        "died": died_,
    }


def mitos_kernel(items: np.ndarray, *, died: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """MiToS stage components from an ``(n, 13)`` validated item array (no checks)."""
    q = items
    n = q.shape[0]
    died_ = np.zeros(n, dtype=bool) if died is None else died
    movement = (q[:, _IDX["walking"]] <= 1) | (q[:, _IDX["dressing"]] <= 1)
    swallowing = q[:, _IDX["swallowing"]] <= 1
    # AND, as in Chiò 2015 Table 1 (Precision-ALS uses OR, which contradicts the table).
    communicating = (q[:, _IDX["speech"]] <= 1) & (q[:, _IDX["handwriting"]] <= 1)
    breathing = (q[:, _IDX["dyspnea"]] <= 1) | (q[:, _IDX["respiratory_insufficiency"]] <= 2)
    stage = _compose_mitos(movement, swallowing, communicating, breathing, died_)
    return {
        "stage": stage,
        "movement": movement,
        "swallowing": swallowing,
        "communicating": communicating,
        "breathing": breathing,
        "died": died_,
    }


def _compose_mitos(*domains_and_died: np.ndarray) -> np.ndarray:
    *domains, died = domains_and_died
    lost = np.sum([d.astype(int) for d in domains], axis=0)
    return np.where(died, 5, lost).astype(int)


def visit_order(subject: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Row positions sorted by subject, then time (stable, so ties keep input order)."""
    order = pd.DataFrame({"s": pd.factorize(subject)[0], "t": time}).sort_values(
        ["s", "t"], kind="stable"
    )
    return order.index.to_numpy()


def _cumulative_any(flag: np.ndarray, subject: np.ndarray, order: np.ndarray) -> np.ndarray:
    codes = pd.factorize(subject)[0]
    ordered = pd.Series(flag[order].astype(int)).groupby(codes[order]).cummax().to_numpy()
    out = np.empty(flag.shape, dtype=bool)
    out[order] = ordered.astype(bool)
    return out


def kings_worst_kernel(
    components: dict[str, np.ndarray],
    subject: np.ndarray,
    order: np.ndarray,
    *,
    precedence: str,
    zero_region: str,
) -> dict[str, np.ndarray]:
    """Worst-so-far King's components: every flag carried forward within a subject."""
    keys = ("bulbar", "upper_limb", "lower_limb", "gastrostomy", "niv", "died")
    carried = {k: _cumulative_any(components[k], subject, order) for k in keys}
    stage, regions = _compose_kings(
        *(carried[k] for k in keys), precedence=precedence, zero_region=zero_region
    )
    return {"stage": stage, "regions_involved": regions, **carried}


def mitos_worst_kernel(
    components: dict[str, np.ndarray], subject: np.ndarray, order: np.ndarray
) -> dict[str, np.ndarray]:
    """Worst-so-far MiToS components: every lost domain stays lost within a subject."""
    keys = ("movement", "swallowing", "communicating", "breathing", "died")
    carried = {k: _cumulative_any(components[k], subject, order) for k in keys}
    return {"stage": _compose_mitos(*(carried[k] for k in keys)), **carried}


# ---------------------------------------------------------------------------- results
def _readonly(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key, value in values.items():
        arr = np.array(value, copy=True)
        arr.setflags(write=False)
        out[key] = arr
    return out


def _component_lists(components: dict[str, np.ndarray]) -> dict[str, Any]:
    """The component arrays as JSON-safe lists, by name."""
    return {k: v.tolist() for k, v in components.items()}


def _stage_counts(stage: np.ndarray) -> str:
    """``stage: visits`` for every stage present, in stage order."""
    counts = pd.Series(stage).value_counts().sort_index()
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class KingsStage:
    """King's clinical stage per visit, with the components it was derived from.

    Attributes
    ----------
    stage : numpy.ndarray of str
        ``"1"``, ``"2"``, ``"3"``, ``"4A"``, ``"4B"``, ``"5"`` (and ``"0"`` only with
        ``zero_region="keep"``).
    regions_involved : numpy.ndarray of int
        Number of regions involved, 0-3, before the zero-region rule.
    bulbar, upper_limb, lower_limb, gastrostomy, niv, died : numpy.ndarray of bool
        The components.
    precedence, zero_region : str
        The options used.
    worst_so_far : bool
        Whether the components were carried forward within each subject.
    """

    stage: np.ndarray
    regions_involved: np.ndarray
    bulbar: np.ndarray
    upper_limb: np.ndarray
    lower_limb: np.ndarray
    gastrostomy: np.ndarray
    niv: np.ndarray
    died: np.ndarray
    precedence: str = "4B"
    zero_region: str = "stage1"
    worst_so_far: bool = False

    _FIELDS = (
        "stage", "regions_involved", "bulbar", "upper_limb", "lower_limb",
        "gastrostomy", "niv", "died",
    )  # fmt: skip

    @property
    def number(self) -> np.ndarray:
        """Stage as a number 0-5, with 4A and 4B both 4 (for ordering and plotting)."""
        return pd.Series(self.stage, dtype=object).map(_KINGS_NUMBER).to_numpy(dtype=int)

    def components(self) -> dict[str, np.ndarray]:
        """The component arrays by name."""
        return {k: getattr(self, k) for k in self._FIELDS}

    def to_frame(self) -> pd.DataFrame:
        """Return one row per visit: ``stage`` and its components."""
        return pd.DataFrame(self.components())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of lists plus the options."""
        out = _component_lists(self.components())
        out.update(
            precedence=self.precedence,
            zero_region=self.zero_region,
            worst_so_far=self.worst_so_far,
        )
        return out

    def summary(self) -> str:
        """Return the count of visits per stage."""
        body = _stage_counts(self.stage)
        options = f"precedence {self.precedence}, zero_region {self.zero_region}"
        return f"King's stage ({options}): {body}\n"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MitosStage:
    """MiToS stage per visit, with the four domains it counts.

    Attributes
    ----------
    stage : numpy.ndarray of int
        0-4 domains lost, 5 for death.
    movement, swallowing, communicating, breathing, died : numpy.ndarray of bool
        Domains in which independence is lost, and death.
    worst_so_far : bool
        Whether the domains were carried forward within each subject.
    """

    stage: np.ndarray
    movement: np.ndarray
    swallowing: np.ndarray
    communicating: np.ndarray
    breathing: np.ndarray
    died: np.ndarray
    worst_so_far: bool = False

    _FIELDS = ("stage", "movement", "swallowing", "communicating", "breathing", "died")

    def components(self) -> dict[str, np.ndarray]:
        """The component arrays by name."""
        return {k: getattr(self, k) for k in self._FIELDS}

    def to_frame(self) -> pd.DataFrame:
        """Return one row per visit: ``stage`` and the domains."""
        return pd.DataFrame(self.components())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of lists."""
        out = _component_lists(self.components())
        out["worst_so_far"] = self.worst_so_far
        return out

    def summary(self) -> str:
        """Return the count of visits per stage."""
        return "MiToS stage: " + _stage_counts(self.stage) + "\n"


def _kings_result(
    parts: dict[str, np.ndarray], *, precedence: str, zero_region: str, worst_so_far: bool = False
) -> KingsStage:
    p = _readonly(parts)
    return KingsStage(
        stage=p["stage"],
        regions_involved=p["regions_involved"],
        bulbar=p["bulbar"],
        upper_limb=p["upper_limb"],
        lower_limb=p["lower_limb"],
        gastrostomy=p["gastrostomy"],
        niv=p["niv"],
        died=p["died"],
        precedence=precedence,
        zero_region=zero_region,
        worst_so_far=worst_so_far,
    )


def _mitos_result(parts: dict[str, np.ndarray], *, worst_so_far: bool = False) -> MitosStage:
    p = _readonly(parts)
    return MitosStage(
        stage=p["stage"],
        movement=p["movement"],
        swallowing=p["swallowing"],
        communicating=p["communicating"],
        breathing=p["breathing"],
        died=p["died"],
        worst_so_far=worst_so_far,
    )


# ---------------------------------------------------------------------------- public API
def _row_flag(frame: pd.DataFrame, value: str | Any | None, name: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        check_columns(frame, value)
        return _flag(frame[value].to_numpy(), len(frame), f"{name} column {value!r}")
    return _flag(value, len(frame), name)


def _checked_items(
    frame: pd.DataFrame,
    died: np.ndarray | None,
    subject_col: str | None,
    visit_col: str | None,
) -> np.ndarray:
    return checked_items(frame, subject_col=subject_col, visit_col=visit_col, skip=died)


def kings_stage(
    frame: pd.DataFrame,
    *,
    gastrostomy: str | Any | None = None,
    died: str | Any | None = None,
    precedence: str = "4B",
    zero_region: str = "stage1",
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> KingsStage:
    """Estimate King's clinical stage from ALSFRS-R items (Balendra et al. 2014).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit with the ALSFRS-R items (readable or PRO-ACT names).
    gastrostomy : str or array_like of bool, optional
        A column name, or one flag per row: gastrostomy at or before the visit. It adds
        to (OR) the gastrostomy read from an answered 5b.
    died : str or array_like of bool, optional
        A column name, or one flag per row marking death records: those rows are stage
        5 and their items are neither needed nor checked.
    precedence : {"4B", "4A"}, default "4B"
        Stage reported when both gastrostomy and NIV apply. Default 4B, the more
        advanced milestone (the Precision-ALS convention, recommended in the research
        file §3.2; yoonhohong/proact collapses both into "4").
    zero_region : {"stage1", "keep"}, default "stage1"
        When no bulbar or limb region is involved (only dressing, turning, stairs or a
        respiratory item below 4, without NIV): ``"stage1"`` reports stage 1, since
        King's staging starts at symptom onset and has no stage 0 (yoonhohong/proact
        convention); ``"keep"`` reports ``"0"`` (Precision-ALS convention).
        ``regions_involved`` is 0 either way.
    subject_col, visit_col : str, optional
        Columns naming subject and visit in error messages.

    Returns
    -------
    KingsStage

    Raises
    ------
    InputError
        If items are invalid (see :func:`alsmeta.alsfrs.total_score`) or an option is
        not valid.

    Notes
    -----
    bulbar ⇔ min(Q1, Q2, Q3) < 4; upper limb ⇔ Q4 < 4 or Q5a < 4; lower limb ⇔ Q8 < 4;
    gastrostomy (4A) ⇔ 5b answered; NIV (4B) ⇔ R1 = 0 or R3 < 4; stage = number of
    regions otherwise (research file §3.2 and Appendix B). Stage 2A (diagnosis) cannot
    be derived from the items; 2 means two regions.

    References
    ----------
    Roche JC et al. Brain 2012;135:847-852. doi:10.1093/brain/awr351
    Balendra R et al. ALS FTD 2014;15:279-284. doi:10.3109/21678421.2014.897357

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, kings_stage
    >>> normal = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visits = pd.DataFrame([normal, {**normal, "speech": 3, "walking": 2},
    ...                        {**normal, "respiratory_insufficiency": 3}])
    >>> kings_stage(visits).stage.tolist()
    ['1', '2', '4B']
    """
    check_choice("precedence", precedence, PRECEDENCE_CHOICES)
    check_choice("zero_region", zero_region, ZERO_REGION_CHOICES)
    dead = _row_flag(frame, died, "died")
    gast = _row_flag(frame, gastrostomy, "gastrostomy")
    items = _checked_items(frame, dead, subject_col, visit_col)
    parts = kings_kernel(
        items, gastrostomy=gast, died=dead, precedence=precedence, zero_region=zero_region
    )
    return _kings_result(parts, precedence=precedence, zero_region=zero_region)


def mitos_stage(
    frame: pd.DataFrame,
    *,
    died: str | Any | None = None,
    subject_col: str | None = None,
    visit_col: str | None = None,
) -> MitosStage:
    """Compute the MiToS stage from ALSFRS-R items (Chiò et al. 2015, Table 1).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per visit with the ALSFRS-R items (readable or PRO-ACT names).
    died : str or array_like of bool, optional
        A column name, or one flag per row marking death records (stage 5; items not
        needed).
    subject_col, visit_col : str, optional
        Columns naming subject and visit in error messages.

    Returns
    -------
    MitosStage

    Raises
    ------
    InputError
        If items are invalid.

    Notes
    -----
    A domain is lost when: movement ⇔ Q8 ≤ 1 OR Q6 ≤ 1; swallowing ⇔ Q3 ≤ 1;
    communicating ⇔ Q1 ≤ 1 AND Q4 ≤ 1; breathing ⇔ R1 ≤ 1 OR R3 ≤ 2. Stage = number
    of domains lost (0-4), 5 = death (research file §3.3 and Appendix B; table at
    https://jnnp.bmj.com/highwire/markup/180571/expansion).

    References
    ----------
    Chiò A et al. JNNP 2015;86:38-44. doi:10.1136/jnnp-2013-306589

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, mitos_stage
    >>> normal = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visits = pd.DataFrame([{**normal, "speech": 1},
    ...                        {**normal, "speech": 1, "handwriting": 0, "swallowing": 1}])
    >>> mitos_stage(visits).stage.tolist()
    [0, 2]
    """
    dead = _row_flag(frame, died, "died")
    items = _checked_items(frame, dead, subject_col, visit_col)
    return _mitos_result(mitos_kernel(items, died=dead))


def worst_so_far(
    stages: KingsStage | MitosStage, *, subject: Any, time: Any
) -> KingsStage | MitosStage:
    """Return the monotone "worst so far" view of per-visit stages, per subject.

    Each component (a region involved, gastrostomy, NIV, a MiToS domain lost, death)
    is carried forward to every later visit of the same subject, and the stage is
    recomputed from the carried components, so it never goes down.

    Parameters
    ----------
    stages : KingsStage or MitosStage
        Per-visit stages, as returned by :func:`kings_stage` or :func:`mitos_stage`.
    subject : array_like
        Subject of each row.
    time : array_like
        Visit time (or visit number) of each row; rows are ordered by it within a
        subject, ties in input order.

    Returns
    -------
    KingsStage or MitosStage
        Same type and row order, with ``worst_so_far=True``.

    Raises
    ------
    InputError
        If ``subject`` or ``time`` does not have one value per row.

    Notes
    -----
    The research file (§3.4) recommends monotone stages only on request: raw
    item-derived stages can go down, e.g. when 5b is answered and then 5a again.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta.alsfrs import ITEM_COLUMNS, mitos_stage, worst_so_far
    >>> normal = {c: 4 for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"}
    >>> visits = pd.DataFrame([normal, {**normal, "walking": 1}, normal])
    >>> raw = mitos_stage(visits)
    >>> raw.stage.tolist(), worst_so_far(raw, subject=[1, 1, 1], time=[0, 3, 6]).stage.tolist()
    ([0, 1, 0], [0, 1, 1])
    """
    n = len(stages.stage)
    subj = np.asarray(subject)
    t = np.asarray(time)
    problems = [
        Problem(f"{name} has {arr.size} values; give one per row ({n})")
        for name, arr in (("subject", subj), ("time", t))
        if arr.shape != (n,)
    ]
    if problems:
        raise InputError(problems)
    order = visit_order(subj, t)
    if isinstance(stages, KingsStage):
        parts = kings_worst_kernel(
            stages.components(),
            subj,
            order,
            precedence=stages.precedence,
            zero_region=stages.zero_region,
        )
        return _kings_result(
            parts, precedence=stages.precedence, zero_region=stages.zero_region, worst_so_far=True
        )
    parts = mitos_worst_kernel(stages.components(), subj, order)
    return _mitos_result(parts, worst_so_far=True)
