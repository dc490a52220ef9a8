"""query.projector: tenant isolation, as_of, cursor pagination, filters, and structured errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_files import SCENARIOS

from projector.conftest import projector_stack
from projector.ledger_facts import query, result
from projector.synthetic import company_facts, uscc


@pytest.fixture
def provisioned(own_ledger):
    """This module's projectors follow a ledger of their own (see ``own_ledger``)."""
    return own_ledger


NATIONWIDE = SCENARIOS / "nationwide-licence-lifecycle.json"


async def record_all(recorder, tenant, facts):
    seq = 0
    for fact in facts:
        seq = await recorder.record(tenant, fact)
    return seq


async def test_tenants_are_isolated_and_answers_follow_as_of(provisioned, nc, settings_for, clock, tenant, recorder):
    facts = json.loads(NATIONWIDE.read_text(encoding="utf-8"))["facts"]
    co = facts[0]["company"]
    other = tenant + "b"
    async with projector_stack(settings_for(provisioned), clock) as svc:
        seq = await record_all(recorder, tenant, facts)
        seq = await recorder.record(other, facts[0])  # the same USCC, another tenant: registered only
        answer = await query(nc, "company", tenant, company=co, min_sequence=seq)
        assert answer["ok"] and answer["applied_sequence"] >= seq
        mine = (await result(nc, "obligations", tenant, company=co, as_of="2026-11-23T09:00:00+08:00"))["items"]
        theirs = (await result(nc, "obligations", other, company=co))["items"]
        assert any(o["rule"] == "renewal" for o in mine)
        assert not any(o["rule"] == "renewal" for o in theirs)
        assert [c["uscc"] for c in (await result(nc, "portfolio", other))["items"]] == [co]
        missing = await query(nc, "obligations", tenant, company="91110000100000000X")
        assert (missing["ok"], missing["status"], missing["code"]) == (False, 404, "not_found")
        elsewhere = await query(nc, "company", "tnobody0000", company=co)
        assert elsewhere["status"] == 404
        events = await result(nc, "events", other, company=co)
        assert [e["type"] for e in events["items"]] == ["company.registered"]
        assert all(e["tenant"] == other for e in events["items"])

        # as_of moves statuses, not facts
        def renewal(items):
            return next(o for o in items if o["rule"] == "renewal")
        early = (await result(nc, "obligations", tenant, company=co, as_of="2026-01-01T09:00:00+08:00"))["items"]
        late = (await result(nc, "obligations", tenant, company=co, as_of="2027-01-01T09:00:00+08:00"))["items"]
        assert renewal(early)["status"] == "scheduled" and renewal(early)["due"] == "2026-12-14"
        assert renewal(late)["status"] == "overdue"
        assert renewal(mine)["status"] == "due_soon"
        assert renewal(mine)["source"] and renewal(mine)["confidence"] == "statutory"
        summary = await result(nc, "company", tenant, company=co, as_of="2026-11-23T09:00:00+08:00")
        assert summary["overdue"] >= 1 and summary["open_findings"]["high"] >= 1 and summary["risk"] == "high"
        assert summary["credit"]["label"] == "estimate"
        timeline = (await result(nc, "timeline", tenant, company=co, as_of="2026-11-23T09:00:00+08:00",
                                 page_size=500))["items"]
        assert timeline == sorted(timeline, key=lambda i: i["date"])
        assert {"fact", "deadline", "finding"} <= {i["kind"] for i in timeline}
        changes = await result(nc, "changes", tenant, after="0", page_size=2)
        assert [c["what"]["fact"] for c in changes["items"]] == ["company.registered", "licence.issued"]
        more = await result(nc, "changes", tenant, after=changes["next_cursor"], page_size=50)
        assert len(more["items"]) == len(facts) - 2
        await svc.catch_up()


