"""The reads through real HTTP: portfolio with filters and pages, a company's summary, obligations, findings,
credit, timeline, events, the change feed; as_of, min_sequence (read-your-writes), ETags, 404s."""

from __future__ import annotations

import time

import pytest
from spec_files import load_scenario

SEAT_LEASING = load_scenario("seat-leasing-without-licence")
NATIONWIDE = load_scenario("nationwide-licence-lifecycle")
QIHANG = SEAT_LEASING["facts"][0]["company"]
SHANGHAI = NATIONWIDE["facts"][0]["company"]


async def record(api, facts) -> int:
    r = await api.post("/v1/facts:batch", json=facts)
    assert r.status_code == 200, r.text
    assert all(x["ok"] for x in r.json()["results"]), r.text
    return max(x["event"]["ledger_sequence"] for x in r.json()["results"])


@pytest.fixture
async def loaded(api):
    """The tenant has the seat-leasing and the nationwide-licence companies; returns the last sequence."""
    api.last = await record(api, SEAT_LEASING["facts"] + NATIONWIDE["facts"])
    return api


async def test_min_sequence_reads_your_own_write(api):
    r = await api.post("/v1/facts", json=SEAT_LEASING["facts"][0])
    seq = r.json()["ledger_sequence"]
    got = await api.get(f"/v1/companies/{QIHANG}", params={"min_sequence": seq})
    assert got.status_code == 200, got.text
    assert int(got.headers["ledger-applied-sequence"]) >= seq
    assert got.headers["ledger-min-sequence-reached"] == "true"
    assert got.json()["uscc"] == QIHANG and got.json()["name"] == "启航教育科技有限公司"


async def test_min_sequence_beyond_the_ledger_answers_with_how_far_it_got(stack, loaded):
    assert (await loaded.get("/v1/changes", params={"min_sequence": loaded.last})).status_code == 200
    stack.gateway.state.read_wait_seconds = 0.3
    try:
        started = time.monotonic()
        r = await loaded.get(f"/v1/companies/{QIHANG}", params={"min_sequence": loaded.last + 10_000})
        took = time.monotonic() - started
    finally:
        stack.gateway.state.read_wait_seconds = 5.0
    assert r.status_code == 200
    assert r.headers["ledger-min-sequence-reached"] == "false"
    assert loaded.last <= int(r.headers["ledger-applied-sequence"]) < loaded.last + 10_000
    assert 0.25 <= took < 3, took


async def test_company_summary_and_findings(loaded):
    at = {"min_sequence": loaded.last, "as_of": SEAT_LEASING["expect"]["as_of"]}
    summary = (await loaded.get(f"/v1/companies/{QIHANG}", params=at)).json()
    assert summary["open_findings"].get("critical", 0) >= 1 and summary["risk"] == "critical"
    r = await loaded.get(f"/v1/companies/{QIHANG}/findings", params={**at, "open": "true"})
    assert r.status_code == 200
    found = {(f["rule"], f["severity"]) for f in r.json()["items"]}
    for want in SEAT_LEASING["expect"]["findings"]:
        assert (want["rule"], want["severity"]) in found, found
    assert not {f["rule"] for f in r.json()["items"]} & set(SEAT_LEASING["expect"]["absent_findings"])
    assert all(f["open"] for f in r.json()["items"])


