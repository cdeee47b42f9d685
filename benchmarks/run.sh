#!/usr/bin/env bash
# Benchmark alsmeta against R's metafor on the same data, from one script.
#
#     bash benchmarks/run.sh [--groups N]      (default N = 10000; `make bench` runs this)
#
# Steps: write the data once (benchmarks/out/groups.csv), time alsmeta, time metafor,
# then print the table and write benchmarks/out/results.json.  The two sides run one after
# the other, never at the same time, so they do not compete for the CPU.
# Needs the virtual environment made by `make install` (or PYTHON=/path/to/python with
# alsmeta installed) and Rscript with metafor and jsonlite.  See benchmarks/README.md.
set -euo pipefail

usage() {
    echo "usage: bash benchmarks/run.sh [--groups N]" >&2
    exit 2
}

groups=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --groups)
            [ $# -ge 2 ] || usage
            groups="$2"
            shift 2
            ;;
        --groups=*)
            groups="${1#--groups=}"
            shift
            ;;
        -h | --help) usage ;;
        *)
            echo "run.sh: unknown argument: $1" >&2
            usage
            ;;
    esac
done
case "$groups" in
    '' | *[!0-9]* | 0)
        echo "run.sh: --groups must be a positive integer (got '$groups')" >&2
        exit 2
        ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$here/out"
python="${PYTHON:-$root/.venv/bin/python}"

if [ ! -x "$python" ]; then
    echo "run.sh: no Python at $python; run 'make install' first or set PYTHON" >&2
    exit 2
fi
if ! command -v Rscript > /dev/null; then
    echo "run.sh: Rscript not found; the metafor side needs R with metafor and jsonlite" >&2
    exit 2
fi

mkdir -p "$out"
echo "== data" >&2
"$python" "$here/make_data.py" --groups "$groups" --out "$out/groups.csv" \
    --perm-out "$out/perm.csv" >&2
echo "== alsmeta" >&2
"$python" "$here/bench_alsmeta.py" --data "$out/groups.csv" --out "$out/alsmeta.json" \
    --groups-out "$out/alsmeta_groups.csv" --perm-data "$out/perm.csv" >&2
echo "== metafor (the rma + confint loop over $groups groups takes ~6 ms per group)" >&2
Rscript "$here/bench_metafor.R" "$out/groups.csv" "$out/metafor.json" \
    "$out/metafor_groups.csv" "$out/perm.csv" >&2
echo >&2
"$python" "$here/report.py" --out-dir "$out" --command "bash benchmarks/run.sh --groups $groups"
