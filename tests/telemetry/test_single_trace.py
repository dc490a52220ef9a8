"""One fact, one trace: the gateway request, the NATS request, the service's append, the projector's
application and the notifier's webhook delivery share a trace id, and so does the alert's CloudEvent.

Spans go to an in-memory exporter installed in this process (``setup_telemetry(…, exporter=…)``);
metrics to an in-memory reader when no other MeterProvider was installed first.
"""

from __future__ import annotations

import json
import secrets
import sys
from contextlib import aclosing, asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for helper in ("gateway", "notifier"):  # the gateway tests' live stack, the notifier tests' webhook receiver
    if str(TESTS / helper) not in sys.path:
        sys.path.insert(0, str(TESTS / helper))

from gateway_harness import run_stack  # noqa: E402
from ledger_kernel.connection import connect  # noqa: E402
from ledger_kernel.streams import ALERTS  # noqa: E402
from ledger_kernel.telemetry import setup_telemetry  # noqa: E402
from notifier_support import eventually, start_receiver  # noqa: E402
from opentelemetry import metrics  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

COMPANY = "91310115MA1K4B8N68"
# A number with no licence behind it: the projector opens a finding at once, and alerts on it.
ALLOCATED = {"type": "number.allocated", "company": COMPANY, "effective_date": "2022-06-01",
             "data": {"number": "400-600-1234", "kind": "400", "province": "31", "provider": "中国电信",
                      "purpose": "客户服务"}}


@asynccontextmanager
async def live_stack(home: Path):
    """The gateway tests' whole stack, closed when the block ends (also when it fails)."""
    async with aclosing(run_stack(home)) as stacks:
        async for stack in stacks:
            yield stack
            return


def trace_id_of(traceparent: str) -> str:
    version, trace_id, span_id, flags = traceparent.split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16 and len(flags) == 2, traceparent
    return trace_id


def metric_points(reader: InMemoryMetricReader) -> dict[str, list]:
    data = reader.get_metrics_data()
    out: dict[str, list] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


@pytest.fixture(scope="module")
def telemetry():
    exporter = InMemorySpanExporter()
    setup_telemetry("ledger-tests", exporter=exporter)
    reader = None
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    yield exporter, reader
    exporter.clear()
    exporter.shutdown()  # the provider stays for the session; this exporter stops keeping spans


async def test_one_fact_is_one_trace_from_the_gateway_to_the_webhook(telemetry, tmp_path: Path):
    exporter, reader = telemetry
    receiver, server = start_receiver()
    try:
        async with live_stack(tmp_path) as stack:
            tenant, key = stack.new_tenant("trace")
            async with stack.client(key) as api:
                hook = {"channel": "webhook", "target": receiver.url("/hook"), "companies": "*"}
                created = await api.post("/v1/subscriptions", json=hook)
                assert created.status_code == 201, created.text
                receiver.secrets["/hook"] = created.json()["secret"]
                exporter.clear()  # from here on: the one fact's spans

                recorded = await api.post("/v1/facts", json={**ALLOCATED,
                                                              "idempotency_key": secrets.token_hex(8)})
                assert recorded.status_code == 201, recorded.text
                event_id = recorded.json()["event_id"]
                received = await eventually(lambda: [r for r in receiver.at("/hook")
                                                     if r.payload and r.payload["type"] == "finding.opened"], within=30)
                assert len(received) == 1 and received[0].verified
                events = (await api.get(f"/v1/companies/{COMPANY}/events")).json()["items"]

            nc = await connect(stack.nats_url, "trace-test")
            try:
                stored = await nc.jetstream().get_last_msg(ALERTS, f"alerts.{tenant}.{COMPANY}.finding_opened")
            finally:
                await nc.close()
            alert = json.loads(stored.data)
            spans = await eventually(lambda: (s := exporter.get_finished_spans()) and any(
                x.attributes.get("ledger.alert_id") == alert["id"] for x in s) and s)
            points = metric_points(reader) if reader is not None else {}  # while the projector still runs
    finally:
        server.shutdown()

    def only(name: str, kind: SpanKind, **attributes):
        found = [s for s in spans if s.name == name and s.kind == kind
                 and all(s.attributes.get(k) == v for k, v in attributes.items())]
        assert len(found) == 1, (name, [s.name for s in spans])
        return found[0]

    http = only("POST /v1/facts", SpanKind.SERVER)
    client = only("cmd.numbers request", SpanKind.CLIENT)
    service = only("cmd.numbers record", SpanKind.SERVER)
    applied = only("projector.apply number.allocated", SpanKind.CONSUMER)
    delivered = only("notifier.deliver webhook", SpanKind.PRODUCER, **{"ledger.alert_id": alert["id"]})
    trace_id = http.context.trace_id
    assert {s.context.trace_id for s in (http, client, service, applied, delivered)} == {trace_id}
    hex_id = format(trace_id, "032x")

    by_id = {s.context.span_id: s for s in spans}

    def ancestors(span) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    def traceparent(span) -> str:
        ctx = span.context
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"

    # The chain of parents: gateway → NATS request → append → projection → delivery.
    assert http.parent is None
    assert "POST /v1/facts" in ancestors(client)  # (through FastAPI's own endpoint span)
    assert service.parent.span_id == client.context.span_id
    assert applied.parent.span_id == service.context.span_id
    assert delivered.parent.span_id == applied.context.span_id
    assert service.attributes["ledger.fact_type"] == "number.allocated"
    assert applied.attributes["ledger.sequence"] == service.attributes["ledger.sequence"]
    assert http.attributes["http.response.status_code"] == 201 and http.attributes["http.route"] == "/v1/facts"
    assert ancestors(delivered)[:4] == ["projector.apply number.allocated", "cmd.numbers record",
                                        "cmd.numbers request", "fastapi.endpoint"]
    assert delivered.attributes["http.response.status_code"] == 200
    assert delivered.status.is_ok

    # The event, the alert's CloudEvent and its NATS header, and the webhook request all carry it.
    event = next(e for e in events if e["id"] == event_id)
    assert event["traceparent"] == traceparent(service)
    assert trace_id_of(alert["traceparent"]) == hex_id
    assert alert["traceparent"] == traceparent(applied)  # decided while applying that event
    assert stored.headers["traceparent"] == alert["traceparent"]
    assert received[0].headers["webhook-id"] == alert["id"]  # the delivered alert is this one
    assert received[0].headers["traceparent"] == traceparent(delivered)

    if reader is None:
        print("metrics not checked: another MeterProvider was installed before this test")
        return
    appended = [p for p in points["ledger.facts.appended"] if p.attributes.get("type") == "number.allocated"]
    assert sum(p.value for p in appended) >= 1
    assert sum(p.value for p in points["ledger.alerts.published"]
               if p.attributes.get("type") == "finding.opened") >= 1
    assert sum(p.value for p in points["ledger.alerts.sent"] if p.attributes.get("channel") == "webhook") >= 1
    latency = [p for p in points["ledger.alerts.delivery_latency"] if p.attributes.get("channel") == "webhook"]
    assert sum(p.count for p in latency) >= 1
    assert [p.value for p in points["ledger.projector.lag"]] == [0]  # caught up
    assert "ledger.append.conflicts" in points


