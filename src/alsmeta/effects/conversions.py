"""Conversions from the statistics trials report to what a meta-analysis needs.

Published ALS trials report their results in every form: per-arm means and SDs, least
squares means with standard errors from a mixed model, a mean difference with a
confidence interval, a p-value alone, medians with quartiles or ranges, slopes per month,
responder counts. Each function here turns one such form into another and returns a
:class:`Conversion` that records, next to the numbers, the method used, every assumption
made (as plain sentences) and the reference, so that the row of an effect-size table can
say how it was obtained.

All functions validate their input at the boundary and raise one
:class:`~alsmeta.errors.InputError` that lists every problem found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from alsmeta.errors import InputError, Problem, check_choice, check_level

__all__ = [
    "HANDBOOK_SMALL_SAMPLE",
    "Conversion",
    "change_from_slope",
    "change_sd",
    "log_odds_ratio_from_counts",
    "log_odds_ratio_from_percentages",
    "log_risk_ratio_from_counts",
    "log_risk_ratio_from_percentages",
    "mean_difference",
    "mean_sd_from_ls_mean",
    "mean_sd_from_quantiles",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
]

#: Group size below which the Cochrane Handbook (6.5.2.2, 6.5.2.3) says a confidence
#: interval "should have been calculated using a value from a t distribution".
HANDBOOK_SMALL_SAMPLE = 60

_HANDBOOK = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions, "
    "version 6.4 (2023), sections 6.5.2.2 and 6.5.2.3."
)
_HANDBOOK_P = (
    "Cochrane Handbook for Systematic Reviews of Interventions, version 6.4 (2023), "
    "section 6.3.2 (obtaining standard errors from confidence intervals and P values); "
    "Altman DG, Bland JM. How to obtain the confidence interval from a P value. BMJ "
    "2011;343:d2090, doi:10.1136/bmj.d2090."
)
_WAN = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from "
    "the sample size, median, range and/or interquartile range. BMC Med Res Methodol "
    "2014;14:135, doi:10.1186/1471-2288-14-135."
)
_LUO = (
    "Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, "
    "median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27(6):1785-1805, "
    "doi:10.1177/0962280216669183."
)
_SHI = (
    "Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard deviation from "
    "the five-number summary. Res Synth Methods 2020;11(5):641-654, doi:10.1002/jrsm.1429."
)
_METAFOR_MD = (
    "Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw "
    "2010;36(3):1-48, doi:10.18637/jss.v036.i03; escalc(measure='MD', vtype='LS')."
)
_METAFOR_2X2 = (
    "Viechtbauer W. J Stat Softw 2010;36(3), doi:10.18637/jss.v036.i03; "
    "escalc(measure='OR'|'RR') without zero-cell correction unless a cell is 0 "
    "(then add=1/2 to all four cells, metafor's to='only0')."
)
_FOLLMANN = (
    "Follmann D, Elliott P, Suh I, Cutler J. Variance imputation for overviews of clinical "
    "trials with continuous response. J Clin Epidemiol 1992;45(7):769-773, "
    "doi:10.1016/0895-4356(92)90054-Q; Cochrane Handbook 6.5.2.8."
)

QUANTILE_METHODS: tuple[str, ...] = ("luo_shi", "wan")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Conversion:
    """The result of one conversion: the numbers and how they were obtained.

    Parameters
    ----------
    values : Mapping[str, float]
        The converted quantities, e.g. ``{"se": 1.07}`` or ``{"mean": 5.1, "sd": 2.0}``.
    method : str
        A short identifier of the method (``"se_from_ci_t"``, ``"luo_shi_s3"``, ...).
    assumptions : tuple of str
        Every assumption the conversion rests on, as plain sentences.
    reference : str
        The citation (with DOI) of the method.

    Examples
    --------
    >>> from alsmeta.effects import sd_from_se
    >>> conv = sd_from_se(0.5, 16)
    >>> conv.values["sd"], conv.method
    (2.0, 'sd_from_se')
    >>> sorted(conv.to_dict())
    ['assumptions', 'method', 'reference', 'values']
    """

    values: Mapping[str, float]
    method: str
    assumptions: tuple[str, ...] = field(default=())
    reference: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (non-finite numbers become ``None``).

        Examples
        --------
        >>> from alsmeta.effects import sd_from_se
        >>> sd_from_se(0.5, 16).to_dict()["values"]
        {'sd': 2.0}
        """
        return {
            "values": {
                k: (float(v) if math.isfinite(float(v)) else None) for k, v in self.values.items()
            },
            "method": self.method,
            "assumptions": list(self.assumptions),
            "reference": self.reference,
        }


# ---------------------------------------------------------------------- validation helpers
def _number(name: str, value: Any, problems: list[Problem]) -> float:
    if isinstance(value, bool):
        problems.append(Problem(f"{name}={value!r} is not a number", column=name))
        return math.nan
    try:
        x = float(value)
    except (TypeError, ValueError):
        problems.append(Problem(f"{name}={value!r} is not a number", column=name))
        return math.nan
    if not math.isfinite(x):
        problems.append(Problem(f"{name}={value!r} must be finite", column=name))
    return x


