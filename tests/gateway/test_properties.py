"""Bad input gets a structured refusal, never a crash: the gateway's routing and header parsing, and the
importer's row reading (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.rows import RowError, csv_fact, ndjson_fact
from ledger_gateway.facts_api import parse_if_match, route
from ledger_gateway.problems import KINDS, ProblemError

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_routing_any_json_answers_an_owner_or_an_invalid_fact_problem(value):
    try:
        owner = route(value)
    except ProblemError as err:
        assert err.kind == "invalid-fact"
        body = err.body("/v1/facts")
        assert body["status"] == 422 and body["errors"][0]["field"] in ("", "type")
        json.dumps(body)
    else:
        assert isinstance(value, dict) and value["type"] in CATALOGUE
        assert owner == CATALOGUE[value["type"]].owner.value


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
@example("²")  # str.isdigit() is True for it, int() refuses it: found by this test
@example('W/"7"')
def test_if_match_is_a_sequence_or_an_invalid_request(text):
    try:
        value = parse_if_match(text)
    except ProblemError as err:
        assert err.kind == "invalid-request" and KINDS[err.kind].status == 422
    else:
        assert isinstance(value, int) and value >= 0


COLUMNS = st.sampled_from(["type", "company", "effective_date", "idempotency_key", "data", "data.name",
                           "data.provinces", "data.ai_outbound", "data.year", "note", "error"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(COLUMNS, st.text(max_size=25) | st.sampled_from(list(CATALOGUE)) | st.just("是"),
                       max_size=8))
def test_a_csv_row_becomes_a_keyed_fact_or_a_row_error(record):
    try:
        fact = csv_fact(record)
    except RowError as exc:
        assert str(exc)
    else:
        assert fact["type"] in CATALOGUE and isinstance(fact["data"], dict)
        assert fact["idempotency_key"] and "note" not in fact and "error" not in fact


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_an_ndjson_line_becomes_a_keyed_fact_or_a_row_error(value):
    try:
        fact = ndjson_fact(value)
    except RowError as exc:
        assert not isinstance(value, dict) or "not JSON" in str(exc)  # NaN / Infinity
    else:
        assert fact["idempotency_key"] and not any(k.startswith("_") for k in fact)
