"""The read model's tables (sqlmodel), and the same shapes under other names for a rebuild.

Everything here is derived from LEDGER and nothing depends on the wall clock, so a
rebuild reproduces it byte for byte (see :mod:`ledger_projector.digest`) — except the
*scheduler state* tables (alerts sent, last credit seen, KV publication, the change feed's
derived state changes), which record what was done in the world and survive a rebuild untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from ledger_readmodel.instants import UtcInstant as UtcDateTime  # the name the migrations import
from ledger_readmodel.mapped import table_of
from sqlmodel import Field, SQLModel

PREFIX = "projector_"


def _instant(**kw: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=sa.JSON, **kw)


def _seq(**kw: Any) -> Any:
    """A LEDGER stream sequence (64-bit)."""
    return Field(sa_type=sa.BigInteger, **kw)


# --- derived from LEDGER (rebuilt) --------------------------------------------------


class Checkpoint(SQLModel, table=True):
    """The last applied LEDGER sequence, written in the same transaction as what it covers."""

    __tablename__ = PREFIX + "checkpoint"
    name: str = Field(primary_key=True)
    applied_sequence: int = _seq(default=0)
    generation: int = 0  # bumped by each rebuild swap, so a running projector drops its caches


class Fact(SQLModel, table=True):
    """Every applied fact: the input of each company's evaluation, and the change feed."""

    __tablename__ = PREFIX + "facts"
    __table_args__ = (sa.Index("ix_projector_facts_company", "company_key", "ledger_sequence"),
                      sa.Index("ix_projector_facts_tenant", "tenant", "ledger_sequence"))
    ledger_sequence: int = _seq(primary_key=True, sa_column_kwargs={"autoincrement": False})
    company_key: str  # "{tenant}.{company}"
    tenant: str
    company: str
    event_id: str
    type: str
    aggregate_type: str
    aggregate_id: str
    effective_date: date
    recorded_at: datetime = _instant()
    data: dict = _json()


class Company(SQLModel, table=True):
    """A company a tenant has recorded at least one fact about (the tenant-isolation gate)."""

    __tablename__ = PREFIX + "companies"
    __table_args__ = (sa.Index("ix_projector_companies_tenant", "tenant", "company"),)
    company_key: str = Field(primary_key=True)
    tenant: str
    company: str
    name: str | None = None
    first_sequence: int = _seq()
    last_sequence: int = _seq()
    facts: int


class Obligation(SQLModel, table=True):
    """An obligation's dates as the rule pack computed them; its status is computed at query time."""

    __tablename__ = PREFIX + "obligations"
    __table_args__ = (sa.Index("ix_projector_obligations_reminders", "reminders_from", "reminders_until"),)
    company_key: str = Field(primary_key=True)
    obligation_id: str = Field(primary_key=True)
    tenant: str
    company: str
    rule: str
    kind: str
    about: str | None = None
    year: int | None = None
    quarter: str | None = None
    window_opens: date | None = None
    due: date | None = None
    fulfilled_on: date | None = None
    fulfilled_by: str | None = None
    waived: bool = False
    cancelled: bool = False
    provisional: bool = False
    source: str = ""
    confidence: str = ""
    reminders_from: date | None = None  # first reminder date (for the scheduler's index)
    reminders_until: date | None = None  # last reminder date


class Finding(SQLModel, table=True):
    """A finding with its open/resolve intervals, so it can be asked about at any instant."""

    __tablename__ = PREFIX + "findings"
    company_key: str = Field(primary_key=True)
    finding_id: str = Field(primary_key=True)
    tenant: str
    company: str
    rule: str
    severity: str
    intervals: list = _json()  # [["opened ISO", "resolved ISO" | null], …]
    first_opened_at: datetime | None = _instant(default=None)
    last_change_at: datetime | None = _instant(default=None)
    source: str = ""
    confidence: str = ""


class ObligationEntry(SQLModel, table=True):
    """An obligation as the lists and the timeline show it: its public form and the dates its status at any
    instant is computed from (never the status itself), so a page is read, not evaluated."""

    __tablename__ = PREFIX + "obligation_entries"
    __table_args__ = (sa.Index("ix_projector_obligation_entries_list", "company_key", "due", "rule", "obligation_id"),
                      sa.Index("ix_projector_obligation_entries_dated", "company_key", "due", "obligation_id"),
                      sa.Index("ix_projector_obligation_entries_queue", "tenant", "due", "company", "obligation_id"),
                      # covers the summary's grouped read, so it never touches the (large) bodies
                      sa.Index("ix_projector_obligation_entries_summary", "tenant", "company_key", "closed_on",
                               "due", "born_on", "informational", "confidence", "tracked_from", "window_opens",
                               "obligation_id"))
    company_key: str = Field(primary_key=True)
    obligation_id: str = Field(primary_key=True)
    tenant: str
    company: str
    # no position: the evaluation orders obligations by (due, rule, about, id), which ``pages.evaluation_order``
    # reads from these columns — a stored index would move every later entry each time one is born
    rule: str
    confidence: str
    informational: bool
    due: date
    legal_due: date
    born_on: date  # it exists from this day (time travel never shows it earlier)
    window_opens: date | None = None
    fulfilled_on: date | None = None
    waived_on: date | None = None
    cancelled_on: date | None = None
    closed_on: date | None = None  # the earliest of the three: open (to do or overdue) before it
    tracked_from: date | None = None
    title_zh: str
    title_en: str
    about: str | None = None
    body: dict = _json()  # the public form without status and company


