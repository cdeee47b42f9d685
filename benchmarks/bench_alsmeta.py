"""Time alsmeta on the benchmark cases; write the timings and the fitted values as JSON.

    python benchmarks/bench_alsmeta.py --data benchmarks/out/groups.csv \
        --out benchmarks/out/alsmeta.json --groups-out benchmarks/out/alsmeta_groups.csv

Cases (the metafor counterparts are in ``bench_metafor.R``):

- ``single``: one REML fit on BCG (log risk ratios), in-process, per call; with and
  without the Q-profile tau^2 interval. ``timeit`` picks the number of calls per batch;
  the reported time is the median batch divided by that number.
- ``by_cli``: wall time of ``alsmeta fit FILE --by group --method REML --format csv``
  with output to ``/dev/null``, as a subprocess: interpreter start-up, imports, CSV read,
  validation, fits and CSV write. Median of several runs.
- ``by_inprocess``: ``EffectSizeTable.from_frame`` plus ``meta_analysis_by`` on a frame
  already in memory (CSV read excluded), with and without tau^2 intervals. Median of
  several runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import alsmeta
from alsmeta import EffectSizeTable, escalc, load_dataset, meta_analysis, meta_analysis_by

_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


def time_per_call(func: Any, *, repeat: int = 7) -> dict[str, Any]:
    """Median seconds per call over ``repeat`` batches sized by ``timeit``'s autorange."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    batches = timer.repeat(repeat=repeat, number=number)
    per_call = [t / number for t in batches]
    return {
        "seconds": statistics.median(per_call),
        "calls_per_batch": number,
        "batches": repeat,
        "all_seconds": per_call,
    }


def time_runs(func: Any, *, repeat: int, warmup: bool) -> dict[str, Any]:
    """Median wall seconds of ``func()`` over ``repeat`` runs."""
    if warmup:
        func()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return {"seconds": statistics.median(runs), "runs": repeat, "all_seconds": runs}


def blas_info() -> dict[str, Any]:
    """Which BLAS numpy uses and with how many threads (as far as can be known)."""
    info: dict[str, Any] = {
        "thread_variables": {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["threadpools"] = None
        info["threadpools_note"] = "threadpoolctl not installed; thread count not inspected"
    else:
        info["threadpools"] = [
            {key: pool.get(key) for key in ("user_api", "internal_api", "version", "num_threads")}
            for pool in threadpool_info()
        ]
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # numpy < 1.25 has no mode="dicts"
        config = None
    if config:
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = {
            key: blas.get(key) for key in ("name", "version", "openblas configuration")
        }
    return info


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu_model": cpu,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "alsmeta": alsmeta.__version__,
    }


def bench_single() -> dict[str, Any]:
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
    res = meta_analysis(es, method="REML")
    return {
        "k": res.k,
        "rma": time_per_call(lambda: meta_analysis(es, method="REML", tau2_ci=False)),
        "rma_confint": time_per_call(lambda: meta_analysis(es, method="REML")),
        "values": {
            key: float(getattr(res, key))
            for key in ("tau2", "estimate", "tau2_ci_lower", "tau2_ci_upper")
        },
    }


def bench_by(data: Path, cli: Path, groups_out: Path, *, repeat: int) -> dict[str, Any]:
    command = [str(cli), "fit", str(data), "--by", "group", "--method", "REML", "--format", "csv"]

    def run_cli() -> None:
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)

    cli_timing = time_runs(run_cli, repeat=repeat, warmup=True)
    # The values compared with metafor come from the same command that was timed.
    with open(groups_out, "w", encoding="utf-8") as handle:
        subprocess.run(command, stdout=handle, check=True)

    frame = pd.read_csv(data)
    labels = frame["group"].unique()

    # Start-up cost alone: the same command on the first two groups, for the README's caveat.
    tiny = groups_out.with_name("two_groups.csv")
    frame[frame["group"].isin(labels[:2])].to_csv(tiny, index=False, float_format="%.17g")
    tiny_command = [*command[:2], str(tiny), *command[3:]]
    startup = time_runs(
        lambda: subprocess.run(tiny_command, stdout=subprocess.DEVNULL, check=True),
        repeat=repeat,
        warmup=True,
    )

    def fit(tau2_ci: bool) -> None:
        meta_analysis_by(EffectSizeTable.from_frame(frame), "group", method="REML", tau2_ci=tau2_ci)

    return {
        "groups": len(labels),
        "k": int(frame.groupby("group").size().max()),
        "cli": {"command": " ".join(command) + " > /dev/null", **cli_timing},
        "cli_startup_two_groups": startup,
        "inprocess_confint": time_runs(lambda: fit(True), repeat=repeat, warmup=True),
        "inprocess_rma": time_runs(lambda: fit(False), repeat=repeat, warmup=True),
    }


def bench_permutation(data: Path, *, repeat: int) -> dict[str, Any]:
    """1,000-permutation test of a two-moderator meta-regression (k = 20), REML."""
    from alsmeta import meta_regression, permutation_test

    frame = pd.read_csv(data)
    res = meta_regression(frame, "a + b", method="REML")
    timing = time_runs(
        lambda: permutation_test(res, iter=1000, rng=np.random.default_rng(1)),
        repeat=repeat,
        warmup=True,
    )
    perm = permutation_test(res, iter=1000, rng=np.random.default_rng(1))
    return {**timing, "k": res.k, "p_values": [float(p) for p in perm.p_value],
            "qm_p_value": perm.qm_p_value}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV from make_data.py")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--groups-out", type=Path, required=True, help="CSV of the --by fits")
    parser.add_argument(
        "--cli",
        type=Path,
        default=Path(sys.executable).with_name("alsmeta"),
        help="alsmeta executable (default: next to this Python)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each batch case")
    parser.add_argument(
        "--perm-data", type=Path, required=True, help="k = 20 data of the permutation test"
    )
    args = parser.parse_args(argv)

    result = {
        "machine": machine_info(),
        "blas": blas_info(),
        "single": bench_single(),
        "by": bench_by(args.data, args.cli, args.groups_out, repeat=args.repeat),
        "permutation": bench_permutation(args.perm_data, repeat=args.repeat),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
