"""Validators for the real-world formats facts are made of.

Each validator takes an untrusted value, returns the value in its canonical
form, and raises :class:`~ledger_contracts.errors.FormatError` with a stable
code and a reason in English and Chinese otherwise. They know nothing about
pydantic (see :mod:`ledger_contracts.types` for that), so services, the CLI
importer and tests can call them directly.

Normalisation policy: the ledger is immutable and hash-chained, so a value is
never silently altered, with one documented exception: telephone numbers are
reduced to their digits (``010-1234 5678`` → ``01012345678``), because people
write them in many equivalent ways and the digits are the number's identity.
A USCC written in lower case is refused with a reason, not upper-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .errors import FormatError
from .provinces import PROVINCES, province_for_abbreviation, province_for_name

__all__ = [
    "USCC_CHARSET",
    "LicenceNumber",
    "category_class",
    "find_personal_data",
    "is_valid_uscc",
    "normalise_number",
    "parse_date",
    "parse_licence_no",
    "parse_money",
    "uscc_check_char",
    "validate_area",
    "validate_category",
    "validate_count",
    "validate_month",
    "validate_number_for_kind",
    "validate_province",
    "validate_quarter",
    "validate_uscc",
    "validate_year",
    "refuse_personal_data",
]

# Patterns are applied with fullmatch: "$" alone would also accept a trailing newline.

# Years a fact's dates may fall in: wide enough for any real company, narrow
# enough to catch typos such as 0202-03-15 or 20226-01-01.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)
# Periodic filings (annual reports, quarters, months) only exist in the
# licensing regime's lifetime.
MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_MONEY = Decimal(10) ** 13  # 10 trillion CNY: beyond any fine or capital
MAX_COUNT = 10**12


def _shown(value: object, limit: int = 40) -> str:
    """A short rendering of a bad input for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _require_str(value: object, what_en: str, what_zh: str) -> str:
    if not isinstance(value, str):
        raise FormatError(
            "invalid_type",
            f"{what_en} must be a string, got {type(value).__name__}",
            f"{what_zh}必须是字符串，收到的是 {type(value).__name__}",
        )
    return value


# --- 统一社会信用代码 (USCC), GB 32100-2015 ---------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a USCC may use: digits and upper-case letters except I, O, Z, S, V."""

_USCC_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _check_char(first17: str) -> str:
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC.

    Useful for building valid test data; raises FormatError on characters
    outside the USCC alphabet.
    """
    if len(first17) != 17 or any(c not in _USCC_VALUES for c in first17):
        raise FormatError(
            "invalid_uscc",
            "need exactly 17 characters from the USCC alphabet to compute a check character",
            "计算校验码需要 17 个统一社会信用代码字符",
        )
    return _check_char(first17)


_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def validate_uscc(value: object) -> str:
    """Check a 统一社会信用代码: 18 characters, division code digits, GB 32100 check digit.

    Positions 3–8 are the registering authority's GB/T 2260 division code and
    must be digits. The GB 11714 check digit inside the organisation code
    (position 17) is deliberately not checked: only the outer one is binding.
    Lower-case letters are refused rather than upper-cased (see module doc).
    """
    text = _require_str(value, "a USCC", "统一社会信用代码")
    if _USCC_SHAPE.fullmatch(text) and _check_char(text[:17]) == text[17]:
        return text  # the common case, decided without building a reason
    if text != text.strip():
        raise FormatError(
            "invalid_uscc",
            "the USCC has spaces at its start or end; remove them",
            "统一社会信用代码首尾有空格，请删除",
        )
    if len(text) != 18:
        raise FormatError(
            "invalid_uscc",
            f"a USCC (unified social credit code) has 18 characters, this one has {len(text)}",
            f"统一社会信用代码应为 18 位，当前为 {len(text)} 位",
        )
    if text != text.upper() and all(c in _USCC_VALUES for c in text.upper()):
        raise FormatError(
            "invalid_uscc",
            "USCC letters must be upper case (write it exactly as on the business licence)",
            "统一社会信用代码中的字母必须大写（请按营业执照原样填写）",
        )
    for position, char in enumerate(text, start=1):
        if char not in _USCC_VALUES:
            raise FormatError(
                "invalid_uscc",
                f"character {char!r} at position {position} is not allowed in a USCC "
                "(only digits and upper-case letters except I, O, Z, S, V)",
                f"第 {position} 位字符 {char!r} 不能出现在统一社会信用代码中（只允许数字和除 I、O、Z、S、V 以外的大写字母）",
            )
    if not text[2:8].isdigit():
        raise FormatError(
            "invalid_uscc",
            "characters 3–8 of a USCC are the registering authority's division code and must be digits",
            "统一社会信用代码第 3–8 位是登记管理机关行政区划码，必须是数字",
        )
    if _check_char(text[:17]) != text[17]:
        raise FormatError(
            "invalid_uscc",
            "the USCC check digit (18th character) does not match: the code is probably mistyped",
            "统一社会信用代码校验码（第 18 位）不正确，代码可能录入有误",
        )
    return text


def is_valid_uscc(value: object) -> bool:
    """True if ``value`` is a valid USCC exactly as written."""
    try:
        validate_uscc(value)
    except FormatError:
        return False
    return True


# --- GB/T 2260 province codes ------------------------------------------------


def validate_province(value: object) -> str:
    """Check a two-digit GB/T 2260 province code given as a string ("44")."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise FormatError(
            "invalid_province",
            f'write the province code as a string: "{value}" rather than {value}',
            f'省份代码须写成字符串："{value}" 而不是 {value}',
        )
    text = _require_str(value, "a province code", "省份代码")
    if text in PROVINCES:
        return text
    hint_en = hint_zh = ""
    suggestion = province_for_name(text)
    if suggestion is not None:
        name = PROVINCES[suggestion].name_zh
        hint_en = f'; did you mean "{suggestion}" ({name})?'
        hint_zh = f'；是否应为 "{suggestion}"（{name}）？'
    raise FormatError(
        "invalid_province",
        f'{_shown(text)} is not a GB/T 2260 province code (two digits such as "11" Beijing, '
        f'"31" Shanghai, "44" Guangdong){hint_en}',
        f'{_shown(text)} 不是 GB/T 2260 省级行政区划代码（两位数字，如 "11" 北京、"31" 上海、"44" 广东）{hint_zh}',
    )


