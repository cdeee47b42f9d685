"""``alsmeta example``: the bundled BCG example, end to end (what ``make run`` shows)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from alsmeta.datasets import load_dataset
from alsmeta.effects import escalc
from alsmeta.meta import meta_analysis


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "example",
        help="fit the bundled BCG example (log risk ratios, REML) and print the summary",
    )
    p.add_argument("--method", default="REML", metavar="M")
    p.add_argument("--test", default="z", metavar="T")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    data = load_dataset("bcg")
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data, study="author")
    res = meta_analysis(es, method=args.method, test=args.test)
    sys.stdout.write(
        "BCG vaccine trials (Colditz et al. 1994), log risk ratio of tuberculosis,\n"
        f"{res.k} trials; the same fit as metafor's rma(yi, vi, method='{res.method}', "
        f"test='{res.test}').\n"
    )
    sys.stdout.write(res.summary())
    sys.stdout.write(
        "\nOn the risk-ratio scale: "
        f"RR = {_exp(res.estimate)} (95% CI {_exp(res.ci_lower)} to {_exp(res.ci_upper)}; "
        f"prediction interval {_exp(res.pi_lower)} to {_exp(res.pi_upper)}).\n"
    )
    return 0


def _exp(x: float) -> str:
    import math

    return f"{math.exp(x):.2f}"
