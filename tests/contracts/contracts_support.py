"""Shared helpers for the contracts tests: a fixed 'today' and the acceptance scenarios.

(A uniquely named module rather than conftest.py, so importing it can never pick
up another package's conftest.)
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

TODAY = date(2026, 11, 23)
"""The day the design was written; validation takes 'today' as an argument, never the clock."""

_REPO = Path(__file__).resolve().parents[2]


def scenario_dir() -> Path | None:
    """Where the acceptance scenarios are: $LEDGER_SCENARIOS, the repo, or the shared workspace."""
    candidates = [
        os.environ.get("LEDGER_SCENARIOS"),
        _REPO / "scenarios",
        _REPO / "tests" / "scenarios",
        _REPO.parent / "shared" / "scenarios",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.json")):
            return Path(candidate)
    return None


def scenario_files() -> list[Path]:
    found = scenario_dir()
    return sorted(found.glob("*.json")) if found else []


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
