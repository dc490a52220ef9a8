"""Payload models: one per fact type of the catalogue (shared/design/interfaces.md).

A payload is the ``data`` of a submitted fact and of the event it becomes.
Models are frozen and forbid unknown fields, so a misspelt field is refused
instead of silently dropped. Checks that need only the payload itself (an
expiry after the issue date, a provincial prefix that matches the province)
live here; checks that need the aggregate's history live in the owning
service, and rules across services live in the projector.

Which fact type uses which model is declared once, in
:mod:`ledger_contracts.catalogue`.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from .enums import (
    Industry,
    KeyPersonRole,
    ListKind,
    NumberKind,
    OutsourcingMode,
    RegistrationField,
    RestructuringKind,
    Scope,
)
from .errors import FormatError
from .formats import (
    category_class,
    parse_licence_no,
    parse_money,
    refuse_personal_data,
    validate_number_for_kind,
)
from .types import (
    AreaM2,
    Category,
    Count,
    LicenceNo,
    LicenceNoOrRef,
    LocalDate,
    LongText,
    MlpsLevel,
    Money,
    Month,
    NotAfterToday,
    PastDate,
    PersonRef,
    PhoneNumber,
    PositiveCount,
    ProvinceCode,
    Quarter,
    Ref,
    ShortText,
    Uscc,
    Year,
    pydantic_error,
)


class FactPayload(BaseModel):
    """Base of every payload: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@cache
def past_date_fields(payload: type[FactPayload]) -> tuple[str, ...]:
    """Fields of ``payload`` that record something already done, so may not be after today.

    Models cannot know today's date; validate_fact checks these fields.
    """
    return tuple(
        name
        for name, info in payload.model_fields.items()
        if any(isinstance(marker, NotAfterToday) for marker in info.metadata)
    )


def _refuse(field: str, code: str, reason_en: str, reason_zh: str) -> Exception:
    """A cross-field refusal that points at ``field`` inside the payload."""
    return pydantic_error(FormatError(code, reason_en, reason_zh), field)


def _require_after(later: date, earlier: date, *, field: str, later_name: str, earlier_name: str) -> None:
    if later <= earlier:
        raise _refuse(
            field,
            "date_order",
            f"{later_name} ({later}) must be after {earlier_name} ({earlier})",
            f"{later_name}（{later}）必须晚于 {earlier_name}（{earlier}）",
        )


def _require_unique(values: list, *, field: str) -> None:
    if len(set(values)) != len(values):
        raise _refuse(field, "duplicate_item", "the list repeats an item", "列表中有重复项")


def _check_coverage(licence_no: str, scope: Scope, provinces: list[str]) -> None:
    """Scope, province list and licence-number prefix must tell the same story."""
    _require_unique(provinces, field="provinces")
    if scope is Scope.provincial and not provinces:
        raise _refuse(
            "provinces",
            "provinces_required",
            "a provincial licence must list its province",
            "省内（地网）许可证必须列明所在省份",
        )
    try:
        parsed = parse_licence_no(licence_no)
    except FormatError:
        return  # an application reference, not a licence number
    if parsed.province is None:
        return
    if scope is Scope.nationwide:
        raise _refuse(
            "licence_no",
            "licence_prefix_mismatch",
            f"{licence_no} carries the provincial prefix {parsed.prefix}, but the scope is nationwide "
            "(nationwide licences are issued by MIIT without a prefix)",
            f"{licence_no} 带有省份简称 {parsed.prefix}，但范围为全网（工信部颁发的全网许可证编号不带省份简称）",
        )
    if parsed.province not in provinces:
        raise _refuse(
            "provinces",
            "licence_prefix_mismatch",
            f"the licence number {licence_no} was issued in province {parsed.province}, "
            f"which is missing from provinces",
            f"许可证编号 {licence_no} 对应省份 {parsed.province}，但该省份不在 provinces 中",
        )


# --- company.* (licences service, aggregate: the company) -----------------------------


