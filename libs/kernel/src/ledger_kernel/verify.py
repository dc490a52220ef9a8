"""``ledger verify``: walk LEDGER, check every aggregate's hash chain and sequence, and hold the
result against the signed checkpoints on CHECKPOINTS.

A break is reported with the stream sequence where it starts; after a break the walk goes on
from the stored hash, so one altered event yields one report, not a cascade. The chain alone
cannot see a lost tail or a stream re-chained after the fact; the checkpoints can: the stream
must reach the latest checkpoint's sequence, each checkpoint's listed heads must be the
aggregates' last hashes at its sequence, and the digest over all heads must match the latest one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from ledger_kernel import checkpoints as cp
from ledger_kernel import envelope
from ledger_kernel.chain import Tip, advance, heads_digest, link_breaks
from ledger_kernel.store import LedgerStore
from ledger_kernel.subjects import AggregateAddress, SubjectError

log = logging.getLogger(__name__)
NAMED = 10  # aggregates named at most in one digest break


@dataclass(frozen=True)
class Break:
    stream_seq: int
    subject: str
    # gap | undecodable | bad_subject | subject_mismatch | sequence | prevhash | hash
    # | truncated | checkpoint_digest | checkpoint_head | checkpoint_signature | checkpoint_undecodable
    kind: str
    detail: str


@dataclass
class CheckpointSummary:
    """What the checkpoints said: how many, how many had a trusted signature, the latest one's reach."""

    read: int = 0
    trusted: int = 0
    signatures_checked: bool = False
    latest_sequence: int | None = None
    latest_key_id: str | None = None
    latest_signed_at: str | None = None
    uncovered: int = 0  # events after the latest checkpoint (not yet signed: not a break)


@dataclass
class Report:
    events: int
    aggregates: int
    last_sequence: int
    breaks: list[Break]
    checkpoints: CheckpointSummary = field(default_factory=CheckpointSummary)

    @property
    def intact(self) -> bool:
        return not self.breaks


async def read_checkpoints(store: LedgerStore) -> tuple[list[cp.Checkpoint], list[Break]]:
    """Every record on CHECKPOINTS (none when the stream does not exist) and the ones that do not parse."""
    stream = LedgerStore(store.nc, cp.STREAM, timeout=store.timeout)
    try:
        await stream.js.stream_info(cp.STREAM)
    except NotFoundError:
        return [], []
    out, bad = [], []
    async for msg in stream.read(cp.SUBJECT):
        try:
            out.append(cp.Checkpoint.model_validate_json(msg.data))
        except ValidationError as exc:
            bad.append(Break(msg.stream_seq, cp.SUBJECT, "checkpoint_undecodable",
                             f"CHECKPOINTS message {msg.stream_seq} is not a checkpoint: {exc.error_count()} error(s)"))
    return out, bad


class _Heads:
    """Every aggregate's last hash (and the stream sequence where it was set) as the walk goes, and which
    changed since the last checkpoint held against them (so each checkpoint costs its own changes only)."""

    def __init__(self) -> None:
        self.hash: dict[str, str] = {}
        self.at: dict[str, int] = {}
        self.touched: set[str] = set()
        self.marked = 0

    def set(self, subject: str, value: str, seq: int) -> None:
        self.hash[subject] = value
        self.at[subject] = seq
        self.touched.add(subject)

    def changed_after(self, seq: int) -> list[str]:
        if seq == self.marked:
            return sorted(self.touched)
        return sorted(s for s, at in self.at.items() if at > seq)

    def mark(self, seq: int) -> None:
        self.touched, self.marked = set(), seq


def _check_heads(c: cp.Checkpoint, heads: _Heads) -> list[Break]:
    """The checkpoint's listed heads against the walk's, at its sequence: each difference names its aggregate."""
    if c.heads is None:
        return []
    out = []
    for subject, value in c.heads.items():
        found = heads.hash.get(subject)
        if found != value:
            out.append(Break(c.sequence, subject, "checkpoint_head",
                             f"at sequence {c.sequence} the aggregate's last hash is {found or 'absent'}, the "
                             f"checkpoint signed {value} (key {c.key_id}, {c.signed_at})"))
    for subject in heads.changed_after(c.previous):
        if subject not in c.heads:
            out.append(Break(c.sequence, subject, "checkpoint_head",
                             f"the aggregate changed between sequences {c.previous} and {c.sequence}, the checkpoint "
                             f"signed at {c.signed_at} says it did not"))
    return out


