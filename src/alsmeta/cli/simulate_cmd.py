"""``alsmeta simulate``: design the next trial by simulation.

``alsmeta simulate power --n-per-arm 50,100,200 --effect 0.25,0.5 [options]``
    Power of a design at each sample size and true effect (:func:`alsmeta.simulate.
    power_curve`): the scenario table as text, JSON (``PowerResult.to_dict()``) or CSV.
    ``--effect from-meta`` takes the effect from the primary meta-analysis of the bundled
    evidence base (the report's), as two scenarios per sample size: the predictive
    distribution (assurance) and the pooled estimate alone, each as the percent slowing
    of decline that gives the pooled MD at six months under ``--model``
    (:func:`alsmeta.simulate.effect_from_meta`).
``alsmeta simulate trajectories [--n 100] [options] -o traj.png``
    One simulated trial drawn as ALSFRS-R trajectories, or its visits as CSV/JSON.

Output convention (both actions): ``-o FILE`` ending in ``.png``, ``.svg`` or ``.pdf``
writes the figure there, and the data (``--format``) still goes to standard output;
any other ``-o FILE`` receives the data instead of standard output. Everything is
rendered before anything is written, and files are replaced atomically.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from alsmeta.cli._io import csv_text
from alsmeta.cli._patients_io import emit_text
from alsmeta.errors import AlsmetaError, InputError, Problem

if TYPE_CHECKING:
    from alsmeta.simulate import TrialDesign

FORMATS: tuple[str, ...] = ("text", "json", "csv")

#: ``-o`` suffixes that mean "write the figure".
FIGURE_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")

FROM_META = "from-meta"

_OUTPUT_HELP = (
    "FILE ending in .png, .svg or .pdf: write the figure there (the --format data still "
    "goes to stdout); any other FILE: write the --format data there instead of stdout"
)


def add_parser(sub: Any) -> None:
    """Add ``alsmeta simulate`` and its actions to the top-level sub-parsers."""
    import alsmeta.simulate  # noqa: F401  (registers every endpoint before ENDPOINTS is read)
    from alsmeta.simulate.analysis import ENDPOINTS
    from alsmeta.simulate.backends import BACKENDS
    from alsmeta.simulate.progression import EFFECT_SCALES
    from alsmeta.simulate.trials import DESIGNS

    p = sub.add_parser(
        "simulate",
        help="trial design: power by simulation, progression trajectories",
        description="Design the next trial: power by simulation and simulated ALSFRS-R "
        "trajectories. -o FILE.png|.svg|.pdf writes the figure (data still to stdout); "
        "-o any other FILE writes the data.",
    )
    actions = p.add_subparsers(dest="simulate_command", metavar="ACTION", required=True)

    pw = actions.add_parser(
        "power",
        help="power and sample size by simulation over sample sizes x effects",
        description="Simulate REPS trials per sample size and true effect, analyse each "
        "as the real trial would be, and report the share with two-sided p < alpha "
        "(Clopper-Pearson 95% Monte Carlo interval). A seed gives the same numbers on "
        "any backend and number of workers. -o curve.png writes the power curve.",
    )
    _design_options(pw, DESIGNS, EFFECT_SCALES)
    pw.add_argument(
        "--endpoint",
        choices=tuple(ENDPOINTS),
        default="slope",
        help="analysis of each simulated trial (default slope)",
    )
    pw.add_argument(
        "--n-per-arm",
        required=True,
        metavar="N[,N...]",
        help="sample sizes per arm (control arm; the only arm of single-arm-lead-in), "
        "e.g. 50,100,200",
    )
    pw.add_argument(
        "--effect",
        required=True,
        metavar="X[,X...]",
        help="true effects on --effect-scale, e.g. 0.25,0.5; or 'from-meta': the primary "
        "meta-analysis of the bundled evidence, as the percent slowing of decline that "
        "gives its MD at 6 months under --model, from its predictive distribution "
        "(assurance) and from its pooled estimate",
    )
    pw.add_argument("--reps", type=int, default=1000, help="trials per scenario (default 1000)")
    pw.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    pw.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default 0.05)")
    pw.add_argument(
        "--null",
        action="store_true",
        help="also simulate a true effect of 0 at each n and report type1_error",
    )
    month_endpoints = [name for name, fn in ENDPOINTS.items() if _accepts(fn, "month")]
    pw.add_argument(
        "--month",
        type=float,
        default=None,
        metavar="MONTHS",
        help="landmark of the endpoint analysis (endpoints: "
        f"{', '.join(month_endpoints) or 'none'}; default the last visit)",
    )
    pw.add_argument(
        "--target-power",
        type=float,
        default=None,
        metavar="P",
        help="also give the smallest simulated n per arm reaching power P, per effect "
        "(text: a table; json/csv: target_power, n_per_arm_simulated, "
        "n_per_arm_interpolated added to every scenario)",
    )
    pw.add_argument(
        "--chunk-size",
        type=int,
        default=250,
        metavar="N",
        help="trials per task (default 250; results depend on it, not on the backend)",
    )
    pw.add_argument("--backend", choices=BACKENDS, default="local", help="default local")
    pw.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="with --backend dask: processes of a local Dask cluster (default 2)",
    )
    pw.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --backend dask: an existing cluster, e.g. tcp://10.0.0.5:8786",
    )
    _output_options(pw)
    pw.set_defaults(handler=handle_power)

    tr = actions.add_parser(
        "trajectories",
        help="one simulated trial as ALSFRS-R trajectories (figure) or visits",
        description="Simulate one trial and draw its ALSFRS-R totals over time (thin "
        "lines per patient, mean +/- SE per arm), or give its visits. -o traj.png writes "
        "the figure; --format csv gives the visits; text gives the per-arm summary.",
    )
    _design_options(tr, DESIGNS, EFFECT_SCALES)
    tr.add_argument("--n", type=int, default=100, help="patients per arm (default 100)")
    tr.add_argument(
        "--effect",
        type=float,
        default=0.0,
        metavar="X",
        help="true effect on --effect-scale (default 0)",
    )
    tr.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    tr.add_argument(
        "--max-subjects",
        type=int,
        default=50,
        metavar="N",
        help="patients drawn as thin lines (default 50; the summary uses all)",
    )
    _output_options(tr)
    tr.set_defaults(handler=handle_trajectories)


def _design_options(p: argparse.ArgumentParser, designs: Any, scales: Any) -> None:
    p.add_argument("--design", choices=tuple(designs), default="parallel", help="default parallel")
    p.add_argument(
        "--model",
        choices=("d50", "linear"),
        default="d50",
        help="natural-history model (default d50)",
    )
    p.add_argument(
        "--effect-scale",
        choices=tuple(scales),
        default=None,
        help="points: points/month slower decline (default); percent: fraction slower "
        "(0.25 = 25%%); d50: months of delay (d50 model only)",
    )
    p.add_argument(
        "--allocation",
        type=float,
        default=1.0,
        metavar="RATIO",
        help="treated per control patient (default 1)",
    )
    p.add_argument("--follow-up-months", type=float, default=6.0, metavar="MONTHS", help="6")
    p.add_argument("--visit-interval-months", type=float, default=1.0, metavar="MONTHS", help="1")
    p.add_argument(
        "--lead-in-months",
        type=float,
        default=3.0,
        metavar="MONTHS",
        help="lead-in designs (default 3)",
    )
    p.add_argument(
        "--min-lead-in-decline",
        type=float,
        default=None,
        metavar="POINTS",
        help="enrichment: enrol only patients who lost at least POINTS over the lead-in",
    )


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="default text")
    p.add_argument("-o", "--output", default=None, metavar="FILE", help=_OUTPUT_HELP)


def _accepts(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


# ----------------------------------------------------------------------- parsing -----
def _int_list(text: str, option: str, problems: list[Problem]) -> list[int]:
    values = []
    for token in text.split(","):
        token = token.strip()
        try:
            values.append(int(token))
        except ValueError:
            problems.append(Problem(f"{option}: {token!r} is not a whole number"))
    return values


def _effects(text: str, problems: list[Problem]) -> list[float | str]:
    values: list[float | str] = []
    for token in text.split(","):
        token = token.strip()
        if token.lower() == FROM_META:
            values.append(FROM_META)
            continue
        try:
            number = float(token)
        except ValueError:
            problems.append(
                Problem(f"--effect: {token!r} is not a number (or the word {FROM_META!r})")
            )
            continue
        if not math.isfinite(number):
            problems.append(Problem(f"--effect: {token!r} must be a finite number"))
        else:
            values.append(number)
    return values


def _figure_output(output: str | None) -> bool:
    return output not in (None, "-") and Path(str(output)).suffix.lower() in FIGURE_SUFFIXES


def _model(name: str) -> Any:
    from alsmeta.simulate import D50Progression, LinearProgression

    return D50Progression() if name == "d50" else LinearProgression()


def _design(args: argparse.Namespace, n: int, problems: list[Problem]) -> TrialDesign | None:
    from alsmeta.simulate import TrialDesign

    try:
        return TrialDesign(
            design=args.design,
            n_per_arm=n,
            allocation=args.allocation,
            follow_up_months=args.follow_up_months,
            visit_interval_months=args.visit_interval_months,
            lead_in_months=args.lead_in_months,
            min_lead_in_decline=args.min_lead_in_decline,
        )
    except InputError as exc:
        problems += exc.problems
        return None


def _meta_effects(model: Any) -> list[Any]:
    """The report's primary meta-analysis as (predictive, pooled) effects for ``model``."""
    from alsmeta.evidence import load_evidence
    from alsmeta.meta import meta_analysis
    from alsmeta.report.build import REPORT_OPTIONS, primary_effect_sizes
    from alsmeta.simulate import effect_from_meta

    es = primary_effect_sizes(load_evidence())
    if es is None or es.k == 0:
        raise AlsmetaError(
            "--effect from-meta: the bundled evidence has no randomised trial with an "
            "ALSFRS-R change at about six months, so there is no primary meta-analysis"
        )
    res = meta_analysis(
        es,
        method=REPORT_OPTIONS["method"],
        test=REPORT_OPTIONS["test"],
        level=REPORT_OPTIONS["level"],
    )
    months = float(REPORT_OPTIONS["target_timepoint_months"])
    return [
        effect_from_meta(res, months=months, predictive=True, model=model),
        effect_from_meta(res, months=months, predictive=False, model=model),
    ]