class FindingEntry(SQLModel, table=True):
    """A finding's public form with its open/resolve intervals (whether it is open is asked at an instant)."""

    __tablename__ = PREFIX + "finding_entries"
    company_key: str = Field(primary_key=True)
    finding_id: str = Field(primary_key=True)
    tenant: str
    position: int  # its place in the evaluation (the credit estimate lists ids in that order)
    severity: str
    body: dict = _json()


class CompanySummary(SQLModel, table=True):
    """What a company's summary needs beyond its obligation entries, all of it time-independent: the
    onboarding baseline, the credit estimate's inputs, every finding's open intervals by severity
    (so a portfolio reads one row per company for them), and why an evaluation failed, if it did."""

    __tablename__ = PREFIX + "company_summaries"
    __table_args__ = (sa.Index("ix_projector_company_summaries_tenant", "tenant", "company"),)
    company_key: str = Field(primary_key=True)
    tenant: str
    company: str
    tracked_from: date | None = None
    error: str | None = None
    credit_inputs: dict = _json()
    finding_intervals: list = _json()  # [[finding id, severity, "opened ISO", "resolved ISO" | null], …]


class Parked(SQLModel, table=True):
    """A poison event the projector could not apply: kept, counted and shown to operators."""

    __tablename__ = PREFIX + "parked"
    ledger_sequence: int = _seq(primary_key=True, sa_column_kwargs={"autoincrement": False})
    subject: str
    event_id: str | None = None
    type: str | None = None
    reason: str


class ChainTip(SQLModel, table=True):
    """Each aggregate's last event as stored (aggregate sequence, hash): the projector checks the next
    event's link against it, and signs checkpoints over every aggregate's hash."""

    __tablename__ = PREFIX + "chain_tips"
    subject: str = Field(primary_key=True)  # the aggregate's NATS subject
    sequence: int = _seq()  # its aggregate sequence
    hash: str
    ledger_sequence: int = _seq()  # the stream sequence of that event


class CalendarYear(SQLModel, table=True):
    """An operator-loaded holiday schedule, applied from LEDGER in order (so a rebuild reproduces it)."""

    __tablename__ = PREFIX + "calendar_years"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ledger_sequence: int = _seq()
    schedule: dict = _json()


class TenantRules(SQLModel, table=True):
    """A tenant's parameter overrides of the rule pack (reminder ladders, thresholds …)."""

    __tablename__ = PREFIX + "tenant_rules"
    tenant: str = Field(primary_key=True)
    ledger_sequence: int = _seq()
    overrides: dict = _json()


# --- scheduler state (survives a rebuild) ------------------------------------------------


class Alert(SQLModel, table=True):
    """The outbox: an alert decided and recorded in one transaction, published after commit."""

    __tablename__ = PREFIX + "alerts"
    __table_args__ = (sa.Index("ix_projector_alerts_unpublished", "published", "decided_at"),
                      sa.Index("ix_projector_alerts_company", "company_key"))
    alert_id: str = Field(primary_key=True)
    company_key: str
    tenant: str
    company: str
    type: str
    ref: str  # the obligation or finding id (or "credit")
    step: str  # reminder step, the instant a finding opened, or day+score for credit
    subject: str  # "" for a step folded into a company.backlog digest (published with it, never alone)
    event: dict = _json()  # the CloudEvent, as published (folded: {"id", "type", "folded_into"})
    decided_at: datetime = _instant()
    published: bool = False
    published_at: datetime | None = _instant(default=None)


class CompanyWatch(SQLModel, table=True):
    """Per company: the last credit score alerted on, whether its KV summary is published, and whether
    facts arrived whose alerts wait for the company to settle (see ``Scheduler.defer``)."""

    __tablename__ = PREFIX + "company_watch"
    company_key: str = Field(primary_key=True)
    tenant: str
    company: str
    credit_score: float | None = None
    summary_pending: bool = False
    alerts_pending: bool = False


