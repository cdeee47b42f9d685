"""``alsmeta patients cafs`` and ``alsmeta patients survival``: trial outcomes by arm.

FILE is read as by the other ``patients`` actions (plain CSV, PRO-ACT folder or DREAM
file). ``--deaths FILE`` is a CSV of death or event records: the PRO-ACT DEATHDATA form
(``subject_id, Subject_Died, Death_Days``) or ``subject_id, event_month, event`` with an
optional ``event_type`` (death, tracheostomy, ventilation). Parsing and formatting only;
the statistics are in :mod:`alsmeta.patients.cafs` and :mod:`alsmeta.patients.survival`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pandas as pd

from alsmeta.cli._io import read_table
from alsmeta.cli._patients_io import emit_text, load_visits, render_text
from alsmeta.errors import InputError, Problem
from alsmeta.patients.cafs import DROPOUT_RULES, cafs
from alsmeta.patients.survival import CONF_TYPES, EVENTS, survival
from alsmeta.patients.visits import VisitTable

__all__ = ["add_parsers", "handle_cafs", "handle_survival"]


def add_parsers(actions: Any, input_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``cafs`` and ``survival`` actions to the ``patients`` subparsers."""
    c = actions.add_parser(
        "cafs",
        help="Combined Assessment of Function and Survival: rank per patient, mean rank per arm",
        description="CAFS (Berry 2013): every pair of patients compared on survival within "
        "the window, then on ALSFRS-R change from baseline; mean rank per arm and the "
        "Wilcoxon-Mann-Whitney test.",
    )
    input_options(c)
    _deaths_option(c)
    c.add_argument(
        "--window",
        type=float,
        default=12.0,
        metavar="MONTHS",
        help="follow-up window (default 12, as EMPOWER)",
    )
    c.add_argument(
        "--dropout",
        choices=DROPOUT_RULES,
        default="locf",
        help="alive but not followed to the end: last observation carried forward "
        "(default) or ranked at withdrawal (ALS/SURV)",
    )
    c.add_argument(
        "--visit-window-days",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="a visit this close to the window end counts as the end visit (default 14)",
    )
    c.add_argument("--control", default=None, metavar="LEVEL", help="control arm (Placebo)")
    _format_options(c)
    c.set_defaults(handler=handle_cafs)

    s = actions.add_parser(
        "survival",
        help="Kaplan-Meier per arm, log-rank test and Cox hazard ratio",
        description="Time to death (or death, tracheostomy or permanent ventilation) by "
        "arm: Kaplan-Meier with the number at risk, log-rank test, Cox model (Efron ties).",
    )
    input_options(s)
    _deaths_option(s)
    s.add_argument(
        "--event",
        choices=EVENTS,
        default="death",
        help="endpoint: death (default) or composite (death, tracheostomy, ventilation)",
    )
    s.add_argument("--control", default=None, metavar="LEVEL", help="control arm (Placebo)")
    s.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
    s.add_argument(
        "--conf-type",
        choices=CONF_TYPES,
        default="log-log",
        help="Kaplan-Meier interval: log-log (lifelines' default) or log (R's default)",
    )
    s.add_argument(
        "--follow-up",
        type=float,
        default=None,
        metavar="MONTHS",
        help="censor at MONTHS (default: no administrative censoring)",
    )
    _format_options(s)
    s.set_defaults(handler=handle_survival)


def _deaths_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--deaths",
        default=None,
        metavar="FILE",
        help="CSV of death/event records: PRO-ACT DEATHDATA (subject_id, Subject_Died, "
        "Death_Days) or subject_id, event_month, event[, event_type]; default: the "
        "deaths of FILE",
    )


def _format_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="default text")
    p.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="output file (default stdout)"
    )


def _load(args: argparse.Namespace) -> tuple[VisitTable, pd.DataFrame | None]:
    vt = load_visits(args)
    events = None
    if args.deaths is not None:
        if args.deaths == "-" and args.file == "-":
            raise InputError(Problem("FILE and --deaths cannot both be standard input"))
        events = read_table(args.deaths)
    return vt, events


def _emit(result: Any, args: argparse.Namespace) -> None:
    emit_text(render_text(result, args.format), args.output)


def handle_cafs(args: argparse.Namespace) -> int:
    """Run ``alsmeta patients cafs``."""
    vt, events = _load(args)
    result = cafs(
        vt,
        events,
        window_months=args.window,
        dropout=args.dropout,
        visit_window_days=args.visit_window_days,
        control=args.control,
    )
    _emit(result, args)
    return 0


def handle_survival(args: argparse.Namespace) -> int:
    """Run ``alsmeta patients survival``."""
    vt, events = _load(args)
    result = survival(
        vt,
        events,
        event=args.event,
        control=args.control,
        level=args.level,
        conf_type=args.conf_type,
        follow_up_months=args.follow_up,
    )
    _emit(result, args)
    return 0
