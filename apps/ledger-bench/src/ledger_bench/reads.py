"""The ``reads`` stage: the projector's answers read from its stored entries, beside raw selects.

A read model of its own (SQLite, in a temporary folder) is written by the projector's code — one
company with ``timeline_events`` facts and a tenant of ``projection / per_company`` companies, as the
other stages' ledgers — and then the projector's reader (what ``query.projector`` runs, without the
bus) answers a timeline page, an obligation list page and a portfolio page, each beside a raw SQL
select of as many stored rows. A third figure per list is the answer evaluated per request, as the
reader computed it before entries existed, so the gain is on the same table.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger_bench import facts as F

AS_OF = datetime.fromisoformat("2026-01-05T10:00:00+08:00")
TENANT = "bench"
PAGE = 500


def _timed(call: Any, times: int) -> list[float]:
    out = []
    for _ in range(times):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def write_read_model(url: str, companies: dict[str, list[dict[str, Any]]]) -> Any:
    """The companies' facts applied as the projector applies a batch (facts, company rows, evaluation,
    obligation/finding rows and entries) in one transaction; the engine."""
    from datetime import date

    from ledger_projector.projection import Projection
    from ledger_projector.rulebook import Rulebook
    from ledger_projector.tables import LIVE

    from ledger_bench.plug import projector_engine

    engine = projector_engine(url)
    projection = Projection(engine, LIVE, Rulebook())
    seq = 0
    with engine.begin() as conn:
        for company, facts in companies.items():
            key = f"{TENANT}.{company}"
            rows = []
            for f in facts:
                seq += 1
                eff = date.fromisoformat(f["effective_date"])
                rows.append({"ledger_sequence": seq, "company_key": key, "tenant": TENANT, "company": company,
                             "event_id": f"e{seq}", "type": f["type"], "aggregate_type": f["type"].split(".")[0],
                             "aggregate_id": f"a{seq}", "effective_date": eff,
                             "recorded_at": datetime(eff.year, eff.month, eff.day, 2, tzinfo=UTC), "data": f["data"]})
            projection.bulk(conn, LIVE.facts).run(conn, rows)
            conn.execute(LIVE.companies.insert().values(
                company_key=key, tenant=TENANT, company=company, name=facts[0]["data"].get("name"),
                first_sequence=rows[0]["ledger_sequence"], last_sequence=seq, facts=len(rows)))
        keys = sorted(f"{TENANT}.{c}" for c in companies)
        for i in range(0, len(keys), 100):
            projection._replace_derived(conn, projection.evaluate(conn, keys[i:i + 100]))
    return engine


async def stage_reads(st: Any) -> list[Any]:
    import asyncio

    from ledger_bench import raw as bench_raw
    from ledger_bench.stages import Row, guarded

    sz = st.sizes
    events, tenant_size = sz.timeline_events, max(1, sz.projection // sz.per_company)
    queries = max(5, sz.timeline_queries)
    rows = [
        Row(f"reads: timeline page ({PAGE}), company with {events} events p50", None, "ms",
            "raw SQL select of its facts p50", None),
        Row(f"reads: timeline page ({PAGE}), company with {events} events p99", None, "ms",
            "raw SQL select of its facts p99", None),
        Row(f"reads: obligation list page ({PAGE}), company with {events} events p50", None, "ms",
            f"raw SQL select of {PAGE} of its obligation entries p50", None),
        Row(f"reads: obligation list page ({PAGE}), company with {events} events p99", None, "ms",
            f"raw SQL select of {PAGE} of its obligation entries p99", None),
        Row(f"reads: portfolio page (50), {tenant_size + 1} companies p50", None, "ms",
            "raw SQL select of the tenant's summary rows p50", None),
        Row(f"reads: portfolio page (50), {tenant_size + 1} companies p99", None, "ms",
            "raw SQL select of the tenant's summary rows p99", None),
        Row(f"reads: company obligations evaluated per request, {events} events p50", None, "ms",
            f"the stored page ({PAGE}) p50", None),
    ]

    def measure() -> None:
        from ledger_projector.queries import Reader
        from ledger_projector.rulebook import Rulebook
        from ledger_projector.tables import LIVE

        with tempfile.TemporaryDirectory(prefix="bench-reads-") as home:
            path = Path(home) / "reads.db"
            big = F.uscc(900_000)
            companies = {big: F.company_facts(900_000, events)}
            for i in range(tenant_size):
                companies[F.uscc(910_000 + i)] = F.company_facts(910_000 + i, sz.per_company)
            engine = write_read_model(f"sqlite:///{path}", companies)
            reader = Reader(engine, LIVE, Rulebook())
            base = {"tenant": TENANT, "as_of": AS_OF, "page_size": PAGE}
            timeline = {**base, "op": "timeline", "company": big, "company_hint": None}
            listing = {**base, "op": "obligations", "company": big, "company_hint": None}
            portfolio = {**base, "op": "portfolio", "page_size": 50}
            got = reader.answer(timeline, AS_OF)
            shown = reader.answer(listing, AS_OF)
            reader.answer(portfolio, AS_OF)
            t_ms = _timed(lambda: reader.answer(timeline, AS_OF), queries)
            o_ms = _timed(lambda: reader.answer(listing, AS_OF), queries)
            p_ms = _timed(lambda: reader.answer(portfolio, AS_OF), queries)
            conn = sqlite3.connect(path)
            key = f"{TENANT}.{big}"
            raw_t = _timed(lambda: conn.execute(f"SELECT * FROM {LIVE.facts.name} WHERE company_key = ? "
                                                "ORDER BY ledger_sequence", (key,)).fetchall(), queries)
            raw_o = _timed(lambda: conn.execute(f"SELECT * FROM {LIVE.obligation_entries.name} WHERE company_key = ? "
                                                f"ORDER BY due, rule, obligation_id LIMIT {PAGE}", (key,)).fetchall(),
                           queries)
            raw_p = _timed(lambda: conn.execute(f"SELECT * FROM {LIVE.company_summaries.name} WHERE tenant = ?",
                                                (TENANT,)).fetchall(), queries)
            total = conn.execute(f"SELECT count(*) FROM {LIVE.obligation_entries.name} WHERE company_key = ?",
                                 (key,)).fetchone()[0]
            conn.close()
            # the same list as the reader answered it before entries: evaluate, then statuses of every obligation
            rulebook = Rulebook()
            with engine.connect() as c:
                from ledger_projector.projection import facts_of

                history = facts_of(c, LIVE, [key])[key]

            def evaluated() -> None:
                view = rulebook.evaluate(key, history)
                view.obligations_at(AS_OF)[:PAGE]

            e_ms = _timed(evaluated, max(3, queries // 10))
            engine.dispose()
        pct = bench_raw.percentile
        for row, ms, raw, p in ((rows[0], t_ms, raw_t, 50), (rows[1], t_ms, raw_t, 99), (rows[2], o_ms, raw_o, 50),
                                (rows[3], o_ms, raw_o, 99), (rows[4], p_ms, raw_p, 50), (rows[5], p_ms, raw_p, 99)):
            row.value, row.baseline_value = pct(ms, p), pct(raw, p)
        rows[6].value, rows[6].baseline_value = pct(e_ms, 50), pct(o_ms, 50)
        rows[0].note = (f"{len(got['items'])} entries ({'more pages follow' if got['next_page_token'] else 'all'}); "
                        f"{queries} reads")
        rows[2].note = f"{len(shown['items'])} of {total} obligations; {queries} reads"
        rows[6].note = ("rule book evaluation and every status, as the reader did before entries on each company's "
                        "first read after a fact (it cached the evaluation until the next one)")

    async def body() -> None:
        await asyncio.to_thread(measure)

    return await guarded(rows, body)
