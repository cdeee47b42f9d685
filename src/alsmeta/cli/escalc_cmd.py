"""``alsmeta escalc``: effect sizes from summary data, as CSV with ``yi`` and ``vi``."""

from __future__ import annotations

import argparse
from typing import Any

from alsmeta.cli._io import read_table, write_csv
from alsmeta.effects import MEASURES, escalc

#: escalc arguments that name a column of the input file.
COLUMN_ARGUMENTS = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i",
    "xi", "mi", "ni", "ri", "yi", "vi", "sei", "study",
)  # fmt: skip


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "escalc",
        help="compute effect sizes (yi, vi appended) from summary data",
        description=(
            "Compute effect sizes as metafor's escalc. Column options name columns of FILE, "
            "e.g. --measure RR --ai tpos --bi tneg --ci cpos --di cneg."
        ),
    )
    p.add_argument("file", metavar="FILE", help="CSV file ('-' for standard input)")
    p.add_argument("--measure", required=True, metavar="M", help="|".join(MEASURES))
    for name in COLUMN_ARGUMENTS:
        p.add_argument(f"--{name}", default=None, metavar="COL")
    p.add_argument(
        "--add",
        type=float,
        default=None,
        help="value added to zero cells (default: metafor's, 1/2; 0 for PAS, PFT and AS)",
    )
    p.add_argument("--to", default="only0", choices=("only0", "all", "if0all", "none"))
    p.add_argument("--drop00", action="store_true", help="drop studies with no events in both arms")
    p.add_argument("--vtype", default=None, help="variance type (e.g. LS, UB, HO)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise")
    p.add_argument("-o", "--output", default=None, help="output CSV (default standard output)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    frame = read_table(args.file)
    columns = {name: getattr(args, name) for name in COLUMN_ARGUMENTS if getattr(args, name)}
    es = escalc(
        args.measure,
        data=frame,
        add=args.add,
        to=args.to,
        drop00=args.drop00,
        vtype=args.vtype,
        missing=args.missing,
        **columns,
    )
    write_csv(es.to_frame(), args.output)
    return 0
