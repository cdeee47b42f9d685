"""Entry point of the ``alsmeta`` command.

Exit codes: 0 success, 1 analysis failed, 2 usage or input error, 3 missing optional
dependency. Errors go to stderr as ``alsmeta: error: ...``, one line per problem.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from alsmeta import __version__
from alsmeta.cli import alsfrs_cmd, diagnose_cmd, escalc_cmd, example_cmd, fit_cmd, patients_cmd
from alsmeta.errors import AlsmetaError, InputError

EXIT_OK = 0
EXIT_ANALYSIS = 1
EXIT_INPUT = 2
EXIT_DEPENDENCY = 3


class UsageError(Exception):
    """Raised by the parser instead of exiting, so ``main`` controls the exit code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="alsmeta",
        description="Meta-analysis of ALS cell-therapy trials at metafor parity.",
    )
    parser.add_argument("--version", action="version", version=f"alsmeta {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in (fit_cmd, escalc_cmd, example_cmd, alsfrs_cmd, patients_cmd, diagnose_cmd):
        module.add_parser(sub)
    return parser


def _report_error(message: str) -> None:
    for line in message.splitlines():
        print(f"alsmeta: error: {line.strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        _report_error(str(exc))
        print("alsmeta: run 'alsmeta --help' for usage", file=sys.stderr)
        return EXIT_INPUT
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = int(args.handler(args))
        except InputError as exc:
            for problem in exc.problems:
                _report_error(str(problem))
            code = EXIT_INPUT
        except ModuleNotFoundError as exc:
            _report_error(f"missing optional dependency {exc.name!r}: {exc}")
            code = EXIT_DEPENDENCY
        except AlsmetaError as exc:
            _report_error(str(exc))
            code = EXIT_ANALYSIS
        except BrokenPipeError:
            code = EXIT_OK
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            print(f"alsmeta: note: {text}", file=sys.stderr)
    return code


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
