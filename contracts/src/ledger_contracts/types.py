"""Pydantic field types that carry the real formats of :mod:`ledger_contracts.formats`.

Each type validates with the plain validator (so a refusal keeps its stable
code and both reasons) and publishes an explicit JSON Schema, so the schema
accepts the same values the model does. Custom ``format`` keywords (``uscc``,
``licence-no`` …) are annotations only: a generic JSON Schema validator checks
the pattern, and the ledger checks the rest (check digits, calendars).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from . import formats
from .errors import FormatError
from .provinces import PROVINCE_CODES

__all__ = [
    "AreaM2",
    "Category",
    "Count",
    "IdempotencyKey",
    "LicenceNo",
    "LicenceNoOrRef",
    "LocalDate",
    "LongText",
    "MlpsLevel",
    "Money",
    "Month",
    "PastDate",
    "PersonRef",
    "PhoneNumber",
    "PositiveCount",
    "ProvinceCode",
    "Quarter",
    "Ref",
    "ShortText",
    "Uscc",
    "Year",
    "pydantic_error",
]


def pydantic_error(error: FormatError, field: str | None = None) -> PydanticCustomError:
    """Wrap a FormatError for pydantic, keeping its code and both reasons.

    ``field`` names a sub-field when the error is raised by a model-level
    (cross-field) check, so the refusal can point at ``data.expires_on``
    rather than at ``data``.
    """
    context: dict[str, Any] = {"reason_en": error.reason_en, "reason_zh": error.reason_zh}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(error.code, "{reason_en}", context)


def _checked(check: Callable[[Any], Any]) -> BeforeValidator:
    def run(value: Any) -> Any:
        try:
            return check(value)
        except FormatError as error:
            raise pydantic_error(error) from None

    return BeforeValidator(run)


def _schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema(schema)


# --- identifiers -----------------------------------------------------------------

_USCC_PATTERN = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"

Uscc = Annotated[
    str,
    _checked(formats.validate_uscc),
    _schema(type="string", format="uscc", pattern=_USCC_PATTERN, minLength=18, maxLength=18),
]
"""统一社会信用代码, 18 characters, upper case, GB 32100 check digit."""

ProvinceCode = Annotated[
    str,
    _checked(formats.validate_province),
    _schema(type="string", format="gb2260-province", enum=list(PROVINCE_CODES)),
]
"""Two-digit GB/T 2260 province code as a string ("44")."""

Category = Annotated[
    str,
    _checked(formats.validate_category),
    _schema(type="string", format="telecom-category", pattern="^[AB][12][0-9]?(-[12])?$"),
]
"""电信业务分类目录 category code: B24 (call centre), B24-1, B25, B21 …"""

_PREFIXES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川蜀贵黔云滇藏陕秦甘陇青宁新台港澳"
_LICENCE_PATTERN = f"^[{_PREFIXES}]?[AB][12](\\.[AB][12])*-[0-9]{{8}}$"


def _licence_no(value: Any) -> str:
    return formats.parse_licence_no(value).text


LicenceNo = Annotated[
    str,
    _checked(_licence_no),
    _schema(type="string", format="licence-no", pattern=_LICENCE_PATTERN),
]
"""Licence number in its real form: B2-20220315, 粤B2-20230510, A2.B1.B2-20090001."""


# --- text and references ---------------------------------------------------------------


_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_CONTROLS_EXCEPT_NEWLINE_TAB = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")


def _text(max_length: int, *, allow_edge_space: bool) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise FormatError(
                "invalid_type",
                f"expected text, got {type(value).__name__}",
                f"应为文本，收到的是 {type(value).__name__}",
            )
        if not value.strip():
            raise FormatError("blank", "this text must not be empty", "该文本不能为空")
        if len(value) > max_length:
            raise FormatError(
                "too_long",
                f"at most {max_length} characters, got {len(value)}",
                f"最多 {max_length} 个字符，当前 {len(value)} 个",
            )
        if not allow_edge_space and value != value.strip():
            raise FormatError(
                "invalid_format",
                "remove the spaces at the start or end",
                "请删除首尾空格",
            )
        controls = _CONTROLS_EXCEPT_NEWLINE_TAB if allow_edge_space else _CONTROLS
        if controls.search(value):
            raise FormatError(
                "invalid_format",
                "the text contains control characters",
                "文本包含控制字符",
            )
        return value

    return check


ShortText = Annotated[
    str,
    _checked(_text(200, allow_edge_space=False)),
    _schema(type="string", minLength=1, maxLength=200, pattern="^\\S(.*\\S)?$"),
]
"""A name, an authority, a decision number: 1–200 characters, no surrounding spaces."""

LongText = Annotated[
    str,
    _checked(_text(4000, allow_edge_space=True)),
    _schema(type="string", minLength=1, maxLength=4000, pattern="\\S"),
]
"""A reason or description: 1–4000 characters, not blank."""

Ref = Annotated[
    str,
    _checked(_text(128, allow_edge_space=False)),
    _schema(type="string", format="ref", minLength=1, maxLength=128, pattern="^\\S(.*\\S)?$"),
]
"""An opaque reference chosen by the tenant (site, system, report, obligation): 1–128 characters."""


def _person_ref(value: Any) -> str:
    return formats.refuse_personal_data(_text(128, allow_edge_space=False)(value))


PersonRef = Annotated[
    str,
    _checked(_person_ref),
    _schema(type="string", format="person-ref", minLength=1, maxLength=128, pattern="^[^\u3400-\u9fff]+$"),
]
"""An opaque reference to a person (person-001): never a name, ID-card, phone or e-mail."""


def _licence_no_or_ref(value: Any) -> str:
    text = _text(128, allow_edge_space=False)(value)
    try:
        return formats.parse_licence_no(text).text
    except FormatError:
        return text


LicenceNoOrRef = Annotated[
    str,
    _checked(_licence_no_or_ref),
    _schema(type="string", minLength=1, maxLength=128, pattern="^\\S(.*\\S)?$"),
]
"""A licence number, or an application reference while no number has been issued yet."""


def _idempotency_key(value: Any) -> str:
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY.fullmatch(value):
        raise FormatError(
            "invalid_idempotency_key",
            "an idempotency key is 1–255 visible ASCII characters (a UUID works well)",
            "幂等键应为 1–255 个可见 ASCII 字符（建议使用 UUID）",
        )
    return value


IdempotencyKey = Annotated[
    str,
    _checked(_idempotency_key),
    _schema(type="string", minLength=1, maxLength=255, pattern="^[!-~]+$"),
]
"""The caller's key for at-most-once appends; the same key never appends twice."""


