"""Writes: ``POST /v1/facts`` (one fact) and ``POST /v1/facts:batch`` (the bulk-import path).

The gateway checks only what it needs to route (a JSON object with a known ``type``);
the owning service judges the fact. Batches go to the services in their batch form
(one round trip per thousand facts, not per fact) and are answered in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from ledger_contracts import strict_json
from ledger_kernel.canonical import canonical_json, sha256_hex
from starlette.concurrency import run_in_threadpool

from ledger_gateway import idempotency
from ledger_gateway.auth import writer
from ledger_gateway.bounds import MAX_JSON_DEPTH, check_depth, too_deep
from ledger_gateway.bus import encode, owner_of
from ledger_gateway.context import GatewayState, state_of
from ledger_gateway.models import BatchResponse, Recorded
from ledger_gateway.openapi_docs import BATCH_ITEM_REF, FACT_REF, problem_responses
from ledger_gateway.problems import KINDS, ProblemError, from_service, problem_body
from ledger_gateway.tenancy import Principal

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["facts"])
MAX_BATCH_ITEMS = 1000  # facts in one cmd.<service> batch (docs/internal-protocol.md)
MAX_BATCH_BYTES = 8_000_000  # what a service reads in one batch request
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
RECORDED_FIELDS = ("event_id", "type", "aggregate", "aggregate_id", "sequence", "ledger_sequence")


def loads(data: bytes | str, depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON (RFC 8259): NaN, Infinity and lone surrogates (no UTF-8 form) are refused as not JSON;
    nesting deeper than ``depth`` is the 400 problem ``too_deep`` (never the parser's RecursionError); an
    object naming one key twice is the 400 problem ``duplicate_key`` — a fact that says two effective dates
    is ambiguous, and recording the last one would be a guess."""
    try:
        value = check_depth(strict_json.loads(data), depth)
    except RecursionError:
        raise too_deep(depth) from None
    except strict_json.DuplicateKey as dup:
        raise duplicate_key(dup.key) from None
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError is a ValueError
    return value


def duplicate_key(key: str) -> ProblemError:
    shown = key[:40]
    return ProblemError("malformed-request", f"the key {shown!r} appears twice in one object 同一对象中键 {shown!r} 出现两次",
                        errors=[_field_error(shown, "duplicate_key", f"the key {shown!r} appears twice in one object",
                                             f"同一对象中键 {shown!r} 出现两次")])


def _field_error(field: str, code: str, en: str, zh: str) -> dict[str, str]:
    return {"field": field, "code": code, "reason_en": en, "reason_zh": zh}


def route(fact: Any) -> str:
    """The owning service of a fact, or an invalid-fact problem naming the field that prevents routing."""
    if not isinstance(fact, dict):
        raise ProblemError("invalid-fact", "a fact is a JSON object 事实必须是 JSON 对象",
                           errors=[_field_error("", "not_an_object", "a fact must be a JSON object",
                                                "事实必须是 JSON 对象")])
    owner = owner_of(fact.get("type"))
    if owner is None:
        shown = str(fact.get("type"))[:60]
        raise ProblemError("invalid-fact", f"unknown fact type {shown!r} 未知的事实类型",
                           errors=[_field_error("type", "unknown_type",
                                                f"{shown!r} is not a fact type of the catalogue",
                                                f"{shown!r} 不是目录中的事实类型")])
    return owner


def command_payload(who: Principal, fact: dict[str, Any], command_id: str, expected: int | None,
                    correlation_id: str) -> dict[str, Any]:
    return {"tenant": who.tenant, "fact": fact, "command_id": command_id, "expected_sequence": expected,
            "actor": f"key:{who.key_id}", "correlation_id": correlation_id, "causation_id": None}


def recorded(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: reply.get(k) for k in RECORDED_FIELDS}


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not (0 < len(text) <= 18 and text.isascii() and text.isdigit()):  # "²".isdigit() is True
        raise ProblemError("invalid-request", 'If-Match must be an aggregate sequence, e.g. "3" '
                                              'If-Match 必须是聚合序号',
                           errors=[_field_error("header.If-Match", "not_a_sequence",
                                                'expected a quoted aggregate sequence such as "3"',
                                                '应为带引号的聚合序号，例如 "3"')])
    return int(text)


