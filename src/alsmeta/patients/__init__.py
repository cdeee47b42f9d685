"""Patient-level ALS analysis: visit tables, PRO-ACT readers, slopes, lead-in change,
responders, the D50 model and synthetic cohorts.

The flow is one way: read or simulate visits into a :class:`VisitTable`, then compute
per-patient quantities from it. Scoring and staging come from :mod:`alsmeta.alsfrs`.
"""

from alsmeta.patients.d50 import D50Result, fit_d50
from alsmeta.patients.proact import (
    read_proact,
    read_proact_long,
    read_visits,
    write_proact,
    write_proact_long,
    write_visits,
)
from alsmeta.patients.responders import (
    PRESETS,
    ResponderResult,
    ResponderRule,
    responders,
)
from alsmeta.patients.slopes import LeadInResult, SlopeResult, lead_in, slopes
from alsmeta.patients.synth import d50_curve, synth_cohort
from alsmeta.patients.visits import (
    DAYS_PER_MONTH,
    SUBJECT_COLUMNS,
    VISIT_COLUMNS,
    VisitTable,
    visit_table,
)

__all__ = [
    "DAYS_PER_MONTH",
    "PRESETS",
    "SUBJECT_COLUMNS",
    "VISIT_COLUMNS",
    "D50Result",
    "LeadInResult",
    "ResponderResult",
    "ResponderRule",
    "SlopeResult",
    "VisitTable",
    "d50_curve",
    "fit_d50",
    "lead_in",
    "read_proact",
    "read_proact_long",
    "read_visits",
    "responders",
    "slopes",
    "synth_cohort",
    "visit_table",
    "write_proact",
    "write_proact_long",
    "write_visits",
]
