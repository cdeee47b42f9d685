"""fit_slope_batch against lme4/lmerTest, trial by trial (fixture written by
``validation/r/simulate_fixtures.R`` from the trials of ``validation/simulate/trials.csv``,
which ``validation/simulate/write_trials.py`` simulates with ``alsmeta.simulate``).

Model: ``total ~ t_months * arm + (1 + t_months | subject_id)`` by REML; compared: the
``t_months:armActive`` estimate, its SE, Satterthwaite df, t statistic and p-value.

Tolerances: se rtol 1e-6; df rtol 1e-4; p-value atol 1e-6; estimate rtol 1e-6 or 1e-6 of
its SE, whichever is larger, and t statistic rtol 1e-6 or atol 1e-6 (the same bound in SE
units): relative to itself an estimate near 0 (trial 8: -0.0020, SE 0.137) magnifies the
~1e-9 stopping error of either optimiser, so its error is measured on the scale it is
tested on. Observed worst over the 24 trials: estimate 1.4e-6 relative (trial 8), 2.6e-8
of its SE (trial 14); se 1.2e-7 relative (trial 20); df 9.3e-7 relative (trial 19); t
1.3e-6 relative (trial 8, t = -0.015), 2e-6 absolute (trial 20, t = 16.2); p 2.6e-8
absolute (trial 13).

Boundary fits: fit_slope_batch returns no theta, so for the trials lme4 calls singular
(22-24: theta_3 ~ 0 with theta_1 > 0; all three theta ~ 0) the same five quantities are
compared with the same tolerances; they are continuous at the boundary, and lme4's tight
optimum there (theta_3 = 9e-7 in trial 22, not 0) moves them by < 1e-7. In addition every
boundary trial must have been refitted by the single-trial optimiser (the batch Newton
iteration cannot leave theta = 0), and where lme4 puts every theta at ~0 (trial 24: the
model is ordinary least squares) both df must be the residual df n - 4.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta.simulate._lmm_batch import SlopeBatch, fit_slope_batch, sufficient_batch
from conftest import load_fixture

REFERENCE = load_fixture("simulate_reference.json")
CASES = REFERENCE["cases"]
TRIALS_CSV = Path(__file__).parents[1] / "validation" / "simulate" / "trials.csv"
N_CASES = 24
FIELDS = ("estimate", "se", "df", "statistic", "p_value")


@functools.cache
def _visits() -> pd.DataFrame:
    return pd.read_csv(TRIALS_CSV, comment="#", dtype={"subject_id": str, "arm": str})


@functools.cache
def _header() -> tuple[dict[str, Any], ...]:
    with open(TRIALS_CSV, encoding="utf-8") as fh:
        return tuple(json.loads(line[2:]) for line in fh if line.startswith("# {"))


def trial_arrays(trial: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``months (V,)``, ``total (n, V)`` (nan where missing), ``observed``, ``arm (n,)``."""
    g = _visits()[_visits()["trial"] == trial]
    months = np.unique(g["t_months"].to_numpy(dtype=float))
    subjects = pd.unique(g["subject_id"])
    i = pd.Index(subjects).get_indexer(g["subject_id"])
    j = np.searchsorted(months, g["t_months"].to_numpy(dtype=float))
    total = np.full((len(subjects), len(months)), np.nan)
    total[i, j] = g["total"].to_numpy(dtype=float)
    arm_of = g.groupby("subject_id", sort=False)["arm"].first().reindex(subjects)
    assert set(arm_of) <= {"Placebo", "Active"}
    return months, total, ~np.isnan(total), (arm_of == "Active").to_numpy().astype(np.int64)


@functools.cache
def fit_one(trial: int) -> SlopeBatch:
    months, total, observed, arm = trial_arrays(trial)
    stats = sufficient_batch(months, total[None], observed[None], arm)
    return fit_slope_batch(stats, reml=True, df_method="satterthwaite")


def test_case_grid_size() -> None:
    assert REFERENCE["n_cases"] == len(CASES) == N_CASES
    assert [c["trial"] for c in CASES] == list(range(1, N_CASES + 1))
    assert sorted(_visits()["trial"].unique()) == [c["trial"] for c in CASES]
    assert [h["case"] for h in _header()] == [c["case"] for c in CASES]
    assert len({c["case"] for c in CASES}) == 15
    assert sum(c["reml"]["singular"] for c in CASES) >= 3  # boundary fits are covered
    assert {c["n_subjects"] for c in CASES} >= {40, 60, 100, 150, 200}
    assert all(c["reml"]["call"].startswith("lmerTest::lmer(total ~ t_months * arm") for c in CASES)
    assert (_visits()["t_months"] >= 0).all()


