"""``ledger verify``: walk LEDGER and check every aggregate's hash chain and sequence.

A break is reported with the stream sequence where it starts; after a break the
walk goes on from the stored hash, so one altered event yields one report, not a cascade.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger_kernel import envelope
from ledger_kernel.store import LedgerStore
from ledger_kernel.subjects import AggregateAddress, SubjectError


@dataclass(frozen=True)
class Break:
    stream_seq: int
    subject: str
    kind: str  # gap | undecodable | bad_subject | subject_mismatch | sequence | prevhash | hash
    detail: str


@dataclass
class _Tip:
    sequence: int = 0
    hash: str = envelope.GENESIS


@dataclass
class Report:
    events: int
    aggregates: int
    last_sequence: int
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.breaks


async def verify_ledger(store: LedgerStore, batch: int = 2000) -> Report:
    tips: dict[str, _Tip] = {}
    breaks: list[Break] = []
    count = 0
    last = 0
    while True:
        msgs = await store.read_batch(last, batch, subject_filter="ledger.>")
        if not msgs:
            break
        for msg in msgs:
            count += 1
            if msg.stream_seq != last + 1:  # deny_delete: a hole in the stream is a lost or removed event
                breaks.append(Break(last + 1, msg.subject, "gap",
                                    f"stream sequences {last + 1}..{msg.stream_seq - 1} are missing"))
            last = msg.stream_seq
            tip = tips.setdefault(msg.subject, _Tip())
            try:
                event = msg.event()
            except envelope.EnvelopeError as exc:
                breaks.append(Break(msg.stream_seq, msg.subject, "undecodable", str(exc)))
                continue
            try:
                addr = AggregateAddress.parse(msg.subject)
                if (addr.tenant, addr.company, addr.aggregate_id) != (event["tenant"], event["company"], event["subject"]):
                    breaks.append(Break(msg.stream_seq, msg.subject, "subject_mismatch",
                                        "tenant/company/aggregate id differ from the NATS subject"))
            except SubjectError as exc:
                breaks.append(Break(msg.stream_seq, msg.subject, "bad_subject", str(exc)))
            if not envelope.seal_ok(event):
                breaks.append(Break(msg.stream_seq, msg.subject, "hash",
                                    f"event {event.get('id')} content does not match its hash"))
            if event["sequence"] != tip.sequence + 1:
                breaks.append(Break(msg.stream_seq, msg.subject, "sequence",
                                    f"aggregate sequence {event['sequence']} follows {tip.sequence}"))
            if event["prevhash"] != tip.hash:
                breaks.append(Break(msg.stream_seq, msg.subject, "prevhash",
                                    f"prevhash does not match the hash of aggregate event {tip.sequence}"))
            tip.sequence = event["sequence"] if isinstance(event["sequence"], int) else tip.sequence + 1
            tip.hash = event.get("hash", tip.hash)
    return Report(events=count, aggregates=len(tips), last_sequence=last, breaks=breaks)
