"""``alsmeta fit``: meta-analysis of a CSV file with effect sizes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from alsmeta.cli._io import read_table, write_csv, write_json
from alsmeta.effects import EffectSizeTable
from alsmeta.errors import InputError, Problem
from alsmeta.meta import FIT_KEYS, METHODS, TESTS, meta_analysis, meta_analysis_by, meta_regression
from alsmeta.meta.subgroups import subgroup_analysis


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="meta-analysis of a CSV with effect sizes",
        description="Fit an equal- or random-effects model to yi/vi columns of a CSV file.",
    )
    add_fit_options(p)
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.set_defaults(handler=handle)


def add_fit_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that fit a model."""
    p.add_argument("file", metavar="FILE", help="CSV file ('-' for standard input)")
    p.add_argument("--yi", default="yi", metavar="COL", help="effect size column (default yi)")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--vi", default=None, metavar="COL", help="sampling variance column (default vi)"
    )
    group.add_argument("--sei", default=None, metavar="COL", help="standard error column")
    p.add_argument("--study", default=None, metavar="COL", help="study label column")
    p.add_argument(
        "--method", default="REML", metavar="M", help=f"{'|'.join(METHODS)} (default REML; FE = EE)"
    )
    p.add_argument("--test", default="z", metavar="T", help=f"{'|'.join(TESTS)} (default z)")
    p.add_argument(
        "--level", default="0.95", help="confidence level as a proportion (default 0.95)"
    )
    p.add_argument(
        "--weights", default=None, metavar="COL", help="user weights column (needed by GENQ)"
    )
    p.add_argument("--by", default=None, metavar="COL", help="one independent fit per value of COL")
    p.add_argument(
        "--mods",
        default=None,
        metavar="FORMULA",
        help='moderators, e.g. "C(route) + followup" (treatment coding, first sorted level '
        "as reference)",
    )
    p.add_argument("--subgroup", default=None, metavar="COL", help="subgroup analysis by COL")
    p.add_argument(
        "--tau2-model",
        choices=("separate", "common"),
        default="separate",
        help="with --subgroup: tau^2 per subgroup (default) or shared",
    )
    p.add_argument(
        "--missing",
        choices=("raise", "drop"),
        default="raise",
        help="rows with missing yi/vi: raise (default) or drop with a note",
    )


def _level(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(Problem(f"--level {text!r} is not a number")) from None


def load_effect_sizes(args: argparse.Namespace) -> EffectSizeTable:
    """Read FILE and validate the yi/vi (or sei) columns named by the options."""
    frame = read_table(args.file)
    vi = args.vi if args.vi is not None or args.sei is not None else "vi"
    return EffectSizeTable.from_frame(
        frame, yi=args.yi, vi=vi, sei=args.sei, study=args.study, missing=args.missing
    )


def _weights(args: argparse.Namespace, es: EffectSizeTable) -> Any:
    if args.weights is None:
        return None
    data = es.data
    if data is None or args.weights not in data.columns:
        raise InputError(Problem(f"no column {args.weights!r} for --weights"))
    return positive_weights(data[args.weights], es, args.weights)


def positive_weights(column: pd.Series, es: EffectSizeTable, name: str) -> Any:
    """The ``--weights`` column as floats; one error lists every row that is not > 0."""
    values = pd.to_numeric(column, errors="coerce")
    bad = [
        Problem("weight is not a positive number", row=i + 1, study=es.study[i], column=name)
        for i in range(es.k)
        if not (values.iloc[i] > 0)
    ]
    if bad:
        raise InputError(bad)
    return values.to_numpy(dtype=float)


def _check_combinations(args: argparse.Namespace) -> None:
    chosen = [f"--{name}" for name in ("by", "mods", "subgroup") if getattr(args, name) is not None]
    if len(chosen) > 1:
        raise InputError(Problem(f"{' and '.join(chosen)} cannot be combined; choose one"))


def handle(args: argparse.Namespace) -> int:
    _check_combinations(args)
    es = load_effect_sizes(args)
    options = {
        "method": args.method,
        "test": args.test,
        "level": _level(args.level),
        "weights": _weights(args, es),
    }
    if args.by is not None:
        batch = meta_analysis_by(es, args.by, **options)
        if args.format == "json":
            write_json(batch.to_dict())
        elif args.format == "csv":
            write_csv(batch.to_frame()[["group", *FIT_KEYS]])
        else:
            frame = batch.to_frame()[
                ["group", "k", "estimate", "se", "ci_lower", "ci_upper", "p_value", "tau2", "i2"]
            ]
            sys.stdout.write(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}") + "\n")
            for note in batch.notes:
                sys.stdout.write(f"- {note}\n")
        return 0
    if args.mods is not None:
        reg = meta_regression(es, args.mods, missing=args.missing, **options)
        if args.format == "json":
            write_json(reg.to_dict())
        elif args.format == "csv":
            write_csv(reg.coefficients())
        else:
            sys.stdout.write(reg.summary())
        return 0
    if args.subgroup is not None:
        if options["weights"] is not None:
            raise InputError(Problem("--weights cannot be combined with --subgroup"))
        sub = subgroup_analysis(
            es, args.subgroup, tau2=args.tau2_model, method=options["method"],
            test=options["test"], level=options["level"],
        )  # fmt: skip
        if args.format == "json":
            write_json(sub.to_dict())
        elif args.format == "csv":
            write_csv(sub.to_frame())
        else:
            sys.stdout.write(sub.summary())
        return 0
    res = meta_analysis(es, **options)
    if args.format == "json":
        write_json(res.to_dict())
    elif args.format == "csv":
        write_csv(pd.DataFrame([res.to_dict()]))
    else:
        sys.stdout.write(res.summary())
    return 0
