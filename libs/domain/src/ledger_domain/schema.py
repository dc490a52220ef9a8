"""Typed models of the wire shapes: one wire contract for the parser and the AsyncAPI document.

A ``cmd.<service>`` request is parsed with the envelope models below
(:mod:`ledger_domain.protocol` maps their errors to the bilingual field
problems); the published models are the same envelopes with ``fact`` typed as
the service's fact models, so the document says exactly what the parser takes.
The fact itself is judged by ``ledger_contracts.validate_fact`` (it also needs
today's date, which no schema can say). Models are built once per process.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.fact import fact_model
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, create_model


class WireRequest(BaseModel):
    """Base of the per-service request models; carries the raw bytes and headers past faststream."""

    model_config = ConfigDict(extra="forbid")
    _raw: bytes = PrivateAttr(default=b"")
    _headers: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def carrying(cls, raw: bytes, headers: dict[str, str] | None) -> WireRequest:
        """An unvalidated instance that only transports the message to the handler."""
        obj = cls.model_construct()
        obj._raw = raw
        obj._headers = headers or {}
        return obj


def _title(service: str) -> str:
    return service[:1].upper() + service[1:]


def types_of(service: str) -> tuple[str, ...]:
    return tuple(t for t, spec in CATALOGUE.items() if spec.owner.value == service)


MAX_TEXT = 255  # command id, actor, correlation and causation ids
MAX_TENANT = 64
MAX_SEQUENCE = 2**64 - 1  # JetStream counts in unsigned 64 bits; no aggregate gets further
MAX_ITEMS = 1000  # facts in one batch request, so that the reply (a result per item, a refusal up to a few KB) fits
# in one message (8 MB); the gateway sends a larger HTTP batch as one request per service per 1000 facts
CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # a control character (C0, DEL, C1): never in an id
NOT_TOKEN = r"[^A-Za-z0-9_-]"  # a character a subject token may not hold


def _integral(value: Any) -> Any:
    """JSON does not tell 3 from 3.0 and JSON Schema calls both integers: so does the parser (not 3.5)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _none_of(forbidden: str, what: str) -> Any:
    """Refuse any character matching ``forbidden``, published as ``not: {pattern}``.

    An anchored pattern (``^[…]*$``) would mean different things to different validators: Python's
    ``$`` also matches before a final newline. An unanchored search means the same everywhere.
    """
    search = re.compile(forbidden).search

    def check(value: str) -> str:
        if search(value) is not None:
            raise ValueError(f"holds {what}")
        return value

    return AfterValidator(check)


Tenant = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_TENANT,
                              description="The tenant (a subject token: letters, digits, _ and -)",
                              json_schema_extra={"not": {"pattern": NOT_TOKEN}}),
                   _none_of(NOT_TOKEN, "a character outside [A-Za-z0-9_-]")]
Text = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_TEXT,
                            json_schema_extra={"not": {"pattern": CONTROL}}),
                 _none_of(CONTROL, "a control character")]
Sequence = Annotated[int, Field(strict=True, ge=0, le=MAX_SEQUENCE), BeforeValidator(_integral)]
RawFact = Annotated[dict[str, Any], Field(strict=True)]
FACT = "The fact: type, company, effective_date, data"


def _trace_fields() -> dict[str, Any]:
    """Who records a fact and why; a batch sets them for every item that does not set its own."""
    return {
        "actor": (Text | None, Field(default=None, description="Who records it (an opaque id)")),
        "correlation_id": (Text | None, Field(default=None, description="Correlation id")),
        "causation_id": (Text | None, Field(default=None, description="Causation id")),
    }


def _item_fields(fact: Any) -> dict[str, Any]:
    return {
        "fact": (fact, Field(description=FACT)),
        "command_id": (Text | None, Field(default=None, description=(
            "Idempotency key: the same id and fact never append twice"))),
        "expected_sequence": (Sequence | None, Field(default=None, description=(
            "Optimistic concurrency: the aggregate sequence the caller expects (0 for a new aggregate); "
            "a mismatch answers 412 sequence_mismatch"))),
        **_trace_fields(),
    }


_FORBID = ConfigDict(extra="forbid")
# The envelopes as parsed: the fact is any object (validate_fact judges it next), a batch's items anything (each
# is parsed on its own, so a wrong item refuses only itself). The published models below differ in nothing else.
if TYPE_CHECKING:
    # What a type checker sees of the envelopes built at run time below (create_model's result is only a
    # BaseModel to it): the same fields, their value types after validation.
    class _Traced(BaseModel):
        actor: str | None
        correlation_id: str | None
        causation_id: str | None

    class ItemEnvelope(_Traced):
        fact: dict[str, Any]
        command_id: str | None
        expected_sequence: int | None

    class RequestEnvelope(ItemEnvelope):
        tenant: str

    class BatchEnvelope(_Traced):
        tenant: str
        items: list[Any]
else:
    ItemEnvelope = create_model("ItemEnvelope", __config__=_FORBID, **_item_fields(RawFact))
    RequestEnvelope = create_model("RequestEnvelope", __config__=_FORBID, tenant=(Tenant, ...),
                                   **_item_fields(RawFact))
    BatchEnvelope = create_model("BatchEnvelope", __config__=_FORBID, tenant=(Tenant, ...),
                                 items=(list[Any], Field(strict=True, min_length=1, max_length=MAX_ITEMS)),
                                 **_trace_fields())


