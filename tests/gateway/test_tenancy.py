"""Tenants: keys stored hashed, revocation, and isolation — another tenant's company is 404 everywhere."""

from __future__ import annotations

import re

from ledger_gateway.tables import ApiKey
from ledger_gateway.tenancy import authenticate, create_key, revoke_key
from sqlmodel import Session, select
from test_facts import REGISTERED, assert_problem
from test_reads import NATIONWIDE, SHANGHAI

SAMPLE = {"uscc": SHANGHAI, "id": "x"}


async def test_keys_are_stored_hashed_and_revocation_is_immediate(stack, api):
    key = stack.key(api.tenant, "read")
    with Session(stack.engine) as session:
        rows = list(session.exec(select(ApiKey).where(ApiKey.tenant_id == api.tenant)))
    assert len(rows) == 2
    for row in rows:
        assert key not in row.secret_sha256 and len(row.secret_sha256) == 64
        assert key.split("_", 2)[2] not in repr(row.model_dump())
    async with stack.client(key) as client:
        assert (await client.get("/v1/companies")).status_code == 200
        assert revoke_key(stack.engine, key.split("_")[1])
        assert_problem(await client.get("/v1/companies"), 401, "unauthorized")
    assert authenticate(stack.engine, key) is None
    tampered = api.key[:-2] + ("AA" if not api.key.endswith("AA") else "BB")
    assert authenticate(stack.engine, tampered) is None


def company_paths(openapi: dict) -> list[tuple[str, str]]:
    out = []
    for path, ops in openapi["paths"].items():
        if "{uscc}" in path:
            for method in ops:
                out.append((method, path))
    return out


async def test_another_tenants_company_is_404_on_every_company_path(stack, api):
    r = await api.post("/v1/facts:batch", json=NATIONWIDE["facts"])
    last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
    assert (await api.get(f"/v1/companies/{SHANGHAI}", params={"min_sequence": last})).status_code == 200
    openapi = (await api.get("/openapi.json")).json()
    paths = company_paths(openapi)
    assert len(paths) >= 6
    _, other_key = stack.new_tenant("other")
    async with stack.client(other_key) as other:
        for method, path in paths:
            url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
            answer = await other.request(method.upper(), url, params={"min_sequence": last})
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["type"] == "https://ledger.example/problems/not-found"
        portfolio = (await other.get("/v1/companies", params={"min_sequence": last})).json()
        assert portfolio["items"] == []
        feed = (await other.get("/v1/changes", params={"min_sequence": last})).json()
        assert feed["items"] == []


async def test_a_second_tenant_recording_the_same_uscc_gets_its_own_view(stack, api):
    mine = await api.post("/v1/facts", json=REGISTERED)
    tenant_b, key_b = stack.new_tenant("b")
    theirs_fact = {**REGISTERED, "data": {**REGISTERED["data"], "name": "另一租户的视图"}}
    async with stack.client(key_b) as other:
        theirs = await other.post("/v1/facts", json=theirs_fact)
        assert theirs.status_code == 201 and theirs.json()["sequence"] == 1  # not a second event on mine
        assert theirs.json()["aggregate"].startswith(f"ledger.{tenant_b}.")
        last = theirs.json()["ledger_sequence"]
        b_view = (await other.get(f"/v1/companies/{REGISTERED['company']}", params={"min_sequence": last})).json()
        b_events = (await other.get(f"/v1/companies/{REGISTERED['company']}/events")).json()["items"]
    a_view = (await api.get(f"/v1/companies/{REGISTERED['company']}", params={"min_sequence": last})).json()
    a_events = (await api.get(f"/v1/companies/{REGISTERED['company']}/events")).json()["items"]
    assert a_view["name"] == "上海某客服外包有限公司" and b_view["name"] == "另一租户的视图"
    assert [e["id"] for e in a_events] == [mine.json()["event_id"]]
    assert [e["id"] for e in b_events] == [theirs.json()["event_id"]]


async def test_idempotency_keys_are_per_tenant(stack, api):
    headers = {"Idempotency-Key": "shared-key"}
    mine = await api.post("/v1/facts", json=REGISTERED, headers=headers)
    _, key_b = stack.new_tenant("c")
    async with stack.client(key_b) as other:
        theirs = await other.post("/v1/facts", json=REGISTERED, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["event_id"] != theirs.json()["event_id"]
    assert "idempotent-replayed" not in theirs.headers


def test_scopes_are_checked_when_a_key_is_made(stack, api):
    import pytest
    from ledger_gateway.tenancy import TenancyError

    with pytest.raises(TenancyError, match="scopes"):
        create_key(stack.engine, api.tenant, "root")
    with pytest.raises(TenancyError, match="no tenant"):
        create_key(stack.engine, "tnobody", "read")
