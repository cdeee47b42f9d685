"""Synthesis without meta-analysis (SWiM): effect direction, sign test, p-value combination
and albatross-plot data.

These methods summarise studies whose results cannot be pooled as effect sizes (a p-value
alone, "no significant benefit", outcomes measured on different instruments). Each answers
a narrower question than a meta-analysis, and every result says in its ``notes`` what it
can and cannot conclude. Directions are coded +1 (benefit), -1 (harm) and 0 (no clear
direction: no change, mixed or conflicting findings); strings such as ``"benefit"``,
``"harm"``, ``"▲"``, ``"▼"``, ``"◄►"`` are accepted.

References
----------
Campbell M, McKenzie JE, Sowden A, et al. (2020). Synthesis without meta-analysis (SWiM)
in systematic reviews: reporting guideline. BMJ 368:l6890. doi:10.1136/bmj.l6890

McKenzie JE, Brennan SE (2023). Chapter 12: Synthesizing and presenting findings using
other methods. In: Higgins JPT et al. (eds), Cochrane Handbook for Systematic Reviews of
Interventions, version 6.4.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_choice, check_level
from alsmeta.synthesis._common import (
    BENEFIT,
    DIRECTION_LABELS,
    DIRECTION_SYMBOLS,
    HARM,
    NONE,
    fmt,
    json_float,
    parse_direction,
    parse_directions,
    readonly,
    study_labels,
)

__all__ = [
    "AlbatrossData",
    "CombinedPValueResult",
    "EffectDirectionResult",
    "SignTestResult",
    "albatross_data",
    "combine_p_values",
    "effect_direction",
    "sign_test",
]

COMBINE_METHODS: tuple[str, ...] = ("stouffer", "fisher")
ALBATROSS_MEASURES: tuple[str, ...] = ("SMD", "MD", "COR")

#: Thomson & Thomas (2013): share of a domain's outcomes that must point the same way
#: for the domain to take that direction.
DOMAIN_THRESHOLD = 0.70
#: Thomson & Thomas (2013) arrow sizes: small below 50, medium 50-300, large above 300.
SIZE_BREAKS: tuple[int, int] = (50, 300)

_SIGN_TEST_CANNOT = (
    "a sign test counts directions; it says nothing about the size of the effect, "
    "ignores how precise each study is, and treats a tiny study like a large one"
)


def _frame_from(table: Any) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.reset_index(drop=True)
    if isinstance(table, Sequence) and not isinstance(table, str):
        return pd.DataFrame(list(table))
    raise InputError(
        Problem(f"expected a DataFrame or a list of dicts, got {type(table).__name__}")
    )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _size_class(n: float, breaks: tuple[float, float]) -> str:
    if math.isnan(n):
        return "unknown"
    if n < breaks[0]:
        return "small"
    if n > breaks[1]:
        return "large"
    return "medium"


# ------------------------------------------------------------------ sign test
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SignTestResult:
    """Exact two-sided sign test on directions of effect.

    ``n`` is the number of studies with a direction (benefit or harm); studies with no
    clear direction (``n_no_effect``) are excluded, as ties are in a sign test.
    ``proportion_benefit`` is ``n_benefit / n`` with a Wilson ``level`` interval.
    """

    study: tuple[str, ...]
    directions: np.ndarray
    n_benefit: int
    n_harm: int
    n_no_effect: int
    n: int
    p_value: float
    proportion_benefit: float
    ci_lower: float
    ci_upper: float
    level: float
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the counts, the p-value and the notes."""
        return {
            "n_benefit": self.n_benefit,
            "n_harm": self.n_harm,
            "n_no_effect": self.n_no_effect,
            "n": self.n,
            "p_value": json_float(self.p_value),
            "proportion_benefit": json_float(self.proportion_benefit),
            "ci_lower": json_float(self.ci_lower),
            "ci_upper": json_float(self.ci_upper),
            "level": self.level,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, ``direction`` (label), ``counted``."""
        return pd.DataFrame(
            {
                "study": list(self.study),
                "direction": [DIRECTION_LABELS[int(d)] for d in self.directions],
                "counted": [bool(d != NONE) for d in self.directions],
            }
        )

    def summary(self) -> str:
        """Plain-text report of the test and what it means."""
        pct = round(100 * self.level)
        lines = [
            "Sign test (exact binomial, two-sided, H0: benefit and harm equally likely)",
            "",
            f"benefit: {self.n_benefit}   harm: {self.n_harm}   "
            f"no clear direction (excluded): {self.n_no_effect}",
            f"proportion showing benefit: {fmt(self.proportion_benefit, 3)} "
            f"({pct}% CI {fmt(self.ci_lower, 3)} to {fmt(self.ci_upper, 3)}), "
            f"p-value = {fmt(self.p_value)}",
            "",
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _wilson(x: int, n: int, level: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.isf((1 - level) / 2))
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    return centre - half, centre + half


def _sign_test_p(n_benefit: int, n_harm: int) -> float:
    n = n_benefit + n_harm
    if n == 0:
        return math.nan
    # Under H0 the count is Binomial(n, 1/2), which is symmetric, so the two-sided
    # p-value (sum of outcomes no more likely than the observed one) is twice one tail.
    return min(1.0, 2.0 * float(stats.binom.cdf(min(n_benefit, n_harm), n, 0.5)))


def sign_test(directions: Any, *, study: Any = None, level: float = 0.95) -> SignTestResult:
    """Test whether benefit and harm are equally likely across studies (sign test).

    Parameters
    ----------
    directions : array-like
        One direction per study: +1/``"benefit"``, -1/``"harm"``, 0/``"none"`` (no clear
        direction). Directions should come from the point estimates, whatever their
        statistical significance (Cochrane Handbook 12.2.2.2).
    study : array-like of str, optional
        Study labels.
    level : float
        Level of the Wilson interval for the proportion showing benefit.

    Returns
    -------
    SignTestResult

    Raises
    ------
    InputError
        An unknown direction, wrong number of labels, a level that is not a proportion.

    Notes
    -----
    With ``b`` studies favouring benefit and ``h`` favouring harm (``n = b + h``; studies
    with no clear direction are excluded, as ties), ``b ~ Binomial(n, 1/2)`` under the
    null and the exact two-sided p-value is ``min(1, 2 P(X <= min(b, h)))``, equal to
    ``scipy.stats.binomtest(b, n, 0.5).pvalue`` and R's ``binom.test(b, n)``. The Wilson
    interval for ``b / n`` is the one the Cochrane Handbook (12.4.2.3) suggests. The
    binomial model assumes every study has the same chance of pointing to benefit, which
    studies of different size and quality do not (Nikolakopoulos 2020).

    References
    ----------
    McKenzie JE, Brennan SE (2023). Cochrane Handbook, chapter 12.4.2.3.

    Boon MH, Thomson H (2021). The effect direction plot revisited. Res Synth Methods
    12:29-33. doi:10.1002/jrsm.1458

    Nikolakopoulos S (2020). Misuse of the sign test in narrative synthesis of evidence.
    Res Synth Methods 11:714-719. doi:10.1002/jrsm.1427

    Examples
    --------
    >>> from alsmeta.synthesis import sign_test
    >>> res = sign_test(["benefit"] * 7 + ["harm", "none"])
    >>> res.n_benefit, res.n_harm, res.n_no_effect, round(res.p_value, 4)
    (7, 1, 1, 0.0703)
    """
    level = check_level(level)
    values = list(np.asarray(directions, dtype=object).ravel())
    problems: list[Problem] = []
    labels = study_labels(study, len(values), problems)
    codes = parse_directions(values, labels, problems)
    if problems:
        raise InputError(problems)
    b = int(np.sum(codes == BENEFIT))
    h = int(np.sum(codes == HARM))
    z = int(np.sum(codes == NONE))
    n = b + h
    p = _sign_test_p(b, h)
    lo, hi = _wilson(b, n, level)
    notes = [_SIGN_TEST_CANNOT]
    if z:
        notes.append(
            f"{z} {'study' if z == 1 else 'studies'} with no clear direction "
            "(no change, mixed or conflicting) were excluded, as ties are in a sign test"
        )
    if n == 0:
        msg = "no study has a direction; the test cannot be done (p-value is nan)"
        notes.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    elif n < 6:
        notes.append(
            f"with {n} studies the smallest possible two-sided p-value is "
            f"{2 * 0.5**n:.4g}, so the test cannot reach p < 0.05 (n < 6); "
            "a large p-value here says little"
        )
    if n and p < 0.05:
        notes.append(
            "a small p-value says that more studies point to benefit (or harm) than chance "
            "alone would make likely; it does not say the benefit is clinically important"
        )
    return SignTestResult(
        study=labels,
        directions=readonly(codes, int),
        n_benefit=b,
        n_harm=h,
        n_no_effect=z,
        n=n,
        p_value=p,
        proportion_benefit=b / n if n else math.nan,
        ci_lower=lo,
        ci_upper=hi,
        level=level,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ effect direction
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EffectDirectionResult:
    """Effect-direction table (Thomson & Thomas): one row per study and outcome domain.

    ``frame`` columns: ``study``, ``domain``, ``n_outcomes``, ``n_benefit``, ``n_harm``,
    ``n_no_effect``, ``share`` (share of the domain's outcomes in the winning direction),
    ``direction`` (+1, -1, 0), ``label``, ``symbol`` (▲, ▼, ◄►), ``n`` (sample size),
    ``size_class`` (small, medium, large, unknown), ``design`` and, when given,
    ``risk_of_bias``.
    """

    table: pd.DataFrame
    frame: pd.DataFrame
    studies: tuple[str, ...]
    domains: tuple[str, ...]
    threshold: float
    size_breaks: tuple[float, float]
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """A copy of the study-by-domain table."""
        return self.frame.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the rows of the table, the rule and the notes."""
        rows = []
        for rec in self.frame.to_dict(orient="records"):
            rows.append(
                {key: (json_float(v) if isinstance(v, float) else v) for key, v in rec.items()}
            )
        return {
            "studies": list(self.studies),
            "domains": list(self.domains),
            "threshold": self.threshold,
            "size_breaks": list(self.size_breaks),
            "rows": rows,
            "notes": list(self.notes),
        }

    def plot_data(self) -> dict[str, Any]:
        """Data for an effect-direction plot: rows (studies), columns (domains), cells.

        Each cell has ``row`` and ``column`` indices, the ``symbol`` (▲, ▼, ◄►), a
        matplotlib ``marker`` (``"^"``, ``"v"``, ``"D"``), the ``size_class`` and a
        relative ``marker_size`` (1, 2, 3 for small, medium, large; 1 when unknown).
        """
        markers = {BENEFIT: "^", HARM: "v", NONE: "D"}
        sizes = {"small": 1, "medium": 2, "large": 3, "unknown": 1}
        row_of = {s: i for i, s in enumerate(self.studies)}
        col_of = {d: j for j, d in enumerate(self.domains)}
        cells = []
        for rec in self.frame.to_dict(orient="records"):
            code = int(rec["direction"])
            cells.append(
                {
                    "study": rec["study"],
                    "domain": rec["domain"],
                    "row": row_of[rec["study"]],
                    "column": col_of[rec["domain"]],
                    "direction": code,
                    "symbol": DIRECTION_SYMBOLS[code],
                    "marker": markers[code],
                    "size_class": rec["size_class"],
                    "marker_size": sizes[rec["size_class"]],
                    "n_outcomes": int(rec["n_outcomes"]),
                }
            )
        first = self.frame.drop_duplicates("study").set_index("study")
        return {
            "studies": list(self.studies),
            "domains": list(self.domains),
            "cells": cells,
            "design": {s: first.at[s, "design"] for s in self.studies},
            "legend": {
                "▲": "benefit",
                "▼": "harm",
                "◄►": "no change, mixed or conflicting",
                "size": (
                    f"small n < {self.size_breaks[0]:g}, medium {self.size_breaks[0]:g}-"
                    f"{self.size_breaks[1]:g}, large n > {self.size_breaks[1]:g}"
                ),
            },
        }

    def sign_test(self, domain: str, *, level: float = 0.95) -> SignTestResult:
        """Sign test across studies on one domain's directions (Boon & Thomson 2021)."""
        domain = check_choice("domain", domain, self.domains)
        part = self.frame[self.frame["domain"] == domain]
        return sign_test(part["direction"].to_numpy(), study=part["study"], level=level)

    def summary(self) -> str:
        """Text grid of symbols: studies as rows, domains as columns."""
        grid = {
            (str(s), str(d)): str(sym)
            for s, d, sym in zip(
                self.frame["study"], self.frame["domain"], self.frame["symbol"], strict=True
            )
        }
        width = max(len(s) for s in self.studies)
        header = " " * width + "  " + "  ".join(self.domains)
        lines = ["Effect direction (▲ benefit, ▼ harm, ◄► no change/mixed)", "", header]
        for s in self.studies:
            cells = [grid.get((s, d), "").center(len(d)) for d in self.domains]
            lines.append(s.ljust(width) + "  " + "  ".join(cells))
        lines.append("")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def effect_direction(
    table: Any,
    *,
    study: str = "study",
    domain: str = "domain",
    direction: str = "direction",
    n: str = "n",
    design: str = "design",
    risk_of_bias: str = "risk_of_bias",
    threshold: float = DOMAIN_THRESHOLD,
    size_breaks: tuple[float, float] = SIZE_BREAKS,
) -> EffectDirectionResult:
    """Summarise directions of effect per study and outcome domain (effect-direction plot).

    Parameters
    ----------
    table : DataFrame or list of dict
        One row per study and outcome, with columns ``study``, ``domain`` and
        ``direction`` (+1/``"benefit"``, -1/``"harm"``, 0/``"none"``: the direction of
        the point estimate, whatever its statistical significance), and optionally ``n``
        (sample size), ``design`` and ``risk_of_bias``, constant within a study.
    study, domain, direction, n, design, risk_of_bias : str
        Column names.
    threshold : float
        Share of a domain's outcomes that must point the same way (default 0.70).
    size_breaks : (float, float)
        Sample-size class limits: small below the first, large above the second.

    Returns
    -------
    EffectDirectionResult

    Raises
    ------
    InputError
        Missing columns, unknown directions, sample sizes that are not positive, a study
        with more than one design or sample size.

    Notes
    -----
    Within a study and domain with ``m`` outcomes of which ``m+`` show benefit and
    ``m-`` harm: the domain is ▲ if ``m+/m >= threshold``, ▼ if ``m-/m >= threshold``,
    otherwise ◄► (no change, mixed or conflicting). With one outcome the domain takes
    its direction. This is Thomson & Thomas's rule as revised by Boon & Thomson (2021),
    who removed statistical significance from it. Arrow size shows the sample size
    (Thomson & Thomas: small < 50, medium 50-300, large > 300).

    References
    ----------
    Thomson HJ, Thomas S (2013). The effect direction plot: visual display of
    non-standardised effects across multiple outcome domains. Res Synth Methods
    4:95-101. doi:10.1002/jrsm.1060

    Boon MH, Thomson H (2021). The effect direction plot revisited: application of the
    2019 Cochrane Handbook guidance on alternative synthesis methods. Res Synth Methods
    12:29-33. doi:10.1002/jrsm.1458

    Examples
    --------
    >>> from alsmeta.synthesis import effect_direction
    >>> rows = [
    ...     {"study": "A", "domain": "function", "direction": "benefit", "n": 64},
    ...     {"study": "A", "domain": "function", "direction": "benefit", "n": 64},
    ...     {"study": "A", "domain": "function", "direction": "harm", "n": 64},
    ...     {"study": "B", "domain": "function", "direction": "benefit", "n": 20},
    ... ]
    >>> ed = effect_direction(rows)
    >>> ed.frame[["study", "share", "symbol", "size_class"]].values.tolist()
    [['A', 0.666..., '◄►', 'medium'], ['B', 1.0, '▲', 'small']]
    """
    frame = _frame_from(table)
    problems: list[Problem] = []
    if not 0.5 < float(threshold) <= 1:
        problems.append(Problem(f"threshold={threshold!r} must lie in (0.5, 1]"))
    if len(size_breaks) != 2 or not 0 < size_breaks[0] <= size_breaks[1]:
        problems.append(Problem(f"size_breaks={size_breaks!r} must be two increasing numbers"))
    for col in (study, domain, direction):
        if col not in frame.columns:
            problems.append(
                Problem(
                    f"column {col!r} is missing; available: "
                    f"{', '.join(map(repr, map(str, frame.columns))) or 'none'}",
                    column=col,
                )
            )
    if problems:
        raise InputError(problems)
    if frame.empty:
        raise InputError(Problem("the table has no rows"))

    labels = [str(s) for s in frame[study]]
    codes = np.zeros(len(frame), dtype=int)
    for i, (label, value) in enumerate(zip(labels, frame[direction], strict=True)):
        code = parse_direction(value)
        if code is None:
            problems.append(
                Problem(
                    f"direction {value!r} is not valid; use benefit, harm or none",
                    row=i + 1, study=label, column=direction,
                )
            )  # fmt: skip
        else:
            codes[i] = code
        if _missing(frame[domain].iloc[i]):
            problems.append(Problem("domain is missing", row=i + 1, study=label, column=domain))

    sizes = np.full(len(frame), np.nan)
    if n in frame.columns:
        raw = pd.to_numeric(frame[n], errors="coerce").to_numpy(dtype=float)
        for i, (value, x) in enumerate(zip(frame[n], raw, strict=True)):
            if _missing(value):
                continue
            if not math.isfinite(x) or x <= 0:
                problems.append(
                    Problem("sample size must be a number > 0", row=i + 1, study=labels[i],
                            column=n)
                )  # fmt: skip
            else:
                sizes[i] = x
    per_study: dict[str, dict[str, Any]] = {}
    for i, label in enumerate(labels):
        info = per_study.setdefault(label, {"n": set(), "design": set(), "rob": set()})
        if not math.isnan(sizes[i]):
            info["n"].add(float(sizes[i]))
        for col, key in ((design, "design"), (risk_of_bias, "rob")):
            if col in frame.columns and not _missing(frame[col].iloc[i]):
                info[key].add(str(frame[col].iloc[i]))
    for label, info in per_study.items():
        for key, col in (("n", n), ("design", design), ("rob", risk_of_bias)):
            if len(info[key]) > 1:
                values = ", ".join(map(str, sorted(info[key])))
                problems.append(
                    Problem(f"one study must have one value, found {values}", study=label,
                            column=col)
                )  # fmt: skip
    if problems:
        raise InputError(problems)

    work = pd.DataFrame({"study": labels, "domain": frame[domain].astype(str), "code": codes})
    studies = tuple(dict.fromkeys(labels))
    domains = tuple(dict.fromkeys(work["domain"]))
    rows = []
    for (s, d), part in work.groupby(["study", "domain"], sort=False):
        m = len(part)
        plus = int((part["code"] == BENEFIT).sum())
        minus = int((part["code"] == HARM).sum())
        # A tiny tolerance so that 7 of 10 outcomes meets a 70 % threshold exactly.
        if plus / m >= threshold - 1e-12:
            code, share = BENEFIT, plus / m
        elif minus / m >= threshold - 1e-12:
            code, share = HARM, minus / m
        else:
            code, share = NONE, max(plus, minus, m - plus - minus) / m
        info = per_study[str(s)]
        size = next(iter(info["n"])) if info["n"] else math.nan
        row: dict[str, Any] = {
            "study": s,
            "domain": d,
            "n_outcomes": m,
            "n_benefit": plus,
            "n_harm": minus,
            "n_no_effect": m - plus - minus,
            "share": share,
            "direction": code,
            "label": DIRECTION_LABELS[code],
            "symbol": DIRECTION_SYMBOLS[code],
            "n": size,
            "size_class": _size_class(size, size_breaks),
            "design": next(iter(info["design"])) if info["design"] else None,
        }
        if risk_of_bias in frame.columns:
            row["risk_of_bias"] = next(iter(info["rob"])) if info["rob"] else None
        rows.append(row)
    out = pd.DataFrame(rows)
    notes = [
        f"a domain takes a direction when at least {threshold:.0%} of its outcomes point "
        "that way, otherwise it is ◄► (no change, mixed or conflicting); directions come "
        "from point estimates, not from statistical significance",
        "an effect-direction plot shows which way results point; it says nothing about "
        "how large the effects are, and a row of ▲ from small, biased studies is weak "
        "evidence",
    ]
    if out["size_class"].eq("unknown").any():
        notes.append("some studies have no sample size; their size class is 'unknown'")
    return EffectDirectionResult(
        table=frame.copy(),
        frame=out,
        studies=studies,
        domains=domains,
        threshold=float(threshold),
        size_breaks=(float(size_breaks[0]), float(size_breaks[1])),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ p-value combination
def _check_p(
    p: Any, labels: Sequence[str] | None, problems: list[Problem], column: str = "p"
) -> np.ndarray:
    raw = list(np.asarray(p, dtype=object).ravel())
    labels = labels or [str(i + 1) for i in range(len(raw))]
    out = np.full(len(raw), np.nan)
    for i, value in enumerate(raw):
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x) or not 0 < x <= 1:
            hint = (
                "; a reported 'p < 0.001' can be entered as 0.001 (conservative)" if x == 0 else ""
            )
            problems.append(
                Problem(f"p-value {value!r} must lie in (0, 1]{hint}", row=i + 1,
                        study=labels[i] if i < len(labels) else None, column=column)
            )  # fmt: skip
        else:
            out[i] = x
    return out


def _labelled_p_values(
    p: Any, study: Any, problems: list[Problem]
) -> tuple[int, tuple[str, ...], np.ndarray]:
    """The number of p-values, their study labels and the checked values; no p-values
    at all is an error at once, as nothing else can be checked."""
    k = int(np.asarray(p, dtype=object).size)
    if k == 0:
        raise InputError(Problem("p has no values"))
    labels = study_labels(study, k, problems)
    return k, labels, _check_p(p, labels, problems)


def _one_sided(
    p: np.ndarray, codes: np.ndarray | None, two_sided: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values for benefit, their log and the z-values, computed stably."""
    if not two_sided or codes is None:
        return p.copy(), np.log(p), stats.norm.isf(p)
    half = p / 2
    benefit = codes == BENEFIT
    p1 = np.where(benefit, half, 1 - half)
    # log(1 - p2/2) and isf(1 - p2/2) = -isf(p2/2) without cancellation.
    log_p1 = np.where(benefit, np.log(half), np.log1p(-half))
    z = np.where(benefit, 1.0, -1.0) * stats.norm.isf(half)
    return p1, log_p1, z


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CombinedPValueResult:
    """Combined one-sided p-value for benefit (Stouffer or Fisher).

    ``p_value`` tests the global null (no effect in any study) against benefit in at
    least one study (Fisher) or on average (Stouffer); ``p_value_harm`` is the same
    with every one-sided p-value taken towards harm. ``statistic`` is Stouffer's Z or
    Fisher's X^2 (with ``df``). Per study: ``p_one_sided``, ``z`` and ``weights``.
    """

    study: tuple[str, ...]
    p: np.ndarray
    directions: np.ndarray | None
    two_sided: bool
    method: str
    p_one_sided: np.ndarray
    z: np.ndarray
    weights: np.ndarray
    k: int
    statistic: float
    df: float
    p_value: float
    p_value_harm: float
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the test and the notes."""
        return {
            "method": self.method,
            "k": self.k,
            "two_sided": self.two_sided,
            "statistic": json_float(self.statistic),
            "df": json_float(self.df),
            "p_value": json_float(self.p_value),
            "p_value_harm": json_float(self.p_value_harm),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Per study: ``study``, ``p_value`` (as given), ``direction``, ``p_one_sided``,
        ``z``, ``weight``."""
        directions = (
            [None] * self.k
            if self.directions is None
            else [DIRECTION_LABELS[int(d)] for d in self.directions]
        )
        return pd.DataFrame(
            {
                "study": list(self.study),
                "p_value": self.p,
                "direction": directions,
                "p_one_sided": self.p_one_sided,
                "z": self.z,
                "weight": self.weights,
            }
        )

    def summary(self) -> str:
        """Plain-text report of the combined test and what it means."""
        name = "Stouffer (weighted Z)" if self.method == "stouffer" else "Fisher"
        stat = (
            f"Z = {fmt(self.statistic)}"
            if self.method == "stouffer"
            else f"X^2({self.df:g}) = {fmt(self.statistic)}"
        )
        lines = [
            f"Combined p-value, {name} method, k = {self.k}",
            "",
            f"{stat}, one-sided p-value for benefit = {fmt(self.p_value)} "
            f"(towards harm: {fmt(self.p_value_harm)})",
            "",
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _combine(method: str, z: np.ndarray, log_p: np.ndarray, w: np.ndarray) -> tuple[float, ...]:
    if method == "stouffer":
        statistic = float(np.sum(w * z) / math.sqrt(float(np.sum(w * w))))
        return statistic, math.nan, float(stats.norm.sf(statistic))
    statistic = float(-2.0 * np.sum(log_p))
    df = 2.0 * z.size
    return statistic, df, float(stats.chi2.sf(statistic, df))


def combine_p_values(
    p: Any,
    *,
    directions: Any = None,
    two_sided: bool = True,
    weights: Any = None,
    n: Any = None,
    method: str = "stouffer",
    study: Any = None,
) -> CombinedPValueResult:
    """Combine p-values from independent studies into one test of benefit.

    Parameters
    ----------
    p : array-like of float
        One p-value per study, in (0, 1].
    directions : array-like, optional
        Direction of each study's estimate (+1/``"benefit"``, -1/``"harm"``); needed
        when ``two_sided=True``, to turn a two-sided p-value into a one-sided one.
    two_sided : bool
        ``True`` (default): ``p`` are two-sided; ``False``: ``p`` are already one-sided
        p-values for benefit (small = benefit) and ``directions`` must not be given.
    weights : array-like, optional
        Stouffer weights (e.g. inverse standard errors). Not with ``n``, not for Fisher.
    n : array-like, optional
        Sample sizes; Stouffer weights become ``sqrt(n)``.
    method : {"stouffer", "fisher"}
        Weighted Z (default) or Fisher's sum of logs.
    study : array-like of str, optional
        Study labels.

    Returns
    -------
    CombinedPValueResult

    Raises
    ------
    InputError
        p-values outside (0, 1], missing or unknown directions, a study with no clear
        direction and a two-sided p-value, weights with Fisher, bad weights or lengths.

    Notes
    -----
    A two-sided p-value ``p2`` becomes the one-sided p-value for benefit
    ``p1 = p2 / 2`` when the estimate favours benefit and ``p1 = 1 - p2 / 2`` when it
    favours harm. With ``z_i = Phi^-1(1 - p1_i)``, Stouffer's statistic is
    ``Z = sum(w_i z_i) / sqrt(sum(w_i^2))`` and the combined p-value ``1 - Phi(Z)``
    (equal weights by default, ``w_i = sqrt(n_i)`` with ``n``); Fisher's is
    ``X^2 = -2 sum(log p1_i)`` on ``2k`` degrees of freedom. They match
    ``scipy.stats.combine_pvalues(p1, method=, weights=)``. The null is that no study
    has any effect. A small combined p-value says that at least one study (Fisher) or
    the studies on balance (Stouffer) point to benefit beyond chance; it does not
    estimate the size of the effect, does not say every study benefits, and inherits
    every bias of the studies. Fisher's method can give small p-values for benefit and
    for harm at once when studies conflict.

    References
    ----------
    Stouffer SA, Suchman EA, DeVinney LC, et al. (1949). The American Soldier, vol 1.
    Princeton University Press.

    Fisher RA (1932). Statistical Methods for Research Workers, 4th ed. Oliver & Boyd.

    McKenzie JE, Brennan SE (2023). Cochrane Handbook, chapter 12.4.2.2.
    doi:10.1002/9781119536604.ch12

    Examples
    --------
    >>> from alsmeta.synthesis import combine_p_values
    >>> res = combine_p_values([0.04, 0.20, 0.50], directions=["benefit", "benefit", "harm"])
    >>> res.p_one_sided.round(2).tolist()
    [0.02, 0.1, 0.75]
    >>> round(res.statistic, 4), round(res.p_value, 4)
    (1.5362, 0.0622)
    """
    method = check_choice("method", method, COMBINE_METHODS)
    problems: list[Problem] = []
    k, labels, values = _labelled_p_values(p, study, problems)
    codes: np.ndarray | None = None
    if two_sided:
        if directions is None:
            problems.append(
                Problem(
                    "two-sided p-values need directions= (benefit or harm for each study) "
                    "to become one-sided; or pass two_sided=False for one-sided p-values"
                )
            )
        else:
            raw = list(np.asarray(directions, dtype=object).ravel())
            if len(raw) != k:
                problems.append(Problem(f"directions has {len(raw)} values for {k} p-values"))
            else:
                codes = parse_directions(raw, labels, problems)
                for i in np.flatnonzero(codes == NONE):
                    if not any(pr.row == i + 1 for pr in problems):
                        problems.append(
                            Problem(
                                "a two-sided p-value needs a direction (benefit or harm) to "
                                "become one-sided; 'no clear direction' cannot be used",
                                row=int(i) + 1, study=labels[i], column="directions",
                            )
                        )  # fmt: skip
    elif directions is not None:
        problems.append(
            Problem(
                "directions are only used to convert two-sided p-values; with "
                "two_sided=False give one-sided p-values for benefit"
            )
        )
    w = np.ones(k)
    if weights is not None and n is not None:
        problems.append(Problem("give weights= or n=, not both"))
    elif weights is not None or n is not None:
        name = "weights" if weights is not None else "n"
        given = np.asarray(weights if weights is not None else n, dtype=float).ravel()
        if method == "fisher":
            problems.append(
                Problem(f"{name}= is for Stouffer's method; Fisher's method is unweighted")
            )
        elif given.size != k:
            problems.append(Problem(f"{name} has {given.size} values for {k} p-values"))
        else:
            for i in np.flatnonzero(~np.isfinite(given) | (given <= 0)):
                problems.append(
                    Problem(f"{name} must be a finite number > 0", row=int(i) + 1,
                            study=labels[i], column=name)
                )  # fmt: skip
            w = np.sqrt(given) if name == "n" else given
    if problems:
        raise InputError(problems)

    p1, log_p1, z = _one_sided(values, codes, two_sided)
    statistic, df, p_benefit = _combine(method, z, log_p1, w)
    # Towards harm: every one-sided p-value is replaced by 1 - p1.
    log_q1 = np.log(-np.expm1(log_p1)) if method == "fisher" else log_p1
    _, _, p_harm = _combine(method, -z, log_q1, w)

    weighting = (
        "sqrt(n)" if n is not None else ("given weights" if weights is not None else "equal")
    )
    notes = [
        "null hypothesis: no effect in any study. "
        + (
            "Fisher's method: a small p-value means at least one study shows benefit beyond chance"
            if method == "fisher"
            else f"Stouffer's method ({weighting} weights): a small p-value means the "
            "studies on balance point to benefit beyond chance"
        ),
        "a combined p-value says nothing about how large the effect is, nor that every "
        "study (or any particular patient group) benefits, nor that the benefit is "
        "clinically important; it inherits every bias of the studies",
    ]
    if two_sided:
        notes.append(
            "two-sided p-values were made one-sided for benefit: p/2 when the estimate "
            "favours benefit, 1 - p/2 when it favours harm"
        )
    if method == "fisher" and p_benefit < 0.05 and p_harm < 0.05:
        notes.append(
            "Fisher's method is small towards benefit and towards harm at once: the "
            "studies conflict"
        )
    if k < 3:
        notes.append(f"k = {k}: a combination of so few p-values adds little")
    return CombinedPValueResult(
        study=labels,
        p=readonly(values),
        directions=None if codes is None else readonly(codes, int),
        two_sided=bool(two_sided),
        method=method,
        p_one_sided=readonly(p1),
        z=readonly(z),
        weights=readonly(w),
        k=k,
        statistic=statistic,
        df=df,
        p_value=p_benefit,
        p_value_harm=p_harm,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ albatross plot
def _p_to_x(p2: np.ndarray, sign: np.ndarray) -> np.ndarray:
    return sign * -np.log10(p2)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AlbatrossData:
    """Data for an albatross plot (Harrison et al. 2017).

    ``frame``: per study ``study``, ``n``, ``direction``, ``p_value`` (two-sided),
    ``p_one_sided`` (for benefit), ``z`` (signed) and ``x`` (the plot position,
    ``sign * -log10(p_two_sided)``: 0 at p = 1 in the centre, benefit to the right).
    ``contours``: ``effect``, ``n``, ``z``, ``x`` along each effect-size contour (both
    signs of each size). ``ticks``: x positions and their p-value labels.
    """

    frame: pd.DataFrame
    contours: pd.DataFrame
    ticks: tuple[tuple[float, str], ...]
    measure: str
    effect_contours: tuple[float, ...]
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """A copy of the per-study points."""
        return self.frame.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: points, contours, ticks and notes."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {str(k): json_float(v) if isinstance(v, float) else v for k, v in r.items()}
                for r in df.to_dict(orient="records")
            ]

        return {
            "measure": self.measure,
            "effect_contours": list(self.effect_contours),
            "points": records(self.frame),
            "contours": records(self.contours),
            "ticks": [[x, label] for x, label in self.ticks],
            "notes": list(self.notes),
        }

    def plot_data(self) -> dict[str, Any]:
        """Points (x, y = n), one line per contour and the p-value ticks of the x axis."""
        lines = [
            {
                "effect": float(part["effect"].iloc[0]),
                "x": part["x"].tolist(),
                "y": part["n"].tolist(),
            }
            for _, part in self.contours.groupby("effect", sort=True)
        ]
        return {
            "points": {
                "study": self.frame["study"].tolist(),
                "x": self.frame["x"].tolist(),
                "y": self.frame["n"].tolist(),
            },
            "contours": lines,
            "xticks": [x for x, _ in self.ticks],
            "xticklabels": [label for _, label in self.ticks],
            "xlabel": "two-sided p-value (harm to the left, benefit to the right)",
            "ylabel": "number of participants",
            "yscale": "log",
        }

    def summary(self) -> str:
        """A short text listing of the points and the notes."""
        lines = [f"Albatross plot data ({self.measure} contours {self.effect_contours})", ""]
        f = self.frame
        for s, n, p, d in zip(f["study"], f["n"], f["p_value"], f["direction"], strict=True):
            lines.append(f"{s}: n = {float(n):g}, p = {float(p):.4g} ({d})")
        lines.append("")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _contour_z(effect: float, n: np.ndarray, measure: str, ratio: float, sd: float) -> np.ndarray:
    if measure == "COR":
        return math.atanh(effect) * np.sqrt(np.maximum(n - 3, 0.0))
    d = effect / sd if measure == "MD" else effect
    return d * math.sqrt(ratio) * np.sqrt(n) / (1 + ratio)


def albatross_data(
    p: Any,
    n: Any,
    directions: Any,
    *,
    effect_contours: Sequence[float] = (0.25, 0.5, 1.0),
    measure: str = "SMD",
    two_sided: bool = True,
    ratio: float = 1.0,
    sd: float | None = None,
    study: Any = None,
    grid_size: int = 100,
) -> AlbatrossData:
    """Compute the points and effect-size contours of an albatross plot.

    Parameters
    ----------
    p : array-like of float
        p-values in (0, 1], two-sided (default) or one-sided for benefit.
    n : array-like of float
        Total number of participants per study.
    directions : array-like
        Direction of each study's estimate (+1/``"benefit"``, -1/``"harm"``). With
        ``two_sided=False`` the direction follows from the one-sided p-value (below 0.5
        benefit) and these values are only checked for validity.
    effect_contours : sequence of float
        Effect sizes (positive magnitudes) to draw as contours, on both sides.
    measure : {"SMD", "MD", "COR"}
        Scale of the contours; ``"MD"`` needs ``sd``.
    two_sided : bool
        Whether ``p`` is two-sided.
    ratio : float
        Allocation ratio of the two groups (SMD and MD contours).
    sd : float, optional
        Common standard deviation for ``"MD"`` contours.
    study : array-like of str, optional
        Study labels.
    grid_size : int
        Number of sample sizes along each contour (log-spaced between the smallest and
        largest n, widened by a factor 2).

    Returns
    -------
    AlbatrossData

    Raises
    ------
    InputError
        Bad p-values, sample sizes or directions; a missing ``sd`` for ``"MD"``.

    Notes
    -----
    Each study is placed at ``x = s * -log10(p2)`` (``s`` = +1 for benefit, -1 for harm,
    ``p2`` the two-sided p-value, ``2 min(p1, 1 - p1)`` from a one-sided ``p1``) and
    ``y = n``. A contour for effect ``d`` joins the points where a study of size ``N``
    with true effect ``d`` would be expected to land: ``z = d sqrt(r N) / (1 + r)`` for
    an SMD with allocation ratio ``r`` (the large-sample standard error
    ``(1 + r)/sqrt(r N)``), ``d = MD / sd`` for a mean difference, and
    ``z = atanh(rho) sqrt(N - 3)`` for a correlation (Harrison et al. 2017, Table 1);
    then ``p2 = 2 (1 - Phi(|z|))``.

    References
    ----------
    Harrison S, Jones HE, Martin RM, Lewis SJ, Higgins JPT (2017). The albatross plot: a
    novel graphical tool for presenting results of diversely reported studies in a
    systematic review. Res Synth Methods 8:281-289. doi:10.1002/jrsm.1239

    Examples
    --------
    >>> from alsmeta.synthesis import albatross_data
    >>> alb = albatross_data([0.01, 0.5], [100, 40], ["benefit", "harm"])
    >>> alb.frame["x"].round(3).tolist()
    [2.0, -0.301]
    """
    measure = check_choice("measure", measure, ALBATROSS_MEASURES)
    problems: list[Problem] = []
    k, labels, values = _labelled_p_values(p, study, problems)
    sizes = np.asarray(n, dtype=float).ravel()
    if sizes.size != k:
        problems.append(Problem(f"n has {sizes.size} values for {k} p-values"))
    else:
        for i in np.flatnonzero(~np.isfinite(sizes) | (sizes <= 0)):
            problems.append(
                Problem("sample size must be a number > 0", row=int(i) + 1, study=labels[i],
                        column="n")
            )  # fmt: skip
    raw = list(np.asarray(directions, dtype=object).ravel())
    codes = np.zeros(k, dtype=int)
    if len(raw) != k:
        problems.append(Problem(f"directions has {len(raw)} values for {k} p-values"))
    else:
        codes = parse_directions(raw, labels, problems)
        if two_sided:
            for i in np.flatnonzero(codes == NONE):
                problems.append(
                    Problem("a two-sided p-value needs a direction (benefit or harm)",
                            row=int(i) + 1, study=labels[i], column="directions")
                )  # fmt: skip
    effects = tuple(float(e) for e in effect_contours)
    if any(not math.isfinite(e) or e <= 0 for e in effects):
        problems.append(Problem("effect_contours must be positive magnitudes"))
    if measure == "COR" and any(e >= 1 for e in effects):
        problems.append(Problem("correlation contours must lie in (0, 1)"))
    if measure == "MD" and (sd is None or not sd > 0):
        problems.append(Problem("measure='MD' needs sd= (a common standard deviation > 0)"))
    if not ratio > 0:
        problems.append(Problem(f"ratio={ratio!r} must be > 0"))
    if problems:
        raise InputError(problems)

    if two_sided:
        p2 = values
        p1, _, z = _one_sided(values, codes, True)
        sign = np.where(codes == HARM, -1.0, 1.0)
    else:
        p1 = values
        z = stats.norm.isf(values)
        p2 = np.minimum(1.0, 2 * np.minimum(values, 1 - values))
        sign = np.where(values > 0.5, -1.0, 1.0)
        codes = np.where(values < 0.5, BENEFIT, np.where(values > 0.5, HARM, NONE))
    frame = pd.DataFrame(
        {
            "study": list(labels),
            "n": sizes,
            "direction": [DIRECTION_LABELS[int(c)] for c in codes],
            "p_value": p2,
            "p_one_sided": p1,
            "z": z,
            "x": _p_to_x(p2, sign),
        }
    )
    grid = np.geomspace(max(sizes.min() / 2, 4.0), sizes.max() * 2, int(grid_size))
    parts = []
    for e in effects:
        for s in (1.0, -1.0):
            cz = s * _contour_z(e, grid, measure, ratio, float(sd or 1.0))
            cp2 = 2 * stats.norm.sf(np.abs(cz))
            parts.append(
                pd.DataFrame({"effect": s * e, "n": grid, "z": cz, "x": _p_to_x(cp2, np.sign(cz))})
            )
    contours = pd.concat(parts, ignore_index=True)
    tick_p = (1e-4, 1e-3, 0.01, 0.05)
    ticks = tuple(
        [(math.log10(q), f"{q:g}") for q in tick_p]
        + [(0.0, "1")]
        + [(-math.log10(q), f"{q:g}") for q in reversed(tick_p)]
    )
    notes = [
        "an albatross plot suggests the size of the effect only roughly: it assumes the "
        f"simple design behind the {measure} contours, and a study's position reflects its "
        "p-value, which depends on the analysis it used",
        "points near one contour suggest similar effects; a spread across contours "
        "suggests heterogeneity; the plot is not a pooled estimate",
    ]
    return AlbatrossData(
        frame=frame,
        contours=contours,
        ticks=ticks,
        measure=measure,
        effect_contours=effects,
        notes=tuple(notes),
    )
