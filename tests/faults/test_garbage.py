"""Garbage on the bus: every part answers it with a reason or parks it with a reason, appends
nothing, and goes on answering good requests afterwards.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import nats.errors
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_bench import facts as F
from ledger_kernel import envelope
from ledger_kernel.connection import connect
from ledger_projector.service import ProjectorService

from .conftest import DOMAIN, build, provisioned_client, record

MAX_PAYLOAD = 8 * 1024 * 1024  # the embedded server's max_payload (ledger_kernel.embedded)
REFUSALS = {"malformed_request", "invalid_fact", "wrong_service", "idempotency_key_reused", "invariant_violated"}


def garbage_requests(tenant: str) -> dict[str, bytes]:
    good = F.request(tenant, F.company_facts(1, 1)[0])
    return {
        "not json": b'{"tenant": "t", "fact": ',
        "binary": bytes(range(256)) * 4,
        "empty": b"",
        "array": b"[1, 2, 3]",
        "null": b"null",
        "wrong types": json.dumps({"tenant": 5, "fact": "licence", "command_id": ["x"]}).encode(),
        "fact of wrong types": json.dumps({**good, "fact": {**good["fact"], "effective_date": 20210601,
                                                             "data": "everything"}}).encode(),
        "unknown type": json.dumps({**good, "fact": {**good["fact"], "type": "alien.landed"}}).encode(),
        "bad USCC": json.dumps({**good, "fact": {**good["fact"], "company": "91310115MA1K4B8N6X"}}).encode(),
        "NaN": b'{"tenant": "t", "fact": {"type": "company.registered", "data": {"registered_capital": NaN}}}',
        "deep nesting": b'{"tenant": "t", "fact": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "just under max payload": json.dumps({**good, "fact": {**good["fact"], "data": {
            **good["fact"]["data"], "name": "x" * (MAX_PAYLOAD - 4096)}}}).encode(),
    }


def assert_refusal(reply: dict[str, Any], what: str) -> None:
    assert reply.get("ok") is False, (what, reply)
    assert reply.get("status") in (400, 413, 421, 422), (what, reply)
    assert reply.get("code") in REFUSALS, (what, reply)
    assert isinstance(reply.get("detail"), str) and reply["detail"], (what, reply)


@pytest.fixture
async def stack(fresh_nats, settings_for, clock, tmp_path):
    """The five domain services and the projector (SQLite) mounted on a server of the test's own."""
    from ledger_kernel.runtime import Mounted

    admin = await provisioned_client(fresh_nats)
    await admin.close()
    projector = ProjectorService(tick_interval=0, alert_settle=0)
    settings = settings_for(fresh_nats, LEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'read.db'}")
    async with Mounted([*build(*DOMAIN), projector], settings, clock=clock, name="fault-garbage"):
        nc = await connect(fresh_nats.url, "fault-garbage-client")
        try:
            yield nc, projector
        finally:
            await nc.close()


async def last_seq(nc) -> int:
    return (await nc.jetstream().stream_info("LEDGER")).state.last_seq


@pytest.mark.slow
async def test_services_refuse_garbage_with_a_reason_and_append_nothing(stack, tenant):
    nc, _ = stack
    before = await last_seq(nc)
    for service in DOMAIN:
        for what, raw in garbage_requests(tenant).items():
            msg = await nc.request(f"cmd.{service}", raw, timeout=15)
            assert_refusal(json.loads(msg.data), f"cmd.{service} {what}")
        with pytest.raises(nats.errors.MaxPayloadError):  # over the server's limit: refused before it leaves
            await nc.request(f"cmd.{service}", b"x" * (MAX_PAYLOAD + 1), timeout=5)
    assert await last_seq(nc) == before  # nothing appended
    for service in DOMAIN:  # and every service still records a good fact
        reply = await record(nc, tenant, F.one_fact(service, 3))
        assert reply["ok"] is True, (service, reply)
    assert await last_seq(nc) == before + len(DOMAIN)


@pytest.mark.slow
async def test_the_server_cuts_off_a_client_that_publishes_over_max_payload(stack, fresh_nats, tenant):
    """A client that lies about its size (not nats-py) is disconnected by the server; nothing reaches cmd.*."""
    nc, _ = stack
    before = await last_seq(nc)

    def offend() -> bytes:
        with socket.create_connection(("127.0.0.1", fresh_nats.port), timeout=5) as s:
            s.recv(4096)  # INFO
            login = {"verbose": False, "pedantic": False, "user": "gateway", "pass": fresh_nats.passwords["gateway"]}
            s.sendall(f"CONNECT {json.dumps(login)}\r\n".encode())
            s.sendall(f"PUB cmd.licences {MAX_PAYLOAD + 1}\r\n".encode())
            out = b""
            try:
                while b"-ERR" not in out:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    out += chunk
            except OSError:
                pass
            return out

    answer = await asyncio.to_thread(offend)
    assert b"Maximum Payload" in answer, answer
    reply = await record(nc, tenant, F.company_facts(4, 1)[0])
    assert reply["ok"] is True, reply
    assert await last_seq(nc) == before + 1


