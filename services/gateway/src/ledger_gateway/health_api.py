"""Operations: ``/healthz`` (alive), ``/readyz`` (NATS, database, projection lag), ``/metrics``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from ledger_kernel.supervision import read_status
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from ledger_gateway.context import state_of
from ledger_gateway.metrics import METRICS
from ledger_gateway.models import Health, Readiness
from ledger_gateway.openapi_docs import RETRY_AFTER_HEADER
from ledger_gateway.problems import ProblemError, answer_headers

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Alive")
async def healthz() -> dict[str, str]:
    """The process answers. 进程存活。"""
    return {"status": "ok"}


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/readyz", response_model=Readiness, summary="Ready to serve",
            responses={503: {"model": Readiness, "description": "Not ready: see which part.",
                              "headers": RETRY_AFTER_HEADER}})
async def readyz(request: Request) -> JSONResponse:
    """NATS connected, database reachable, how far the projection lags, and (under ``ledger up``) which services
    are running or being restarted. 就绪检查。"""
    gw = state_of(request)
    nats_ok = bool(gw.bus.nc.is_connected)
    nats = {"ok": nats_ok, "url": gw.bus.nc.connected_url.netloc if nats_ok and gw.bus.nc.connected_url else None}
    started = time.perf_counter()
    try:
        await run_in_threadpool(_ping, gw.engine)
        database: dict[str, Any] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # the reason is logged by SQLAlchemy; answer only the kind
        database = {"ok": False, "error": type(exc).__name__}
    projection: dict = {"ok": False}
    if nats_ok:
        try:
            reply = await gw.bus.query("query.projector", {"op": "status", "tenant": None})
            status = reply.get("result") or {}
            projection = {"ok": True, "applied_sequence": status.get("applied_sequence"),
                          "ledger_last_sequence": status.get("ledger_last_sequence"),
                          "lag": status.get("lag"), "parked": status.get("parked"),
                          "chain_breaks": status.get("chain_breaks"), "checkpoint": status.get("checkpoint")}
        except ProblemError as err:
            projection = {"ok": False, "error": err.kind}
    ready = nats_ok and database["ok"] and projection["ok"]
    body = {"status": "ready" if ready else "not_ready", "nats": nats, "database": database,
            "projection": projection}
    supervised = read_status()
    if supervised is not None:  # under `ledger up`: a service being restarted makes the stack not ready
        body["services"] = {name: s.model_dump() for name, s in supervised.items()}
        ready = ready and all(s.state == "running" for s in supervised.values())
        body["status"] = "ready" if ready else "not_ready"
    return JSONResponse(body, status_code=200 if ready else 503, headers=None if ready else answer_headers(503, None))


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics() -> PlainTextResponse:
    """Request counts and latencies, facts accepted and refused (Prometheus text format)."""
    return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")
