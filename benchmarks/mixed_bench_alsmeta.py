"""Time alsmeta's slope_model on the benchmark cohort, in-process and through the CLI.

    python benchmarks/mixed_bench_alsmeta.py DATA.csv OUT.json [--repeat 3]

Rows (median of --repeat runs; the first, warm-up run is not counted):
- ``fit``: ``slope_model(frame)`` on a DataFrame already in memory: validation, sufficient
  statistics, REML fit, Satterthwaite df for all fixed effects.
- ``read+fit``: ``pandas.read_csv`` plus ``fit``.
- ``cli``: ``alsmeta patients compare DATA --format json`` as a subprocess, wall time
  including interpreter start-up and imports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from alsmeta.patients.mixed import slope_model


def timed(fun, repeat: int) -> tuple[float, object]:
    value = fun()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fun()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # The cohort has patients seen once (early deaths); the fit notes it on every run.
    warnings.simplefilter("ignore", UserWarning)
    frame = pd.read_csv(args.data)
    fit_time, res = timed(lambda: slope_model(frame, control="Placebo"), args.repeat)
    read_time, _ = timed(
        lambda: slope_model(pd.read_csv(args.data), control="Placebo"), args.repeat
    )
    alsmeta = Path(sys.executable).with_name("alsmeta")
    cmd = [str(alsmeta), "patients", "compare", args.data, "--control", "Placebo",
           "--format", "json"]  # fmt: skip
    cli_time, proc = timed(
        lambda: subprocess.run(cmd, capture_output=True, text=True, check=True), args.repeat
    )
    cli = json.loads(proc.stdout)  # type: ignore[attr-defined]
    out = {
        "fit": fit_time,
        "read_fit": read_time,
        "cli": cli_time,
        "result": res.to_dict(),  # type: ignore[attr-defined]
        "cli_slope_difference": cli["slope_difference"],
        "iterations": res.iterations,  # type: ignore[attr-defined]
        "evaluations": res.evaluations,  # type: ignore[attr-defined]
    }
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
