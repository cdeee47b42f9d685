"""Meta-analysis models: equal and random effects, batch fitting."""

from alsmeta.meta.batch import BatchResult, meta_analysis_by
from alsmeta.meta.model import FIT_KEYS, METHODS, TESTS, MetaAnalysisResult, meta_analysis

__all__ = [
    "FIT_KEYS",
    "METHODS",
    "TESTS",
    "BatchResult",
    "MetaAnalysisResult",
    "meta_analysis",
    "meta_analysis_by",
]