def _fact_union(service: str) -> Any:
    models = tuple(fact_model(t) for t in types_of(service))
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


@cache
def request_model(service: str) -> type[WireRequest]:
    """``cmd.<service>``'s request: one fact of the service's types."""
    return create_model(
        f"{_title(service)}FactRequest", __base__=WireRequest,
        __doc__=f"Record one fact owned by the {service} service (docs/internal-protocol.md).",
        tenant=(Tenant, ...), **_item_fields(_fact_union(service)),
    )


@cache
def batch_model(service: str) -> type[WireRequest]:
    """``cmd.<service>``'s batch request: many facts of one tenant, answered item by item in order."""
    item = create_model(f"{_title(service)}BatchItem", __doc__="One fact of a batch, with its own command id.",
                        __config__=_FORBID, **_item_fields(_fact_union(service)))
    return create_model(
        f"{_title(service)}BatchRequest", __base__=WireRequest,
        __doc__=(f"Record up to {MAX_ITEMS} facts owned by the {service} service in one request. Each item is "
                 "judged on its own; items landing on one aggregate are applied in the order given. actor, "
                 "correlation_id and causation_id apply to every item that does not set its own."),
        tenant=(Tenant, ...),
        items=(list[item], Field(min_length=1, max_length=MAX_ITEMS)),
        **_trace_fields(),
    )


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path from the fact's root (data.expires_on), or a request field")
    code: str = Field(description="Stable machine code")
    reason_en: str
    reason_zh: str


class RecordedReply(BaseModel):
    """The reply when the fact was appended (or had been: ``duplicate``)."""

    ok: Literal[True]
    event_id: str = Field(description="The event id (a uuid derived from tenant and command id)")
    type: str = Field(description="The fact type")
    aggregate: str = Field(description="The aggregate's LEDGER subject")
    aggregate_id: str
    sequence: int = Field(ge=1, description="Position in the aggregate")
    ledger_sequence: int = Field(ge=1, description="Position in the LEDGER stream")
    duplicate: bool = Field(description="True when the command had already been recorded")


class ProblemReply(BaseModel):
    """The reply when nothing was appended; ``status`` is the HTTP status the gateway uses."""

    ok: Literal[False]
    status: Literal[400, 409, 412, 421, 422, 500, 503]
    code: Literal["malformed_request", "invalid_fact", "invariant_violated", "sequence_mismatch",
                  "idempotency_key_reused", "wrong_service", "unavailable", "deadline_exceeded",
                  "internal_error"]
    title: str
    title_zh: str
    detail: str
    errors: list[FieldProblem]
    expected: int | None = Field(default=None, description="sequence_mismatch: the sequence the caller expected")
    actual: int | None = Field(default=None, description="sequence_mismatch: the aggregate's sequence")
    service: str | None = Field(default=None, description="wrong_service: the service that owns the type")


@cache
def event_model(aggregate_type: str) -> type[BaseModel]:
    """The CloudEvent carried on ``ledger.{tenant}.{company}.{aggregate_type}.{aggregate_id}``."""
    specs = [s for s in CATALOGUE.values() if s.aggregate_type == aggregate_type]
    data: Any = Union[tuple(s.payload for s in specs)]  # noqa: UP007
    types: Any = Literal[tuple(s.type for s in specs)]
    spec_version: Any = Literal["1.0"]  # run-time type forms, as the two above: values for create_model
    content_type: Any = Literal["application/json"]
    return create_model(
        f"{_title(aggregate_type)}Event",
        __doc__=(f"A CloudEvents 1.0 event (structured JSON) of the {aggregate_type} aggregate; "
                 "`data` is the payload of its `type` (contracts/schemas/<type>.v<version>.json)."),
        specversion=(spec_version, ...),
        id=(str, Field(description="Event id, also the Nats-Msg-Id")),
        source=(str, Field(description="urn:ledger:{service}")),
        type=(types, ...),
        subject=(str, Field(description="The aggregate id")),
        time=(str, Field(description="When the ledger recorded it (UTC, RFC 3339)")),
        datacontenttype=(content_type, ...),
        dataschema=(str, Field(description="The payload's JSON Schema, with its version")),
        tenant=(str, ...),
        company=(str, Field(description="The company's USCC")),
        sequence=(int, Field(ge=1, description="Position in the aggregate")),
        effectivedate=(str, Field(description="When it happened (Asia/Shanghai date, YYYY-MM-DD)")),
        correlationid=(str | None, None),
        causationid=(str | None, None),
        actor=(str | None, None),
        traceparent=(str | None, Field(default=None, description="W3C trace context")),
        prevhash=(str, Field(description="hash of the previous event of the aggregate (64 zeros for the first)")),
        hash=(str, Field(description="SHA-256 over the canonical JSON of every other attribute")),
        data=(data, ...),
    )


class BatchReply(BaseModel):
    """The reply to a batch request: one RecordedReply or ProblemReply per item, in order."""

    ok: Literal[True]
    results: list[Annotated[Union[RecordedReply, ProblemReply], Field(discriminator="ok")]]  # noqa: UP007
