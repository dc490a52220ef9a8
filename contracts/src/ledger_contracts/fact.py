"""The submitted fact: its envelope, its validation, and typed models for OpenAPI.

A fact as submitted is ``{type, company, effective_date, data, idempotency_key}``.
:func:`validate_fact` is the one entry point every writer (gateway, services,
CLI import) uses: it accepts raw JSON or a dict, checks the envelope and the
payload against the catalogue, and either returns a :class:`ValidFact` or
raises :class:`FactRejected` with every problem it found, each with a field,
a stable code and reasons in English and Chinese.

Validation never reads the wall clock: "today" is an argument, so the same
input always gets the same answer and tests need no clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from . import strict_json
from .catalogue import CATALOGUE, FACT_TYPES, FactSpec
from .errors import FactRejected, FieldError
from .facts import FactPayload, past_date_fields
from .pydantic_errors import field_errors
from .types import IdempotencyKey, LocalDate, Uscc
from .zone import SHANGHAI

__all__ = [
    "MAX_FACT_BYTES",
    "SHANGHAI",
    "AnyFact",
    "Fact",
    "FactModel",
    "ValidFact",
    "fact_model",
    "today_in_shanghai",
    "validate_fact",
]

MAX_FACT_BYTES = 1_000_000
"""A single fact larger than this is refused before parsing (no fact needs it)."""




def today_in_shanghai(now: datetime | None = None) -> date:
    """The local date in Asia/Shanghai at ``now`` (default: the current instant).

    Only for defaults outside validation (the typed models' default
    effective_date, a caller choosing ``today``); validation itself takes
    ``today`` as an argument.
    """
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


# --- the envelope -------------------------------------------------------------------


class Fact(BaseModel):
    """A fact as submitted, with its payload not yet checked against its type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="Fact type from the catalogue, e.g. licence.issued")
    company: Uscc = Field(description="The company's 统一社会信用代码")
    effective_date: LocalDate = Field(
        default_factory=today_in_shanghai,
        description="When it happened in the world (Asia/Shanghai date); defaults to today",
    )
    data: dict[str, Any] = Field(description="The payload; its shape depends on type")
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="Key that makes a retried submission append nothing new"
    )


class _Envelope(BaseModel):
    """The envelope as validate_fact checks it: type and data are judged separately."""

    model_config = ConfigDict(extra="forbid")

    type: Any
    company: Uscc
    effective_date: LocalDate | None = None
    data: Any
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True, slots=True)
class ValidFact:
    """A fact that passed every shape check, with its routing already worked out."""

    type: str
    company: str
    effective_date: date
    data: FactPayload
    idempotency_key: str | None
    aggregate_id: str
    spec: FactSpec = field(repr=False)

    @property
    def aggregate_type(self) -> str:
        return self.spec.aggregate_type

    @property
    def owner(self) -> str:
        """The service that owns the aggregate (licences, numbers, …)."""
        return self.spec.owner.value

    @property
    def schema_version(self) -> int:
        return self.spec.version

    @property
    def dataschema(self) -> str:
        """The payload's JSON Schema URL, for the CloudEvents ``dataschema`` attribute."""
        return self.spec.schema_id

    def data_json(self) -> dict[str, Any]:
        """The payload in its canonical JSON form (normalised numbers, ISO dates)."""
        return self.data.model_dump(mode="json")

    def to_json(self) -> dict[str, Any]:
        """The whole fact in canonical JSON form, as it would be resubmitted."""
        out: dict[str, Any] = {
            "type": self.type,
            "company": self.company,
            "effective_date": self.effective_date.isoformat(),
            "data": self.data_json(),
        }
        if self.idempotency_key is not None:
            out["idempotency_key"] = self.idempotency_key
        return out


# --- validation --------------------------------------------------------------------------


def _reject_root(code: str, reason_en: str, reason_zh: str) -> FactRejected:
    return FactRejected([FieldError("", code, reason_en, reason_zh)])


