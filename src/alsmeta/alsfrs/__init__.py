"""The ALSFRS-R instrument: items, validation, totals, domains, ΔFS, King's and MiToS.

:func:`score` validates a visit table and appends the total, the domain subscores, ΔFS
(when the months from onset are given) and the King's and MiToS stages. The item
columns may use readable names (:data:`ITEM_COLUMNS`) or PRO-ACT names
(:data:`PROACT_ITEM_COLUMNS`). The original 10-item ALSFRS (0-40) is a separate
instrument in :mod:`alsmeta.alsfrs.alsfrs_original`.
"""

from alsmeta.alsfrs.items import (
    DOMAINS,
    DOMAINS_THREE,
    ITEM_COLUMNS,
    ITEMS,
    MAX_TOTAL,
    PROACT_ITEM_COLUMNS,
    Item,
    normalise_item_columns,
)
from alsmeta.alsfrs.scoring import ScoreResult, domain_scores, score, total_score
from alsmeta.alsfrs.staging import (
    KingsStage,
    MitosStage,
    delta_fs,
    kings_stage,
    mitos_stage,
    months_from_onset,
    worst_so_far,
)

__all__ = [
    "DOMAINS",
    "DOMAINS_THREE",
    "ITEMS",
    "ITEM_COLUMNS",
    "MAX_TOTAL",
    "PROACT_ITEM_COLUMNS",
    "Item",
    "KingsStage",
    "MitosStage",
    "ScoreResult",
    "delta_fs",
    "domain_scores",
    "kings_stage",
    "mitos_stage",
    "months_from_onset",
    "normalise_item_columns",
    "score",
    "total_score",
    "worst_so_far",
]
