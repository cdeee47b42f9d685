r"""Turn a trial analysed from patient-level data into an effect-size row.

Each function returns a one-row :class:`~alsmeta.effects.EffectSizeTable` (``yi``, ``vi``,
study label, metafor measure code) whose ``data`` records the design, what the effect is,
the arm sizes and the assumption behind the variance, so that a user's own trial joins
:func:`alsmeta.meta_analysis` beside the published trials (:func:`stack_effects`).

=====================  ===========  ===============================================
result                 measure      yi (sign: positive = better for treatment unless noted)
=====================  ===========  ===============================================
slope comparison       ``"MD"``     slope difference, treatment - control (points/month)
change at a visit      ``"MD"``     change difference, treatment - control (points)
slope as change        ``"MD"``     slope difference x months (linear decline assumed)
survival (Cox)         ``"GEN"``    log hazard ratio, treatment vs control (negative = better)
responders             ``"OR"``     log odds ratio of response, treatment vs control
lead-in (no control)   ``"MC"``     mean within-patient slope change, post - pre
=====================  ===========  ===============================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alsmeta.effects import EffectSizeTable, escalc
from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.patients.responders import ResponderResult
from alsmeta.patients.slopes import LEAD_IN_CAVEATS, LeadInResult
from alsmeta.patients.survival import SurvivalResult

__all__ = [
    "DESIGNS",
    "change_effect",
    "hazard_ratio_effect",
    "lead_in_effect",
    "odds_ratio_effect",
    "slope_change_effect",
    "slope_effect",
    "stack_effects",
    "trial_effect",
]

DESIGNS: tuple[str, ...] = (
    "RCT",
    "non-randomised controlled",
    "single-arm with lead-in",
    "external control",
)
"""Design labels of the evidence base (PRODUCT.md, "The bundled evidence base")."""

DATA_COLUMNS: tuple[str, ...] = (
    "study", "design", "effect", "source", "n_treatment", "n_control", "assumption",
)  # fmt: skip
"""Columns of the ``data`` of every row made here."""


def _number(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(Problem(f"{name}={value!r} is not a number")) from None
    if not math.isfinite(out):
        raise InputError(Problem(f"{name}={value!r} must be finite"))
    return out


def _positive(value: Any, name: str) -> float:
    out = _number(value, name)
    if out <= 0:
        raise InputError(Problem(f"{name}={value!r} must be > 0"))
    return out


def _row(
    yi: float,
    vi: float,
    *,
    study: str,
    measure: str,
    design: str,
    effect: str,
    source: str,
    n_treatment: float | None,
    n_control: float | None,
    assumption: str,
    notes: Sequence[str] = (),
) -> EffectSizeTable:
    check_choice("design", design, DESIGNS)
    data = pd.DataFrame(
        {
            "study": [str(study)],
            "design": [design],
            "effect": [effect],
            "source": [source],
            "n_treatment": [np.nan if n_treatment is None else float(n_treatment)],
            "n_control": [np.nan if n_control is None else float(n_control)],
            "assumption": [assumption],
        }
    )
    table = EffectSizeTable.from_frame(
        data.assign(yi=[yi], vi=[vi]), study="study", measure=measure
    )
    return EffectSizeTable(
        yi=table.yi,
        vi=table.vi,
        study=table.study,
        measure=measure,
        data=data,
        notes=(f"{study}: {assumption}", *(f"{study}: {n}" for n in notes)),
    )


def slope_effect(
    result: Any,
    se: float | None = None,
    *,
    study: str = "own trial",
    design: str = "RCT",
    n_treatment: float | None = None,
    n_control: float | None = None,
) -> EffectSizeTable:
    r"""Return the difference in ALSFRS-R slope between arms as an effect-size row.

    Parameters
    ----------
    result : object or float
        A mixed-model slope comparison (any object with ``slope_difference`` and ``se``,
        e.g. the result of ``alsmeta.patients.mixed``), or the slope difference itself
        (treatment - control, points/month) with ``se``.
    se : float, optional
        Standard error of the difference, when ``result`` is a number.
    study : str, default "own trial"
    design : str, default "RCT"
        One of :data:`DESIGNS`.
    n_treatment, n_control : float, optional
        Arm sizes, recorded in ``data`` (taken from ``result.n_subjects_by_arm`` or
        similar is not attempted; give them).

    Returns
    -------
    EffectSizeTable
        ``measure="MD"``, yi = slope difference, vi = se^2.

    Notes
    -----
    yi = :math:`\hat\beta_3` of total ~ time * arm + (1 + time | subject), vi =
    :math:`\widehat{\mathrm{se}}(\hat\beta_3)^2` -- the model-based variance, taken as
    known, as for every yi/vi pair in metafor (``escalc(measure="MD")`` of summary data
    equally treats the variance as known).

    Examples
    --------
    >>> from alsmeta.effects.trials import slope_effect
    >>> row = slope_effect(0.25, se=0.1, study="my trial")
    >>> row.measure, row.yi.tolist(), [round(v, 4) for v in row.vi.tolist()]
    ('MD', [0.25], [0.01])
    """
    if hasattr(result, "slope_difference") and hasattr(result, "se"):
        estimate = _number(result.slope_difference, "slope_difference")
        error = _positive(result.se, "se")
        source = f"{type(result).__name__} (patient-level mixed model)"
    else:
        if se is None:
            raise InputError(
                Problem(
                    "give a result with slope_difference and se, or the slope difference "
                    "and se= (standard error)"
                )
            )
        estimate = _number(result, "slope_difference")
        error = _positive(se, "se")
        source = "slope difference given as a number"
    return _row(
        estimate,
        error**2,
        study=study,
        measure="MD",
        design=design,
        effect="difference in ALSFRS-R slope, treatment - control (points/month)",
        source=source,
        n_treatment=n_treatment,
        n_control=n_control,
        assumption="vi = se^2 of the mixed-model slope difference, taken as known",
    )


def change_effect(
    difference: Any,
    variance: float | None = None,
    *,
    study: str = "own trial",
    design: str = "RCT",
    month: float | None = None,
    n_treatment: float | None = None,
    n_control: float | None = None,
) -> EffectSizeTable:
    r"""Return the difference in ALSFRS-R change from baseline as an effect-size row.

    Parameters
    ----------
    difference : object or float
        The adjusted difference in change from baseline to a fixed visit, treatment -
        control (points), as a number with ``variance``, or an object with
        ``estimate`` (or ``difference``) and ``se`` (an ANCOVA or MMRM result).
    variance : float, optional
        Its sampling variance (se^2), when ``difference`` is a number.
    study, design, n_treatment, n_control
        As :func:`slope_effect`.
    month : float, optional
        The visit (months after baseline), recorded in the effect label.

    Returns
    -------
    EffectSizeTable
        ``measure="MD"``.

    Notes
    -----
    yi = :math:`\bar\Delta_T - \bar\Delta_C` (or the ANCOVA/MMRM contrast), vi its
    variance. This is ``escalc(measure="GEN", yi, vi)`` labelled MD: the MD of metafor's
    ``escalc(measure="MD")`` with :math:`v = s_1^2/n_1 + s_2^2/n_2` is the special case of
    unadjusted change scores.

    Examples
    --------
    >>> from alsmeta.effects.trials import change_effect
    >>> row = change_effect(2.0, 1.44, month=6)
    >>> row.data["effect"].iloc[0]
    'difference in ALSFRS-R change from baseline to month 6, treatment - control (points)'
    """
    if hasattr(difference, "se") and (
        hasattr(difference, "estimate") or hasattr(difference, "difference")
    ):
        value = getattr(difference, "estimate", None)
        if value is None:
            value = difference.difference
        estimate = _number(value, "estimate")
        var = _positive(difference.se, "se") ** 2
        source = f"{type(difference).__name__} (patient-level)"
    else:
        if variance is None:
            raise InputError(Problem("give the difference and variance= (its se^2)"))
        estimate = _number(difference, "difference")
        var = _positive(variance, "variance")
        source = "change difference given as numbers"
    when = "a fixed visit" if month is None else f"month {month:g}"
    return _row(
        estimate,
        var,
        study=study,
        measure="MD",
        design=design,
        effect=f"difference in ALSFRS-R change from baseline to {when}, treatment - control "
        "(points)",
        source=source,
        n_treatment=n_treatment,
        n_control=n_control,
        assumption="vi = variance of the change difference, taken as known",
    )


def slope_change_effect(
    result: Any,
    se: float | None = None,
    *,
    months: float,
    assume_linear: bool = False,
    study: str = "own trial",
    design: str = "RCT",
    n_treatment: float | None = None,
    n_control: float | None = None,
) -> EffectSizeTable:
    r"""Return a slope difference as the difference in change at ``months``, as a row.

    Parameters
    ----------
    result : object or float
        As :func:`slope_effect`: a slope comparison or the slope difference (treatment -
        control, points/month) with ``se``.
    se : float, optional
        Standard error of the slope difference, when ``result`` is a number.
    months : float
        Time point (months after baseline) whose change is wanted (> 0).
    assume_linear : bool, default False
        Must be ``True``: the change is slope x months only if decline is linear in time.
    study, design, n_treatment, n_control
        As :func:`slope_effect`.

    Returns
    -------
    EffectSizeTable
        ``measure="MD"``, yi = slope difference x months (points), vi = (se x months)^2;
        the linearity assumption is in ``data["assumption"]`` and the notes.

    Raises
    ------
    InputError
        ``assume_linear`` is not ``True``, or a bad slope, se or ``months``.

    Notes
    -----
    :math:`y = t\,\hat\beta_3`, :math:`v = t^2\,\widehat{\mathrm{se}}(\hat\beta_3)^2`
    (:func:`alsmeta.effects.change_from_slope`), which puts a mixed-model slope difference
    on the scale of trials that report the change from baseline at month ``t``.

    Examples
    --------
    >>> from alsmeta.effects.trials import slope_change_effect
    >>> row = slope_change_effect(0.25, se=0.1, months=6, assume_linear=True)
    >>> [round(v, 4) for v in (*row.yi.tolist(), *row.vi.tolist())]
    [1.5, 0.36]
    """
    from alsmeta.effects.conversions import change_from_slope

    slope = slope_effect(result, se, study=study, design=design)
    conversion = change_from_slope(
        float(slope.yi[0]), math.sqrt(float(slope.vi[0])), months, assume_linear=assume_linear
    )
    t = float(months)
    source = "slope difference" if slope.data is None else str(slope.data["source"].iloc[0])
    return _row(
        conversion.values["change"],
        conversion.values["se"] ** 2,
        study=study,
        measure="MD",
        design=design,
        effect=f"difference in ALSFRS-R change from baseline to month {t:g}, treatment - "
        f"control (points), from the slope difference x {t:g}",
        source=source,
        n_treatment=n_treatment,
        n_control=n_control,
        assumption=f"{conversion.method}: {' '.join(conversion.assumptions)} vi = "
        f"({t:g} x se of the slope difference)^2, taken as known",
    )


def hazard_ratio_effect(
    result: SurvivalResult, *, study: str = "own trial", design: str = "RCT"
) -> EffectSizeTable:
    r"""Return the Cox log hazard ratio (treatment vs control) as an effect-size row.

    Parameters
    ----------
    result : SurvivalResult
        From :func:`alsmeta.patients.survival.survival` with two arms.
    study, design
        As :func:`slope_effect`.

    Returns
    -------
    EffectSizeTable
        ``measure="GEN"`` (metafor has no hazard-ratio measure; published log hazard
        ratios enter as ``GEN`` too), yi = log HR, vi = se^2; negative favours treatment.

    Notes
    -----
    yi = :math:`\hat\beta` of ``coxph(Surv(time, event) ~ arm, ties = "efron")``, vi =
    its Wald variance; the hazards are assumed proportional.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import synth_cohort
    >>> from alsmeta.patients.survival import survival
    >>> from alsmeta.effects.trials import hazard_ratio_effect
    >>> res = survival(synth_cohort(200, rng=np.random.default_rng(7), effect=0.3))
    >>> row = hazard_ratio_effect(res)
    >>> bool(row.yi[0] == res.log_hazard_ratio)
    True
    """
    if not isinstance(result, SurvivalResult):
        raise InputError(Problem(f"expected a SurvivalResult, got {type(result).__name__}"))
    if result.treatment is None or not math.isfinite(result.se):
        raise InputError(
            Problem(
                "the survival result has no hazard ratio of two arms (arms: "
                + ", ".join(map(repr, result.arms))
                + ")"
            )
        )
    counts = result.endpoints["arm"].astype(str).value_counts()
    endpoint = "death" if result.event == "death" else "death, tracheostomy or ventilation"
    return _row(
        result.log_hazard_ratio,
        result.se**2,
        study=study,
        measure="GEN",
        design=design,
        effect=f"log hazard ratio of {endpoint}, {result.treatment} vs {result.control}",
        source="Cox model (Efron ties) on patient-level data",
        n_treatment=float(counts.get(result.treatment, 0)),
        n_control=float(counts.get(result.control, 0)),
        assumption="proportional hazards; vi = Wald variance of the log hazard ratio",
        notes=[f"{result.n_events} events"],
    )


def odds_ratio_effect(
    result: ResponderResult | None = None,
    *,
    counts: Sequence[float] | None = None,
    treatment: str | None = None,
    control: str | None = None,
    study: str = "own trial",
    design: str = "RCT",
    add: float = 0.5,
    to: str = "only0",
) -> EffectSizeTable:
    r"""Return the log odds ratio of response (treatment vs control) as an effect-size row.

    Parameters
    ----------
    result : ResponderResult, optional
        From :func:`alsmeta.patients.responders`; its ``by_arm`` counts are used
        (responders among the patients counted).
    counts : (ai, bi, ci, di), optional
        Responders and non-responders in the treatment arm, then in the control arm,
        instead of ``result``.
    treatment, control : str, optional
        Arms of ``result``; default control ``"Placebo"`` when present (else the first
        arm in sorted order) and the other arm as treatment.
    study, design
        As :func:`slope_effect`.
    add, to
        Zero-cell correction, as :func:`alsmeta.escalc` (metafor's defaults).

    Returns
    -------
    EffectSizeTable
        ``measure="OR"``.

    Notes
    -----
    :math:`y = \ln\frac{a d}{b c}`, :math:`v = 1/a + 1/b + 1/c + 1/d`, computed by
    ``escalc("OR", ...)`` = metafor's ``escalc(measure="OR", ai, bi, ci, di)``.

    Examples
    --------
    >>> from alsmeta.effects.trials import odds_ratio_effect
    >>> row = odds_ratio_effect(counts=(12, 8, 6, 14))
    >>> round(float(row.yi[0]), 4), round(float(row.vi[0]), 4)
    (1.2528, 0.4464)
    """
    if (result is None) == (counts is None):
        raise InputError(Problem("give exactly one of a responder result and counts="))
    if counts is not None:
        if len(counts) != 4:
            raise InputError(Problem("counts= needs four numbers (ai, bi, ci, di)"))
        ai, bi, ci, di = (_number(c, name) for c, name in zip(counts, "abcd", strict=True))
        source = "responder counts given as numbers"
        treatment = treatment or "treatment"
        control = control or "control"
    else:
        if not isinstance(result, ResponderResult):
            raise InputError(Problem(f"expected a ResponderResult, got {type(result).__name__}"))
        by_arm = result.by_arm[result.by_arm["arm"].astype(str) != "all"].copy()
        by_arm["arm"] = by_arm["arm"].astype(str)
        arms = sorted(by_arm["arm"])
        if control is None:
            control = "Placebo" if "Placebo" in arms else arms[0]
        if treatment is None:
            others = [a for a in arms if a != control]
            if len(others) != 1:
                raise InputError(
                    Problem(f"give treatment=: the arms are {', '.join(map(repr, arms))}")
                )
            treatment = others[0]
        missing = [a for a in (treatment, control) if a not in arms]
        if missing:
            raise InputError(
                Problem(
                    f"arm(s) {', '.join(map(repr, missing))} not in the responder result; the "
                    f"arms are {', '.join(map(repr, arms))}"
                )
            )
        indexed = by_arm.set_index("arm")
        responders = indexed["n_responders"].to_numpy(dtype=float)
        counted = indexed["n_counted"].to_numpy(dtype=float)
        t_pos, c_pos = indexed.index.get_loc(treatment), indexed.index.get_loc(control)
        ai, ci = float(responders[t_pos]), float(responders[c_pos])
        bi = float(counted[t_pos]) - ai
        di = float(counted[c_pos]) - ci
        source = f"responder analysis: {result.rule.describe()}"
    table = escalc("OR", ai=[ai], bi=[bi], ci=[ci], di=[di], add=add, to=to)
    return _row(
        float(table.yi[0]),
        float(table.vi[0]),
        study=study,
        measure="OR",
        design=design,
        effect=f"log odds ratio of response, {treatment} vs {control}",
        source=source,
        n_treatment=ai + bi,
        n_control=ci + di,
        assumption="patients not counted by the responder rule are left out of the 2x2 table",
        notes=list(table.notes),
    )


def lead_in_effect(
    result: LeadInResult,
    *,
    arm: str | None = None,
    study: str = "own trial",
    design: str = "single-arm with lead-in",
) -> EffectSizeTable:
    r"""Return the pooled within-patient slope change of a lead-in design as a row.

    Parameters
    ----------
    result : LeadInResult
        From :func:`alsmeta.patients.lead_in` (the per-patient pre and post slopes).
    arm : str, optional
        Use only the patients of this arm (the treated arm of a trial that also has a
        control); default all patients, as in a single-arm design.
    study : str, default "own trial"
    design : str, default "single-arm with lead-in"

    Returns
    -------
    EffectSizeTable
        ``measure="MC"``: yi = mean of (s_post - s_pre) over patients with both slopes
        (points/month, positive = slower decline after treatment), vi = sd^2 / n. The
        notes carry the lead-in caveats of the research file (section 2.4).

    Notes
    -----
    :math:`y = \bar d`, :math:`v = s_d^2 / n` with :math:`d_i = s_{post,i} - s_{pre,i}`:
    metafor's ``escalc(measure="MC", m1i, m2i, sd1i, sd2i, ni, ri)`` computed from the
    paired differences. Not comparable with a between-arm difference: without a
    concurrent control the change is confounded by the non-linear course of ALS and by
    regression to the mean, and pre-baseline slopes predict later decline poorly.

    Examples
    --------
    >>> import numpy as np
    >>> from alsmeta.patients import lead_in, synth_cohort
    >>> from alsmeta.effects.trials import lead_in_effect
    >>> res = lead_in(synth_cohort(60, rng=np.random.default_rng(4)))
    >>> row = lead_in_effect(res)
    >>> row.measure, bool(np.isclose(row.yi[0], res.mean_change))
    ('MC', True)
    """
    if not isinstance(result, LeadInResult):
        raise InputError(Problem(f"expected a LeadInResult, got {type(result).__name__}"))
    table = result.table
    ok = (table["status"] == "ok").to_numpy()
    if arm is not None:
        arms = table["arm"].astype("string")
        if not (arms == arm).any():
            raise InputError(Problem(f"arm={arm!r} has no patients in the lead-in result"))
        ok &= (arms == arm).fillna(False).to_numpy(dtype=bool)
    d = table["change"].to_numpy(dtype=float)[ok]
    if d.size < 2:
        raise InputError(
            Problem(
                f"a lead-in effect needs at least 2 patients with both slopes; there are {d.size}"
            )
        )
    return _row(
        float(d.mean()),
        float(d.var(ddof=1) / d.size),
        study=study,
        measure="MC",
        design=design,
        effect="mean within-patient change in ALSFRS-R slope, post - pre (points/month)",
        source="lead-in design, per-patient OLS slopes" + ("" if arm is None else f", arm {arm}"),
        n_treatment=float(d.size),
        n_control=None,
        assumption="no concurrent control: the pre-treatment slope of the same patients "
        "stands in for the control",
        notes=list(LEAD_IN_CAVEATS),
    )


def trial_effect(result: Any, **options: Any) -> EffectSizeTable:
    """Return the effect-size row of any trial-level result (dispatch by type).

    Parameters
    ----------
    result : SurvivalResult, ResponderResult, LeadInResult, or an object with
        ``slope_difference`` and ``se``
    **options
        Passed to :func:`hazard_ratio_effect`, :func:`odds_ratio_effect`,
        :func:`lead_in_effect` or :func:`slope_effect`.

    Returns
    -------
    EffectSizeTable

    Raises
    ------
    InputError
        For a result with no effect size for meta-analysis (CAFS ranks are relative to
        one trial's patients and have none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from alsmeta.effects.trials import trial_effect
    >>> trial_effect(SimpleNamespace(slope_difference=0.3, se=0.2)).measure
    'MD'
    """
    if isinstance(result, SurvivalResult):
        return hazard_ratio_effect(result, **options)
    if isinstance(result, ResponderResult):
        return odds_ratio_effect(result, **options)
    if isinstance(result, LeadInResult):
        return lead_in_effect(result, **options)
    if hasattr(result, "slope_difference") and hasattr(result, "se"):
        return slope_effect(result, **options)
    raise InputError(
        Problem(
            f"no effect size for a {type(result).__name__}: use a slope comparison, a change "
            "difference (change_effect), a survival, responder or lead-in result (CAFS mean "
            "ranks are relative to one trial and do not pool)"
        )
    )


def stack_effects(*tables: EffectSizeTable) -> EffectSizeTable:
    """Stack effect-size tables of one measure into one table, rows in the given order.

    Parameters
    ----------
    *tables : EffectSizeTable
        Rows from this module and tables of published trials (``escalc`` or
        ``EffectSizeTable.from_frame``), all of the same ``measure``.

    Returns
    -------
    EffectSizeTable
        ``data`` is the union of the input columns (missing cells ``NaN``); notes are
        kept.

    Raises
    ------
    InputError
        If the measures differ or study labels repeat.

    Examples
    --------
    >>> from alsmeta.effects import EffectSizeTable
    >>> from alsmeta.effects.trials import slope_effect, stack_effects
    >>> published = EffectSizeTable.from_arrays([0.1, 0.4], vi=[0.04, 0.09],
    ...                                         study=["A", "B"], measure="MD")
    >>> both = stack_effects(published, slope_effect(0.25, se=0.1, study="own"))
    >>> both.study, both.k
    (('A', 'B', 'own'), 3)
    """
    if not tables:
        raise InputError(Problem("give at least one effect-size table"))
    bad = [type(t).__name__ for t in tables if not isinstance(t, EffectSizeTable)]
    if bad:
        raise InputError(Problem(f"expected EffectSizeTable objects, got {', '.join(bad)}"))
    measures = sorted({t.measure for t in tables})
    if len(measures) > 1:
        raise InputError(
            Problem(
                f"cannot stack different measures ({', '.join(measures)}): pool effects on one "
                "scale"
            )
        )
    frames = []
    for t in tables:
        frame = t.data.copy() if t.data is not None else pd.DataFrame(index=range(t.k))
        frame = frame.drop(columns=[c for c in ("study", "yi", "vi") if c in frame.columns])
        frame.insert(0, "study", list(t.study))
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True, sort=False)
    return EffectSizeTable(
        yi=np.concatenate([t.yi for t in tables]),
        vi=np.concatenate([t.vi for t in tables]),
        study=tuple(s for t in tables for s in t.study),
        measure=measures[0],
        data=data,
        notes=tuple(n for t in tables for n in t.notes),
    )
