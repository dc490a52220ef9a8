"""Input bounds: how much a client may send, how deep it may nest, which instants it may ask about.

Closed by default: a request body is counted while it is read, before anything parses it and
before the API key is looked up, so an unauthenticated client cannot make the gateway hold more
than the limit. Nesting is bounded because a parser (and everything after it) recurses per level;
``as_of`` is bounded because an instant outside the calendar the rules know overflows arithmetic.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

from ledger_contracts.formats import MAX_DATE, MIN_DATE
from ledger_kernel.clock import SHANGHAI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_gateway.problems import MEDIA_TYPE, ProblemError, problem_body

MAX_BODY_BYTES = 1_048_576  # 1 MiB: one fact (at most 1,000,000 bytes, ledger_contracts), a subscription
MAX_BATCH_BODY_BYTES = 16_777_216  # 16 MiB: 10,000 facts of ~300 bytes are ~3.5 MB; room for long texts
MAX_JSON_DEPTH = 32  # nested arrays/objects in one fact (a fact's payload is three or four levels deep)
BATCH_PATHS = frozenset({"/v1/facts:batch", "/app/import"})  # bulk: a batch, or a file uploaded to the console
EARLIEST = datetime.combine(MIN_DATE, time.min, tzinfo=SHANGHAI)
LATEST = datetime.combine(MAX_DATE, time.max, tzinfo=SHANGHAI)


def too_large_detail(limit: int) -> str:
    return (f"the request body may be at most {limit} bytes on this path; split it "
            f"请求体最大 {limit} 字节，请拆分后重试")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes its limit: an HTTPException, so FastAPI's body
    parsing lets it through to the problem handlers (413); :class:`BodyLimit` answers it otherwise."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))
        self.limit = limit


class BodyLimit:
    """Refuse a body over the path's limit with a 413 problem, counting bytes as they arrive.

    A declared ``Content-Length`` over the limit is answered before a byte is read; a chunked body
    is read until it passes the limit. Plain ASGI (like ``Measured``): no buffering of its own.
    Limits are read from the gateway's state on each request (``GatewayState.max_body_bytes`` and
    ``max_batch_body_bytes``, from ``LEDGER_MAX_BODY_BYTES`` / ``LEDGER_MAX_BATCH_BODY_BYTES``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def limit_for(scope: Scope) -> int:
        state = scope["app"].state.gateway
        return state.max_batch_body_bytes if scope["path"] in BATCH_PATHS else state.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            await self._refuse(scope, send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        body = json.dumps(problem_body("payload-too-large", too_large_detail(limit), scope["path"],
                                       limit_bytes=limit), ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def too_deep(limit: int = MAX_JSON_DEPTH) -> ProblemError:
    return ProblemError("malformed-request", f"the JSON nests deeper than {limit} levels JSON 嵌套超过 {limit} 层",
                        errors=[{"field": "", "code": "too_deep", "reason_en": f"at most {limit} nested levels",
                                 "reason_zh": f"最多 {limit} 层嵌套"}])


def depth_within(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if ``value`` nests at most ``limit`` arrays/objects deep (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> Any:
    """``value`` itself, or the 400 problem ``too_deep``."""
    if not depth_within(value, limit):
        raise too_deep(limit)
    return value


def check_instant(name: str, value: datetime | None) -> str | None:
    """An ``as_of``-like query parameter as a UTC ISO instant (a time without offset is Shanghai's), or a 422
    naming it outside the calendar facts may use (ledger_contracts: 1900-01-01 to 2100-12-31, China time).

    Compared as aware instants (no arithmetic that could overflow ``datetime``), so year 1 or 9999 with any
    offset is a 422, not a crash.
    """
    if value is None:
        return None
    if not EARLIEST <= (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)) <= LATEST:
        raise out_of_range(name, f"{MIN_DATE.isoformat()}…{MAX_DATE.isoformat()}")
    return (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(UTC).isoformat()


def check_date(name: str, value: date | None) -> date | None:
    """A date query parameter within the calendar facts may use, or a 422 naming it."""
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise out_of_range(name, f"{MIN_DATE.isoformat()}…{MAX_DATE.isoformat()}")
    return value


def out_of_range(name: str, allowed: str) -> ProblemError:
    return ProblemError("invalid-request", f"{name} must lie within {allowed} {name} 必须在 {allowed} 之间",
                        errors=[{"field": f"query.{name}", "code": "out_of_range",
                                 "reason_en": f"between {allowed} (Asia/Shanghai)",
                                 "reason_zh": f"须在 {allowed} 之间（上海时间）"}])