# --- licence categories and licence numbers ------------------------------------

_CATEGORY_RE = re.compile(r"^[AB][12][0-9]?(?:-[12])?$")


def validate_category(value: object) -> str:
    """Check a 电信业务分类目录 category code: B24, B25, B21, B24-1, A14, B2 …"""
    text = _require_str(value, "a licence category", "业务类别")
    if not _CATEGORY_RE.fullmatch(text):
        raise FormatError(
            "invalid_category",
            f"{_shown(text)} is not a telecom business category code (such as B24 call centre, "
            "B24-1, B25, B21)",
            f"{_shown(text)} 不是电信业务分类代码（如 B24 呼叫中心业务、B24-1、B25、B21）",
        )
    return text


def category_class(category: str) -> str:
    """The licence class a category belongs to: B24-1 → B2, A14 → A1."""
    return category[:2]


@dataclass(frozen=True, slots=True)
class LicenceNumber:
    """A parsed 经营许可证 number such as 粤B2-20230510 or A2.B1.B2-20090001."""

    text: str
    prefix: str | None
    """The provincial abbreviation (粤), or None for an MIIT (nationwide) licence."""
    province: str | None
    """The GB/T 2260 code the prefix stands for ("44"), or None."""
    classes: tuple[str, ...]
    """The business classes the licence covers, in written order (("A2", "B1", "B2"))."""
    serial: str
    """The eight digits after the dash."""


_LICENCE_RE = re.compile(
    r"^(?P<prefix>[^\x00-\x7f])?(?P<classes>[AB][12](?:\.[AB][12])*)-(?P<serial>[0-9]{8})$"
)

_LICENCE_FORM_EN = "such as B2-20220315, 粤B2-20230510 or A2.B1.B2-20090001"
_LICENCE_FORM_ZH = "如 B2-20220315、粤B2-20230510、A2.B1.B2-20090001"


