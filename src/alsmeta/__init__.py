"""alsmeta: does cell therapy slow the progression of ALS, and under which conditions?

The public API mirrors R's metafor: :func:`escalc` computes effect sizes,
:func:`meta_analysis` fits equal- and random-effects models, :func:`meta_analysis_by`
fits many independent models at once, :func:`meta_regression` and
:func:`subgroup_analysis` ask why effects differ, and :mod:`alsmeta.diagnostics` checks
whether one trial or small-study bias drives a result. :mod:`alsmeta.alsfrs` scores and
stages the ALSFRS-R; :mod:`alsmeta.patients` analyses patient-level visit data. Results
are frozen objects with ``summary()``, ``to_frame()`` and ``to_dict()``.

The names below load on first use, so ``import alsmeta`` (and the command line's
``--help``) stays fast; ``from alsmeta import escalc`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alsmeta.errors import (
    AlsmetaError,
    ConvergenceError,
    ConvergenceWarning,
    FewStudiesWarning,
    InputError,
)

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "load_dataset": "alsmeta.datasets",
    "EffectSizeTable": "alsmeta.effects",
    "escalc": "alsmeta.effects",
    "BatchResult": "alsmeta.meta",
    "MetaAnalysisResult": "alsmeta.meta",
    "MetaRegressionResult": "alsmeta.meta",
    "likelihood_ratio_test": "alsmeta.meta",
    "meta_analysis": "alsmeta.meta",
    "meta_analysis_by": "alsmeta.meta",
    "meta_regression": "alsmeta.meta",
    "permutation_test": "alsmeta.meta",
    "subgroup_analysis": "alsmeta.meta",
    "leave_one_out": "alsmeta.diagnostics",
    "influence": "alsmeta.diagnostics",
    "cumulative": "alsmeta.diagnostics",
    "egger_test": "alsmeta.diagnostics",
    "begg_test": "alsmeta.diagnostics",
    "trim_and_fill": "alsmeta.diagnostics",
}

if TYPE_CHECKING:
    from alsmeta.datasets import load_dataset
    from alsmeta.diagnostics import (
        begg_test,
        cumulative,
        egger_test,
        influence,
        leave_one_out,
        trim_and_fill,
    )
    from alsmeta.effects import EffectSizeTable, escalc
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alsmeta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "begg_test",
    "cumulative",
    "egger_test",
    "escalc",
    "influence",
    "leave_one_out",
    "likelihood_ratio_test",
    "load_dataset",
    "meta_analysis",
    "meta_analysis_by",
    "meta_regression",
    "permutation_test",
    "subgroup_analysis",
    "trim_and_fill",
]