def _positive(name: str, value: Any, problems: list[Problem], *, strict: bool = True) -> float:
    x = _number(name, value, problems)
    if math.isfinite(x) and (x <= 0 if strict else x < 0):
        bound = "> 0" if strict else ">= 0"
        problems.append(Problem(f"{name} must be {bound} (got {x:g})", column=name))
    return x


def _count(name: str, value: Any, problems: list[Problem], *, minimum: int = 1) -> float:
    x = _number(name, value, problems)
    if math.isfinite(x) and (x < minimum or not float(x).is_integer()):
        problems.append(
            Problem(f"{name} must be a whole number >= {minimum} (got {x:g})", column=name)
        )
    return x


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)


def _t_or_z_quantile(prob: float, df: float | None) -> float:
    from scipy import stats

    if df is None:
        return float(stats.norm.ppf(prob))
    return float(stats.t.ppf(prob, df))


# ---------------------------------------------------------------------- CI and p to SE
def se_from_ci(
    lower: float,
    upper: float,
    *,
    level: float = 0.95,
    n: int | tuple[int, int] | None = None,
    df: float | None = None,
) -> Conversion:
    r"""Return the standard error implied by a symmetric confidence interval.

    Parameters
    ----------
    lower, upper : float
        The confidence limits, on the scale where the interval is symmetric (take logs of
        ratio measures first).
    level : float, default 0.95
        Confidence level as a proportion.
    n : int or (int, int), optional
        Group size(s): one size for the CI of a single mean (df = n - 1), two for the CI
        of a difference between two groups (df = n1 + n2 - 2).
    df : float, optional
        Degrees of freedom of the t distribution the interval was built with; overrides
        ``n``.

    Returns
    -------
    Conversion
        ``values = {"se": ..., "quantile": ...}`` plus ``"df"`` when a t quantile was used.
        ``method`` is ``"se_from_ci_t"`` or ``"se_from_ci_z"``.

    Raises
    ------
    InputError
        If a limit is not a finite number, ``lower > upper``, the level is not in (0, 1),
        a group size is below 2 or ``df <= 0``.

    Notes
    -----
    :math:`SE = (upper - lower) / (2 q)` where :math:`q` is the :math:`(1 + level)/2`
    quantile. The rule follows the Cochrane Handbook, sections 6.5.2.2 (one group) and
    6.5.2.3 (difference of two groups): "if the sample size is small (say less than 60
    participants in each group) then confidence intervals should have been calculated
    using a value from a t distribution", with n - 1 degrees of freedom for one group and
    n1 + n2 - 2 for two; otherwise the normal quantile (1.96 for 95 %) is used. Here: an
    explicit ``df`` always gives t; sizes all below 60 give t with the Handbook's df;
    anything else (no size, or a group of 60 or more) gives z.

    References
    ----------
    Cochrane Handbook for Systematic Reviews of Interventions, version 6.4, 6.5.2.2-6.5.2.3.

    Examples
    --------
    Oh et al. 2018 (Ann Neurol 84:361), Table 3, 6-month ALSFRS-R change, MD 95 % CI
    1.23 to 5.54 with 31 and 25 participants:

    >>> from alsmeta.effects import se_from_ci
    >>> conv = se_from_ci(1.23, 5.54, n=(31, 25))
    >>> conv.method, conv.values["df"], round(conv.values["se"], 4)
    ('se_from_ci_t', 54.0, 1.0749)
    >>> round(se_from_ci(1.23, 5.54).values["se"], 4)
    1.0995
    """
    problems: list[Problem] = []
    lo = _number("lower", lower, problems)
    hi = _number("upper", upper, problems)
    if math.isfinite(lo) and math.isfinite(hi) and lo > hi:
        problems.append(Problem(f"lower ({lo:g}) is greater than upper ({hi:g})", column="lower"))
    try:
        level = check_level(level)
    except InputError as err:
        problems += err.problems
    sizes: tuple[float, ...] = ()
    if n is not None:
        raw = n if isinstance(n, tuple | list) else (n,)
        if len(raw) not in (1, 2):
            problems.append(Problem("n must be one group size or a pair (n1, n2)", column="n"))
        else:
            sizes = tuple(_count("n", v, problems, minimum=2) for v in raw)
    if df is not None:
        df = _positive("df", df, problems)
    _raise(problems)
    assumptions = ["The interval is symmetric about the estimate on this scale."]
    use_df: float | None
    if df is not None:
        use_df = float(df)
        assumptions.append(f"The interval was computed with a t distribution on {use_df:g} df.")
    elif sizes and all(s < HANDBOOK_SMALL_SAMPLE for s in sizes):
        use_df = sizes[0] - 1 if len(sizes) == 1 else sizes[0] + sizes[1] - 2
        what = "n - 1" if len(sizes) == 1 else "n1 + n2 - 2"
        assumptions.append(
            f"Every group has fewer than {HANDBOOK_SMALL_SAMPLE} participants, so, as the "
            f"Cochrane Handbook 6.5.2 advises, the interval is taken to use a t quantile "
            f"with {what} = {use_df:g} df."
        )
    else:
        use_df = None
        why = (
            f"a group has {HANDBOOK_SMALL_SAMPLE} or more participants"
            if sizes
            else "no group size was given"
        )
        assumptions.append(f"The interval is taken to use the normal quantile ({why}).")
    q = _t_or_z_quantile((1 + level) / 2, use_df)
    values = {"se": (hi - lo) / (2 * q), "quantile": q}
    if use_df is not None:
        values["df"] = use_df
    method = "se_from_ci_t" if use_df is not None else "se_from_ci_z"
    return Conversion(
        values=values, method=method, assumptions=tuple(assumptions), reference=_HANDBOOK
    )


