"""The measurements, one function per stage, each returning rows that carry their own baseline.

A stage that cannot run (a part not built yet, no PostgreSQL) still returns its rows, with
``value`` None and a note saying why, so the table and the JSON always have the same shape.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger_kernel.embedded import free_port
from nats.aio.client import Client

from ledger_bench import facts as F
from ledger_bench import history as bench_history
from ledger_bench import plug as bench_plug
from ledger_bench import raw as bench_raw
from ledger_bench import reads as bench_reads
from ledger_bench import workers as bench_workers
from ledger_bench.appends import stage_batch_append
from ledger_bench.env import (
    DOMAIN,
    BenchEnv,
    Child,
    PgSchema,
    postgres_base_url,
    postgres_reachable,
    service_available,
    wait_applied,
    wait_for_reply,
)


@dataclass
class Row:
    """One figure beside its baseline. ``ratio`` = value / baseline_value."""

    name: str
    value: float | None
    unit: str
    baseline_name: str
    baseline_value: float | None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline_value:
            return None
        return self.value / self.baseline_value

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else float(f"{x:.6g}")  # six significant digits, small ratios included

        return {"name": self.name, "value": r(self.value), "unit": self.unit, "baseline_name": self.baseline_name,
                "baseline_value": r(self.baseline_value), "ratio": r(self.ratio), "note": self.note}


@dataclass(frozen=True)
class Sizes:
    append_single: int  # facts sent by one client
    append_concurrent: int  # facts sent by `clients` clients together
    clients: int
    projection: int  # events projected (per database)
    rebuild: int  # events in LEDGER when the rebuild runs
    bulk: int  # facts imported through POST /v1/facts:batch
    bulk_chunk: int  # facts per request
    latency: int  # single facts through POST /v1/facts
    rate: float  # … sent at this many per second
    timeline_events: int  # events of the company whose timeline is read
    timeline_queries: int
    obligations: int  # obligations the scheduler searches
    per_company: int = 50  # facts per company in generated ledgers


PRESETS = {
    "full": Sizes(append_single=2000, append_concurrent=6400, clients=32, projection=20_000, rebuild=1_000_000,
                  bulk=10_000, bulk_chunk=1000, latency=1000, rate=50.0, timeline_events=1000,
                  timeline_queries=300, obligations=1_000_000),
    "quick": Sizes(append_single=200, append_concurrent=640, clients=32, projection=1000, rebuild=2500,
                   bulk=400, bulk_chunk=200, latency=100, rate=50.0, timeline_events=300,
                   timeline_queries=20, obligations=50_000),
    "tiny": Sizes(append_single=20, append_concurrent=64, clients=32, projection=300, rebuild=600, bulk=60,
                  bulk_chunk=30, latency=10, rate=50.0, timeline_events=100, timeline_queries=5,
                  obligations=1000, per_company=20),
}


@dataclass
class State:
    """What stages hand on to later ones."""

    env: BenchEnv
    sizes: Sizes
    tenant: str = ""
    api_key: str = ""
    sqlite_url: str = ""
    timeline_company: str = ""
    next_company: int = 1_000
    domain: Child | None = None
    projector: Child | None = None
    gateway: Child | None = None
    http_port: int = 0
    notes: dict[str, str] = field(default_factory=dict)

    def companies(self, count: int) -> int:
        """The index of the first of ``count`` company indexes nobody has used yet."""
        first = self.next_company
        self.next_company += count
        return first


def rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:297] + "..."


async def guarded(rows: list[Row], body: Callable[[], Awaitable[None]]) -> list[Row]:
    """Run a stage body that fills ``rows`` in place; on failure the unfilled rows say why."""
    try:
        await body()
    except Exception as exc:  # a stage that fails must not hide the others' figures
        why = short(exc)
        for row in rows:
            if row.value is None and row.note is None:
                row.note = why
            if row.baseline_value is None and row.note is None:
                row.note = why
    return rows


# --- preparation ---------------------------------------------------------------------------------


async def prepare(st: State) -> None:
    """A gateway tenant (so HTTP can read what we project) and the SQLite read model's URL."""
    st.sqlite_url = f"sqlite:///{st.env.home / 'stack' / 'ledger.db'}"
    (st.env.home / "stack").mkdir(parents=True, exist_ok=True)
    why = service_available("gateway")
    if why is None:
        try:
            st.tenant, st.api_key = await asyncio.to_thread(bench_plug.create_tenant, st.sqlite_url, "bench")
        except Exception as exc:
            st.notes["gateway"] = f"cannot create a tenant: {short(exc)}"
    else:
        st.notes["gateway"] = why
    if not st.tenant:
        st.tenant = "tbench" + uuid.uuid4().hex[:6]


