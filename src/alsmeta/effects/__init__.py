"""Effect sizes: metafor's ``escalc`` measures and the table they produce.

:func:`escalc` turns study summaries (2x2 counts, means and SDs, pre/post change scores,
single-arm proportions) into effect sizes ``yi`` and sampling variances ``vi``;
:class:`EffectSizeTable` holds them, with the study labels, the measure, the input rows
and the notes on every correction applied. :mod:`alsmeta.effects.conversions` turns
other reported statistics (CIs, p-values, LS means, medians, percentages, slopes) into the
inputs of a meta-analysis, recording the method and the assumptions.
"""

from alsmeta.effects.conversions import (
    Conversion,
    change_from_slope,
    change_sd,
    log_odds_ratio_from_counts,
    log_odds_ratio_from_percentages,
    log_risk_ratio_from_counts,
    log_risk_ratio_from_percentages,
    mean_difference,
    mean_sd_from_ls_mean,
    mean_sd_from_quantiles,
    sd_from_se,
    se_from_ci,
    se_from_p,
)
from alsmeta.effects.escalc import MEASURES, escalc
from alsmeta.effects.table import EffectSizeTable

__all__ = [
    "MEASURES",
    "Conversion",
    "EffectSizeTable",
    "change_from_slope",
    "change_sd",
    "escalc",
    "log_odds_ratio_from_counts",
    "log_odds_ratio_from_percentages",
    "log_risk_ratio_from_counts",
    "log_risk_ratio_from_percentages",
    "mean_difference",
    "mean_sd_from_ls_mean",
    "mean_sd_from_quantiles",
    "sd_from_se",
    "se_from_ci",
    "se_from_p",
]