def se_from_p(estimate: float, p_value: float, *, df: float | None = None) -> Conversion:
    r"""Return the standard error implied by an estimate and its two-sided p-value.

    Parameters
    ----------
    estimate : float
        The estimate tested against 0 (a mean difference, a log odds ratio, ...).
    p_value : float
        The exact two-sided p-value, in (0, 1). A bound such as "p < 0.001" is not a
        p-value and cannot be converted.
    df : float, optional
        Degrees of freedom when the test was a t test; the normal distribution otherwise.

    Returns
    -------
    Conversion
        ``values = {"se": ..., "statistic": ...}``; method ``"se_from_p_z"`` or
        ``"se_from_p_t"``.

    Raises
    ------
    InputError
        If ``p_value`` is not in (0, 1) (p = 1 or an estimate of 0 carry no information
        on the SE), the estimate is 0 or not finite, or ``df <= 0``.

    Notes
    -----
    :math:`SE = |estimate| / q_{1 - p/2}` with the z (or t with ``df``) quantile (Cochrane
    Handbook 6.3.2; Altman and Bland 2011). Rounded p-values give imprecise SEs, most of
    all for large p.

    Examples
    --------
    >>> from alsmeta.effects import se_from_p
    >>> round(se_from_p(1.0, 0.05).values["se"], 6)
    0.510213
    >>> se_from_p(3.38, 0.003, df=54).method
    'se_from_p_t'
    """
    problems: list[Problem] = []
    est = _number("estimate", estimate, problems)
    p = _number("p_value", p_value, problems)
    if math.isfinite(p) and not 0 < p <= 1:
        problems.append(Problem(f"p_value must lie in (0, 1] (got {p:g})", column="p_value"))
    elif math.isfinite(p) and p == 1:
        problems.append(
            Problem("p_value = 1 carries no information on the standard error", column="p_value")
        )
    if math.isfinite(est) and est == 0:
        problems.append(
            Problem("an estimate of 0 carries no information on the SE", column="estimate")
        )
    if df is not None:
        df = _positive("df", df, problems)
    _raise(problems)
    q = _t_or_z_quantile(1 - p / 2, df)
    assumptions = [
        "The p-value is two-sided, exact (not a bound) and comes from a test of this "
        "estimate against 0.",
        (
            f"The test statistic follows a t distribution on {df:g} df."
            if df is not None
            else "The test statistic is normally distributed (z test)."
        ),
    ]
    return Conversion(
        values={"se": abs(est) / q, "statistic": q},
        method="se_from_p_t" if df is not None else "se_from_p_z",
        assumptions=tuple(assumptions),
        reference=_HANDBOOK_P,
    )


# ---------------------------------------------------------------------- SE, LS means, SD
def sd_from_se(se: float, n: int) -> Conversion:
    r"""Return the standard deviation of a group from the standard error of its mean.

    Parameters
    ----------
    se : float
        Standard error of the group mean (> 0).
    n : int
        Number of participants in the group (>= 1).

    Returns
    -------
    Conversion
        ``values = {"sd": se * sqrt(n)}``, method ``"sd_from_se"``.

    Raises
    ------
    InputError
        If ``se <= 0`` or ``n`` is not a whole number >= 1.

    Notes
    -----
    :math:`SD = SE \sqrt{n}` (Cochrane Handbook 6.5.2.2).

    Examples
    --------
    >>> from alsmeta.effects import sd_from_se
    >>> sd_from_se(0.75, 25).values["sd"]
    3.75
    """
    problems: list[Problem] = []
    s = _positive("se", se, problems)
    k = _count("n", n, problems)
    _raise(problems)
    return Conversion(
        values={"sd": s * math.sqrt(k)},
        method="sd_from_se",
        assumptions=("The SE is the plain standard error of the group mean, SD / sqrt(n).",),
        reference=_HANDBOOK,
    )


