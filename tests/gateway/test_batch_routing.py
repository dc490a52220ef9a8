"""POST /v1/facts:batch goes to the services in their batch form: order per aggregate, chunks, lanes."""

from __future__ import annotations

from ledger_contracts.examples import example_fact, example_sequence
from ledger_gateway import facts_api
from ledger_gateway.bus import owner_of
from ledger_gateway.facts_api import MAX_BATCH_ITEMS, chunked, split_lanes
from test_batch import company, registered


async def test_an_issuance_then_its_renewal_in_one_batch_apply_in_order(api):
    story = [{k: v for k, v in f.items() if k != "idempotency_key"} for f in example_sequence()]
    r = await api.post("/v1/facts:batch", json=story)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True] * len(story), [x for x in results if not x["ok"]][:2]
    assert [x["event"]["type"] for x in results] == [f["type"] for f in story]
    by_aggregate: dict[str, list[int]] = {}
    for x in results:
        by_aggregate.setdefault(x["event"]["aggregate"], []).append(x["event"]["sequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_aggregate.values()), by_aggregate
    types = [f["type"] for f in story]
    assert "licence.renewed" in types and types.index("licence.issued") < types.index("licence.renewed")


async def test_many_service_batches_keep_every_answer_in_request_order(api, monkeypatch):
    """Chunks of 4 facts (instead of 1000): several cmd.<service> batches, in lanes, answered in request order."""
    monkeypatch.setattr(facts_api, "MAX_BATCH_ITEMS", 4)
    renewal, issued = ({k: v for k, v in example_fact(t).items() if k != "idempotency_key"}
                       for t in ("licence.renewed", "licence.issued"))
    items = [registered(200_000 + i) for i in range(37)]
    items[20:20] = [renewal, issued, renewal]  # unknown licence, then issued, then renewed: in this order
    r = await api.post("/v1/facts:batch", json=items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["index"] for x in body["results"]] == list(range(len(items)))
    statuses = [x["status"] for x in body["results"]]
    assert statuses[20:23] == [409, 201, 201], body["results"][20:23]
    assert body["results"][20]["problem"]["errors"][0]["code"] == "unknown_licence"
    assert [x["event"]["sequence"] for x in body["results"][21:23]] == [1, 2]
    assert body["accepted"] == len(items) - 1 and body["refused"] == 1
    companies = [x["event"]["aggregate"].split(".")[2] for x in body["results"] if x["ok"]]
    assert companies[:20] == [company(200_000 + i) for i in range(20)]
    assert companies[-17:] == [company(200_000 + i) for i in range(20, 37)]


def test_a_company_stays_in_one_lane_in_request_order():
    facts = [{"company": f"c{i % 7}", "type": "x"} for i in range(5000)]
    encoded = [(i, b"x" * 10) for i in range(len(facts))]
    lanes = split_lanes(encoded, facts, 4)
    assert len(lanes) == 4
    assert sorted(i for lane in lanes for i, _ in lane) == list(range(5000))
    for lane in lanes:
        indices = [i for i, _ in lane]
        assert indices == sorted(indices)
    owners = {facts[i]["company"]: n for n, lane in enumerate(lanes) for i, _ in lane}
    assert all(owners[facts[i]["company"]] == n for n, lane in enumerate(lanes) for i, _ in lane)
    assert split_lanes(encoded[:MAX_BATCH_ITEMS], facts, 4) == [encoded[:MAX_BATCH_ITEMS]]
    assert split_lanes([], facts, 4) == []


def test_chunks_hold_at_most_a_thousand_items_and_the_byte_limit():
    lane = [(i, b"y" * 99) for i in range(2500)]
    assert [len(c) for c in chunked(lane, 10_000_000)] == [1000, 1000, 500]
    small = chunked(lane[:30], 1000)  # 100 bytes with its comma: ten per chunk
    assert [len(c) for c in small] == [10, 10, 10]
    assert [i for c in small for i, _ in c] == list(range(30))
    assert owner_of("licence.renewed") == "licences"
