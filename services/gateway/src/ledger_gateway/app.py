"""The FastAPI application: routers, problem handlers, the OpenAPI document, metrics."""

from __future__ import annotations

import importlib
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_gateway import console, facts_api, health_api, openapi_docs, problems, reads_api, reports_api
from ledger_gateway.bounds import BodyLimit
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


class Measured:
    """Requests counted and timed per route and status, as plain ASGI.

    Not ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the app in a task group and
    streams the response through a queue, a few milliseconds per request measured here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")  # set by the router on this same scope
            METRICS.observe(scope["method"], getattr(route, "path", "unmatched"), status,
                            time.perf_counter() - started)


def create_app(state: GatewayState) -> FastAPI:
    app = FastAPI(title="Compliance ledger API 合规台账 API", version="1.0.0", description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None,  # /docs: console.install
                  # FastAPI's own OpenTelemetry: a server span per request (continuing an incoming
                  # traceparent); no OTel log records, which would carry the client's rejected input.
                  telemetry={"logs": False})
    app.state.gateway = state
    problems.install(app)
    app.include_router(facts_api.router)
    app.include_router(reads_api.router)
    app.include_router(reports_api.router)
    try:  # subscriptions and calendar feeds, once the notifier's router module exists
        alerts = importlib.import_module("ledger_gateway.alerts_api")
    except ModuleNotFoundError as exc:
        if exc.name != "ledger_gateway.alerts_api":
            raise
    else:
        app.include_router(alerts.router)
    app.include_router(health_api.router)
    openapi_docs.install(app)
    console.install(app)

    app.add_middleware(BodyLimit)  # inside Measured: a 413 is counted like any answer
    app.add_middleware(Measured)
    return app
