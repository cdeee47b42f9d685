"""The bundled ALS cell-therapy evidence base: schema, data, loader and validator.

:func:`load_evidence` reads the bundled ``data/als_trials.yaml`` (or a user's file),
validates it with :func:`validate_evidence` and returns an :class:`EvidenceBase`, whose
:meth:`~EvidenceBase.effect_sizes` converts each outcome that can be converted into an
effect size (positive = benefit of cell therapy) with the conversion and its assumptions
recorded, and whose :meth:`~EvidenceBase.not_converted` lists the rest with the reason.

pydantic and PyYAML are imported when the evidence is loaded, not on ``import alsmeta``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alsmeta.evidence.loader import load_evidence, read_evidence_file
from alsmeta.evidence.validate import validate_evidence

if TYPE_CHECKING:
    from alsmeta.evidence.base import EvidenceBase

__all__ = ["EvidenceBase", "load_evidence", "read_evidence_file", "validate_evidence"]


def __getattr__(name: str) -> Any:
    if name == "EvidenceBase":
        from alsmeta.evidence.base import EvidenceBase

        return EvidenceBase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
