"""Time the trial simulator: 10,000 parallel trials of 200 patients x 7 visits, slope model.

    python benchmarks/simulate_bench.py OUT.json TRIALS.csv [--reps 10000] [--lme4-trials 200]

Rows: the local backend (simulation + batched mixed model, one process); the Dask backend
with 2 workers on a LocalCluster, timed with the cluster already running and, separately,
the cluster's start-up; the single-trial path (``slope_model`` on each trial in turn, the
analysis ``alsmeta patients compare`` runs) on the first trials, for the speed-up of the
batch kernels. Writes the first ``--lme4-trials`` simulated trials to TRIALS.csv for the
lme4 side (benchmarks/simulate_bench_lme4.R), which fits each with lmerTest.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings

import numpy as np
import pandas as pd

from alsmeta.patients.mixed import slope_model
from alsmeta.simulate import (
    D50Progression,
    TreatmentEffect,
    TrialDesign,
    power_curve,
    simulate_trials,
)
from alsmeta.simulate.backends import tune_allocator

DESIGN = TrialDesign(design="parallel", n_per_arm=100, follow_up_months=6.0)
EFFECT = TreatmentEffect(mean=0.25, scale="percent")
SEED = 2026


def run(reps: int, **backend: object) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    res = power_curve([100], [EFFECT], design=DESIGN, model=D50Progression(), reps=reps,
                      seed=SEED, **backend)  # fmt: skip
    return time.perf_counter() - t0, res.scenarios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("trials_csv")
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--lme4-trials", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)

    tune_allocator()  # as the `alsmeta simulate` command does
    run(250)  # warm-up (imports, first allocation)
    local_time, local = run(args.reps)
    print(f"local: {args.reps} trials in {local_time:.1f} s (power {local['power'][0]:.3f})")

    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
    client = Client(cluster)
    startup = time.perf_counter() - t0
    run(250, backend="dask", scheduler=cluster.scheduler_address)  # warm the workers
    dask_time, dask = run(args.reps, backend="dask", scheduler=cluster.scheduler_address)
    client.close()
    cluster.close()
    identical = bool(local.equals(dask))
    print(
        f"dask, 2 workers: {dask_time:.1f} s (+ {startup:.1f} s cluster start-up); "
        f"identical to local: {identical}"
    )

    rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(100, 0)))
    batch = simulate_trials(DESIGN, D50Progression(), EFFECT, args.lme4_trials, rng=rng)
    frames = []
    p_values = []
    t0 = time.perf_counter()
    for r in range(batch.reps):
        visits = batch.visits(r)
        p_values.append(slope_model(visits, control="Placebo").p_value)
        frames.append(visits.assign(trial=r + 1)[["trial", "subject_id", "arm", "t_months",
                                                  "total"]])  # fmt: skip
    single = (time.perf_counter() - t0) / batch.reps
    pd.concat(frames).to_csv(args.trials_csv, index=False)
    share = float(np.mean(np.asarray(p_values) < 0.05))
    print(f"single-trial slope_model: {single * 1e3:.1f} ms per trial, share p < 0.05 on "
          f"the trials written for lmerTest: {share:.3f}")  # fmt: skip
    record = {
        "reps": args.reps,
        "patients_per_trial": DESIGN.n_control + DESIGN.n_treated,
        "visits_per_patient": int(DESIGN.months().size),
        "local_seconds": local_time,
        "dask_2_workers_seconds": dask_time,
        "dask_startup_seconds": startup,
        "dask_identical": identical,
        "single_trial_seconds": single,
        "single_trial_share_significant": share,
        "single_trial_p_values": [float(p) for p in p_values],
        "power": float(local["power"][0]),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    with open(args.out, "w") as fh:
        json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