# ----------------------------------------------------------------------- output ------
def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def _figure_bytes(fig: Any, output: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(output).suffix.lower().lstrip("."), bbox_inches="tight")
    return buffer.getvalue()


def _write_bytes(data: bytes, output: str) -> None:
    from alsmeta.patients.proact import atomic_write_bytes

    try:
        atomic_write_bytes(data, Path(output))
    except OSError as exc:
        raise InputError(Problem(f"cannot write {output}: {exc.strerror or exc}")) from None


def _emit(text: str, figure: Any, output: str | None) -> None:
    """Write the figure (if ``output`` names one) and the data, each completely."""
    if figure is not None and output is not None:
        _write_bytes(_figure_bytes(figure, output), output)
        emit_text(text, None)
    else:
        emit_text(text, output)


def _note(message: str) -> None:
    print(f"alsmeta: note: {message}", file=sys.stderr)


# ----------------------------------------------------------------------- power -------
def _check_power_args(args: argparse.Namespace, problems: list[Problem]) -> None:
    from alsmeta.simulate.analysis import ENDPOINTS

    if args.reps < 1:
        problems.append(Problem(f"--reps {args.reps} must be a positive whole number"))
    if args.chunk_size < 1:
        problems.append(Problem(f"--chunk-size {args.chunk_size} must be a positive number"))
    if args.seed < 0:
        problems.append(Problem(f"--seed {args.seed} must be >= 0"))
    if not 0 < args.alpha < 1:
        problems.append(Problem(f"--alpha {args.alpha:g} must lie strictly between 0 and 1"))
    if args.target_power is not None and not 0 < args.target_power < 1:
        hint = (
            f" (looks like a percentage; use {args.target_power / 100:g})"
            if 1 < args.target_power < 100
            else ""
        )
        problems.append(
            Problem(f"--target-power {args.target_power:g} must lie between 0 and 1{hint}")
        )
    if args.backend == "local":
        if args.workers is not None:
            problems.append(Problem("--workers needs --backend dask"))
        if args.scheduler is not None:
            problems.append(Problem("--scheduler needs --backend dask"))
    if args.workers is not None and args.workers < 1:
        problems.append(Problem(f"--workers {args.workers} must be a positive number"))
    if args.workers is not None and args.scheduler is not None:
        problems.append(Problem("give --workers (a local cluster) or --scheduler, not both"))
    if args.month is not None:
        if not 0 < args.month <= args.follow_up_months:
            problems.append(
                Problem(
                    f"--month {args.month:g} must be after month 0 and within the follow-up "
                    f"(--follow-up-months {args.follow_up_months:g})"
                )
            )
        fn = ENDPOINTS.get(args.endpoint)
        if fn is not None and not _accepts(fn, "month"):
            usable = [name for name, f in ENDPOINTS.items() if _accepts(f, "month")]
            problems.append(
                Problem(
                    f"--month does not apply to endpoint {args.endpoint!r}; it applies to "
                    f"{', '.join(map(repr, usable)) or 'no endpoint'}"
                )
            )


