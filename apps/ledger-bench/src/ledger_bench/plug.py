"""Where the benchmark calls into the other parts' own code (and nowhere else).

Each function uses the part's public entry point — the projector's rebuild and its
scheduler query, the gateway's tenancy — so the benchmark measures what production runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger_kernel.settings import Settings
from sqlalchemy import Engine


async def run_rebuild(settings: Settings, workers: int = 1) -> int:
    """The projector's full rebuild (``ledger rebuild --workers W``); the number of events replayed."""
    from ledger_projector.admin import rebuild

    report = await rebuild(settings, workers=workers)
    return report.events


def create_tenant(database_url: str, name: str) -> tuple[str, str]:
    """A tenant and an API key with every scope, through the gateway's admin library: (tenant, key)."""
    from ledger_gateway.admin import create_tenant as create

    tenant, issued = create(database_url, name)
    return tenant.id, issued.key


def projector_engine(database_url: str) -> Engine:
    """The projector's engine on ``database_url``, migrated to its newest tables."""
    from ledger_projector.database import make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    return engine


def due_companies(engine: Any, now: datetime) -> list[str]:
    """The projector's scheduler query: companies with a reminder step due at ``now``."""
    from ledger_projector.scheduler import Scheduler
    from ledger_projector.tables import LIVE

    with engine.connect() as conn:
        return Scheduler.due_companies(conn, LIVE, now)


def obligations_table() -> str:
    from ledger_projector.tables import LIVE

    return LIVE.obligations.name


def facts_table() -> str:
    from ledger_projector.tables import LIVE

    return LIVE.facts.name


def project_in_batches(database_url: str, messages: list[Any], batch: int, now: datetime) -> float:
    """The projector's own batch path (``Projection.apply`` with its scheduler, as the live service
    runs it) over LEDGER-shaped ``messages`` in batches of ``batch``; the seconds it took."""
    import time

    from ledger_projector.projection import Projection
    from ledger_projector.rulebook import Rulebook
    from ledger_projector.scheduler import Scheduler
    from ledger_projector.tables import LIVE

    rulebook = Rulebook()
    projection = Projection(projector_engine(database_url), LIVE, rulebook, scheduler=Scheduler(rulebook))
    after = projection.prepare()
    started = time.perf_counter()
    for i in range(0, len(messages), batch):
        part = messages[i:i + batch]
        projection.apply(part, after, now)
        after = part[-1].stream_seq
    seconds = time.perf_counter() - started
    projection.engine.dispose()
    return seconds
