"""Published worked examples, reproduced to the precision they were printed with.

Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: Cooper H,
Hedges LV, Valentine JC (eds), The Handbook of Research Synthesis and Meta-Analysis,
2nd ed., chapter 16, Table 16.3 (teacher expectancy data, k = 19).

Normand S-LT (1999). Meta-analysis: formulating, evaluating, combining, and reporting.
Stat Med 18:321-359, doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P,
Tables VIII and IX (length of hospital stay, k = 9, pooled SDs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alsmeta import escalc, load_dataset, meta_analysis

# Teacher expectancy effects (Raudenbush 1984), as printed: standardised mean
# differences rounded to 2 decimals and variances to 4, the values the table was computed from.
RAUDENBUSH_YI = [0.03, 0.12, -0.14, 1.18, 0.26, -0.06, -0.02, -0.32, 0.27, 0.80, 0.54, 0.18,
                 -0.02, 0.23, -0.18, -0.06, 0.30, 0.07, -0.07]  # fmt: skip
RAUDENBUSH_VI = [0.0156, 0.0216, 0.0279, 0.1391, 0.1362, 0.0106, 0.0106, 0.0484, 0.0269,
                 0.0630, 0.0912, 0.0497, 0.0835, 0.0841, 0.0253, 0.0279, 0.0193, 0.0088,
                 0.0303]  # fmt: skip

# Table 16.3: method -> (tau2, mu, se, z, ci.lb, ci.ub), with z tests and with Knapp-Hartung.
TABLE_16_3 = {
    "z": {
        "EE": (0.0, 0.0604, 0.0365, 1.6553, -0.0111, 0.1318),
        "ML": (0.0126, 0.0777, 0.0475, 1.6368, -0.0153, 0.1708),
        "REML": (0.0188, 0.0837, 0.0516, 1.6208, -0.0175, 0.1849),
        "DL": (0.0259, 0.0893, 0.0558, 1.6009, -0.0200, 0.1987),
        "HE": (0.0804, 0.1143, 0.0792, 1.4432, -0.0409, 0.2696),
    },
    "knha": {
        "EE": (0.0, 0.0604, 0.0515, 1.1733, -0.0477, 0.1685),
        "ML": (0.0126, 0.0777, 0.0593, 1.3110, -0.0468, 0.2023),
        "REML": (0.0188, 0.0837, 0.0616, 1.3593, -0.0457, 0.2131),
        "DL": (0.0259, 0.0893, 0.0636, 1.4050, -0.0442, 0.2229),
        "HE": (0.0804, 0.1143, 0.0711, 1.6078, -0.0351, 0.2637),
    },
}


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", ["EE", "ML", "REML", "DL", "HE"])
def test_raudenbush_2009_table_16_3(method: str, test: str) -> None:
    data = pd.DataFrame({"yi": RAUDENBUSH_YI, "vi": RAUDENBUSH_VI})
    res = meta_analysis(data, method=method, test=test)
    got = (res.tau2, res.estimate, res.se, res.statistic, res.ci_lower, res.ci_upper)
    # Printed to 4 decimals; the z values and bounds were computed from rounded
    # intermediate values, so agreement is to about one unit in the last place.
    np.testing.assert_allclose(got, TABLE_16_3[test][method], rtol=0, atol=1.2e-4)


def test_raudenbush_2009_reml_prediction_interval() -> None:
    data = pd.DataFrame({"yi": RAUDENBUSH_YI, "vi": RAUDENBUSH_VI})
    res = meta_analysis(data, method="REML")
    np.testing.assert_allclose([res.pi_lower, res.pi_upper], [-0.2036, 0.3711], atol=1.2e-4)


def test_normand_1999_tables_viii_ix_pooled_sd() -> None:
    data = load_dataset("normand1999")
    n1, n2 = data["n1i"], data["n2i"]
    pooled = np.sqrt(((n1 - 1) * data["sd1i"] ** 2 + (n2 - 1) * data["sd2i"] ** 2) / (n1 + n2 - 2))
    data = data.assign(sdpi=pooled)
    es = escalc(
        "MD", m1i="m1i", sd1i="sdpi", n1i="n1i", m2i="m2i", sd2i="sdpi", n2i="n2i", data=data
    )
    expected = {  # (estimate, ci.lb, ci.ub) and tau2 as printed
        "EE": ((-3.4939, -5.0265, -1.9613), None),
        "DL": ((-14.0972, -24.4454, -3.7490), 218.7216),
        "REML": ((-15.1217, -32.6716, 2.4282), 685.1965),
    }
    for method, (interval, tau2) in expected.items():
        res = meta_analysis(es, method=method)
        np.testing.assert_allclose(
            (res.estimate, res.ci_lower, res.ci_upper), interval, atol=5.1e-5
        )
        if tau2 is not None:
            assert res.tau2 == pytest.approx(tau2, abs=5.1e-5)
