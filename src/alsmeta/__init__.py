"""alsmeta: does cell therapy slow the progression of ALS, and under which conditions?

The public API mirrors R's metafor: :func:`escalc` computes effect sizes,
:func:`meta_analysis` fits equal- and random-effects models, :func:`meta_analysis_by`
fits many independent models at once. Results are frozen objects with ``summary()``,
``to_frame()`` and ``to_dict()``.
"""

from alsmeta.datasets import load_dataset
from alsmeta.effects import EffectSizeTable, escalc
from alsmeta.errors import (
    AlsmetaError,
    ConvergenceError,
    ConvergenceWarning,
    FewStudiesWarning,
    InputError,
)
from alsmeta.meta import (
    BatchResult,
    MetaAnalysisResult,
    MetaRegressionResult,
    likelihood_ratio_test,
    meta_analysis,
    meta_analysis_by,
    meta_regression,
    permutation_test,
    subgroup_analysis,
)

__version__ = "0.1.0"

__all__ = [
    "AlsmetaError",
    "BatchResult",
    "ConvergenceError",
    "ConvergenceWarning",
    "EffectSizeTable",
    "FewStudiesWarning",
    "InputError",
    "MetaAnalysisResult",
    "MetaRegressionResult",
    "__version__",
    "escalc",
    "likelihood_ratio_test",
    "load_dataset",
    "meta_analysis",
    "meta_analysis_by",
    "meta_regression",
    "permutation_test",
    "subgroup_analysis",
]
