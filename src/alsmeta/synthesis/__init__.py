"""Synthesis without meta-analysis, risk of bias and certainty of evidence.

SWiM (:mod:`alsmeta.synthesis.swim`): :func:`effect_direction`, :func:`sign_test`,
:func:`combine_p_values`, :func:`albatross_data`. Risk of bias
(:mod:`alsmeta.synthesis.risk_of_bias`): :func:`rob2`, :func:`robins_i`,
:class:`RiskOfBiasTable`. Certainty (:mod:`alsmeta.synthesis.grade`):
:func:`grade_certainty`, :func:`optimal_information_size`. Every result is frozen and says
in its ``notes`` (or reasons) what it can and cannot conclude.
"""

from alsmeta.synthesis.grade import (
    DomainRating,
    GradeAssessment,
    grade_certainty,
    optimal_information_size,
)
from alsmeta.synthesis.risk_of_bias import (
    DomainJudgment,
    RiskOfBiasAssessment,
    RiskOfBiasTable,
    rob2,
    robins_i,
)
from alsmeta.synthesis.swim import (
    AlbatrossData,
    CombinedPValueResult,
    EffectDirectionResult,
    SignTestResult,
    albatross_data,
    combine_p_values,
    effect_direction,
    sign_test,
)

__all__ = [
    "AlbatrossData",
    "CombinedPValueResult",
    "DomainJudgment",
    "DomainRating",
    "EffectDirectionResult",
    "GradeAssessment",
    "RiskOfBiasAssessment",
    "RiskOfBiasTable",
    "SignTestResult",
    "albatross_data",
    "combine_p_values",
    "effect_direction",
    "grade_certainty",
    "optimal_information_size",
    "rob2",
    "robins_i",
    "sign_test",
]
