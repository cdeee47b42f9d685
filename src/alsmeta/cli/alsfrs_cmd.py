"""``alsmeta alsfrs score``: score ALSFRS-R visits from a CSV file.

Appends ``total, bulbar, fine_motor, gross_motor, respiratory``, ``delta_fs`` (with
``--onset-col``), ``kings_stage`` and ``mitos_stage`` to the input rows. Nothing is
written unless every row is valid, or ``--keep-going`` is given, in which case bad
visits are skipped and each one is listed on stderr as ``alsmeta: note: skipped ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from alsmeta.alsfrs import score
from alsmeta.cli._io import csv_text, read_table
from alsmeta.errors import InputError, Problem


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "alsfrs",
        help="ALSFRS-R scoring: totals, domains, ΔFS, King's and MiToS stages",
        description="Tools for the ALSFRS-R instrument.",
    )
    actions = p.add_subparsers(dest="alsfrs_command", metavar="ACTION", required=True)
    s = actions.add_parser(
        "score",
        help="score ALSFRS-R visits in a CSV file",
        description=(
            "Validate the ALSFRS-R items of every visit (readable or PRO-ACT column names) "
            "and append total, bulbar, fine_motor, gross_motor, respiratory, delta_fs "
            "(with --onset-col), kings_stage and mitos_stage."
        ),
    )
    s.add_argument("file", metavar="FILE", help="CSV file, one row per visit ('-' for stdin)")
    s.add_argument(
        "--onset-col",
        default=None,
        metavar="COL",
        help="column with months from symptom onset to the visit; adds delta_fs",
    )
    s.add_argument("--subject-col", default=None, metavar="COL", help="subject id column")
    s.add_argument("--visit-col", default=None, metavar="COL", help="visit time or number column")
    s.add_argument(
        "--keep-going",
        action="store_true",
        help="skip bad visits (each listed on stderr) instead of stopping",
    )
    s.add_argument("--format", choices=("csv", "json"), default="csv")
    s.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="output file (default stdout)"
    )
    s.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    frame = read_table(args.file)
    result = score(
        frame,
        onset_col=args.onset_col,
        subject_col=args.subject_col,
        visit_col=args.visit_col,
        keep_going=args.keep_going,
    )
    # Render everything before opening the output, so a failure writes nothing.
    if args.format == "json":
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    else:
        text = csv_text(result.to_frame())
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(Problem(f"cannot write {args.output}: {exc.strerror}")) from None
    return 0
