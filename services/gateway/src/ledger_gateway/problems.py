"""Errors as RFC 9457 problem documents: one stable ``type`` URI per kind of error.

Clients branch on ``type`` (or ``code``), people read ``title``/``detail`` in English
and ``title_zh``/``detail_zh`` in Chinese. No stack trace or internal name ever
leaves the gateway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://ledger.example/problems/"
MEDIA_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER = 2  # seconds: a busy SQLite file or a PostgreSQL fail-over
UNAVAILABLE_RETRY_AFTER = 5  # seconds: a service restarting, the bus reconnecting


@dataclass(frozen=True)
class Kind:
    status: int
    title: str
    title_zh: str


KINDS: dict[str, Kind] = {
    "malformed-request": Kind(400, "Malformed request", "请求格式错误"),
    "unauthorized": Kind(401, "Missing or invalid API key", "缺少或无效的 API 密钥"),
    "forbidden": Kind(403, "The API key lacks the scope for this operation", "API 密钥没有此操作的权限"),
    "not-found": Kind(404, "Not found", "未找到"),
    "method-not-allowed": Kind(405, "Method not allowed", "不支持该请求方法"),
    "conflict": Kind(409, "Conflict", "冲突"),
    "invariant-violated": Kind(409, "The fact breaks an invariant of its aggregate", "该事实违反其聚合的约束"),
    "subscription-inactive": Kind(409, "The subscription is no longer active", "订阅已停用"),
    "sequence-mismatch": Kind(412, "The aggregate has changed (If-Match no longer holds)", "聚合已变更（If-Match 不成立）"),
    "payload-too-large": Kind(413, "The request is too large", "请求过大"),
    "unsupported-media-type": Kind(415, "Unsupported media type", "不支持的内容类型"),
    "invalid-fact": Kind(422, "The fact is not valid", "事实内容无效"),
    "invalid-request": Kind(422, "Invalid request parameters", "请求参数无效"),
    "idempotency-key-reused": Kind(422, "The Idempotency-Key was used for a different request",
                                   "该幂等键已用于不同的请求"),
    "cursor-ahead": Kind(422, "The cursor is beyond the end of the change feed", "游标超出变更流末尾"),
    "invalid-subscription": Kind(422, "The subscription is not valid", "订阅内容无效"),
    "internal-error": Kind(500, "Internal error", "内部错误"),
    "unavailable": Kind(503, "Temporarily unavailable; retry with the same Idempotency-Key",
                        "服务暂不可用；请使用相同的幂等键重试"),
}

# service reply codes (docs/internal-protocol.md) → problem kinds
SERVICE_CODES = {
    "malformed_request": "invalid-fact",
    "invalid_fact": "invalid-fact",
    "invariant_violated": "invariant-violated",
    "sequence_mismatch": "sequence-mismatch",
    "idempotency_key_reused": "idempotency-key-reused",
    "not_found": "not-found",
    "invalid_query": "invalid-request",
    "cursor_ahead": "cursor-ahead",
    "unavailable": "unavailable",
    "deadline_exceeded": "unavailable",
}


def type_uri(kind: str) -> str:
    return PROBLEM_BASE + kind


class FieldProblem(BaseModel):
    """One offending field: a dotted path from the request's root (``data.expires_on``, ``query.page_size``)."""

    model_config = ConfigDict(extra="allow")
    field: str = Field(description="Dotted path of the offending field; empty for the whole fact.")
    code: str = Field(description="Stable machine code of the reason.")
    reason_en: str | None = None
    reason_zh: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "type": "https://ledger.example/problems/invalid-fact", "title": "The fact is not valid",
        "status": 422, "detail": "1 field is invalid", "instance": "/v1/facts", "code": "invalid-fact",
        "title_zh": "事实内容无效",
        "errors": [{"field": "data.expires_on", "code": "not_after_issue",
                    "reason_en": "expires_on must be after issued_on", "reason_zh": "到期日必须晚于发证日"}]}})
    type: str = Field(description="Stable URI of the kind of error, e.g. https://ledger.example/problems/invalid-fact")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="The last segment of `type`, for programs that prefer a short code.")
    title_zh: str | None = None
    errors: list[FieldProblem] | None = Field(default=None, description="The offending fields (validation errors).")


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(self, kind: str, detail: str | None = None, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail or kind)
        if kind not in KINDS:
            kind = "internal-error"
        self.kind = kind
        self.detail = detail
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(self.kind, self.detail, instance, **self.extra)


