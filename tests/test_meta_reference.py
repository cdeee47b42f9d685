"""meta_analysis and `alsmeta fit` against metafor, case by case.

The cases are written by ``validation/r/rma_fixtures.R`` (metafor run with tight
convergence control); each records its R call. Closed-form estimators must agree to
rtol 1e-8, iterative ones (and the Q-profile tau^2 CI, a root search) to 1e-6.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsmeta import EffectSizeTable, meta_analysis
from alsmeta.cli import main
from alsmeta.meta import FIT_KEYS
from conftest import load_fixture

REFERENCE = load_fixture("rma_reference.json")
CASES = [c for c in REFERENCE["cases"] if "expected" in c]
ERROR_CASES = [c for c in REFERENCE["cases"] if "error" in c]
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM"}
ROOT_KEYS = {"tau2_ci_lower", "tau2_ci_upper"}
COMPARED = [k for k in FIT_KEYS if k not in ("method", "test", "level")] + ["tau2_se"]

#: Size of the case grid; shrinking it must be a deliberate change.
EXPECTED_CASES: int = 816


def tolerance(case: dict[str, Any], key: str) -> float:
    if case["method"] in ITERATIVE or key in ROOT_KEYS:
        return 1e-6
    return 1e-8


def fit_case(case: dict[str, Any]):
    data = case["data"]
    es = EffectSizeTable.from_frame(pd.DataFrame({"yi": data["yi"], "vi": data["vi"]}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(
            es,
            method=case["method"],
            test=case["test"],
            level=case["level"],
            weights=data.get("weights"),
        )


def assert_matches(case: dict[str, Any], got: dict[str, Any], keys: list[str] = COMPARED) -> None:
    expected = case["expected"]
    for key in keys:
        if key not in expected:
            continue
        want, have = expected[key], got.get(key)
        if want is None:
            assert have is None or np.isnan(have), f"{case['name']}: {key} should be undefined"
            continue
        assert have is not None, f"{case['name']}: {key} is missing, metafor gives {want}"
        rtol = tolerance(case, key)
        # Absolute floor: quantities that are 0 in exact arithmetic.
        scale = max(1.0, abs(expected.get("tau2") or 0.0)) if key.startswith("tau2") else 1.0
        atol = 1e-9 * scale
        assert np.isclose(have, want, rtol=rtol, atol=atol), (
            f"{case['name']} [{case['call']}]: {key} = {have!r}, metafor {want!r}"
        )


def test_grid_size() -> None:
    by_family: dict[str, int] = {}
    for case in REFERENCE["cases"]:
        by_family[case["family"]] = by_family.get(case["family"], 0) + 1
    assert by_family.get("random", 0) >= 300
    assert len(REFERENCE["cases"]) == EXPECTED_CASES
    methods = {c["method"] for c in CASES}
    tests = {c["test"] for c in CASES}
    assert methods >= {"EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ"}
    assert tests == {"z", "t", "knha", "adhoc"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_api_matches_metafor(case: dict[str, Any]) -> None:
    res = fit_case(case)
    got = res.to_dict()
    got["tau2_se"] = res.tau2_se
    assert_matches(case, got)
    if "weights" in case["expected"]:
        np.testing.assert_allclose(res.weights, case["expected"]["weights"], rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cli_json_matches_metafor(case: dict[str, Any], tmp_path, capsys) -> None:
    data = case["data"]
    frame = pd.DataFrame({"yi": data["yi"], "vi": data["vi"]})
    argv = [
        "fit",
        str(tmp_path / "es.csv"),
        "--method",
        case["method"],
        "--test",
        case["test"],
        "--level",
        repr(case["level"]),
        "--format",
        "json",
    ]
    if data.get("weights") is not None:
        frame["w"] = data["weights"]
        argv += ["--weights", "w"]
    frame.to_csv(tmp_path / "es.csv", index=False, float_format="%.17g")
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0
    got = json.loads(out)
    assert list(got) == list(FIT_KEYS)
    assert_matches(case, got, keys=[k for k in COMPARED if k != "tau2_se"])