class CompanyRegistered(FactPayload):
    """The company as registered with market regulation (工商登记): the facts rules depend on."""

    name: ShortText = Field(description="Registered company name (企业名称)")
    registered_capital: Money = Field(description="Registered capital (注册资本), CNY")
    province: ProvinceCode = Field(description="Province of registration")
    industry: Industry = Field(description="Industry as far as the rules care")
    business_scope: list[ShortText] = Field(
        default_factory=list, max_length=200, description="Business scope items (经营范围)"
    )


class CompanyRegistrationChanged(FactPayload):
    """A business-registration item changed (变更登记); effective_date is the day it was completed.

    Values of people (legal_representative) are opaque references, never names.
    """

    field: RegistrationField = Field(description="Which registration item changed")
    old: ShortText = Field(description="Value before the change")
    new: ShortText = Field(description="Value after the change")

    @model_validator(mode="after")
    def _values_fit_field(self) -> Self:
        if self.old == self.new:
            raise _refuse("new", "no_change", "old and new are the same", "变更前后的值相同")
        for name in ("old", "new"):
            value = getattr(self, name)
            try:
                if self.field is RegistrationField.legal_representative:
                    refuse_personal_data(value)
                elif self.field is RegistrationField.contact:
                    refuse_personal_data(value, ("id_card", "mobile"))
                elif self.field is RegistrationField.registered_capital:
                    parse_money(value)
            except FormatError as error:
                raise pydantic_error(error, name) from None
        return self


class CompanyRestructuringDecided(FactPayload):
    """The company decided a change that needs prior approval (Order 42 Art. 28): merger, split …"""

    kind: RestructuringKind = Field(description="What kind of restructuring")
    ref: Ref = Field(description="The tenant's reference for this restructuring, shared by its later facts")


class CompanyRestructuringApproved(FactPayload):
    """The licensing authority approved a restructuring decided earlier."""

    ref: Ref = Field(description="Reference given in company.restructuring_decided")


class CompanyRestructuringCompleted(FactPayload):
    """A restructuring took effect (completed); before approval it is a finding."""

    ref: Ref = Field(description="Reference given in company.restructuring_decided")


class CompanyCapabilitiesDeclared(FactPayload):
    """The company declares what it does that needs extra filings: AI outbound calls, data export."""

    ai_outbound: StrictBool = Field(description="AI or synthesised-voice outbound calls (智能外呼)")
    algorithm_filing_no: ShortText | None = Field(
        default=None, description="Algorithm filing number (算法备案号)"
    )
    cross_border: StrictBool = Field(description="Overseas seats or personal data leaving China")
    data_export_filing_no: ShortText | None = Field(
        default=None, description="Data-export security assessment or filing number (数据出境)"
    )


class CompanyObligationWaived(FactPayload):
    """An obligation is waived by the tenant, with the reason recorded (豁免)."""

    obligation_id: Ref = Field(description="The obligation's id as shown by the ledger")
    reason: LongText = Field(description="Why it does not apply; required")


class CompanyMilestoneAcknowledged(FactPayload):
    """A preparation milestone of an obligation was done (e.g. annual-report evidence gathered)."""

    obligation_id: Ref = Field(description="The obligation's id as shown by the ledger")
    milestone: Ref = Field(description="The milestone's id within the obligation")


class CompanyTrackingStarted(FactPayload):
    """The onboarding baseline (建账基准日): the ledger tracks the company from ``tracked_from``.

    Whoever ``attested_by`` names vouches that the history before that date is in order, so an
    obligation due before it with no fulfilment recorded is ``before_tracking``, not overdue.
    Recording it again moves the date; the latest one counts.
    """

    tracked_from: LocalDate = Field(description="First day the ledger judges; earlier history is taken as attested")
    attested_by: ShortText = Field(
        description="Who attests the earlier history (a role or organisation, e.g. client compliance officer); "
                    "no personal names"
    )
    note: LongText | None = Field(default=None, description="Why this date, what was checked")

    @model_validator(mode="after")
    def _no_person(self) -> Self:
        try:
            refuse_personal_data(self.attested_by, ("id_card", "mobile", "fixed_line", "email"))
        except FormatError as error:
            raise pydantic_error(error, "attested_by") from None
        return self


