"""Closed by default: bounded bodies (413 before parsing or authentication), bounded nesting (400), bounded
``as_of`` (422 naming it), facts too large for the bus (422 too_large), strict Idempotency-Keys, Retry-After on
every 503 — and a fuzzer that finds no 5xx and no runaway memory on any write endpoint."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_gateway.bounds import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, MAX_JSON_DEPTH, check_date
from ledger_gateway.config import GatewayConfig
from ledger_gateway.problems import ProblemError
from ledger_kernel.settings import SettingsError
from test_facts import REGISTERED, assert_problem

MIB = 1 << 20
WRITES = ("/v1/facts", "/v1/facts:batch", "/v1/subscriptions", "/v1/feeds", "/v1/deliveries/dlv_none/replay")
READS = ("/v1/companies", "/v1/companies/{uscc}", "/v1/companies/{uscc}/obligations",
         "/v1/companies/{uscc}/findings", "/v1/companies/{uscc}/credit", "/v1/companies/{uscc}/timeline",
         "/v1/companies/{uscc}/events")


def rss_bytes() -> int:
    """This process's resident set (the gateway runs in it: gateway_harness)."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("no /proc/self/status on this platform: the gateway's resident memory cannot be read")
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("VmRSS missing from /proc/self/status")


async def streamed(head: bytes, filler: bytes, size: int, tail: bytes = b"") -> AsyncIterator[bytes]:
    """A body of exactly ``size`` bytes (head, filler, tail) sent in 64 KiB chunks: the test never holds it."""
    yield head
    chunk = filler * (65536 // len(filler))
    left = size - len(head) - len(tail)
    while left > 0:
        yield chunk[:left]
        left -= len(chunk)
    yield tail


def many_companies(size: int) -> AsyncIterator[bytes]:
    """A subscription whose ``companies`` list holds millions of tiny strings (an unauthenticated one grew a gateway by 55-79 MiB)."""
    return streamed(b'{"channel": "nats", "target": "x", "companies": [', b'"a",', size, b'"a"]}')


# --- body size ------------------------------------------------------------------------------------------------

async def post_20_mb(client, path: str, *, declared: bool):
    """POST a streamed 20 MiB body; the answer and how much this process (the gateway's) grew meanwhile."""
    size = 20 * MIB
    gc.collect()
    before = rss_bytes()
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(size)
    r = await client.post(path, content=many_companies(size), headers=headers)
    return r, rss_bytes() - before


def assert_413(r, path: str) -> None:
    body = assert_problem(r, 413, "payload-too-large")
    limit = MAX_BATCH_BODY_BYTES if path.endswith(":batch") else MAX_BODY_BYTES
    assert body["limit_bytes"] == limit and str(limit) in body["detail"]


@pytest.mark.parametrize("path", WRITES)
async def test_a_declared_20_mb_unauthenticated_body_is_413_and_the_gateway_does_not_grow(stack, path):
    async with stack.client(None) as anyone:
        r, grown = await post_20_mb(anyone, path, declared=True)
    assert_413(r, path)
    assert grown < 50 * MIB, f"the gateway grew by {grown / MIB:.1f} MiB"


@pytest.mark.parametrize("path", ["/v1/subscriptions", "/v1/feeds"])  # bodies FastAPI reads before the key
async def test_a_chunked_20_mb_unauthenticated_body_is_413_and_the_gateway_does_not_grow(stack, path):
    async with stack.client(None) as anyone:
        r, grown = await post_20_mb(anyone, path, declared=False)
    assert_413(r, path)
    assert grown < 50 * MIB, f"the gateway grew by {grown / MIB:.1f} MiB"


@pytest.mark.parametrize("path", ["/v1/facts", "/v1/facts:batch", "/v1/subscriptions"])
async def test_a_chunked_20_mb_body_with_a_key_is_413_while_it_is_read(api, path):
    r, grown = await post_20_mb(api, path, declared=False)
    assert_413(r, path)
    assert grown < 50 * MIB, f"the gateway grew by {grown / MIB:.1f} MiB"


async def test_the_limits_are_per_path_and_apply_to_keyed_requests_too(api):
    big = {**REGISTERED, "data": {**REGISTERED["data"], "name": "名" * (MAX_BODY_BYTES // 3)}}  # ~1 MiB of UTF-8
    body = json.dumps(big, ensure_ascii=False).encode()
    assert MAX_BODY_BYTES < len(body) < MAX_BATCH_BODY_BYTES
    assert_problem(await api.post("/v1/facts", content=body, headers={"Content-Type": "application/json"}),
                   413, "payload-too-large")
    # the same fact in a batch is under the batch's limit: judged (and refused by the contracts, too long a name)
    batch = await api.post("/v1/facts:batch", content=b"[" + body + b"]", headers={"Content-Type": "application/json"})
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["status"] == 422


def test_the_body_limits_are_typed_settings():
    assert (GatewayConfig().max_body_bytes, GatewayConfig().max_batch_body_bytes) == (MAX_BODY_BYTES,
                                                                                    MAX_BATCH_BODY_BYTES)
    config = GatewayConfig.from_env({"LEDGER_MAX_BODY_BYTES": " 2048 ", "LEDGER_MAX_BATCH_BODY_BYTES": "4194304"})
    assert (config.max_body_bytes, config.max_batch_body_bytes) == (2048, 4 * MIB)
    for name in ("LEDGER_MAX_BODY_BYTES", "LEDGER_MAX_BATCH_BODY_BYTES"):
        for bad in ("1k", "-5", "0", "100", str(2 << 30), "١٠٠٠٠"):
            with pytest.raises(SettingsError, match=name):
                GatewayConfig.from_env({name: bad})


# --- nesting ------------------------------------------------------------------------------------------------------

def nested(depth: int) -> bytes:
    return b'{"type": "company.registered", "data": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
async def test_deep_nesting_is_a_400_on_every_json_body(api, depth):
    json_type = {"Content-Type": "application/json"}
    body = assert_problem(await api.post("/v1/facts", content=nested(depth), headers=json_type),
                          400, "malformed-request")
    assert body["errors"][0]["code"] == "too_deep"
    assert_problem(await api.post("/v1/facts:batch", content=b"[" + nested(depth) + b"]", headers=json_type),
                   400, "malformed-request")
    ndjson = json.dumps(REGISTERED).encode() + b"\n" + nested(depth) + b"\n"
    lines = await api.post("/v1/facts:batch", content=ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert lines.status_code == 200, lines.text
    first, second = lines.json()["results"]
    assert first["status"] == 201
    assert second["status"] == 400 and second["problem"]["errors"][0]["code"] == "too_deep"
    sub = await api.post("/v1/subscriptions", content=b'{"companies": ' + b"[" * depth + b"]" * depth + b"}",
                         headers=json_type)
    assert sub.status_code in (400, 422), sub.text
    # within the limit the fact is judged as a fact (here: refused by its contract)
    within = await api.post("/v1/facts", content=nested(MAX_JSON_DEPTH - 1), headers=json_type)
    assert_problem(within, 422, "invalid-fact")


# --- duplicate keys ----------------------------------------------------------------------------------------------

def twice(fact: dict, key: str, first: object) -> bytes:
    """``fact`` as JSON with ``key`` written twice: ``first``, then the fact's own value."""
    body = json.dumps(fact, ensure_ascii=False)
    return ("{" + json.dumps(key) + ": " + json.dumps(first) + ", " + body[1:]).encode()


async def test_a_fact_naming_a_key_twice_is_a_400_and_records_nothing(api):
    """The last of two equal keys used to win: a fact with two effective dates was recorded with one of them."""
    json_type = {"Content-Type": "application/json"}
    body = twice(REGISTERED, "effective_date", "2019-01-01")
    assert json.loads(body)["effective_date"] == REGISTERED["effective_date"]  # what Python's json would keep
    problem = assert_problem(await api.post("/v1/facts", content=body, headers=json_type), 400, "malformed-request")
    assert problem["errors"] == [{"field": "effective_date", "code": "duplicate_key",
                                  "reason_en": "the key 'effective_date' appears twice in one object",
                                  "reason_zh": "同一对象中键 'effective_date' 出现两次"}]
    nested = json.dumps({**REGISTERED, "data": "@"}).replace('"@"', twice(REGISTERED["data"], "name", "x").decode())
    assert_problem(await api.post("/v1/facts", content=nested.encode(), headers=json_type), 400, "malformed-request")
    assert_problem(await api.post("/v1/facts:batch", content=b"[" + body + b"]", headers=json_type),
                   400, "malformed-request")
    lines = await api.post("/v1/facts:batch", content=body + b"\n", headers={"Content-Type": "application/x-ndjson"})
    assert lines.status_code == 200, lines.text
    assert lines.json()["results"][0]["problem"]["errors"][0]["code"] == "duplicate_key"
    events = await api.get(f"/v1/companies/{REGISTERED['company']}/events")
    assert events.status_code == 404 or events.json()["items"] == [], events.text  # nothing was recorded


# --- as_of ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00", "1899-12-31T23:59:59+08:00",
                                   "2101-01-01T00:00:00", "0001-01-01T00:00:00+14:00"])
async def test_an_as_of_outside_1900_2100_is_422_naming_it_on_every_read(api, path, as_of):
    r = await api.get(path.format(uscc=REGISTERED["company"]), params={"as_of": as_of})
    body = assert_problem(r, 422, "invalid-request")
    assert [e["field"] for e in body["errors"]] == ["query.as_of"]


async def test_the_as_of_range_is_the_contracts_calendar_1900_to_2100(api):
    assert (await api.post("/v1/facts", json=REGISTERED)).status_code == 201
    company = "/v1/companies"
    for as_of in ("1900-01-01T00:00:00", "2100-12-31T23:59:59+08:00", "2026-11-23T09:00:00Z"):
        r = await api.get(company, params={"as_of": as_of})
        assert r.status_code == 200, (as_of, r.text)
    for as_of in ("1899-12-31T15:59:59Z", "2100-12-31T16:00:00Z"):  # a second outside, in Shanghai's calendar
        assert_problem(await api.get(company, params={"as_of": as_of}), 422, "invalid-request")


def test_a_date_parameter_is_bounded_like_as_of():
    """``check_date`` for any date query parameter (``due_from``, ``due_to`` …): the same calendar, named."""
    assert check_date("due_from", date(1900, 1, 1)) == date(1900, 1, 1)
    assert check_date("due_to", None) is None
    for day in (date(1, 1, 1), date(1899, 12, 31), date(2101, 1, 1), date(9999, 12, 31)):
        with pytest.raises(ProblemError) as raised:
            check_date("due_to", day)
        body = raised.value.body("/v1/obligations")
        assert body["status"] == 422 and [e["field"] for e in body["errors"]] == ["query.due_to"]


# --- too large for the bus ------------------------------------------------------------------------------------------

async def test_a_fact_over_the_bus_limit_is_422_too_large_on_both_paths(stack, api):
    state = stack.gateway.state
    huge = {**REGISTERED, "data": {**REGISTERED["data"], "name": "x" * (10 * MIB)}}
    saved = state.max_body_bytes, state.max_batch_body_bytes
    state.max_body_bytes = state.max_batch_body_bytes = 32 * MIB  # an operator's generous limit
    try:
        single = await api.post("/v1/facts", json=huge)
        batch = await api.post("/v1/facts:batch", json=[huge, REGISTERED])
    finally:
        state.max_body_bytes, state.max_batch_body_bytes = saved
    body = assert_problem(single, 422, "invalid-fact")
    assert body["errors"][0]["code"] == "too_large"
    assert "retry-after" not in single.headers
    results = batch.json()["results"]
    assert results[0]["status"] == 422 and results[0]["problem"]["errors"][0]["code"] == "too_large"
    assert results[1]["status"] == 201


# --- Idempotency-Key --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [b"with space", b"tab\there", "\u952e".encode(), b"caf\xe9"])
async def test_an_idempotency_key_outside_visible_ascii_is_422_naming_the_header(api, key):
    r = await api.post("/v1/facts", json=REGISTERED, headers={"Idempotency-Key": key})
    body = assert_problem(r, 422, "invalid-request")
    assert body["errors"][0]["field"] == "header.Idempotency-Key"
    sub = await api.post("/v1/subscriptions", json={"channel": "nats", "target": "ops"},
                         headers={"Idempotency-Key": key})
    assert_problem(sub, 422, "invalid-request")
    item = {**REGISTERED, "idempotency_key": key.decode("latin-1")}
    batch = (await api.post("/v1/facts:batch", json=[item])).json()
    assert batch["results"][0]["status"] == 422
    assert batch["results"][0]["problem"]["errors"][0]["field"] == "idempotency_key"
    assert (await api.post("/v1/facts", json=REGISTERED, headers={"Idempotency-Key": "row-~!"})).status_code == 201


# --- fuzz: any bytes, any depth, any size, on every write endpoint ----------------------------------------------------

ENDPOINTS = st.sampled_from([(path, "application/json") for path in WRITES]
                            + [("/v1/facts:batch", "application/x-ndjson")])
BODIES = st.one_of(
    st.binary(max_size=2000).map(lambda b: ("bytes", b)),
    st.tuples(st.integers(1, 150_000), st.sampled_from([b"[", b'{"a":', b'{"data":['])).map(
        lambda t: ("deep", t[1] * t[0])),
    st.sampled_from([MAX_BODY_BYTES + 1, 3 * MIB, MAX_BATCH_BODY_BYTES + 1, 20 * MIB]).map(lambda n: ("size", n)),
)
_baseline: list[int] = []


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(endpoint=ENDPOINTS, body=BODIES, keyed=st.booleans())
async def test_fuzzed_writes_get_no_5xx_and_memory_stays_bounded(stack, fuzz_key, endpoint, body, keyed):
    path, content_type = endpoint
    kind, value = body
    content = streamed(b"[", b'"aaaaaaa",', value) if kind == "size" else value
    if not _baseline:
        gc.collect()
        _baseline.append(rss_bytes())
    async with stack.client(fuzz_key if keyed else None) as client:
        r = await client.post(path, content=content, headers={"Content-Type": content_type})
    assert r.status_code < 500, (path, kind, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    grown = rss_bytes() - _baseline[0]
    assert grown < 200 * MIB, f"the gateway grew by {grown / MIB:.1f} MiB"


@pytest.fixture(scope="module")
def fuzz_key(stack) -> str:
    _, key = stack.new_tenant("fuzz")
    return key


async def test_every_documented_503_announces_retry_after_and_every_write_its_413(stack):
    async with stack.client(None) as anyone:
        doc = (await anyone.get("/openapi.json")).json()
    operations = {(m, p): op for p, ops in doc["paths"].items() for m, op in ops.items()}
    unavailable = [op["responses"]["503"] for op in operations.values() if "503" in op["responses"]]
    assert unavailable and all("Retry-After" in r.get("headers", {}) for r in unavailable)
    for path in WRITES:
        path = path.replace("dlv_none", "{id}")
        assert "413" in operations[("post", path)]["responses"], path
