"""Structured, bilingual validation errors.

A submitted fact is judged by people who read Chinese, English or both, and by
programs that need a stable machine code. Every refusal therefore carries the
field it is about (a dotted path from the fact's root), a stable ``code`` and a
reason in both languages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR_CODES: dict[str, str] = {
    # shape
    "missing": "a required field is absent",
    "extra_forbidden": "a field that the fact type does not have",
    "invalid_type": "wrong JSON type (text where a number is expected, …)",
    "invalid_choice": "not one of the listed values",
    "too_short": "a list with too few items",
    "too_long": "a text or list that is too long",
    "blank": "a text with nothing but spaces",
    "invalid_format": "surrounding spaces or control characters",
    "invalid_value": "any other unacceptable value",
    # formats
    "invalid_uscc": "not a valid 统一社会信用代码",
    "invalid_province": "not a GB/T 2260 province code",
    "invalid_category": "not a telecom business category code",
    "invalid_licence_no": "not a licence number in its real form",
    "invalid_number": "not a telephone or code number of its kind",
    "invalid_date": "not an existing YYYY-MM-DD date",
    "invalid_year": "not a year 2000–2100",
    "invalid_quarter": "not a quarter like 2026Q1",
    "invalid_month": "not a month like 2026-09",
    "invalid_money": "not a non-negative amount of CNY",
    "invalid_area": "not a positive area in square metres",
    "invalid_count": "not a whole number in range",
    "invalid_idempotency_key": "not 1–255 visible ASCII characters",
    "personal_data": "looks like a name, ID-card number, phone number or e-mail address",
    # consistency
    "date_in_future": "a date after today for something that already happened",
    "date_order": "dates in the wrong order",
    "duplicate_item": "a list repeats an item",
    "provinces_required": "a provincial licence without its province",
    "licence_prefix_mismatch": "a licence number's provincial prefix disagrees with scope or provinces",
    "category_class_mismatch": "the category's class is not on the licence number",
    "no_change": "a change whose old and new values are equal",
    "year_not_reported_on": "an annual report's year is not before its submission",
    "exceeds_total": "a part is larger than its total",
    "inconsistent": "fields that contradict each other",
    "self_outsourcing": "the vendor is the company itself",
    # the fact as a whole
    "unknown_type": "not a fact type of the catalogue",
    "invalid_json": "the body is not JSON (or not UTF-8)",
    "duplicate_key": "a JSON object repeats a key",
    "too_large": "the fact is larger than the limit",
}
"""Every code a refusal may carry, with its meaning. Codes are stable: clients may switch on them."""


class FormatError(ValueError):
    """A value does not have the required real-world form.

    Raised by the plain validators in :mod:`ledger_contracts.formats`; the
    pydantic types turn it into a structured error with the same code.
    """

    def __init__(self, code: str, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_en = reason_en
        self.reason_zh = reason_zh


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a fact was refused.

    ``field`` is a dotted path from the fact root (``"data.expires_on"``,
    ``"data.provinces.0"``); the empty string means the fact as a whole.
    ``code`` is stable and meant for programs; the reasons are for people.
    """

    field: str
    code: str
    reason_en: str
    reason_zh: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class FactRejected(Exception):
    """A fact was refused because of its shape; ``errors`` says why, field by field.

    This is the only exception :func:`ledger_contracts.validate_fact` raises,
    so a caller can turn it into a 422 problem document without guessing.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("FactRejected needs at least one error")
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{e.field or '(fact)'}: {e.reason_en}" for e in self.errors))

    def as_dicts(self) -> list[dict[str, str]]:
        """The errors as plain dicts, ready for a JSON problem document."""
        return [e.as_dict() for e in self.errors]
