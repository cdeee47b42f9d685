"""Batch ANCOVA, responder, CAFS and lead-in endpoints against their single-trial analyses.

Every replicate of a simulated batch (D50 progression, with deaths and dropouts) is fed to
the single-trial function of :mod:`alsmeta.patients` and must give the same estimate,
statistic, p-value and number analysed: closed forms to 1e-9 relative, the rank and
exact tests exactly, and the responder classification patient by patient.

The visit-table analyses (``responders``, ``cafs``, ``lead_in``) read ALSFRS-R items, and
a simulated trial has totals only; :func:`visit_table_of` spreads each total over the 12
items (4, 4, ..., the remainder, 0, ...), which ``visit_table`` scores back to the same
total (and checks, as the frame keeps ``total``). Deaths go in as ``died`` and
``death_days = death_months * 365.25 / 12``.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsmeta.alsfrs import ITEM_COLUMNS
from alsmeta.errors import InputError
from alsmeta.patients import lead_in, responders, visit_table
from alsmeta.patients.cafs import cafs
from alsmeta.patients.mixed import ancova
from alsmeta.patients.responders import resolve_rule
from alsmeta.patients.visits import DAYS_PER_MONTH, VisitTable
from alsmeta.simulate import (
    D50Progression,
    TreatmentEffect,
    TrialBatch,
    TrialDesign,
    simulate_trials,
)
from alsmeta.simulate._endpoints import (
    ENDPOINT_FUNCTIONS,
    _classify,
    ancova_endpoint,
    cafs_endpoint,
    lead_in_endpoint,
    responder_endpoint,
)
from alsmeta.simulate.analysis import EndpointBatch

RTOL = 1e-9
ITEMS = [c for c in ITEM_COLUMNS if c != "cutting_with_gastrostomy"]
EFFECTS = {"null": 0.0, "effect": 0.3}


def simulate(design: str, effect: float, seed: int, *, reps: int = 8, n: int = 25,
             **options: float) -> TrialBatch:  # fmt: skip
    return simulate_trials(
        TrialDesign(design=design, n_per_arm=n, **options),
        D50Progression(),
        TreatmentEffect(mean=effect, scale="percent"),
        reps,
        rng=np.random.default_rng(seed),
    )


_TABLES: dict[tuple[int, int], VisitTable] = {}


def visit_table_of(batch: TrialBatch, rep: int) -> VisitTable:
    """Replicate ``rep`` as a validated VisitTable (items spread from the totals)."""
    key = (id(batch), rep)
    if key not in _TABLES:
        frame = batch.visits(rep).drop(columns=["t_months"])
        total = frame["total"].to_numpy()
        for k, item in enumerate(ITEMS):
            frame[item] = np.clip(total - 4 * k, 0, 4)
        subjects = batch.subjects(rep).set_index("subject_id").loc[frame["subject_id"]]
        died = subjects["died"].to_numpy()
        frame["died"] = np.where(died, "Yes", "No")
        frame["death_days"] = np.where(
            died, subjects["death_months"].to_numpy() * DAYS_PER_MONTH, np.nan
        )
        _TABLES[key] = visit_table(frame)
    return _TABLES[key]


def close(got: float, want: float, rtol: float = RTOL) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return math.isclose(got, want, rel_tol=rtol, abs_tol=1e-12)


@pytest.fixture(autouse=True)
def _quiet() -> object:
    # The single-trial functions warn about every excluded subject; not under test here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(scope="module")
def batches() -> dict[tuple[str, str], TrialBatch]:
    out = {}
    for seed, design in enumerate(["parallel", "lead-in-randomised"]):
        for name, effect in EFFECTS.items():
            out[design, name] = simulate(design, effect, 10 * seed + int(effect * 10))
    out["lead-in-randomised", "enriched"] = simulate(
        "lead-in-randomised", 0.3, 40, reps=6, min_lead_in_decline=2
    )
    for name, effect in EFFECTS.items():
        out["single-arm-lead-in", name] = simulate("single-arm-lead-in", effect, 50, n=40)
    out["single-arm-lead-in", "enriched"] = simulate(
        "single-arm-lead-in", 0.3, 51, n=40, min_lead_in_decline=2
    )
    return out


def test_registry_and_result_shape(batches: dict[tuple[str, str], TrialBatch]) -> None:
    assert list(ENDPOINT_FUNCTIONS) == ["ancova", "responders", "cafs", "lead-in"]
    batch = batches["lead-in-randomised", "effect"]
    for name, function in ENDPOINT_FUNCTIONS.items():
        res = function(batch)
        assert isinstance(res, EndpointBatch)
        assert res.endpoint == name
        for field in ("estimate", "statistic", "p_value", "favours_treatment", "n_analysed"):
            array = getattr(res, field)
            assert array.shape == (batch.reps,)
            assert not array.flags.writeable
        assert res.description


# --------------------------------------------------------------------------- ANCOVA -----
ANCOVA_CASES = [
    (design, effect, options)
    for design in ("parallel", "lead-in-randomised")
    for effect in EFFECTS
    for options in ({}, {"month": 3.0, "window": 1.0})
] + [("lead-in-randomised", "enriched", {})]


@pytest.mark.parametrize(("design", "effect", "options"), ANCOVA_CASES)
def test_ancova_matches_single_trial(
    batches: dict[tuple[str, str], TrialBatch], design: str, effect: str, options: dict
) -> None:
    batch = batches[design, effect]
    res = ancova_endpoint(batch, **options)
    month = options.get("month", float(batch.months[-1]))
    for r in range(batch.reps):
        one = ancova(batch.visits(r), month=month, control="Placebo",
                     window=options.get("window", 0.5))  # fmt: skip
        assert close(res.estimate[r], one.estimate)
        assert close(res.statistic[r], one.statistic)
        assert close(res.p_value[r], one.p_value)
        assert res.n_analysed[r] == one.n_subjects
        assert res.favours_treatment[r] == (one.estimate > 0)
    # Deaths and dropouts are really left out (the test would be vacuous otherwise).
    assert (res.n_analysed < len(batch.arm)).any()


def test_ancova_without_contributors_is_nan(batches: dict[tuple[str, str], TrialBatch]) -> None:
    batch = batches["parallel", "null"]
    res = ancova_endpoint(batch, month=12.0)  # no visit near month 12
    assert np.isnan(res.estimate).all() and np.isnan(res.p_value).all()
    assert not res.favours_treatment.any()
    assert (res.n_analysed == 0).all()
    with pytest.raises(InputError, match="too few subjects"):
        ancova(batch.visits(0), month=12.0, control="Placebo")


# --------------------------------------------------------------------------- responders --
RESPONDER_RULES = [
    ("nurown_ph3", {}),
    ("nurown_ph2", {"dropout": "locf", "death": "locf"}),
    ("pct50", {}),
    ("pct100", {"death": "exclude", "dropout": "observed", "pre_slope": "two_point",
                "post_slope": "two_point"}),
    ("nurown_ph3", {"post_months": 5.0, "min_visits": 3, "dropout": "locf", "threshold": 0.5}),
]  # fmt: skip


@pytest.mark.parametrize("effect", ["null", "effect", "enriched"])
@pytest.mark.parametrize(("rule", "changes"), RESPONDER_RULES)
def test_responders_match_single_trial(
    batches: dict[tuple[str, str], TrialBatch], effect: str, rule: str, changes: dict
) -> None:
    batch = batches["lead-in-randomised", effect]
    res = responder_endpoint(batch, rule=rule, **changes)
    counted, responder = _classify(batch, resolve_rule(rule, changes), None, 14.0)
    for r in range(batch.reps):
        one = responders(visit_table_of(batch, r), rule, treatment_day=0.0, **changes)
        flags = one.table["responder"]
        np.testing.assert_array_equal(counted[r], flags.notna().to_numpy())
        np.testing.assert_array_equal(responder[r], flags.fillna(False).to_numpy(dtype=bool))
        by_arm = one.by_arm.set_index("arm")
        yes = by_arm.loc[["Active", "Placebo"], "n_responders"].to_numpy()
        table = np.column_stack([yes, by_arm.loc[["Active", "Placebo"], "n_counted"] - yes])
        assert res.p_value[r] == stats.fisher_exact(table).pvalue
        assert res.statistic[r] == table[0, 0]
        cells = table + 0.5 if (table == 0).any() else table.astype(float)
        log_or = math.log(cells[0, 0] * cells[1, 1] / (cells[0, 1] * cells[1, 0]))
        assert close(res.estimate[r], log_or, 1e-12)
        assert res.n_analysed[r] == by_arm.loc["all", "n_counted"]


def test_responder_handling_is_exercised(batches: dict[tuple[str, str], TrialBatch]) -> None:
    # The cases above must include deaths and dropouts before the landmark, and both
    # outcomes, or the patient-by-patient check proves little.
    batch = batches["lead-in-randomised", "effect"]
    outcomes = pd.concat(
        [responders(visit_table_of(batch, r), "pct50").table for r in range(batch.reps)]
    )["outcome"]
    assert {"completed", "died", "dropout"} <= set(outcomes)
    counted, responder = _classify(batch, resolve_rule("pct50", {}), None, 14.0)
    assert responder.any() and (counted & ~responder).any()


def test_responders_without_counted_patients_are_nan(
    batches: dict[tuple[str, str], TrialBatch],
) -> None:
    batch = batches["lead-in-randomised", "null"]
    res = responder_endpoint(
        batch, rule="nurown_ph2", min_visits=20, death="exclude", dropout="exclude"
    )
    assert np.isnan(res.estimate).all() and np.isnan(res.p_value).all()
    assert (res.n_analysed == 0).all()


# --------------------------------------------------------------------------- CAFS -------
@pytest.mark.parametrize("dropout", ["locf", "rank-at-withdrawal"])
@pytest.mark.parametrize(
    ("design", "effect"),
    [("parallel", "null"), ("parallel", "effect"), ("lead-in-randomised", "effect"),
     ("lead-in-randomised", "enriched")],
)  # fmt: skip
def test_cafs_matches_single_trial(
    batches: dict[tuple[str, str], TrialBatch], design: str, effect: str, dropout: str
) -> None:
    batch = batches[design, effect]
    res = cafs_endpoint(batch, dropout=dropout)
    window = float(batch.months[-1])
    statuses = []
    for r in range(batch.reps):
        one = cafs(visit_table_of(batch, r), window_months=window, dropout=dropout)
        assert res.statistic[r] == one.statistic
        assert res.p_value[r] == one.p_value
        assert close(res.estimate[r], one.win_probability, 1e-15)
        assert res.n_analysed[r] == (one.table["status"] != "excluded").sum()
        assert res.favours_treatment[r] == (one.win_probability > 0.5)
        statuses += one.table["status"].tolist()
    assert {"died", "dropout", "completed"} <= set(statuses)


def test_cafs_shorter_window(batches: dict[tuple[str, str], TrialBatch]) -> None:
    batch = batches["parallel", "effect"]
    for dropout in ("locf", "rank-at-withdrawal"):
        res = cafs_endpoint(batch, dropout=dropout, window_months=4.0, visit_window_days=20.0)
        for r in range(batch.reps):
            one = cafs(visit_table_of(batch, r), window_months=4.0, dropout=dropout,
                       visit_window_days=20.0)  # fmt: skip
            assert res.statistic[r] == one.statistic
            assert res.p_value[r] == one.p_value


def test_cafs_rank_at_withdrawal_differs(batches: dict[tuple[str, str], TrialBatch]) -> None:
    # The two dropout rules must lead to different scores somewhere, or the
    # withdrawal path was never taken.
    batch = batches["parallel", "null"]
    locf = cafs_endpoint(batch, dropout="locf")
    withdrawal = cafs_endpoint(batch, dropout="rank-at-withdrawal")
    assert (locf.statistic != withdrawal.statistic).any()


# --------------------------------------------------------------------------- lead-in ----
LEAD_IN_OPTIONS = [{}, {"min_visits": 3, "min_span_months": 2.0, "post_months": 4.0}]


@pytest.mark.parametrize("options", LEAD_IN_OPTIONS)
@pytest.mark.parametrize(
    ("design", "effect"),
    [("single-arm-lead-in", "null"), ("single-arm-lead-in", "effect"),
     ("single-arm-lead-in", "enriched"), ("lead-in-randomised", "effect"),
     ("lead-in-randomised", "enriched")],
)  # fmt: skip
def test_lead_in_matches_single_trial(
    batches: dict[tuple[str, str], TrialBatch], design: str, effect: str, options: dict
) -> None:
    batch = batches[design, effect]
    res = lead_in_endpoint(batch, **options)
    for r in range(batch.reps):
        one = lead_in(visit_table_of(batch, r), treatment_day=0.0, test="t", **options)
        if batch.design.n_control:
            row = one.by_arm.set_index("arm").loc["Active"]  # the treated arm only
            want = (row["mean_change"], row["statistic"], row["p_value"], row["n_pairs"])
        else:
            want = (one.mean_change, one.statistic, one.p_value, one.n_pairs)
        assert close(res.estimate[r], want[0])
        assert close(res.statistic[r], want[1])
        assert close(res.p_value[r], want[2])
        assert res.n_analysed[r] == want[3]


def test_lead_in_too_few_pairs_is_nan(batches: dict[tuple[str, str], TrialBatch]) -> None:
    res = lead_in_endpoint(batches["single-arm-lead-in", "null"], min_visits=8)
    assert np.isnan(res.estimate).all() and np.isnan(res.p_value).all()
    assert (res.n_analysed == 0).all()


# --------------------------------------------------------------------------- errors -----
def test_wrong_design_errors(batches: dict[tuple[str, str], TrialBatch]) -> None:
    parallel = batches["parallel", "null"]
    single = batches["single-arm-lead-in", "null"]
    for name in ("ancova", "responders", "cafs"):
        with pytest.raises(InputError, match="no control arm") as info:
            ENDPOINT_FUNCTIONS[name](single)
        assert f"endpoint {name!r}" in str(info.value)
        assert "'lead-in'" in str(info.value)  # points to the within-patient endpoint
    with pytest.raises(InputError, match="lead-in and post-treatment slopes") as info:
        responder_endpoint(parallel)
    assert "lead-in-randomised" in str(info.value)
    with pytest.raises(InputError, match="design 'parallel' has no lead-in"):
        lead_in_endpoint(parallel)


def test_option_errors(batches: dict[tuple[str, str], TrialBatch]) -> None:
    batch = batches["lead-in-randomised", "null"]
    with pytest.raises(InputError, match="domains=True"):
        responder_endpoint(batch, rule="domain_nurown_ph2")
    with pytest.raises(InputError, match="onset"):
        responder_endpoint(batch, pre_slope="delta_fs")
    with pytest.raises(InputError, match="unknown rule option"):
        responder_endpoint(batch, thresold=1.0)
    with pytest.raises(InputError, match="rule='nurown' is not valid"):
        responder_endpoint(batch, rule="nurown")
    with pytest.raises(InputError, match="pre_months"):
        responder_endpoint(batch, pre_months=-1)
    with pytest.raises(InputError, match="window=0"):
        ancova_endpoint(batch, window=0)
    with pytest.raises(InputError, match=r"month=0\.3"):
        ancova_endpoint(batch, month=0.3)
    with pytest.raises(InputError, match="dropout='carry'"):
        cafs_endpoint(batch, dropout="carry")
    with pytest.raises(InputError, match="window_months"):
        cafs_endpoint(batch, window_months=-2.0)
    with pytest.raises(InputError, match="min_visits=1"):
        lead_in_endpoint(batch, min_visits=1)
    with pytest.raises(InputError, match="post_months"):
        lead_in_endpoint(batch, post_months=0)


# --------------------------------------------------------------------------- properties -
def test_large_effect_favours_treatment() -> None:
    strong = 0.6
    two_arm = simulate("lead-in-randomised", strong, 99, reps=10, n=40)
    single = simulate("single-arm-lead-in", strong, 98, reps=10, n=40)
    for res in (
        ancova_endpoint(two_arm),
        cafs_endpoint(two_arm),
        responder_endpoint(two_arm, rule="pct50"),
        lead_in_endpoint(two_arm),
        lead_in_endpoint(single),
    ):
        assert res.favours_treatment.mean() >= 0.8, res.endpoint
        assert np.nanmedian(res.p_value) < 0.2, res.endpoint


def test_fast_enough() -> None:
    batch = simulate("lead-in-randomised", 0.25, 3, reps=100, n=100)
    for name, function in ENDPOINT_FUNCTIONS.items():
        start = time.perf_counter()
        function(batch)
        assert time.perf_counter() - start < 2.0, name
