"""Fact contracts of the compliance ledger: formats, payload models, the catalogue.

Public API (everything else is an implementation detail):

- :func:`validate_fact` → :class:`ValidFact`, or :class:`FactRejected` with
  :class:`FieldError` items (field, code, reason_en, reason_zh);
- :data:`CATALOGUE` / :func:`get_spec` → :class:`FactSpec` per fact type;
  :func:`aggregate_id` for routing;
- :data:`AnyFact` (discriminated union for OpenAPI), :class:`Fact`, :func:`fact_model`;
- :mod:`ledger_contracts.formats` for the plain validators (USCC, provinces,
  licence numbers, phone numbers, dates, money);
- :mod:`ledger_contracts.examples` for valid example facts.
- :mod:`ledger_contracts.alerts` for the alert types and the alert severity scale.
"""

from .catalogue import CATALOGUE, FACT_TYPES, AggregateKey, FactSpec, aggregate_id, get_spec, is_token_safe
from .enums import (
    Industry,
    KeyPersonRole,
    ListKind,
    NumberKind,
    OutsourcingMode,
    RegistrationField,
    RestructuringKind,
    Scope,
    Service,
)
from .errors import FactRejected, FieldError, FormatError
from .fact import SHANGHAI, AnyFact, Fact, FactModel, ValidFact, fact_model, today_in_shanghai, validate_fact
from .facts import FactPayload

__all__ = [
    "CATALOGUE",
    "FACT_TYPES",
    "SHANGHAI",
    "AggregateKey",
    "AnyFact",
    "Fact",
    "FactModel",
    "FactPayload",
    "FactRejected",
    "FactSpec",
    "FieldError",
    "FormatError",
    "Industry",
    "KeyPersonRole",
    "ListKind",
    "NumberKind",
    "OutsourcingMode",
    "RegistrationField",
    "RestructuringKind",
    "Scope",
    "Service",
    "ValidFact",
    "aggregate_id",
    "fact_model",
    "get_spec",
    "is_token_safe",
    "today_in_shanghai",
    "validate_fact",
]