async def test_pagination_and_filters(provisioned, nc, settings_for, clock, tenant, recorder):
    import random

    rng = random.Random(3)
    facts = [f for i in range(7) for f in company_facts(i, rng)]
    async with projector_stack(settings_for(provisioned), clock) as svc:
        seq = await record_all(recorder, tenant, facts)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        seen, token = [], None
        while True:
            page = await result(nc, "portfolio", tenant, page_size=3, page_token=token, sort="uscc")
            assert len(page["items"]) <= 3
            seen += [c["uscc"] for c in page["items"]]
            token = page["next_page_token"]
            if token is None:
                break
        assert seen == sorted(uscc(10_000 + i) for i in range(7))
        everyone = (await result(nc, "portfolio", tenant, page_size=100))["items"]
        overdue = (await result(nc, "portfolio", tenant, overdue=True))["items"]
        assert [c["uscc"] for c in overdue] == [c["uscc"] for c in everyone if c["overdue"] > 0]
        for risk in ("high", "medium", "low"):
            got = (await result(nc, "portfolio", tenant, risk=risk))["items"]
            assert [c["uscc"] for c in got] == [c["uscc"] for c in everyone if c["risk"] == risk]
        high = (await result(nc, "portfolio", tenant, severity="high"))["items"]
        assert [c["uscc"] for c in high] == [c["uscc"] for c in everyone if c["open_findings"].get("high")]

        co = uscc(10_000)
        all_obs = (await result(nc, "obligations", tenant, company=co, page_size=500))["items"]
        paged, token = [], None
        while True:
            page = await result(nc, "obligations", tenant, company=co, page_size=7, page_token=token)
            paged += page["items"]
            token = page["next_page_token"]
            if token is None:
                break
        assert paged == all_obs and len(all_obs) > 7
        fees = (await result(nc, "obligations", tenant, company=co, rule="number-fee", page_size=500))["items"]
        assert fees and all(o["rule"] == "number-fee" for o in fees)
        late = (await result(nc, "obligations", tenant, company=co, status="overdue", page_size=500))["items"]
        assert [o["id"] for o in late] == [o["id"] for o in all_obs if o["status"] == "overdue"]
        open_f = (await result(nc, "findings", tenant, company=co, open=True))["items"]
        assert all(f["open"] for f in open_f)


BAD_REQUESTS = [
    b"not json", b"[]", b'{"op": "nope"}', b'{"op": "company", "tenant": "t1"}',
    b'{"op": "company", "tenant": "t.1", "company": "x"}', b'{"op": "portfolio", "tenant": "t1", "page_size": 0}',
    b'{"op": "portfolio", "tenant": "t1", "as_of": "yesterday"}',
    b'{"op": "portfolio", "tenant": "t1", "as_of": "2026-01-01T00:00:00"}',
    b'{"op": "portfolio", "tenant": "t1", "risk": "purple"}',
    b'{"op": "portfolio", "tenant": "t1", "page_token": "!!"}',
    b'{"op": "changes", "tenant": "t1", "after": "x"}',
]


async def test_garbage_gets_a_structured_error_and_changes_nothing(provisioned, nc, settings_for, clock):
    async with projector_stack(settings_for(provisioned), clock) as svc:
        before = svc.applied
        for raw in BAD_REQUESTS:
            reply = json.loads((await nc.request("query.projector", raw, timeout=5)).data)
            assert reply["ok"] is False and reply["status"] in (400, 422) and reply["code"], (raw, reply)
            assert reply["title"] and reply["detail"]

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.one_of(st.binary(max_size=64),
                         st.dictionaries(st.sampled_from(["op", "tenant", "company", "as_of", "page_size",
                                                          "page_token", "risk", "overdue", "after"]),
                                         st.one_of(st.none(), st.integers(), st.text(max_size=12), st.booleans()),
                                         max_size=6).map(lambda d: json.dumps(d).encode())))
        def prop(raw: bytes) -> None:
            replies.append(raw)

        replies: list[bytes] = []
        prop()
        for raw in replies:
            reply = json.loads((await nc.request("query.projector", raw, timeout=5)).data)
            assert isinstance(reply, dict) and "ok" in reply
            if not reply["ok"]:
                assert reply["status"] in (400, 404, 422) and reply["code"] and reply["detail"], (raw, reply)
        with svc.engine.connect() as conn:
            from ledger_projector.projection import read_checkpoint
            from ledger_projector.tables import LIVE

            assert read_checkpoint(conn, LIVE)[0] >= before
