"""Valid example facts: one company's plausible history touching every fact type.

Other packages reuse these to drive the whole system end to end:
:data:`EXAMPLE_SEQUENCE` is in date order and respects the services' own
invariants as far as a story can (a licence is issued before it is renewed, a
penalty is imposed before it is paid), so appending it to an empty ledger
should succeed fact by fact. :data:`EXAMPLES` picks the first fact of each
type from it. All dates lie before 2026-07-01, so they are valid for any
``today`` after that; the USCCs carry correct GB 32100 check digits.

Use :func:`example_fact` / :func:`example_sequence` to get copies you may change.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .catalogue import FACT_TYPES
from .formats import uscc_check_char

__all__ = [
    "EXAMPLES",
    "EXAMPLE_COMPANY",
    "EXAMPLE_SEQUENCE",
    "EXAMPLE_VENDOR",
    "LATEST_EXAMPLE_DATE",
    "example_fact",
    "example_sequence",
]


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


EXAMPLE_COMPANY = _uscc("91310115MA1EXAMP0")
"""A Shanghai company (valid check digit)."""
EXAMPLE_VENDOR = _uscc("91320500MA1WEND0R")
"""Its call-centre vendor in Suzhou (valid check digit)."""

LICENCE = "B2-20220315"
PROVINCIAL_LICENCE = "粤B2-20230510"
NUMBER = "4006001234"
SITE = "SH-XUHUI-01"
SYSTEM = "cc-platform"
PENALTY = "沪通管罚〔2024〕3号"
SECOND_PENALTY = "沪通管罚〔2025〕7号"
THIRD_PENALTY = "沪通管罚〔2025〕21号"
APPLICATION = "APP-JS-2024-0815"  # an application reference (受理编号): the licence was refused

# (effective_date, type, data)
_STORY: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("2021-06-01", "company.registered", {
        "name": "上海示例客服外包有限公司", "registered_capital": 12000000, "province": "31",
        "industry": "other", "business_scope": ["呼叫中心业务", "信息技术咨询服务"]}),
    ("2021-06-01", "company.capabilities_declared", {
        "ai_outbound": True, "algorithm_filing_no": "网信算备310115000000001号",
        "cross_border": False, "data_export_filing_no": None}),
    ("2021-06-01", "company.tracking_started", {
        "tracked_from": "2021-06-01", "attested_by": "client compliance officer 客户合规负责人",
        "note": "tracked from registration: no earlier history"}),
    ("2021-12-01", "licence.applied", {
        "licence_no": LICENCE, "category": "B24", "scope": "nationwide", "provinces": [],
        "authority": "MIIT"}),
    ("2022-03-15", "licence.issued", {
        "licence_no": LICENCE, "category": "B24", "scope": "nationwide", "provinces": [],
        "issued_on": "2022-03-15", "expires_on": "2027-03-14", "authority": "MIIT"}),
    ("2022-04-01", "outsourcing.arranged", {
        "mode": "bpo", "vendor_uscc": EXAMPLE_VENDOR, "vendor_name": "苏州示例通信服务有限公司",
        "vendor_licence_no": "B2-20190042", "vendor_licence_category": "B24",
        "vendor_licence_expires_on": "2029-05-01", "provinces_served": ["31", "32"]}),
    ("2022-04-02", "outsourcing.vendor_verified", {
        "vendor_uscc": EXAMPLE_VENDOR, "verified_on": "2022-04-02", "name_matches": True,
        "uscc_matches": True, "category_ok": True, "status_valid": True, "coverage_ok": True,
        "evidence_ref": "evidence/vendor-2022-04-02.pdf"}),
    ("2022-05-01", "site.leased", {
        "site_ref": SITE, "province": "31", "address": "上海市徐汇区示例路100号5楼", "area_m2": 420.5,
        "lease_start": "2022-05-01", "lease_end": "2027-04-30", "purpose_text": "办公、呼叫中心",
        "sublease": False, "owner_consent": False, "workstations": 120}),
    ("2022-05-10", "facility.mlps_filed", {
        "system_ref": SYSTEM, "level": 3, "filing_no": "31010499001-22001"}),
    ("2022-06-01", "number.allocated", {
        "number": "400-600-1234", "kind": "400", "province": "31", "provider": "中国电信",
        "purpose": "客户服务"}),
    ("2022-06-10", "number.filed", {"number": NUMBER}),
    ("2022-06-15", "number.activated", {"number": NUMBER}),
    ("2022-06-20", "number.activation_reported", {"number": NUMBER}),
    ("2022-07-05", "number.fee_paid", {"number": NUMBER, "quarter": "2022Q3"}),
    ("2022-07-10", "workforce.key_person_appointed", {"role": "security_officer", "person_ref": "person-003"}),
    ("2022-08-01", "workforce.seats_declared", {
        "declared_seats": 120, "system_registered_seats": 120, "overseas_seats": 0}),
    ("2022-09-10", "workforce.social_insurance_reported", {
        "month": "2022-08", "insured_headcount": 118, "min_contribution_base": 5975,
        "local_average_wage": 11396}),
    ("2022-10-08", "workforce.three_way_check_recorded", {
        "quarter": "2022Q3", "actual_seats": 120, "system_registered_seats": 120, "insured_headcount": 118,
        "explanation": "两名新员工自十月起参保 / two new hires insured from October"}),
    ("2022-10-10", "traffic.period_reported", {
        "month": "2022-09", "calls_total": 86000, "outbound_calls": 21000, "outbound_marketing_calls": 4000,
        "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0, "complaints": 3,
        "recordings_retained_days": 180, "consent_records": True, "revenue_95": None,
        "carrier_settlement_95": None}),
    ("2022-11-01", "traffic.spot_check_recorded", {"sampled": 50, "passed": 49}),
    ("2022-11-15", "facility.mlps_assessed", {"system_ref": SYSTEM, "level": 3, "result": "基本符合"}),
    ("2022-12-01", "facility.emergency_plan_updated", {"system_ref": SYSTEM}),
    ("2023-03-20", "licence.annual_report_submitted", {
        "licence_no": LICENCE, "year": 2022, "submitted_on": "2023-03-20"}),
    ("2023-03-25", "numbering.annual_report_submitted", {"year": 2022}),
    ("2023-04-10", "licence.annual_report_returned", {
        "licence_no": LICENCE, "year": 2022, "reason": "社保证明缺少十二月份", "correct_by": "2023-04-30"}),
    ("2023-04-28", "licence.annual_report_accepted", {"licence_no": LICENCE, "year": 2022}),
    ("2023-05-10", "licence.issued", {
        "licence_no": PROVINCIAL_LICENCE, "category": "B24", "scope": "provincial", "provinces": ["44"],
        "issued_on": "2023-05-10", "expires_on": "2028-05-09", "authority": "广东省通信管理局"}),
    ("2023-06-01", "site.lease_renewed", {"site_ref": SITE, "new_lease_end": "2028-04-30"}),
    ("2023-09-01", "company.restructuring_decided", {"kind": "shareholder_change", "ref": "RS-2023-01"}),
    ("2023-09-20", "company.restructuring_approved", {"ref": "RS-2023-01"}),
    ("2023-10-15", "company.restructuring_completed", {"ref": "RS-2023-01"}),
    ("2024-03-01", "penalty.imposed", {
        "decision_no": PENALTY, "authority": "上海市通信管理局", "decided_on": "2024-03-01",
        "received_on": "2024-03-04", "legal_basis": "电信网码号资源管理办法第四十一条", "fine": 10000,
        "orders_rectification": True, "rectification_due": "2024-04-30",
        "description": "码号使用未按规定备案"}),
    ("2024-03-12", "penalty.paid", {"decision_no": PENALTY, "amount": "10000.00"}),
    ("2024-04-20", "penalty.rectification_submitted", {"decision_no": PENALTY, "report_ref": "RECT-2024-01"}),
    ("2024-05-06", "company.registration_changed", {
        "field": "legal_representative", "old": "person-001", "new": "person-002"}),
    ("2024-05-15", "penalty.rectification_accepted", {"decision_no": PENALTY}),
    ("2024-05-20", "licence.change_filed", {
        "licence_no": LICENCE, "fields": ["legal_representative"], "filed_on": "2024-05-20"}),
    ("2024-05-28", "listing.listed", {"list": "bad", "authority": "上海市通信管理局", "reason": "受到行政处罚"}),
    ("2024-06-10", "licence.change_approved", {"licence_no": LICENCE, "fields": ["legal_representative"]}),
    ("2024-07-01", "company.milestone_acknowledged", {
        "obligation_id": "annual-report-prep:B2-20220315:2024", "milestone": "evidence"}),
    ("2024-08-01", "company.obligation_waived", {
        "obligation_id": "emergency-plan:cc-platform:2024H2",
        "reason": "系统于八月迁移，应急预案已随迁移方案一并更新 / plan updated with the August migration"}),
    ("2024-09-01", "listing.removed", {"list": "bad"}),
    ("2024-10-10", "number.contact_change_notified", {"number": NUMBER}),
    ("2024-11-01", "licence.applied", {
        "licence_no": APPLICATION, "category": "B24", "scope": "provincial", "provinces": ["32"],
        "authority": "江苏省通信管理局"}),
    ("2024-12-20", "licence.refused", {
        "licence_no": APPLICATION,
        "reason": "经营场所证明材料不符合要求 / the evidence of premises did not meet the requirements"}),
    ("2025-02-01", "penalty.imposed", {
        "decision_no": SECOND_PENALTY, "authority": "上海市通信管理局", "decided_on": "2025-02-01",
        "received_on": "2025-02-03", "legal_basis": "电信条例第六十九条", "fine": 0,
        "orders_rectification": False, "rectification_due": None, "description": None}),
    ("2025-03-01", "penalty.revoked", {"decision_no": SECOND_PENALTY}),
    ("2025-04-10", "penalty.imposed", {
        "decision_no": THIRD_PENALTY, "authority": "上海市通信管理局", "decided_on": "2025-04-10",
        "received_on": "2025-04-14", "legal_basis": "网络安全法第五十九条", "fine": 0,
        "orders_rectification": True, "rectification_due": None,
        "description": "未按规定开展网络安全等级保护测评，警告并责令改正"}),
    ("2025-04-18", "penalty.rectification_deadline_recorded", {
        "decision_no": THIRD_PENALTY, "rectification_due": "2025-06-30"}),
    ("2025-06-30", "outsourcing.ended", {"vendor_uscc": EXAMPLE_VENDOR}),
    ("2025-07-01", "site.vacated", {"site_ref": SITE}),
    ("2025-08-01", "number.released", {"number": NUMBER}),
    ("2026-01-05", "licence.renewal_applied", {"licence_no": LICENCE, "applied_on": "2026-01-05"}),
    ("2026-02-01", "licence.renewal_applied", {"licence_no": PROVINCIAL_LICENCE, "applied_on": "2026-02-01"}),
    ("2026-03-01", "licence.renewed", {"licence_no": LICENCE, "new_expires_on": "2032-03-14"}),
    ("2026-03-02", "licence.renewal_refused", {"licence_no": PROVINCIAL_LICENCE, "reason": "经营场所不符合要求"}),
    ("2026-04-01", "licence.suspended", {"licence_no": PROVINCIAL_LICENCE, "reason": "责令停业整顿"}),
    ("2026-04-10", "licence.suspended", {"licence_no": LICENCE, "reason": "暂停新增业务，限期整改经营场所"}),
    ("2026-05-01", "licence.revoked", {"licence_no": PROVINCIAL_LICENCE, "reason": "整改期满仍不符合条件"}),
    ("2026-05-20", "licence.reinstated", {"licence_no": LICENCE}),
    ("2026-06-01", "licence.cancelled", {"licence_no": LICENCE, "reason": "企业申请注销"}),
)  # fmt: skip

LATEST_EXAMPLE_DATE = max(day for day, _, _ in _STORY)

EXAMPLE_SEQUENCE: tuple[Mapping[str, Any], ...] = tuple(
    MappingProxyType(
        {
            "type": fact_type,
            "company": EXAMPLE_COMPANY,
            "effective_date": day,
            "data": data,
            "idempotency_key": f"example-{index:03d}-{fact_type}",
        }
    )
    for index, (day, fact_type, data) in enumerate(_STORY, start=1)
)
"""The whole story, in date order; every fact type appears at least once."""


def _first_of_each_type() -> Mapping[str, Mapping[str, Any]]:
    first: dict[str, Mapping[str, Any]] = {}
    for fact in EXAMPLE_SEQUENCE:
        first.setdefault(fact["type"], fact)
    missing = set(FACT_TYPES) - set(first)
    if missing:
        raise RuntimeError(f"examples lack fact types {sorted(missing)}")
    return MappingProxyType({fact_type: first[fact_type] for fact_type in FACT_TYPES})


EXAMPLES: Mapping[str, Mapping[str, Any]] = _first_of_each_type()
"""One valid example fact per type, in catalogue order. Read-only: copy with example_fact()."""


def example_fact(fact_type: str) -> dict[str, Any]:
    """A fresh, mutable copy of the example of ``fact_type``."""
    return copy.deepcopy(dict(EXAMPLES[fact_type]))


def example_sequence() -> list[dict[str, Any]]:
    """Fresh, mutable copies of the whole example story, in order."""
    return [copy.deepcopy(dict(fact)) for fact in EXAMPLE_SEQUENCE]