def sealed(tenant: str, facts: list[dict[str, Any]]) -> list[bench_raw.Item]:
    sealer = F.Sealer(tenant)
    return [sealer.seal(f) for f in facts]


# --- append --------------------------------------------------------------------------------------


async def start_domain(st: State) -> Child:
    if st.domain is None or not st.domain.alive():
        missing = [why for name in DOMAIN if (why := service_available(name))]
        if missing:
            raise RuntimeError("; ".join(missing))
        st.domain = st.env.spawn(DOMAIN, "domain")
        for name in DOMAIN:  # a malformed request is answered (400) and appends nothing: a readiness probe
            await wait_for_reply(st.env.nc, f"cmd.{name}", {"probe": True}, st.domain)
    return st.domain


async def send_fact(nc: Client, tenant: str, fact: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(F.request(tenant, fact)).encode()
    msg = await nc.request(f"cmd.{F.owner(fact['type'])}", body, timeout=30)
    return json.loads(msg.data)


def client_shares(facts_by_company: list[list[dict[str, Any]]], clients: int) -> list[list[dict[str, Any]]]:
    """Each client gets whole companies, in order (32 back offices, each importing its own clients)."""
    shares: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    for i, company in enumerate(facts_by_company):
        shares[i % clients].extend(company)
    return shares


async def stage_append(st: State) -> list[Row]:
    sz = st.sizes
    rows = [
        Row("append via cmd.<service>, 1 client", None, "facts/s", "raw JetStream publish, sequential", None),
        Row(f"append via cmd.<service>, {sz.clients} clients", None, "facts/s",
            f"raw JetStream publish, {sz.clients} concurrent", None),
    ]

    async def body() -> None:
        nc = st.env.nc
        js = nc.jetstream(timeout=30)
        per = 20
        single = [F.company_facts(i, per) for i in range(st.companies(-(-sz.append_single // per)),
                                                               st.next_company)]
        single_facts = [f for c in single for f in c][:sz.append_single]
        many = [F.company_facts(i, per) for i in range(st.companies(-(-sz.append_concurrent // per)),
                                                             st.next_company)]
        # raw baselines first, on the RAW stream, with the same events the services would write
        seconds, _ = await bench_raw.publish_sequential(js, sealed("traw1", single_facts))
        rows[0].baseline_value = rate(len(single_facts), seconds)
        many_items = [item for share in client_shares(many, sz.clients) for item in sealed("traw32", share)]
        seconds = await bench_raw.publish_concurrent(js, many_items, sz.clients)
        rows[1].baseline_value = rate(len(many_items), seconds)

        await start_domain(st)
        tenant = "tappend" + uuid.uuid4().hex[:6]
        refused: list[dict[str, Any]] = []
        started = time.perf_counter()
        for fact in single_facts:
            reply = await send_fact(nc, tenant, fact)
            if not reply.get("ok"):
                refused.append(reply)
        rows[0].value = rate(len(single_facts), time.perf_counter() - started)
        if refused:
            rows[0].note = f"{len(refused)} refused, first: {refused[0].get('code')} {refused[0].get('detail')}"

        shares = client_shares(many, sz.clients)
        refused32: list[dict[str, Any]] = []

        async def client(share: list[dict[str, Any]]) -> None:
            for fact in share:
                reply = await send_fact(nc, tenant, fact)
                if not reply.get("ok"):
                    refused32.append(reply)

        started = time.perf_counter()
        await asyncio.gather(*(client(s) for s in shares))
        rows[1].value = rate(sum(map(len, shares)), time.perf_counter() - started)
        if refused32:
            rows[1].note = f"{len(refused32)} refused, first: {refused32[0].get('code')} {refused32[0].get('detail')}"

    return await guarded(rows, body)


# --- projection ----------------------------------------------------------------------------------


def projection_facts(st: State, count: int) -> list[dict[str, Any]]:
    per = st.sizes.per_company
    companies = max(1, count // per)
    return list(F.interleaved(companies, per, first=st.companies(companies)))[:count]


def raw_insert_rate(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of a plain executemany of ``rows`` into a facts table at ``url``, a thousand at a time."""
    sink = bench_raw.FactSink(url)
    started = time.perf_counter()
    for i in range(0, len(rows), 1000):
        sink.write(rows[i:i + 1000])
    seconds = time.perf_counter() - started
    sink.close()
    return len(rows) / seconds


async def stop_projector(st: State) -> None:
    """Stop the projection stage's projector, kept for the stages after it (a later stage that needs one
    starts it again)."""
    if st.projector is not None:
        await asyncio.to_thread(st.projector.stop)
        st.projector = None


async def project_into(st: State, url: str, tag: str, keep: bool) -> tuple[float | None, str | None, Child]:
    """Spawn a projector on ``url`` with LEDGER already filled; its events/s from its first answer."""
    nc = st.env.nc
    last = (await nc.jetstream().stream_info("LEDGER")).state.last_seq
    spawned = time.monotonic()
    child = st.env.spawn(("projector",), tag, LEDGER_DATABASE_URL=url, LEDGER_SCHEDULER_INTERVAL="0")
    first = await wait_for_reply(nc, "query.projector", {"op": "status"}, child, within=120)
    t0 = time.monotonic()
    applied0 = int((first.get("result") or {}).get("applied_sequence", 0) or 0)
    t1 = await wait_applied(nc, last, child)
    if not keep:
        child.stop()
    if last - applied0 >= last // 2 and t1 > t0:
        return (last - applied0) / (t1 - t0), None, child
    return last / (t1 - spawned), "too few events to time from the first answer: includes start-up", child


async def stage_projection(st: State) -> list[Row]:
    sz = st.sizes
    rows = [
        Row("projection (SQLite)", None, "events/s", "raw executemany of the same rows (SQLite)", None),
        Row("projection (PostgreSQL)", None, "events/s", "raw executemany of the same rows (PostgreSQL)", None),
    ]
    pg_why = postgres_reachable()

    async def body() -> None:
        js = st.env.nc.jetstream(timeout=30)
        facts = projection_facts(st, sz.projection)
        # the company whose timeline is read later: one company with `timeline_events` events
        timeline_index = st.companies(1)
        st.timeline_company = F.uscc(timeline_index)
        facts += F.company_facts(timeline_index, sz.timeline_events)
        items = sealed(st.tenant, facts)
        await bench_raw.fill_ledger(js, items)
        rows_sql = [bench_raw.fact_row(i + 1, s, json.loads(p)) for i, (s, _, p) in enumerate(items)]

        def raw_into(url: str) -> float:
            return raw_insert_rate(url, rows_sql)

        rows[0].baseline_value = await asyncio.to_thread(raw_into, f"sqlite:///{st.env.home / 'raw.db'}")
        if pg_why is None:
            schema = PgSchema(postgres_base_url()).create()
            try:
                rows[1].baseline_value = await asyncio.to_thread(raw_into, schema.url)
            finally:
                await asyncio.to_thread(schema.drop)
        else:
            rows[1].note = f"skipped: {pg_why}"
        why = service_available("projector")
        if why:
            raise RuntimeError(why)
        # one projector at a time: both would answer query.projector (one queue group)
        if pg_why is None:
            schema = PgSchema(postgres_base_url()).create()
            try:
                rows[1].value, rows[1].note, _ = await project_into(st, schema.url, "projector-postgres",
                                                                    keep=False)
            finally:
                await asyncio.to_thread(schema.drop)
        rows[0].value, rows[0].note, st.projector = await project_into(st, st.sqlite_url, "projector-sqlite",
                                                                       keep=True)

    return await guarded(rows, body)


# --- timeline ------------------------------------------------------------------------------------


async def stage_timeline(st: State) -> list[Row]:
    sz = st.sizes
    rows = [
        Row(f"timeline, company with {sz.timeline_events} events (query.projector) p50", None, "ms",
            "raw SQL select of its facts p50", None),
        Row(f"timeline, company with {sz.timeline_events} events (query.projector) p99", None, "ms",
            "raw SQL select of its facts p99", None),
        Row(f"timeline, company with {sz.timeline_events} events (HTTP) p50", None, "ms",
            "raw SQL select of its facts p50", None),
        Row(f"timeline, company with {sz.timeline_events} events (HTTP) p99", None, "ms",
            "raw SQL select of its facts p99", None),
    ]

    async def body() -> None:
        if not st.timeline_company:
            raise RuntimeError("the projection stage did not run")
        path = st.sqlite_url.split("///", 1)[1]
        key = f"{st.tenant}.{st.timeline_company}"

        def raw() -> list[float]:
            conn = sqlite3.connect(path, timeout=30)
            out = []
            table = bench_plug.facts_table()
            for _ in range(sz.timeline_queries):
                t = time.perf_counter()
                got = conn.execute(f"SELECT * FROM {table} WHERE company_key = ? ORDER BY ledger_sequence",
                                   (key,)).fetchall()
                out.append((time.perf_counter() - t) * 1000)
            conn.close()
            if len(got) != sz.timeline_events:
                raise RuntimeError(f"the read model holds {len(got)} facts of the timeline company, "
                                   f"expected {sz.timeline_events}")
            return out

        raw_ms = await asyncio.to_thread(raw)
        for row in rows:
            row.baseline_value = bench_raw.percentile(raw_ms, 99 if row.name.endswith("p99") else 50)
        nc = st.env.nc
        if st.projector is None or not st.projector.alive():
            raise RuntimeError("no projector running (see the projection rows)")
        # a query reads one page (the largest, 500 entries), as a client showing the timeline does
        req = {"op": "timeline", "tenant": st.tenant, "company": st.timeline_company, "page_size": 500,
               "as_of": AS_OF}
        times = []
        for _ in range(sz.timeline_queries):
            t = time.perf_counter()
            msg = await nc.request("query.projector", json.dumps(req).encode(), timeout=60)
            times.append((time.perf_counter() - t) * 1000)
            reply = json.loads(msg.data)
            if not reply.get("ok"):
                raise RuntimeError(f"timeline refused: {reply}")
        rows[0].value, rows[1].value = bench_raw.percentile(times, 50), bench_raw.percentile(times, 99)
        rows[0].note = (f"one page of {len(reply['result']['items'])} entries "
                        f"({'more pages follow' if reply['result'].get('next_page_token') else 'the whole timeline'})")
        await ensure_gateway(st)
        import httpx

        http_times = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{st.http_port}", timeout=60,
                                     headers={"Authorization": f"Bearer {st.api_key}"}) as client:
            for _ in range(sz.timeline_queries):
                t = time.perf_counter()
                r = await client.get(f"/v1/companies/{st.timeline_company}/timeline",
                                     params={"as_of": AS_OF, "page_size": 500})
                http_times.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"GET timeline answered {r.status_code}: {r.text[:300]}")
        rows[2].value, rows[3].value = bench_raw.percentile(http_times, 50), bench_raw.percentile(http_times, 99)
        rows[2].note = f"one page of {len(r.json().get('items', []))} entries"

    return await guarded(rows, body)


# --- the web console -----------------------------------------------------------------------------


async def stage_console(st: State) -> list[Row]:
    """Server-rendered pages beside the JSON reads they are made of (same gateway, same data)."""
    sz = st.sizes
    queries = max(5, sz.timeline_queries // 10)
    rows = [Row("console portfolio page p50", None, "ms", "GET /v1/companies, every page (JSON) p50", None),
            Row("console portfolio page p99", None, "ms", "GET /v1/companies, every page (JSON) p99", None),
            Row(f"console company page, {sz.timeline_events} events p50", None, "ms",
                "the same data as JSON, every page (summary, obligations, findings, credit, facts) p50", None),
            Row(f"console company page, {sz.timeline_events} events p99", None, "ms",
                "the same data as JSON, every page (summary, obligations, findings, credit, facts) p99", None)]

    async def body() -> None:
        if not st.timeline_company:
            raise RuntimeError("the projection stage did not run")
        await ensure_gateway(st)
        import re

        import httpx

        company = st.timeline_company
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{st.http_port}", timeout=120) as web, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{st.http_port}", timeout=120,
                                  headers={"Authorization": f"Bearer {st.api_key}"}) as api:
            form = (await web.get("/app/login")).text
            found = re.search(r'name="csrf" value="([^"]+)"', form)
            if found is None:
                raise RuntimeError("the console login page has no form token")
            token = found.group(1)
            if (await web.post("/app/login", data={"api_key": st.api_key, "csrf": token})).status_code != 303:
                raise RuntimeError("console login failed")

            async def timed(call: Callable[[], Awaitable[Any]]) -> list[float]:
                out = []
                for _ in range(queries):
                    t = time.perf_counter()
                    await call()
                    out.append((time.perf_counter() - t) * 1000)
                return out

            async def portfolio_json() -> int:
                count, page = 0, None
                while True:
                    r = await api.get("/v1/companies", params={"page_size": 500, **({"page_token": page} if page else {})})
                    if r.status_code != 200:
                        raise RuntimeError(f"GET /v1/companies answered {r.status_code}: {r.text[:200]}")
                    count += len(r.json()["items"])
                    page = r.json().get("next_page_token")
                    if not page:
                        return count

            async def every_page(path: str, **params: Any) -> int:
                count, token = 0, None
                while True:
                    r = await api.get(path, params={"page_size": 500, **params, **({"page_token": token} if token else {})})
                    if r.status_code != 200:
                        raise RuntimeError(f"GET {path} answered {r.status_code}")
                    count += len(r.json()["items"])
                    token = r.json().get("next_page_token")
                    if not token:
                        return count

            async def company_json() -> int:
                """The same data the page shows, as JSON: every page of it."""
                base = f"/v1/companies/{company}"
                for path in ("", "/credit"):
                    if (await api.get(base + path)).status_code != 200:
                        raise RuntimeError(f"GET {base + path} failed")
                await every_page(base + "/findings")
                await every_page(base + "/timeline", kind="fact")
                return await every_page(base + "/obligations")

            async def page(path: str) -> None:
                r = await web.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:200]}")

            companies = await portfolio_json()
            raw = await timed(portfolio_json)
            shown = await timed(lambda: page("/app/"))
            rows[0].baseline_value, rows[1].baseline_value = bench_raw.percentile(raw, 50), bench_raw.percentile(raw, 99)
            rows[0].value, rows[1].value = bench_raw.percentile(shown, 50), bench_raw.percentile(shown, 99)
            rows[0].note = f"{companies} companies, {queries} loads"
            raw = await timed(company_json)
            shown = await timed(lambda: page(f"/app/companies/{company}?span=all"))
            rows[2].baseline_value, rows[3].baseline_value = bench_raw.percentile(raw, 50), bench_raw.percentile(raw, 99)
            rows[2].value, rows[3].value = bench_raw.percentile(shown, 50), bench_raw.percentile(shown, 99)
            listed = await company_json()
            rows[2].note = f"{queries} loads; the company has {listed} obligations (onboarded on {F.TRACKED_FROM}: those due before it are attested history)"

    return await guarded(rows, body)


# --- the gateway: bulk import and single facts ---------------------------------------------------


async def ensure_gateway(st: State) -> None:
    if st.gateway is not None and st.gateway.alive():
        return
    if "gateway" in st.notes:
        raise RuntimeError(st.notes["gateway"])
    await start_domain(st)
    st.http_port = free_port()
    st.gateway = st.env.spawn(("gateway",), "gateway", LEDGER_DATABASE_URL=st.sqlite_url,
                              LEDGER_HTTP_PORT=str(st.http_port))
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not st.gateway.alive():
                raise RuntimeError(f"the gateway exited: {st.gateway.tail()}")
            try:
                r = await client.get(f"http://127.0.0.1:{st.http_port}/readyz")
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the gateway was not ready within 60 s")


async def stage_bulk(st: State) -> list[Row]:
    sz = st.sizes
    raw = f"raw JetStream publish of the same events, {sz.clients} concurrent"
    rows = [Row("bulk import via POST /v1/facts:batch, accepted and projected", None, "facts/s", raw, None),
            Row("bulk import via POST /v1/facts:batch, accepted (every fact in LEDGER, answered)", None,
                "facts/s", raw, None)]

    async def body() -> None:
        per = st.sizes.per_company
        first = st.companies(max(1, sz.bulk // per))
        facts = list(F.facts(max(1, sz.bulk // per), per, first=first))[:sz.bulk]
        js = st.env.nc.jetstream(timeout=30)
        seconds = await bench_raw.publish_concurrent(js, sealed("trawbulk", facts), sz.clients)
        rows[0].baseline_value = rows[1].baseline_value = rate(len(facts), seconds)
        await ensure_gateway(st)
        if st.projector is None or not st.projector.alive():
            raise RuntimeError("no projector running (see the projection rows)")
        import httpx

        # whole companies per request, so a company's facts arrive in order (a fact's own aggregate first)
        chunks = [facts[i:i + sz.bulk_chunk] for i in range(0, len(facts), sz.bulk_chunk)]
        highest = 0
        refused: list[Any] = []
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{st.http_port}", timeout=300,
                                     headers={"Authorization": f"Bearer {st.api_key}"}) as client:
            sem = asyncio.Semaphore(2)

            async def post(chunk: list[dict[str, Any]]) -> None:
                nonlocal highest
                body = [{**f, "idempotency_key": str(uuid.uuid4())} for f in chunk]
                async with sem:
                    r = await client.post("/v1/facts:batch", json=body)
                if r.status_code != 200:
                    raise RuntimeError(f"POST /v1/facts:batch answered {r.status_code}: {r.text[:300]}")
                for result in r.json()["results"]:
                    if result.get("ok"):
                        highest = max(highest, int(result["event"]["ledger_sequence"]))
                    else:
                        refused.append(result)

            await asyncio.gather(*(post(c) for c in chunks))
            rows[1].value = rate(len(facts), time.perf_counter() - started)
            await wait_applied(st.env.nc, highest, st.projector)
        rows[0].value = rate(len(facts), time.perf_counter() - started)
        if refused:
            problem = refused[0].get("problem") or {}
            rows[0].note = f"{len(refused)} refused, first: {problem.get('title')} {problem.get('detail')}"

    return await guarded(rows, body)


async def stage_latency(st: State) -> list[Row]:
    sz = st.sizes
    rows = [
        Row(f"single fact via POST /v1/facts at {sz.rate:g}/s p50", None, "ms",
            f"raw JetStream publish at {sz.rate:g}/s p50", None),
        Row(f"single fact via POST /v1/facts at {sz.rate:g}/s p99", None, "ms",
            f"raw JetStream publish at {sz.rate:g}/s p99", None),
    ]

    async def body() -> None:
        per = st.sizes.per_company
        facts = list(F.facts(max(1, sz.latency // per) + 1, per, first=st.companies(sz.latency // per + 1)))
        facts = facts[:sz.latency]
        js = st.env.nc.jetstream(timeout=30)
        raw_ms = await bench_raw.publish_paced(js, sealed("trawlat", facts), sz.rate)
        rows[0].baseline_value = bench_raw.percentile(raw_ms, 50)
        rows[1].baseline_value = bench_raw.percentile(raw_ms, 99)
        await ensure_gateway(st)
        import httpx

        times: list[float] = []
        failures: list[str] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{st.http_port}", timeout=30,
                                     headers={"Authorization": f"Bearer {st.api_key}"},
                                     limits=httpx.Limits(max_keepalive_connections=20)) as client:
            async def one(fact: dict[str, Any]) -> None:
                t = time.perf_counter()
                r = await client.post("/v1/facts", json=fact, headers={"Idempotency-Key": str(uuid.uuid4())})
                times.append((time.perf_counter() - t) * 1000)
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text[:200]}")

            start = time.perf_counter()
            tasks = []
            # facts of one company in order: send each company's facts from one task, paced overall
            for i, fact in enumerate(facts):
                delay = start + i / sz.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(fact)))
            await asyncio.gather(*tasks)
        rows[0].value, rows[1].value = bench_raw.percentile(times, 50), bench_raw.percentile(times, 99)
        if failures:
            rows[0].note = f"{len(failures)} not 201, first: {failures[0]}"

    return await guarded(rows, body)


# --- rebuild -------------------------------------------------------------------------------------


REBUILD_WORKERS = (2, 4)  # rows beside the one-worker rebuild


def run_child(job: str, env: dict[str, str], timeout: float = 3600, args: list[str] | None = None) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "ledger_bench.child", job, *(args or [])], env=env,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{job} child failed ({out.returncode}): {(out.stderr or out.stdout)[-600:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def stage_rebuild(st: State) -> list[Row]:
    sz = st.sizes
    rows = [
        Row(f"rebuild of {sz.rebuild:,} events (SQLite)", None, "s", "raw read of LEDGER + executemany", None),
        Row(f"rebuild of {sz.rebuild:,} events, peak RSS", None, "MB", "raw read + executemany, peak RSS", None),
        *[Row(f"rebuild of {sz.rebuild:,} events, {w} workers (SQLite)", None, "s",
              "raw read of LEDGER + executemany", None) for w in REBUILD_WORKERS],
    ]

    async def body() -> None:
        # A live projector would follow the million events being filled and compete for the CPU with
        # the rebuild. The domain services and the gateway stay up, idle.
        await stop_projector(st)
        js = st.env.nc.jetstream(timeout=60)
        have = (await js.stream_info("LEDGER")).state.messages
        missing = sz.rebuild - have
        per = sz.per_company
        while missing > 0:  # fill in slices so a million events never sit in memory at once
            count = min(missing, 50_000)
            facts = projection_facts(st, count)
            if not facts:
                break
            await bench_raw.fill_ledger(js, sealed(st.tenant, facts))
            missing -= len(facts)
            if len(facts) < per:
                break
        events = (await js.stream_info("LEDGER")).state.messages
        if events < sz.rebuild:
            raise RuntimeError(f"LEDGER holds {events} events, {sz.rebuild} were asked for")
        for row in rows:
            row.name = row.name.replace(f"{sz.rebuild:,}", f"{events:,}")
        raw = await asyncio.to_thread(run_child, "rawread", st.env.env(
            LEDGER_DATABASE_URL=f"sqlite:///{st.env.home / 'rawread.db'}"))
        rows[0].baseline_value, rows[1].baseline_value = raw["seconds"], raw["maxrss_mb"]
        if service_available("projector"):
            raise RuntimeError(service_available("projector"))
        got = await asyncio.to_thread(run_child, "rebuild", st.env.env(
            LEDGER_DATABASE_URL=f"sqlite:///{st.env.home / 'rebuild.db'}"))
        rows[0].value, rows[1].value = got["seconds"], got["maxrss_mb"]
        if got["events"] != events:
            rows[0].note = f"replayed {got['events']} of {events} events"
        for row, workers in zip(rows[2:], REBUILD_WORKERS, strict=True):
            # the companies split among W worker processes by partition, one swap (each into a database of its own)
            row.baseline_value = raw["seconds"]
            got = await asyncio.to_thread(run_child, "rebuild", st.env.env(
                LEDGER_DATABASE_URL=f"sqlite:///{st.env.home / f'rebuild-{workers}.db'}"), args=[str(workers)])
            row.value = got["seconds"]
            if got["events"] != events:
                row.note = f"replayed {got['events']} of {events} events"

    return await guarded(rows, body)


# --- scheduler -----------------------------------------------------------------------------------


def obligation_rows(first: int, count: int, today: date) -> list[dict[str, Any]]:
    """Obligations ``first…first+count`` (ten per company), reminder windows spread over two years."""
    out: list[dict[str, Any]] = []
    days = [today + timedelta(days=d - 365) for d in range(730 + 90)]
    companies = {k: F.uscc(k) for k in range(first // 10, (first + count) // 10 + 1)}
    for i in range(first, first + count):
        company = companies[i // 10]
        offset = (i * 37) % 730
        start = days[offset]
        out.append({
            "company_key": f"tsched.{company}", "obligation_id": f"renewal:{i}", "tenant": "tsched",
            "company": company, "rule": "renewal", "kind": "deadline", "title": {"en": "Renewal", "zh": "续期"},
            "about": f"B2-{20180101 + i % 1000}", "year": None, "quarter": None, "window_opens": None,
            "due": days[offset + 90], "fulfilled_on": today if i % 7 == 0 else None,
            "fulfilled_by": None, "waived": False, "cancelled": False, "provisional": False,
            "source": "rules.md", "confidence": "high", "params": {}, "reminders": [],
            "reminders_from": start, "reminders_until": days[offset + 90], "detail": {}})
    return out


async def stage_scheduler(st: State) -> list[Row]:
    sz = st.sizes
    rows = [Row(f"scheduler: companies with due reminders among {sz.obligations:,} obligations", None, "ms",
                "raw indexed SQL count (same conditions)", None)]

    async def body() -> None:
        if service_available("projector"):
            raise RuntimeError(service_available("projector"))
        url = f"sqlite:///{st.env.home / 'scheduler.db'}"
        now = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
        today = date(2026, 1, 5)

        def fill_and_time() -> tuple[float, float, int, int]:
            import sqlalchemy as sa

            engine = bench_plug.projector_engine(url)  # the projector's own tables, migrated
            table = sa.Table(bench_plug.obligations_table(), sa.MetaData(), autoload_with=engine)
            columns = [c.name for c in table.columns]
            json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}

            def plain(name: str, value: Any) -> Any:
                if name in json_columns:
                    return json.dumps(value, ensure_ascii=False)
                return value.isoformat() if isinstance(value, date) else value

            fill = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for i in range(0, sz.obligations, 50_000):
                batch = obligation_rows(i, min(50_000, sz.obligations - i), today)
                fill.execute("BEGIN")
                fill.executemany(sql, [tuple(plain(c, r.get(c)) for c in columns) for r in batch])
                fill.execute("COMMIT")
            fill.execute("ANALYZE")
            fill.close()
            times, found = [], 0
            for _ in range(5):
                t = time.perf_counter()
                found = len(bench_plug.due_companies(engine, now))
                times.append((time.perf_counter() - t) * 1000)
            engine.dispose()
            conn = sqlite3.connect(url.split("///", 1)[1])
            raw_times, counted = [], 0
            since = today - timedelta(days=400)
            for _ in range(5):
                t = time.perf_counter()
                counted = conn.execute(
                    f"SELECT count(DISTINCT company_key) FROM {table.name} WHERE reminders_from <= ? "
                    "AND reminders_until >= ? AND fulfilled_on IS NULL AND waived = 0 AND cancelled = 0",
                    (today.isoformat(), since.isoformat())).fetchone()[0]
                raw_times.append((time.perf_counter() - t) * 1000)
            conn.close()
            return statistics.median(times), statistics.median(raw_times), found, counted

        value, baseline, found, counted = await asyncio.to_thread(fill_and_time)
        rows[0].value, rows[0].baseline_value = value, baseline
        rows[0].note = f"{found} companies due (raw count {counted}); median of 5"

    return await guarded(rows, body)


AS_OF = "2026-01-05T10:00:00+08:00"

STAGES = {
    "append": stage_append,
    "projection": stage_projection,
    "timeline": stage_timeline,
    "console": stage_console,
    "bulk": stage_bulk,
    "latency": stage_latency,
    "scheduler": stage_scheduler,
    "batch_append": stage_batch_append,
    "history": bench_history.stage_history,
    "reads": bench_reads.stage_reads,
    "workers": bench_workers.stage_workers,
    # last: it fills LEDGER with the rebuild's million events, which the workers would otherwise project too
    "rebuild": stage_rebuild,
}
