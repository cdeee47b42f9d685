"""Combine the alsmeta and metafor timings: print the table, check agreement, write JSON.

    python benchmarks/report.py --out-dir benchmarks/out

Reads ``alsmeta.json``, ``metafor.json``, ``alsmeta_groups.csv`` and
``metafor_groups.csv`` from ``--out-dir`` and writes ``results.json`` there. The ratio
is metafor time / alsmeta time (above 1: alsmeta is faster). Targets are the project's
acceptance thresholds; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

_COMPARED = ("tau2", "estimate", "tau2_ci_lower", "tau2_ci_upper")
_FIRST_GROUPS = 20
# Far above what metafor's default tolerances explain (REML stops when tau^2 changes by
# < 1e-5, confint's root search at ~1.2e-4), so a group past it is a real disagreement.
_DISAGREEMENT = 1e-3


def _format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def build_rows(py: dict[str, Any], r: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per case, each pairing an alsmeta timing with the metafor one it matches."""
    groups = py["by"]["groups"]
    k = py["by"]["k"]
    bcg_k = py["single"]["k"]
    batch = f"{groups:,} groups of k = {k}, REML"
    cases = [
        (
            f"1 REML fit, BCG (k = {bcg_k}), in-process",
            "meta_analysis(es, tau2_ci=False) vs rma(yi, vi)",
            py["single"]["rma"],
            r["single"]["rma"],
            20.0,
        ),
        (
            f"1 REML fit + tau2 CI, BCG (k = {bcg_k}), in-process",
            "meta_analysis(es) vs rma(yi, vi) + confint()",
            py["single"]["rma_confint"],
            r["single"]["rma_confint"],
            None,
        ),
        (
            f"{batch} + tau2 CI, CLI --by",
            "alsmeta fit --by (wall, incl. start-up and CSV I/O) vs loop of rma + confint",
            py["by"]["cli"],
            r["by"]["rma_confint"],
            50.0,
        ),
        (
            f"{batch} + tau2 CI, in-process",
            "meta_analysis_by(...) vs loop of rma + confint",
            py["by"]["inprocess_confint"],
            r["by"]["rma_confint"],
            None,
        ),
        (
            f"{batch}, no CI, in-process",
            "meta_analysis_by(..., tau2_ci=False) vs loop of rma",
            py["by"]["inprocess_rma"],
            r["by"]["rma"],
            None,
        ),
        (
            "permutation test, k = 20, two moderators, 1,000 permutations (REML)",
            "permutation_test(meta_regression(...), iter=1000) vs permutest(res, iter=1000)",
            py["permutation"],
            r["permutation"],
            50.0,
        ),
    ]
    rows = []
    for case, compares, alsmeta_timing, metafor_timing, target in cases:
        ratio = metafor_timing["seconds"] / alsmeta_timing["seconds"]
        rows.append(
            {
                "case": case,
                "compares": compares,
                "alsmeta_seconds": alsmeta_timing["seconds"],
                "metafor_seconds": metafor_timing["seconds"],
                "ratio": ratio,
                "target_ratio": target,
                "target_met": None if target is None else bool(ratio >= target),
            }
        )
    return rows


def _max_abs_difference(merged: pd.DataFrame, key: str) -> dict[str, Any]:
    difference = (merged[f"{key}_alsmeta"] - merged[f"{key}_metafor"]).abs()
    if difference.notna().sum() == 0:
        return {"max_abs_difference": None, "group": None}
    worst = difference.idxmax()
    return {"max_abs_difference": float(difference[worst]), "group": merged.at[worst, "group"]}


def compare_groups(alsmeta_csv: Path, metafor_csv: Path) -> dict[str, Any]:
    """Max |alsmeta - metafor| per quantity, over the first groups and over all groups."""
    ours = pd.read_csv(alsmeta_csv, usecols=["group", *_COMPARED])
    theirs = pd.read_csv(metafor_csv, usecols=["group", *_COMPARED])
    merged = ours.merge(theirs, on="group", suffixes=("_alsmeta", "_metafor"), validate="1:1")
    if len(merged) != len(ours):
        raise SystemExit(f"group labels differ: {len(ours)} in alsmeta, {len(merged)} matched")
    failed = merged["tau2_metafor"].isna()
    fitted = merged[~failed].reset_index(drop=True)
    first = merged.head(_FIRST_GROUPS)
    first = first[first["tau2_metafor"].notna()].reset_index(drop=True)
    differs = pd.Series(False, index=fitted.index)
    for key in _COMPARED:
        differs |= (fitted[f"{key}_alsmeta"] - fitted[f"{key}_metafor"]).abs() > _DISAGREEMENT
    columns = ["group"] + [f"{key}_{side}" for key in _COMPARED for side in ("alsmeta", "metafor")]
    return {
        "groups": len(merged),
        "metafor_failed_groups": merged.loc[failed, "group"].tolist(),
        "disagreement_threshold": _DISAGREEMENT,
        "disagreeing_groups": fitted.loc[differs, columns].to_dict(orient="records"),
        "first_groups": {
            "groups": len(first),
            "of": min(_FIRST_GROUPS, len(merged)),
            **{key: _max_abs_difference(first, key) for key in _COMPARED},
        },
        "all_groups": {
            "groups": len(fitted),
            **{key: _max_abs_difference(fitted, key) for key in _COMPARED},
        },
    }


