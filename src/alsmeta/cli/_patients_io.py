"""Reading visits and writing results for the ``alsmeta patients`` actions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from alsmeta.cli._io import read_table
from alsmeta.errors import InputError, Problem
from alsmeta.patients.proact import atomic_write_text, read_visits
from alsmeta.patients.visits import VisitTable, visit_table


def load_visits(args: argparse.Namespace) -> VisitTable:
    """Read FILE (``-``: a plain CSV on standard input) with ``--sort`` and ``--keep-going``."""
    if args.file == "-":
        return visit_table(read_table("-"), sort=args.sort, keep_going=args.keep_going)
    return read_visits(args.file, sort=args.sort, keep_going=args.keep_going)


def emit_text(text: str, output: str | None) -> None:
    """Write all of ``text`` to stdout or, atomically, to ``output``."""
    if output in (None, "-"):
        sys.stdout.write(text)
        return
    try:
        atomic_write_text(text, Path(output))
    except OSError as exc:
        raise InputError(Problem(f"cannot write {output}: {exc.strerror or exc}")) from None


def render_text(result: Any, fmt: str) -> str:
    """``result`` as indented JSON (``fmt="json"``) or as its text summary."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    return str(result.summary())
