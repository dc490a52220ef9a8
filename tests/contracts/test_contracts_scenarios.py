"""Every fact of every acceptance scenario passes validation (and matches the published schemas)."""

from __future__ import annotations

from datetime import date

import pytest
from contracts_support import load_json, scenario_files
from ledger_contracts import CATALOGUE, validate_fact
from ledger_contracts.formats import is_valid_uscc

FILES = scenario_files()


def test_scenarios_are_found():
    assert len(FILES) >= 3, FILES


def _as_of_day(scenario: dict) -> date:
    return date.fromisoformat(scenario["expect"]["as_of"][:10])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_scenario_fact_validates(path):
    scenario = load_json(path)
    today = _as_of_day(scenario)
    for index, raw in enumerate(scenario["facts"]):
        fact = validate_fact(raw, today=today)
        assert fact.type == raw["type"], index
        stored = fact.data_json()
        assert {key: stored[key] for key in raw["data"]} == raw["data"], f"fact {index} changed on validation"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_scenario_uscc_has_a_valid_check_digit(path):
    for raw in load_json(path)["facts"]:
        assert is_valid_uscc(raw["company"])
        if "vendor_uscc" in raw["data"]:
            assert is_valid_uscc(raw["data"]["vendor_uscc"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_payloads_match_published_schemas(path):
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    from ledger_contracts.schemas import payload_schema

    for raw in load_json(path)["facts"]:
        validator = jsonschema_rs.validator_for(payload_schema(CATALOGUE[raw["type"]]))
        assert validator.is_valid(raw["data"]), raw["type"]
