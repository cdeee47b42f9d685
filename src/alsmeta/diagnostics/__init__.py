"""Diagnostics of a fitted intercept-only model, at metafor parity.

Influence: :func:`leave_one_out` (``leave1out``), :func:`influence` (``influence``),
:func:`baujat` (``baujat``), :func:`cumulative` (``cumul``). Small-study effects:
:func:`egger_test` (``regtest``), :func:`begg_test` (``ranktest``),
:func:`trim_and_fill` (``trimfill``), :func:`pet_peese`, :func:`fail_safe_n` (``fsn``).
Each takes a :class:`~alsmeta.meta.MetaAnalysisResult` and refits with its method, test
and level; each returns a frozen result with ``summary()``, ``to_dict()`` and, where
tabular, ``to_frame()``.
"""

from alsmeta.diagnostics.influence import (
    BaujatResult,
    CumulativeResult,
    InfluenceResult,
    LeaveOneOutResult,
    baujat,
    cumulative,
    influence,
    leave_one_out,
)
from alsmeta.diagnostics.small_study import (
    BeggResult,
    EggerResult,
    FailSafeNResult,
    PetPeeseResult,
    RegressionEstimate,
    TrimFillResult,
    begg_test,
    egger_test,
    fail_safe_n,
    pet_peese,
    trim_and_fill,
)

__all__ = [
    "BaujatResult",
    "BeggResult",
    "CumulativeResult",
    "EggerResult",
    "FailSafeNResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "PetPeeseResult",
    "RegressionEstimate",
    "TrimFillResult",
    "baujat",
    "begg_test",
    "cumulative",
    "egger_test",
    "fail_safe_n",
    "influence",
    "leave_one_out",
    "pet_peese",
    "trim_and_fill",
]
