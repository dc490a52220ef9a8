"""POST /v1/facts:batch: JSON array or NDJSON, each fact judged alone, results in order, per-item keys."""

from __future__ import annotations

import json
import time

from ledger_contracts.formats import uscc_check_char
from test_facts import REGISTERED, assert_problem


def company(i: int) -> str:
    first17 = f"9131011500{i:07d}"
    return first17 + uscc_check_char(first17)


def registered(i: int) -> dict:
    return {**REGISTERED, "company": company(i), "data": {**REGISTERED["data"], "name": f"批量公司{i}"}}


def ndjson(items: list) -> bytes:
    return "\n".join(json.dumps(x, ensure_ascii=False) for x in items).encode()


async def test_each_fact_is_judged_on_its_own_in_order(api):
    items = [registered(1), {**registered(2), "company": "123"}, {"type": "nope"}, "not an object",
             registered(3)]
    r = await api.post("/v1/facts:batch", json=items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3, 4]
    assert [x["status"] for x in body["results"]] == [201, 422, 422, 422, 201]
    assert body["accepted"] == 2 and body["refused"] == 3
    assert body["results"][0]["event"]["type"] == "company.registered"
    assert body["results"][1]["problem"]["errors"][0]["field"] == "company"
    assert body["results"][2]["problem"]["errors"][0]["field"] == "type"
    assert body["results"][3]["problem"]["type"].endswith("/invalid-fact")


async def test_ndjson_with_an_unreadable_line(api):
    body = ndjson([registered(10)]) + b"\n{broken\n\n" + ndjson([registered(11)])
    r = await api.post("/v1/facts:batch", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 422, 201]
    assert results[1]["problem"]["errors"][0]["code"] == "not_json"


async def test_a_rerun_with_item_keys_records_nothing_twice(api):
    items = [{**registered(i), "idempotency_key": f"row-{i}"} for i in range(20, 30)]
    first = (await api.post("/v1/facts:batch", json=items)).json()
    assert first["accepted"] == 10 and not any(x["replayed"] for x in first["results"])
    again = (await api.post("/v1/facts:batch", content=ndjson(items),
                            headers={"Content-Type": "application/x-ndjson"})).json()
    assert again["accepted"] == 10 and all(x["replayed"] for x in again["results"])
    assert [x["event"] for x in again["results"]] == [x["event"] for x in first["results"]]
    last = max(x["event"]["ledger_sequence"] for x in first["results"])
    feed = (await api.get("/v1/changes", params={"min_sequence": last, "page_size": 500})).json()
    assert len(feed["items"]) == 10
    # a single POST with the same key answers the batch's event
    single = await api.post("/v1/facts", json=registered(20), headers={"Idempotency-Key": "row-20"})
    assert single.status_code == 201 and single.json() == first["results"][0]["event"]


async def test_a_key_reused_for_another_fact_is_refused_for_that_item_only(api):
    items = [{**registered(40), "idempotency_key": "dup"}, {**registered(41), "idempotency_key": "dup"},
             {**registered(40), "idempotency_key": "dup"}, {**registered(42), "idempotency_key": ""}]
    results = (await api.post("/v1/facts:batch", json=items)).json()["results"]
    assert [x["status"] for x in results] == [201, 422, 201, 422]
    assert results[1]["problem"]["type"].endswith("/idempotency-key-reused")
    assert results[2]["replayed"] and results[2]["event"] == results[0]["event"]
    assert results[3]["problem"]["errors"][0]["field"] == "idempotency_key"
    later = (await api.post("/v1/facts:batch", json=[{**registered(43), "idempotency_key": "dup"}])).json()
    assert later["results"][0]["problem"]["type"].endswith("/idempotency-key-reused")


async def test_batch_request_errors(stack, api):
    assert_problem(await api.post("/v1/facts:batch", content=b"<xml/>", headers={"Content-Type": "text/xml"}),
                   415, "unsupported-media-type")
    assert_problem(await api.post("/v1/facts:batch", json={"facts": []}), 400, "malformed-request")
    assert_problem(await api.post("/v1/facts:batch", content=b"[", headers={"Content-Type": "application/json"}),
                   400, "malformed-request")
    too_many = b"\n".join([b'{"type":"x"}'] * (stack.gateway.state.batch_limit + 1))
    assert_problem(await api.post("/v1/facts:batch", content=too_many,
                                  headers={"Content-Type": "application/x-ndjson"}), 413, "payload-too-large")
    empty = (await api.post("/v1/facts:batch", json=[])).json()
    assert empty == {"results": [], "accepted": 0, "refused": 0}


async def test_throughput_of_one_large_batch(api):
    """Prints the figure (performance is measured in `make bench`, never asserted here)."""
    n = 1000
    items = [{**registered(100_000 + i), "idempotency_key": f"bulk-{i}"} for i in range(n)]
    started = time.perf_counter()
    r = await api.post("/v1/facts:batch", content=ndjson(items), headers={"Content-Type": "application/x-ndjson"})
    seconds = time.perf_counter() - started
    assert r.status_code == 200 and r.json()["accepted"] == n, r.text[:500]
    print(f"\nbatch: {n} facts in {seconds:.2f}s = {n / seconds:.0f} facts/s")
