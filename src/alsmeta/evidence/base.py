"""The evidence base: studies and outcomes, as tables and as effect sizes.

:class:`EvidenceBase` holds validated :class:`~alsmeta.evidence.schema.Study` and
:class:`~alsmeta.evidence.schema.Outcome` records. :meth:`EvidenceBase.effect_sizes`
converts every outcome that can be converted to one effect size with the conversion and
its assumptions written on the row; :meth:`EvidenceBase.not_converted` lists the others
with the reason. Nothing is dropped silently.

Sign convention: **a positive effect size means benefit of cell therapy** (for
ALSFRS-R, a slower decline). Each outcome's ``direction`` says which way is better on
its own scale; a ``"lower_is_benefit"`` outcome has its sign flipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from alsmeta.effects.conversions import (
    HANDBOOK_SMALL_SAMPLE,
    Conversion,
    log_odds_ratio_from_counts,
    log_odds_ratio_from_percentages,
    log_risk_ratio_from_counts,
    log_risk_ratio_from_percentages,
    mean_difference,
    se_from_ci,
    se_from_p,
)
from alsmeta.effects.table import EffectSizeTable
from alsmeta.errors import InputError, Problem, check_choice
from alsmeta.evidence.schema import ENDPOINTS, Arm, Number, Outcome, Study

__all__ = ["EFFECT_MEASURES", "EvidenceBase"]

#: Measures :meth:`EvidenceBase.effect_sizes` can produce.
EFFECT_MEASURES: tuple[str, ...] = ("MD", "OR", "RR")

_CONTINUOUS = frozenset(
    {"alsfrs_r_change", "alsfrs_r_slope_change", "alsfrs_r_slope", "alsfrs_r_total", "d50_index"}
)
_BINARY = frozenset({"alsfrs_responder"})


@dataclass(frozen=True, slots=True)
class _Result:
    yi: float = math.nan
    vi: float = math.nan
    method: str = ""
    assumptions: tuple[str, ...] = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


#: The columns of :meth:`EvidenceBase.effect_size_frame`, in order.
EFFECT_SIZE_FRAME_COLUMNS = (
    "study",
    "study_id",
    "outcome_id",
    "endpoint",
    "definition",
    "timepoint_months",
    "subgroup",
    "nesting_group",
    "primary",
    "design",
    "randomised",
    "cell_type",
    "route",
    "doses",
    "followup_months",
    "measure",
    "yi",
    "vi",
    "reported_estimate",
    "reported_ci_lower",
    "reported_ci_upper",
    "conversion",
    "assumptions",
    "reason",
    "source_url",
    "source_location",
)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EvidenceBase:
    """Validated studies and outcomes of an evidence base.

    Parameters
    ----------
    studies : tuple of Study
    outcomes : tuple of Outcome
    origin : str
        Where the records came from (a path, or ``"bundled als_trials.yaml"``).

    Examples
    --------
    >>> from alsmeta.evidence import load_evidence
    >>> ev = load_evidence()
    >>> es = ev.effect_sizes(outcome="Oh2018_ALSFRSR_chg_6mo")
    >>> es.study, round(float(es.yi[0]), 2), es.to_frame()["conversion"][0]
    (('Oh2018_ALSFRSR_chg_6mo',), 3.38, 'reported_md_ci+se_from_ci_t')
    """

    studies: tuple[Study, ...]
    outcomes: tuple[Outcome, ...]
    origin: str = ""
    _by_id: dict[str, Study] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "studies", tuple(self.studies))
        object.__setattr__(self, "outcomes", tuple(self.outcomes))
        object.__setattr__(self, "_by_id", {s.study_id: s for s in self.studies})

    # ------------------------------------------------------------------ access
    def study(self, study_id: str) -> Study:
        """Return the study with this id.

        Raises
        ------
        InputError
            If there is no such study (the message lists the known ids).
        """
        try:
            return self._by_id[study_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id))
            raise InputError(Problem(f"no study {study_id!r}; known: {known}")) from None

    def select(self, outcome: str | Sequence[str] | None = None) -> tuple[Outcome, ...]:
        """Return the outcomes matching ``outcome``: endpoint names or outcome ids.

        ``None`` selects all outcomes. A string (or each string of a sequence) matches an
        endpoint (``"alsfrs_r_change"``, see :data:`~alsmeta.evidence.schema.ENDPOINTS`) or
        an ``outcome_id``; a value that matches neither is an error.
        """
        if outcome is None:
            return self.outcomes
        wanted = [outcome] if isinstance(outcome, str) else list(outcome)
        ids = {o.outcome_id for o in self.outcomes}
        unknown = [w for w in wanted if w not in ids and w not in ENDPOINTS]
        if unknown:
            raise InputError(
                [
                    Problem(
                        f"outcome={w!r} is neither an endpoint nor an outcome_id; endpoints: "
                        + ", ".join(map(repr, ENDPOINTS)),
                        column="outcome",
                    )
                    for w in unknown
                ]
            )
        return tuple(o for o in self.outcomes if o.outcome_id in wanted or o.endpoint in wanted)

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """Return one row per outcome: study facts, outcome facts and the reported numbers.

        Numbers are unrounded values; bounds (``p < 0.001``) keep their relation in the
        ``*_relation`` column. ``None`` where the source is silent.

        Examples
        --------
        >>> from alsmeta.evidence import load_evidence
        >>> frame = load_evidence().to_frame()
        >>> frame.loc[frame.outcome_id == "Oh2018_ALSFRSR_chg_6mo", ["n_t", "mean_t", "sd_t"]]
        ... # doctest: +NORMALIZE_WHITESPACE
           n_t  mean_t  sd_t
        1  31.0    -3.1  3.51
        """
        return pd.DataFrame([self._row(o) for o in self.outcomes])

    def effect_size_frame(
        self, outcome: str | Sequence[str] | None = None, measure: str = "MD"
    ) -> pd.DataFrame:
        """Return every selected outcome with ``yi``, ``vi``, the conversion or the reason.

        Rows that cannot be converted have ``yi = vi = nan`` and a ``reason``; rows that
        can have an empty reason. See :meth:`effect_sizes` for the conversions. The columns
        are :data:`EFFECT_SIZE_FRAME_COLUMNS`, also when no outcome is selected.
        """
        check_choice("measure", measure, EFFECT_MEASURES)
        rows = []
        for o in self.select(outcome):
            study = self._by_id[o.study_id]
            res = _convert(o, measure)
            rows.append(
                {
                    "study": o.outcome_id,
                    "study_id": o.study_id,
                    "outcome_id": o.outcome_id,
                    "endpoint": o.endpoint,
                    "definition": o.definition,
                    "timepoint_months": _num(o.timepoint_months),
                    "subgroup": o.subgroup,
                    "nesting_group": o.nesting_group,
                    "primary": o.primary,
                    "design": study.design,
                    "randomised": study.randomised,
                    "cell_type": study.cell_type,
                    "route": study.route,
                    "doses": _value(study.doses),
                    "followup_months": _num(study.followup_months),
                    "measure": measure,
                    "yi": res.yi,
                    "vi": res.vi,
                    # The between-group effect and interval exactly as the source prints
                    # them (on the source's scale), beside the converted yi and vi.
                    "reported_estimate": _value(o.effect.estimate) if o.effect else None,
                    "reported_ci_lower": _value(o.effect.ci_lower) if o.effect else None,
                    "reported_ci_upper": _value(o.effect.ci_upper) if o.effect else None,
                    "conversion": res.method or None,
                    "assumptions": " ".join(res.assumptions) or None,
                    "reason": res.reason or None,
                    "source_url": o.source.url or (f"doi:{o.source.doi}" if o.source.doi else None),
                    "source_location": o.source.location,
                }
            )
        return pd.DataFrame(rows, columns=list(EFFECT_SIZE_FRAME_COLUMNS))

    def effect_sizes(
        self, outcome: str | Sequence[str] | None = None, measure: str = "MD"
    ) -> EffectSizeTable:
        """Convert the selected outcomes to effect sizes, one row per convertible outcome.

        Parameters
        ----------
        outcome : str or sequence of str, optional
            Endpoint names (``"alsfrs_r_change"``) and/or outcome ids; all outcomes when
            omitted.
        measure : {"MD", "OR", "RR"}, default "MD"
            ``"MD"``: raw mean difference (ALSFRS-R points, or points/month for slopes).
            ``"OR"``/``"RR"``: log odds / risk ratio of responders.

        Returns
        -------
        EffectSizeTable
            Labels are outcome ids; ``data`` has the columns ``study_id, outcome_id,
            endpoint, definition, timepoint_months, subgroup, nesting_group, primary,
            design, randomised, cell_type, route, doses, followup_months, measure,
            conversion, assumptions, source_url, source_location``. ``notes`` names every
            selected outcome that was not converted, with the reason (also available as a
            frame from :meth:`not_converted`).

        Notes
        -----
        Positive ``yi`` = benefit of cell therapy. For ``"MD"`` the first route that the
        reported numbers allow is used, in this order:

        1. the trial's own mean difference with its CI: ``yi`` = reported MD, SE from the
           CI by :func:`~alsmeta.effects.se_from_ci` (t with n1 + n2 - 2 df when both arms
           have fewer than 60 participants, Cochrane Handbook 6.5.2.3; z otherwise);
        2. the reported MD with its SE;
        3. per-arm mean, SD and n: :func:`~alsmeta.effects.mean_difference` (metafor
           ``MD``, vtype "LS");
        4. per-arm least-squares means with SEs: ``yi`` = reported difference (or the
           difference of the LS means), ``vi = SE_t^2 + SE_c^2`` (arms taken as
           independent; the model covariance is ignored);
        5. a reported MD (or per-arm means) with an exact p-value:
           :func:`~alsmeta.effects.se_from_p` (t with n1 + n2 - 2 df for small arms,
           z otherwise).

        Nested subgroups of one trial (same ``nesting_group``) all appear; a
        meta-analysis must use at most one of them.

        Examples
        --------
        >>> from alsmeta.evidence import load_evidence
        >>> es = load_evidence().effect_sizes(outcome="alsfrs_r_change")
        >>> es.k, es.measure
        (11, 'MD')
        """
        frame = self.effect_size_frame(outcome, measure)
        done = frame[frame["reason"].isna()].drop(columns=["reason"]).reset_index(drop=True)
        skipped = frame[frame["reason"].notna()]
        notes = [f"not converted: {row.outcome_id} ({row.reason})" for row in skipped.itertuples()]
        data = done.drop(columns=["yi", "vi"])
        return EffectSizeTable(
            yi=done["yi"].to_numpy(dtype=float),
            vi=done["vi"].to_numpy(dtype=float),
            study=tuple(done["study"]),
            measure=measure,
            data=data,
            notes=tuple(notes),
        )

    def not_converted(
        self, outcome: str | Sequence[str] | None = None, measure: str = "MD"
    ) -> pd.DataFrame:
        """Return the selected outcomes that cannot be converted, with the reason.

        Examples
        --------
        >>> from alsmeta.evidence import load_evidence
        >>> frame = load_evidence().not_converted(outcome="Oh2015_phI")
        >>> frame["reason"].iloc[0]
        'safety outcome: no effect estimate'
        """
        frame = self.effect_size_frame(outcome, measure)
        keep = ["study_id", "outcome_id", "endpoint", "design", "reason"]
        return frame.loc[frame["reason"].notna(), keep].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Return the studies and outcomes as JSON-safe dictionaries."""
        return {
            "origin": self.origin,
            "studies": [s.model_dump(mode="json") for s in self.studies],
            "outcomes": [o.model_dump(mode="json") for o in self.outcomes],
        }

    def _row(self, o: Outcome) -> dict[str, Any]:
        study = self._by_id[o.study_id]
        t, c = o.arm("treatment"), o.arm("control")
        row: dict[str, Any] = {
            "study_id": o.study_id,
            "outcome_id": o.outcome_id,
            "citation": study.citation,
            "country": study.country,
            "design": study.design,
            "randomised": study.randomised,
            "blinding": study.blinding,
            "cell_type": study.cell_type,
            "route": study.route,
            "doses": _value(study.doses),
            "cells_per_dose": study.cells_per_dose.text if study.cells_per_dose else None,
            "followup_months": _num(study.followup_months),
            "endpoint": o.endpoint,
            "definition": o.definition,
            "timepoint_months": _num(o.timepoint_months),
            "subgroup": o.subgroup,
            "direction": o.direction,
            "arms": len(o.arms),
        }
        for suffix, arm in (("t", t), ("c", c)):
            for name in ("n", "mean", "sd", "se", "ls_mean", "ls_se", "percent"):
                row[f"{name}_{suffix}"] = _value(getattr(arm, name)) if arm else None
        eff = o.effect
        row["effect_measure"] = eff.measure if eff else None
        row["effect_estimate"] = _value(eff.estimate) if eff else None
        row["effect_se"] = _value(eff.se) if eff else None
        row["ci_lower"] = _value(eff.ci_lower) if eff else None
        row["ci_upper"] = _value(eff.ci_upper) if eff else None
        row["p_value"] = _value(o.p_value)
        row["p_value_relation"] = o.p_value.relation if o.p_value else None
        row["result"] = o.result.text if o.result else None
        row["significant_reported"] = o.significant_reported
        row["source_url"] = o.source.url or (f"doi:{o.source.doi}" if o.source.doi else None)
        row["source_location"] = o.source.location
        return row


