"""The gateway's side of docs/internal-protocol.md: commands to the owning service, queries to the projector.

Nothing here decides anything about a fact; it routes it by the catalogue's owner
and turns the reply, or the silence, into an answer or a problem.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ledger_contracts.catalogue import CATALOGUE
from ledger_kernel import deadline as deadlines
from ledger_kernel.telemetry import inject_headers, tracer
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import MaxPayloadError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry.trace import SpanKind

from ledger_gateway.problems import ProblemError, from_service

log = logging.getLogger(__name__)
_tracer = tracer("ledger.gateway")


def owner_of(fact_type: Any) -> str | None:
    spec = CATALOGUE.get(fact_type) if isinstance(fact_type, str) else None
    return None if spec is None else str(getattr(spec.owner, "value", spec.owner))


def encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON for the bus; text with no UTF-8 form (a lone surrogate) is a malformed request."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a client's JSON: it has no UTF-8 form
        raise ProblemError("malformed-request", "the request holds text that is not valid Unicode "
                                                "请求包含无效的 Unicode 文本") from None


class Bus:
    """NATS request/reply with the stack's services."""

    def __init__(self, nc: Client, *, command_timeout: float = 15.0, query_timeout: float = 10.0,
                 batch_timeout: float = 60.0) -> None:
        self.nc = nc
        self.command_timeout = command_timeout
        self.batch_timeout = batch_timeout
        self.query_timeout = query_timeout

    async def request(self, subject: str, payload: dict[str, Any], wait: float, *,
                      deadline: bool = False) -> dict[str, Any]:
        return await self.request_bytes(subject, encode(payload), wait, deadline=deadline)

    async def request_bytes(self, subject: str, data: bytes, wait: float, *, deadline: bool = False) -> dict[str, Any]:
        """Send an already encoded request (a batch is encoded item by item, once).

        A command carries its deadline (``Ledger-Deadline``, ledger_kernel.deadline): nats-py buffers a
        request while it reconnects and may deliver it after this wait is over, when the caller has been
        told 503; the service then refuses it rather than record it behind the caller's back.
        """
        try:
            with _tracer.start_as_current_span(f"{subject} request", kind=SpanKind.CLIENT,
                                               attributes={"messaging.destination.name": subject}):
                headers = inject_headers({deadlines.HEADER: deadlines.stamp(wait)} if deadline else None)
                msg = await self.nc.request(subject, data, timeout=wait, headers=headers)
        except NoRespondersError:
            raise ProblemError("unavailable", f"no service answers {subject.split('.')[0]} requests right now; "
                                              "retry shortly 服务暂不可用，请稍后重试") from None
        except (NatsTimeout, TimeoutError):
            raise ProblemError("unavailable", "the service did not answer in time; retry with the same "
                                              "Idempotency-Key 服务超时，请使用相同幂等键重试") from None
        except MaxPayloadError:  # measured by the callers first; a server with a smaller limit than announced
            raise ProblemError("invalid-fact", "the request is too large for one message on the bus "
                                               "请求过大，超出消息总线的单条消息上限",
                               errors=[{"field": "", "code": "too_large", "reason_en": "too large for one message",
                                        "reason_zh": "超出单条消息上限"}]) from None
        except NatsError as exc:  # connection closed or draining (a restart): the caller may retry
            log.warning("request on %s failed: %s", subject, type(exc).__name__)
            raise ProblemError("unavailable", "the message bus is unavailable right now; retry shortly "
                                              "消息总线暂不可用，请稍后重试") from None
        try:
            reply = json.loads(msg.data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            log.error("a reply on %s is not a JSON object", subject)
            raise ProblemError("internal-error", "a service answered with something unreadable")
        return reply

    async def command(self, service: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The reply of ``cmd.<service>``: ``{"ok": true, …}`` or a refusal (not raised: batches keep going)."""
        return await self.command_bytes(service, encode(payload))

    async def command_bytes(self, service: str, data: bytes) -> dict[str, Any]:
        """:meth:`command` of an encoded request (the caller measured it against ``max_payload``)."""
        return await self.request_bytes(f"cmd.{service}", data, self.command_timeout, deadline=True)

    async def command_batch(self, service: str, data: bytes) -> dict[str, Any]:
        """The reply of a batch on ``cmd.<service>`` (``{"ok": true, "results": […]}`` or a refusal, not raised).

        A batch of up to 1000 facts takes longer than one fact, so it gets a longer wait.
        """
        return await self.request_bytes(f"cmd.{service}", data, self.batch_timeout, deadline=True)

    @property
    def max_payload(self) -> int:
        """The largest message the server takes (the embedded one: 8 MB; a stock server: 1 MB)."""
        return int(getattr(self.nc, "max_payload", 0) or 1_048_576)

    async def query(self, subject: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A successful query reply (``ok`` true), else the refusal raised as a problem."""
        reply = await self.request(subject, payload, self.query_timeout)
        if reply.get("ok") is not True:
            raise from_service(reply)
        return reply
