"""Shared helpers for the contracts tests: a fixed 'today' and the acceptance scenarios (tests/scenarios).

(A uniquely named module rather than conftest.py, so importing it can never pick
up another package's conftest.)
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from spec_files import acceptance_scenarios

TODAY = date(2026, 11, 23)
"""The day the design was written; validation takes 'today' as an argument, never the clock."""

def scenario_files() -> list[Path]:
    """The acceptance scenarios of tests/scenarios (the product's own test data)."""
    return acceptance_scenarios()


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
