"""The real-world formats: USCC, provinces, licence numbers, phone numbers, dates, money."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from ledger_contracts import formats
from ledger_contracts.errors import FormatError
from ledger_contracts.formats import USCC_CHARSET
from ledger_contracts.provinces import PROVINCE_CODES, PROVINCES, province_for_abbreviation

VALID_USCCS = [
    "91310115MA1K4B8N68",  # the scenarios' companies
    "91110108MA01QH2E3L",
    "91110105MA00ABCD1G",
    "91440300MA5G7C1P90",
]


def refused(check, *args, code: str | None = None, **kwargs) -> FormatError:
    with pytest.raises(FormatError) as caught:
        check(*args, **kwargs)
    error = caught.value
    assert error.reason_en and error.reason_zh
    if code is not None:
        assert error.code == code
    return error


# --- USCC -----------------------------------------------------------------------------


@pytest.mark.parametrize("uscc", VALID_USCCS)
def test_valid_usccs_pass(uscc):
    assert formats.validate_uscc(uscc) == uscc
    assert formats.is_valid_uscc(uscc)


def test_check_char_matches_gb32100():
    # weights 3^i mod 31; check = 31 - sum % 31, 31 -> 0
    body = "91310115MA1K4B8N6"
    total = sum(USCC_CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    assert formats.uscc_check_char(body) == USCC_CHARSET[(31 - total % 31) % 31] == "8"


def test_check_char_31_becomes_0():
    # find a body whose raw sum is divisible by 31: its check character is "0"
    bodies = (f"9131011500{n:07d}" for n in range(10_000))
    body = next(
        b for b in bodies if sum(USCC_CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(b)) % 31 == 0
    )
    assert formats.uscc_check_char(body) == "0"
    assert formats.is_valid_uscc(body + "0")


@pytest.mark.parametrize("uscc", VALID_USCCS)
def test_every_single_character_corruption_is_refused(uscc):
    alphabet = USCC_CHARSET + "IOZSV" + "abcxyz" + "-_ 中"
    for position in range(18):
        for char in alphabet:
            if char == uscc[position]:
                continue
            corrupted = uscc[:position] + char + uscc[position + 1 :]
            assert not formats.is_valid_uscc(corrupted), corrupted


def test_uscc_reasons_are_specific():
    assert "18" in refused(formats.validate_uscc, "9131011", code="invalid_uscc").reason_en
    assert "upper case" in refused(formats.validate_uscc, "91310115ma1k4b8n68").reason_en
    assert "大写" in refused(formats.validate_uscc, "91310115ma1k4b8n68").reason_zh
    assert "position 9" in refused(formats.validate_uscc, "91310115IA1K4B8N68").reason_en
    assert "3–8" in refused(formats.validate_uscc, "9131A115MA1K4B8N68").reason_en
    assert "check digit" in refused(formats.validate_uscc, "91310115MA1K4B8N69").reason_en
    assert "spaces" in refused(formats.validate_uscc, " 91310115MA1K4B8N68").reason_en
    refused(formats.validate_uscc, 91310115, code="invalid_type")


def test_check_char_needs_17_valid_characters():
    refused(formats.uscc_check_char, "123")
    refused(formats.uscc_check_char, "9131011500000000I")


# --- provinces ------------------------------------------------------------------------------


def test_province_table():
    assert PROVINCE_CODES == (
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
        "71", "81", "82",
    )  # fmt: skip
    assert (
        "".join(p.abbreviation for p in PROVINCES.values())
        == "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新台港澳"
    )
    assert PROVINCES["44"].name_zh == "广东省" and PROVINCES["44"].short_zh == "广东"
    assert PROVINCES["65"].short_zh == "新疆"
    assert province_for_abbreviation("粤") == "44"
    assert province_for_abbreviation("蜀") == "51"
    assert province_for_abbreviation("X") is None


@pytest.mark.parametrize("code", PROVINCE_CODES)
def test_every_province_code_passes(code):
    assert formats.validate_province(code) == code


@pytest.mark.parametrize("bad", ["00", "10", "1", "110", "44 ", "99", ""])
def test_bad_province_codes(bad):
    refused(formats.validate_province, bad, code="invalid_province")


def test_province_hints():
    assert '"44"' in refused(formats.validate_province, 44).reason_en
    assert '"44"' in refused(formats.validate_province, "广东").reason_en
    assert '"11"' in refused(formats.validate_province, "Beijing").reason_en
    refused(formats.validate_province, None, code="invalid_type")


# --- categories and licence numbers ---------------------------------------------------------


@pytest.mark.parametrize("category", ["B24", "B25", "B21", "B24-1", "B24-2", "A14", "B2", "A2"])
def test_categories(category):
    assert formats.validate_category(category) == category


@pytest.mark.parametrize("bad", ["b24", "B3", "C24", "B245", "B24-3", "B24-", "24", ""])
def test_bad_categories(bad):
    refused(formats.validate_category, bad, code="invalid_category")


def test_category_class():
    assert formats.category_class("B24-1") == "B2"
    assert formats.category_class("A14") == "A1"


@pytest.mark.parametrize(
    ("text", "province", "classes"),
    [
        ("B2-20220315", None, ("B2",)),
        ("粤B2-20230510", "44", ("B2",)),
        ("京B2-20190001", "11", ("B2",)),
        ("A2.B1.B2-20090001", None, ("A2", "B1", "B2")),
        ("沪B1.B2-20150002", "31", ("B1", "B2")),
        ("蜀B2-20200003", "51", ("B2",)),
    ],
)
def test_licence_numbers(text, province, classes):
    parsed = formats.parse_licence_no(text)
    assert (parsed.text, parsed.province, parsed.classes) == (text, province, classes)
    assert len(parsed.serial) == 8


@pytest.mark.parametrize(
    "bad",
    ["B2-2022031", "B2-202203150", "B2 20220315", "b2-20220315", "B3-20220315", "X京B2-20220315",
     "京ICP证000001号", "甲B2-20220315", "B2.B2-20220315", "B2-2022031５", "", "B2-"],
)  # fmt: skip
def test_bad_licence_numbers(bad):
    refused(formats.parse_licence_no, bad, code="invalid_licence_no")


def test_unknown_prefix_is_named():
    assert "甲" in refused(formats.parse_licence_no, "甲B2-20220315").reason_en


# --- phone and code numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("4006001234", "4006001234"),
        ("400-600-1234", "4006001234"),
        ("400 600 1234", "4006001234"),
        ("(010) 1234-5678", "01012345678"),
        ("+86 10 1234 5678", "01012345678"),
        ("0086 20 8765 4321", "02087654321"),
        ("+86 (0)10 12345678", "01012345678"),
        ("+86 400 600 1234", "4006001234"),
        ("+86 170 1234 5678", "17012345678"),
        ("+86 0411 1234567", "04111234567"),
        ("+86 411 1234567", "04111234567"),
        ("95555", "95555"),
        ("96885", "96885"),
    ],
)
def test_numbers_are_reduced_to_digits(raw, digits):
    assert formats.normalise_number(raw) == digits


@pytest.mark.parametrize(
    "bad", ["12", "abc", "+1 212 555 0100", "400.600.1234", "４００6001234", "1" * 21, 4006001234]
)
def test_bad_numbers(bad):
    error = refused(formats.normalise_number, bad)
    assert error.code in {"invalid_number", "invalid_type"}


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("400", ["4006001234", "400-820-8820"], ["400600123", "40060012345", "8006001234"]),
        ("95", ["95555", "95588", "95105888"], ["9555", "951058881", "96555"]),
        ("96", ["96885", "96123456"], ["9688", "961234567", "95885"]),
        ("fixed", ["010-12345678", "0755-1234567", "075512345678"], ["12345678", "010-1234", "0012345678"]),
        (
            "virtual",
            ["17012345678", "16512345678", "13800138000"],
            ["1701234567", "12012345678", "27012345678"],
        ),
        ("other", ["110", "12345678901234567890"], ["12", "123456789012345678901"]),
    ],
)
def test_number_kinds(kind, good, bad):
    for number in good:
        formats.validate_number_for_kind(number, kind)
    for number in bad:
        refused(formats.validate_number_for_kind, number, kind, code="invalid_number")


# --- dates and periods ------------------------------------------------------------------------


def test_dates():
    assert formats.parse_date("2024-02-29") == date(2024, 2, 29)
    assert formats.parse_date(date(2026, 1, 1)) == date(2026, 1, 1)
    assert "does not exist" in refused(formats.parse_date, "2026-02-29", code="invalid_date").reason_en
    for bad in ["2026-2-1", "20260201", "2026/02/01", "2026-02-01T00:00:00", " 2026-02-01", "", "0202-03-15"]:
        refused(formats.parse_date, bad, code="invalid_date")
    refused(formats.parse_date, datetime(2026, 1, 1), code="invalid_date")
    refused(formats.parse_date, 20260101, code="invalid_type")


def test_quarters_months_years():
    assert formats.validate_quarter("2026Q1") == "2026Q1"
    for bad in ["2026Q5", "2026q1", "2026-Q1", "1999Q4", "Q1 2026"]:
        refused(formats.validate_quarter, bad)
    assert formats.validate_month("2026-09") == "2026-09"
    for bad in ["2026-9", "2026-13", "2026-00", "202609", "1999-12"]:
        refused(formats.validate_month, bad)
    assert formats.validate_year(2025) == 2025
    for bad in [1999, 2101, "2025", 2025.0, True]:
        refused(formats.validate_year, bad, code="invalid_year")


# --- money and counts -----------------------------------------------------------------------------


def test_money():
    assert formats.parse_money(0) == 0
    assert formats.parse_money(3000000) == Decimal(3000000)
    assert formats.parse_money("12345.60") == Decimal("12345.60")
    assert formats.parse_money(0.1) == Decimal("0.1")
    assert formats.parse_money(Decimal("5.25")) == Decimal("5.25")
    for bad in [-1, "-1", 1.005, "1.005", "1e3", float("nan"), float("inf"), True, None, 10**13, "abc", ""]:
        refused(formats.parse_money, bad, code="invalid_money")


def test_area():
    assert formats.validate_area(420.5) == Decimal("420.5")
    for bad in [0, -3, "0", 1.234, 10**7]:
        refused(formats.validate_area, bad, code="invalid_area")


def test_counts():
    assert formats.validate_count(0) == 0
    for bad in [-1, 1.0, "3", True, None, 10**13]:
        refused(formats.validate_count, bad, code="invalid_count")
    refused(formats.validate_count, 0, minimum=1)


# --- personal data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("张三", "name"),
        ("person-张", "name"),
        ("110101199003071234", "id_card"),
        ("11010119900307123X", "id_card"),
        ("p-110101900307123", "id_card"),
        ("13812345678", "mobile"),
        ("138-1234-5678", "mobile"),
        ("zhang 138 1234 5678", "mobile"),
        ("010-12345678", "fixed_line"),
        ("(0755)1234567", "fixed_line"),
        ("zhang.san@example.com", "email"),
    ],
)
def test_personal_data_is_found(value, kind):
    assert formats.find_personal_data(value) == kind
    error = refused(formats.refuse_personal_data, value, code="personal_data")
    assert value not in error.reason_en  # never echoed


@pytest.mark.parametrize(
    "value",
    ["person-001", "E1234567", "staff/42", "550e8400-e29b-41d4-a716-446655440000",
     "01384012-0138-4012-0138-013812345678", "tech-lead-2024"],
)  # fmt: skip
def test_opaque_references_are_not_personal_data(value):
    assert formats.find_personal_data(value) is None


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (formats.validate_uscc, "91310115MA1K4B8N68\n"),
        (formats.validate_category, "B24\n"),
        (formats.parse_licence_no, "B2-20220315\n"),
        (formats.normalise_number, "4006001234\n"),
        (formats.parse_date, "2026-01-01\n"),
        (formats.validate_quarter, "2026Q1\n"),
        (formats.validate_month, "2026-09\n"),
        (formats.parse_money, "100\n"),
    ],
)
def test_a_trailing_newline_is_not_ignored(check, value):
    refused(check, value)


def test_token_safety_ignores_no_trailing_newline():
    from ledger_contracts.catalogue import is_token_safe

    assert is_token_safe("B2-20220315")
    assert not is_token_safe("B2-20220315\n")
