"""``alsmeta patients compare``: two-arm comparison from patient-level visits.

``--model slope`` (default) fits ``total ~ t_months * arm + (1 + t_months | subject_id)``
as lme4/lmerTest; ``--model ancova`` compares the change from baseline to ``--month``
adjusted for baseline; ``--model mmrm`` fits an MMRM to the changes at ``--visits``.
FILE is a CSV with ``subject_id, arm, t_months, total`` (or ``months``/``days``), or any
visit file the other ``patients`` actions read (ALSFRS-R items, PRO-ACT).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from alsmeta.cli._io import read_table
from alsmeta.cli._patients_io import render_text
from alsmeta.errors import InputError, Problem
from alsmeta.patients import read_visits, visit_table
from alsmeta.patients.mixed import TrialVisits, ancova, mmrm, slope_model, trial_visits
from alsmeta.patients.proact import atomic_write_text

__all__ = ["add_parser", "handle_compare"]


def add_parser(actions: Any) -> None:
    """Add the ``compare`` action to the ``patients`` subparsers."""
    c = actions.add_parser(
        "compare",
        help="compare two arms: mixed-model slopes, ANCOVA or MMRM",
        description="Treatment effect from patient-level visits. slope: lme4-style mixed "
        "model of the ALSFRS-R slope (Satterthwaite df as lmerTest); ancova: change from "
        "baseline to --month adjusted for baseline; mmrm: change at --visits, unstructured "
        "covariance.",
    )
    c.add_argument(
        "file",
        metavar="FILE",
        help="CSV with subject_id, arm, t_months, total ('-' for stdin), or a visit file "
        "with ALSFRS-R items / PRO-ACT folder",
    )
    c.add_argument(
        "--control",
        default=None,
        metavar="LEVEL",
        help="control arm (default: first in sorted order)",
    )
    c.add_argument("--model", choices=("slope", "ancova", "mmrm"), default="slope")
    c.add_argument(
        "--month", type=float, default=None, metavar="T", help="ancova: landmark month (required)"
    )
    c.add_argument(
        "--visits",
        type=float,
        nargs="+",
        default=None,
        metavar="MONTH",
        help="mmrm: scheduled post-baseline visits in months (required)",
    )
    c.add_argument(
        "--window",
        type=float,
        default=0.5,
        metavar="MONTHS",
        help="ancova/mmrm: visit window around a scheduled month (0.5)",
    )
    c.add_argument(
        "--method", choices=("REML", "ML"), default="REML", help="slope/mmrm: REML (default) or ML"
    )
    c.add_argument(
        "--df",
        choices=("satterthwaite", "normal"),
        default="satterthwaite",
        help="slope: degrees of freedom (default satterthwaite, as lmerTest)",
    )
    c.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
    c.add_argument("--format", choices=("text", "json"), default="text", help="default text")
    c.add_argument("-o", "--output", default=None, metavar="OUT", help="default stdout")
    c.set_defaults(handler=handle_compare)


def _has_items(frame: pd.DataFrame) -> bool:
    names = {str(c).lower() for c in frame.columns}
    return "total" not in names and bool(names & {"speech", "q1_speech"})


def load_trial(path: str, *, control: str | None) -> TrialVisits:
    """Read FILE into validated two-arm visits."""
    if path != "-" and Path(path).is_dir():
        return trial_visits(read_visits(path), control=control)
    frame = read_table(path)
    if _has_items(frame):
        vt = visit_table(frame) if path == "-" else read_visits(path)
        return trial_visits(vt, control=control)
    return trial_visits(frame, control=control)


def handle_compare(args: argparse.Namespace) -> int:
    """Run ``alsmeta patients compare``."""
    problems = []
    if args.model == "ancova" and args.month is None:
        problems.append(Problem("--model ancova needs --month T (the landmark month)"))
    if args.model == "mmrm" and not args.visits:
        problems.append(Problem("--model mmrm needs --visits MONTH [MONTH ...]"))
    if problems:
        raise InputError(problems)
    tv = load_trial(args.file, control=args.control)
    result: Any
    if args.model == "slope":
        result = slope_model(tv, reml=args.method == "REML", df_method=args.df, level=args.level)
    elif args.model == "ancova":
        result = ancova(tv, month=args.month, window=args.window, level=args.level)
    else:
        result = mmrm(
            tv,
            visits_months=args.visits,
            window=args.window,
            reml=args.method == "REML",
            level=args.level,
        )
    text = render_text(result, args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            atomic_write_text(text, Path(args.output))
        except OSError as exc:
            raise InputError(Problem(f"cannot write {args.output}: {exc}")) from None
    return 0