def _decode(raw: bytes | bytearray | str) -> Any:
    if len(raw) > MAX_FACT_BYTES:
        raise _reject_root(
            "too_large",
            f"a fact may be at most {MAX_FACT_BYTES} bytes",
            f"单条事实最大 {MAX_FACT_BYTES} 字节",
        )
    try:
        return strict_json.loads(raw)
    except strict_json.DuplicateKey as dup:
        raise _reject_root("duplicate_key", f"the key {dup.key[:40]!r} appears twice in one object",
                           f"同一对象中键 {dup.key[:40]!r} 出现了两次") from None
    except strict_json.NotJson as constant:
        raise _reject_root("invalid_json", f"{constant.name} is not valid JSON",
                           f"{constant.name} 不是合法的 JSON 值") from None
    except UnicodeDecodeError:
        raise _reject_root(
            "invalid_json", "the body is not UTF-8 text", "内容不是 UTF-8 编码的文本"
        ) from None
    except RecursionError:
        raise _reject_root("invalid_json", "the JSON is nested too deeply", "JSON 嵌套层级过深") from None
    except ValueError as error:  # JSONDecodeError, or an integer with too many digits
        raise _reject_root("invalid_json", f"not valid JSON: {str(error)[:120]}", "不是合法的 JSON") from None


def _type_error(value: Any) -> FieldError | None:
    if not isinstance(value, str):
        return FieldError(
            "type",
            "invalid_type",
            'the fact type must be a string such as "licence.issued"',
            '事实类型必须是字符串，如 "licence.issued"',
        )
    if value in CATALOGUE:
        return None
    shown = value if len(value) <= 60 else value[:59] + "…"
    close = difflib.get_close_matches(value, FACT_TYPES, n=3, cutoff=0.6) if len(value) <= 100 else []
    if close:
        hint_en = "did you mean " + " or ".join(close) + "?"
        hint_zh = "是否应为 " + " 或 ".join(close) + "？"
    else:
        prefixes = ", ".join(dict.fromkeys(t.split(".", 1)[0] + ".*" for t in FACT_TYPES))
        hint_en = f"fact types are named like {prefixes}; see docs/events.md"
        hint_zh = f"事实类型形如 {prefixes}，详见 docs/events.md"
    return FieldError(
        "type",
        "unknown_type",
        f"unknown fact type {shown!r}; {hint_en}",
        f"未知的事实类型 {shown!r}；{hint_zh}",
    )


def _future(field_path: str, name: str, day: date, today: date) -> FieldError:
    return FieldError(
        field_path,
        "date_in_future",
        f"{name} {day} is after today ({today}): only what has already happened can be recorded",
        f"{name} {day} 晚于今天（{today}）：只能记录已经发生的事实",
    )


def _fact_level_errors(spec: FactSpec, company: str, data: FactPayload) -> list[FieldError]:
    """Checks that need the envelope and the payload together."""
    vendor = getattr(data, "vendor_uscc", None)
    if spec.aggregate_type == "outsourcing" and vendor == company:
        return [
            FieldError(
                "data.vendor_uscc",
                "self_outsourcing",
                "the vendor is the company itself",
                "外包商不能是企业自身",
            )
        ]
    return []