class SchedulerState(SQLModel, table=True):
    __tablename__ = PREFIX + "scheduler"
    name: str = Field(primary_key=True)
    last_tick_at: datetime | None = _instant(default=None)


class StateSeen(SQLModel, table=True):
    """What the change feed last said of a watched state: an obligation's status, the instant a
    finding's open interval began (none: not open), a company's risk. The next evaluation compares
    against it, so a state change is recorded once, whoever notices it (a batch, a tick, after a rebuild)."""

    __tablename__ = PREFIX + "state_seen"
    company_key: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)  # obligation | finding | company
    ref: str = Field(primary_key=True)  # the obligation or finding id, or "risk"
    value: str | None = None


class StateChange(SQLModel, table=True):
    """A derived change of the change feed (``include=state``), positioned after the LEDGER sequence the
    read model had applied when it was decided: (ledger_sequence, position) is its cursor, which a
    rebuild keeps (the facts keep their sequences, these rows are not rebuilt)."""

    __tablename__ = PREFIX + "state_changes"
    __table_args__ = (sa.Index("ix_projector_state_changes_tenant", "tenant", "ledger_sequence", "position"),)
    ledger_sequence: int = _seq(primary_key=True, sa_column_kwargs={"autoincrement": False})
    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    change_id: str = Field(unique=True)  # deterministic: company, what, the values and the instant
    company_key: str
    tenant: str
    company: str
    type: str  # obligation.status_changed | finding.opened | finding.resolved | company.risk_changed
    ref: str
    before: str | None = None
    after: str | None = None
    at: datetime = _instant()
    data: dict = _json()


class PartitionCheckpoint(SQLModel, table=True):
    """One partition's checkpoint in the partitioned mode (:mod:`ledger_projector.partitioned`), written in the
    same transaction as the rows it covers, and the fencing epoch: bumped by each new owner, checked by every
    commit, so a worker that lost the partition cannot commit. Keyed by the partition count too, so a new P
    starts from fresh rows. Not derived from LEDGER alone (who owned what), so outside the digest and a rebuild."""

    __tablename__ = PREFIX + "partitions"
    partitions: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    partition: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    stream_sequence: int = _seq(default=0)  # the last applied message's sequence on LEDGER_P<P>
    ledger_sequence: int = _seq(default=0)  # … and on LEDGER
    covered_sequence: int = _seq(default=0)  # every LEDGER message up to here of this partition is applied
    epoch: int = 0
    owner: str | None = None
    generation: int = 0  # the rebuild generation the position is in (a rebuild swap makes it stale)


DERIVED = (Checkpoint, Fact, Company, Obligation, Finding, Parked, CalendarYear, TenantRules, ChainTip, ObligationEntry,
           FindingEntry, CompanySummary)
KEPT = (Alert, CompanyWatch, SchedulerState, StateSeen, StateChange)


@dataclass(frozen=True)
class TableSet:
    """The derived tables under one set of names: the live ones, or a rebuild's fresh ones."""

    checkpoint: sa.Table
    facts: sa.Table
    companies: sa.Table
    obligations: sa.Table
    findings: sa.Table
    parked: sa.Table
    calendar_years: sa.Table
    tenant_rules: sa.Table
    chain_tips: sa.Table
    obligation_entries: sa.Table
    finding_entries: sa.Table
    company_summaries: sa.Table
    alerts: sa.Table
    company_watch: sa.Table
    scheduler: sa.Table
    state_seen: sa.Table
    state_changes: sa.Table

    def derived(self) -> list[sa.Table]:
        return [self.checkpoint, self.facts, self.companies, self.obligations, self.findings, self.parked,
                self.calendar_years, self.tenant_rules, self.chain_tips, self.obligation_entries,
                self.finding_entries, self.company_summaries]


def _key(model: type[SQLModel]) -> str:
    return table_of(model).name.removeprefix(PREFIX)


LIVE = TableSet(**{_key(m): table_of(m) for m in (*DERIVED, *KEPT)})
PARTITIONS = table_of(PartitionCheckpoint)


def rebuild_tables(suffix: str) -> tuple[sa.MetaData, TableSet]:
    """Fresh copies of the derived tables named ``<table><suffix>`` (no secondary indexes but the
    company one the evaluation reads by), sharing the live scheduler-state tables."""
    md = sa.MetaData()
    made: dict[str, sa.Table] = {}
    for model in DERIVED:
        src = table_of(model)
        table = sa.Table(src.name + suffix, md, *[c._copy() for c in src.columns])
        if model is Fact:
            sa.Index(f"ix_{src.name}{suffix}_company", table.c.company_key, table.c.ledger_sequence)
        made[_key(model)] = table
    live = {_key(m): table_of(m) for m in KEPT}
    return md, TableSet(**made, **live)
