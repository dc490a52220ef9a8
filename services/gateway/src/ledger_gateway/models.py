"""Response models of the public API, for OpenAPI (the read model stays the projector's).

Read models allow extra members: the projector may add fields, clients must ignore
the ones they do not know (interfaces.md: "extend them freely").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger_gateway.problems import Problem


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Recorded(BaseModel):
    """The event a fact became."""

    event_id: str = Field(description="The event's id (CloudEvents `id`).")
    type: str
    aggregate: str = Field(description="The aggregate's subject on LEDGER.")
    aggregate_id: str
    sequence: int = Field(description="Position in the aggregate (send it back as If-Match).")
    ledger_sequence: int = Field(description="Position in LEDGER (send it back as min_sequence to read it).")


class BatchItemResult(BaseModel):
    index: int = Field(description="Position of the fact in the request (0-based).")
    status: int = Field(description="The HTTP status this fact would have had alone (201, 409, 422 …).")
    ok: bool
    idempotency_key: str | None = None
    replayed: bool = Field(False, description="True when an earlier request with this key is being answered again.")
    event: Recorded | None = None
    problem: Problem | None = None


class BatchResponse(BaseModel):
    results: list[BatchItemResult] = Field(description="One result per submitted fact, in order.")
    accepted: int
    refused: int


class CompanySummary(Open):
    uscc: str
    name: str | None = None
    risk: str | None = Field(None, description="Overall risk band.")
    open_findings: dict[str, int] | None = Field(None, description="Open findings by severity.")
    overdue: int | None = Field(None, description="Obligations past due.")
    next_due: Any = Field(None, description="The next obligation falling due.")
    tracked_from: str | None = Field(None, description="The onboarding baseline (company.tracking_started), if any: "
                                                       "obligations due before it with nothing recorded are "
                                                       "`before_tracking`, not overdue.")
    next_statutory_due: str | None = Field(None, description="The next due date (Asia/Shanghai) among the "
                                           "statutory and notice obligations still to do: the portfolio's order.")
    credit: Any = Field(None, description="The credit-score estimate.")


class Obligation(Open):
    id: str
    rule: str
    company: str | None = Field(None, description="The company's USCC.")
    title: Any = None
    about: str | None = None
    year: int | None = None
    quarter: str | None = None
    window_opens: str | None = None
    due: str | None = Field(None, description="Local date (Asia/Shanghai).")
    status: str | None = None
    fulfilled_on: str | None = None
    fulfilled_by: str | None = None
    provisional: bool | None = None
    source: Any = None
    confidence: Any = None
    params: dict[str, Any] | None = None


class Finding(Open):
    id: str
    rule: str
    severity: str | None = None
    message: Any = None
    evidence: Any = None
    opened_at: str | None = None
    resolved_at: str | None = None
    source: Any = None
    confidence: Any = None


class Credit(Open):
    score: float | None = None
    band: str | None = None
    coverage_months: int | None = None
    components: Any = None
    label: str | None = Field(None, description="Always `estimate`.")


class TimelineEntry(Open):
    date: str | None = None
    kind: str | None = Field(None, description="fact | deadline | finding")


class CloudEvent(Open):
    specversion: str
    id: str
    source: str
    type: str


class Change(Open):
    cursor: Any = Field(None, description="Pass as `after` to continue after this item.")
    kind: str | None = Field(None, description="fact | state (a derived change, with include=state)")
    company: str | None = None
    what: Any = Field(None, description="A fact: its type, event id, aggregate and effective date. A state "
                                        "change: `change` (its type), `id`, `before`, `after` and what it is about.")
    at: str | None = Field(None, description="When the fact was recorded, or the instant the state changed.")


class CompanyPage(BaseModel):
    items: list[CompanySummary]
    next_page_token: str | None = None


class ObligationPage(BaseModel):
    items: list[Obligation]
    next_page_token: str | None = None


class FindingPage(BaseModel):
    items: list[Finding]
    next_page_token: str | None = None


class TimelinePage(BaseModel):
    items: list[TimelineEntry]
    next_page_token: str | None = None


class EventPage(BaseModel):
    items: list[CloudEvent]
    next_page_token: str | None = None


class ChangePage(BaseModel):
    items: list[Change]
    next_cursor: Any = Field(None, description="Pass as `after` to continue.")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(description="ready | not_ready")
    nats: dict[str, Any]
    database: dict[str, Any]
    projection: dict[str, Any]
    services: dict[str, Any] | None = Field(
        None, description="Under `ledger up`: each supervised service's state (running | restarting) and "
                          "restart count; absent when nothing supervises the stack. 各服务状态与重启次数。")
