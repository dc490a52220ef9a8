"""One wire contract: ``cmd.<service>``'s parser takes exactly the requests contracts/asyncapi.json calls valid.

Requests are drawn from the published request schemas (a strategy read off the schema's keywords), with
the fact pinned to a valid example (the fact is judged by validate_fact against today's date, which no schema can say), and then
bent into near-misses one field at a time. The committed document judges them with a JSON Schema validator
and the parser judges the same bytes: both accept or both refuse. What no schema can say (duplicate keys,
NaN, byte limits, lone surrogates) is left to the protocol tests.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.errors import FactRejected
from ledger_contracts.examples import example_fact
from ledger_contracts.fact import validate_fact
from ledger_domain import protocol
from ledger_domain.schema import MAX_SEQUENCE

ROOT = Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "contracts" / "asyncapi.json").read_text(encoding="utf-8"))
SCHEMAS = DOC["components"]["schemas"]
SERVICE = "numbers"  # the envelope is the same for every service; one keeps the run short
FACT = example_fact("number.allocated")
FACT.pop("idempotency_key", None)
TODAY = date(2026, 11, 23)  # after every example date
TEXT_FIELDS = ("command_id", "actor", "correlation_id", "causation_id")


def _validator(name: str) -> Any:
    """The published schema ``name`` with every reference resolved inside the committed document."""
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": DOC["components"]})


SINGLE = _validator("NumbersFactRequest")
BATCH = _validator("NumbersBatchRequest")


def _pinned(name: str) -> dict[str, Any]:
    """A published request schema with ``fact`` fixed to the example (so hypothesis draws only the envelope)."""
    schema = copy.deepcopy(SCHEMAS[name])
    schema["properties"]["fact"] = {"const": FACT}
    return schema


def _batch_schema() -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMAS["NumbersBatchRequest"])
    schema["properties"]["items"] = {**schema["properties"]["items"], "items": _pinned("NumbersBatchItem"),
                                     "maxItems": 3}  # the bound itself is checked below, without drawing it
    return schema


@cache
def _alphabet(forbidden: str) -> list[str]:
    """Every character (no surrogates) that ``not: {pattern: forbidden}`` lets through."""
    search = re.compile(forbidden).search
    return [c for c in map(chr, range(0x3_0000)) if not 0xD800 <= ord(c) <= 0xDFFF and search(c) is None]


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under ``schema``, for the keywords the request schemas use (an unknown one fails loudly)."""
    if "$ref" in schema:
        return from_schema(SCHEMAS[schema["$ref"].rpartition("/")[2]])
    if "const" in schema:
        return st.just(schema["const"])
    if "anyOf" in schema:
        return st.one_of(*map(from_schema, schema["anyOf"]))
    kind = schema["type"]
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        alphabet = _alphabet(schema["not"]["pattern"]) if "not" in schema else st.characters(codec="utf-8")
        return st.text(alphabet, min_size=schema.get("minLength", 0), max_size=schema.get("maxLength"))
    if kind == "array":
        return st.lists(from_schema(schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems"))
    if kind == "object":
        assert schema.get("additionalProperties") is False, schema
        properties = {name: from_schema(sub) for name, sub in schema["properties"].items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries({k: v for k, v in properties.items() if k in required},
                                     optional={k: v for k, v in properties.items() if k not in required})
    raise AssertionError(f"no strategy for {schema}")


def _fact_valid(item: protocol.FactRequest | protocol.Problem) -> bool:
    """The parsed envelope's fact as the service judges it next (a 422 is a refusal too)."""
    if isinstance(item, protocol.Problem):
        return False
    try:
        validate_fact(item.fact, today=TODAY)
    except FactRejected:
        return False
    return True


def accepted(request: Any) -> bool:
    """The service's verdict on the request's bytes, before any aggregate: a batch is accepted when every item is."""
    try:
        parsed = protocol.parse_request(json.dumps(request, ensure_ascii=False).encode())
    except protocol.Problem as problem:
        assert problem.status == 400 and problem.errors, problem
        return False
    return all(map(_fact_valid, parsed.items if isinstance(parsed, protocol.BatchRequest) else [parsed]))


def test_the_published_models_are_the_parsed_ones():
    assert SCHEMAS["NumbersFactRequest"]["required"] == ["tenant", "fact"]
    sequence = SCHEMAS["NumbersFactRequest"]["properties"]["expected_sequence"]["anyOf"][0]
    assert (sequence["minimum"], sequence["maximum"]) == (0, 2**64 - 1) == (0, MAX_SEQUENCE)
    assert {t for t, s in CATALOGUE.items() if s.owner.value == SERVICE} >= {FACT["type"]}
    assert SINGLE.is_valid({"tenant": "t1", "fact": FACT}) and accepted({"tenant": "t1", "fact": FACT})


@pytest.mark.parametrize(("field", "value", "valid"), [
    ("command_id", "a\u0007b", False),  # a control character: refused by both (was valid in the model)
    ("command_id", "line\nbreak", False),
    ("command_id", "\u0085", False),  # C1
    ("command_id", "申报-2026 #1", True),
    ("command_id", "", False),
    ("command_id", "x" * 255, True),
    ("command_id", "x" * 256, False),
    ("expected_sequence", 2**60, True),  # was refused by the parser (2^53 bound); JetStream counts in uint64
    ("expected_sequence", 2**64 - 1, True),
    ("expected_sequence", 2**64, False),
    ("expected_sequence", -1, False),
    ("expected_sequence", 3.0, True),  # JSON Schema calls 3.0 an integer
    ("expected_sequence", 3.5, False),
    ("expected_sequence", True, False),
    ("expected_sequence", "3", False),
    ("tenant", "acme\n", False),  # an anchored pattern would let a final newline through in Python
    ("tenant", "a" * 64, True),
    ("tenant", "a" * 65, False),
    ("tenant", "a.b", False),
])
def test_the_disagreements_of_old_are_settled_the_same_way_on_both_sides(field, value, valid):
    request = {"tenant": "t1", "fact": FACT, field: value}
    assert SINGLE.is_valid(request) is valid
    assert accepted(request) is valid


def test_the_batch_bound_is_the_published_one():
    bound = SCHEMAS["NumbersBatchRequest"]["properties"]["items"]["maxItems"]
    assert bound == protocol.MAX_ITEMS
    for n, valid in ((bound, True), (bound + 1, False)):
        request = {"tenant": "t1", "items": [{"fact": FACT}] * n}
        assert BATCH.is_valid(request) is valid
        assert accepted(request) is valid


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=5), lambda inner: st.lists(inner, max_size=2)
                     | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)
_NEAR = st.one_of(
    st.sampled_from([None, "", " ", "x" * 255, "x" * 256, "a" * 64, "a" * 65, "a.b", "acme\n", "tab\t", "\u009f",
                     -1, 0, 2**53 + 1, 2**60, 2**64 - 1, 2**64, 1.0, 1.5, True, False, [], {}, "0"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.integers(min_value=-2, max_value=2**64 + 2),
    _JSON,
)


@st.composite
def near_misses(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """A valid request with one field set to a value from the edges (or dropped, or one unknown field added)."""
    request = dict(draw(valid))
    how = draw(st.sampled_from(("set", "drop", "add")))
    if how == "set":
        request[draw(st.sampled_from(fields))] = draw(_NEAR)
    elif how == "drop":
        request.pop(draw(st.sampled_from(fields)), None)
    else:
        request[draw(st.text(max_size=12).filter(lambda k: k not in fields))] = draw(_NEAR)
    return request


_SINGLE_VALID = from_schema(_pinned("NumbersFactRequest"))
_BATCH_VALID = from_schema(_batch_schema())
_FIELDS = ("tenant", "fact", *TEXT_FIELDS, "expected_sequence")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_SINGLE_VALID, near_misses(_SINGLE_VALID, _FIELDS)))
def test_parser_and_schema_agree_on_one_fact_requests(request):
    assert accepted(request) is SINGLE.is_valid(request), request


@st.composite
def batch_near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """A valid batch bent at its envelope or at one of its items."""
    batch = copy.deepcopy(draw(_BATCH_VALID))
    if draw(st.booleans()):
        return draw(near_misses(st.just(batch), ("tenant", "items", "actor", "correlation_id", "causation_id")))
    index = draw(st.integers(0, len(batch["items"]) - 1))
    batch["items"][index] = draw(near_misses(st.just(batch["items"][index]), _FIELDS[1:]))
    return batch


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_BATCH_VALID, batch_near_misses()))
def test_parser_and_schema_agree_on_batches(request):
    assert accepted(request) is BATCH.is_valid(request), request
