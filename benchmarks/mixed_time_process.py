"""Time whole processes: median wall time of a command over --repeat runs (after a warm-up).

    python benchmarks/mixed_time_process.py OUT.json --repeat 3 -- COMMAND [ARGS ...]

Used by benchmarks/mixed_model.sh for the process-level row: ``Rscript`` start-up, loading
lme4, reading the CSV and one ``lmer`` fit, against the alsmeta command line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: mixed_time_process.py OUT.json [--repeat N] -- COMMAND [ARGS ...]")
    cut = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv[:cut])
    command = argv[cut + 1 :]
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    Path(args.out).write_text(json.dumps({"command": command, "time": statistics.median(times)}))


if __name__ == "__main__":
    main()