KEY_RULE_EN = "1-255 visible ASCII characters (! to ~, no spaces)"
KEY_RULE_ZH = "1-255 个可见 ASCII 字符（! 至 ~，不含空格）"


def check_key(key: str | None, field: str) -> None:
    if key is not None and not idempotency.valid_key(key):
        raise ProblemError("invalid-request", f"the idempotency key must be {KEY_RULE_EN} 幂等键必须是{KEY_RULE_ZH}",
                           errors=[_field_error(field, "invalid_idempotency_key", KEY_RULE_EN, KEY_RULE_ZH)])


def too_large(limit: int) -> ProblemError:
    """A fact that can never fit in one bus message: 422, not a 503 that invites a retry."""
    return ProblemError("invalid-fact", "the fact is too large for one message 事实过大",
                        errors=[_field_error("", "too_large", f"a fact may be at most about {limit} bytes",
                                             f"单条事实最大约 {limit} 字节")])


async def read_json(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        raise ProblemError("malformed-request", "the request body is empty 请求体为空")
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ProblemError("malformed-request", "the request body is not valid JSON 请求体不是有效的 JSON") from None


def _correlation(request: Request) -> str:
    given = request.headers.get("x-correlation-id", "")
    return given if 0 < len(given) <= 100 and given.isprintable() else str(uuid.uuid4())


def _success_headers(event: dict[str, Any], replayed: bool) -> dict[str, str]:
    headers = {"ETag": f'"{event["sequence"]}"', "Ledger-Sequence": str(event["ledger_sequence"])}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


@router.post(
    "/facts", status_code=201, response_model=Recorded, summary="Record one fact",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": FACT_REF}}}},
    responses={201: {"description": "Recorded as exactly one event.", "headers": {
        "ETag": {"description": "The aggregate sequence, for If-Match.", "schema": {"type": "string"}},
        "Ledger-Sequence": {"description": "The LEDGER sequence, for min_sequence.", "schema": {"type": "string"}},
        "Idempotent-Replayed": {"description": "`true` when an earlier answer is repeated.",
                                "schema": {"type": "string"}}}},
               **problem_responses(400, 401, 403, 409, 412, 413, 422, 503)},
)
async def record_fact(
    request: Request,
    who: Principal = Depends(writer),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255, pattern=idempotency.KEY_PATTERN,
                                         description="Same key + same body → same answer, never a second event; "
                                                     "remembered for a limited window (see the API's policy)."),
    if_match: str | None = Header(None, alias="If-Match", max_length=40,
                                  description='The aggregate sequence you expect, e.g. "3" (412 if it changed).'),
) -> JSONResponse:
    """Record one fact: the owning service checks it and appends exactly one event (201), or refuses it
    (422 invalid shape, 409 broken invariant, 412 stale If-Match). 记录一条事实。"""
    gw = state_of(request)
    check_key(idempotency_key, "header.Idempotency-Key")
    expected = parse_if_match(if_match)
    fact = await read_json(request)
    digest = idempotency.body_hash(fact) if idempotency_key else ""
    command_id = str(uuid.uuid4())  # without a key the request is one of its own
    if idempotency_key:
        held = (await run_in_threadpool(idempotency.reserve, gw.engine, who.tenant, {idempotency_key: digest},
                                        now=gw.clock.now(), ttl=gw.idempotency_ttl))[idempotency_key]
        found = held.answer
        if found is not None:
            if found.body_sha256 != digest:
                raise ProblemError("idempotency-key-reused", "this Idempotency-Key was used with a different body "
                                                             "该幂等键已用于不同的请求体")
            return JSONResponse(found.response, status_code=found.status,
                                headers=_success_headers(found.response, True))
        command_id = held.command_id
    service = route(fact)
    data = encode(command_payload(who, fact, command_id, expected, _correlation(request)))
    if len(data) > gw.bus.max_payload - 1024:  # the deadline is added to the envelope
        raise too_large(gw.bus.max_payload - 1024)
    reply = await gw.bus.command_bytes(service, data)
    if reply.get("ok") is not True:
        raise from_service(reply)
    event = recorded(reply)
    if idempotency_key:
        await run_in_threadpool(idempotency.save, gw.engine, who.tenant,
                                [idempotency.Answer(idempotency_key, command_id, digest, 201, event)],
                                now=gw.clock.now())
    return JSONResponse(event, status_code=201, headers=_success_headers(event, bool(reply.get("duplicate"))))