# ---------------------------------------------------------------------- conversion
def _value(number: Number | None) -> float | None:
    return None if number is None else number.value


def _num(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _exact(number: Number | None) -> float | None:
    return number.value if number is not None and number.is_exact else None


def _small_sample_df(t: Arm, c: Arm) -> float | None:
    nt, nc = _exact(t.n), _exact(c.n)
    if nt is None or nc is None:
        return None
    if nt < HANDBOOK_SMALL_SAMPLE and nc < HANDBOOK_SMALL_SAMPLE:
        return nt + nc - 2
    return None


def _convert(o: Outcome, measure: str) -> _Result:
    if o.endpoint == "safety":
        return _Result(reason="safety outcome: no effect estimate")
    if measure == "MD" and o.endpoint in _BINARY:
        return _Result(reason=f"{o.endpoint} is a binary outcome; use measure 'OR' or 'RR'")
    if measure in ("OR", "RR") and o.endpoint not in _BINARY:
        return _Result(reason=f"{o.endpoint} is not a responder (binary) outcome")
    treatments = [a for a in o.arms if a.role == "treatment"]
    controls = [a for a in o.arms if a.role == "control"]
    if not controls:
        what = "single-arm or before-after data" if treatments else "no arm data"
        return _Result(reason=f"no control arm ({what}): no between-group difference")
    if len(treatments) != 1 or len(controls) != 1:
        return _Result(
            reason=f"{len(treatments)} treatment and {len(controls)} control arms; "
            "a comparison needs exactly one of each"
        )
    t, c = treatments[0], controls[0]
    res = _convert_md(o, t, c) if measure == "MD" else _convert_ratio(o, t, c, measure)
    if not res.ok:
        return res
    if measure == "MD" and o.endpoint not in _CONTINUOUS:
        return _Result(
            reason=f"endpoint {o.endpoint!r} is not a continuous score for a mean difference"
        )
    if o.direction is None:
        return _Result(reason="which direction means benefit is not recorded for this outcome")
    sign = 1.0 if o.direction == "higher_is_benefit" else -1.0
    orient = (
        "Higher values are better on this outcome; yi = treatment - control."
        if sign > 0
        else "Lower values are better on this outcome; yi = control - treatment, so that "
        "positive means benefit."
    )
    return _Result(
        yi=sign * res.yi,
        vi=res.vi,
        method=res.method,
        assumptions=(*res.assumptions, orient),
    )


def _from_conversion(yi: float, vi: float, prefix: str, conv: Conversion, *extra: str) -> _Result:
    return _Result(
        yi=yi, vi=vi, method=f"{prefix}+{conv.method}", assumptions=(*extra, *conv.assumptions)
    )


def _convert_md(o: Outcome, t: Arm, c: Arm) -> _Result:
    eff = o.effect if o.effect is not None and o.effect.measure == "MD" else None
    est = _exact(eff.estimate) if eff else None
    reported = "The reported difference is treatment minus control."
    # 1. reported MD with CI
    if eff and est is not None and _exact(eff.ci_lower) is not None:
        lo, hi = _exact(eff.ci_lower), _exact(eff.ci_upper)
        if lo is not None and hi is not None:
            nt, nc = _exact(t.n), _exact(c.n)
            sizes = (int(nt), int(nc)) if nt is not None and nc is not None else None
            conv = se_from_ci(lo, hi, level=eff.level, n=sizes)
            se = conv.values["se"]
            extra = [reported]
            if _exact(eff.se) is not None:
                extra.append(
                    f"Check: the SE from the CI, {se:.4f}, against the reported SE "
                    f"{_exact(eff.se):g}."
                )
            return _from_conversion(est, se**2, "reported_md_ci", conv, *extra)
    # 2. reported MD with SE
    if eff and est is not None and _exact(eff.se) is not None:
        se = float(_exact(eff.se) or 0.0)
        if se > 0:
            return _Result(yi=est, vi=se**2, method="reported_md_se", assumptions=(reported,))
    # 3. per-arm mean, SD, n
    mt, st, nt_ = _exact(t.mean), _exact(t.sd), _exact(t.n)
    mc, sc, nc_ = _exact(c.mean), _exact(c.sd), _exact(c.n)
    if None not in (mt, st, nt_, mc, sc, nc_):
        conv = mean_difference(mt, st, nt_, mc, sc, nc_)  # type: ignore[arg-type]
        return _Result(
            yi=conv.values["yi"],
            vi=conv.values["vi"],
            method=conv.method,
            assumptions=conv.assumptions,
        )
    # 4. per-arm LS means with SEs
    lt, et, lc, ec = _exact(t.ls_mean), _exact(t.ls_se), _exact(c.ls_mean), _exact(c.ls_se)
    if None not in (lt, et, lc, ec):
        diff = float(lt) - float(lc)  # type: ignore[arg-type]
        vi = float(et) ** 2 + float(ec) ** 2  # type: ignore[arg-type]
        notes = [
            "The arms' least-squares means come from one model (MMRM); vi = SE_t^2 + SE_c^2 "
            "treats them as independent and ignores their covariance."
        ]
        yi = diff
        if est is not None:
            yi = est
            notes.append(
                f"yi is the reported difference {est:g}; the difference of the LS means is "
                f"{diff:.2f}."
            )
        return _Result(yi=yi, vi=vi, method="md_from_ls_means", assumptions=tuple(notes))
    # 5. MD (reported or from per-arm means) with an exact p-value
    p = _exact(o.p_value)
    diff_means = float(mt) - float(mc) if mt is not None and mc is not None else None
    base = est if est is not None else diff_means
    if base is not None and p is not None and p < 1 and base != 0:
        df = _small_sample_df(t, c)
        conv = se_from_p(base, p, df=df)
        prefix = "reported_md_p" if est is not None else "md_means_p"
        extra = [reported] if est is not None else ["yi = difference of the arms' means."]
        return _from_conversion(base, conv.values["se"] ** 2, prefix, conv, *extra)
    # Why not: say what is missing.
    if o.p_value is not None and not o.p_value.is_exact and base is not None:
        return _Result(
            reason=f"the p-value is only a bound ({o.p_value.relation}{o.p_value.value:g}) and "
            "no SD, SE or CI is reported"
        )
    if base is not None:
        return _Result(reason="a difference is reported but no SD, SE, CI or exact p-value")
    if o.result is not None:
        return _Result(reason=f"no numbers for the comparison (reported: {o.result.text!r})")
    return _Result(reason="no between-group numbers reported")


def _convert_ratio(o: Outcome, t: Arm, c: Arm, measure: str) -> _Result:
    eff = o.effect if o.effect is not None and o.effect.measure == measure else None
    est = _exact(eff.estimate) if eff else None
    if eff and est is not None and est > 0:
        lo, hi = (_exact(eff.ci_lower), _exact(eff.ci_upper))
        if lo is not None and hi is not None and lo > 0:
            conv = se_from_ci(math.log(lo), math.log(hi), level=eff.level)
            return _from_conversion(
                math.log(est),
                conv.values["se"] ** 2,
                f"reported_{measure.lower()}_ci",
                conv,
                "The CI is symmetric on the log scale.",
            )
        p = _exact(o.p_value)
        if p is not None and p < 1 and est != 1:
            conv = se_from_p(math.log(est), p)
            return _from_conversion(
                math.log(est),
                conv.values["se"] ** 2,
                f"reported_{measure.lower()}_p",
                conv,
                "The p-value tests this ratio (on the log scale) against 1; if the ratio is "
                "adjusted, so is its SE.",
            )
    nt, nc = _exact(t.n), _exact(c.n)
    if nt is not None and nc is not None:
        et, ec = _exact(t.events), _exact(c.events)
        counts = log_odds_ratio_from_counts if measure == "OR" else log_risk_ratio_from_counts
        percents = (
            log_odds_ratio_from_percentages if measure == "OR" else log_risk_ratio_from_percentages
        )
        try:
            if et is not None and ec is not None:
                conv = counts(int(et), int(nt), int(ec), int(nc))
            elif _exact(t.percent) is not None and _exact(c.percent) is not None:
                conv = percents(
                    float(_exact(t.percent) or 0), int(nt), float(_exact(c.percent) or 0), int(nc)
                )
            else:
                return _Result(reason="no responder counts, percentages or reported ratio")
        except InputError as err:
            return _Result(reason="; ".join(p.message for p in err.problems))
        return _Result(
            yi=conv.values["yi"],
            vi=conv.values["vi"],
            method=conv.method,
            assumptions=conv.assumptions,
        )
    return _Result(
        reason="no responder counts with group sizes, and no reported ratio with CI or p"
    )