def validate_fact(raw: Mapping[str, Any] | bytes | bytearray | str, *, today: date) -> ValidFact:
    """Check a submitted fact against the catalogue; raise FactRejected with every problem found.

    ``raw`` is the fact as a mapping, or as JSON text / UTF-8 bytes. ``today``
    is the current Asia/Shanghai date, passed in because validation never
    reads the clock: it is the default ``effective_date``, and no
    ``effective_date`` or date of a past event may be later than it.

    Raises nothing but :class:`FactRejected`.
    """
    obj = _decode(raw) if isinstance(raw, bytes | bytearray | str) else raw
    if not isinstance(obj, Mapping):
        raise _reject_root(
            "invalid_type",
            "a fact is a JSON object with type, company, effective_date and data",
            "事实必须是包含 type、company、effective_date、data 的 JSON 对象",
        )
    errors: list[FieldError] = []
    envelope: _Envelope | None = None
    try:
        envelope = _Envelope.model_validate(dict(obj))
    except ValidationError as exc:
        errors.extend(field_errors(exc))

    spec: FactSpec | None = None
    if "type" in obj:
        type_error = _type_error(obj["type"])
        if type_error is None:
            spec = CATALOGUE[obj["type"]]
        else:
            errors.append(type_error)

    payload: FactPayload | None = None
    data = obj.get("data")
    if "data" in obj and not isinstance(data, Mapping | FactPayload):
        errors.append(
            FieldError("data", "invalid_type", "data must be a JSON object", "data 必须是 JSON 对象")
        )
    elif spec is not None and isinstance(data, Mapping | FactPayload):
        raw_data = data.model_dump() if isinstance(data, FactPayload) else dict(data)
        try:
            payload = spec.payload.model_validate(raw_data)
        except ValidationError as exc:
            errors.extend(field_errors(exc, ("data",)))

    if envelope is not None and envelope.effective_date is not None and envelope.effective_date > today:
        errors.append(_future("effective_date", "effective_date", envelope.effective_date, today))
    if payload is not None and spec is not None:
        for name in past_date_fields(spec.payload):
            day = getattr(payload, name)
            if day > today:
                errors.append(_future(f"data.{name}", name, day, today))
        if envelope is not None:
            errors.extend(_fact_level_errors(spec, envelope.company, payload))

    if errors:
        raise FactRejected(errors)
    assert envelope is not None and spec is not None and payload is not None
    return ValidFact(
        type=spec.type,
        company=envelope.company,
        effective_date=envelope.effective_date or today,
        data=payload,
        idempotency_key=envelope.idempotency_key,
        aggregate_id=spec.aggregate_id(envelope.company, payload),
        spec=spec,
    )


# --- typed models, one per fact type (for OpenAPI and typed clients) ------------------------


class FactModel(BaseModel):
    """Base of the per-type fact models that make up :data:`AnyFact`."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _model_name(fact_type: str) -> str:
    return "".join(part.capitalize() for part in fact_type.replace(".", "_").split("_")) + "Fact"


def _typed_model(spec: FactSpec) -> type[FactModel]:
    return create_model(
        _model_name(spec.type),
        __base__=FactModel,
        __doc__=f"{spec.meaning_en} {spec.meaning_zh}",
        type=(Literal[spec.type], Field(description="Fact type")),  # type: ignore[arg-type]  # a Literal made at run time
        company=(Uscc, Field(description="The company's 统一社会信用代码")),
        effective_date=(
            LocalDate,
            Field(
                default_factory=today_in_shanghai,
                description="When it happened (Asia/Shanghai date); defaults to today",
            ),
        ),
        data=(
            spec.payload,
            Field(description=spec.payload.__doc__.splitlines()[0] if spec.payload.__doc__ else ""),
        ),
        idempotency_key=(IdempotencyKey | None, Field(default=None, description="Idempotency key")),
    )


_FACT_MODELS: dict[str, type[FactModel]] = {spec.type: _typed_model(spec) for spec in CATALOGUE.values()}


def fact_model(fact_type: str) -> type[FactModel]:
    """The typed fact model of one type (``LicenceIssuedFact`` …); KeyError if unknown."""
    return _FACT_MODELS[fact_type]


# Built at run time from the catalogue, so a value for pydantic and FastAPI rather than a static type.
AnyFact: Any = Annotated[Union[tuple(_FACT_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
"""Any fact, discriminated by ``type``: use it as a FastAPI body type for OpenAPI docs.

It checks shapes like validate_fact does, but its errors are pydantic's and
it cannot check dates against today; writers should call validate_fact.
"""
