"""Fact validation: examples, envelope, payload checks, structured bilingual errors, routing."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from contracts_support import TODAY
from ledger_contracts import (
    CATALOGUE,
    FACT_TYPES,
    AnyFact,
    FactRejected,
    ValidFact,
    aggregate_id,
    fact_model,
    is_token_safe,
    validate_fact,
)
from ledger_contracts.errors import ERROR_CODES
from ledger_contracts.examples import (
    EXAMPLE_COMPANY,
    EXAMPLE_SEQUENCE,
    EXAMPLES,
    example_fact,
    example_sequence,
)
from ledger_contracts.formats import is_valid_uscc
from pydantic import TypeAdapter, ValidationError


def rejected(raw, today: date = TODAY) -> dict[str, set[str]]:
    """Validate expecting a refusal; return field -> codes."""
    with pytest.raises(FactRejected) as caught:
        validate_fact(raw, today=today)
    by_field: dict[str, set[str]] = {}
    for error in caught.value.errors:
        assert error.reason_en and error.reason_zh
        assert error.code in ERROR_CODES, error.code
        by_field.setdefault(error.field, set()).add(error.code)
    return by_field


def with_data(fact_type: str, **changes) -> dict:
    fact = example_fact(fact_type)
    fact["data"].update(changes)
    return fact


# --- examples -----------------------------------------------------------------------------


def test_examples_cover_every_type_in_catalogue_order():
    assert tuple(EXAMPLES) == FACT_TYPES
    # every type has its committed schema and no committed schema lost its type (a model dropped by mistake)
    schemas = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
    assert {p.name.removesuffix(".v1.json") for p in schemas.glob("*.v1.json")} == set(FACT_TYPES)


@pytest.mark.parametrize("fact_type", FACT_TYPES)
def test_example_validates(fact_type):
    fact = validate_fact(example_fact(fact_type), today=TODAY)
    assert isinstance(fact, ValidFact)
    assert fact.type == fact_type
    assert is_token_safe(fact.aggregate_id)
    assert fact.owner == CATALOGUE[fact_type].owner.value
    assert fact.dataschema.endswith(f"/{fact_type}.v1.json")
    # the canonical form validates again to the same thing
    again = validate_fact(json.dumps(fact.to_json(), ensure_ascii=False).encode(), today=TODAY)
    assert again.data == fact.data and again.aggregate_id == fact.aggregate_id


def test_example_sequence_is_in_date_order_and_valid():
    days = [fact["effective_date"] for fact in EXAMPLE_SEQUENCE]
    assert days == sorted(days)
    assert is_valid_uscc(EXAMPLE_COMPANY)
    for fact in example_sequence():
        validate_fact(fact, today=date(2026, 7, 1))
    assert len({fact["idempotency_key"] for fact in EXAMPLE_SEQUENCE}) == len(EXAMPLE_SEQUENCE)


def test_example_copies_are_independent():
    fact = example_fact("licence.issued")
    fact["data"]["licence_no"] = "changed"
    assert EXAMPLES["licence.issued"]["data"]["licence_no"] == "B2-20220315"


# --- the envelope ------------------------------------------------------------------------------


def test_effective_date_defaults_to_the_given_today():
    fact = example_fact("site.vacated")
    del fact["effective_date"]
    assert validate_fact(fact, today=date(2026, 1, 2)).effective_date == date(2026, 1, 2)


def test_effective_date_may_be_today_but_not_tomorrow():
    fact = example_fact("site.vacated")
    fact["effective_date"] = TODAY.isoformat()
    validate_fact(fact, today=TODAY)
    fact["effective_date"] = (TODAY + timedelta(days=1)).isoformat()
    assert rejected(fact) == {"effective_date": {"date_in_future"}}


def test_past_event_dates_may_not_be_in_the_future():
    fact = with_data("licence.issued", issued_on="2026-12-01", expires_on="2031-11-30")
    fact["effective_date"] = "2026-11-01"
    assert rejected(fact) == {"data.issued_on": {"date_in_future"}}
    # an expiry date is naturally in the future
    validate_fact(with_data("licence.renewed", new_expires_on="2040-01-01"), today=TODAY)


def test_unknown_type_suggests_close_names():
    fact = example_fact("licence.issued")
    fact["type"] = "licence.isued"
    with pytest.raises(FactRejected) as caught:
        validate_fact(fact, today=TODAY)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("type", "unknown_type")
    assert "licence.issued" in error.reason_en and "licence.issued" in error.reason_zh


def test_unknown_type_reason_stays_short():
    fact = example_fact("licence.issued")
    fact["type"] = "x" * 10_000
    with pytest.raises(FactRejected) as caught:
        validate_fact(fact, today=TODAY)
    assert len(caught.value.errors[0].reason_en) < 400


def test_envelope_problems_are_all_reported():
    raw = {"type": 5, "company": "91310115MA1K4B8N69", "effective_date": "2026-02-30", "data": [], "extra": 1}
    assert rejected(raw) == {
        "type": {"invalid_type"},
        "company": {"invalid_uscc"},
        "effective_date": {"invalid_date"},
        "data": {"invalid_type"},
        "extra": {"extra_forbidden"},
    }


def test_missing_envelope_fields():
    assert rejected({}) == {"type": {"missing"}, "company": {"missing"}, "data": {"missing"}}


def test_envelope_and_payload_errors_together():
    fact = with_data("licence.issued", authority=None)
    fact["company"] = "bad"
    assert rejected(fact) == {"company": {"invalid_uscc"}, "data.authority": {"invalid_type"}}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"type": NaN}', "invalid_json"),
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b"[]", "invalid_type"),
        (b"null", "invalid_type"),
        (b"[" * 100_000, "invalid_json"),
        (b" " * 1_000_001, "too_large"),
        ('{"type": 1', "invalid_json"),
    ],
)
def test_undecodable_input(raw, code):
    assert rejected(raw) == {"": {code}}


def test_bytes_and_text_and_dict_agree():
    fact = example_fact("number.allocated")
    as_text = json.dumps(fact, ensure_ascii=False)
    results = [validate_fact(x, today=TODAY) for x in (fact, as_text, as_text.encode())]
    assert results[0] == results[1] == results[2]


def test_idempotency_key():
    fact = example_fact("site.vacated")
    fact["idempotency_key"] = "a b"
    assert rejected(fact) == {"idempotency_key": {"invalid_idempotency_key"}}
    fact["idempotency_key"] = None
    assert validate_fact(fact, today=TODAY).idempotency_key is None


def test_errors_are_plain_dicts_for_problem_documents():
    with pytest.raises(FactRejected) as caught:
        validate_fact({"type": "x"}, today=TODAY)
    for item in caught.value.as_dicts():
        assert set(item) == {"field", "code", "reason_en", "reason_zh"}
    json.dumps(caught.value.as_dicts())


# --- payload checks ------------------------------------------------------------------------------


def test_unknown_payload_field_is_refused():
    assert rejected(with_data("site.vacated", site_name="x")) == {"data.site_name": {"extra_forbidden"}}


def test_missing_payload_field():
    fact = example_fact("licence.issued")
    del fact["data"]["expires_on"]
    assert rejected(fact) == {"data.expires_on": {"missing"}}


def test_enum_values_exactly_as_listed():
    assert rejected(with_data("company.registered", industry="Finance")) == {
        "data.industry": {"invalid_choice"}
    }
    assert rejected(with_data("number.allocated", kind=400)) == {"data.kind": {"invalid_choice"}}


def test_strict_booleans_and_integers():
    assert rejected(with_data("site.leased", sublease="false")) == {"data.sublease": {"invalid_type"}}
    assert rejected(with_data("site.leased", workstations="120")) == {"data.workstations": {"invalid_count"}}


def test_licence_issued_dates_in_order():
    fact = with_data("licence.issued", expires_on="2022-03-15")
    assert rejected(fact) == {"data.expires_on": {"date_order"}}


def test_provincial_licence_needs_a_province():
    fact = with_data("licence.issued", licence_no="B2-20230510", scope="provincial", provinces=[])
    assert rejected(fact) == {"data.provinces": {"provinces_required"}}
    fact["data"]["provinces"] = ["44"]
    validate_fact(fact, today=TODAY)


def test_nationwide_licence_may_list_no_province():
    assert validate_fact(with_data("licence.issued", provinces=[]), today=TODAY).data.provinces == []


def test_provincial_prefix_must_match_province():
    good = with_data("licence.issued", licence_no="粤B2-20230510", scope="provincial", provinces=["44"])
    validate_fact(good, today=TODAY)
    bad = with_data("licence.issued", licence_no="粤B2-20230510", scope="provincial", provinces=["11"])
    assert rejected(bad) == {"data.provinces": {"licence_prefix_mismatch"}}
    nationwide = with_data("licence.issued", licence_no="粤B2-20230510", scope="nationwide", provinces=[])
    assert rejected(nationwide) == {"data.licence_no": {"licence_prefix_mismatch"}}


def test_licence_applied_checks_prefix_but_accepts_application_refs():
    bad = with_data("licence.applied", licence_no="京B2-20230510", scope="provincial", provinces=["44"])
    assert rejected(bad) == {"data.provinces": {"licence_prefix_mismatch"}}
    ref = with_data("licence.applied", licence_no="受理-2021-0042")
    assert validate_fact(ref, today=TODAY).aggregate_id.startswith("l")


def test_category_must_belong_to_the_licence_classes():
    assert rejected(with_data("licence.issued", category="A14")) == {
        "data.category": {"category_class_mismatch"}
    }
    validate_fact(with_data("licence.issued", licence_no="A1.B2-20220315", category="A14"), today=TODAY)
    assert rejected(with_data("licence.issued", category="B24-3")) == {"data.category": {"invalid_category"}}


def test_duplicate_provinces_refused():
    fact = with_data("licence.issued", scope="nationwide", provinces=["11", "11"])
    assert rejected(fact) == {"data.provinces": {"duplicate_item"}}


def test_obligation_waiver_requires_a_reason():
    fact = example_fact("company.obligation_waived")
    del fact["data"]["reason"]
    assert rejected(fact) == {"data.reason": {"missing"}}
    assert rejected(with_data("company.obligation_waived", reason=" \n ")) == {"data.reason": {"blank"}}


@pytest.mark.parametrize(
    "person_ref", ["张三", "110101199003071234", "13812345678", "138 1234 5678", "a@b.cn", "010-12345678"]
)
def test_key_person_ref_refuses_personal_data(person_ref):
    assert rejected(with_data("workforce.key_person_appointed", person_ref=person_ref)) == {
        "data.person_ref": {"personal_data"}
    }


def test_legal_representative_change_refuses_personal_data():
    fact = with_data("company.registration_changed", new="李四")
    assert rejected(fact) == {"data.new": {"personal_data"}}
    fact = with_data("company.registration_changed", old="11010119900307123X")
    assert rejected(fact) == {"data.old": {"personal_data"}}


def test_registration_change_values_by_field():
    validate_fact(
        with_data("company.registration_changed", field="name", old="甲公司", new="乙公司"), today=TODAY
    )
    validate_fact(
        with_data("company.registration_changed", field="contact", old="010-12345678", new="010-87654321"),
        today=TODAY,
    )
    mobile = with_data("company.registration_changed", field="contact", old="010-12345678", new="13812345678")
    assert rejected(mobile) == {"data.new": {"personal_data"}}
    capital = with_data("company.registration_changed", field="registered_capital", old="1000000", new="lots")
    assert rejected(capital) == {"data.new": {"invalid_money"}}
    same = with_data("company.registration_changed", old="person-001", new="person-001")
    assert rejected(same) == {"data.new": {"no_change"}}


def test_number_must_fit_its_kind():
    assert rejected(with_data("number.allocated", kind="95")) == {"data.number": {"invalid_number"}}
    fact = validate_fact(with_data("number.allocated", number="+86 10 1234 5678", kind="fixed"), today=TODAY)
    assert fact.data.number == "01012345678" == fact.aggregate_id


def test_annual_report_year_is_the_year_reported_on():
    fact = with_data("licence.annual_report_submitted", year=2023, submitted_on="2023-03-20")
    assert rejected(fact) == {"data.year": {"year_not_reported_on"}}


def test_traffic_parts_within_totals():
    fact = with_data("traffic.period_reported", outbound_calls=90000)
    assert rejected(fact) == {"data.outbound_calls": {"exceeds_total"}}
    assert rejected(with_data("traffic.spot_check_recorded", passed=51)) == {"data.passed": {"exceeds_total"}}
    assert rejected(with_data("traffic.spot_check_recorded", sampled=0, passed=0)) == {
        "data.sampled": {"invalid_count"}
    }


def test_penalty_consistency():
    assert rejected(with_data("penalty.imposed", received_on="2024-02-28")) == {
        "data.received_on": {"date_order"}
    }
    no_order = with_data("penalty.imposed", orders_rectification=False)
    assert rejected(no_order) == {"data.rectification_due": {"inconsistent"}}
    validate_fact(with_data("penalty.imposed", rectification_due=None), today=TODAY)


def test_licence_refused_names_the_application_by_number_or_reference():
    by_ref = validate_fact(example_fact("licence.refused"), today=TODAY)
    applied = validate_fact(with_data("licence.applied", licence_no=by_ref.data.licence_no), today=TODAY)
    assert by_ref.aggregate_id == applied.aggregate_id == "APP-JS-2024-0815"  # the application's aggregate
    assert by_ref.owner == "licences" and by_ref.aggregate_type == "licence"
    by_number = validate_fact(with_data("licence.refused", licence_no="粤B2-20230510"), today=TODAY)
    assert by_number.aggregate_id == aggregate_id("licence.issued", EXAMPLE_COMPANY, {"licence_no": "粤B2-20230510"})
    assert rejected(with_data("licence.refused", reason=" ")) == {"data.reason": {"blank"}}
    assert rejected(with_data("licence.refused", licence_no=" APP-1")) == {"data.licence_no": {"invalid_format"}}
    fact = example_fact("licence.refused")
    del fact["data"]["reason"]
    assert rejected(fact) == {"data.reason": {"missing"}}


def test_licence_reinstated_carries_only_the_licence_number():
    fact = validate_fact(example_fact("licence.reinstated"), today=TODAY)
    assert fact.data_json() == {"licence_no": "B2-20220315"} and fact.aggregate_id == "B2-20220315"
    assert rejected(with_data("licence.reinstated", licence_no="B2-2022")) == {"data.licence_no": {"invalid_licence_no"}}
    assert rejected(with_data("licence.reinstated", reason="x")) == {"data.reason": {"extra_forbidden"}}


def test_rectification_deadline_recorded_needs_a_real_date_on_the_decisions_aggregate():
    fact = validate_fact(example_fact("penalty.rectification_deadline_recorded"), today=TODAY)
    assert fact.data_json()["rectification_due"] == "2025-06-30"
    imposed = validate_fact(with_data("penalty.imposed", decision_no=fact.data.decision_no), today=TODAY)
    assert fact.aggregate_id == imposed.aggregate_id and fact.owner == "penalties"
    # a deadline is naturally in the future; one already past is recorded too (the obligation is born overdue)
    validate_fact(with_data("penalty.rectification_deadline_recorded", rectification_due="2030-01-31"), today=TODAY)
    assert rejected(with_data("penalty.rectification_deadline_recorded", rectification_due="2025-02-30")) == {
        "data.rectification_due": {"invalid_date"}
    }
    assert rejected(with_data("penalty.rectification_deadline_recorded", rectification_due=None)) == {
        "data.rectification_due": {"invalid_type"}
    }
    missing = example_fact("penalty.rectification_deadline_recorded")
    del missing["data"]["rectification_due"]
    assert rejected(missing) == {"data.rectification_due": {"missing"}}


def test_lease_dates_in_order():
    assert rejected(with_data("site.leased", lease_end="2022-04-30")) == {"data.lease_end": {"date_order"}}


def test_vendor_is_not_the_company_itself():
    fact = with_data("outsourcing.ended", vendor_uscc=EXAMPLE_COMPANY)
    assert rejected(fact) == {"data.vendor_uscc": {"self_outsourcing"}}


def test_money_is_stored_as_a_json_number():
    fact = validate_fact(with_data("penalty.paid", amount="10000.50"), today=TODAY)
    assert fact.data_json()["amount"] == 10000.5
    assert (
        validate_fact(example_fact("company.registered"), today=TODAY).data_json()["registered_capital"]
        == 12000000
    )


# --- routing ----------------------------------------------------------------------------------------


def test_aggregate_ids():
    company = EXAMPLE_COMPANY
    assert aggregate_id("company.registered", company, {}) == company
    assert aggregate_id("traffic.spot_check_recorded", company, {}) == company
    assert aggregate_id("licence.issued", company, {"licence_no": "B2-20220315"}) == "B2-20220315"
    hashed = "l" + hashlib.sha256("粤B2-20230510".encode()).hexdigest()[:16]
    assert aggregate_id("licence.issued", company, {"licence_no": "粤B2-20230510"}) == hashed
    assert aggregate_id("number.filed", company, {"number": "400-600-1234"}) == "4006001234"
    decision = "京通管罚〔2024〕12号"
    assert aggregate_id("penalty.paid", company, {"decision_no": decision}) == (
        "p" + hashlib.sha256(decision.encode()).hexdigest()[:16]
    )
    assert aggregate_id("site.vacated", company, {"site_ref": "SH-01"}) == "SH-01"
    assert aggregate_id("site.vacated", company, {"site_ref": "徐汇 1号"}).startswith("s")
    assert aggregate_id("facility.mlps_filed", company, {"system_ref": "a.b"}).startswith("f")
    assert (
        aggregate_id("outsourcing.ended", company, {"vendor_uscc": "91110105MA00ABCD1G"})
        == "91110105MA00ABCD1G"
    )
    with pytest.raises(KeyError):
        aggregate_id("nope.nothing", company, {})
    with pytest.raises(ValueError):
        aggregate_id("licence.issued", company, {})


def test_every_example_routes_to_a_token_safe_id():
    for fact in EXAMPLE_SEQUENCE:
        valid = validate_fact(fact, today=TODAY)
        assert is_token_safe(valid.aggregate_id)
        assert aggregate_id(valid.type, valid.company, valid.data_json()) == valid.aggregate_id


# --- the typed union -----------------------------------------------------------------------------------


def test_any_fact_discriminates_by_type():
    adapter = TypeAdapter(AnyFact)
    for fact_type in FACT_TYPES:
        model = adapter.validate_python(example_fact(fact_type))
        assert type(model) is fact_model(fact_type)
        assert type(model.data) is CATALOGUE[fact_type].payload
    with pytest.raises(ValidationError):
        adapter.validate_python({**example_fact("site.vacated"), "type": "site.gone"})
    schema = adapter.json_schema()
    assert set(schema["discriminator"]["mapping"]) == set(FACT_TYPES)


def test_any_fact_in_fastapi_openapi():
    fastapi = pytest.importorskip("fastapi")
    app = fastapi.FastAPI()

    @app.post("/v1/facts")
    def post_fact(fact: AnyFact) -> dict:  # type: ignore[valid-type]
        return {"type": fact.type}

    schemas = app.openapi()["components"]["schemas"]
    assert {"LicenceIssuedFact", "LicenceIssued", "NumberAllocatedFact"} <= set(schemas)


def test_every_error_code_in_the_source_is_registered():
    import ast
    from pathlib import Path

    import ledger_contracts
    from ledger_contracts.pydantic_errors import _BUILTIN

    code_arg = {"FormatError": 0, "_refuse": 1, "FieldError": 1, "_reject_root": 0}
    codes = {code for code, _, _ in _BUILTIN.values()}
    for path in Path(ledger_contracts.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            index = code_arg.get(name)
            if index is not None and len(node.args) > index and isinstance(node.args[index], ast.Constant):
                codes.add(node.args[index].value)
            codes |= {
                kw.value.value
                for kw in node.keywords
                if kw.arg == "code" and isinstance(kw.value, ast.Constant)
            }
    assert codes <= set(ERROR_CODES), sorted(codes - set(ERROR_CODES))


def test_idempotency_key_with_a_trailing_newline_is_refused():
    fact = example_fact("site.vacated")
    fact["idempotency_key"] = "abc\n"
    assert rejected(fact) == {"idempotency_key": {"invalid_idempotency_key"}}
