"""``alsmeta patients compare``: two-arm comparison from patient-level visits.

``--model slope`` (default) fits ``total ~ t_months * arm + (1 + t_months | subject_id)``
as lme4/lmerTest; ``--model ancova`` compares the change from baseline to ``--month``
adjusted for baseline; ``--model mmrm`` fits an MMRM to the changes at ``--visits``.
FILE is a CSV with ``subject_id, arm, t_months, total`` (or ``months``/``days``), or any
visit file the other ``patients`` actions read (ALSFRS-R items, PRO-ACT).

``--format effect`` writes the result as one effect-size row (CSV: ``study, yi, vi,
measure, design, outcome, followup_months, ...``) on the scale of the report's primary
analysis, the difference in ALSFRS-R change from baseline (treated - control, points;
positive = benefit of the treated arm), for ``alsmeta fit`` and ``alsmeta report --trial``.
It needs ``--control`` (which arm is the control decides the sign). ``--model ancova``
gives the change at ``--month`` directly; ``--model slope`` needs ``--months T`` and
converts the slope difference to the change at T assuming linear decline (recorded in the
row's ``conversion`` and ``notes``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from alsmeta.cli._io import read_table
from alsmeta.cli._patients_io import render_text
from alsmeta.effects import EffectSizeTable
from alsmeta.effects.trials import DESIGNS, change_effect, slope_change_effect
from alsmeta.errors import InputError, Problem
from alsmeta.patients import read_visits, visit_table
from alsmeta.patients.mixed import (
    AncovaResult,
    SlopeModelResult,
    TrialVisits,
    ancova,
    mmrm,
    slope_model,
    trial_visits,
)
from alsmeta.patients.proact import atomic_write_text

__all__ = ["EFFECT_COLUMNS", "add_parser", "effect_row", "handle_compare"]

#: Columns of the ``--format effect`` CSV, in order.
EFFECT_COLUMNS: tuple[str, ...] = (
    "study", "yi", "vi", "measure", "design", "outcome", "followup_months", "source",
    "conversion", "notes", "treatment_arm", "control_arm", "n1i", "n2i", "model",
)  # fmt: skip

#: The endpoint of an effect row: the report's primary endpoint (change from baseline).
EFFECT_OUTCOME = "alsfrs_r_change"


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
    c.add_argument(
        "--format",
        choices=("text", "json", "effect"),
        default="text",
        help="text (default), json, or effect: one effect-size CSV row for alsmeta fit and "
        "alsmeta report --trial (slope or ancova; needs --control)",
    )
    c.add_argument(
        "--study",
        default=None,
        metavar="NAME",
        help="effect: study label of the row (default: the file name without extension)",
    )
    c.add_argument(
        "--months",
        type=float,
        default=None,
        metavar="T",
        help="effect with slope: express the slope difference as the change at month T, "
        "assuming linear decline (required)",
    )
    c.add_argument(
        "--design",
        choices=DESIGNS,
        default="RCT",
        help="effect: design label of the row (default RCT)",
    )
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


def _check_options(args: argparse.Namespace) -> None:
    problems = []
    if args.model == "ancova" and args.month is None:
        problems.append(Problem("--model ancova needs --month T (the landmark month)"))
    if args.model == "mmrm" and not args.visits:
        problems.append(Problem("--model mmrm needs --visits MONTH [MONTH ...]"))
    if args.format == "effect":
        if args.model == "mmrm":
            problems.append(
                Problem("--format effect takes --model slope or --model ancova, not mmrm")
            )
        if args.model == "slope" and args.months is None:
            problems.append(
                Problem(
                    "--format effect with --model slope needs --months T: the slope difference "
                    "(points/month) is put on the scale of the change from baseline at month T "
                    "(slope x T, assuming linear decline); or use --model ancova --month T"
                )
            )
        if args.model == "ancova" and args.months is not None:
            problems.append(
                Problem("--months is for --model slope; --model ancova takes --month T")
            )
    else:
        if args.months is not None:
            problems.append(Problem("--months is used only with --format effect --model slope"))
        if args.study is not None:
            problems.append(Problem("--study is used only with --format effect"))
    if problems:
        raise InputError(problems)


def effect_row(
    result: SlopeModelResult | AncovaResult,
    *,
    study: str,
    design: str = "RCT",
    months: float | None = None,
) -> pd.DataFrame:
    """Return the one-row effect-size frame (:data:`EFFECT_COLUMNS`) of a comparison.

    yi is the difference in ALSFRS-R change from baseline, treated - control (points;
    positive = benefit of the treated arm): the ANCOVA estimate at its month, or the
    slope difference x ``months`` under the explicit linearity assumption.
    """
    tv = result.visits
    if isinstance(result, AncovaResult):
        counts = result.by_arm.set_index("arm")["n"]
        n_t, n_c = float(counts[result.treated]), float(counts[result.control])
        table: EffectSizeTable = change_effect(
            result, study=study, design=design, month=result.month, n_treatment=n_t,
            n_control=n_c,
        )  # fmt: skip
        followup = result.month
        conversion = (
            f"ancova_change_at_month: lm(change ~ baseline + arm) at month {result.month:g} "
            f"(+-{result.window:g}); no conversion"
        )
        model = "ancova"
    else:
        assert months is not None  # _check_options requires --months with --model slope
        n_t, n_c = float((tv.arm == 1).sum()), float((tv.arm == 0).sum())
        table = slope_change_effect(
            result, months=months, assume_linear=True, study=study, design=design,
            n_treatment=n_t, n_control=n_c,
        )  # fmt: skip
        followup = months
        conversion = (
            f"change_from_slope_linear: slope difference x {months:g} months, assume_linear=True"
        )
        model = f"slope ({result.method}, mixed model)"
    data = table.data
    assert data is not None
    row = {
        "study": study,
        "yi": float(table.yi[0]),
        "vi": float(table.vi[0]),
        "measure": table.measure,
        "design": design,
        "outcome": EFFECT_OUTCOME,
        "followup_months": float(followup),
        "source": "patient-level data: " + str(data["effect"].iloc[0]),
        "conversion": conversion,
        "notes": "; ".join(n.removeprefix(f"{study}: ") for n in table.notes),
        "treatment_arm": result.treated,
        "control_arm": result.control,
        "n1i": n_t,
        "n2i": n_c,
        "model": model,
    }
    return pd.DataFrame([row], columns=list(EFFECT_COLUMNS))


def handle_compare(args: argparse.Namespace) -> int:
    """Run ``alsmeta patients compare``."""
    _check_options(args)
    tv = load_trial(args.file, control=args.control)
    if args.format == "effect" and args.control is None:
        raise InputError(
            Problem(
                "--format effect needs --control LEVEL: the control arm decides the sign "
                f"(yi = treated - control, positive = benefit); the arms are {tv.control!r} "
                f"and {tv.treated!r}",
                column="control",
            )
        )
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
    if args.format == "effect":
        study = args.study or ("own trial" if args.file == "-" else Path(args.file).stem)
        frame = effect_row(result, study=study, design=args.design, months=args.months)
        text = frame.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    else:
        text = render_text(result, args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            atomic_write_text(text, Path(args.output))
        except OSError as exc:
            raise InputError(Problem(f"cannot write {args.output}: {exc}")) from None
    return 0
