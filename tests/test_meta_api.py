"""The meta_analysis API: options, notes, errors and the result object."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from alsmeta import (
    ConvergenceError,
    FewStudiesWarning,
    InputError,
    escalc,
    load_dataset,
    meta_analysis,
    meta_analysis_by,
)
from alsmeta.meta import FIT_KEYS, _kernels


@pytest.fixture(scope="module")
def bcg():
    return escalc(
        "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"), study="author"
    )


def test_result_is_frozen_and_json_safe(bcg) -> None:
    res = meta_analysis(bcg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.tau2 = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.weights[0] = 1.0
    assert list(res.to_dict()) == list(FIT_KEYS)
    json.dumps(res.to_dict(), allow_nan=False)


def test_to_frame_has_one_row_per_study_with_weights(bcg) -> None:
    frame = meta_analysis(bcg, method="DL").to_frame()
    assert len(frame) == 13 and {"yi", "vi", "weight", "study"} <= set(frame.columns)
    assert frame["weight"].sum() == pytest.approx(100.0)
    assert frame["study"].iloc[0] == "Aronson"


def test_fe_is_an_alias_of_ee(bcg) -> None:
    assert meta_analysis(bcg, method="FE").to_dict() == meta_analysis(bcg, method="EE").to_dict()


def test_equal_effects_summary_and_missing_prediction_interval(bcg) -> None:
    res = meta_analysis(bcg, method="EE")
    assert res.pi_lower != res.pi_lower  # nan: metafor gives no PI for an EE model
    text = res.summary()
    assert text.splitlines()[1] == "Equal-Effects Model (k = 13)"
    assert "I^2 (total heterogeneity / total variability):   92.12%" in text
    assert "tau^2" not in text


def test_user_weights_change_the_estimate_as_metafor(bcg) -> None:
    n = load_dataset("bcg")[["tpos", "tneg", "cpos", "cneg"]].sum(axis=1).to_numpy(float)
    res = meta_analysis(bcg, method="GENQ", weights=n)
    assert res.estimate == pytest.approx(np.sum(n * bcg.yi) / np.sum(n), rel=1e-12)
    np.testing.assert_allclose(res.weights, 100 * n / n.sum())


def test_genq_without_weights_is_an_input_error(bcg) -> None:
    with pytest.raises(InputError, match="needs weights"):
        meta_analysis(bcg, method="GENQ")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "reml"}, "did you mean 'REML'"),
        ({"test": "KNHA"}, "did you mean 'knha'"),
        ({"level": 95}, "use 0.95"),
        ({"level": 1.0}, "strictly between 0 and 1"),
        ({"weights": [1.0, 2.0]}, "2 values for 13 studies"),
    ],
)
def test_bad_options_name_the_parameter(bcg, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        meta_analysis(bcg, **kwargs)


def test_negative_weights_name_the_rows(bcg) -> None:
    w = np.ones(13)
    w[[2, 7]] = [-1.0, np.nan]
    with pytest.raises(InputError) as info:
        meta_analysis(bcg, method="GENQ", weights=w)
    assert [p.row for p in info.value.problems] == [3, 8]


def test_one_study_uses_z_and_says_so() -> None:
    data = pd.DataFrame({"yi": [0.4], "vi": [0.09]})
    with pytest.warns(FewStudiesWarning, match="k = 1"):
        res = meta_analysis(data, method="REML", test="knha")
    assert res.test == "z" and res.tau2 == 0 and res.estimate == pytest.approx(0.4)
    assert res.se == pytest.approx(0.3) and res.q == 0 and res.q_p_value == 1
    assert np.isnan(res.tau2_ci_lower) and any("k = 1" in n for n in res.notes)


def test_two_studies_with_knapp_hartung_explain_the_wide_interval() -> None:
    data = pd.DataFrame({"yi": [-0.889, -1.585], "vi": [0.326, 0.195]})
    with pytest.warns(FewStudiesWarning, match="1 degree of freedom"):
        res = meta_analysis(data, test="knha")
    assert res.df == 1 and res.ci_upper - res.ci_lower > 8


def test_empty_tau2_interval_is_reported_not_invented() -> None:
    data = pd.DataFrame({"yi": [0.0, 0.0, 0.0], "vi": [1.0, 1.0, 1.0]})
    res = meta_analysis(data, method="DL")
    assert np.isnan(res.tau2_ci_lower) and np.isnan(res.tau2_ci_upper)
    assert any("null set" in n for n in res.notes)
    assert res.to_dict()["tau2_ci_lower"] is None


def test_non_convergence_raises_in_a_single_fit_and_is_named_in_a_batch(bcg, monkeypatch) -> None:
    monkeypatch.setattr(_kernels, "MAX_ITER", 1)
    with pytest.raises(ConvergenceError, match="did not converge"):
        meta_analysis(bcg, method="REML")
    frame = bcg.to_frame().assign(g=["a"] * 6 + ["b"] * 7)
    with pytest.warns(UserWarning, match="did not converge for 2 group"):
        batch = meta_analysis_by(frame[["yi", "vi", "g"]], "g", method="REML")
    assert batch.to_frame()["estimate"].isna().all()


def test_summary_lists_notes_and_knapp_hartung_factor(bcg) -> None:
    text = meta_analysis(bcg, method="PM", test="adhoc").summary()
    assert "tval  df" in text and "s2w = " in text and "(truncated at 1)" in text
