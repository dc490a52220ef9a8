"""The acceptance scenarios in tests/scenarios against the design team's set, when one is present.

The suite never needs the external set: it runs the repository's copies. This check only tells whether
the two have drifted apart (a scenario added, removed or changed on either side), so a difference is
reported by name instead of going unnoticed.
"""

from __future__ import annotations

import json

import pytest
from spec_files import SCENARIOS, spec_dir, spec_file


def _stories(folder) -> dict[str, object]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def test_our_scenarios_match_the_design_teams_set():
    theirs_dir = spec_file("scenarios", "README.md").parent
    ours, theirs = _stories(SCENARIOS), _stories(theirs_dir)
    report = []
    report += [f"only in tests/scenarios: {name}" for name in sorted(ours.keys() - theirs.keys())]
    report += [f"only in {theirs_dir}: {name}" for name in sorted(theirs.keys() - ours.keys())]
    report += [f"differs: {name}" for name in sorted(ours.keys() & theirs.keys()) if ours[name] != theirs[name]]
    assert not report, "the acceptance scenarios differ from the design team's set:\n" + "\n".join(report)


def test_without_a_specification_the_comparison_skips_with_its_reason(monkeypatch, tmp_path):
    """No external folder → the check skips and says why; it never fails a lone clone."""
    monkeypatch.setenv("LEDGER_SPEC_DIR", str(tmp_path / "absent"))
    assert spec_dir() is None
    with pytest.raises(pytest.skip.Exception, match="LEDGER_SPEC_DIR"):
        spec_file("scenarios", "README.md")
