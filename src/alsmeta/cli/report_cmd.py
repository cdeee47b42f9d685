"""``alsmeta report``: write the evidence report as one self-contained HTML file.

``alsmeta report [--evidence FILE] [--trial FILE ...] [-o report.html] [--generated-at ISO]
[--power-reps N]``

With no arguments, analyses the bundled evidence base and writes ``report.html``.
``--evidence`` takes an evidence file in the bundled schema (YAML or JSON) or a CSV of
effect sizes with columns ``yi`` and ``vi`` (or ``sei``). ``--generated-at`` fixes the
timestamp written into the report, which makes the output byte-identical across runs.
``--trial`` (repeatable) adds the user's own patient-level trial, an effect-size CSV with
``study, yi, vi`` (as ``alsmeta patients compare --format effect`` writes), to the primary
meta-analysis as an extra study labelled "patient-level (user)"; the claims still use the
bundled evidence only.
``--power-reps`` sets the number of simulated trials per scenario and sample size of the
section "What would a definitive trial need?" (default 200; ``0`` skips it, and the section
says so); the seed is fixed, so the page stays byte-identical.
Progress goes to stderr; the path of the written report goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``alsmeta report`` to the top-level sub-parsers."""
    p = sub.add_parser(
        "report",
        help="write the evidence report (one self-contained HTML file)",
        description="Analyse the bundled ALS cell-therapy evidence base (or FILE) and write "
        "one HTML report: plain-language summary, claims, forest plots, subgroups, "
        "synthesis without meta-analysis, GRADE, methods and provenance.",
    )
    p.add_argument(
        "--evidence",
        metavar="FILE",
        default=None,
        help="evidence file (YAML/JSON, bundled schema) or effect-size CSV with yi and vi; "
        "default: the bundled evidence base",
    )
    p.add_argument(
        "--trial",
        metavar="FILE",
        action="append",
        default=None,
        help="effect-size CSV of your own patient-level trial (study, yi, vi; optional "
        "design, followup_months), e.g. from 'alsmeta patients compare --format effect'; "
        "added to the primary meta-analysis as an extra study. Repeatable",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="report.html",
        help="where to write the report (default: report.html)",
    )
    p.add_argument(
        "--generated-at",
        metavar="ISO",
        default=None,
        help="timestamp to record (ISO 8601, e.g. 2026-01-01T00:00:00Z); fixes the output "
        "byte for byte. Default: now (UTC)",
    )
    p.add_argument(
        "--power-reps",
        metavar="N",
        type=_reps,
        default=None,
        help="simulated trials per scenario and sample size for 'What would a definitive "
        "trial need?' (default 200, a few seconds; 0 skips the section). The seed is fixed",
    )
    p.set_defaults(handler=handle)


def _reps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; give the simulated trials per scenario, e.g. 200 "
            "(0 skips the power section)"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0 (0 skips the power section)")
    return value


def _progress(message: str) -> None:
    print(f"alsmeta report: {message}", file=sys.stderr, flush=True)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from alsmeta.report.build import (
        DEFAULT_POWER_REPS,
        build_report,
        parse_generated_at,
        read_report_input,
    )
    from alsmeta.report.render import render_report

    start = time.perf_counter()
    stamp = parse_generated_at(args.generated_at)
    _progress(f"reading {args.evidence or 'the bundled evidence base'}")
    for trial in args.trial or ():
        _progress(f"reading the patient-level trial {trial}")
    data = read_report_input(args.evidence, trials=args.trial or ())
    reps = DEFAULT_POWER_REPS if args.power_reps is None else args.power_reps
    _progress(
        "running the analyses"
        + (f" and simulating {reps} trials per power scenario" if reps else "")
    )
    model = build_report(data, generated_at=stamp, power_reps=reps)
    _progress(f"drawing {len(model.figures)} figures and rendering the HTML")
    html = render_report(model)
    out = Path(args.output)
    try:
        out.write_bytes(html.encode("utf-8"))
    except OSError as exc:
        from alsmeta.errors import InputError, Problem

        raise InputError(Problem(f"cannot write {out}: {exc.strerror or exc}")) from None
    size = out.stat().st_size / 1024
    _progress(f"done in {time.perf_counter() - start:.1f} s ({size:.0f} kB)")
    print(f"report written to {out.resolve()}")
    return 0
