"""Meta-analysis models: equal and random effects, batch fitting."""

from alsmeta.meta.batch import BatchResult, meta_analysis_by
from alsmeta.meta.model import FIT_KEYS, METHODS, TESTS, MetaAnalysisResult, meta_analysis
from alsmeta.meta.permutation import (
    LikelihoodRatioResult,
    PermutationResult,
    likelihood_ratio_test,
    permutation_test,
)
from alsmeta.meta.regression import REGRESSION_KEYS, MetaRegressionResult, meta_regression
from alsmeta.meta.subgroups import SubgroupResult, subgroup_analysis

__all__ = [
    "FIT_KEYS",
    "METHODS",
    "REGRESSION_KEYS",
    "TESTS",
    "BatchResult",
    "LikelihoodRatioResult",
    "MetaAnalysisResult",
    "MetaRegressionResult",
    "PermutationResult",
    "SubgroupResult",
    "likelihood_ratio_test",
    "meta_analysis",
    "meta_analysis_by",
    "meta_regression",
    "permutation_test",
    "subgroup_analysis",
]
