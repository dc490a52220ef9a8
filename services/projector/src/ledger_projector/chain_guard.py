"""The projector's link check: an event that does not chain onto its aggregate's last hash is parked.

Without it the read model took in whatever LEDGER held and only a later ``ledger verify`` noticed.
Each aggregate's last event as stored (``projector_chain_tips``) is written in the same transaction
as the facts, so a restart or a rebuild checks the next event against the same tip. The rules are
:mod:`ledger_kernel.chain`'s, the ones ``ledger verify`` walks by: a broken event is parked with the
reason ``chain: …``, and its aggregate goes on from the stored hash (one altered event, one park).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from ledger_kernel.chain import Tip, advance, link_breaks
from sqlalchemy.engine import Connection

from ledger_projector.decoding import Decoded, Poison
from ledger_projector.tables import TableSet

CHUNK = 500
MAX_KNOWN = 200_000  # tips kept in memory between batches (a cache: the table is the truth)
CHAIN_REASON = "chain: "


@dataclass
class Head:
    """An aggregate's tip and the stream sequence of the event that set it."""

    tip: Tip
    ledger_sequence: int


class ChainGuard:
    """Checks a batch's links against the committed tips; keeps the tips it has seen committed."""

    def __init__(self, tables: TableSet) -> None:
        self.tables = tables
        self._known: dict[str, Head] = {}  # subject → head as committed
        self._pending: dict[str, Head] = {}

    def forget(self) -> None:
        self._known.clear()
        self._pending = {}

    def committed(self) -> None:
        if len(self._known) + len(self._pending) > MAX_KNOWN:
            self._known.clear()
        self._known.update(self._pending)
        self._pending = {}

    def _load(self, conn: Connection, subjects: Sequence[str]) -> dict[str, Head]:
        t = self.tables.chain_tips
        out = {}
        for i in range(0, len(subjects), CHUNK):
            part = subjects[i:i + CHUNK]
            for r in conn.execute(sa.select(t.c.subject, t.c.sequence, t.c.hash, t.c.ledger_sequence)
                                  .where(t.c.subject.in_(part))):
                out[r.subject] = Head(Tip(r.sequence, r.hash), r.ledger_sequence)
        return out

    def check(self, conn: Connection, decoded: list[Decoded]) -> list[Decoded]:
        """The batch with every broken link turned into a parked Poison; the new tips written (in ``conn``)."""
        out = self.links(conn, decoded)
        self.write(conn)
        return out

    def links(self, conn: Connection, decoded: list[Decoded]) -> list[Decoded]:
        """``check`` without writing: the tips it moves wait for ``write`` (the projector reads and
        evaluates a batch before it takes the write lock)."""
        self._pending = {}
        subjects = sorted({d.link.subject for d in decoded if d.link is not None})
        if not subjects:
            return decoded
        heads = {s: Head(Tip(h.tip.sequence, h.tip.hash), h.ledger_sequence)
                 for s in subjects if (h := self._known.get(s)) is not None}
        heads.update(self._load(conn, [s for s in subjects if s not in heads]))
        out: list[Decoded] = []
        changed: dict[str, Head] = {}
        for d in decoded:
            link = d.link
            if link is None:
                out.append(d)
                continue
            head = heads.setdefault(link.subject, Head(Tip(), 0))
            event = link.as_event()
            breaks = link_breaks(head.tip, event, sealed=link.sealed)
            advance(head.tip, event)
            head.ledger_sequence = d.ledger_sequence
            changed[link.subject] = head
            if breaks:
                reason = CHAIN_REASON + "; ".join(f"{b.kind}: {b.detail}" for b in breaks)
                if isinstance(d, Poison):
                    reason += f" (also {d.reason})"
                    d = Poison(d.ledger_sequence, d.subject, d.event_id, d.type, reason, link)
                else:
                    d = Poison(d.ledger_sequence, link.subject, getattr(d, "event_id", None), d.type, reason, link)
            out.append(d)
        self._pending = changed
        return out

    def write(self, conn: Connection) -> None:
        """Store the tips the last ``links`` moved (in ``conn``, the batch's write transaction)."""
        changed = self._pending
        if not changed:
            return
        t = self.tables.chain_tips
        names = sorted(changed)
        for i in range(0, len(names), CHUNK):
            conn.execute(t.delete().where(t.c.subject.in_(names[i:i + CHUNK])))
        conn.execute(t.insert(), [{"subject": s, "sequence": h.tip.sequence, "hash": h.tip.hash,
                                   "ledger_sequence": h.ledger_sequence} for s, h in sorted(changed.items())])

    @staticmethod
    def seed(conn: Connection, tables: TableSet, heads: dict[str, Head]) -> None:
        """Write tips found by a walk of LEDGER (a read model from before this table existed)."""
        if heads:
            conn.execute(tables.chain_tips.insert(), [
                {"subject": s, "sequence": h.tip.sequence, "hash": h.tip.hash, "ledger_sequence": h.ledger_sequence}
                for s, h in sorted(heads.items())])


@dataclass(frozen=True)
class ParkedReport:
    """What the projector parked, for ``ledger verify``: how many, how many for a broken chain, the latest."""

    total: int
    chain: int
    recent: list[dict]


def parked_report(database_url: str, limit: int = 20) -> ParkedReport | None:
    """The read model's parked events; None when there is no read model here (a copy of LEDGER alone)."""
    from ledger_projector.database import make_engine, sqlite_path
    from ledger_projector.tables import LIVE

    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return None
    engine = make_engine(database_url)
    try:
        if not sa.inspect(engine).has_table(LIVE.parked.name):
            return None
        t = LIVE.parked
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0
            chain = conn.execute(sa.select(sa.func.count()).select_from(t)
                                 .where(t.c.reason.startswith(CHAIN_REASON))).scalar() or 0
            recent = [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.ledger_sequence.desc()).limit(limit))
                      .mappings()]
        return ParkedReport(total, chain, recent)
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()
