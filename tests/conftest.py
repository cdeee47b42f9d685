"""Shared fixtures: the pinned metafor reference cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_REFERENCE = Path(__file__).parents[2] / "shared" / "research" / "metafor_reference.json"


def load_fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / name, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(autouse=True)
def _quiet_few_study_warnings(recwarn: pytest.WarningsRecorder) -> None:
    """Collect warnings instead of printing them; tests that care use pytest.warns."""
