#!/usr/bin/env bash
# Trial-simulator benchmark: 10,000 simulated parallel trials of 200 patients x 7 visits,
# each analysed by the slope mixed model; local backend, Dask with 2 workers, and lmerTest
# on the same kind of trials (per-trial time, extrapolated to 10,000).
#
#     bash benchmarks/simulate.sh [--reps 10000] [--lme4-trials 200]
#
# Needs the .venv made by `make install` (with the dask extra) and Rscript with lme4,
# lmerTest and jsonlite. Prints the times and the ratios; asserts nothing.
set -euo pipefail

reps=10000
lme4_trials=200
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --lme4-trials) lme4_trials="$2"; shift 2 ;;
        *) echo "usage: bash benchmarks/simulate.sh [--reps N] [--lme4-trials N]" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
out="$here/out"
mkdir -p "$out"
cd "$root"

"$python" "$here/simulate_bench.py" "$out/simulate_alsmeta.json" "$out/simulate_trials.csv" \
    --reps "$reps" --lme4-trials "$lme4_trials"
Rscript "$here/simulate_bench_lme4.R" "$out/simulate_trials.csv" "$out/simulate_lme4.json"

"$python" - "$out/simulate_alsmeta.json" "$out/simulate_lme4.json" <<'PY'
import json
import sys

a = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
n = a["reps"]
lme4_total = r["per_trial_seconds"] * n
single_total = a["single_trial_seconds"] * n
print()
print(f"{n} trials x {a['patients_per_trial']} patients x {a['visits_per_patient']} visits, "
      f"slope model with Satterthwaite df; {a['cpus']} CPUs, load {a['load_average']:.2f}; "
      f"{r['versions']['R']}, lme4 {r['versions']['lme4']}, lmerTest {r['versions']['lmerTest']}")
print(f"{'run':<44} {'seconds':>9} {'vs local':>9} {'lme4/this':>10}")
rows = [
    ("alsmeta local backend (simulate + analyse)", a["local_seconds"]),
    ("alsmeta dask, 2 workers (cluster running)", a["dask_2_workers_seconds"]),
    ("alsmeta dask, 2 workers incl. start-up", a["dask_2_workers_seconds"] + a["dask_startup_seconds"]),
    ("alsmeta slope_model one trial at a time*", single_total),
    ("lmerTest one trial at a time*", lme4_total),
]
for name, t in rows:
    print(f"{name:<44} {t:>9.1f} {a['local_seconds'] / t:>9.2f} {lme4_total / t:>10.1f}")
print(f"* measured on {r['trials']} trials and multiplied to {n}")
print(f"Dask results identical to local: {a['dask_identical']}; power {a['power']:.3f}")
print(f"Same {r['trials']} trials: share p < 0.05 alsmeta slope_model "
      f"{a['single_trial_share_significant']:.3f}, lmerTest {r['share_significant']:.3f}; "
      f"max |p difference| "
      f"{max(abs(x - y) for x, y in zip(a['single_trial_p_values'], r['p_values'])):.1e}")
PY