@pytest.mark.parametrize("case", CASES, ids=[f"{c['trial']}-{c['case']}" for c in CASES])
def test_same_data_as_r(case: dict[str, Any]) -> None:
    g = _visits()[_visits()["trial"] == case["trial"]]
    assert g["subject_id"].nunique() == case["n_subjects"]
    assert len(g) == case["n_visits"]
    np.testing.assert_allclose(g["t_months"].sum(), case["sum_t_months"], rtol=1e-13)
    np.testing.assert_allclose(g["total"].sum(), case["sum_total"], rtol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['trial']}-{c['case']}" for c in CASES])
def test_fit_slope_batch_matches_lmertest(case: dict[str, Any]) -> None:
    want = case["reml"]
    assert want["term"] == "t_months:armActive"
    res = fit_one(case["trial"])
    assert all(getattr(res, f).shape == (1,) for f in FIELDS)
    np.testing.assert_allclose(res.estimate[0], want["estimate"], rtol=1e-6, atol=1e-6 * want["se"])
    np.testing.assert_allclose(res.se[0], want["se"], rtol=1e-6)
    np.testing.assert_allclose(res.df[0], want["df"], rtol=1e-4)
    np.testing.assert_allclose(res.statistic[0], want["statistic"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(res.p_value[0], want["p_value"], rtol=0, atol=1e-6)
    if want["singular"]:
        assert res.refitted[0]
    if max(want["theta"]) < 1e-4:  # every variance component at 0: OLS, df = n - p
        np.testing.assert_allclose(res.df[0], case["n_visits"] - 4, rtol=1e-6)
        np.testing.assert_allclose(want["df"], case["n_visits"] - 4, rtol=1e-6)


def _shape_groups() -> list[list[int]]:
    """Trials with the same visit months and the same arm vector (stackable as is)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for c in CASES:
        months, _, _, arm = trial_arrays(c["trial"])
        groups.setdefault((tuple(months), tuple(arm)), []).append(c["trial"])
    return [g for g in groups.values() if len(g) > 1]


def _assert_same(batch: SlopeBatch, trials: list[int]) -> None:
    # Not bitwise: a LinAlgError at one trial's line-search candidate makes the batched
    # line search halve the step of every pending trial, so a trial's Newton path depends
    # on its batch companions (trial 1 with trial 24: df differs by 6e-10, theta by 4e-11).
    for k, trial in enumerate(trials):
        one = fit_one(trial)
        for field in (*FIELDS, "refitted"):
            np.testing.assert_allclose(
                getattr(batch, field)[k], getattr(one, field)[0], rtol=1e-9, atol=1e-12,
                err_msg=f"trial {trial}: {field}",
            )  # fmt: skip


def test_same_shape_trials_stacked_equal_one_at_a_time() -> None:
    groups = _shape_groups()
    assert sorted(map(len, groups)) == [2, 2, 3, 5, 7]
    # One group mixes a trial refitted by the single-trial optimiser with two that are not.
    assert any(len({bool(fit_one(t).refitted[0]) for t in g}) == 2 for g in groups)
    for group in groups:
        for order in (group, group[::-1]):
            arrays = [trial_arrays(t) for t in order]
            months, arm = arrays[0][0], arrays[0][3]
            total = np.stack([a[1] for a in arrays])
            observed = np.stack([a[2] for a in arrays])
            _assert_same(fit_slope_batch(sufficient_batch(months, total, observed, arm)), order)


def test_all_trials_in_one_padded_batch() -> None:
    """All 24 trials in one batch: each trial's controls go to the first slots and its
    treated patients to the slots after the largest control arm, on the union of the
    visit months; unused slots and months are unobserved (they add nothing to the sums)."""
    trials = [c["trial"] for c in CASES]
    arrays = [trial_arrays(t) for t in trials]
    months = np.unique(np.concatenate([a[0] for a in arrays]))
    n0 = max(int((a[3] == 0).sum()) for a in arrays)
    n1 = max(int((a[3] == 1).sum()) for a in arrays)
    arm = np.r_[np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)]
    total = np.full((len(trials), n0 + n1, len(months)), np.nan)
    for r, (m, tot, _, a) in enumerate(arrays):
        cols = np.searchsorted(months, m)
        rows = np.r_[np.arange((a == 0).sum()), n0 + np.arange((a == 1).sum())]
        order = np.r_[np.flatnonzero(a == 0), np.flatnonzero(a == 1)]
        total[r, rows[:, None], cols[None, :]] = tot[order]
    observed = ~np.isnan(total)
    _assert_same(fit_slope_batch(sufficient_batch(months, total, observed, arm)), trials)