def mean_sd_from_ls_mean(ls_mean: float, se: float, n: int) -> Conversion:
    r"""Return a mean and SD for a group from a least-squares mean and its SE.

    Parameters
    ----------
    ls_mean : float
        The model-based (least-squares, MMRM or ANCOVA) mean of the group.
    se : float
        Its standard error (> 0).
    n : int
        Number of participants contributing to the group's estimate (>= 1).

    Returns
    -------
    Conversion
        ``values = {"mean": ls_mean, "sd": se * sqrt(n)}``, method
        ``"mean_sd_from_ls_mean"``.

    Raises
    ------
    InputError
        If ``ls_mean`` is not finite, ``se <= 0`` or ``n`` is not a whole number >= 1.

    Notes
    -----
    The LS mean is adjusted for the model's covariates and its SE reflects the model,
    missing data and the covariance of repeated measures; treating it as an arithmetic
    mean with :math:`SD = SE \sqrt{n}` is an approximation, and ``n`` must be the number
    analysed in that arm (not the number randomised). When both arms are LS means from
    the same model, their difference is the model's treatment effect; its variance is
    approximated by :math:`SE_1^2 + SE_2^2`, which ignores the covariance between arms.

    Examples
    --------
    >>> from alsmeta.effects import mean_sd_from_ls_mean
    >>> conv = mean_sd_from_ls_mean(-1.58, 1.13, 25)
    >>> conv.values["mean"], round(conv.values["sd"], 2)
    (-1.58, 5.65)
    """
    problems: list[Problem] = []
    m = _number("ls_mean", ls_mean, problems)
    s = _positive("se", se, problems)
    k = _count("n", n, problems)
    _raise(problems)
    return Conversion(
        values={"mean": m, "sd": s * math.sqrt(k)},
        method="mean_sd_from_ls_mean",
        assumptions=(
            "The least-squares (model-adjusted) mean is used as the arm's mean.",
            "SD = SE * sqrt(n), treating the model-based SE as the SE of a plain mean of n "
            "participants.",
            "n is the number analysed in this arm.",
        ),
        reference=_HANDBOOK,
    )


# ---------------------------------------------------------------------- quantiles
def _xi(n: float) -> float:
    from scipy import stats

    return float(2 * stats.norm.ppf((n - 0.375) / (n + 0.25)))


def _eta(n: float) -> float:
    from scipy import stats

    return float(2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25)))