# --- numbers -------------------------------------------------------------------------

PhoneNumber = Annotated[
    str,
    _checked(formats.normalise_number),
    _schema(
        type="string",
        format="cn-number",
        pattern="^(\\+86|0086)?[0-9 ()-]{3,40}$",
    ),
]
"""A telephone or code number; spaces, dashes, parentheses and +86 are removed on input."""


# --- dates and periods ---------------------------------------------------------------

LocalDate = Annotated[
    date,
    _checked(formats.parse_date),
    _schema(type="string", format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
]
"""A local (Asia/Shanghai) calendar date, YYYY-MM-DD."""


@dataclass(frozen=True, slots=True)
class NotAfterToday:
    """Marks a date field that records something that already happened.

    A model cannot know today's date (validation never reads the wall clock),
    so :func:`ledger_contracts.validate_fact` checks these fields against the
    ``today`` it is given.
    """


PastDate = Annotated[LocalDate, NotAfterToday()]
"""A LocalDate of something that already happened: not after the day of recording."""

Year = Annotated[
    int,
    _checked(formats.validate_year),
    _schema(type="integer", minimum=formats.MIN_YEAR, maximum=formats.MAX_YEAR),
]
Quarter = Annotated[
    str,
    _checked(formats.validate_quarter),
    _schema(type="string", format="quarter", pattern="^[0-9]{4}Q[1-4]$"),
]
Month = Annotated[
    str,
    _checked(formats.validate_month),
    _schema(type="string", format="month", pattern="^[0-9]{4}-(0[1-9]|1[0-2])$"),
]


# --- amounts and counts ------------------------------------------------------------------


def _decimal_to_json(value: Decimal) -> int | float:
    """Integral amounts as JSON integers, others as JSON numbers.

    Amounts are limited to two decimals below 10^13, so a float's shortest
    representation reproduces them exactly.
    """
    return int(value) if value == value.to_integral_value() else float(value)


_DECIMAL_STRING = "^[0-9]+(\\.[0-9]{1,2})?$"

Money = Annotated[
    Decimal,
    _checked(formats.parse_money),
    PlainSerializer(_decimal_to_json, return_type=int | float, when_used="json"),
    _schema(
        anyOf=[
            {"type": "number", "minimum": 0, "exclusiveMaximum": 10**13},
            {"type": "string", "pattern": _DECIMAL_STRING},
        ],
        format="money-cny",
    ),
]
"""A non-negative amount of CNY (元), at most two decimals; a JSON number or a decimal string."""

AreaM2 = Annotated[
    Decimal,
    _checked(formats.validate_area),
    PlainSerializer(_decimal_to_json, return_type=int | float, when_used="json"),
    _schema(
        anyOf=[
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10**7},
            {"type": "string", "pattern": _DECIMAL_STRING},
        ],
        format="area-m2",
    ),
]
"""A floor area in square metres, above zero, at most two decimals."""

Count = Annotated[
    int,
    _checked(formats.validate_count),
    _schema(type="integer", minimum=0, maximum=formats.MAX_COUNT),
]
"""A whole, non-negative number of things (calls, seats, people, days)."""

PositiveCount = Annotated[
    int,
    _checked(lambda value: formats.validate_count(value, minimum=1)),
    _schema(type="integer", minimum=1, maximum=formats.MAX_COUNT),
]

MlpsLevel = Annotated[
    int,
    _checked(lambda value: formats.validate_count(value, minimum=1, maximum=5)),
    _schema(type="integer", minimum=1, maximum=5),
]
"""A 网络安全等级保护 (MLPS) protection level, 1 to 5."""
