"""Typed models of the wire shapes, for the AsyncAPI document only.

Requests are parsed by :mod:`ledger_domain.protocol` and facts by
``ledger_contracts.validate_fact``; these models are never used to validate a
request. They are built once per process (cached) so faststream can describe
``cmd.<service>`` and the LEDGER channels from the services themselves.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.fact import fact_model
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model


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


def _item_fields(service: str) -> dict[str, Any]:
    models = tuple(fact_model(t) for t in types_of(service))
    fact: Any = Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
    return {
        "fact": (fact, Field(description="The fact: type, company, effective_date, data")),
        "command_id": (str | None, Field(default=None, max_length=255,
                                         description="Idempotency key: the same id and fact never append twice")),
        "expected_sequence": (int | None, Field(default=None, ge=0, description=(
            "Optimistic concurrency: the aggregate sequence the caller expects (0 for a new aggregate); "
            "a mismatch answers 412 sequence_mismatch"))),
        **_trace_fields(),
    }


def _trace_fields() -> dict[str, Any]:
    return {
        "actor": (str | None, Field(default=None, max_length=255, description="Who records it (an opaque id)")),
        "correlation_id": (str | None, Field(default=None, max_length=255, description="Correlation id")),
        "causation_id": (str | None, Field(default=None, max_length=255, description="Causation id")),
    }


_TENANT = (str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The tenant (a subject token)"))


@cache
def request_model(service: str) -> type[WireRequest]:
    """``cmd.<service>``'s request: one fact of the service's types."""
    return create_model(
        f"{_title(service)}FactRequest", __base__=WireRequest,
        __doc__=f"Record one fact owned by the {service} service (docs/internal-protocol.md).",
        tenant=_TENANT, **_item_fields(service),
    )


@cache
def batch_model(service: str) -> type[WireRequest]:
    """``cmd.<service>``'s batch request: many facts of one tenant, answered item by item in order."""
    item = create_model(f"{_title(service)}BatchItem", __doc__="One fact of a batch, with its own command id.",
                        __config__=ConfigDict(extra="forbid"), **_item_fields(service))
    return create_model(
        f"{_title(service)}BatchRequest", __base__=WireRequest,
        __doc__=(f"Record up to 1000 facts owned by the {service} service in one request. Each item is judged on "
                 "its own; items landing on one aggregate are applied in the order given. actor, correlation_id "
                 "and causation_id apply to every item that does not set its own."),
        tenant=_TENANT,
        items=(list[item], Field(min_length=1, max_length=1000)),
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