@pytest.mark.slow
async def test_the_projector_answers_garbage_queries_with_a_reason(stack, tenant):
    nc, _ = stack
    queries = {
        "not json": b"{op: status",
        "binary": bytes(range(256)),
        "empty": b"",
        "array": b"[]",
        "unknown op": json.dumps({"op": "drop_tables", "tenant": tenant}).encode(),
        "wrong types": json.dumps({"op": "timeline", "tenant": 5, "company": ["x"]}).encode(),
        "page size": json.dumps({"op": "portfolio", "tenant": tenant, "page_size": "all"}).encode(),
        "as_of": json.dumps({"op": "portfolio", "tenant": tenant, "as_of": "yesterday"}).encode(),
        "page token": json.dumps({"op": "events", "tenant": tenant, "company": F.uscc(1),
                                  "page_token": "!!!"}).encode(),
        "a large one": json.dumps({"op": "timeline", "tenant": tenant, "company": "9" * 1_000_000}).encode(),
    }
    for what, raw in queries.items():
        try:
            msg = await nc.request("query.projector", raw, timeout=15)
        except nats.errors.TimeoutError:
            pytest.fail(f"query.projector never answered {what!r}: silence instead of a structured error")
        reply = json.loads(msg.data)
        assert reply.get("ok") is False and reply.get("status") in (400, 404, 413, 422), (what, reply)
        assert isinstance(reply.get("detail"), str) and reply["detail"], (what, reply)
    msg = await nc.request("query.projector", json.dumps({"op": "status"}).encode(), timeout=15)
    assert json.loads(msg.data)["ok"] is True


@pytest.mark.slow
async def test_the_projector_answers_a_query_just_under_max_payload(stack, tenant):
    """A reply never echoes unbounded input, so a query just under max_payload still gets its (small) answer."""
    nc, _ = stack
    huge = MAX_PAYLOAD - 1024
    company = F.uscc(1)
    queries = {  # what: (request, status, code, the field named in errors or None)
        "company": ({"op": "timeline", "tenant": tenant, "company": "9" * huge}, 422, "invalid_query", "company"),
        "op": ({"op": "9" * huge, "tenant": tenant}, 400, "malformed_request", None),
        "tenant": ({"op": "portfolio", "tenant": "9" * huge}, 422, "invalid_query", "tenant"),
        "as_of": ({"op": "portfolio", "tenant": tenant, "as_of": "9" * huge}, 422, "invalid_query", None),
        "page_token": ({"op": "obligations", "tenant": tenant, "company": company, "page_token": "9" * huge},
                       422, "invalid_query", None),
        "after": ({"op": "changes", "tenant": tenant, "after": "9" * huge}, 422, "invalid_query", None),
        "an unknown field": ({"op": "portfolio", "tenant": tenant, "note": "9" * huge}, 200, None, None),
    }
    for what, (request, status, code, field) in queries.items():
        raw = json.dumps(request).encode()
        assert MAX_PAYLOAD - 2048 < len(raw) < MAX_PAYLOAD, (what, len(raw))
        try:
            msg = await nc.request("query.projector", raw, timeout=10)
        except nats.errors.TimeoutError:
            pytest.fail(f"query.projector never answered a query with a {what} just under max_payload")
        assert len(msg.data) < 4096 and b"9" * 64 not in msg.data, (what, msg.data[:300])  # a short prefix at most
        reply = json.loads(msg.data)
        if status == 200:
            assert reply["ok"] is True and reply["result"]["items"] == [], (what, reply)
            continue
        assert (reply["ok"], reply["status"], reply["code"]) == (False, status, code), (what, reply)
        assert reply["title"] and isinstance(reply["detail"], str) and reply["detail"], (what, reply)
        if field is not None:
            assert [e["field"] for e in reply["errors"]] == [field], (what, reply)
            assert all(e["reason_en"] and e["reason_zh"] for e in reply["errors"]), (what, reply)
    company_reply = json.loads((await nc.request("query.projector", json.dumps(
        queries["company"][0]).encode(), timeout=10)).data)
    assert company_reply["errors"][0]["code"] == "invalid_uscc"
    assert "18" in company_reply["detail"] and "统一社会信用代码" in company_reply["detail"], company_reply
    # and the projector goes on answering
    msg = await nc.request("query.projector", json.dumps({"op": "status"}).encode(), timeout=15)
    assert json.loads(msg.data)["ok"] is True


QUERY_FIELDS = ["op", "tenant", "company", "as_of", "page_size", "page_token", "risk", "severity", "status",
                "rule", "overdue", "open", "after", "min_sequence", "wait_seconds", "confidence", "due_from", "due_to",
                "companies", "sort", "kind", "date_from", "include"]