def problem_body(kind: str, detail: str | None = None, instance: str | None = None, **extra: Any) -> dict[str, Any]:
    k = KINDS[kind]
    body: dict[str, Any] = {"type": type_uri(kind), "title": k.title, "status": k.status, "code": kind,
                            "title_zh": k.title_zh}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def answer_headers(status: int, headers: dict[str, str] | None) -> dict[str, str] | None:
    """Every 503 says when to come back (``Retry-After``): a client should not hammer a restarting stack."""
    if status != 503 or (headers and "Retry-After" in headers):
        return headers
    return {**(headers or {}), "Retry-After": str(UNAVAILABLE_RETRY_AFTER)}


def problem_response(kind: str, detail: str | None = None, instance: str | None = None, *,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    status = KINDS[kind].status
    return JSONResponse(problem_body(kind, detail, instance, **extra), status_code=status,
                        media_type=MEDIA_TYPE, headers=answer_headers(status, headers))


def from_service(reply: dict[str, Any]) -> ProblemError:
    """A refusal reply of a domain service or the projector, as a problem (internals dropped)."""
    code = str(reply.get("code") or "")
    kind = SERVICE_CODES.get(code)
    if kind is None:
        log.warning("unexpected refusal code %r (status %r) from a service", code, reply.get("status"))
        kind = "internal-error"
    extra: dict[str, Any] = {}
    if isinstance(reply.get("errors"), list):
        extra["errors"] = [e for e in reply["errors"] if isinstance(e, dict)]
    for key in ("expected", "actual"):
        if key in reply:
            extra[key] = reply[key]
    detail = reply.get("detail") if kind != "internal-error" else None
    return ProblemError(kind, str(detail) if detail else None, **extra)


def _field_of(loc: tuple | list) -> str:
    return ".".join(str(p) for p in loc)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        out.append({"field": _field_of(err.get("loc", ())), "code": str(err.get("type", "invalid")),
                    "reason_en": str(ctx.get("reason_en") or err.get("msg", "invalid value")),
                    "reason_zh": str(ctx.get("reason_zh") or "取值无效")})
    return out


def install(app: FastAPI) -> None:
    """Every error the app can produce — ours, FastAPI's validation, Starlette's 404/405, crashes — as a problem."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        status = KINDS[exc.kind].status
        return JSONResponse(exc.body(request.url.path), status_code=status, media_type=MEDIA_TYPE,
                            headers=answer_headers(status, exc.headers))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        return problem_response("invalid-request", f"{len(errors)} parameter(s) invalid; see errors",
                                request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {400: "malformed-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 413: "payload-too-large", 415: "unsupported-media-type"}.get(
                    exc.status_code, "internal-error" if exc.status_code >= 500 else "malformed-request")
        detail = None if kind == "not-found" else (exc.detail if isinstance(exc.detail, str) else None)
        if kind == "not-found":
            detail = "no such resource 资源不存在"
        return problem_response(kind, detail, request.url.path, headers=getattr(exc, "headers", None),
                                limit_bytes=getattr(exc, "limit", None))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database is unreachable, closed or busy past its timeout: nothing was changed, so say retry.

        A transaction that failed was rolled back, and an answer not saved leaves the Idempotency-Key's
        reservation (and so its command id) in place: the retry cannot make a second event. The log
        names the driver's error class only; its message may quote SQL parameters (a key's hash).
        """
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            return await _crash(request, exc)
        log.warning("database unavailable (%s) on %s %s", type(exc.orig).__name__, request.method,
                    request.url.path)
        return problem_response("unavailable", "the database is unavailable or busy; retry in a few seconds "
                                "(with the same Idempotency-Key) / 数据库暂不可用或繁忙，请稍后重试（使用相同的幂等键）",
                                request.url.path, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return problem_response("internal-error", "an internal error occurred; it has been logged",
                                request.url.path)