def mean_sd_from_quantiles(
    n: int,
    *,
    median: float,
    q1: float | None = None,
    q3: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    method: str = "luo_shi",
) -> Conversion:
    r"""Estimate a sample mean and SD from the median and the quartiles and/or the range.

    Parameters
    ----------
    n : int
        Sample size (>= 2 for S1 and S3, >= 2 for S2).
    median : float
        Sample median.
    q1, q3 : float, optional
        First and third quartiles (scenario S2, or S3 with the range).
    minimum, maximum : float, optional
        Smallest and largest values (scenario S1, or S3 with the quartiles).
    method : {"luo_shi", "wan"}, default "luo_shi"
        ``"luo_shi"``: the mean of Luo et al. (2018) and the SD of Wan et al. (2014) for S1
        and S2 and of Shi et al. (2020) for S3 (the optimal estimators). ``"wan"``: the
        mean and the SD of Wan et al. (2014).

    Returns
    -------
    Conversion
        ``values = {"mean": ..., "sd": ...}``; ``method`` is e.g. ``"luo_shi_s3"``.

    Raises
    ------
    InputError
        If the summaries given form none of S1 {min, median, max}, S2 {q1, median, q3}
        or S3 {min, q1, median, q3, max}, are not ordered, or ``n`` is too small.

    Notes
    -----
    With :math:`\xi(n) = 2\Phi^{-1}\{(n - 0.375)/(n + 0.25)\}` and
    :math:`\eta(n) = 2\Phi^{-1}\{(0.75n - 0.125)/(n + 0.25)\}`:

    * S1: Luo mean :math:`w (a+b)/2 + (1-w) m`, :math:`w = 4/(4 + n^{0.75})`; Wan mean
      :math:`(a + 2m + b)/4`; SD :math:`(b-a)/\xi(n)` (Wan).
    * S2: Luo mean :math:`w (q_1+q_3)/2 + (1-w) m`, :math:`w = 0.7 + 0.39/n`; Wan mean
      :math:`(q_1+m+q_3)/3`; SD :math:`(q_3-q_1)/\eta(n)` (Wan).
    * S3: Luo mean :math:`w_1 (a+b)/2 + w_2 (q_1+q_3)/2 + (1-w_1-w_2) m` with
      :math:`w_1 = 2.2/(2.2+n^{0.75})`, :math:`w_2 = 0.7 - 0.72/n^{0.55}`; Wan mean
      :math:`(a+2q_1+2m+2q_3+b)/8`; Shi SD :math:`w (b-a)/\xi(n) + (1-w)(q_3-q_1)/\eta(n)`,
      :math:`w = 1/(1+0.07 n^{0.6})`; Wan SD :math:`\{(b-a)/\xi(n) + (q_3-q_1)/\eta(n)\}/2`.

    All assume approximately normal data; skewed data (a median far from the centre of the
    quartiles or range) make them biased. Wan et al. tabulate exact values of
    :math:`\xi(n)` for n <= 50 and :math:`\eta(n)` for small n; the closed forms above are
    their large-sample approximations, used here for every n (R's ``meta::mean.sd.*`` uses
    the tables; the difference is below 1 % for n >= 10).

    References
    ----------
    Wan X, et al. BMC Med Res Methodol 2014;14:135, doi:10.1186/1471-2288-14-135.
    Luo D, et al. Stat Methods Med Res 2018;27:1785-1805, doi:10.1177/0962280216669183.
    Shi J, et al. Res Synth Methods 2020;11:641-654, doi:10.1002/jrsm.1429.

    Examples
    --------
    >>> from alsmeta.effects import mean_sd_from_quantiles
    >>> conv = mean_sd_from_quantiles(50, median=5, q1=4, q3=7, minimum=2, maximum=10)
    >>> conv.method, round(conv.values["mean"], 4), round(conv.values["sd"], 4)
    ('luo_shi_s3', 5.4129, 1.9973)
    >>> round(mean_sd_from_quantiles(40, median=5, minimum=2, maximum=11).values["mean"], 4)
    5.3014
    """
    problems: list[Problem] = []
    try:
        check_choice("method", method, QUANTILE_METHODS)
    except InputError as err:
        problems += err.problems
    size = _count("n", n, problems, minimum=2)
    m = _number("median", median, problems)
    given = {
        name: _number(name, value, problems)
        for name, value in (("minimum", minimum), ("q1", q1), ("q3", q3), ("maximum", maximum))
        if value is not None
    }
    scenario = {
        frozenset({"minimum", "maximum"}): "s1",
        frozenset({"q1", "q3"}): "s2",
        frozenset({"minimum", "q1", "q3", "maximum"}): "s3",
    }.get(frozenset(given))
    if scenario is None:
        problems.append(
            Problem(
                "give minimum and maximum (S1), q1 and q3 (S2), or all four (S3) with the "
                f"median; got {', '.join(sorted(given)) or 'none'}"
            )
        )
    _raise(problems)
    order = [k for k in ("minimum", "q1", "median", "q3", "maximum") if k in given or k == "median"]
    vals = [m if k == "median" else given[k] for k in order]
    for i in range(len(order) - 1):
        (k1, v1), (k2, v2) = (order[i], vals[i]), (order[i + 1], vals[i + 1])
        if v1 > v2:
            problems.append(Problem(f"{k1} ({v1:g}) is greater than {k2} ({v2:g})", column=k1))
    if scenario == "s1" and given["maximum"] == given["minimum"]:
        problems.append(Problem("minimum equals maximum: the range gives no SD", column="maximum"))
    if scenario == "s2" and given["q3"] == given["q1"]:
        problems.append(Problem("q1 equals q3: the IQR gives no SD", column="q3"))
    if scenario in ("s2", "s3") and size < 3:
        problems.append(Problem("quartiles need n >= 3", column="n"))
    _raise(problems)
    k = size
    assumptions = [
        "The data are approximately normally distributed (not strongly skewed).",
        f"n = {k:g} is the number of observations the quantiles were computed from.",
    ]
    if scenario == "s1":
        a, b = given["minimum"], given["maximum"]
        sd = (b - a) / _xi(k)
        if method == "wan":
            mean, ref = (a + 2 * m + b) / 4, _WAN
        else:
            w = 4 / (4 + k**0.75)
            mean, ref = w * (a + b) / 2 + (1 - w) * m, f"{_LUO} SD: {_WAN}"
    elif scenario == "s2":
        lo, hi = given["q1"], given["q3"]
        sd = (hi - lo) / _eta(k)
        if method == "wan":
            mean, ref = (lo + m + hi) / 3, _WAN
        else:
            w = 0.7 + 0.39 / k
            mean, ref = w * (lo + hi) / 2 + (1 - w) * m, f"{_LUO} SD: {_WAN}"
    else:
        a, b, lo, hi = given["minimum"], given["maximum"], given["q1"], given["q3"]
        if method == "wan":
            mean = (a + 2 * lo + 2 * m + 2 * hi + b) / 8
            sd = ((b - a) / _xi(k) + (hi - lo) / _eta(k)) / 2
            ref = _WAN
        else:
            w1 = 2.2 / (2.2 + k**0.75)
            w2 = 0.7 - 0.72 / k**0.55
            mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * m
            ws = 1 / (1 + 0.07 * k**0.6)
            sd = ws * (b - a) / _xi(k) + (1 - ws) * (hi - lo) / _eta(k)
            ref = f"{_LUO} SD: {_SHI}"
    return Conversion(
        values={"mean": mean, "sd": sd},
        method=f"{method}_{scenario}",
        assumptions=tuple(assumptions),
        reference=ref,
    )