def _with_sample_sizes(frame: pd.DataFrame, sizes: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(sizes, on=["effect", "effect_sd", "effect_scale"], how="left", sort=False)


def _sample_size_text(sizes: pd.DataFrame, target: float) -> str:
    lines = [
        "",
        f"Smallest n per arm reaching power {target:g}:",
        f"{'effect':>9} {'simulated':>11} {'interpolated':>13}",
    ]
    for raw in sizes.to_dict(orient="records"):
        rec = {str(k): v for k, v in raw.items()}
        eff = f"{float(rec['effect']):.3g}" + ("*" if float(rec["effect_sd"]) > 0 else "")
        simulated = float(rec["n_per_arm_simulated"])
        interpolated = float(rec["n_per_arm_interpolated"])
        sim = "not reached" if math.isnan(simulated) else f"{simulated:g}"
        interp = "" if math.isnan(interpolated) else f"{interpolated:.1f}"
        lines.append(f"{eff:>9} {sim:>11} {interp:>13}")
    lines.append("(interpolated on the probit scale between the two bracketing sizes)")
    return "\n".join(lines) + "\n"


def handle_power(args: argparse.Namespace) -> int:
    from alsmeta.simulate import TreatmentEffect, power_curve
    from alsmeta.simulate.backends import tune_allocator

    problems: list[Problem] = []
    sizes = _int_list(args.n_per_arm, "--n-per-arm", problems)
    small = [n for n in sizes if n < 2]
    if small:
        problems.append(
            Problem(f"--n-per-arm: {', '.join(map(str, small))}: each size must be at least 2")
        )
    if len(set(sizes)) != len(sizes):
        problems.append(Problem("--n-per-arm: a size is repeated"))
    tokens = _effects(args.effect, problems)
    _check_power_args(args, problems)
    valid_sizes = [n for n in sizes if n >= 2]
    design = _design(args, valid_sizes[0] if valid_sizes else 100, problems)
    scale = args.effect_scale or "points"
    model = _model(args.model)
    effects: list[Any] = []
    for token in tokens:
        if token == FROM_META:
            effects.append(FROM_META)
            continue
        try:
            effects.append(TreatmentEffect(mean=float(token), scale=scale))
        except InputError as exc:
            problems += [Problem(f"--effect: {p.message}") for p in exc.problems]
    try:
        model.check_effect(scale)
    except InputError:
        problems.append(
            Problem(f"--model {args.model} cannot express an effect on --effect-scale {scale}")
        )
    if problems:
        raise InputError(problems)
    if FROM_META in effects:
        from_meta = _meta_effects(model)
        for effect in from_meta:
            kind = "assurance" if effect.sd > 0 else "fixed"
            _note(f"effect {effect.mean:.1%} slower decline ({kind}): {effect.source}")
        effects = [x for e in effects for x in (from_meta if isinstance(e, str) else [e])]
    tune_allocator()  # this process is ours: keep the simulation's large arrays on the heap
    result = power_curve(
        sizes,
        effects,
        design=design if design is not None else args.design,
        endpoint=args.endpoint,
        model=model,
        effect_scale=scale,
        reps=args.reps,
        seed=args.seed,
        alpha=args.alpha,
        null=args.null,
        chunk_size=args.chunk_size,
        backend=args.backend,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=sys.stderr.isatty(),
        endpoint_options={"month": args.month} if args.month is not None else None,
    )
    target = args.target_power
    sizes_frame = result.sample_size(target) if target is not None else None
    if args.format == "json":
        rows = result.to_dict()
        if sizes_frame is not None:
            extra = _with_sample_sizes(result.scenarios, sizes_frame)
            for row, rec in zip(rows, extra.to_dict(orient="records"), strict=True):
                for key in ("target_power", "n_per_arm_simulated", "n_per_arm_interpolated"):
                    value = float(rec[key])
                    row[key] = value if math.isfinite(value) else None
        text = _json(rows)
    elif args.format == "csv":
        frame = result.to_frame()
        if sizes_frame is not None:
            frame = _with_sample_sizes(frame, sizes_frame)
        text = csv_text(frame)
    else:
        text = result.summary()
        if sizes_frame is not None and target is not None:
            text += _sample_size_text(sizes_frame, target)
    figure = None
    if _figure_output(args.output):
        from alsmeta.plots import power_curve_plot

        figure = power_curve_plot(result, target=target).figure
    _emit(text, figure, args.output)
    return 0


# ----------------------------------------------------------------------- trajectories
def _visit_table(visits: pd.DataFrame) -> Any:
    """A :class:`~alsmeta.patients.VisitTable` of totals only, for the trajectory plot.

    Simulated visits have totals but no items, which :func:`~alsmeta.patients.
    visit_table` requires, so the table is built directly with the columns the plot
    reads (``subject_id``, ``arm``, ``months``, ``total``).
    """
    from alsmeta.patients.visits import VisitTable

    table = pd.DataFrame(
        {
            "subject_id": visits["subject_id"].astype(str),
            "arm": visits["arm"].astype(str),
            "months": visits["t_months"].to_numpy(dtype=float),
            "days": visits["days"].to_numpy(dtype=float),
            "total": visits["total"].to_numpy(dtype=float),
        }
    )
    subjects = table.groupby("subject_id", sort=False).agg(
        arm=("arm", "first"), n_visits=("total", "size")
    )
    return VisitTable(table=table, subjects=subjects.reset_index())


def handle_trajectories(args: argparse.Namespace) -> int:
    import numpy as np

    from alsmeta.plots.power import effect_label
    from alsmeta.simulate import TreatmentEffect, simulate_trials

    problems: list[Problem] = []
    if args.n < 2:
        problems.append(Problem(f"--n {args.n} must be at least 2 patients per arm"))
    if args.max_subjects < 0:
        problems.append(Problem(f"--max-subjects {args.max_subjects} must be >= 0"))
    if args.seed < 0:
        problems.append(Problem(f"--seed {args.seed} must be >= 0"))
    design = _design(args, max(args.n, 2), problems)
    scale = args.effect_scale or "points"
    model = _model(args.model)
    try:
        effect = TreatmentEffect(mean=args.effect, scale=scale)
        model.check_effect(scale)
    except InputError as exc:
        problems += exc.problems
    if problems or design is None:
        raise InputError(problems)
    batch = simulate_trials(design, model, effect, 1, rng=np.random.default_rng(args.seed))
    visits = batch.visits(0)
    vt = _visit_table(visits)
    if args.format == "csv":
        text = csv_text(visits)
    elif args.format == "json":
        records = visits.to_dict(orient="records")
        text = _json([{str(k): _plain(v) for k, v in rec.items()} for rec in records])
    else:
        from alsmeta.plots import trajectory_summary

        summary = trajectory_summary(vt)
        header = (
            f"One simulated trial: {design.design} design, {design.n_control} control and "
            f"{design.n_treated} treated patients; {model.name} model; true effect "
            f"{effect_label(args.effect, scale)}; seed {args.seed}\n"
            f"{int(batch.died[0].sum())} died and "
            f"{int(np.isfinite(batch.dropout_months[0]).sum())} dropped out during follow-up\n\n"
        )
        table = summary.to_string(index=False, float_format=lambda x: f"{x:.2f}")
        text = header + table + "\n"
    figure = None
    if _figure_output(args.output):
        from alsmeta.plots import trajectory_plot

        ax = trajectory_plot(vt, max_subjects=args.max_subjects)
        ax.set_title(
            f"Simulated {design.design} trial ({model.name} model), true effect "
            f"{effect_label(args.effect, scale)}",
            fontsize=9,
        )
        figure = ax.figure
    _emit(text, figure, args.output)
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return _plain(value.item())
    return value
