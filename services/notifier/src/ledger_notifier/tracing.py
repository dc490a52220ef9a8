"""The delivery span: ``notifier.deliver <channel>``, a child of the alert's ``traceparent``.

The alert's CloudEvent carries the trace of the event that decided it (or of the clock tick),
so a fact's trace runs from the gateway request to the webhook the customer receives; the
outgoing request carries this span on (``traceparent``) for the receiver to continue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger_kernel.telemetry import context_from, tracer
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ledger_notifier.alerts import Alert
from ledger_notifier.records import Job
from ledger_notifier.webhook import Outcome

_tracer = tracer("ledger.notifier")


@contextmanager
def delivering(job: Job, alert: Alert) -> Iterator[Span]:
    """The span of one delivery attempt (current inside, so the request made in it carries it)."""
    traceparent = alert.event.get("traceparent")
    parent = context_from({"traceparent": traceparent}) if isinstance(traceparent, str) else otel_context.Context()
    with _tracer.start_as_current_span(
            f"notifier.deliver {job.channel}", context=parent, kind=SpanKind.PRODUCER,
            attributes={"ledger.alert_id": alert.id, "ledger.alert_type": alert.type, "ledger.channel": job.channel,
                        "ledger.delivery_id": job.delivery_id, "ledger.attempt": job.attempts + 1}) as span:
        yield span


def settle(span: Span, outcome: Outcome) -> None:
    """What the attempt came to, on its span."""
    if outcome.status_code is not None:
        span.set_attribute("http.response.status_code", outcome.status_code)
    if not outcome.succeeded:
        span.set_status(Status(StatusCode.ERROR, (outcome.error or "failed")[:200]))
