"""Crash safety: SIGKILL the projector process at random points while it applies thousands of
events; after each restart it carries on, and the end state equals a clean rebuild — on SQLite
and on PostgreSQL (the clean rebuild goes into a database of the same kind of its own)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_projector.database import make_engine
from ledger_projector.digest import digest
from ledger_projector.rebuild import rebuild
from ledger_projector.scheduler import FOLDED
from ledger_projector.tables import LIVE

from projector.ledger_facts import DirectRecorder
from projector.synthetic import fill

# Kill rounds per database. Each round costs a projector process start (about 3 s of imports on a
# loaded 2-core host) plus the batches it applies before the kill; PostgreSQL applies a little slower.
# Three rounds on PostgreSQL keep the two variants together near a minute, and still kill it with a
# backlog in hand, at three different points, with facts arriving while it is down.
ROUNDS = {"sqlite": 4, "postgresql": 3}


def applied(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(LIVE.checkpoint.c.applied_sequence)).scalar() or 0
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # not migrated yet (SQLite; PostgreSQL)
        return 0


def deferred(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LIVE.company_watch)
                            .where(LIVE.company_watch.c.alerts_pending.is_(True))).scalar() or 0


def unpublished(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LIVE.alerts)
                            .where(LIVE.alerts.c.published.is_(False))).scalar() or 0


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ledger_projector"], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


async def wait_until(engine: sa.Engine, target: int, proc: subprocess.Popen, within: float) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        now = applied(engine)
        if now >= target:
            return now
        assert proc.poll() is None, f"projector exited with {proc.returncode}"
        await asyncio.sleep(0.01)
    raise AssertionError(f"projector stuck at {applied(engine)}, wanted {target}")


async def test_sigkill_at_random_points_replays_into_the_same_state(fresh_nats, settings_for, clock, tenant,
                                                                   tmp_path, read_models):
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    settings = settings_for(fresh_nats).model_copy(update={"database_url": read_models.fresh("crash")})
    rounds = ROUNDS[read_models.kind]
    env = {**os.environ, "LEDGER_NATS_URL": fresh_nats.url, "LEDGER_DATABASE_URL": settings.database_url,
           "LEDGER_HOME": str(settings.home), "LEDGER_ENV": "test", "LEDGER_CLOCK": clock.now().isoformat(),
           "LEDGER_PROJECTOR_BATCH": "125", "LEDGER_PROJECTOR_BATCH_MAX": "500",
           "LEDGER_SCHEDULER_INTERVAL": "0"}
    # small batches that double while lagging (125, 250, 500): the backlog takes several commits, so a
    # kill lands with work in hand rather than after the projector has caught up
    log = tmp_path / "projector.log"
    rng = random.Random(int(os.environ.get("PROJECTOR_CRASH_SEED", "20261123")))
    engine = make_engine(settings.database_url)
    assert engine.dialect.name == read_models.kind
    try:
        last = await fill(store, recorder, tenant, 200, poison_every=211)
        assert last >= 1500, last
        kills: list[int] = []  # the applied sequence seen before each kill
        stopped: list[int] = []  # and after it
        previous = 0
        for round_ in range(rounds):
            proc = start(env, log)
            try:
                target = rng.randrange(previous + 1, previous + (last - previous) // 2 + 2)
                reached = await wait_until(engine, target, proc, 60)
                await asyncio.sleep(rng.uniform(0, 0.3))  # land anywhere: mid-batch, mid-commit, idle
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            previous = applied(engine)
            assert previous >= reached  # a commit is never lost
            kills.append(reached)
            stopped.append(previous)
            # facts keep arriving while the projector is down
            last = await fill(store, recorder, f"{tenant}r{round_}", 8, seed=round_)
        proc = start(env, log)
        try:
            await wait_until(engine, last, proc, 120)
            deadline = time.monotonic() + 150  # a budget, not a speed: CI once saw 75 left after 60 s under load
            # the outbox drains, and no company still waits for its facts to settle (alerts deferred
            # before a kill are decided after the restart, never dropped)
            while (unpublished(engine) or deferred(engine)) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        assert len(kills) == rounds and kills == sorted(kills)
        incremental = digest(engine, LIVE)
        clean = await rebuild(settings.model_copy(update={"database_url": read_models.fresh("clean")}))
        assert clean.applied_sequence == last
        assert clean.digest == incremental, "a crash changed the read model"
        assert unpublished(engine) == 0 and deferred(engine) == 0
        with engine.connect() as conn:
            decided = conn.execute(sa.select(sa.func.count()).select_from(LIVE.alerts)
                                   .where(LIVE.alerts.c.subject != FOLDED)).scalar()  # not those in a digest
        on_stream = (await nc.jetstream().stream_info("ALERTS")).state.messages
        assert decided > 0 and on_stream == decided, "every alert decided is on ALERTS exactly once"
        print(f"{read_models.kind}: killed after {kills} (stopped at {stopped}); {last} events; "
              f"digest {incremental[:12]}")
    finally:
        engine.dispose()
        await nc.close()
        if sys.exc_info()[0] is not None:
            print(log.read_text()[-4000:])


pytestmark = [pytest.mark.timeout(280), pytest.mark.slow]