async def test_obligations_as_of_and_pages(loaded):
    at = {"min_sequence": loaded.last, "as_of": NATIONWIDE["expect"]["as_of"]}
    items = (await loaded.get(f"/v1/companies/{SHANGHAI}/obligations", params={**at, "page_size": 500})).json()["items"]
    for want in NATIONWIDE["expect"]["obligations"]:
        match = [o for o in items if o["rule"] == want["rule"] and o.get("about") == want["about"]
                 and ("year" not in want or o.get("year") == want["year"])]
        assert match, want
        assert match[0]["status"] == want["status"], (want, match[0])
        if "due" in want:
            assert match[0]["due"] == want["due"]
    # a page at a time, in the same order, nothing lost or repeated
    seen, token = [], None
    while True:
        params = {**at, "page_size": 2, **({"page_token": token} if token else {})}
        page = (await loaded.get(f"/v1/companies/{SHANGHAI}/obligations", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == [o["id"] for o in items]
    # status is evaluated at as_of: the 2024 report is not yet overdue before its due date
    early = (await loaded.get(f"/v1/companies/{SHANGHAI}/obligations",
                              params={"as_of": "2025-01-10T09:00:00+08:00", "rule": "annual-report",
                                      "page_size": 500})).json()["items"]
    report_2024 = [o for o in early if o.get("year") == 2024]
    assert report_2024 and report_2024[0]["status"] != "overdue"
    only = (await loaded.get(f"/v1/companies/{SHANGHAI}/obligations",
                             params={**at, "status": "overdue", "page_size": 500})).json()["items"]
    assert only and {o["status"] for o in only} == {"overdue"}


async def test_credit_timeline_and_events(loaded):
    at = {"min_sequence": loaded.last}
    credit = (await loaded.get(f"/v1/companies/{SHANGHAI}/credit", params=at)).json()
    assert credit["label"] == "estimate" and "components" in credit
    timeline = (await loaded.get(f"/v1/companies/{SHANGHAI}/timeline", params={**at, "page_size": 500})).json()
    dates = [i["date"] for i in timeline["items"]]
    assert dates == sorted(dates)
    kinds = {i["kind"] for i in timeline["items"]}
    assert {"fact", "deadline"} <= kinds
    events = (await loaded.get(f"/v1/companies/{SHANGHAI}/events", params=at)).json()["items"]
    assert [e["type"] for e in events] == [f["type"] for f in NATIONWIDE["facts"]]
    assert all(e["company"] == SHANGHAI and e["hash"] and e["prevhash"] for e in events)


async def test_portfolio_filters_and_pages(loaded):
    at = {"min_sequence": loaded.last, "as_of": "2026-11-23T09:00:00+08:00"}
    all_ = (await loaded.get("/v1/companies", params=at)).json()
    assert sorted(c["uscc"] for c in all_["items"]) == sorted([QIHANG, SHANGHAI])
    assert all_["next_page_token"] is None
    critical = (await loaded.get("/v1/companies", params={**at, "severity": "critical"})).json()["items"]
    assert [c["uscc"] for c in critical] == [QIHANG]
    overdue = (await loaded.get("/v1/companies", params={**at, "overdue": "true"})).json()["items"]
    assert SHANGHAI in [c["uscc"] for c in overdue]
    risky = (await loaded.get("/v1/companies", params={**at, "risk": "critical"})).json()["items"]
    assert QIHANG in [c["uscc"] for c in risky]
    first = (await loaded.get("/v1/companies", params={**at, "page_size": 1})).json()
    assert len(first["items"]) == 1 and first["next_page_token"]
    second = (await loaded.get("/v1/companies", params={**at, "page_size": 1,
                                                        "page_token": first["next_page_token"]})).json()
    assert {first["items"][0]["uscc"], second["items"][0]["uscc"]} == {QIHANG, SHANGHAI}
    bad = await loaded.get("/v1/companies", params={"risk": "apocalyptic"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.risk"


async def test_change_feed_continues_from_its_cursor(loaded):
    feed = (await loaded.get("/v1/changes", params={"min_sequence": loaded.last, "page_size": 3})).json()
    assert len(feed["items"]) == 3 and feed["next_cursor"] == feed["items"][-1]["cursor"]
    rest = (await loaded.get("/v1/changes", params={"after": feed["next_cursor"], "page_size": 500})).json()
    total = len(SEAT_LEASING["facts"]) + len(NATIONWIDE["facts"])
    assert len(feed["items"]) + len(rest["items"]) == total
    assert {c["company"] for c in feed["items"] + rest["items"]} == {QIHANG, SHANGHAI}
    done = (await loaded.get("/v1/changes", params={"after": rest["next_cursor"]})).json()
    assert done["items"] == []


async def test_etag_and_if_none_match(loaded):
    path = f"/v1/companies/{QIHANG}/findings"
    first = await loaded.get(path, params={"min_sequence": loaded.last, "as_of": "2026-03-01T09:00:00+08:00"})
    etag = first.headers["etag"]
    again = await loaded.get(path, params={"as_of": "2026-03-01T09:00:00+08:00"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await loaded.get(path, params={"as_of": "2026-01-01T09:00:00+08:00"}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


@pytest.mark.parametrize("path", ["", "/obligations", "/findings", "/credit", "/timeline", "/events"])
async def test_an_unknown_or_malformed_company_is_404(api, path):
    for uscc in ("91110000100000000X", "not-a-uscc", "91310115MA1K4B8N6"):
        r = await api.get(f"/v1/companies/{uscc}{path}")
        assert r.status_code == 404, (uscc, r.text)
        assert r.json()["type"] == "https://ledger.example/problems/not-found"


async def test_health_and_readiness(stack):
    async with stack.client(None) as anyone:
        assert (await anyone.get("/healthz")).json() == {"status": "ok"}
        ready = await anyone.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready" and body["nats"]["ok"] and body["database"]["ok"]
        assert body["projection"]["ok"] and body["projection"]["lag"] is not None
        def count(text: str, line: str) -> int:
            found = [x for x in text.splitlines() if x.startswith(line + " ")]
            return int(found[0].rsplit(" ", 1)[1]) if found else 0

        healthz = 'ledger_gateway_requests_total{method="GET",route="/healthz",status="200"}'
        missing = 'ledger_gateway_requests_total{method="GET",route="unmatched",status="404"}'
        before = (await anyone.get("/metrics")).text
        assert (await anyone.get("/healthz")).status_code == 200
        assert (await anyone.get("/no-such-route")).status_code == 404
        after = (await anyone.get("/metrics")).text
        assert count(after, healthz) == count(before, healthz) + 1  # per route template and status
        assert count(after, missing) == count(before, missing) + 1
        assert 'ledger_gateway_request_seconds_total{method="GET",route="/healthz"}' in after