def compare_single(py: dict[str, Any], r: dict[str, Any]) -> dict[str, float]:
    ours, theirs = py["single"]["values"], r["single"]["values"]
    return {key: abs(ours[key] - theirs[key]) for key in _COMPARED}


def render(result: dict[str, Any]) -> str:
    py, r = result["raw"]["alsmeta"], result["raw"]["metafor"]
    machine = py["machine"]
    blas = py["blas"]
    lines = [
        "alsmeta vs metafor",
        f"machine : {machine['cpu_model']}, {machine['cpus']} CPUs "
        f"({machine['cpus_available']} available), load average at start "
        + ", ".join(f"{x:.2f}" for x in machine["load_average"] or ()),
        f"python  : {machine['python']}, numpy {machine['numpy']}, pandas {machine['pandas']}, "
        f"alsmeta {machine['alsmeta']}",
        f"numpy   : {_describe_blas(blas)}",
        f"R       : {r['machine']['r']}, metafor {r['machine']['metafor']}, "
        f"BLAS {r['machine']['blas']}",
        "",
    ]
    header = ("case", "alsmeta", "metafor", "ratio", "target")
    table = [header]
    for row in result["rows"]:
        target = ""
        if row["target_ratio"] is not None:
            verdict = "met" if row["target_met"] else "NOT met"
            target = f">= {row['target_ratio']:.0f}x {verdict}"
        table.append(
            (
                row["case"],
                _format_seconds(row["alsmeta_seconds"]),
                _format_seconds(row["metafor_seconds"]),
                f"{row['ratio']:.1f}x",
                target,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for n, line in enumerate(table):
        cells = [line[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(line[1:4], widths[1:4], strict=True)
        ]
        lines.append("  ".join([*cells, line[4]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", "ratio = metafor time / alsmeta time. Rows compare:"]
    lines += [f"  {row['case']}: {row['compares']}" for row in result["rows"]]

    agreement = result["agreement"]
    lines += ["", "agreement, max |alsmeta - metafor| (metafor at its default tolerances):"]
    single = agreement["single_bcg"]
    lines.append("  BCG single fit:")
    lines.append("      " + _describe_differences(single))
    groups = agreement["groups"]
    first, every = groups["first_groups"], groups["all_groups"]
    first_label = f"first {first['of']} groups"
    if first["groups"] != first["of"]:
        first_label += f" ({first['groups']} fitted by metafor)"
    for label, block in (
        (first_label, first),
        (f"all {every['groups']:,} groups fitted by metafor", every),
    ):
        values = {key: block[key]["max_abs_difference"] for key in _COMPARED}
        lines.append(f"  {label}:")
        lines.append("      " + _describe_differences(values))
    disagreeing = groups["disagreeing_groups"]
    lines.append(
        f"  groups differing by more than {groups['disagreement_threshold']:g} in any of "
        f"these: {len(disagreeing)}"
    )
    for record in disagreeing[:10]:
        lines.append(
            f"      {record['group']}: tau2 {record['tau2_alsmeta']:.4f} (alsmeta) vs "
            f"{record['tau2_metafor']:.4f} (metafor), estimate {record['estimate_alsmeta']:.4f}"
            f" vs {record['estimate_metafor']:.4f}"
        )
    if len(disagreeing) > 10:
        lines.append(f"      ... {len(disagreeing) - 10} more in results.json")
    failed = groups["metafor_failed_groups"]
    if failed:
        shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
        lines.append(
            f"  rma() stopped with an error (not converged) for {len(failed)} group(s), "
            f"left out of the comparison: {shown}"
        )
    startup = py["by"]["cli_startup_two_groups"]["seconds"]
    lines += [
        "",
        f"CLI start-up alone (same command on a two-group file): {_format_seconds(startup)}",
    ]
    return "\n".join(lines)


def _describe_differences(values: dict[str, float | None]) -> str:
    return ", ".join(
        f"{key} {'n/a' if value is None or math.isnan(value) else f'{value:.1e}'}"
        for key, value in values.items()
    )


def _describe_blas(blas: dict[str, Any]) -> str:
    parts = []
    numpy_blas = blas.get("numpy_blas") or {}
    if numpy_blas:
        parts.append(f"{numpy_blas.get('name')} {numpy_blas.get('version')}")
    if blas.get("threadpools"):
        parts.append(
            "; ".join(
                f"{pool['internal_api']} {pool['num_threads']} thread(s)"
                for pool in blas["threadpools"]
            )
        )
    else:
        parts.append(blas.get("threadpools_note", "thread count unknown"))
    set_variables = {k: v for k, v in blas["thread_variables"].items() if v is not None}
    parts.append(
        "thread variables: "
        + (", ".join(f"{k}={v}" for k, v in set_variables.items()) if set_variables else "unset")
    )
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--command", default=None, help="command line to record")
    args = parser.parse_args(argv)
    out = args.out_dir

    py = json.loads((out / "alsmeta.json").read_text(encoding="utf-8"))
    r = json.loads((out / "metafor.json").read_text(encoding="utf-8"))
    result = {
        "command": args.command,
        "rows": build_rows(py, r),
        "agreement": {
            "single_bcg": compare_single(py, r),
            "groups": compare_groups(out / "alsmeta_groups.csv", out / "metafor_groups.csv"),
        },
        "raw": {"alsmeta": py, "metafor": r},
    }
    print(render(result))
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
