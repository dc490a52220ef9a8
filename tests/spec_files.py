"""Where the suite finds its acceptance scenarios, and the optional external specification.

The scenarios are the product's own test data (tests/scenarios) and every test reads them from here.
The design team's specification (rules.md, its copy of the scenarios) is *not* part of the repository: a
clone has nothing beside it. Checks against it run only when it is present — ``LEDGER_SPEC_DIR``, or a
folder named ``shared`` next to the checkout — and otherwise skip with the reason printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
SCENARIOS = TESTS / "scenarios"
"""The acceptance scenarios (one company's story each), part of the repository."""


def acceptance_scenarios() -> list[Path]:
    found = sorted(SCENARIOS.glob("*.json"))
    assert found, f"no acceptance scenarios in {SCENARIOS}"
    return found


def load_scenario(name: str) -> dict[str, Any]:
    """One scenario by file stem, e.g. ``load_scenario("seat-leasing-without-licence")``."""
    return json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))


def spec_dir() -> Path | None:
    """The external specification folder if this machine has one, else None (never required)."""
    configured = os.environ.get("LEDGER_SPEC_DIR")
    candidate = Path(configured) if configured else TESTS.parents[1] / "shared"
    return candidate if candidate.is_dir() else None


def spec_file(*parts: str) -> Path:
    """A file of the external specification, or skip the calling test with the reason."""
    found = spec_dir()
    if found is None:
        pytest.skip("no external specification here (set LEDGER_SPEC_DIR to compare against one); "
                    "the product's own copies in tests/ were used everywhere else")
    path = found.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"the external specification at {found} has no {'/'.join(parts)}")
    return path
