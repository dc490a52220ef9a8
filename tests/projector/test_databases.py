"""SQLite and PostgreSQL give the same read model and the same answers for the same ledger."""

from __future__ import annotations

from datetime import datetime

import pytest
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_projector.database import make_engine
from ledger_projector.digest import digest
from ledger_projector.queries import Reader
from ledger_projector.rebuild import rebuild
from ledger_projector.rulebook import Rulebook
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.ledger_facts import DirectRecorder
from projector.synthetic import fill, uscc

pytestmark = pytest.mark.postgres
AS_OF = [None, "2026-03-01T09:00:00+08:00", "2027-06-30T23:59:00+08:00"]


def answers(reader: Reader, tenant: str, companies: list[str], now: datetime) -> list:
    out = []
    for as_of in AS_OF:
        q = {"tenant": tenant, "as_of": datetime.fromisoformat(as_of) if as_of else None, "page_size": 500}
        out.append(reader.answer({**q, "op": "portfolio"}, now))
        out.append(reader.answer({**q, "op": "changes", "after": 0}, now))
        for co in companies:
            for op in ("company", "obligations", "findings", "credit", "timeline"):
                out.append(reader.answer({**q, "op": op, "company": co}, now))
    return out


async def test_sqlite_and_postgres_agree(fresh_nats, settings_for, clock, tenant, pg_url, tmp_path):
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    settings = settings_for(fresh_nats).model_copy(update={"database_url": pg_url})
    try:
        async with projector_stack(settings, clock, batch_size=97) as svc:
            await fill(store, DirectRecorder(store, clock), tenant, 25, poison_every=61)
            await svc.catch_up()
            assert svc.engine.dialect.name == "postgresql"
            on_pg = digest(svc.engine, LIVE)
        lite = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'lite.db'}"})
        report = await rebuild(lite)
        assert report.digest == on_pg
        pg_engine, lite_engine = make_engine(pg_url), make_engine(lite.database_url)
        companies = [uscc(10_000 + i) for i in range(0, 25, 6)]
        a = answers(Reader(pg_engine, LIVE, Rulebook()), tenant, companies, clock.now())
        b = answers(Reader(lite_engine, LIVE, Rulebook()), tenant, companies, clock.now())
        assert len(a) == len(b) > 40
        for x, y in zip(a, b, strict=True):
            assert x == y
        assert any(item["status"] == "overdue" for r in a if "items" in r for item in r["items"] if "status" in item)
        pg_engine.dispose()
        lite_engine.dispose()
    finally:
        await nc.close()
