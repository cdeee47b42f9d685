"""``alsmeta evidence claims``: test the claims clinics make against the evidence base.

``alsmeta evidence claims [--evidence FILE] [--format text|json]``
    Evaluate the bundled claims (:func:`alsmeta.evidence.claims.evaluate_claims`) on the
    bundled evidence base or FILE. ``text`` prints each claim with its verdict, the
    reason and the numbers; ``json`` prints a list of ``Verdict.to_dict()`` records
    (keys ``claim_id, statement, verdict, reason, numbers, evidence_used,
    evidence_excluded, notes``). Exit 0 whatever the verdicts; 2 for an invalid file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

FORMATS: tuple[str, ...] = ("text", "json")


def add_parser(actions: Any) -> None:
    """Add ``claims`` to the ``alsmeta evidence`` sub-parsers (``actions``)."""
    p = actions.add_parser(
        "claims",
        help="test the claims clinics make (verdict and numbers for each)",
        description="Test the claims clinics make about cell therapy for ALS against the "
        "evidence base: supported, not supported, contradicted or insufficient evidence, "
        "with the numbers behind each verdict. Efficacy verdicts use randomised trials only.",
    )
    p.add_argument(
        "--evidence",
        metavar="FILE",
        default=None,
        help="YAML or JSON evidence file (default: the bundled ALS trials)",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Evaluate the claims and write them in the chosen format."""
    from alsmeta.cli._io import write_json
    from alsmeta.evidence.claims import evaluate_claims

    verdicts = evaluate_claims(args.evidence)
    if args.format == "json":
        write_json([v.to_dict() for v in verdicts])
        return 0
    sys.stdout.write("\n".join(v.summary() for v in verdicts))
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    sys.stdout.write(
        "\n"
        + f"{len(verdicts)} claims: "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
        + "\n"
    )
    return 0