# ---------------------------------------------------------------------- change scores
def change_sd(
    sd_baseline: float,
    sd_final: float,
    *,
    r: float,
    sensitivity: tuple[float, ...] = (0.3, 0.5, 0.7),
) -> Conversion:
    r"""Return the SD of change from baseline from baseline and final SDs.

    Parameters
    ----------
    sd_baseline, sd_final : float
        SDs of the baseline and final measurements (>= 0).
    r : float
        Assumed correlation between baseline and final measurements, in [-1, 1].
    sensitivity : tuple of float, default (0.3, 0.5, 0.7)
        Other correlations to report the change SD for, so that the analysis can be
        repeated over a plausible range.

    Returns
    -------
    Conversion
        ``values = {"sd": ..., "sd_r0.3": ..., ...}`` (one ``sd_r<value>`` key per
        sensitivity correlation), method ``"change_sd_imputed_r"``.

    Raises
    ------
    InputError
        If an SD is negative or a correlation is outside [-1, 1].

    Notes
    -----
    :math:`SD_{change} = \sqrt{SD_b^2 + SD_f^2 - 2 r SD_b SD_f}` (Follmann et al. 1992;
    Cochrane Handbook 6.5.2.8). The correlation is rarely reported; it should come from a
    study that reports all three SDs, and the analysis should be repeated over a range.

    Examples
    --------
    >>> from alsmeta.effects import change_sd
    >>> conv = change_sd(6.0, 8.0, r=0.5)
    >>> round(conv.values["sd"], 4), round(conv.values["sd_r0.7"], 4)
    (7.2111, 5.7271)
    """
    problems: list[Problem] = []
    sb = _positive("sd_baseline", sd_baseline, problems, strict=False)
    sf = _positive("sd_final", sd_final, problems, strict=False)
    rs: list[float] = []
    for name, value in [("r", r), *(("sensitivity", s) for s in sensitivity)]:
        x = _number(name, value, problems)
        if math.isfinite(x) and not -1 <= x <= 1:
            problems.append(Problem(f"{name}={x:g} must lie in [-1, 1]", column=name))
        rs.append(x)
    _raise(problems)

    def sd_for(rho: float) -> float:
        return math.sqrt(max(sb**2 + sf**2 - 2 * rho * sb * sf, 0.0))

    values = {"sd": sd_for(rs[0])}
    for rho in rs[1:]:
        values[f"sd_r{rho:g}"] = sd_for(rho)
    return Conversion(
        values=values,
        method="change_sd_imputed_r",
        assumptions=(
            f"The correlation between baseline and final measurements is {rs[0]:g} "
            "(assumed, not reported).",
            "Sensitivity range of the correlation: "
            + (", ".join(f"{x:g}" for x in rs[1:]) or "none")
            + ".",
        ),
        reference=_FOLLMANN,
    )


def change_from_slope(
    slope: float, se: float, months: float, *, assume_linear: bool = False
) -> Conversion:
    r"""Return the change at a time point implied by a slope per month.

    Parameters
    ----------
    slope : float
        Rate of change per month (e.g. ALSFRS-R points/month).
    se : float
        Standard error of the slope (> 0).
    months : float
        Time point, in months from baseline (> 0).
    assume_linear : bool, default False
        Must be ``True``: the conversion holds only if the change is linear in time, which
        is an assumption the caller has to make explicitly.

    Returns
    -------
    Conversion
        ``values = {"change": slope * months, "se": se * months}``, method
        ``"change_from_slope_linear"``.

    Raises
    ------
    InputError
        If ``assume_linear`` is not ``True``, ``se <= 0`` or ``months <= 0``.

    Notes
    -----
    :math:`\Delta = b t`, :math:`SE(\Delta) = t \, SE(b)`. ALSFRS-R decline is roughly
    linear over 6-12 months in most patients but curvilinear in many; the extrapolated
    change carries that assumption.

    Examples
    --------
    >>> from alsmeta.effects import change_from_slope
    >>> change_from_slope(-0.9, 0.1, 6, assume_linear=True).values["change"]
    -5.4
    """
    problems: list[Problem] = []
    if assume_linear is not True:
        problems.append(
            Problem(
                "converting a slope to a change needs assume_linear=True: the change is "
                "slope * months only if decline is linear in time",
                column="assume_linear",
            )
        )
    b = _number("slope", slope, problems)
    s = _positive("se", se, problems)
    t = _positive("months", months, problems)
    _raise(problems)
    return Conversion(
        values={"change": b * t, "se": s * t},
        method="change_from_slope_linear",
        assumptions=(
            f"The outcome changes linearly in time, so the change at {t:g} months is the "
            f"slope times {t:g}.",
        ),
        reference="Cochrane Handbook 6.4 (2023), 6.5.2; linear extrapolation.",
    )