@settings(max_examples=200, deadline=None, database=None)
@given(field=st.sampled_from(QUERY_FIELDS), op=st.sampled_from(["status", "portfolio", "timeline", "changes",
                                                                "obligations", "due", "findings"]),
       big=st.builds(str.__mul__, st.sampled_from(["9", "Z", "t-_", "中", "9é."]), st.integers(5000, 100_000)))
def test_no_query_refusal_echoes_more_than_a_short_prefix(field, op, big):
    """Property: whichever field carries a long value, a refusal is small and does not repeat it."""
    from ledger_projector.queries import QueryError, parse_request

    request = {"op": op, "tenant": "t1", "company": F.uscc(1), field: big}
    try:
        parse_request(json.dumps(request).encode())
    except QueryError as exc:
        reply = json.dumps(exc.reply(), ensure_ascii=False)
        assert len(reply) < 1024 and big[:64] not in reply, (field, reply[:300])
        assert exc.reply()["status"] in (400, 422) and exc.reply()["detail"], exc.reply()


@pytest.mark.slow
async def test_the_projector_parks_raw_garbage_on_the_ledger_with_a_reason(stack, tenant):
    nc, projector = stack
    js = nc.jetstream()
    company = F.uscc(5)
    sealer = F.Sealer(tenant)
    subject, _, good = sealer.seal(F.company_facts(5, 1)[0])
    good_event = json.loads(good)

    def forged(**changes: Any) -> bytes:
        event = {k: v for k, v in {**good_event, **changes}.items() if v is not None}
        event.pop("hash")
        event["hash"] = envelope.compute_hash(event)
        return envelope.encode(event)

    garbage = [
        (f"ledger.{tenant}.{company}", json.dumps(good_event).encode()),  # too few tokens
        (f"ledger.{tenant}.{company}.company.{company}", b"this is not json"),
        (f"ledger.{tenant}.{company}.company.{company}", bytes(range(256))),
        (f"ledger.{tenant}.{company}.company.{company}", b'{"hello": "world"}'),
        (f"ledger.{tenant}.{company}.alien.x1", forged(type="alien.landed", id="e-alien")),
        (f"ledger.{tenant}.{company}.company.{company}", forged(data={"name": 5}, id="e-bad-data")),
        (f"ledger.{tenant}.{F.uscc(6)}.company.{company}", forged(id="e-elsewhere")),  # subject ≠ its company
        (f"ledger.{tenant}.{company}.company.{company}", forged(dataschema="urn:x:no-version", id="e-noversion")),
    ]
    for s, payload in garbage:
        await js.publish(s, payload, stream="LEDGER")
    # and a good event after the garbage, of a company the garbage left alone: the well-sealed forgeries above
    # occupy the first places of this company's own chain, so its first event there would be a fork
    # (parked as a chain break, as `ledger verify` reports it)
    company = F.uscc(7)
    subject, _, good = sealer.seal(F.company_facts(7, 1)[0])
    ack = await js.publish(subject, good, stream="LEDGER")
    assert await projector.catch_up(within=30) == ack.seq
    msg = await nc.request("query.projector", json.dumps({"op": "status"}).encode(), timeout=15)
    status = json.loads(msg.data)["result"]
    assert status["applied_sequence"] == ack.seq and status["lag"] == 0
    assert status["parked"] >= len(garbage)
    reasons = [p["reason"] for p in status["parked_recent"]]
    assert all(isinstance(r, str) and r for r in reasons), status
    msg = await nc.request("query.projector", json.dumps(
        {"op": "company", "tenant": tenant, "company": company}).encode(), timeout=15)
    reply = json.loads(msg.data)
    assert reply["ok"] is True and reply["result"]["uscc"] == company, reply  # the good event was applied


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                    max_size=4), max_leaves=12)
REQUESTS = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"tenant": st.text(max_size=12) | st.integers(), "fact": JSONISH},
                          optional={"command_id": JSONISH, "expected_sequence": JSONISH, "extra": JSONISH}
                          ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.slow
async def test_any_garbage_gets_a_structured_refusal_and_changes_nothing(stack):
    """Property: whatever bytes arrive on cmd.<service> or query.projector, the answer is a refusal with a reason."""
    nc, _ = stack
    loop = asyncio.get_running_loop()
    before = await last_seq(nc)

    async def ask(subject: str, raw: bytes) -> dict[str, Any]:
        msg = await nc.request(subject, raw, timeout=10)
        return json.loads(msg.data)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(raw=REQUESTS, subject=st.sampled_from([f"cmd.{s}" for s in DOMAIN] + ["query.projector"]))
    def check(raw: bytes, subject: str) -> None:
        reply = asyncio.run_coroutine_threadsafe(ask(subject, raw), loop).result(30)
        assert reply.get("ok") is False, (subject, raw, reply)
        assert reply.get("status") in (400, 404, 413, 421, 422), (subject, raw, reply)
        assert isinstance(reply.get("code"), str) and isinstance(reply.get("detail"), str), reply

    await asyncio.to_thread(check)
    assert await last_seq(nc) == before
