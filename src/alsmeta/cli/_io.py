"""Reading input tables and writing results for the command line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from alsmeta.errors import InputError, Problem


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV file (``-`` for standard input) into a frame, with clear errors."""
    try:
        if path == "-":
            text = sys.stdin.read()
            frame = pd.read_csv(io.StringIO(text))
        else:
            if not Path(path).is_file():
                raise InputError(Problem(f"file not found: {path}"))
            frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(Problem(f"{path}: the file is empty")) from None
    except pd.errors.ParserError as exc:
        raise InputError(Problem(f"{path}: not a readable CSV file ({exc})")) from None
    except UnicodeDecodeError:
        raise InputError(Problem(f"{path}: not a text (UTF-8) CSV file")) from None
    if frame.empty:
        raise InputError(Problem(f"{path}: the file has a header but no data rows"))
    return frame


def write_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to standard output."""
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def write_csv(frame: pd.DataFrame, output: str | None = None) -> None:
    """Write ``frame`` as CSV (full precision) to ``output`` or standard output."""
    if output in (None, "-"):
        frame.to_csv(sys.stdout, index=False, float_format="%.17g")
    else:
        frame.to_csv(output, index=False, float_format="%.17g")


def shortest_float(value: Any) -> str:
    """Shortest text that reads back as the same float; whole numbers without ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text, every float in its shortest exact form."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format=shortest_float)
    return buffer.getvalue()
