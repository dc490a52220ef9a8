"""POST /v1/facts through real HTTP: 201 with the event, every refusal as a problem, Idempotency-Key, If-Match."""

from __future__ import annotations

import asyncio

from ledger_contracts.examples import EXAMPLE_COMPANY, example_fact

PROBLEM = "application/problem+json"
BASE = "https://ledger.example/problems/"

ISSUED = {"type": "licence.issued", "company": "91310115MA1K4B8N68", "effective_date": "2022-03-15",
          "data": {"licence_no": "B2-20220315", "category": "B24", "scope": "nationwide", "provinces": [],
                   "issued_on": "2022-03-15", "expires_on": "2027-03-14", "authority": "MIIT"}}
REGISTERED = {"type": "company.registered", "company": "91310115MA1K4B8N68", "effective_date": "2021-06-01",
              "data": {"name": "上海某客服外包有限公司", "registered_capital": 12000000, "province": "31",
                       "industry": "other", "business_scope": ["呼叫中心业务"]}}


def assert_problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == BASE + kind and body["code"] == kind and body["status"] == status
    assert body["title"] and body["title_zh"]
    text = response.text
    assert "Traceback" not in text and "ledger_gateway" not in text and ".py" not in text
    return body


async def events_of(api, company: str, at_least: int = 0) -> list[dict]:
    r = await api.get(f"/v1/companies/{company}/events", params={"min_sequence": at_least, "page_size": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_fact_becomes_one_event(api):
    r = await api.post("/v1/facts", json=REGISTERED)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"event_id", "type", "aggregate", "aggregate_id", "sequence", "ledger_sequence"}
    assert body["type"] == "company.registered" and body["sequence"] == 1
    assert body["aggregate"] == f"ledger.{api.tenant}.91310115MA1K4B8N68.company.91310115MA1K4B8N68"
    assert r.headers["etag"] == '"1"' and r.headers["ledger-sequence"] == str(body["ledger_sequence"])
    events = await events_of(api, "91310115MA1K4B8N68", body["ledger_sequence"])
    assert [e["id"] for e in events] == [body["event_id"]]
    assert events[0]["specversion"] == "1.0" and events[0]["tenant"] == api.tenant


async def test_an_invalid_fact_is_422_naming_each_field(api):
    bad = {**ISSUED, "effective_date": "2022-02-30", "data": {**ISSUED["data"], "provinces": ["99"]}}
    body = assert_problem(await api.post("/v1/facts", json=bad), 422, "invalid-fact")
    assert {e["field"] for e in body["errors"]} == {"effective_date", "data.provinces.0"}, body
    assert all(e["reason_en"] and e["reason_zh"] for e in body["errors"])
    backwards = {**ISSUED, "data": {**ISSUED["data"], "expires_on": "2021-01-01"}}
    body = assert_problem(await api.post("/v1/facts", json=backwards), 422, "invalid-fact")
    assert [e["field"] for e in body["errors"]] == ["data.expires_on"], body


async def test_an_invalid_company_is_422_on_the_company_field(api):
    body = assert_problem(await api.post("/v1/facts", json={**REGISTERED, "company": "91310115MA1K4B8N60"}),
                          422, "invalid-fact")
    assert [e["field"] for e in body["errors"]] == ["company"]


async def test_an_unknown_type_is_422_on_the_type_field(api):
    body = assert_problem(await api.post("/v1/facts", json={**REGISTERED, "type": "licence.stolen"}),
                          422, "invalid-fact")
    assert body["errors"][0]["field"] == "type" and body["errors"][0]["code"] == "unknown_type"


async def test_not_json_is_400_and_an_array_is_422(api):
    r = await api.post("/v1/facts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "malformed-request")
    nan = b'{"type": "company.registered", "company": "91310115MA1K4B8N68", "data": {"registered_capital": NaN}}'
    assert_problem(await api.post("/v1/facts", content=nan, headers={"Content-Type": "application/json"}),
                   400, "malformed-request")
    surrogate = b'{"type": "company.registered", "company": "91310115MA1K4B8N68", "data": {"name": "\\ud800"}}'
    assert_problem(await api.post("/v1/facts", content=surrogate, headers={"Content-Type": "application/json"}),
                   400, "malformed-request")
    batch = await api.post("/v1/facts:batch", content=nan, headers={"Content-Type": "application/x-ndjson"})
    assert batch.json()["results"][0]["problem"]["errors"][0]["code"] == "not_json"
    body = assert_problem(await api.post("/v1/facts", json=[REGISTERED]), 422, "invalid-fact")
    assert body["errors"][0]["code"] == "not_an_object"


async def test_a_broken_invariant_is_409(api):
    first = await api.post("/v1/facts", json=ISSUED)
    assert first.status_code == 201, first.text
    body = assert_problem(await api.post("/v1/facts", json=ISSUED), 409, "invariant-violated")
    assert body["errors"] and body["errors"][0]["reason_zh"]
    events = await events_of(api, ISSUED["company"], first.json()["ledger_sequence"])
    assert len(events) == 1


async def test_the_same_key_and_body_answer_the_same_and_record_once(api):
    headers = {"Idempotency-Key": "import-42"}
    first = await api.post("/v1/facts", json=REGISTERED, headers=headers)
    again = await api.post("/v1/facts", json=REGISTERED, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    # key order and white space do not make another body
    reordered = {"data": REGISTERED["data"], "effective_date": "2021-06-01", "company": REGISTERED["company"],
                 "type": REGISTERED["type"]}
    third = await api.post("/v1/facts", json=reordered, headers=headers)
    assert third.json() == first.json()
    events = await events_of(api, REGISTERED["company"], first.json()["ledger_sequence"])
    assert len(events) == 1


async def test_concurrent_requests_with_one_key_record_one_event(api):
    headers = {"Idempotency-Key": "race-1"}
    answers = await asyncio.gather(*(api.post("/v1/facts", json=REGISTERED, headers=headers) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["event_id"] for a in answers}) == 1
    events = await events_of(api, REGISTERED["company"], answers[0].json()["ledger_sequence"])
    assert len(events) == 1


async def test_the_same_key_with_another_body_is_422(api):
    headers = {"Idempotency-Key": "k-1"}
    assert (await api.post("/v1/facts", json=REGISTERED, headers=headers)).status_code == 201
    other = {**ISSUED, "company": REGISTERED["company"]}  # another aggregate, so only the gateway can tell
    assert_problem(await api.post("/v1/facts", json=other, headers=headers), 422, "idempotency-key-reused")
    changed = {**REGISTERED, "data": {**REGISTERED["data"], "registered_capital": 1}}
    assert_problem(await api.post("/v1/facts", json=changed, headers=headers), 422, "idempotency-key-reused")


async def test_a_refused_fact_may_be_corrected_under_the_same_key(api):
    headers = {"Idempotency-Key": "fix-me"}
    bad = {**REGISTERED, "data": {**REGISTERED["data"], "province": "99"}}
    assert_problem(await api.post("/v1/facts", json=bad, headers=headers), 422, "invalid-fact")
    assert (await api.post("/v1/facts", json=REGISTERED, headers=headers)).status_code == 201


async def test_if_match_detects_a_concurrent_change(api):
    first = await api.post("/v1/facts", json=REGISTERED)
    assert first.headers["etag"] == '"1"'
    declared = example_fact("company.capabilities_declared") | {"company": REGISTERED["company"]}
    ok = await api.post("/v1/facts", json=declared, headers={"If-Match": '"1"'})
    assert ok.status_code == 201, ok.text
    assert ok.json()["sequence"] == 2 and ok.headers["etag"] == '"2"'
    stale = await api.post("/v1/facts", json={**declared, "effective_date": "2021-08-01"}, headers={"If-Match": '"1"'})
    body = assert_problem(stale, 412, "sequence-mismatch")
    assert body["expected"] == 1 and body["actual"] == 2
    events = await events_of(api, REGISTERED["company"], ok.json()["ledger_sequence"])
    assert len(events) == 2


async def test_a_malformed_if_match_is_422(api):
    body = assert_problem(await api.post("/v1/facts", json=REGISTERED, headers={"If-Match": "yesterday"}),
                          422, "invalid-request")
    assert body["errors"][0]["field"] == "header.If-Match"


async def test_authentication_and_scopes(stack, api):
    async with stack.client(None) as anonymous:
        r = await anonymous.post("/v1/facts", json=REGISTERED)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
    async with stack.client("lk_000000000000_nope") as stranger:
        assert_problem(await stranger.get("/v1/companies"), 401, "unauthorized")
    async with stack.client(stack.key(api.tenant, "read")) as reader:
        assert_problem(await reader.post("/v1/facts", json=REGISTERED), 403, "forbidden")
        assert (await reader.get("/v1/companies")).status_code == 200
    async with stack.client(stack.key(api.tenant, "write")) as writer:
        assert (await writer.post("/v1/facts", json=REGISTERED)).status_code == 201
        assert_problem(await writer.get("/v1/companies"), 403, "forbidden")


async def test_unknown_paths_and_methods_are_problems(api):
    assert_problem(await api.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(await api.delete("/v1/facts"), 405, "method-not-allowed")
    assert_problem(await api.get("/v1/facts"), 405, "method-not-allowed")


async def test_query_validation_errors_are_problems_naming_the_parameter(api):
    body = assert_problem(await api.get("/v1/companies", params={"page_size": 0}), 422, "invalid-request")
    assert body["errors"][0]["field"] == "query.page_size"
    body = assert_problem(await api.get("/v1/companies", params={"as_of": "soon"}), 422, "invalid-request")
    assert body["errors"][0]["field"] == "query.as_of"


async def test_the_example_company_story_is_accepted_fact_by_fact(api):
    from ledger_contracts.examples import example_sequence

    last = None
    for fact in example_sequence():
        r = await api.post("/v1/facts", json=fact)
        assert r.status_code == 201, (fact["type"], r.text)
        last = r.json()
    events = await events_of(api, EXAMPLE_COMPANY, last["ledger_sequence"])
    assert len(events) == len([f for f in example_sequence() if f["company"] == EXAMPLE_COMPANY])
