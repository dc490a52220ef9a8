"""The fact catalogue: the single source of truth for fact types.

For every type it says which payload model checks it, the payload schema
version, which service owns it, which aggregate it lands on and how that
aggregate's id is derived, what it means (English and Chinese), and which
rules of the rule pack read it. Services route with it, the projector and the
docs read it, and the generator turns it into JSON Schemas and docs/events.md.

It is assembled, not written: a payload model in :mod:`facts` declares its type and
meaning, the type's prefix names the owning service and aggregate (``_ROUTES``), and the
rules that read it are declared by the rules themselves (published here through the
generated :mod:`rule_ids`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from . import facts as f
from .enums import Service
from .formats import normalise_number
from .rule_ids import FACT_RULES

__all__ = [
    "CATALOGUE",
    "FACT_TYPES",
    "SCHEMA_BASE_URL",
    "AggregateKey",
    "FactSpec",
    "aggregate_id",
    "get_spec",
    "is_token_safe",
]

SCHEMA_BASE_URL = "https://ledger.example/contracts/schemas/"

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_token_safe(value: str) -> bool:
    """True if ``value`` can be one token of a NATS subject as the ledger uses them."""
    return bool(_TOKEN_RE.fullmatch(value))


def _short_hash(prefix: str, value: str) -> str:
    return prefix + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AggregateKey:
    """How a fact names its aggregate (interfaces.md, "Routing and aggregates").

    ``derive`` is one of:
    - ``company``: the company's USCC;
    - ``token``: the data field as is when token-safe, else ``prefix`` + a short SHA-256;
    - ``digits``: the data field as a number reduced to its digits;
    - ``hash``: always ``prefix`` + a short SHA-256 of the data field.
    """

    derive: Literal["company", "token", "digits", "hash"]
    field: str | None = None
    prefix: str = ""

    def of(self, company: str, data: Mapping[str, Any] | f.FactPayload) -> str:
        if self.derive == "company":
            if not isinstance(company, str) or not is_token_safe(company):
                raise ValueError(f"the company {company!r} is not a routable USCC")
            return company
        assert self.field is not None
        value = getattr(data, self.field, None) if isinstance(data, f.FactPayload) else data.get(self.field)
        if not isinstance(value, str) or not value:
            raise ValueError(f"data.{self.field} is needed to find the aggregate")
        if self.derive == "digits":
            return normalise_number(value)
        if self.derive == "token" and is_token_safe(value):
            return value
        return _short_hash(self.prefix, value)

    def describe(self) -> str:
        """One line for the docs."""
        if self.derive == "company":
            return "the company (USCC)"
        if self.derive == "digits":
            return f"`data.{self.field}` (digits only)"
        if self.derive == "hash":
            return f'`"{self.prefix}"` + first 16 hex digits of SHA-256(`data.{self.field}`)'
        return (
            f"`data.{self.field}` when token-safe (`[A-Za-z0-9_-]`, at most 64), "
            f'else `"{self.prefix}"` + first 16 hex digits of its SHA-256'
        )


# Named outside FactSpec, whose field ``type`` hides the builtin inside the class body.
PayloadModel: TypeAlias = type[f.FactPayload]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """Everything the system knows about one fact type."""

    type: str
    payload: PayloadModel
    version: int
    owner: Service
    aggregate_type: str
    aggregate_key: AggregateKey
    meaning_en: str
    meaning_zh: str
    rules: tuple[str, ...]

    @property
    def schema_file(self) -> str:
        """File name of the payload's JSON Schema in contracts/schemas/."""
        return f"{self.type}.v{self.version}.json"

    @property
    def schema_id(self) -> str:
        """The schema's ``$id``; also the CloudEvents ``dataschema`` of the event."""
        return SCHEMA_BASE_URL + self.schema_file

    def aggregate_id(self, company: str, data: Mapping[str, Any] | f.FactPayload) -> str:
        return self.aggregate_key.of(company, data)


# type prefix → (owning service, aggregate key); aggregate type = the prefix
_ROUTES: dict[str, tuple[Service, AggregateKey]] = {
    "company": (Service.licences, AggregateKey("company")),
    "licence": (Service.licences, AggregateKey("token", "licence_no", "l")),
    "outsourcing": (Service.licences, AggregateKey("token", "vendor_uscc", "v")),
    "number": (Service.numbers, AggregateKey("digits", "number")),
    "numbering": (Service.numbers, AggregateKey("company")),
    "traffic": (Service.numbers, AggregateKey("company")),
    "workforce": (Service.personnel, AggregateKey("company")),
    "site": (Service.premises, AggregateKey("token", "site_ref", "s")),
    "facility": (Service.premises, AggregateKey("token", "system_ref", "f")),
    "penalty": (Service.penalties, AggregateKey("hash", "decision_no", "p")),
    "listing": (Service.penalties, AggregateKey("company")),
}


def _declared() -> list[type[f.FactPayload]]:
    """Every payload model that declares a fact type, in the order the models are written."""
    return [m for m in vars(f).values()
            if isinstance(m, type) and issubclass(m, f.FactPayload) and "fact_type" in vars(m)]


def _build() -> Mapping[str, FactSpec]:
    catalogue: dict[str, FactSpec] = {}
    for payload in _declared():
        fact_type = payload.fact_type
        prefix = fact_type.split(".", 1)[0]
        owner, key = _ROUTES[prefix]
        if fact_type in catalogue:
            raise RuntimeError(f"fact type {fact_type} is declared twice")
        catalogue[fact_type] = FactSpec(
            type=fact_type,
            payload=payload,
            version=1,
            owner=owner,
            aggregate_type=prefix,
            aggregate_key=key,
            meaning_en=payload.meaning_en,
            meaning_zh=payload.meaning_zh,
            rules=FACT_RULES.get(fact_type, ()),
        )
    return MappingProxyType(catalogue)


CATALOGUE: Mapping[str, FactSpec] = _build()
"""Every fact type, in catalogue order."""

FACT_TYPES: tuple[str, ...] = tuple(CATALOGUE)


def get_spec(fact_type: str) -> FactSpec:
    """The spec of a fact type; KeyError for an unknown type."""
    return CATALOGUE[fact_type]


def aggregate_id(fact_type: str, company: str, data: Mapping[str, Any] | f.FactPayload) -> str:
    """The NATS-token-safe id of the aggregate a fact lands on.

    ``data`` is the payload (a validated model or its JSON form). KeyError for
    an unknown type, ValueError when the field that names the aggregate is
    missing.
    """
    return CATALOGUE[fact_type].aggregate_id(company, data)
