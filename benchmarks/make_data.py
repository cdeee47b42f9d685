"""Write the benchmark data: many independent random-effects meta-analyses in one CSV.

Each group has ``k`` studies drawn from the random-effects model
``yi = mu + u_g + e_i`` with ``u_g ~ N(0, tau2)``, ``e_i ~ N(0, vi)`` and
``vi ~ U(0.01, 0.5)``. The file has columns ``group, yi, vi`` and is read unchanged by
both ``alsmeta fit --by group`` and the metafor script, so both time the same fits.

    python benchmarks/make_data.py --groups 10000 --out benchmarks/out/groups.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def make_groups(
    n_groups: int,
    k: int,
    *,
    rng: np.random.Generator,
    mu: float = 0.2,
    tau2: float = 0.1,
    vi_range: tuple[float, float] = (0.01, 0.5),
) -> pd.DataFrame:
    """Return ``n_groups * k`` rows with columns ``group``, ``yi``, ``vi``."""
    vi = rng.uniform(*vi_range, size=(n_groups, k))
    theta = mu + rng.normal(0.0, np.sqrt(tau2), size=(n_groups, 1))
    yi = rng.normal(theta, np.sqrt(vi))
    # Zero-padded labels sort the same way in Python and in R's factor(), whatever the
    # locale, so "the first groups" are the same groups on both sides.
    width = len(str(n_groups))
    labels = np.array([f"g{i:0{width}d}" for i in range(1, n_groups + 1)])
    return pd.DataFrame({"group": np.repeat(labels, k), "yi": yi.ravel(), "vi": vi.ravel()})


def make_permutation_data(k: int, *, rng: np.random.Generator) -> pd.DataFrame:
    """One meta-regression data set for the permutation test: ``yi, vi`` and two
    moderators ``a`` (continuous) and ``b`` (a follow-up time in months)."""
    a = rng.normal(size=k)
    b = rng.choice([3.0, 6.0, 12.0, 24.0], size=k)
    vi = rng.uniform(0.02, 0.3, size=k)
    yi = 0.1 + 0.15 * a - 0.01 * b + rng.normal(0.0, np.sqrt(vi + 0.05))
    return pd.DataFrame({"yi": yi, "vi": vi, "a": a, "b": b})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000, help="number of groups")
    parser.add_argument("--k", type=int, default=10, help="studies per group")
    parser.add_argument("--tau2", type=float, default=0.1, help="between-study variance")
    parser.add_argument("--seed", type=int, default=20240501, help="numpy generator seed")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/groups.csv"))
    parser.add_argument(
        "--perm-out",
        type=Path,
        default=None,
        help="also write the k = 20 meta-regression data of the permutation-test benchmark",
    )
    args = parser.parse_args(argv)
    if args.groups < 1 or args.k < 2:
        parser.error("--groups must be >= 1 and --k >= 2")

    frame = make_groups(args.groups, args.k, rng=np.random.default_rng(args.seed), tau2=args.tau2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Full precision, so R and Python parse bit-identical doubles.
    frame.to_csv(args.out, index=False, float_format="%.17g")
    print(f"wrote {args.out}: {args.groups} groups x k = {args.k} (seed {args.seed})")
    if args.perm_out is not None:
        perm = make_permutation_data(20, rng=np.random.default_rng(args.seed + 1))
        perm.to_csv(args.perm_out, index=False, float_format="%.17g")
        print(f"wrote {args.perm_out}: k = 20, moderators a and b")


if __name__ == "__main__":
    main()