# --- licence.* (licences service, aggregate: the licence number) ------------------------


class _LicenceFact(FactPayload):
    licence_no: LicenceNo = Field(
        description="Licence number (经营许可证编号), e.g. B2-20220315, 粤B2-20230510"
    )


class LicenceApplied(FactPayload):
    """An application for a licence was filed (许可申请); a decision is due within 60 days."""

    licence_no: LicenceNoOrRef = Field(
        description="The licence number if known, otherwise the application reference (受理编号)"
    )
    category: Category = Field(description="Business category applied for (B24 call centre)")
    scope: Scope = Field(description="nationwide (全网) or provincial (地网)")
    provinces: list[ProvinceCode] = Field(default_factory=list, description="Provinces covered")
    authority: ShortText = Field(description="Authority applied to (MIIT or a provincial 通信管理局)")

    @model_validator(mode="after")
    def _coverage(self) -> Self:
        _check_coverage(self.licence_no, self.scope, self.provinces)
        return self


class LicenceRefused(FactPayload):
    """The authority refused an application for a new licence (不予许可决定).

    This is the decision on a licence.applied (so the licence-decision obligation is
    met) that did not lead to a licence; a refused renewal of a licence already
    held is licence.renewal_refused. 主管部门对新的经营许可申请作出不予许可决定。
    """

    licence_no: LicenceNoOrRef = Field(
        description="The licence number or application reference (受理编号) as given in licence.applied"
    )
    reason: LongText = Field(description="Reason stated in the decision not to grant (不予许可的理由)")


class LicenceIssued(_LicenceFact):
    """A 增值电信业务经营许可证 was issued for a category, scope and validity period."""

    category: Category = Field(description="Business category (B24 call centre, B25, B21 …)")
    scope: Scope = Field(description="nationwide (全网) or provincial (地网)")
    provinces: list[ProvinceCode] = Field(
        default_factory=list,
        description="Provinces covered; required for a provincial licence, optional for a nationwide one",
    )
    issued_on: PastDate = Field(description="Issue date on the licence")
    expires_on: LocalDate = Field(description="Last day of validity on the licence")
    authority: ShortText = Field(description="Issuing authority (MIIT or a provincial 通信管理局)")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _require_after(
            self.expires_on,
            self.issued_on,
            field="expires_on",
            later_name="expires_on",
            earlier_name="issued_on",
        )
        licence = parse_licence_no(self.licence_no)
        if category_class(self.category) not in licence.classes:
            raise _refuse(
                "category",
                "category_class_mismatch",
                f"category {self.category} belongs to class {category_class(self.category)}, "
                f"which the licence number {self.licence_no} does not cover",
                f"业务类别 {self.category} 属于 {category_class(self.category)} 类，"
                f"而许可证编号 {self.licence_no} 不包含该类别",
            )
        _check_coverage(self.licence_no, self.scope, self.provinces)
        return self


class LicenceChangeFiled(_LicenceFact):
    """A change of licence particulars was filed with the authority (变更备案/申请)."""

    fields: list[RegistrationField] = Field(min_length=1, description="Registration items the filing covers")
    filed_on: PastDate = Field(description="Filing date")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique(self.fields, field="fields")
        return self


class LicenceChangeApproved(_LicenceFact):
    """The authority approved (or recorded) a licence change."""

    fields: list[RegistrationField] = Field(min_length=1, description="Registration items approved")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique(self.fields, field="fields")
        return self


class LicenceRenewalApplied(_LicenceFact):
    """A renewal (续期) was applied for; due at least 90 days before expiry (Order 42 Art. 27)."""

    applied_on: PastDate = Field(description="Date the renewal application was filed")


