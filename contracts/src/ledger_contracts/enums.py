"""Closed vocabularies of the fact catalogue (docs: shared/design/interfaces.md).

They are ``StrEnum``s so that a member compares equal to its JSON value
(``Scope.nationwide == "nationwide"``) and pydantic publishes each one as a
named enum in JSON Schema and OpenAPI.
"""

from __future__ import annotations

from enum import StrEnum


class Industry(StrEnum):
    """The company's industry, as far as the rules care (education has extra calling limits)."""

    finance = "finance"
    education = "education"
    medical = "medical"
    other = "other"


class Scope(StrEnum):
    """Licence coverage: 全网 (nationwide, issued by MIIT) or 地网 / 省内 (one province)."""

    nationwide = "nationwide"
    provincial = "provincial"


class NumberKind(StrEnum):
    """Kind of telephone or code number (码号) held by the company."""

    fixed = "fixed"
    n400 = "400"
    n95 = "95"
    n96 = "96"
    virtual = "virtual"
    other = "other"


class OutsourcingMode(StrEnum):
    """seat_leasing (租用坐席: the client operates, and needs its own licence) or bpo (业务外包)."""

    seat_leasing = "seat_leasing"
    bpo = "bpo"


class ListKind(StrEnum):
    """Which public list: 不良名单 (bad), 失信名单 (dishonest), 经营异常名录 (abnormal)."""

    bad = "bad"
    dishonest = "dishonest"
    abnormal = "abnormal"


class RegistrationField(StrEnum):
    """A business-registration item whose change may need a licence change filing."""

    name = "name"
    legal_representative = "legal_representative"
    registered_capital = "registered_capital"
    registered_address = "registered_address"
    business_scope = "business_scope"
    contact = "contact"


class RestructuringKind(StrEnum):
    """A change that needs the licensing authority's prior approval (Order 42 Art. 28)."""

    merger = "merger"
    split = "split"  # type: ignore[assignment]  # the wire value; hides str.split on members, which nothing calls
    shareholder_change = "shareholder_change"
    transfer_of_operations = "transfer_of_operations"
    coverage_change = "coverage_change"


class KeyPersonRole(StrEnum):
    """A role the licensing authority asks about; the person is an opaque reference."""

    legal_representative = "legal_representative"
    principal = "principal"
    technical_lead = "technical_lead"
    security_officer = "security_officer"


class Service(StrEnum):
    """The domain service that owns a fact type's aggregate and appends its event."""

    licences = "licences"
    numbers = "numbers"
    personnel = "personnel"
    premises = "premises"
    penalties = "penalties"