async def test_an_alert_the_clock_decides_starts_a_trace_of_its_own(telemetry, fresh_nats, settings_for, clock, tenant):
    """(A server of its own: a new projector reads LEDGER from the start.)"""
    from ledger_kernel.store import LedgerStore
    from ledger_kernel.streams import provision
    from projector.conftest import projector_stack
    from projector.ledger_facts import DirectRecorder

    def at(day: str) -> datetime:
        return datetime.fromisoformat(f"{day}T09:00:00+08:00")

    company = "91440300MA5G7C1P90"
    facts = [
        {"type": "company.registered", "company": company, "effective_date": "2020-01-10",
         "data": {"name": "深圳某呼叫中心有限公司", "registered_capital": 3000000, "province": "44",
                  "industry": "other", "business_scope": ["呼叫中心业务"]}},
        {"type": "licence.issued", "company": company, "effective_date": "2023-05-10",
         "data": {"licence_no": "粤B2-20230510", "category": "B24", "scope": "provincial", "provinces": ["44"],
                  "issued_on": "2023-05-10", "expires_on": "2028-05-09", "authority": "广东省通信管理局"}},
        {"type": "company.registration_changed", "company": company, "effective_date": "2026-09-25",
         "data": {"field": "legal_representative", "old": "person-001", "new": "person-002"}},  # filing due 10-26
    ]
    exporter, _ = telemetry
    nc = await connect(fresh_nats.url, "trace-test")
    try:
        await provision(nc)
        recorder = DirectRecorder(LedgerStore(nc), clock)  # appends with no traceparent: nothing to continue
        clock.set(at("2026-10-13"))
        async with projector_stack(settings_for(fresh_nats), clock) as svc:
            for fact in facts:
                seq = await recorder.record(tenant, fact)
            assert await svc.wait_for(seq, 10)
            exporter.clear()
            clock.set(at("2026-10-19"))
            assert await svc.tick() >= 1
            stored = await LedgerStore(nc, "ALERTS").read_all(f"alerts.{tenant}.>")
    finally:
        await nc.close()
    alerts = [a for a in map(json.loads, (m.data for m in stored)) if (a["data"].get("rule") or {}).get("id") == "change-filing"]
    # Decided by an event with no trace: none; decided by the clock a week later: a trace of its own.
    assert [(a["data"]["step"], "traceparent" in a) for a in alerts] == [("d-14", False), ("d-7", True)]
    ticks = [s for s in exporter.get_finished_spans() if s.name == "projector.tick"]
    assert len(ticks) == 1 and ticks[0].parent is None  # a new trace, not a child of anything
    assert trace_id_of(alerts[1]["traceparent"]) == format(ticks[0].context.trace_id, "032x")