class LicenceRenewed(_LicenceFact):
    """The licence was renewed to a new expiry date."""

    new_expires_on: LocalDate = Field(description="New last day of validity")


class LicenceRenewalRefused(_LicenceFact):
    """The authority refused to renew the licence."""

    reason: LongText = Field(description="Reason given by the authority")


class LicenceAnnualReportSubmitted(_LicenceFact):
    """The licence's annual report (年报) for a year was submitted, in the first quarter after it."""

    year: Year = Field(description="The year reported on (2025 for the report filed in early 2026)")
    submitted_on: PastDate = Field(description="Submission date")

    @model_validator(mode="after")
    def _year_is_past(self) -> Self:
        if self.year >= self.submitted_on.year:
            raise _refuse(
                "year",
                "year_not_reported_on",
                f"year is the year reported on, which is before the submission ({self.submitted_on}); "
                f"a report submitted in {self.submitted_on.year} is usually for {self.submitted_on.year - 1}",
                f"year 是报告所属年度，应早于提交日期（{self.submitted_on}）；"
                f"{self.submitted_on.year} 年提交的年报通常属于 {self.submitted_on.year - 1} 年度",
            )
        return self


class LicenceAnnualReportReturned(_LicenceFact):
    """The authority returned an annual report for correction by a date (退回补正)."""

    year: Year = Field(description="The year reported on")
    reason: LongText = Field(description="What must be corrected")
    correct_by: LocalDate = Field(description="Date by which the corrected report is due")


class LicenceAnnualReportAccepted(_LicenceFact):
    """The authority accepted the annual report for a year."""

    year: Year = Field(description="The year reported on")


class LicenceSuspended(_LicenceFact):
    """The licence was suspended (暂停) by the authority."""

    reason: LongText = Field(description="Reason given")


class LicenceReinstated(_LicenceFact):
    """A suspension of the licence was lifted (恢复 / 解除暂停): the licence may be used again.

    Only a suspended licence can be reinstated; a revoked or cancelled licence is
    not brought back this way. 许可证暂停后经主管部门同意恢复经营。
    """


class LicenceRevoked(_LicenceFact):
    """The licence was revoked (吊销) as a penalty."""

    reason: LongText = Field(description="Reason given")


class LicenceCancelled(_LicenceFact):
    """The licence was cancelled (注销), e.g. on the company's request or after expiry."""

    reason: LongText = Field(description="Reason given")


# --- outsourcing.* (licences service, aggregate: the vendor's USCC) ---------------------


