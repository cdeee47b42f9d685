"""``alsmeta patients``: per-patient slopes, lead-in change, responders, D50, synthetic cohorts.

FILE is a plain CSV (one row per visit; readable or PRO-ACT item names), a folder of
PRO-ACT per-form files, or a DREAM pipe-delimited ``all_forms`` file. Output is rendered
completely before anything is written, and files are replaced atomically, so a failure
writes nothing. ``--keep-going`` skips bad visits and lists each one on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from alsmeta.cli import patients_compare, patients_outcomes
from alsmeta.cli._io import csv_text
from alsmeta.cli._patients_io import emit_text, load_visits, render_text
from alsmeta.errors import InputError, Problem
from alsmeta.patients import (
    PRESETS,
    fit_d50,
    lead_in,
    responders,
    slopes,
    synth_cohort,
    write_proact,
    write_proact_long,
    write_visits,
)
from alsmeta.patients.responders import HANDLING


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "patients",
        help="patient-level ALSFRS-R analysis: slopes, lead-in, responders, D50, synth",
        description="Per-patient analysis of ALSFRS-R visits.",
    )
    actions = p.add_subparsers(dest="patients_command", metavar="ACTION", required=True)

    s = actions.add_parser(
        "slopes",
        help="least-squares ALSFRS-R slope per patient",
        description="One OLS slope (points/month, negative = decline) per patient.",
    )
    _input_options(s)
    s.add_argument(
        "--time",
        choices=("baseline", "onset"),
        default="baseline",
        help="time axis: months from trial time 0 (default) or from onset",
    )
    s.add_argument(
        "--window",
        nargs=2,
        type=float,
        default=None,
        metavar=("START", "END"),
        help="use visits with START <= months <= END",
    )
    s.add_argument("--min-visits", type=int, default=2, metavar="N", help="default 2")
    s.add_argument(
        "--min-span",
        type=float,
        default=0.0,
        metavar="MONTHS",
        help="minimum first-to-last interval in months (default 0)",
    )
    s.add_argument(
        "--anchor-onset",
        action="store_true",
        help="add a pseudo-visit of 48 at symptom onset (Karanevich 2018)",
    )
    _output_options(s, default="csv")
    s.set_defaults(handler=handle_slopes)

    li = actions.add_parser(
        "lead-in",
        help="pre- vs post-treatment slope per patient and the paired test",
        description="Lead-in design: slope after minus slope before treatment, paired test.",
    )
    _input_options(li)
    _treatment_options(li)
    li.add_argument(
        "--post-months",
        type=float,
        default=None,
        metavar="MONTHS",
        help="use visits up to MONTHS after treatment (default all)",
    )
    li.add_argument("--min-visits", type=int, default=2, metavar="N", help="default 2")
    li.add_argument("--min-span", type=float, default=0.0, metavar="MONTHS", help="default 0")
    li.add_argument("--test", choices=("t", "wilcoxon"), default="t")
    li.add_argument("--level", type=float, default=0.95, help="default 0.95")
    _output_options(li, default="text")
    li.set_defaults(handler=handle_lead_in)

    r = actions.add_parser(
        "responders",
        help="responder status per patient under a published or custom rule",
        description="Responder analysis of a lead-in design. Presets: "
        + "; ".join(rule.describe() for rule in PRESETS.values()),
    )
    _input_options(r)
    r.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="nurown_ph3",
        help="rule to start from (default nurown_ph3)",
    )
    r.add_argument("--measure", choices=("absolute", "percent"), default=None)
    r.add_argument("--threshold", type=float, default=None)
    r.add_argument("--pre-slope", choices=("ols", "two_point", "delta_fs"), default=None)
    r.add_argument("--post-slope", choices=("ols", "two_point"), default=None)
    r.add_argument(
        "--post-months",
        type=float,
        default=None,
        metavar="MONTHS",
        help="landmark in months after treatment",
    )
    r.add_argument("--death", choices=HANDLING, default=None)
    r.add_argument("--dropout", choices=HANDLING, default=None)
    r.add_argument("--min-visits", type=int, default=None, metavar="N")
    r.add_argument(
        "--visit-window-days",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="last visit this close to the landmark counts as completed (14)",
    )
    _treatment_options(r)
    _output_options(r, default="csv")
    r.set_defaults(handler=handle_responders)

    d = actions.add_parser(
        "d50",
        help="D50 sigmoid model per patient",
        description="Fit ALSFRS-R = 48 / (1 + exp((t - D50) / dx)) per patient.",
    )
    _input_options(d)
    d.add_argument("--min-visits", type=int, default=3, metavar="N", help="default 3")
    d.add_argument(
        "--d50-bounds",
        nargs=2,
        type=float,
        default=None,
        metavar=("LOW", "HIGH"),
        help="months (default 3 120)",
    )
    d.add_argument(
        "--dx-bounds",
        nargs=2,
        type=float,
        default=None,
        metavar=("LOW", "HIGH"),
        help="months (default 1 10)",
    )
    d.add_argument("--progress", action="store_true", help="progress bar on stderr")
    _output_options(d, default="csv")
    d.set_defaults(handler=handle_d50)

    y = actions.add_parser(
        "synth",
        help="simulate a cohort of ALSFRS-R visits",
        description="Synthetic cohort: D50-type decay, item level, deaths and dropouts.",
    )
    y.add_argument("--n", type=int, default=200, help="number of patients (default 200)")
    y.add_argument("--seed", type=int, default=None, help="random seed")
    y.add_argument(
        "--layout",
        choices=("plain", "proact", "long"),
        default="plain",
        help="plain CSV, PRO-ACT per-form files (OUT is a folder), or DREAM long",
    )
    y.add_argument(
        "--prefix",
        choices=("PROACT_", "F_PROACT_"),
        default="PROACT_",
        help="PRO-ACT file names (with --layout proact)",
    )
    y.add_argument(
        "--effect",
        type=float,
        default=0.0,
        help="proportional slowing in the active arm, 0-1 (default 0)",
    )
    y.add_argument("--follow-up", type=float, default=12.0, metavar="MONTHS")
    y.add_argument("--lead-in", type=float, default=3.0, metavar="MONTHS")
    y.add_argument("--interval", type=float, default=1.0, metavar="MONTHS")
    y.add_argument("--dropout-rate", type=float, default=0.01, metavar="PER_MONTH")
    y.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="OUT",
        help="output file, or folder for --layout proact (default stdout)",
    )
    y.set_defaults(handler=handle_synth)
    patients_compare.add_parser(actions)
    patients_outcomes.add_parsers(actions, _input_options)


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file",
        metavar="FILE",
        help="plain CSV ('-' for stdin), PRO-ACT folder, or DREAM all_forms file",
    )
    p.add_argument(
        "--sort", action="store_true", help="sort visits by time within a subject (plain CSV)"
    )
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="skip bad visits (each listed on stderr) instead of stopping",
    )


def _treatment_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--treatment-day",
        type=float,
        default=0.0,
        metavar="DAY",
        help="day of first treatment (default 0 = trial time 0)",
    )
    p.add_argument(
        "--pre-months",
        type=float,
        default=None,
        metavar="MONTHS",
        help="use lead-in visits within MONTHS before treatment (default all)",
    )


def _output_options(p: argparse.ArgumentParser, *, default: str) -> None:
    p.add_argument(
        "--format", choices=("text", "csv", "json"), default=default, help=f"default {default}"
    )
    p.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="output file (default stdout)"
    )


def _render(result: Any, fmt: str) -> str:
    if fmt == "csv":
        return csv_text(result.to_frame())
    return render_text(result, fmt)


def handle_slopes(args: argparse.Namespace) -> int:
    vt = load_visits(args)
    result = slopes(
        vt,
        time=args.time,
        window=None if args.window is None else tuple(args.window),
        min_visits=args.min_visits,
        min_span_months=args.min_span,
        anchor_onset=args.anchor_onset,
    )
    emit_text(_render(result, args.format), args.output)
    return 0


def handle_lead_in(args: argparse.Namespace) -> int:
    vt = load_visits(args)
    result = lead_in(
        vt,
        treatment_day=args.treatment_day,
        pre_months=args.pre_months,
        post_months=args.post_months,
        min_visits=args.min_visits,
        min_span_months=args.min_span,
        test=args.test,
        level=args.level,
    )
    emit_text(_render(result, args.format), args.output)
    return 0


def handle_responders(args: argparse.Namespace) -> int:
    vt = load_visits(args)
    changes = {
        key: value
        for key, value in (
            ("measure", args.measure),
            ("threshold", args.threshold),
            ("pre_slope", args.pre_slope),
            ("post_slope", args.post_slope),
            ("post_months", args.post_months),
            ("death", args.death),
            ("dropout", args.dropout),
            ("min_visits", args.min_visits),
        )
        if value is not None
    }
    result = responders(
        vt,
        args.preset,
        treatment_day=args.treatment_day,
        pre_months=args.pre_months,
        visit_window_days=args.visit_window_days,
        **changes,
    )
    emit_text(_render(result, args.format), args.output)
    return 0


def handle_d50(args: argparse.Namespace) -> int:
    vt = load_visits(args)
    bounds = {
        key: tuple(value)
        for key, value in (("d50_bounds", args.d50_bounds), ("dx_bounds", args.dx_bounds))
        if value is not None
    }
    result = fit_d50(
        vt,
        min_visits=args.min_visits,
        progress=True if args.progress else None,
        **bounds,
    )
    emit_text(_render(result, args.format), args.output)
    return 0


def handle_synth(args: argparse.Namespace) -> int:
    if args.n is None or args.n < 1:
        raise InputError(Problem(f"--n {args.n} must be a positive number of patients"))
    cohort = synth_cohort(
        args.n,
        rng=np.random.default_rng(args.seed),
        effect=args.effect,
        follow_up_months=args.follow_up,
        lead_in_months=args.lead_in,
        visit_interval_months=args.interval,
        dropout_per_month=args.dropout_rate,
    )
    if args.layout == "proact":
        if args.output in (None, "-"):
            raise InputError(Problem("--layout proact writes a folder of files: give -o FOLDER"))
        if Path(args.output).exists() and not Path(args.output).is_dir():
            raise InputError(Problem(f"-o {args.output} exists and is not a folder"))
        try:
            write_proact(cohort, args.output, prefix=args.prefix)
        except OSError as exc:
            raise InputError(Problem(f"cannot write {args.output}: {exc.strerror}")) from None
        return 0
    text = write_proact_long(cohort) if args.layout == "long" else write_visits(cohort)
    emit_text(text, args.output)
    return 0
