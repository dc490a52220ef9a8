"""The fact catalogue: the single source of truth for fact types.

For every type it says which payload model checks it, the payload schema
version, which service owns it, which aggregate it lands on and how that
aggregate's id is derived, what it means (English and Chinese), and which
rules of the rule pack read it. Services route with it, the projector and the
docs read it, and the generator turns it into JSON Schemas and docs/events.md.
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
from .rule_ids import CREDIT_ESTIMATE, OBLIGATION_RULES, RULE_IDS

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

_LICENCE_ENDS = (
    "unlicensed-operation",
    "number-without-licence",
    "renewal",
    "annual-report",
    "licence-expired",
)
_NUMBER_HOLDING = (
    "number-annual-report",
    "number-fee",
    "number-contact-change",
    "unlicensed-operation",
    "9x-number-capital",
    "fixed-number-quota",
)
_PENALTY_ALL = (
    "fine-payment",
    "rectification",
    "rectification-deadline-missing",
    "bad-list-watch",
    "penalties-unrectified",
    CREDIT_ESTIMATE,
)

# (type, payload model, meaning in English, meaning in Chinese, rules that read it)
_ENTRIES: tuple[tuple[str, type[f.FactPayload], str, str, tuple[str, ...]], ...] = (
    # company.*
    ("company.registered", f.CompanyRegistered,
     "The company's registration particulars: name, capital, province, industry, scope.",
     "企业登记信息：名称、注册资本、所在省份、行业、经营范围。",
     ("capital-below-threshold", "9x-number-capital", "education-holiday-calls", "calling-hours")),
    ("company.registration_changed", f.CompanyRegistrationChanged,
     "A business-registration item changed; the effective date is the day the change was registered.",
     "工商登记事项变更；生效日期为变更登记完成之日。",
     ("change-filing", "change-filing-scope", "number-contact-change", "capital-below-threshold",
      "9x-number-capital")),
    ("company.restructuring_decided", f.CompanyRestructuringDecided,
     "The company decided a merger, split, shareholder change, transfer of operations or coverage change.",
     "企业作出合并、分立、股权变更、业务转移或覆盖范围变更的决定。",
     ("restructuring-approval", "restructuring-unapproved")),
    ("company.restructuring_approved", f.CompanyRestructuringApproved,
     "The licensing authority approved the restructuring.",
     "电信管理机构批准了该重组事项。",
     ("restructuring-approval", "restructuring-unapproved")),
    ("company.restructuring_completed", f.CompanyRestructuringCompleted,
     "The restructuring took effect.",
     "重组事项已实施完成。",
     ("restructuring-unapproved",)),
    ("company.capabilities_declared", f.CompanyCapabilitiesDeclared,
     "The company declared AI outbound calling and cross-border operations, with their filing numbers.",
     "企业申报智能外呼、跨境业务情况及相应备案编号。",
     ("ai-outbound-unfiled", "cross-border-unfiled")),
    ("company.obligation_waived", f.CompanyObligationWaived,
     "An obligation was waived, with a reason.",
     "某项义务被豁免，并记录理由。",
     OBLIGATION_RULES),
    ("company.milestone_acknowledged", f.CompanyMilestoneAcknowledged,
     "A preparation milestone of an obligation was completed.",
     "某项义务的准备节点已完成。",
     ("annual-report-prep",)),
    ("company.tracking_started", f.CompanyTrackingStarted,
     "The onboarding baseline: obligations due before tracked_from with nothing recorded are before_tracking, "
     "not overdue; the latest one counts.",
     "建账基准日：基准日前到期且无履行记录的义务视为建账前事项（before_tracking），不计逾期；以最新一条为准。",
     (*OBLIGATION_RULES, "bad-list", CREDIT_ESTIMATE)),
    # licence.*
    ("licence.applied", f.LicenceApplied,
     "A licence application was filed; a decision is expected within 60 days.",
     "已提交经营许可申请，应在 60 日内作出决定。",
     ("licence-decision",)),
    ("licence.refused", f.LicenceRefused,
     "The authority refused an application for a new licence: the application is decided.",
     "主管部门对新的经营许可申请作出不予许可决定，该申请已办结。",
     ("licence-decision",)),
    ("licence.issued", f.LicenceIssued,
     "A value-added telecom business licence was issued.",
     "取得增值电信业务经营许可证。",
     ("licence-decision", "renewal", "annual-report", "annual-report-prep", "licence-expired",
      "unlicensed-operation", "number-without-licence", "coverage-mismatch", "capital-below-threshold",
      "category-mislabel", "lease-shorter-than-licence", "premises-area", "change-filing",
      "change-filing-scope", "vendor-licence-invalid")),
    ("licence.change_filed", f.LicenceChangeFiled,
     "A change of licence particulars was filed with the authority.",
     "已向电信管理机构办理许可证变更。",
     ("change-filing", "change-filing-scope")),
    ("licence.change_approved", f.LicenceChangeApproved,
     "The authority approved the licence change.",
     "电信管理机构已核准许可证变更。",
     ("change-filing", "change-filing-scope")),
    ("licence.renewal_applied", f.LicenceRenewalApplied,
     "A renewal of the licence was applied for.",
     "已申请许可证续期。",
     ("renewal", "renewal-late", "licence-expired")),
    ("licence.renewed", f.LicenceRenewed,
     "The licence was renewed to a new expiry date.",
     "许可证已续期至新的有效期。",
     ("renewal", "licence-expired", "lease-shorter-than-licence", "annual-report")),
    ("licence.renewal_refused", f.LicenceRenewalRefused,
     "The renewal was refused.",
     "许可证续期未获批准。",
     ("renewal", "licence-expired", "unlicensed-operation")),
    ("licence.annual_report_submitted", f.LicenceAnnualReportSubmitted,
     "The licence's annual report for a year was submitted.",
     "已报送许可证年报。",
     ("annual-report", "annual-report-prep", "bad-list")),
    ("licence.annual_report_returned", f.LicenceAnnualReportReturned,
     "The annual report was returned for correction by a date.",
     "年报被退回，须在期限内补正。",
     ("annual-report", "bad-list")),
    ("licence.annual_report_accepted", f.LicenceAnnualReportAccepted,
     "The annual report was accepted.",
     "年报已通过。",
     ("annual-report", "bad-list")),
    ("licence.suspended", f.LicenceSuspended,
     "The licence was suspended.",
     "许可证被暂停。",
     _LICENCE_ENDS),
    ("licence.reinstated", f.LicenceReinstated,
     "The suspension was lifted: the licence may be used again.",
     "许可证暂停已解除，可恢复经营。",
     ("unlicensed-operation",)),
    ("licence.revoked", f.LicenceRevoked,
     "The licence was revoked.",
     "许可证被吊销。",
     _LICENCE_ENDS),
    ("licence.cancelled", f.LicenceCancelled,
     "The licence was cancelled.",
     "许可证已注销。",
     _LICENCE_ENDS),
    # outsourcing.*
    ("outsourcing.arranged", f.OutsourcingArranged,
     "Call-centre work was arranged with a vendor, by seat leasing or BPO.",
     "与外包商约定呼叫中心业务合作（租用坐席或业务外包）。",
     ("unlicensed-operation", "vendor-licence-invalid", "vendor-reverification", "coverage-mismatch")),
    ("outsourcing.vendor_verified", f.OutsourcingVendorVerified,
     "The vendor's licence was verified against the public register.",
     "已核验外包商的经营许可资质。",
     ("vendor-licence-invalid", "vendor-reverification")),
    ("outsourcing.ended", f.OutsourcingEnded,
     "The outsourcing arrangement with the vendor ended.",
     "与外包商的合作已终止。",
     ("unlicensed-operation", "vendor-licence-invalid", "vendor-reverification")),
    # number.*
    ("number.allocated", f.NumberAllocated,
     "A telephone or code number was allocated to the company.",
     "企业获配电话号码或码号资源。",
     ("number-filing", "number-without-licence", "coverage-mismatch", *_NUMBER_HOLDING)),
    ("number.filed", f.NumberFiled,
     "The number's use was filed with the number authority.",
     "已办理码号使用备案。",
     ("number-filing",)),
    ("number.activated", f.NumberActivated,
     "The number was opened for service.",
     "号码已开通使用。",
     ("number-activation-report", "unlicensed-operation")),
    ("number.released", f.NumberReleased,
     "The number was given back.",
     "号码已退还。",
     ("number-filing", "number-activation-report", *_NUMBER_HOLDING)),
    ("number.activation_reported", f.NumberActivationReported,
     "The opening of the number was reported to the authority.",
     "已向主管部门报告号码开通情况。",
     ("number-activation-report",)),
    ("number.contact_change_notified", f.NumberContactChangeNotified,
     "The number authority was notified of an address or contact change.",
     "已向码号主管部门报告地址或联系方式变更。",
     ("number-contact-change",)),
    ("number.fee_paid", f.NumberFeePaid,
     "The number occupancy fee for a quarter was paid.",
     "已缴纳该季度码号资源占用费。",
     ("number-fee",)),
    ("numbering.annual_report_submitted", f.NumberingAnnualReportSubmitted,
     "The annual report on the company's numbers for a year was submitted.",
     "已报送码号年报。",
     ("number-annual-report",)),
    # traffic.*
    ("traffic.period_reported", f.TrafficPeriodReported,
     "Monthly call-traffic figures, complaints, recording retention and 95-number revenue.",
     "月度话务量、投诉、录音留存及 95 号码收入等汇总数据。",
     ("recording-retention-short", "marketing-outbound", "calling-hours", "education-holiday-calls",
      "revenue-settlement-mismatch", CREDIT_ESTIMATE)),
    ("traffic.spot_check_recorded", f.TrafficSpotCheckRecorded,
     "The result of a real-name spot check.",
     "实名制抽查结果。",
     (CREDIT_ESTIMATE,)),
    # workforce.*
    ("workforce.key_person_appointed", f.WorkforceKeyPersonAppointed,
     "Someone (an opaque reference) was appointed to a key role.",
     "关键岗位人员任命（以匿名编号记录）。",
     ()),
    ("workforce.social_insurance_reported", f.WorkforceSocialInsuranceReported,
     "Monthly social-insurance headcount and contribution base.",
     "月度社保参保人数及缴费基数。",
     ("social-insurance-thin", "seat-inflation")),
    ("workforce.seats_declared", f.WorkforceSeatsDeclared,
     "The company declared its call-centre seats.",
     "企业申报呼叫中心坐席数。",
     ("unlicensed-operation", "seat-inflation", "fixed-number-quota", "cross-border-unfiled")),
    ("workforce.three_way_check_recorded", f.WorkforceThreeWayCheckRecorded,
     "A quarterly comparison of actual seats, system seats and insured staff was recorded.",
     "已完成季度坐席、系统登记坐席与参保人数三方核对。",
     ("three-way-check", "three-way-mismatch")),
    # site.*
    ("site.leased", f.SiteLeased,
     "Premises were leased for call-centre operations.",
     "租赁呼叫中心经营场所。",
     ("lease-renewal", "premises-purpose", "sublease-without-consent", "lease-shorter-than-licence",
      "premises-area", "coverage-mismatch")),
    ("site.lease_renewed", f.SiteLeaseRenewed,
     "The site's lease was extended.",
     "经营场所租约已续签。",
     ("lease-renewal", "lease-shorter-than-licence")),
    ("site.vacated", f.SiteVacated,
     "The company moved out of the site.",
     "已退出该经营场所。",
     ("lease-renewal", "lease-shorter-than-licence", "premises-area", "coverage-mismatch")),
    # facility.*
    ("facility.mlps_filed", f.FacilityMlpsFiled,
     "An information system was filed for multi-level protection (MLPS).",
     "信息系统已办理网络安全等级保护备案。",
     ("mlps-missing", "mlps-assessment")),
    ("facility.mlps_assessed", f.FacilityMlpsAssessed,
     "An MLPS assessment of the system was completed.",
     "信息系统已完成等级保护测评。",
     ("mlps-assessment", "mlps-missing")),
    ("facility.emergency_plan_updated", f.FacilityEmergencyPlanUpdated,
     "The system's emergency response plan was updated.",
     "信息系统应急预案已更新。",
     ("emergency-plan",)),
    # penalty.*
    ("penalty.imposed", f.PenaltyImposed,
     "An administrative penalty decision was made against the company.",
     "企业受到行政处罚。",
     _PENALTY_ALL),
    ("penalty.rectification_deadline_recorded", f.PenaltyRectificationDeadlineRecorded,
     "The correction deadline set by the authority was recorded for a decision (set or extended later).",
     "补录主管部门确定的整改期限（含事后确定或延期）。",
     ("rectification", "rectification-deadline-missing")),
    ("penalty.paid", f.PenaltyPaid,
     "The fine was paid.",
     "罚款已缴纳。",
     ("fine-payment",)),
    ("penalty.rectification_submitted", f.PenaltyRectificationSubmitted,
     "A rectification report was submitted.",
     "已提交整改报告。",
     ("rectification", "penalties-unrectified")),
    ("penalty.rectification_accepted", f.PenaltyRectificationAccepted,
     "The authority accepted the rectification.",
     "整改已通过验收。",
     ("rectification", "penalties-unrectified")),
    ("penalty.revoked", f.PenaltyRevoked,
     "The penalty decision was revoked.",
     "行政处罚决定已撤销。",
     _PENALTY_ALL),
    # listing.*
    ("listing.listed", f.ListingListed,
     "The company was put on a bad, dishonest or abnormal-operations list.",
     "企业被列入不良名单、失信名单或经营异常名录。",
     ("bad-list", CREDIT_ESTIMATE)),
    ("listing.removed", f.ListingRemoved,
     "The company was removed from a list.",
     "企业被移出名单。",
     ("bad-list", CREDIT_ESTIMATE)),
)  # fmt: skip


def _build() -> Mapping[str, FactSpec]:
    catalogue: dict[str, FactSpec] = {}
    for fact_type, payload, meaning_en, meaning_zh, rules in _ENTRIES:
        prefix = fact_type.split(".", 1)[0]
        owner, key = _ROUTES[prefix]
        unknown = set(rules) - RULE_IDS
        if unknown or fact_type in catalogue:
            raise RuntimeError(f"catalogue entry {fact_type}: duplicate or unknown rules {sorted(unknown)}")
        catalogue[fact_type] = FactSpec(
            type=fact_type,
            payload=payload,
            version=1,
            owner=owner,
            aggregate_type=prefix,
            aggregate_key=key,
            meaning_en=meaning_en,
            meaning_zh=meaning_zh,
            rules=tuple(rules),
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