def _parse_batch(request: Request, body: bytes) -> list[Any]:
    """The submitted items; an unreadable NDJSON line becomes a marker judged on its own."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type in NDJSON:
        items: list[Any] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                items.append(loads(line))
            except (ValueError, UnicodeDecodeError):
                items.append(_Unreadable(_NOT_JSON))
            except ProblemError as err:  # nested too deep, or a key twice: this line's own problem
                items.append(_Unreadable(err))
        return items
    if content_type not in ("application/json", ""):
        raise ProblemError("unsupported-media-type",
                           "send a JSON array (application/json) or NDJSON (application/x-ndjson) "
                           "请发送 JSON 数组或 NDJSON")
    try:
        parsed = loads(body, MAX_JSON_DEPTH + 1) if body.strip() else None  # the array, then each fact
    except (ValueError, UnicodeDecodeError):
        raise ProblemError("malformed-request", "the request body is not valid JSON 请求体不是有效的 JSON") from None
    if not isinstance(parsed, list):
        raise ProblemError("malformed-request", "a batch is a JSON array of facts 批量请求必须是事实数组")
    return parsed


class _Unreadable:
    """An NDJSON line that is not JSON, or nests too deep: judged as its own problem."""

    def __init__(self, problem: ProblemError) -> None:
        self.problem = problem


_NOT_JSON = ProblemError("invalid-fact", "this line is not valid JSON 该行不是有效的 JSON",
                         errors=[_field_error("", "not_json", "not valid JSON", "不是有效的 JSON")])


def _item_problem(index: int, err: ProblemError) -> dict[str, Any]:
    return {"index": index, "status": KINDS[err.kind].status, "ok": False,
            "problem": err.body(f"/v1/facts:batch#{index}")}


def batch_envelope(who: Principal, correlation_id: str) -> bytes:
    """The start of a ``cmd.<service>`` batch request, up to its items (docs/internal-protocol.md, Batches)."""
    head = encode({"tenant": who.tenant, "actor": f"key:{who.key_id}", "correlation_id": correlation_id,
                   "causation_id": None})
    return head[:-1] + b',"items":['


def split_lanes(encoded: list[tuple[int, bytes]], facts: list[Any], lanes: int) -> list[list[tuple[int, bytes]]]:
    """Share one service's items among at most ``lanes`` lanes sent side by side.

    A company's items all go to one lane, in request order: an aggregate belongs to one company,
    so facts about one aggregate are applied in the order given (an issuance before its renewal).
    """
    wanted = max(1, min(lanes, -(-len(encoded) // MAX_BATCH_ITEMS)))
    if wanted == 1:
        return [encoded] if encoded else []
    by_company: dict[str, list[tuple[int, bytes]]] = {}
    for entry in encoded:
        company = facts[entry[0]].get("company")
        by_company.setdefault(company if isinstance(company, str) else repr(company), []).append(entry)
    out: list[list[tuple[int, bytes]]] = [[] for _ in range(wanted)]
    for group in by_company.values():
        min(out, key=len).extend(group)
    for lane in out:
        lane.sort(key=lambda entry: entry[0])
    return [lane for lane in out if lane]


def chunked(lane: list[tuple[int, bytes]], limit: int) -> list[list[tuple[int, bytes]]]:
    """Consecutive chunks of at most 1000 items and ``limit`` bytes (each item fits on its own)."""
    chunks: list[list[tuple[int, bytes]]] = []
    current: list[tuple[int, bytes]] = []
    size = 0
    for entry in lane:
        if current and (len(current) >= MAX_BATCH_ITEMS or size + len(entry[1]) + 1 > limit):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += len(entry[1]) + 1
    if current:
        chunks.append(current)
    return chunks


async def run_batch(gw: GatewayState, who: Principal, items: list[Any], correlation_id: str) -> dict[str, Any]:
    """Judge every item on its own and answer in order.

    Items go to their owning services as ``cmd.<service>`` batches (up to 1000 facts each), the
    services side by side; within a service, chunks of different companies go side by side and a
    company's chunks one after another, so facts about one aggregate apply in the order given.
    """
    n = len(items)
    results: list[dict[str, Any] | None] = [None] * n
    facts: list[dict[str, Any] | None] = [None] * n
    keys: list[str | None] = [None] * n
    commands: list[str | None] = [None] * n  # the command id each fact is sent with
    digests: list[str] = [""] * n
    canonical: list[bytes | None] = [None] * n
    first_of: dict[str, int] = {}
    repeats: list[int] = []
    for i, item in enumerate(items):
        if isinstance(item, _Unreadable):
            results[i] = _item_problem(i, item.problem)
            continue
        if not isinstance(item, dict):
            try:
                route(item)
            except ProblemError as err:
                results[i] = _item_problem(i, err)
            continue
        key = item.get("idempotency_key")
        fact = {k: v for k, v in item.items() if k != "idempotency_key"}
        if key is not None and not (isinstance(key, str) and idempotency.valid_key(key)):
            results[i] = _item_problem(i, ProblemError(
                "invalid-fact", f"idempotency_key must be {KEY_RULE_EN}",
                errors=[_field_error("idempotency_key", "invalid_idempotency_key", KEY_RULE_EN, KEY_RULE_ZH)]))
            continue
        facts[i], keys[i] = fact, key
        if key is not None:
            canonical[i] = serialised = canonical_json(fact)  # hashed here, and sent as is (one serialisation)
            digests[i] = sha256_hex(serialised)  # = idempotency.body_hash(fact)
            if key in first_of:
                repeats.append(i)
                facts[i] = None
            else:
                first_of[key] = i
    held = await run_in_threadpool(idempotency.reserve, gw.engine, who.tenant,
                                   {key: digests[i] for key, i in first_of.items()},
                                   now=gw.clock.now(), ttl=gw.idempotency_ttl) if first_of else {}
    to_save: list[idempotency.Answer] = []
    by_service: dict[str, list[int]] = {}
    for i in range(n):
        submitted, key = facts[i], keys[i]
        if submitted is None:
            continue
        found = None
        if key is not None:
            commands[i] = held[key].command_id
            found = held[key].answer
        if found is not None:
            if found.body_sha256 != digests[i]:
                results[i] = _item_problem(i, ProblemError("idempotency-key-reused",
                                                           "this idempotency_key was used for a different fact "
                                                           "该幂等键已用于不同的事实"))
            else:
                results[i] = {"index": i, "status": found.status, "ok": True, "replayed": True,
                              "event": found.response}
            continue
        try:
            by_service.setdefault(route(submitted), []).append(i)
        except ProblemError as err:
            results[i] = _item_problem(i, err)

    def answer(i: int, reply: dict[str, Any]) -> None:
        if reply.get("ok") is not True:
            results[i] = _item_problem(i, from_service(reply))
            return
        event = recorded(reply)
        results[i] = {"index": i, "status": 201, "ok": True, "replayed": bool(reply.get("duplicate")),
                      "event": event}
        key, command_id = keys[i], commands[i]
        if key is not None and command_id is not None:  # a key's command id is the one it reserved
            to_save.append(idempotency.Answer(key, command_id, digests[i], 201, event))

    envelope = batch_envelope(who, correlation_id)
    limit = min(gw.bus.max_payload, MAX_BATCH_BYTES) - len(envelope) - 16
    lanes: list[tuple[str, list[tuple[int, bytes]]]] = []
    for service, indices in by_service.items():
        encoded: list[tuple[int, bytes]] = []
        for i in indices:
            try:
                fact_json = canonical[i] or encode(facts[i])
                item = b'{"fact":' + fact_json + b',"command_id":' + encode(commands[i] or str(uuid.uuid4())) + b"}"
            except ProblemError as err:
                results[i] = _item_problem(i, err)
                continue
            if len(item) > limit:
                results[i] = _item_problem(i, too_large(limit))
                continue
            encoded.append((i, item))
        lanes.extend((service, lane) for lane in split_lanes(encoded, facts, gw.batch_lanes))

    async def send(service: str, lane: list[tuple[int, bytes]]) -> None:
        """One lane's chunks one after another: a company's facts (so an aggregate's) keep their order."""
        for chunk in chunked(lane, limit):
            body = envelope + b",".join(item for _, item in chunk) + b"]}"
            try:
                reply = await gw.bus.command_batch(service, body)
                replies = reply.get("results") if reply.get("ok") is True else None
                if replies is None:
                    raise from_service(reply)
                if not isinstance(replies, list) or len(replies) != len(chunk):
                    log.error("cmd.%s answered %s results for %d items", service,
                              len(replies) if isinstance(replies, list) else "no", len(chunk))
                    raise ProblemError("internal-error", "a service answered a batch with the wrong number of results")
            except ProblemError as err:
                for i, _ in chunk:
                    results[i] = _item_problem(i, err)
                continue
            for (i, _), item_reply in zip(chunk, replies, strict=True):
                answer(i, item_reply if isinstance(item_reply, dict) else {"code": "internal_error"})

    await asyncio.gather(*(send(service, lane) for service, lane in lanes))
    for i in repeats:  # the same key again inside one batch: answer as its first occurrence was answered
        key = keys[i]
        assert key is not None  # a repeat is a key met before
        prior = results[first := first_of[key]]
        assert prior is not None
        if digests[i] != digests[first]:
            results[i] = _item_problem(i, ProblemError("idempotency-key-reused",
                                                       "this idempotency_key was used for a different fact "
                                                       "该幂等键已用于不同的事实"))
        else:
            replay = {**prior, "index": i, "replayed": bool(prior.get("ok"))}
            if not prior.get("ok"):
                replay["problem"] = {**prior["problem"], "instance": f"/v1/facts:batch#{i}"}
            results[i] = replay
    for i, key in enumerate(keys):
        if key is not None and (result := results[i]) is not None:
            result["idempotency_key"] = key
    if to_save:
        await run_in_threadpool(idempotency.save, gw.engine, who.tenant, to_save, now=gw.clock.now())
    accepted = sum(1 for r in results if r and r["ok"])
    return {"results": results, "accepted": accepted, "refused": n - accepted}


@router.post(
    "/facts:batch", response_model=BatchResponse, summary="Record many facts (bulk import)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": BATCH_ITEM_REF, "maxItems": 10000}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "One batch item (a fact with an "
                                            "optional idempotency_key) per line, at most 10,000 lines."}}}}},
    responses=problem_responses(400, 401, 403, 413, 415, 503),
)
async def record_batch(request: Request, who: Principal = Depends(writer)) -> JSONResponse:
    """Up to 10,000 facts (a JSON array, or NDJSON with `Content-Type: application/x-ndjson`), each judged on
    its own; each may carry its own `idempotency_key`, so re-running an import duplicates nothing. The answer
    holds one result per fact, in order. 批量记录事实。"""
    gw = state_of(request)
    items = _parse_batch(request, await request.body())
    if len(items) > gw.batch_limit:
        raise ProblemError("payload-too-large", f"{len(items)} facts; at most {gw.batch_limit} per request "
                                                f"每次最多 {gw.batch_limit} 条")
    return JSONResponse(await run_batch(gw, who, items, _correlation(request)))


__all__ = ["router", "problem_body"]