class OutsourcingArranged(FactPayload):
    """Call-centre work was arranged with a vendor: seat leasing (租用坐席) or BPO (业务外包).

    Seat leasing does not borrow the vendor's licence: the client still needs its own.
    """

    mode: OutsourcingMode = Field(description="seat_leasing or bpo")
    vendor_uscc: Uscc = Field(description="Vendor's 统一社会信用代码")
    vendor_name: ShortText = Field(description="Vendor's registered name")
    vendor_licence_no: LicenceNo | None = Field(default=None, description="Vendor's licence number, if any")
    vendor_licence_category: Category | None = Field(
        default=None, description="Category on the vendor's licence"
    )
    vendor_licence_expires_on: LocalDate | None = Field(
        default=None, description="Expiry of the vendor's licence"
    )
    provinces_served: list[ProvinceCode] = Field(
        default_factory=list, description="Provinces the vendor serves"
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique(self.provinces_served, field="provinces_served")
        return self


class OutsourcingVendorVerified(FactPayload):
    """The vendor's licence was checked against the public licence register (资质核验)."""

    vendor_uscc: Uscc = Field(description="Vendor's 统一社会信用代码")
    verified_on: PastDate = Field(description="Date of the check")
    name_matches: StrictBool = Field(description="The licence holder's name matches the vendor")
    uscc_matches: StrictBool = Field(description="The licence holder's USCC matches the vendor")
    category_ok: StrictBool = Field(description="The licence covers B24 call-centre business")
    status_valid: StrictBool = Field(description="The licence is valid (not expired, suspended or cancelled)")
    coverage_ok: StrictBool = Field(description="The licence covers the provinces served")
    evidence_ref: Ref | None = Field(
        default=None, description="Reference to the stored evidence (screenshot, PDF)"
    )


class OutsourcingEnded(FactPayload):
    """The arrangement with the vendor ended."""

    vendor_uscc: Uscc = Field(description="Vendor's 统一社会信用代码")


# --- number.* / numbering.* / traffic.* (numbers service) ---------------------------------


class _NumberFact(FactPayload):
    number: PhoneNumber = Field(description="The number; stored as digits only (4006001234)")


class NumberAllocated(_NumberFact):
    """A telephone or code number (码号) was allocated to the company."""

    kind: NumberKind = Field(description="Kind of number; the number must fit it")
    province: ProvinceCode = Field(description="Province where the number is allocated or used")
    provider: ShortText = Field(description="Carrier or authority that allocated it")
    purpose: ShortText | None = Field(
        default=None, description="What the number is used for (客服, 电话营销 …)"
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        try:
            validate_number_for_kind(self.number, self.kind)
        except FormatError as error:
            raise pydantic_error(error, "number") from None
        return self


class NumberFiled(_NumberFact):
    """The number's use was filed with the number authority (码号备案)."""


class NumberActivated(_NumberFact):
    """The number was opened for service (开通)."""


class NumberReleased(_NumberFact):
    """The number was given back (退还/注销)."""


class NumberActivationReported(_NumberFact):
    """The opening of the number was reported to the authority (开通报告)."""


class NumberContactChangeNotified(_NumberFact):
    """The number authority was told of an address or contact change (码号办法 Art. 26)."""


class NumberFeePaid(_NumberFact):
    """The quarterly number occupancy fee (码号资源占用费) was paid."""

    quarter: Quarter = Field(description="Quarter paid for, e.g. 2026Q1")


class NumberingAnnualReportSubmitted(FactPayload):
    """The annual report on all the company's numbers (码号年报) was submitted."""

    year: Year = Field(description="The year reported on")


class TrafficPeriodReported(FactPayload):
    """Call-traffic figures for a month, as aggregates (no call records, no phone numbers of people)."""

    month: Month = Field(description="Month reported, e.g. 2026-09")
    calls_total: Count = Field(description="All calls handled")
    outbound_calls: Count = Field(description="Outbound calls")
    outbound_marketing_calls: Count = Field(description="Outbound commercial marketing calls")
    calls_outside_hours: Count = Field(description="Outbound calls outside 08:00–21:00")
    marketing_calls_on_rest_days: Count = Field(description="Marketing calls on statutory rest days")
    complaints: Count = Field(description="Complaints received")
    recordings_retained_days: Count = Field(description="Days call recordings are kept")
    consent_records: StrictBool = Field(description="Consent to marketing calls is recorded")
    revenue_95: Money | None = Field(default=None, description="Revenue on 95 numbers in the month, CNY")
    carrier_settlement_95: Money | None = Field(
        default=None, description="Carrier settlement for 95 numbers in the month, CNY"
    )

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Self:
        for part, whole in (
            ("outbound_calls", "calls_total"),
            ("outbound_marketing_calls", "outbound_calls"),
            ("calls_outside_hours", "calls_total"),
            ("marketing_calls_on_rest_days", "outbound_marketing_calls"),
        ):
            if getattr(self, part) > getattr(self, whole):
                raise _refuse(
                    part,
                    "exceeds_total",
                    f"{part} ({getattr(self, part)}) cannot exceed {whole} ({getattr(self, whole)})",
                    f"{part}（{getattr(self, part)}）不能大于 {whole}（{getattr(self, whole)}）",
                )
        return self


class TrafficSpotCheckRecorded(FactPayload):
    """Result of a real-name spot check (实名制抽查) on the company's lines."""

    sampled: PositiveCount = Field(description="Lines or users sampled")
    passed: Count = Field(description="How many passed")

    @model_validator(mode="after")
    def _passed_within_sampled(self) -> Self:
        if self.passed > self.sampled:
            raise _refuse(
                "passed",
                "exceeds_total",
                f"passed ({self.passed}) cannot exceed sampled ({self.sampled})",
                f"通过数（{self.passed}）不能大于抽查数（{self.sampled}）",
            )
        return self


# --- workforce.* (personnel service, aggregate: the company) -------------------------------


class WorkforceKeyPersonAppointed(FactPayload):
    """Someone was appointed to a key role; the person is an opaque reference, never personal data."""

    role: KeyPersonRole = Field(description="The role")
    person_ref: PersonRef = Field(
        description="The tenant's opaque reference for the person (person-001): no name, ID or phone number"
    )


class WorkforceSocialInsuranceReported(FactPayload):
    """Social-insurance (社保) figures for a month, as aggregates."""

    month: Month = Field(description="Month reported, e.g. 2026-09")
    insured_headcount: Count = Field(description="Staff insured in the month")
    min_contribution_base: Money = Field(description="Lowest contribution base used, CNY per month")
    local_average_wage: Money = Field(
        description="Local average wage the base is compared with, CNY per month"
    )


class WorkforceSeatsDeclared(FactPayload):
    """The company declared its call-centre seats (坐席): a positive number means it operates."""

    declared_seats: Count = Field(description="Seats declared to the authority")
    system_registered_seats: Count = Field(description="Seats registered in the call-centre system")
    overseas_seats: Count = Field(description="Seats located outside China")


class WorkforceThreeWayCheckRecorded(FactPayload):
    """Quarterly comparison of actual seats, system-registered seats and insured headcount (三方核对)."""

    quarter: Quarter = Field(description="Quarter checked, e.g. 2026Q3")
    actual_seats: Count = Field(description="Seats actually staffed")
    system_registered_seats: Count = Field(description="Seats registered in the system")
    insured_headcount: Count = Field(description="Staff insured")
    explanation: LongText | None = Field(default=None, description="Explanation of any difference")


# --- site.* / facility.* (premises service) --------------------------------------------------


class SiteLeased(FactPayload):
    """Premises (经营场所) were leased for call-centre operations."""

    site_ref: Ref = Field(description="The tenant's reference for the site")
    province: ProvinceCode = Field(description="Province of the site")
    address: ShortText = Field(description="Street address of the premises")
    area_m2: AreaM2 = Field(description="Floor area in square metres")
    lease_start: LocalDate = Field(description="First day of the lease")
    lease_end: LocalDate = Field(description="Last day of the lease")
    purpose_text: ShortText = Field(description="Purpose stated in the lease (用途), verbatim")
    sublease: StrictBool = Field(description="The lessor is itself a tenant (转租)")
    owner_consent: StrictBool = Field(description="The owner consented to the sublease")
    workstations: Count = Field(description="Workstations at the site")

    @model_validator(mode="after")
    def _lease_order(self) -> Self:
        _require_after(
            self.lease_end,
            self.lease_start,
            field="lease_end",
            later_name="lease_end",
            earlier_name="lease_start",
        )
        return self


class SiteLeaseRenewed(FactPayload):
    """The site's lease was extended to a new end date."""

    site_ref: Ref = Field(description="The tenant's reference for the site")
    new_lease_end: LocalDate = Field(description="New last day of the lease")


class SiteVacated(FactPayload):
    """The company moved out of the site."""

    site_ref: Ref = Field(description="The tenant's reference for the site")


class FacilityMlpsFiled(FactPayload):
    """An information system was filed for 等级保护 (MLPS) at a protection level."""

    system_ref: Ref = Field(description="The tenant's reference for the system")
    level: MlpsLevel = Field(description="Protection level, 1–5")
    filing_no: ShortText = Field(description="Filing number (备案证明编号)")


class FacilityMlpsAssessed(FactPayload):
    """An MLPS assessment (等保测评) of the system was completed."""

    system_ref: Ref = Field(description="The tenant's reference for the system")
    level: MlpsLevel = Field(description="Protection level assessed, 1–5")
    result: ShortText = Field(
        description="Assessment conclusion as written in the report (符合 / 基本符合 …)"
    )


class FacilityEmergencyPlanUpdated(FactPayload):
    """The system's emergency response plan (应急预案) was updated."""

    system_ref: Ref = Field(description="The tenant's reference for the system")


# --- penalty.* / listing.* (penalties service) --------------------------------------------------


class _DecisionFact(FactPayload):
    decision_no: ShortText = Field(
        description="Penalty decision number (处罚决定书文号), e.g. 京通管罚〔2024〕12号"
    )


class PenaltyImposed(_DecisionFact):
    """An administrative penalty decision (行政处罚决定) was made against the company."""

    authority: ShortText = Field(description="Deciding authority")
    decided_on: PastDate = Field(description="Date of the decision")
    received_on: PastDate = Field(
        description="Date the decision was received (the fine is due 15 days later)"
    )
    legal_basis: ShortText = Field(description="Provision applied, e.g. 电信条例第六十九条")
    fine: Money = Field(description="Fine imposed, CNY (0 if none)")
    orders_rectification: StrictBool = Field(description="The decision orders correction (责令改正)")
    rectification_due: LocalDate | None = Field(
        default=None, description="Correction deadline set in the decision, if any"
    )
    description: LongText | None = Field(default=None, description="What the penalty was for")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.received_on < self.decided_on:
            raise _refuse(
                "received_on",
                "date_order",
                f"received_on ({self.received_on}) cannot be before decided_on ({self.decided_on})",
                f"送达日期（{self.received_on}）不能早于决定日期（{self.decided_on}）",
            )
        if self.rectification_due is not None:
            if not self.orders_rectification:
                raise _refuse(
                    "rectification_due",
                    "inconsistent",
                    "a rectification deadline is given but orders_rectification is false",
                    "填写了整改期限，但 orders_rectification 为 false",
                )
            if self.rectification_due < self.decided_on:
                raise _refuse(
                    "rectification_due",
                    "date_order",
                    f"rectification_due ({self.rectification_due}) cannot be before decided_on ({self.decided_on})",
                    f"整改期限（{self.rectification_due}）不能早于决定日期（{self.decided_on}）",
                )
        return self


class PenaltyPaid(_DecisionFact):
    """The fine of a penalty decision was paid (缴纳罚款)."""

    amount: Money = Field(description="Amount paid, CNY")


class PenaltyRectificationSubmitted(_DecisionFact):
    """A rectification report (整改报告) was submitted for the decision."""

    report_ref: Ref = Field(description="Reference to the submitted report")


class PenaltyRectificationAccepted(_DecisionFact):
    """The authority accepted the rectification."""


class PenaltyRectificationDeadlineRecorded(_DecisionFact):
    """The correction deadline (责令改正期限) of a decision, recorded after the decision itself.

    For a decision recorded without its deadline (the ledger raises a finding and
    never invents one), or whose deadline the authority later set or extended; the
    latest recorded deadline counts. effective_date is the day the deadline became
    known. 补录处罚决定书（或整改通知）中确定的整改期限；以最后一次记录为准。
    """

    rectification_due: LocalDate = Field(
        description="Last day for the correction, as set by the authority (整改期限)"
    )


class PenaltyRevoked(_DecisionFact):
    """The penalty decision was revoked (e.g. on reconsideration or litigation)."""


class ListingListed(FactPayload):
    """The company was put on a public list: 不良名单, 失信名单 or 经营异常名录."""

    list: ListKind = Field(description="Which list")
    authority: ShortText = Field(description="Listing authority")
    reason: LongText = Field(description="Reason given")


class ListingRemoved(FactPayload):
    """The company was removed from a public list."""

    list: ListKind = Field(description="Which list")
