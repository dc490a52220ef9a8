"""Bearer API keys → a principal with a tenant and scopes (read, write, admin)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ledger_gateway.context import state_of
from ledger_gateway.problems import ProblemError
from ledger_gateway.tenancy import Principal, authenticate

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                    description="An API key `lk_…` (`ledger tenant create` / `ledger key create`).")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ledger"'}


def require(scope: str) -> Callable:
    """A dependency admitting keys that hold ``scope`` (admin holds every scope)."""

    async def principal(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise ProblemError("unauthorized", "send Authorization: Bearer <api key> 请提供 API 密钥",
                               headers=CHALLENGE)
        who = await run_in_threadpool(authenticate, state_of(request).engine, credentials.credentials)
        if who is None:
            raise ProblemError("unauthorized", "unknown or revoked API key 密钥无效或已吊销", headers=CHALLENGE)
        if not who.may(scope):
            raise ProblemError("forbidden", f"this key lacks the {scope!r} scope 该密钥缺少 {scope} 权限")
        request.state.principal = who
        return who

    return principal


reader = require("read")
writer = require("write")
admin = require("admin")
