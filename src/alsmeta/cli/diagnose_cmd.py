"""``alsmeta diagnose``: leave-one-out, Egger, Begg and trim-and-fill of one model."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import pandas as pd

from alsmeta.cli._io import write_json
from alsmeta.cli.fit_cmd import add_fit_options, load_effect_sizes, positive_weights
from alsmeta.diagnostics import (
    begg_test,
    cumulative,
    egger_test,
    influence,
    leave_one_out,
    trim_and_fill,
)
from alsmeta.diagnostics.influence import json_float, json_list, no_such_column
from alsmeta.effects import EffectSizeTable
from alsmeta.errors import AlsmetaError, InputError, Problem
from alsmeta.meta import MetaAnalysisResult, meta_analysis

#: Top-level keys of ``alsmeta diagnose --format json``, in order, and the keys of each.
DIAGNOSE_KEYS: dict[str, tuple[str, ...]] = {
    "leave_one_out": ("estimate", "tau2", "i2"),
    "egger": ("statistic", "p_value"),
    "begg": ("tau", "p_value"),
    "trim_and_fill": ("k0", "side", "estimate", "tau2"),
}

#: Options of ``add_fit_options`` that make no sense for one intercept-only model.
_NOT_HERE = {"by": "--by", "mods": "--mods", "subgroup": "--subgroup"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "diagnose",
        help="leave-one-out, Egger, Begg and trim-and-fill diagnostics of one model",
        description=(
            "Fit the model of 'alsmeta fit' and report metafor's leave1out(), regtest() "
            "(Egger; mixed-effects, predictor sei), ranktest() (Begg) and trimfill()."
        ),
    )
    add_fit_options(p)
    for action in p._actions:
        if action.dest in _NOT_HERE or action.dest == "tau2_model":
            action.help = argparse.SUPPRESS
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument(
        "--ni",
        default=None,
        metavar="COL",
        help="sample size column; the text output then adds Peters' test "
        "(regtest model='lm', predictor='ninv')",
    )
    p.add_argument(
        "--order",
        default=None,
        metavar="COL",
        help="the text output adds a cumulative meta-analysis sorted by COL (e.g. year)",
    )
    p.set_defaults(handler=handle)


def _check_options(args: argparse.Namespace) -> None:
    given = [flag for dest, flag in _NOT_HERE.items() if getattr(args, dest, None) is not None]
    if given:
        raise InputError(
            Problem(
                f"{', '.join(given)} cannot be used with diagnose: the diagnostics are for one "
                "model without moderators (use 'alsmeta fit' for those)"
            )
        )


def _level(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(Problem(f"--level {text!r} is not a number")) from None


def _column(es: EffectSizeTable, name: str, option: str) -> Any:
    data = es.data
    if data is None or name not in data.columns:
        raise no_such_column(f"{option} {name!r}", data)
    return data[name]


def _weights(args: argparse.Namespace, es: EffectSizeTable) -> Any:
    if args.weights is None:
        return None
    return positive_weights(_column(es, args.weights, "--weights"), es, args.weights)


def _or_nulls(section: str, compute: Any) -> tuple[dict[str, Any], Any]:
    """Run one small-study method; if the data cannot support it (too few studies, equal
    variances, no convergence), null values and a note on stderr, so that the other
    sections are still reported."""
    try:
        result = compute()
    except InputError as exc:
        reason = "; ".join(p.message for p in exc.problems)
        warnings.warn(f"{section}: not computed ({reason})", UserWarning, stacklevel=2)
        return {key: None for key in DIAGNOSE_KEYS[section]}, None
    except AlsmetaError as exc:  # e.g. trim and fill did not converge
        reason = str(exc)
        warnings.warn(f"{section}: not computed ({reason})", UserWarning, stacklevel=2)
        return {key: None for key in DIAGNOSE_KEYS[section]}, None
    return {}, result


def diagnose(res: MetaAnalysisResult) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON contract of ``alsmeta diagnose`` and the result objects behind it."""
    l1 = leave_one_out(res)
    out: dict[str, Any] = {
        "leave_one_out": {
            "estimate": json_list(l1.estimate),
            "tau2": json_list(l1.tau2),
            "i2": json_list(l1.i2),
        }
    }
    objects: dict[str, Any] = {"leave_one_out": l1}

    nulls, eg = _or_nulls("egger", lambda: egger_test(res))
    out["egger"] = nulls or {
        "statistic": json_float(eg.statistic),
        "p_value": json_float(eg.p_value),
    }
    nulls, bt = _or_nulls("begg", lambda: begg_test(res))
    out["begg"] = nulls or {"tau": json_float(bt.tau), "p_value": json_float(bt.p_value)}
    nulls, tf = _or_nulls("trim_and_fill", lambda: trim_and_fill(res))
    out["trim_and_fill"] = nulls or {
        "k0": tf.k0,
        "side": tf.side,
        "estimate": json_float(tf.estimate),
        "tau2": json_float(tf.tau2),
    }
    objects.update(egger=eg, begg=bt, trim_and_fill=tf)
    return out, objects


def handle(args: argparse.Namespace) -> int:
    _check_options(args)
    es = load_effect_sizes(args)
    if es.k < 2:
        raise InputError(Problem(f"diagnose needs at least 2 studies; the file has k = {es.k}"))
    res = meta_analysis(
        es,
        method=args.method,
        test=args.test,
        level=_level(args.level),
        weights=_weights(args, es),
    )
    ni = None
    if args.ni is not None:
        ni = pd.to_numeric(_column(es, args.ni, "--ni"), errors="coerce").to_numpy(dtype=float)
    order = None
    if args.order is not None:
        order = _column(es, args.order, "--order").to_numpy()

    out, objects = diagnose(res)
    if args.format == "json":
        write_json(out)
        return 0

    parts = [res.summary(), objects["leave_one_out"].summary(), influence(res).summary()]
    if order is not None:
        parts.append(cumulative(res, order=order).summary())
    for key in ("egger", "begg", "trim_and_fill"):
        if objects[key] is not None:
            parts.append(objects[key].summary())
    if ni is not None:
        _, peters = _or_nulls("egger", lambda: egger_test(res, model="lm", predictor="ninv", ni=ni))
        if peters is not None:
            parts.append(
                "\nPeters' test (regtest model='lm', predictor='ninv'):\n" + peters.summary()
            )
    sys.stdout.write("\n".join(parts))
    return 0