def parse_licence_no(value: object) -> LicenceNumber:
    """Parse a licence number: optional province abbreviation, classes, '-', 8 digits."""
    text = _require_str(value, "a licence number", "许可证编号")
    match = _LICENCE_RE.fullmatch(text)
    if match is None:
        raise FormatError(
            "invalid_licence_no",
            f"{_shown(text)} is not a licence number in its real form ({_LICENCE_FORM_EN})",
            f"{_shown(text)} 不是有效的许可证编号格式（{_LICENCE_FORM_ZH}）",
        )
    prefix = match["prefix"]
    province = None
    if prefix is not None:
        province = province_for_abbreviation(prefix)
        if province is None:
            raise FormatError(
                "invalid_licence_no",
                f"{prefix!r} is not a provincial abbreviation (such as 京, 沪, 粤)",
                f"{prefix!r} 不是省份简称（如 京、沪、粤）",
            )
    classes = tuple(match["classes"].split("."))
    if len(set(classes)) != len(classes):
        raise FormatError(
            "invalid_licence_no",
            f"the licence number {_shown(text)} repeats a business class",
            f"许可证编号 {_shown(text)} 中的业务类别重复",
        )
    return LicenceNumber(text=text, prefix=prefix, province=province, classes=classes, serial=match["serial"])


# --- telephone and code numbers (码号) -------------------------------------------

_NUMBER_SEPARATORS = str.maketrans("", "", " -()")
_NATIONAL_KEEP = (
    re.compile(r"^1[3-9][0-9]{9}$"),  # mobile-style, dialled without a trunk 0
    re.compile(r"^[48]00[0-9]{7}$"),  # 400 / 800 service numbers
    re.compile(r"^9[56][0-9]{3,6}$"),  # 95 / 96 short codes
)


def normalise_number(value: object) -> str:
    """Reduce a telephone or code number to its national digits.

    Spaces, dashes and parentheses are removed. A leading +86 or 0086 is
    removed too; a fixed-line number written internationally (+86 10 1234 5678)
    then regains its trunk 0 (01012345678), so that the same line always has
    the same digits and lands on the same aggregate.
    """
    text = _require_str(value, "a number", "号码")
    rest, international = text, False
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            rest, international = text[len(prefix) :], True
            break
    if len(rest) > 40:
        raise FormatError("invalid_number", "a number is at most 40 characters long", "号码最长 40 个字符")
    bad = next((c for c in rest if c not in "0123456789 -()"), None)
    if bad is not None:
        raise FormatError(
            "invalid_number",
            "a number may contain only digits, spaces, dashes, parentheses and a leading +86 "
            f"(only numbers in China can be recorded); found {bad!r}",
            f"号码只能包含数字、空格、连字符、括号和开头的 +86（只能登记中国境内号码）；发现了 {bad!r}",
        )
    digits = rest.translate(_NUMBER_SEPARATORS)
    if international and not digits.startswith("0") and not any(p.fullmatch(digits) for p in _NATIONAL_KEEP):
        digits = "0" + digits
    if not 3 <= len(digits) <= 20:
        raise FormatError(
            "invalid_number",
            f"a number has 3 to 20 digits, this one has {len(digits)}",
            f"号码应为 3 至 20 位数字，当前为 {len(digits)} 位",
        )
    return digits


_KIND_RULES: dict[str, tuple[re.Pattern[str], str, str]] = {
    "400": (
        re.compile(r"^400[0-9]{7}$"),
        "a 400 number has 10 digits starting with 400",
        "400 号码为 400 开头的 10 位数字",
    ),
    "95": (
        re.compile(r"^95[0-9]{3,6}$"),
        "a 95 number starts with 95 and has 5 to 8 digits",
        "95 号码以 95 开头，共 5 至 8 位",
    ),
    "96": (
        re.compile(r"^96[0-9]{3,6}$"),
        "a 96 number starts with 96 and has 5 to 8 digits",
        "96 号码以 96 开头，共 5 至 8 位",
    ),
    "fixed": (
        re.compile(r"^0[1-9][0-9]{8,10}$"),
        "a fixed-line number is written with its area code: starts with 0, 10 to 12 digits (010-12345678)",
        "固定电话号码须带区号：以 0 开头，共 10 至 12 位（如 010-12345678）",
    ),
    "virtual": (
        re.compile(r"^1[3-9][0-9]{9}$"),
        "a virtual (mobile-style) number has 11 digits starting with 1, such as 170, 171, 162, 165 or 167",
        "虚拟号码为 1 开头的 11 位数字（如 170、171、162、165、167 号段）",
    ),
    "other": (re.compile(r"^[0-9]{3,20}$"), "a number has 3 to 20 digits", "号码应为 3 至 20 位数字"),
}


def validate_number_for_kind(value: object, kind: str) -> str:
    """Normalise a number and check it has the form its kind requires."""
    digits = normalise_number(value)
    pattern, reason_en, reason_zh = _KIND_RULES[str(kind)]
    if not pattern.fullmatch(digits):
        raise FormatError(
            "invalid_number",
            f"{digits} does not fit its kind {kind!s}: {reason_en}",
            f"{digits} 与号码类型 {kind!s} 不符：{reason_zh}",
        )
    return digits