# ---------------------------------------------------------------------- two groups
def mean_difference(
    mean_t: float,
    sd_t: float,
    n_t: int,
    mean_c: float,
    sd_c: float,
    n_c: int,
) -> Conversion:
    r"""Return the raw mean difference (treatment minus control) and its variance.

    Parameters
    ----------
    mean_t, sd_t, n_t : float, float, int
        Mean, SD and size of the treatment group.
    mean_c, sd_c, n_c : float, float, int
        The same for the control group.

    Returns
    -------
    Conversion
        ``values`` with ``yi`` (the MD), ``vi`` (metafor's ``vtype="LS"`` variance),
        ``se``, and for reference ``vi_pooled`` (the equal-variance ``vtype="HO"``
        variance) and ``df`` (n_t + n_c - 2); method ``"md_ls"``.

    Raises
    ------
    InputError
        If an SD is negative, a size is not a whole number >= 1, or a mean is not finite.

    Notes
    -----
    :math:`y = \bar x_t - \bar x_c`, :math:`v = s_t^2/n_t + s_c^2/n_c`; matches
    ``metafor::escalc(measure="MD", m1i, sd1i, n1i, m2i, sd2i, n2i)`` (default vtype
    "LS"). The two-sample t test's pooled variance is
    :math:`s_p^2 (1/n_t + 1/n_c)`, :math:`s_p^2 = \{(n_t-1)s_t^2 + (n_c-1)s_c^2\}/(n_t+n_c-2)`
    (metafor's vtype "HO").

    Examples
    --------
    Oh et al. 2018, Table 3, 6 months: MSC -3.10 (3.51), n 31; control -6.48 (4.53), n 25.
    The published MD is 3.38 (SE 1.07, 95 % CI 1.23 to 5.54); the pooled SE with t on 54
    df reproduces it:

    >>> from alsmeta.effects import mean_difference
    >>> md = mean_difference(-3.10, 3.51, 31, -6.48, 4.53, 25)
    >>> round(md.values["yi"], 2), round(md.values["vi_pooled"] ** 0.5, 3)
    (3.38, 1.074)
    """
    problems: list[Problem] = []
    mt = _number("mean_t", mean_t, problems)
    st = _positive("sd_t", sd_t, problems, strict=False)
    nt = _count("n_t", n_t, problems)
    mc = _number("mean_c", mean_c, problems)
    sc = _positive("sd_c", sd_c, problems, strict=False)
    nc = _count("n_c", n_c, problems)
    _raise(problems)
    vi = st**2 / nt + sc**2 / nc
    df = nt + nc - 2
    pooled = ((nt - 1) * st**2 + (nc - 1) * sc**2) / df * (1 / nt + 1 / nc) if df > 0 else math.nan
    return Conversion(
        values={"yi": mt - mc, "vi": vi, "se": math.sqrt(vi), "vi_pooled": pooled, "df": df},
        method="md_ls",
        assumptions=(
            "The arms are independent; vi = sd_t^2/n_t + sd_c^2/n_c (no equal-variance "
            "assumption, metafor vtype 'LS').",
        ),
        reference=_METAFOR_MD,
    )


