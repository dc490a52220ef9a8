"""Local throughput measurement of the projector (not a test): live path and rebuild on SQLite.

python apps/ledger-bench/scripts/projector_alone.py [events] [companies] [rebuild_events]
Builds LEDGER-shaped messages in memory (no NATS), so it measures the projector alone.
"""

from __future__ import annotations

import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from ledger_contracts.catalogue import get_spec  # noqa: E402
from ledger_kernel.clock import FixedClock  # noqa: E402,F401
from ledger_kernel.envelope import build_event, encode  # noqa: E402
from ledger_kernel.store import StoredMessage  # noqa: E402
from ledger_projector import digest as digest_mod  # noqa: E402
from ledger_projector.database import make_engine, migrate  # noqa: E402
from ledger_projector.projection import Projection  # noqa: E402
from ledger_projector.rebuild import replay  # noqa: E402
from ledger_projector.rulebook import Rulebook  # noqa: E402
from ledger_projector.scheduler import Scheduler  # noqa: E402
from ledger_projector.tables import LIVE  # noqa: E402
from projector.synthetic import company_facts  # noqa: E402

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def messages(target: int, companies: int, seed: int = 7):
    """About ``target`` messages over ``companies`` companies, interleaved, each company in order (a generator)."""
    rng = random.Random(seed)
    seq = 0
    rounds = 0
    while seq < target:
        per = [company_facts(i + rounds * companies, rng) for i in range(companies)]
        tenant = f"t{rounds}"
        tips: dict[str, tuple[int, str]] = {}  # each aggregate's chain, as a service appends it
        pos = [0] * companies
        live = list(range(companies))
        while live and seq < target:
            i = rng.choice(live)
            fact = per[i][pos[i]]
            pos[i] += 1
            if pos[i] == len(per[i]):
                live.remove(i)
            seq += 1
            spec = get_spec(fact["type"])
            agg = spec.aggregate_id(fact["company"], fact["data"])
            subject = f"ledger.{tenant}.{fact['company']}.{spec.aggregate_type}.{agg}"
            last, prev = tips.get(subject, (0, "0" * 64))
            ev = build_event(event_id=f"e{seq}", source="urn:bench", event_type=fact["type"], version=spec.version,
                             aggregate_id=agg, tenant=tenant, company=fact["company"], sequence=last + 1,
                             effective_date=datetime.fromisoformat(fact["effective_date"]).date(),
                             data=fact["data"], prevhash=prev, recorded_at=NOW - timedelta(days=1))
            tips[subject] = (last + 1, ev["hash"])
            yield StoredMessage(seq, subject, encode(ev), f"e{seq}", None)
        rounds += 1


class ListStore:
    """read_batch over an in-memory list (the LedgerStore call replay makes)."""

    def __init__(self, msgs):
        self.msgs = msgs

    async def read_batch(self, after, n, **_):
        return self.msgs[after:after + n]


class StreamStore:
    """read_batch over a generator (flat memory for the big rebuild)."""

    def __init__(self, gen):
        self.gen = gen

    async def read_batch(self, after, n, **_):
        out = []
        for m in self.gen:
            out.append(m)
            if len(out) >= n:
                break
        return out


def live(msgs, db: Path, batch: int) -> tuple[float, str]:
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    rb = Rulebook()
    proj = Projection(engine, LIVE, rb, scheduler=Scheduler(rb))
    after = proj.prepare()
    t0 = time.perf_counter()
    i = 0
    while i < len(msgs):
        n = proj.batch_size(len(msgs) - i) if hasattr(proj, "batch_size") else batch
        part = msgs[i:i + n]
        proj.apply(part, after, NOW)
        after = part[-1].stream_seq
        i += len(part)
    dt = time.perf_counter() - t0
    return dt, digest_mod.digest(engine, LIVE)


def rebuilt(store, db: Path) -> tuple[float, int, str]:
    from ledger_projector.rebuild import _fresh, _swap
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    from ledger_projector.projection import ensure_checkpoint
    with engine.begin() as conn:
        ensure_checkpoint(conn, LIVE)
    md, fresh = _fresh(engine)
    t0 = time.perf_counter()
    events, _ = asyncio.run(replay(engine, store, fresh))
    _swap(engine, md, fresh)
    dt = time.perf_counter() - t0
    return dt, events, digest_mod.digest(engine, LIVE)


def parked(db: Path) -> int:
    import sqlalchemy as sa

    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LIVE.parked)).scalar() or 0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    companies = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    big = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    msgs = list(messages(n, companies))
    print(f"{len(msgs)} events over {companies} companies per tenant round")
    with tempfile.TemporaryDirectory() as d:
        dt, dg_live = live(msgs, Path(d) / "live.db", batch)
        print(f"live:    {len(msgs) / dt:10,.0f} events/s  ({dt:.2f}s), parked: {parked(Path(d) / 'live.db')}")
        dt, ev, dg_re = rebuilt(ListStore(msgs), Path(d) / "re.db")
        print(f"rebuild: {ev / dt:10,.0f} events/s  ({dt:.2f}s)  digest equal: {dg_live == dg_re}")
        if big:
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            dt, ev, _ = rebuilt(StreamStore(messages(big, 2000, seed=11)), Path(d) / "big.db")
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(f"rebuild {ev:,} events: {dt:.1f}s ({ev / dt:,.0f} events/s, ~{dt * 1_000_000 / ev:.0f}s per 1M), "
                  f"peak RSS {rss / 1024:.0f} MiB (before {rss0 / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