# --- dates and periods ----------------------------------------------------------

_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_QUARTER_RE = re.compile(r"^(?P<year>[0-9]{4})Q(?P<quarter>[1-4])$")
_MONTH_RE = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])$")


def _check_date_range(day: date) -> date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise FormatError(
            "invalid_date",
            f"{day.isoformat()} is outside the plausible range {MIN_DATE.year}–{MAX_DATE.year}",
            f"{day.isoformat()} 超出合理范围（{MIN_DATE.year}–{MAX_DATE.year} 年）",
        )
    return day


def parse_date(value: object) -> date:
    """A calendar date that exists, written YYYY-MM-DD (a local date, no time, no zone)."""
    if isinstance(value, datetime):
        raise FormatError(
            "invalid_date",
            "give a date without a time of day (YYYY-MM-DD)",
            "请填写不含时间的日期（YYYY-MM-DD）",
        )
    if isinstance(value, date):
        return _check_date_range(value)
    text = _require_str(value, "a date", "日期")
    if not _DATE_RE.fullmatch(text):
        raise FormatError(
            "invalid_date",
            f"{_shown(text)} is not a date in the form YYYY-MM-DD (e.g. 2026-03-31)",
            f"{_shown(text)} 不是 YYYY-MM-DD 格式的日期（如 2026-03-31）",
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FormatError(
            "invalid_date",
            f"{text} does not exist in the calendar",
            f"日历上不存在 {text} 这一天",
        ) from None
    return _check_date_range(day)


def validate_year(value: object) -> int:
    """A calendar year as an integer, 2000–2100."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(
            "invalid_year",
            f"a year is a whole number such as 2025, got {_shown(value)}",
            f"年份应为整数（如 2025），收到 {_shown(value)}",
        )
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise FormatError(
            "invalid_year",
            f"the year {value} is outside {MIN_YEAR}–{MAX_YEAR}",
            f"年份 {value} 超出 {MIN_YEAR}–{MAX_YEAR} 的范围",
        )
    return value


def validate_quarter(value: object) -> str:
    """A calendar quarter written like 2026Q1."""
    text = _require_str(value, "a quarter", "季度")
    match = _QUARTER_RE.fullmatch(text)
    if match is None:
        raise FormatError(
            "invalid_quarter",
            f"{_shown(text)} is not a quarter in the form YYYYQn (e.g. 2026Q1)",
            f"{_shown(text)} 不是 YYYYQn 格式的季度（如 2026Q1）",
        )
    validate_year(int(match["year"]))
    return text


def validate_month(value: object) -> str:
    """A calendar month written like 2026-09."""
    text = _require_str(value, "a month", "月份")
    match = _MONTH_RE.fullmatch(text)
    if match is None:
        raise FormatError(
            "invalid_month",
            f"{_shown(text)} is not a month in the form YYYY-MM (e.g. 2026-09)",
            f"{_shown(text)} 不是 YYYY-MM 格式的月份（如 2026-09）",
        )
    validate_year(int(match["year"]))
    return text


# --- amounts and counts ------------------------------------------------------------

_DECIMAL_TEXT_RE = re.compile(r"^[0-9]{1,20}(?:\.[0-9]{1,2})?$")


def _parse_decimal(value: object, *, code: str, what_en: str, what_zh: str) -> Decimal:
    if isinstance(value, bool):
        raise FormatError(
            code, f"{what_en} must be a number, not true/false", f"{what_zh}必须是数字，不能是布尔值"
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest decimal that reads back as this float
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str) and _DECIMAL_TEXT_RE.fullmatch(value):
        amount = Decimal(value)
    else:
        raise FormatError(
            code,
            f"{what_en} must be a number or a decimal string with at most two decimals "
            f'such as "1000000.00", got {_shown(value)}',
            f'{what_zh}必须是数字或最多两位小数的十进制字符串（如 "1000000.00"），收到 {_shown(value)}',
        )
    if not amount.is_finite():
        raise FormatError(code, f"{what_en} must be a finite number", f"{what_zh}必须是有限数值")
    return amount


def _check_cents(amount: Decimal, *, code: str, what_en: str, what_zh: str) -> Decimal:
    if amount != amount.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        raise FormatError(
            code,
            f"{what_en} has at most two decimal places",
            f"{what_zh}最多保留两位小数",
        )
    return amount


def parse_money(value: object) -> Decimal:
    """A non-negative amount of CNY with at most two decimals (fen), below 10 trillion."""
    try:
        amount = _parse_decimal(value, code="invalid_money", what_en="an amount of money", what_zh="金额")
        if amount < 0:
            raise FormatError("invalid_money", "an amount of money cannot be negative", "金额不能为负数")
        if amount >= MAX_MONEY:
            raise FormatError(
                "invalid_money",
                "the amount is implausibly large (10 trillion CNY or more)",
                "金额过大（不少于 10 万亿元），请检查单位",
            )
        return _check_cents(amount, code="invalid_money", what_en="an amount of money", what_zh="金额")
    except (InvalidOperation, OverflowError):
        raise FormatError("invalid_money", "not a valid amount of money", "金额无效") from None


def validate_area(value: object) -> Decimal:
    """A floor area in square metres: positive, at most two decimals."""
    try:
        area = _parse_decimal(value, code="invalid_area", what_en="an area", what_zh="面积")
        if not Decimal(0) < area < Decimal(10) ** 7:
            raise FormatError(
                "invalid_area",
                "an area in square metres must be above 0 and below 10,000,000",
                "面积（平方米）必须大于 0 且小于 10,000,000",
            )
        return _check_cents(area, code="invalid_area", what_en="an area", what_zh="面积")
    except (InvalidOperation, OverflowError):
        raise FormatError("invalid_area", "not a valid area", "面积无效") from None


def validate_count(value: object, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """A whole number of things (calls, seats, people, days) within a range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError(
            "invalid_count",
            f"a count is a whole number, got {_shown(value)}",
            f"数量应为整数，收到 {_shown(value)}",
        )
    if not minimum <= value <= maximum:
        raise FormatError(
            "invalid_count",
            f"{value} is outside the allowed range {minimum}–{maximum}",
            f"{value} 超出允许范围 {minimum}–{maximum}",
        )
    return value


# --- personal data -------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_ID_CARD_RE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
_MOBILE_RE = re.compile(r"(?<![0-9])1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")
_FIXED_RE = re.compile(r"(?<![0-9])\(?0[1-9][0-9]{1,2}\)?[ -]?[0-9]{7,8}(?![0-9])")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

PERSONAL_DATA_KINDS = ("name", "id_card", "mobile", "fixed_line", "email")


def find_personal_data(value: str, kinds: tuple[str, ...] = PERSONAL_DATA_KINDS) -> str | None:
    """Which kind of personal data ``value`` seems to contain, or None.

    The ledger is append-only, so personal data must never enter it (nothing
    could be erased later). This is a guard against obvious mistakes, not a
    classifier: Chinese characters (a name), an ID-card number, a mobile or
    fixed-line number, an e-mail address. A UUID is always accepted.
    """
    if _UUID_RE.fullmatch(value):
        return None
    checks = {
        "name": _CJK_RE,
        "id_card": _ID_CARD_RE,
        "mobile": _MOBILE_RE,
        "fixed_line": _FIXED_RE,
        "email": _EMAIL_RE,
    }
    for kind in kinds:
        if checks[kind].search(value):
            return kind
    return None


_PERSONAL_DATA_REASONS = {
    "name": (
        "this value contains Chinese characters, which may be a person's name",
        "该值包含汉字，可能是人名",
    ),
    "id_card": ("this value looks like an ID-card number", "该值看起来像身份证号码"),
    "mobile": ("this value looks like a mobile phone number", "该值看起来像手机号码"),
    "fixed_line": ("this value looks like a telephone number", "该值看起来像电话号码"),
    "email": ("this value looks like an e-mail address", "该值看起来像电子邮件地址"),
}


def refuse_personal_data(value: str, kinds: tuple[str, ...] = PERSONAL_DATA_KINDS) -> str:
    """Return ``value`` unless it seems to contain personal data (error code ``personal_data``).

    The message deliberately does not echo the value.
    """
    kind = find_personal_data(value, kinds)
    if kind is None:
        return value
    reason_en, reason_zh = _PERSONAL_DATA_REASONS[kind]
    raise FormatError(
        "personal_data",
        f"no personal data may enter the ledger, and {reason_en}; "
        "record people as an opaque reference of your own, such as person-001",
        f"台账中不得记录个人信息，{reason_zh}；请使用自定义的匿名编号（如 person-001）表示人员",
    )
