"""Effect sizes: metafor's ``escalc`` measures and the table they produce.

:func:`escalc` turns study summaries (2x2 counts, means and SDs, pre/post change scores,
single-arm proportions) into effect sizes ``yi`` and sampling variances ``vi``;
:class:`EffectSizeTable` holds them, with the study labels, the measure, the input rows
and the notes on every correction applied.
"""

from alsmeta.effects.escalc import MEASURES, escalc
from alsmeta.effects.table import EffectSizeTable

__all__ = ["MEASURES", "EffectSizeTable", "escalc"]