def _two_by_two(events_t: Any, n_t: Any, events_c: Any, n_c: Any, measure: str) -> Conversion:
    problems: list[Problem] = []
    at = _count("events_t", events_t, problems, minimum=0)
    nt = _count("n_t", n_t, problems)
    ac = _count("events_c", events_c, problems, minimum=0)
    nc = _count("n_c", n_c, problems)
    for e_name, e, n_name, size in (("events_t", at, "n_t", nt), ("events_c", ac, "n_c", nc)):
        if math.isfinite(e) and math.isfinite(size) and e > size:
            problems.append(
                Problem(f"{e_name} ({e:g}) is greater than {n_name} ({size:g})", column=e_name)
            )
    _raise(problems)
    a, b, c, d = at, nt - at, ac, nc - ac
    assumptions = ["Participants are counted once, in the arm they were randomised to."]
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
        assumptions.append("A cell is 0, so 1/2 was added to every cell (metafor add=1/2).")
    if measure == "OR":
        yi = math.log(a * d / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        if a == 0 or c == 0:  # pragma: no cover - excluded by the 1/2 correction
            raise InputError(Problem("no events: the risk ratio is undefined"))
        yi = math.log((a / (a + b)) / (c / (c + d)))
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return Conversion(
        values={"yi": yi, "vi": vi, "se": math.sqrt(vi)},
        method="log_or_2x2" if measure == "OR" else "log_rr_2x2",
        assumptions=tuple(assumptions),
        reference=_METAFOR_2X2,
    )


def log_odds_ratio_from_counts(events_t: int, n_t: int, events_c: int, n_c: int) -> Conversion:
    r"""Return the log odds ratio (treatment vs control) and its variance from counts.

    Parameters
    ----------
    events_t, n_t : int
        Responders and participants in the treatment arm.
    events_c, n_c : int
        Responders and participants in the control arm.

    Returns
    -------
    Conversion
        ``values = {"yi", "vi", "se"}``, method ``"log_or_2x2"``.

    Raises
    ------
    InputError
        If counts are not whole numbers, ``n < 1`` or events exceed n.

    Notes
    -----
    :math:`y = \ln\{a d / (b c)\}`, :math:`v = 1/a + 1/b + 1/c + 1/d`, with 1/2 added to
    every cell when one is 0; matches ``escalc(measure="OR", ai, n1i, ci, n2i)``.

    Examples
    --------
    Oh et al. 2018, responders (>= 50 % ALSFRS-R slope improvement) at 4 months:
    22/32 vs 5/27.

    >>> from alsmeta.effects import log_odds_ratio_from_counts
    >>> conv = log_odds_ratio_from_counts(22, 32, 5, 27)
    >>> round(conv.values["yi"], 4), round(conv.values["vi"], 4)
    (2.2701, 0.3909)
    """
    return _two_by_two(events_t, n_t, events_c, n_c, "OR")


def log_risk_ratio_from_counts(events_t: int, n_t: int, events_c: int, n_c: int) -> Conversion:
    r"""Return the log risk ratio (treatment vs control) and its variance from counts.

    Parameters
    ----------
    events_t, n_t : int
        Responders and participants in the treatment arm.
    events_c, n_c : int
        Responders and participants in the control arm.

    Returns
    -------
    Conversion
        ``values = {"yi", "vi", "se"}``, method ``"log_rr_2x2"``.

    Raises
    ------
    InputError
        If counts are not whole numbers, ``n < 1`` or events exceed n.

    Notes
    -----
    :math:`y = \ln\{(a/n_1)/(c/n_2)\}`, :math:`v = 1/a - 1/n_1 + 1/c - 1/n_2`, with 1/2
    added to every cell when one is 0; matches ``escalc(measure="RR", ai, n1i, ci, n2i)``.

    Examples
    --------
    >>> from alsmeta.effects import log_risk_ratio_from_counts
    >>> round(log_risk_ratio_from_counts(22, 32, 5, 27).values["yi"], 4)
    1.3117
    """
    return _two_by_two(events_t, n_t, events_c, n_c, "RR")


def _events_from_percent(percent: float, n: float, name: str) -> tuple[float, str | None]:
    events = percent / 100 * n
    nearest = round(events)
    # A percentage printed to whole numbers pins the count down only when exactly one
    # whole count rounds to it; otherwise the count is ambiguous and is not guessed.
    matches = [e for e in range(int(n) + 1) if round(100 * e / n, 0) == round(percent, 0)]
    if len(matches) == 1 and matches[0] == nearest:
        return float(nearest), None
    return math.nan, (
        f"{name}: {percent:g}% of {n:g} is {events:.3g}, and no single whole count "
        f"rounds to {percent:g}% ({', '.join(map(str, matches)) or 'none'} do)"
    )


def _from_percentages(
    percent_t: float, n_t: int, percent_c: float, n_c: int, measure: str
) -> Conversion:
    problems: list[Problem] = []
    pt = _number("percent_t", percent_t, problems)
    pc = _number("percent_c", percent_c, problems)
    nt = _count("n_t", n_t, problems)
    nc = _count("n_c", n_c, problems)
    for name, p in (("percent_t", pt), ("percent_c", pc)):
        if math.isfinite(p) and not 0 <= p <= 100:
            problems.append(Problem(f"{name}={p:g} must lie in [0, 100]", column=name))
    _raise(problems)
    at, why_t = _events_from_percent(pt, nt, "percent_t")
    ac, why_c = _events_from_percent(pc, nc, "percent_c")
    for why, col in ((why_t, "percent_t"), (why_c, "percent_c")):
        if why:
            problems.append(Problem(why, column=col))
    _raise(problems)
    conv = _two_by_two(at, nt, ac, nc, measure)
    return Conversion(
        values={**conv.values, "events_t": at, "events_c": ac},
        method=conv.method.replace("2x2", "percent"),
        assumptions=(
            f"Counts recovered from whole-number percentages: {at:g}/{nt:g} and {ac:g}/{nc:g} "
            "(the only whole counts that round to the reported percentages).",
            "The percentages are of the n given (the number analysed).",
            *conv.assumptions,
        ),
        reference=conv.reference,
    )


def log_odds_ratio_from_percentages(
    percent_t: float, n_t: int, percent_c: float, n_c: int
) -> Conversion:
    """Return the log odds ratio from responder percentages and group sizes.

    Parameters
    ----------
    percent_t, percent_c : float
        Percentages of responders (0-100) in the treatment and control arms.
    n_t, n_c : int
        Number of participants the percentages are of.

    Returns
    -------
    Conversion
        As :func:`log_odds_ratio_from_counts`, plus the recovered counts; method
        ``"log_or_percent"``.

    Raises
    ------
    InputError
        If a percentage is outside [0, 100], or no single whole count rounds to it (the
        count is then not guessed).

    Examples
    --------
    >>> from alsmeta.effects import log_odds_ratio_from_percentages
    >>> conv = log_odds_ratio_from_percentages(69, 32, 19, 27)
    >>> conv.values["events_t"], conv.values["events_c"], round(conv.values["yi"], 4)
    (22.0, 5.0, 2.2701)
    """
    return _from_percentages(percent_t, n_t, percent_c, n_c, "OR")


def log_risk_ratio_from_percentages(
    percent_t: float, n_t: int, percent_c: float, n_c: int
) -> Conversion:
    """Return the log risk ratio from responder percentages and group sizes.

    Parameters
    ----------
    percent_t, percent_c : float
        Percentages of responders (0-100) in the treatment and control arms.
    n_t, n_c : int
        Number of participants the percentages are of.

    Returns
    -------
    Conversion
        As :func:`log_risk_ratio_from_counts`, plus the recovered counts; method
        ``"log_rr_percent"``.

    Raises
    ------
    InputError
        As :func:`log_odds_ratio_from_percentages`.

    Examples
    --------
    >>> from alsmeta.effects import log_risk_ratio_from_percentages
    >>> round(log_risk_ratio_from_percentages(69, 32, 19, 27).values["yi"], 4)
    1.3117
    """
    return _from_percentages(percent_t, n_t, percent_c, n_c, "RR")
