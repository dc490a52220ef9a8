"""OpenTelemetry set-up shared by every service, and W3C trace context on NATS headers.

Traces go to an OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the
exporter package is installed, to the console with ``LEDGER_OTEL_CONSOLE=1``, and
to any exporter a test passes in (in-memory). Logs are JSON lines with trace ids.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from ledger_kernel.settings import Settings

_configured = False


def setup_telemetry(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """Install one tracer provider per process (idempotent); add ``exporter`` if given."""
    global _configured
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "ledger"}))
        trace.set_tracer_provider(provider)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if not _configured:
        _configured = True
        if Settings.from_env().otel_console:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            if not isinstance(metrics.get_meter_provider(), MeterProvider):
                metrics.set_meter_provider(MeterProvider(
                    resource=provider.resource,
                    metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=15000)]))
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def meter(name: str) -> metrics.Meter:
    return metrics.get_meter(name)


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the current trace context (``traceparent``)."""
    carrier: dict[str, str] = dict(headers or {})
    inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    return inject_headers().get("traceparent")


def context_from(headers: Mapping[str, str] | None) -> otel_context.Context:
    return extract(dict(headers or {}))


class JsonLogFormatter(logging.Formatter):
    """Structured log lines carrying trace and span ids; never the message payloads."""

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
            out["span_id"] = format(span.span_id, "016x")
        for key in ("service", "subject", "tenant", "event_type", "ledger_sequence", "alert_id"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str | None = None) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    root.setLevel(level or Settings.from_env().log_level)
    logging.getLogger("faststream").setLevel(logging.WARNING)
