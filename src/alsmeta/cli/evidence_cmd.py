"""``alsmeta evidence``: validate and show the evidence base.

Subcommands
-----------
``alsmeta evidence validate [FILE]``
    Validate the bundled evidence base (or FILE). Exit 0 with a one-line summary when
    valid; exit 2 with one ``alsmeta: error:`` line per problem (naming study and field)
    otherwise.
``alsmeta evidence show [FILE] [--format text|csv|json] [--outcome ID] [--measure M]``
    One row per outcome with design, route, cell type, ``yi``, ``vi``, the conversion used
    (or the reason there is none) and the source.

Adding a subcommand
-------------------
:func:`add_parser` calls every entry of :data:`SUBCOMMANDS` with the ``actions``
sub-parsers object of ``alsmeta evidence``. An entry is a function that adds one parser
to ``actions`` and sets ``handler``. A subcommand in another module (the planned
``alsmeta evidence claims``, module ``alsmeta.cli.evidence_claims_cmd`` with an
``add_parser(actions)`` and a ``handle(args) -> int``) is added by appending one entry::

    SUBCOMMANDS = [_add_validate, _add_show, from_module("evidence_claims_cmd")]

:func:`from_module` imports that module only when ``alsmeta evidence ...`` is run. Keep
heavy imports (pydantic, yaml, pandas, scipy.stats) inside the handlers so that
``alsmeta --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

FORMATS: tuple[str, ...] = ("text", "csv", "json")

SHOW_COLUMNS: tuple[str, ...] = (
    "study_id", "outcome_id", "design", "randomised", "route", "cell_type", "endpoint",
    "timepoint_months", "measure", "yi", "vi", "reported_estimate", "reported_ci_lower",
    "reported_ci_upper", "conversion", "assumptions", "reason",
    "source_url", "source_location",
)  # fmt: skip


def add_parser(sub: Any) -> None:
    """Add ``alsmeta evidence`` and its subcommands to the top-level sub-parsers."""
    p = sub.add_parser(
        "evidence",
        help="validate and show the bundled evidence base",
        description="The ALS cell-therapy evidence base: every trial with its provenance.",
    )
    actions = p.add_subparsers(dest="evidence_command", metavar="ACTION", parser_class=type(p))
    for add in SUBCOMMANDS:
        add(actions)
    p.set_defaults(handler=_missing_action(p))


def _missing_action(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)
        return 2

    return handle


def _add_validate(actions: Any) -> None:
    p = actions.add_parser(
        "validate",
        help="check an evidence file (the bundled one by default)",
        description="Report every problem: unknown category, number without source, "
        "impossible value, duplicate id.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", default=None, help="YAML or JSON file")
    p.set_defaults(handler=handle_validate)


def _add_show(actions: Any) -> None:
    p = actions.add_parser(
        "show",
        help="one row per outcome with its effect size, conversion and source",
        description="List every outcome: design, route, cell type, yi, vi (positive = "
        "benefit of cell therapy), the conversion used or why there is none, and the source.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", default=None, help="YAML or JSON file")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="ID",
        help="an endpoint (e.g. alsfrs_r_change) or an outcome id; repeat for several",
    )
    p.add_argument(
        "--measure", choices=("MD", "OR", "RR"), default="MD", help="effect measure (default MD)"
    )
    p.set_defaults(handler=handle_show)


def from_module(name: str) -> Callable[[Any], None]:
    """Return an entry for :data:`SUBCOMMANDS` that calls ``alsmeta.cli.<name>.add_parser``."""

    def add(actions: Any) -> None:
        import importlib

        importlib.import_module(f"alsmeta.cli.{name}").add_parser(actions)

    return add


#: The ``alsmeta evidence`` subcommands, in help order; append to add one.
SUBCOMMANDS: list[Callable[[Any], None]] = [
    _add_validate,
    _add_show,
    from_module("evidence_claims"),
]


def handle_validate(args: argparse.Namespace) -> int:
    from alsmeta.errors import InputError
    from alsmeta.evidence import read_evidence_file, validate_evidence

    raw, name = read_evidence_file(args.file)
    problems = validate_evidence(raw)
    if problems:
        raise InputError(problems)
    n_studies = len(raw.get("studies", []))
    n_outcomes = len(raw.get("outcomes", []))
    sys.stdout.write(f"{name}: valid ({n_studies} studies, {n_outcomes} outcomes)\n")
    return 0


def handle_show(args: argparse.Namespace) -> int:
    from alsmeta.cli._io import write_csv, write_json
    from alsmeta.evidence import load_evidence

    evidence = load_evidence(args.file)
    frame = evidence.effect_size_frame(args.outcome, args.measure)
    frame = frame[list(SHOW_COLUMNS)]
    if args.format == "csv":
        write_csv(frame)
    elif args.format == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        write_json(records)
    else:
        sys.stdout.write(_text(frame))
    return 0


def _text(frame: Any) -> str:
    import math

    cols = (
        "outcome_id",
        "design",
        "route",
        "cell_type",
        "yi",
        "vi",
        "conversion",
        "source_url",
    )
    view = frame[list(cols)].astype(object)

    def fmt(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    table = [[fmt(v) for v in row] for row in view.itertuples(index=False)]
    widths = [
        max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(cols)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    for r in table:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    converted = int(frame["reason"].isna().sum())
    lines.append("")
    measure = frame["measure"].iloc[0] if len(frame) else "MD"
    lines.append(
        f"{len(frame)} outcomes, {converted} converted to {measure} (positive yi = benefit of "
        "cell therapy); the others, with the reason:"
    )
    for row in frame[frame["reason"].notna()].itertuples():
        lines.append(f"  {row.outcome_id}: {row.reason}")
    lines.append("The table/page of every source, and every assumption: --format csv or json.")
    return "\n".join(lines) + "\n"
