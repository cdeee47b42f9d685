"""Entry point of the ``alsmeta`` command.

Exit codes: 0 success, 1 analysis failed, 2 usage or input error, 3 missing optional
dependency. Errors go to stderr as ``alsmeta: error: ...``, one line per problem.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from alsmeta import __version__
from alsmeta.errors import AlsmetaError, InputError

#: Subcommand -> (module in alsmeta.cli, one-line help for ``alsmeta --help``). Only the
#: module of the command being run is imported, so a command pays for its own
#: dependencies only (scipy.stats, tqdm, ... stay unloaded for ``alsmeta fit``).
COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("fit_cmd", "meta-analysis of a CSV with effect sizes"),
    "diagnose": ("diagnose_cmd", "leave-one-out, Egger, Begg and trim-and-fill diagnostics"),
    "escalc": ("escalc_cmd", "compute effect sizes (yi, vi appended) from summary data"),
    "alsfrs": ("alsfrs_cmd", "ALSFRS-R scoring: totals, domains, delta FS, King's and MiToS"),
    "patients": ("patients_cmd", "patient-level ALSFRS-R analysis: slopes, responders, ..."),
    "example": ("example_cmd", "fit the bundled BCG example and print the summary"),
    "evidence": ("evidence_cmd", "validate and show the bundled ALS evidence base"),
    "report": ("report_cmd", "write the evidence report (one self-contained HTML file)"),
    "simulate": ("simulate_cmd", "trial design: power by simulation, progression trajectories"),
}

EXIT_OK = 0
EXIT_ANALYSIS = 1
EXIT_INPUT = 2
EXIT_DEPENDENCY = 3


class UsageError(Exception):
    """Raised by the parser instead of exiting, so ``main`` controls the exit code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        prog = self.prog.removeprefix("alsmeta").strip()
        raise UsageError(f"{prog}: {message}" if prog else message)


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first token that is not an option."""
    for token in argv:
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; the full options of the command named in ``argv`` (all commands'
    one-line help otherwise)."""
    parser = _Parser(
        prog="alsmeta",
        description="Meta-analysis of ALS cell-therapy trials at metafor parity.",
    )
    parser.add_argument("--version", action="version", version=f"alsmeta {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen_command(argv)
    for name, (module, summary) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"alsmeta.cli.{module}").add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def _report_error(message: str) -> None:
    for line in message.splitlines():
        print(f"alsmeta: error: {line.strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    tokens = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(tokens)
    try:
        args = parser.parse_args(tokens)
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
        except Exception as exc:  # never a traceback at the command line
            _report_error(
                f"analysis failed unexpectedly ({type(exc).__name__}: {exc}); "
                "please report this with the input that caused it"
            )
            code = EXIT_ANALYSIS
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
