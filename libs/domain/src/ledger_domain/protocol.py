"""The wire shapes of ``cmd.<service>`` (docs/internal-protocol.md): the request and every reply.

A request is parsed with the envelope models of :mod:`ledger_domain.schema`, the very
models the AsyncAPI document publishes (one wire contract); their validation errors
become the bilingual field problems of a structured 400, so a caller always learns
which field is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger_contracts import strict_json
from ledger_contracts.errors import FactRejected
from ledger_kernel import deadline as deadlines
from ledger_kernel.aggregate import Refused
from ledger_kernel.repository import Conflict, Recorded
from pydantic import ValidationError

from ledger_domain.schema import (
    MAX_ITEMS,
    MAX_TENANT,
    MAX_TEXT,
    BatchEnvelope,
    ItemEnvelope,
    RequestEnvelope,
)

MAX_REQUEST_BYTES = 1_100_000  # a fact may be 1 MB (ledger_contracts.fact.MAX_FACT_BYTES) plus the envelope
MAX_BATCH_BYTES = 8_000_000  # the embedded nats-server's max_payload
ITEM_FIELDS = ("fact", "command_id", "expected_sequence", "actor", "correlation_id", "causation_id")
REQUEST_FIELDS = ("tenant", *ITEM_FIELDS)
BATCH_FIELDS = ("tenant", "items", "actor", "correlation_id", "causation_id")
TRACE_FIELDS = ("actor", "correlation_id", "causation_id")


@dataclass(frozen=True, slots=True)
class FactRequest:
    """One ``cmd.<service>`` request whose envelope is well formed (the fact itself is not judged yet)."""

    tenant: str
    fact: dict[str, Any]
    command_id: str | None = None
    expected_sequence: int | None = None
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """Many facts of one tenant in one request; ``items`` holds a request or the problem of each item."""

    tenant: str
    items: tuple[FactRequest | Problem, ...]


def field_error(field: str, code: str, reason_en: str, reason_zh: str) -> dict[str, str]:
    return {"field": field, "code": code, "reason_en": reason_en, "reason_zh": reason_zh}


@dataclass
class Problem(Exception):
    """A refusal, ready to be sent as the reply; nothing was appended."""

    status: int
    code: str
    title: str
    title_zh: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, f"{self.status} {self.code}: {self.detail}")

    def reply(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "status": self.status, "code": self.code, "title": self.title,
                               "title_zh": self.title_zh, "detail": self.detail, "errors": self.errors}
        out.update(self.extra)
        return out


# --- the request -------------------------------------------------------------------------


def malformed(errors: list[dict[str, str]], detail: str = "the request is not the shape of cmd.<service>") -> Problem:
    return Problem(400, "malformed_request", "Malformed request", "请求格式错误", detail, errors)


_TEXT_RULE = (f"must be 1-{MAX_TEXT} characters without control characters, or null",
              f"必须是 1-{MAX_TEXT} 个不含控制字符的字符或 null")
# field → (code, reason in English, reason in Chinese): the problem a wrong value of the field gets
_FIELD_PROBLEMS: dict[str, tuple[str, str, str]] = {
    "tenant": ("invalid_tenant", f"tenant must be 1-{MAX_TENANT} characters of [A-Za-z0-9_-]",
               f"tenant 必须是 1-{MAX_TENANT} 个 [A-Za-z0-9_-] 字符"),
    "fact": ("not_an_object", "fact must be a JSON object (type, company, effective_date, data)",
             "fact 必须是 JSON 对象（type、company、effective_date、data）"),
    "expected_sequence": ("invalid_sequence", "expected_sequence must be a non-negative integer below 2^64 or null",
                          "expected_sequence 必须是小于 2^64 的非负整数或 null"),
    "items": ("invalid_items", f"items must be a list of 1-{MAX_ITEMS} requests",
              f"items 必须是包含 1-{MAX_ITEMS} 条请求的列表"),
    **{name: ("invalid_text", f"{name} {_TEXT_RULE[0]}", f"{name} {_TEXT_RULE[1]}")
       for name in ("command_id", *TRACE_FIELDS)},
}


def field_problems(exc: ValidationError, allowed: tuple[str, ...], prefix: str = "") -> list[dict[str, str]]:
    """The model's validation errors as field problems: one per field, in the order of ``allowed``, unknown last."""
    known: dict[str, dict[str, str]] = {}
    unknown: list[dict[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            shown = name[:40]
            unknown.append(field_error(prefix + shown, "unknown_field", f"{shown!r} is not a field here "
                                       f"(fields: {', '.join(allowed)})", f"{shown!r} 不是此处的字段"))
        elif name in _FIELD_PROBLEMS and name not in known:
            known[name] = field_error(prefix + name, *_FIELD_PROBLEMS[name])
    return [known[name] for name in allowed if name in known] + unknown


def parse_request(raw: bytes | bytearray | str) -> FactRequest | BatchRequest:
    """The request's envelope, or a 400 :class:`Problem` naming every field that is wrong.

    A request with ``items`` is a batch; anything else is one fact.
    """
    if len(raw) > MAX_BATCH_BYTES:
        raise _too_large(MAX_BATCH_BYTES)
    try:
        obj = strict_json.loads(raw)
    except strict_json.DuplicateKey as dup:
        key = dup.key[:40]
        raise malformed([field_error("", "duplicate_key", f"the key {key!r} appears twice in one object",
                                     f"同一对象中键 {key!r} 出现了两次")], "the request is ambiguous") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise malformed([field_error("", "invalid_json", "the request is not a UTF-8 JSON document",
                                     "请求不是 UTF-8 编码的 JSON")], "the request is not JSON") from None
    if not isinstance(obj, dict):
        raise malformed([field_error("", "not_an_object", "the request must be a JSON object",
                                     "请求必须是 JSON 对象")])
    if "items" in obj:
        return _batch(obj)
    if len(raw) > MAX_REQUEST_BYTES:
        raise _too_large(MAX_REQUEST_BYTES)
    try:
        envelope = RequestEnvelope.model_validate(obj)
    except ValidationError as exc:
        raise malformed(field_problems(exc, REQUEST_FIELDS)) from None
    return _request(envelope, envelope.tenant, {})


def parse_deadline(headers: Mapping[str, str] | None) -> float | None:
    """The request's ``Ledger-Deadline`` header as a timestamp, None without one, a 400 if unreadable."""
    value = (headers or {}).get(deadlines.HEADER)
    if value is None:
        return None
    try:
        return deadlines.parse(value)
    except ValueError:
        raise malformed([field_error(f"header.{deadlines.HEADER}", "invalid_deadline",
                                     "the deadline must be an ISO 8601 instant with an offset, e.g. "
                                     "2026-11-23T01:00:15.000Z", "截止时间必须是带时区的 ISO 8601 时刻")],
                        "the request's deadline is unreadable") from None


def _too_large(limit: int) -> Problem:
    return malformed([field_error("", "too_large", f"this request may be at most {limit} bytes",
                                 f"此请求最大 {limit} 字节")], "the request is too large")


def _request(item: ItemEnvelope, tenant: str, defaults: dict[str, str | None]) -> FactRequest:
    return FactRequest(tenant=tenant, fact=item.fact, command_id=item.command_id,
                       expected_sequence=item.expected_sequence,
                       **{name: getattr(item, name) or defaults.get(name) for name in TRACE_FIELDS})


def _batch(obj: dict[str, Any]) -> BatchRequest:
    """``{"tenant", "items": [{fact, command_id, expected_sequence, …}, …], actor, …}``.

    The envelope must be right (400 otherwise); a wrong item only refuses that item.
    """
    try:
        envelope = BatchEnvelope.model_validate(obj)
    except ValidationError as exc:
        raise malformed(field_problems(exc, BATCH_FIELDS)) from None
    defaults = {name: getattr(envelope, name) for name in TRACE_FIELDS}
    parsed: list[FactRequest | Problem] = []
    for index, item in enumerate(envelope.items):
        if not isinstance(item, dict):
            parsed.append(malformed([field_error(f"items.{index}", "not_an_object", "each item must be a JSON object",
                                                 "每一项必须是 JSON 对象")], "the item is not the shape of a fact request"))
            continue
        try:
            parsed.append(_request(ItemEnvelope.model_validate(item), envelope.tenant, defaults))
        except ValidationError as exc:
            parsed.append(malformed(field_problems(exc, ITEM_FIELDS, f"items.{index}."),
                                    "the item is not the shape of a fact request"))
    return BatchRequest(tenant=envelope.tenant, items=tuple(parsed))


# --- replies ---------------------------------------------------------------------------------


def recorded(result: Recorded) -> dict[str, Any]:
    return {"ok": True, **result.as_dict()}


def invalid_fact(rejected: FactRejected) -> Problem:
    errors = rejected.as_dicts()
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(422, "invalid_fact", "Invalid fact", "事实格式错误",
                   f"{first['field'] or 'fact'}: {first['reason_en']}{more}", errors)


def invariant_violated(refused: Refused) -> Problem:
    return Problem(409, "invariant_violated", "The fact breaks an invariant of its aggregate",
                   "该事实违反其聚合的不变量", refused.reason_en, [refused.as_dict()])


def sequence_mismatch(conflict: Conflict) -> Problem:
    return Problem(412, "sequence_mismatch", "The aggregate has moved on", "聚合已被更新",
                   f"expected aggregate sequence {conflict.expected}, found {conflict.actual}",
                   [field_error("expected_sequence", "sequence_mismatch",
                                f"the aggregate is at sequence {conflict.actual}, not {conflict.expected}",
                                f"聚合当前序号为 {conflict.actual}，而非 {conflict.expected}")],
                   {"expected": conflict.expected, "actual": conflict.actual})


def idempotency_key_reused(detail: str) -> Problem:
    return Problem(422, "idempotency_key_reused", "The command id was used for a different fact",
                   "该命令编号已用于另一条事实", detail,
                   [field_error("command_id", "idempotency_key_reused",
                                "this command id (Idempotency-Key) was already used for a different fact",
                                "该幂等键已用于另一条不同的事实")])


def wrong_service(service: str, fact_type: str, owner: str) -> Problem:
    return Problem(421, "wrong_service", "The fact belongs to another service", "该事实属于其他服务",
                   f"{fact_type} is recorded by cmd.{owner}, not cmd.{service}",
                   [field_error("type", "wrong_service", f"{fact_type} is owned by the {owner} service",
                                f"{fact_type} 由 {owner} 服务记录")], {"service": owner})


def unavailable(detail: str) -> Problem:
    return Problem(503, "unavailable", "The ledger did not acknowledge; retry with the same command id",
                   "账本未确认写入，请使用相同的命令编号重试", detail)


def deadline_exceeded() -> Problem:
    """The requester stopped waiting before this request was recorded (it was delayed on the way)."""
    return Problem(503, "deadline_exceeded", "The request arrived after its deadline; nothing was recorded",
                   "请求在截止时间之后才到达，未记录任何内容",
                   "the requester has stopped waiting for this command; it was not recorded, retry it with "
                   "the same command id")


def internal_error(detail: str) -> Problem:
    return Problem(500, "internal_error", "The service failed to record the fact", "服务记录事实失败", detail)
