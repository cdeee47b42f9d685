#!/usr/bin/env bash
# Mixed-model benchmark: alsmeta's slope_model against lme4 on the same file.
#
#     bash benchmarks/mixed_model.sh [--n 10000] [--repeat 3]
#
# Writes one cohort (benchmarks/out/mixed_cohort.csv: subject_id, arm, t_months, total;
# 10,000 patients, ~8 visits each) once, then times -- one after the other, never at the
# same time -- alsmeta in-process and through the CLI (benchmarks/mixed_bench_alsmeta.py)
# and lme4/lmerTest inside one R process (benchmarks/mixed_bench_lme4.R), then whole
# processes (Rscript loading lme4, reading the CSV and fitting once, against the alsmeta
# command line; benchmarks/mixed_time_process.py), and prints both times, the ratio
# lme4/alsmeta (above 1: alsmeta faster) and the agreement of the fits.  Every time is the
# median of --repeat runs after a warm-up run; the load average is printed because other
# processes on the machine inflate both sides.  Needs the .venv made by
# `make install` (or PYTHON=/path/to/python) and Rscript with lme4, lmerTest and jsonlite.
set -euo pipefail

n=10000
repeat_n=3
while [ $# -gt 0 ]; do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --repeat) repeat_n="$2"; shift 2 ;;
        *) echo "usage: bash benchmarks/mixed_model.sh [--n N] [--repeat R]" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
out="$here/out"
mkdir -p "$out"
data="$out/mixed_cohort.csv"

cd "$root"
"$python" "$here/mixed_make_data.py" "$data" --n "$n"
"$python" "$here/mixed_bench_alsmeta.py" "$data" "$out/mixed_alsmeta.json" --repeat "$repeat_n"
Rscript "$here/mixed_bench_lme4.R" "$data" "$out/mixed_lme4.json" "$repeat_n"
# One whole R process per run: start-up, library(lme4), read.csv, one lmer fit.
"$python" "$here/mixed_time_process.py" "$out/mixed_lme4_process.json" --repeat "$repeat_n" -- \
    Rscript -e "suppressPackageStartupMessages(library(lme4)); d <- read.csv('$data'); \
d\$arm <- factor(d\$arm, levels = c('Placebo', 'Active')); \
f <- lmer(total ~ t_months * arm + (1 + t_months | subject_id), data = d, REML = TRUE); \
cat(fixef(f)[4], '\\n')"

"$python" - "$out/mixed_alsmeta.json" "$out/mixed_lme4.json" "$out/mixed_lme4_process.json" \
    <<'PY'
import json
import os
import platform
import sys

a = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
proc = json.load(open(sys.argv[3]))
res = a["result"]
vc = res["variance_components"]
rows = [
    ("fit (data in memory)", r["fit"], "lme4::lmer", a["fit"], "slope_model, incl. Satterthwaite"),
    ("fit + Satterthwaite df", r["fit_satt"], "lmerTest::lmer + summary", a["fit"],
     "slope_model"),
    ("read CSV + fit", r["read_fit"], "read.csv + lme4::lmer", a["read_fit"],
     "read_csv + slope_model"),
    ("whole process", proc["time"], "Rscript: library(lme4), read.csv, lmer", a["cli"],
     "alsmeta patients compare --format json"),
]
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
      f"{r['versions']['R']}, lme4 {r['versions']['lme4']}")
print(f"load average before the report: {os.getloadavg()[0]:.2f}")
print(f"{'step':<24} {'lme4 (s)':>9} {'alsmeta (s)':>12} {'lme4/alsmeta':>13}  what runs")
for name, rt, rwhat, at, awhat in rows:
    print(f"{name:<24} {rt:>9.3f} {at:>12.3f} {rt / at:>13.1f}  R: {rwhat}; Py: {awhat}")
def rel(x, y):
    return abs(x - y) / abs(y)
print(
    "agreement (relative, alsmeta vs lme4 default control): "
    f"slope_difference {rel(res['slope_difference'], r['slope_difference']):.1e}, "
    f"se {rel(res['se'], r['se']):.1e}, df {rel(res['df'], r['df']):.1e}, "
    f"intercept_var {rel(vc['intercept_var'], r['intercept_var']):.1e}, "
    f"slope_var {rel(vc['slope_var'], r['slope_var']):.1e}, "
    f"intercept_slope_cov {rel(vc['intercept_slope_cov'], r['intercept_slope_cov']):.1e}, "
    f"residual_var {rel(vc['residual_var'], r['residual_var']):.1e}"
)
print(f"n_subjects {res['n_subjects']}, n_visits {res['n_visits']}; alsmeta "
      f"{a['iterations']} iterations, {a['evaluations']} deviance evaluations")
PY
