"""The notifier's metrics (OpenTelemetry API: recorded only when a MeterProvider is configured)."""

from __future__ import annotations

from ledger_kernel.telemetry import meter

from ledger_notifier.webhook import Outcome

_meter = meter("ledger.notifier")
_sent = _meter.create_counter("ledger.alerts.sent", description="Alert deliveries that succeeded, by channel")
_failed = _meter.create_counter("ledger.alerts.delivery_failures",
                                description="Alert delivery attempts that failed, by channel and whether retried")
_latency = _meter.create_histogram("ledger.alerts.delivery_latency", unit="ms",
                                   description="Time one delivery attempt took, by channel")


def attempted(channel: str, outcome: Outcome) -> None:
    if outcome.succeeded:
        _sent.add(1, {"channel": channel})
    else:
        _failed.add(1, {"channel": channel, "retry": outcome.retry})
    if outcome.latency_ms is not None:
        _latency.record(outcome.latency_ms, {"channel": channel})