def _check_digest(c: cp.Checkpoint, heads: _Heads, named: set[str]) -> list[Break]:
    if heads_digest(heads.hash) == c.digest and len(heads.hash) == c.aggregates:
        return []
    suspects = sorted(named) or heads.changed_after(c.previous)
    where = ", ".join(suspects[:NAMED]) + (f" and {len(suspects) - NAMED} more" if len(suspects) > NAMED else "")
    return [Break(c.sequence, suspects[0] if len(suspects) == 1 else "", "checkpoint_digest",
                  f"the heads of the {len(heads.hash)} aggregates at sequence {c.sequence} do not digest to the "
                  f"checkpoint's ({c.aggregates} aggregates, key {c.key_id}, {c.signed_at}): the ledger was "
                  f"rewritten; aggregates changed since sequence {c.previous}: {where or 'none'}")]


async def verify_ledger(store: LedgerStore, batch: int = 2000, *,
                        keys: Mapping[str, Ed25519PublicKey] | None = None,
                        require_checkpoint: bool = False) -> Report:
    """Walk LEDGER and hold it against CHECKPOINTS; ``keys`` (key id → public key) are the trusted signers.

    With no keys the checkpoints' contents are still compared, but their signatures are not checked.
    ``require_checkpoint`` (an auditor's check) makes a ledger with events but no trusted checkpoint a break.
    """
    records, breaks = await read_checkpoints(store)
    summary = CheckpointSummary(read=len(records), signatures_checked=bool(keys))
    trusted = []
    for c in records:
        why = cp.signature_ok(c, keys) if keys else None
        if why is None:
            trusted.append(c)
        else:
            breaks.append(Break(c.sequence, cp.SUBJECT, "checkpoint_signature", why))
    trusted.sort(key=lambda c: (c.sequence, c.signed_at))
    summary.trusted = len(trusted)
    latest = trusted[-1] if trusted else None
    end = await store.last_sequence()
    within = [c for c in trusted if c.sequence <= end]
    target = within[-1] if within else None  # the latest checkpoint the stream reaches: its digest is checked
    pending = list(trusted)
    named: set[str] = set()

    tips: dict[str, Tip] = {}
    heads = _Heads()
    count = 0
    last = 0

    def reached(upto: int) -> None:
        """Hold the walk (complete through ``upto``) against every checkpoint at or before it."""
        while pending and pending[0].sequence <= upto:
            c = pending.pop(0)
            found = _check_heads(c, heads)
            named.update(b.subject for b in found)
            breaks.extend(found)
            if c is target:
                breaks.extend(_check_digest(c, heads, named))
            heads.mark(c.sequence)

    while True:
        msgs = await store.read_batch(last, batch, subject_filter="ledger.>")
        if not msgs:
            break
        for msg in msgs:
            reached(msg.stream_seq - 1)
            count += 1
            if msg.stream_seq != last + 1:  # deny_delete: a hole in the stream is a lost or removed event
                breaks.append(Break(last + 1, msg.subject, "gap",
                                    f"stream sequences {last + 1}..{msg.stream_seq - 1} are missing"))
            last = msg.stream_seq
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
            tip = tips.setdefault(msg.subject, Tip())
            breaks.extend(Break(msg.stream_seq, msg.subject, b.kind, b.detail) for b in link_breaks(tip, event))
            advance(tip, event)
            heads.set(msg.subject, tip.hash, msg.stream_seq)
    reached(last)
    if latest is not None:
        summary.latest_sequence, summary.latest_key_id = latest.sequence, latest.key_id
        summary.latest_signed_at = latest.signed_at
        if latest.sequence > last:
            breaks.append(Break(last + 1, "", "truncated",
                                f"the latest checkpoint (key {latest.key_id}, {latest.signed_at}) covers sequence "
                                f"{latest.sequence}, the stream ends at {last}: {latest.sequence - last} "
                                f"acknowledged event(s) are missing"))
        summary.uncovered = max(0, last - latest.sequence)
    elif count:
        summary.uncovered = count
        if require_checkpoint:
            breaks.append(Break(0, cp.SUBJECT, "no_checkpoint",
                                f"{count} events and no checkpoint signed by a trusted key: nothing vouches for "
                                f"this copy's completeness"))
    return Report(events=count, aggregates=len(tips), last_sequence=last, breaks=breaks, checkpoints=summary)
