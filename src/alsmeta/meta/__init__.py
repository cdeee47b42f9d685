"""Meta-analysis models: equal and random effects, batch fitting."""

from alsmeta.meta.batch import BatchResult, meta_analysis_by
from alsmeta.meta.model import FIT_KEYS, METHODS, TESTS, MetaAnalysisResult, meta_analysis
from alsmeta.meta.regression import REGRESSION_KEYS, MetaRegressionResult, meta_regression
from alsmeta.meta.subgroups import SubgroupResult, subgroup_analysis

__all__ = [
    "FIT_KEYS",
    "METHODS",
    "REGRESSION_KEYS",
    "TESTS",
    "BatchResult",
    "MetaAnalysisResult",
    "MetaRegressionResult",
    "SubgroupResult",
    "meta_analysis",
    "meta_analysis_by",
    "meta_regression",
    "subgroup_analysis",
]
