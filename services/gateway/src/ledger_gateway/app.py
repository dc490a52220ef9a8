"""The FastAPI application: routers, problem handlers, the OpenAPI document, metrics."""

from __future__ import annotations

import importlib
import time

from fastapi import FastAPI, Request

from ledger_gateway import facts_api, health_api, openapi_docs, problems, reads_api
from ledger_gateway.context import GatewayState
from ledger_gateway.metrics import METRICS

DESCRIPTION = """Facts in, compliance timelines out — for call-centre (B24) licence holders.
事实录入，合规时间线输出。

Authenticate with `Authorization: Bearer <api key>`. Errors are `application/problem+json`
(RFC 9457) with a stable `type` URI per kind of error. Writes answer with the event's
`ledger_sequence`; pass it as `min_sequence` to a read to see your own write."""

TAGS = [
    {"name": "facts", "description": "Record facts (one, or up to 10,000 in a batch). 记录事实。"},
    {"name": "reads", "description": "Portfolio, company summaries, obligations, findings, credit, timeline, "
                                     "events, change feed. 查询。"},
    {"name": "alerts", "description": "Subscriptions, deliveries, replay, calendar feeds. 提醒订阅。"},
    {"name": "operations", "description": "Health, readiness, metrics. 运维。"},
]


def create_app(state: GatewayState) -> FastAPI:
    app = FastAPI(title="Compliance ledger API 合规台账 API", version="1.0.0", description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url="/docs", redoc_url=None,
                  # FastAPI's own OpenTelemetry: a server span per request (continuing an incoming
                  # traceparent); no OTel log records, which would carry the client's rejected input.
                  telemetry={"logs": False})
    app.state.gateway = state
    problems.install(app)
    app.include_router(facts_api.router)
    app.include_router(reads_api.router)
    try:  # subscriptions and calendar feeds, once the notifier's router module exists
        alerts = importlib.import_module("ledger_gateway.alerts_api")
    except ModuleNotFoundError as exc:
        if exc.name != "ledger_gateway.alerts_api":
            raise
    else:
        app.include_router(alerts.router)
    app.include_router(health_api.router)
    openapi_docs.install(app)

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        METRICS.observe(request.method, getattr(route, "path", "unmatched"), response.status_code,
                        time.perf_counter() - started)
        return response
    return app
