"""Write the mixed-model benchmark cohort: subject_id, arm, t_months, total.

    python benchmarks/mixed_make_data.py OUT.csv [--n 10000] [--seed 20261126]

The cohort comes from :func:`alsmeta.patients.synth_cohort` (D50-type decline, deaths,
dropouts, a 25 % slowing in the active arm) with visits every 1.5 months from 0 to 12
(9 scheduled; about 8 seen per patient after deaths and dropouts).
"""

from __future__ import annotations

import argparse

import numpy as np

from alsmeta.patients import synth_cohort


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    cohort = synth_cohort(
        args.n,
        rng=np.random.default_rng(args.seed),
        follow_up_months=12.0,
        lead_in_months=0.0,
        visit_interval_months=1.5,
        effect=0.25,
    )
    table = cohort.table[["subject_id", "arm", "months", "total"]]
    table = table.rename(columns={"months": "t_months"})
    table.to_csv(args.out, index=False, float_format="%.17g")
    per = table.groupby("subject_id").size()
    print(f"wrote {args.out}: {len(per)} patients, {len(table)} visits ({per.mean():.2f} each)")


if __name__ == "__main__":
    main()
