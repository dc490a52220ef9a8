"""Trace context across the projector: each applied event continues its own trace, and an alert
continues the trace of the event that decided it (or, decided by the clock, starts one).

Applying costs nothing extra without a real tracer provider: the event's ``traceparent`` is read
from the tail of its canonical JSON (``traceparent`` and ``type`` are the last two keys), not by
parsing it again. The scheduler asks :func:`cause_of` which trace a company's new alerts carry;
the service sets that for the duration of one batch or tick (a context variable, so it follows
the work into ``asyncio.to_thread``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ledger_kernel.telemetry import context_from, current_traceparent, tracer
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

_tracer = tracer("ledger.projector")
_TAIL = re.compile(rb',"traceparent":"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})","type":"([A-Za-z0-9_.\-]{1,100})"\}$')


@dataclass(frozen=True, slots=True)
class Causes:
    """The trace each company's new alerts carry: by company key, else ``default`` (a clock tick's)."""

    by_company: Mapping[str, str]
    default: str | None = None


_causes: ContextVar[Causes | None] = ContextVar("ledger_alert_causes", default=None)


def enabled() -> bool:
    """Whether spans go anywhere (an SDK tracer provider is installed)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def traced(data: bytes) -> tuple[str, str] | None:
    """``(traceparent, type)`` of a stored event, read from the tail of its canonical JSON; None if it has none."""
    match = _TAIL.search(data, max(0, len(data) - 256))
    if match is None:
        return None
    return match.group(1).decode(), match.group(2).decode()


def company_key(subject: str) -> str | None:
    """``ledger.<tenant>.<company>.…`` → ``<tenant>.<company>``."""
    parts = subject.split(".", 3)
    return f"{parts[1]}.{parts[2]}" if len(parts) == 4 else None


def cause_of(key: str) -> str | None:
    """The ``traceparent`` an alert about company ``key`` carries in this decision, if any."""
    causes = _causes.get()
    if causes is None:
        return None
    return causes.by_company.get(key, causes.default)


@contextmanager
def deciding(causes: Causes) -> Iterator[None]:
    token = _causes.set(causes)
    try:
        yield
    finally:
        _causes.reset(token)


class Applying:
    """The spans of one batch: ``projector.apply <type>`` per traced event, a child of its traceparent.

    Started before the transaction and ended after it commits, so they measure the application;
    :attr:`causes` names, per company, the last such span (or, untraced here, the event's own
    traceparent), which the alerts that batch decides continue.
    """

    def __init__(self, messages: Sequence[Any]) -> None:
        self.spans: list[Span] = []
        by_company: dict[str, str] = {}
        record = enabled()
        started = time.time_ns()
        for msg in messages:
            found = traced(msg.data)
            key = company_key(msg.subject)
            if found is None or key is None:
                continue
            traceparent, event_type = found
            if record:
                span = _tracer.start_span(f"projector.apply {event_type}", kind=SpanKind.CONSUMER,
                                          context=context_from({"traceparent": traceparent}), start_time=started,
                                          attributes={"ledger.sequence": msg.stream_seq, "ledger.event_type": event_type})
                self.spans.append(span)
                traceparent = traceparent_of(span)
            by_company[key] = traceparent
        self.causes = Causes(by_company)

    def end(self, error: str | None = None) -> None:
        ended = time.time_ns()
        for span in self.spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, error))
            span.end(end_time=ended)
        self.spans = []


def traceparent_of(span: Span) -> str:
    """The W3C ``traceparent`` naming ``span``."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


@contextmanager
def ticking() -> Iterator[None]:
    """A clock tick: a new trace (no parent), which the alerts it decides carry."""
    if not enabled():
        yield
        return
    with _tracer.start_as_current_span("projector.tick", context=otel_context.Context(), kind=SpanKind.INTERNAL):
        with deciding(Causes({}, current_traceparent())):
            yield


def alert_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The NATS headers that carry an alert's trace (its CloudEvent ``traceparent``)."""
    traceparent = event.get("traceparent")
    return {"traceparent": traceparent} if isinstance(traceparent, str) else {}
