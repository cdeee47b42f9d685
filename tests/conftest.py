"""Shared fixtures: the pinned metafor reference cases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so that a submission's test outcome
# never depends on a random draw. `HYPOTHESIS_PROFILE=explore` searches new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_REFERENCE = Path(__file__).parents[2] / "shared" / "research" / "metafor_reference.json"


def load_fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / name, encoding="utf-8") as fh:
        return json.load(fh)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``alsmeta`` in-process; return its exit code, stdout and stderr."""
    # Imported here so that tests which never call the CLI do not load it.
    from alsmeta.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _quiet_few_study_warnings(recwarn: pytest.WarningsRecorder) -> None:
    """Collect warnings instead of printing them; tests that care use pytest.warns."""
