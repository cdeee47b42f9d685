"""Power and sample size by simulation, and the closed forms they are checked against.

:func:`power_curve` runs every scenario (sample size x true effect) as chunks of replicate
trials, each chunk simulated and analysed as arrays (:mod:`alsmeta.simulate.analysis`).
Each chunk draws from ``numpy.random.SeedSequence(seed, spawn_key=(n, c))`` for
``n_per_arm = n`` and chunk ``c`` -- a pure function of the task, so a seed gives the same
numbers on the local backend and on Dask with any number of workers, adding sample sizes
to the grid leaves the others' numbers unchanged, and every effect at one sample size
sees the same simulated patients (common random numbers, which keeps the power curve
smooth across effects).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsmeta.errors import InputError, Problem, check_level
from alsmeta.simulate.analysis import ENDPOINTS, analyse
from alsmeta.simulate.backends import run_tasks
from alsmeta.simulate.progression import D50Progression, LinearProgression, ProgressionModel
from alsmeta.simulate.trials import TreatmentEffect, TrialDesign, simulate_trials

__all__ = [
    "PowerResult",
    "analytic_slope_power",
    "effect_from_meta",
    "expected_difference",
    "power_curve",
    "two_sample_power",
]

POWER_KEYS = (
    "design", "endpoint", "n_per_arm", "effect", "reps", "power", "power_ci_lower",
    "power_ci_upper", "type1_error",
)  # fmt: skip
"""The keys every scenario of ``alsmeta simulate power --format json`` starts with."""


# --------------------------------------------------------------------------- closed forms
def two_sample_power(
    delta: float, sd: float, n_control: int, n_treated: int, *, alpha: float = 0.05
) -> float:
    """Power of the two-sided two-sample t test (equal variances).

    Parameters
    ----------
    delta : float
        True difference in means.
    sd : float
        Common standard deviation.
    n_control, n_treated : int
    alpha : float, default 0.05

    Returns
    -------
    float

    Notes
    -----
    With :math:`\\nu = n_0 + n_1 - 2` and noncentrality
    :math:`\\lambda = \\delta / (\\sigma \\sqrt{1/n_0 + 1/n_1})` and
    :math:`c = t_{1-\\alpha/2,\\nu}`, power
    :math:`= P(T'_{\\nu,\\lambda} > c) + P(T'_{\\nu,\\lambda} < -c)`
    (noncentral t), as R's ``power.t.test(strict = TRUE)``.

    References
    ----------
    Cohen J. Statistical Power Analysis for the Behavioral Sciences, 2nd ed. 1988,
    Table 2.4.1: d = 0.5 needs 64 per group for power 0.80 at two-sided alpha 0.05.

    Examples
    --------
    >>> from alsmeta.simulate import two_sample_power
    >>> round(two_sample_power(0.5, 1.0, 64, 64), 3)
    0.801
    """
    df = n_control + n_treated - 2
    ncp = delta / (sd * math.sqrt(1 / n_control + 1 / n_treated))
    crit = stats.t.ppf(1 - alpha / 2, df)
    # P(T' < -c) as the upper tail of T' with -ncp: scipy's lower-tail cdf gives nan for
    # a large noncentrality where the tail underflows.
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.sf(crit, df, -ncp))


def analytic_slope_power(
    model: LinearProgression, design: TrialDesign, effect: float, *, alpha: float = 0.05
) -> float:
    """Closed-form power of the slope endpoint in the case where one exists.

    With linear trajectories, normally distributed rates, no clipping, no rounding, no
    death or dropout and the same visits for everyone, the mixed model's t test of the
    slope difference is the two-sample t test on per-patient least-squares slopes, whose
    variance is :math:`\\sigma_r^2 + \\sigma_e^2 / S_{tt}`
    (:math:`S_{tt} = \\sum_j (t_j - \\bar t)^2`). ``effect`` is in points/month.

    Raises
    ------
    InputError
        If the model or design is outside that case.
    """
    problems = []
    if model.rate_distribution != "normal" or model.rounding:
        problems.append(Problem("needs rate_distribution='normal' and rounding=False"))
    if np.isfinite(model.rate_range).any():
        problems.append(Problem("needs rate_range=(-inf, inf) (no clipping)"))
    if model.death.rate_per_month or model.dropout.rate_per_month:
        problems.append(Problem("needs no death and no dropout"))
    if design.design == "single-arm-lead-in":
        problems.append(Problem("needs two arms"))
    if problems:
        raise InputError(problems)
    t = design.months()
    t = t[t >= 0]
    stt = float(((t - t.mean()) ** 2).sum())
    sd = math.sqrt(model.rate_sd**2 + model.noise_sd**2 / stt)
    return two_sample_power(effect, sd, design.n_control, design.n_treated, alpha=alpha)


#: Patients (and their fixed seed) over which :func:`expected_difference` averages.
_CALIBRATION_PATIENTS = 200_000
_CALIBRATION_SEED = 20260101


def expected_difference(
    model: ProgressionModel, effect: float | TreatmentEffect, *, months: float = 6.0,
    scale: str = "points",
) -> float:  # fmt: skip
    """Expected treated minus control ALSFRS-R total ``months`` after the start of treatment.

    The average over the model's patient population (200,000 patients drawn with a fixed
    seed, so the value is reproducible to about 0.005 points) of the noise-free totals
    :meth:`ProgressionModel.expected` gives with and without ``effect``; death, dropout,
    measurement noise and rounding are left out. This is the mean difference in change
    from baseline that a very large trial would report at ``months`` if every patient
    were measured, the quantity a meta-analysis of ALSFRS-R change pools.

    Parameters
    ----------
    model : ProgressionModel
    effect : float or TreatmentEffect
        The true effect (its mean; a number is on ``scale``).
    months : float, default 6
    scale : {"points", "percent", "d50"}, default "points"
        Scale of a numeric ``effect``.

    Examples
    --------
    >>> from alsmeta.simulate import LinearProgression, expected_difference
    >>> round(expected_difference(LinearProgression(), 0.25, months=6.0), 3)
    1.5
    """
    if not (isinstance(months, int | float) and math.isfinite(months) and months > 0):
        raise InputError(Problem(f"months={months!r} must be > 0"))
    eff = _as_effect(effect, scale)
    model.check_effect(eff.scale)
    return _difference_function(model, float(months), eff.scale)(float(eff.mean))


@functools.lru_cache(maxsize=8)
def _difference_function(model: ProgressionModel, months: float, scale: str) -> Any:
    """``effect -> expected difference at months`` on fixed draws of the population.

    Cached: the pooled and predictive effects and the report's comparison effect share
    one set of 200,000 drawn patients instead of drawing it for each call.
    """
    rng = np.random.default_rng(_CALIBRATION_SEED)
    draws = model.draw(rng, (1, _CALIBRATION_PATIENTS))
    at = np.array([float(months)])
    control = model.expected(draws, at, np.zeros((1, _CALIBRATION_PATIENTS)), scale)
    base = float(control.mean())

    def difference(value: float) -> float:
        effect = np.full((1, _CALIBRATION_PATIENTS), value)
        return float(model.expected(draws, at, effect, scale).mean()) - base

    return difference


def effect_from_meta(
    result: Any,
    *,
    months: float = 6.0,
    predictive: bool = True,
    model: ProgressionModel | None = None,
) -> TreatmentEffect:
    """The true effect implied by a meta-analysis of ALSFRS-R change at ``months``.

    The pooled mean difference (MD, points) is turned into the fraction by which cell
    therapy slows every patient's decline (``scale="percent"``) that gives that MD at
    ``months`` in ``model``'s patient population (:func:`expected_difference`, solved by
    Brent's method). So a simulated trial under this effect is, on average, the trial the
    meta-analysis describes, whatever the shape of the natural history.

    Parameters
    ----------
    result : MetaAnalysisResult
        A meta-analysis of mean differences in ALSFRS-R change (points) at about
        ``months`` after the start of treatment.
    months : float, default 6
        The landmark of the pooled outcome.
    predictive : bool, default True
        Draw each simulated trial's true effect from the predictive distribution
        :math:`N(\\hat\\mu, \\hat\\tau^2 + SE^2)` of the MD (the distribution behind
        metafor's prediction interval), carried to the percent scale by the slope of the
        MD in the fraction at the pooled estimate (a linearisation); ``False`` uses the
        pooled estimate alone.
    model : ProgressionModel, optional
        The natural history of the simulated trials; default :class:`D50Progression`,
        the default of :func:`power_curve`.

    Returns
    -------
    TreatmentEffect
        On the ``"percent"`` scale, with the MD, the model and the calibration in
        ``source``.

    Raises
    ------
    InputError
        ``months`` not > 0, or an MD the model cannot produce (stopping the disease
        entirely gives the largest possible MD).
    """
    if not (isinstance(months, int | float) and math.isfinite(months) and months > 0):
        raise InputError(Problem(f"months={months!r} must be > 0"))
    from scipy.optimize import brentq

    model = D50Progression() if model is None else model
    md = float(result.estimate)
    difference = _difference_function(model, float(months), "percent")
    lo, hi = -3.0, 0.999
    top, bottom = difference(hi), difference(lo)
    if not bottom < md < top:
        raise InputError(
            Problem(
                f"a pooled MD of {md:.3g} points at {months:g} months is outside what the "
                f"{model.name} model can produce ({bottom:.3g} to {top:.3g}: from tripling "
                "the speed of decline to stopping it)"
            )
        )
    fraction = float(brentq(lambda f: difference(f) - md, lo, hi, xtol=1e-10))
    sd = 0.0
    if predictive:
        step = 1e-3
        slope = (difference(min(fraction + step, hi)) - difference(fraction - step)) / (
            min(fraction + step, hi) - (fraction - step)
        )
        sd = math.sqrt(float(result.tau2) + float(result.se) ** 2) / slope
    what = "predictive distribution" if predictive else "pooled estimate"
    source = (
        f"meta-analysis of {result.k} trials ({result.method}): MD {md:.3g} points at "
        f"{months:g} months, tau2 {result.tau2:.3g}, SE {result.se:.3g}; {what} as the "
        f"slowing of decline that gives this MD at {months:g} months in the {model.name} "
        "model"
    )
    return TreatmentEffect(mean=fraction, sd=sd, scale="percent", source=source)


# --------------------------------------------------------------------------- engine ----
@dataclass(frozen=True, slots=True)
class _Task:
    design: TrialDesign
    model: ProgressionModel
    effects: tuple[TreatmentEffect, ...]
    endpoint: str
    options: tuple[tuple[str, Any], ...]
    reps: int
    seed: int
    key: tuple[int, int]


def _run_chunk(task: _Task) -> list[dict[str, np.ndarray]]:
    """Simulate and analyse one chunk for every effect; pure function of ``task``."""
    out = []
    for effect in task.effects:
        rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=task.key))
        batch = simulate_trials(task.design, task.model, effect, task.reps, rng=rng)
        res = analyse(batch, task.endpoint, **dict(task.options))
        out.append(
            {
                "true_effect": np.asarray(batch.true_effect),
                "estimate": res.estimate,
                "p_value": res.p_value,
                "favours_treatment": res.favours_treatment,
                "n_analysed": res.n_analysed,
            }
        )
    return out


def _clopper_pearson(k: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    a = 1 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(a / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - a / 2, k + 1, n - k), 1.0)
    return lo, hi


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PowerResult:
    """Power by simulation over a grid of sample sizes and effects.

    Attributes
    ----------
    scenarios : DataFrame
        One row per (n_per_arm, effect): ``design, endpoint, n_per_arm, n_treated,
        effect, effect_scale, effect_sd, reps, power, power_ci_lower, power_ci_upper``
        (Clopper-Pearson), ``power_favourable`` (significant and in favour of
        treatment) and its interval, ``type1_error`` and its interval (from the null run at
        the same n, ``nan`` without one), ``mean_estimate``, ``not_analysable``,
        ``effect_source`` (where a drawn effect comes from, e.g. the meta-analysis).
    replicates : DataFrame
        One row per simulated trial: scenario keys, ``replicate, true_effect, estimate,
        p_value, favours_treatment, n_analysed``.
    design, model, endpoint, alpha, level, seed, chunk_size, backend, workers, notes
        The options used.
    """

    scenarios: pd.DataFrame
    replicates: pd.DataFrame
    design: TrialDesign
    model: ProgressionModel
    endpoint: str
    description: str
    alpha: float
    level: float
    seed: int
    chunk_size: int
    backend: str
    workers: int | None
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The scenario table (a copy)."""
        return self.scenarios.copy()

    def to_dict(self) -> list[dict[str, Any]]:
        """One JSON-safe object per scenario, keys as ``alsmeta simulate power``."""
        rows = []
        for raw in self.scenarios.to_dict(orient="records"):
            rec = {str(k): v for k, v in raw.items()}
            row = {k: rec[k] for k in POWER_KEYS}
            row.update({k: v for k, v in rec.items() if k not in POWER_KEYS})
            rows.append({k: _json(v) for k, v in row.items()})
        return rows

    def sample_size(self, target: float = 0.8, *, column: str = "power") -> pd.DataFrame:
        """Smallest simulated ``n_per_arm`` reaching ``target`` power, per effect.

        Effects are told apart by mean, SD and scale (a predictive effect and its pooled
        mean are two rows).

        ``n_per_arm_interpolated`` interpolates linearly on the probit scale between the
        two simulated sizes that bracket the target (``nan`` if no size reaches it).
        ``column="power_favourable"`` counts only trials significant in favour of
        treatment: the usual definition of assurance, and the right one whenever the
        true effect can be harmful (a predictive distribution reaching below zero).
        """
        problems = []
        if not 0 < target < 1:
            problems.append(Problem(f"target={target!r} must be in (0, 1)"))
        if column not in ("power", "power_favourable"):
            problems.append(Problem(f"column={column!r} must be 'power' or 'power_favourable'"))
        if problems:
            raise InputError(problems)
        rows = []
        keys = ["effect", "effect_sd", "effect_scale"]
        for key, grp in self.scenarios.groupby(keys, sort=False):
            effect, effect_sd, effect_scale = key
            grp = grp.sort_values("n_per_arm")
            n = grp["n_per_arm"].to_numpy(dtype=float)
            pw = grp[column].to_numpy(dtype=float)
            hit = np.flatnonzero(pw >= target)
            first = float(n[hit[0]]) if hit.size else math.nan
            interp = math.nan
            if hit.size and hit[0] > 0:
                i = hit[0]
                z = stats.norm.ppf(np.clip(pw[i - 1 : i + 1], 1e-6, 1 - 1e-6))
                zt = stats.norm.ppf(target)
                interp = float(n[i - 1] + (zt - z[0]) * (n[i] - n[i - 1]) / (z[1] - z[0]))
            elif hit.size:
                interp = first
            rows.append(
                {
                    "effect": effect,
                    "effect_sd": effect_sd,
                    "effect_scale": effect_scale,
                    "target_power": target,
                    "n_per_arm_simulated": first,
                    "n_per_arm_interpolated": interp,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The scenarios as a text table."""
        d = self.design
        lines = [
            f"Power by simulation: {d.design} design, endpoint {self.endpoint}",
            f"  {self.description}",
            f"  progression model {self.model.name}; alpha {self.alpha:g} two-sided; "
            f"{int(self.scenarios['reps'].iloc[0])} trials per scenario; seed {self.seed}",
            "",
            f"{'n/arm':>6} {'effect':>9} {'power':>7} {'95% CI':>17} {'favourable':>10} "
            f"{'type I':>7}",
        ]
        for raw in self.scenarios.to_dict(orient="records"):
            rec = {str(k): v for k, v in raw.items()}
            eff = f"{rec['effect']:.3g}" + ("*" if rec["effect_sd"] > 0 else "")
            t1 = "" if math.isnan(rec["type1_error"]) else f"{rec['type1_error']:.3f}"
            ci = f"[{rec['power_ci_lower']:.3f}, {rec['power_ci_upper']:.3f}]"
            lines.append(
                f"{rec['n_per_arm']:>6} {eff:>9} {rec['power']:>7.3f} {ci:>17} "
                f"{rec['power_favourable']:>10.3f} {t1:>7}"
            )
        if (self.scenarios["effect_sd"] > 0).any():
            lines.append("* effect drawn per trial from a predictive distribution (assurance)")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _check_endpoint_options(endpoint: str, options: dict[str, Any]) -> list[Problem]:
    import inspect

    params = inspect.signature(ENDPOINTS[endpoint]).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    known = [name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return [
        Problem(
            f"endpoint {endpoint!r} has no option {name!r}; its options: "
            + (", ".join(map(repr, known)) or "none")
        )
        for name in options
        if name not in known
    ]


def _as_effect(value: float | TreatmentEffect, scale: str) -> TreatmentEffect:
    if isinstance(value, TreatmentEffect):
        return value
    return TreatmentEffect(mean=float(value), scale=scale)


def power_curve(
    n_per_arm: Sequence[int],
    effects: Sequence[float | TreatmentEffect],
    *,
    design: TrialDesign | str = "parallel",
    endpoint: str = "slope",
    model: ProgressionModel | None = None,
    effect_scale: str = "points",
    reps: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    null: bool = False,
    level: float = 0.95,
    chunk_size: int = 250,
    backend: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    endpoint_options: dict[str, Any] | None = None,
) -> PowerResult:
    """Power of a trial design at each sample size and true effect, by simulation.

    Parameters
    ----------
    n_per_arm : sequence of int
        Sample sizes (control arm; the treated arm is ``allocation`` times larger).
    effects : sequence of float or TreatmentEffect
        True effects; numbers are on ``effect_scale``.
    design : TrialDesign or str, default "parallel"
        A design (its ``n_per_arm`` is replaced by each value), or a design name.
    endpoint : str, default "slope"
        A key of :data:`alsmeta.simulate.analysis.ENDPOINTS`.
    model : ProgressionModel, optional
        Default :class:`D50Progression` with its cited natural-history parameters.
    effect_scale : {"points", "percent", "d50"}, default "points"
    reps : int, default 1000
        Simulated trials per scenario.
    seed : int, default 0
    alpha : float, default 0.05
        Two-sided significance level.
    null : bool, default False
        Also simulate a true effect of zero at each sample size and report the
        rejection rate as ``type1_error``.
    level : float, default 0.95
        Confidence level of the Monte Carlo intervals (Clopper-Pearson).
    chunk_size : int, default 250
        Replicate trials per task. Results depend on it (it fixes which random numbers
        go to which trial), not on the backend or the number of workers.
    backend, workers, scheduler
        See :func:`alsmeta.simulate.backends.run_tasks`.
    progress : bool, default False
        Progress bar on stderr.
    endpoint_options : dict, optional
        Options of the endpoint analysis (e.g. ``{"month": 6}`` for ANCOVA).

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from alsmeta.simulate import LinearProgression, power_curve
    >>> res = power_curve([30], [0.5], model=LinearProgression(), reps=20, seed=1)
    >>> row = res.to_dict()[0]
    >>> row["n_per_arm"], row["effect"], row["reps"], 0 <= row["power"] <= 1
    (30, 0.5, 20, True)
    """
    problems: list[Problem] = []
    if isinstance(design, str):
        try:
            design = TrialDesign(design=design)
        except InputError as exc:
            problems += exc.problems
    sizes = list(n_per_arm)
    if not sizes or any(not isinstance(n, int | np.integer) or n < 2 for n in sizes):
        problems.append(Problem(f"n_per_arm={sizes!r} must be integers >= 2"))
    if len(set(sizes)) != len(sizes):
        problems.append(Problem("n_per_arm has repeated values"))
    if not list(effects):
        problems.append(Problem("give at least one effect"))
    if not isinstance(reps, int | np.integer) or reps < 1:
        problems.append(Problem(f"reps={reps!r} must be a positive integer"))
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        problems.append(Problem(f"chunk_size={chunk_size!r} must be a positive integer"))
    if not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(Problem(f"seed={seed!r} must be a non-negative integer"))
    if not 0 < alpha < 1:
        problems.append(Problem(f"alpha={alpha!r} must be in (0, 1)"))
    if endpoint not in ENDPOINTS:
        problems.append(
            Problem(f"endpoint={endpoint!r} is not one of {', '.join(map(repr, ENDPOINTS))}")
        )
    if endpoint in ENDPOINTS:
        problems += _check_endpoint_options(endpoint, endpoint_options or {})
    try:
        effect_list = [_as_effect(e, effect_scale) for e in effects]
    except InputError as exc:
        problems += exc.problems
        effect_list = []
    if problems:
        raise InputError(problems)
    assert isinstance(design, TrialDesign)
    level = check_level(level)
    model = model if model is not None else D50Progression()
    for e in effect_list:
        model.check_effect(e.scale)
    run_effects = list(effect_list)
    if null:
        run_effects.append(TreatmentEffect(mean=0.0, scale=effect_list[0].scale))
    options = tuple(sorted((endpoint_options or {}).items()))

    designs = [replace(design, n_per_arm=int(n)) for n in sizes]
    # Fail fast on options the endpoint refuses (before starting a cluster).
    probe = simulate_trials(designs[0], model, run_effects[0], 1, rng=np.random.default_rng(0))
    description = analyse(probe, endpoint, **dict(options)).description

    n_chunks = -(-int(reps) // int(chunk_size))
    tasks, chunk_sizes = [], []
    for d in designs:
        for c in range(n_chunks):
            size = min(chunk_size, reps - c * chunk_size)
            tasks.append(_Task(d, model, tuple(run_effects), endpoint, options, size,
                               int(seed), (int(d.n_per_arm), c)))  # fmt: skip
            chunk_sizes.append(size * len(run_effects))
    results = run_tasks(_run_chunk, tasks, chunk_sizes, backend=backend, workers=workers,
                        scheduler=scheduler, progress=progress)  # fmt: skip

    frames = []
    for task, per_effect in zip(tasks, results, strict=True):
        for j, res in enumerate(per_effect):
            frames.append(
                pd.DataFrame(
                    {
                        "n_per_arm": task.design.n_per_arm,
                        "effect_index": j,
                        "chunk": task.key[1],
                        "replicate": task.key[1] * chunk_size + np.arange(task.reps),
                        **res,
                    }
                )
            )
    reps_frame = pd.concat(frames, ignore_index=True)
    null_index = len(effect_list) if null else None
    rows = []
    for d in designs:
        sub = reps_frame[reps_frame["n_per_arm"] == d.n_per_arm]
        t1 = t1_lo = t1_hi = math.nan
        if null_index is not None:
            nul = sub[sub["effect_index"] == null_index]
            k0 = int((nul["p_value"] < alpha).sum())
            t1 = k0 / len(nul)
            lo, hi = _clopper_pearson(np.array(k0), np.array(len(nul)), level)
            t1_lo, t1_hi = float(lo), float(hi)
        for j, e in enumerate(effect_list):
            r = sub[sub["effect_index"] == j]
            sig = (r["p_value"] < alpha).to_numpy()
            k = int(sig.sum())
            k_fav = int((sig & r["favours_treatment"].to_numpy()).sum())
            lo, hi = _clopper_pearson(np.array(k), np.array(len(r)), level)
            fav_lo, fav_hi = _clopper_pearson(np.array(k_fav), np.array(len(r)), level)
            rows.append(
                {
                    "design": d.design,
                    "endpoint": endpoint,
                    "n_per_arm": int(d.n_per_arm),
                    "effect": float(e.mean),
                    "reps": len(r),
                    "power": k / len(r),
                    "power_ci_lower": float(lo),
                    "power_ci_upper": float(hi),
                    "type1_error": t1,
                    "type1_error_ci_lower": t1_lo,
                    "type1_error_ci_upper": t1_hi,
                    "n_treated": int(d.n_treated),
                    "effect_scale": e.scale,
                    "effect_sd": float(e.sd),
                    "effect_source": e.source,
                    "power_favourable": k_fav / len(r),
                    "power_favourable_ci_lower": float(fav_lo),
                    "power_favourable_ci_upper": float(fav_hi),
                    "mean_estimate": _mean(r["estimate"].to_numpy()),
                    "not_analysable": int(r["p_value"].isna().sum()),
                }
            )
    scenarios = pd.DataFrame(rows)
    effect_values = [*[e.mean for e in effect_list], *([0.0] if null else [])]
    reps_frame.insert(1, "effect", np.asarray(effect_values)[reps_frame["effect_index"]])
    reps_frame["is_null_run"] = reps_frame["effect_index"] == (null_index if null else -1)
    notes = []
    if scenarios["not_analysable"].sum():
        notes.append(
            f"{int(scenarios['not_analysable'].sum())} simulated trials could not be analysed "
            "and count as not significant"
        )
    return PowerResult(
        scenarios=scenarios,
        replicates=reps_frame,
        design=design,
        model=model,
        endpoint=endpoint,
        description=description,
        alpha=float(alpha),
        level=level,
        seed=int(seed),
        chunk_size=int(chunk_size),
        backend=backend,
        workers=workers,
        notes=tuple(notes),
    )
