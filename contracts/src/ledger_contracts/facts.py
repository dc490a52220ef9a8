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
from typing import ClassVar, Self

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
    """Base of every payload: immutable, unknown fields refused.

    A model that is a fact type's payload declares it: the type's name and what it means, in
    English and Chinese. The catalogue is made of these declarations, in the order written here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fact_type: ClassVar[str]
    meaning_en: ClassVar[str]
    meaning_zh: ClassVar[str]


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

    fact_type: ClassVar[str] = "company.registered"
    meaning_en: ClassVar[str] = "The company's registration particulars: name, capital, province, industry, scope."
    meaning_zh: ClassVar[str] = "企业登记信息：名称、注册资本、所在省份、行业、经营范围。"

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

    fact_type: ClassVar[str] = "company.registration_changed"
    meaning_en: ClassVar[str] = "A business-registration item changed; the effective date is the day the change was registered."
    meaning_zh: ClassVar[str] = "工商登记事项变更；生效日期为变更登记完成之日。"

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

    fact_type: ClassVar[str] = "company.restructuring_decided"
    meaning_en: ClassVar[str] = "The company decided a merger, split, shareholder change, transfer of operations or coverage change."
    meaning_zh: ClassVar[str] = "企业作出合并、分立、股权变更、业务转移或覆盖范围变更的决定。"

    kind: RestructuringKind = Field(description="What kind of restructuring")
    ref: Ref = Field(description="The tenant's reference for this restructuring, shared by its later facts")


class CompanyRestructuringApproved(FactPayload):
    """The licensing authority approved a restructuring decided earlier."""

    fact_type: ClassVar[str] = "company.restructuring_approved"
    meaning_en: ClassVar[str] = "The licensing authority approved the restructuring."
    meaning_zh: ClassVar[str] = "电信管理机构批准了该重组事项。"

    ref: Ref = Field(description="Reference given in company.restructuring_decided")


class CompanyRestructuringCompleted(FactPayload):
    """A restructuring took effect (completed); before approval it is a finding."""

    fact_type: ClassVar[str] = "company.restructuring_completed"
    meaning_en: ClassVar[str] = "The restructuring took effect."
    meaning_zh: ClassVar[str] = "重组事项已实施完成。"

    ref: Ref = Field(description="Reference given in company.restructuring_decided")


class CompanyCapabilitiesDeclared(FactPayload):
    """The company declares what it does that needs extra filings: AI outbound calls, data export."""

    fact_type: ClassVar[str] = "company.capabilities_declared"
    meaning_en: ClassVar[str] = "The company declared AI outbound calling and cross-border operations, with their filing numbers."
    meaning_zh: ClassVar[str] = "企业申报智能外呼、跨境业务情况及相应备案编号。"

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

    fact_type: ClassVar[str] = "company.obligation_waived"
    meaning_en: ClassVar[str] = "An obligation was waived, with a reason."
    meaning_zh: ClassVar[str] = "某项义务被豁免，并记录理由。"

    obligation_id: Ref = Field(description="The obligation's id as shown by the ledger")
    reason: LongText = Field(description="Why it does not apply; required")


class CompanyMilestoneAcknowledged(FactPayload):
    """A preparation milestone of an obligation was done (e.g. annual-report evidence gathered)."""

    fact_type: ClassVar[str] = "company.milestone_acknowledged"
    meaning_en: ClassVar[str] = "A preparation milestone of an obligation was completed."
    meaning_zh: ClassVar[str] = "某项义务的准备节点已完成。"

    obligation_id: Ref = Field(description="The obligation's id as shown by the ledger")
    milestone: Ref = Field(description="The milestone's id within the obligation")


class CompanyTrackingStarted(FactPayload):
    """The onboarding baseline (建账基准日): the ledger tracks the company from ``tracked_from``.

    Whoever ``attested_by`` names vouches that the history before that date is in order, so an
    obligation due before it with no fulfilment recorded is ``before_tracking``, not overdue.
    Recording it again moves the date; the latest one counts.
    """

    fact_type: ClassVar[str] = "company.tracking_started"
    meaning_en: ClassVar[str] = "The onboarding baseline: obligations due before tracked_from with nothing recorded are before_tracking, not overdue; the latest one counts."
    meaning_zh: ClassVar[str] = "建账基准日：基准日前到期且无履行记录的义务视为建账前事项（before_tracking），不计逾期；以最新一条为准。"

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

    fact_type: ClassVar[str] = "licence.applied"
    meaning_en: ClassVar[str] = "A licence application was filed; a decision is expected within 60 days."
    meaning_zh: ClassVar[str] = "已提交经营许可申请，应在 60 日内作出决定。"

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

    fact_type: ClassVar[str] = "licence.refused"
    meaning_en: ClassVar[str] = "The authority refused an application for a new licence: the application is decided."
    meaning_zh: ClassVar[str] = "主管部门对新的经营许可申请作出不予许可决定，该申请已办结。"

    licence_no: LicenceNoOrRef = Field(
        description="The licence number or application reference (受理编号) as given in licence.applied"
    )
    reason: LongText = Field(description="Reason stated in the decision not to grant (不予许可的理由)")


class LicenceIssued(_LicenceFact):
    """A 增值电信业务经营许可证 was issued for a category, scope and validity period."""

    fact_type: ClassVar[str] = "licence.issued"
    meaning_en: ClassVar[str] = "A value-added telecom business licence was issued."
    meaning_zh: ClassVar[str] = "取得增值电信业务经营许可证。"

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

    fact_type: ClassVar[str] = "licence.change_filed"
    meaning_en: ClassVar[str] = "A change of licence particulars was filed with the authority."
    meaning_zh: ClassVar[str] = "已向电信管理机构办理许可证变更。"

    fields: list[RegistrationField] = Field(min_length=1, description="Registration items the filing covers")
    filed_on: PastDate = Field(description="Filing date")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique(self.fields, field="fields")
        return self


class LicenceChangeApproved(_LicenceFact):
    """The authority approved (or recorded) a licence change."""

    fact_type: ClassVar[str] = "licence.change_approved"
    meaning_en: ClassVar[str] = "The authority approved the licence change."
    meaning_zh: ClassVar[str] = "电信管理机构已核准许可证变更。"

    fields: list[RegistrationField] = Field(min_length=1, description="Registration items approved")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique(self.fields, field="fields")
        return self


class LicenceRenewalApplied(_LicenceFact):
    """A renewal (续期) was applied for; due at least 90 days before expiry (Order 42 Art. 27)."""

    fact_type: ClassVar[str] = "licence.renewal_applied"
    meaning_en: ClassVar[str] = "A renewal of the licence was applied for."
    meaning_zh: ClassVar[str] = "已申请许可证续期。"

    applied_on: PastDate = Field(description="Date the renewal application was filed")


class LicenceRenewed(_LicenceFact):
    """The licence was renewed to a new expiry date."""

    fact_type: ClassVar[str] = "licence.renewed"
    meaning_en: ClassVar[str] = "The licence was renewed to a new expiry date."
    meaning_zh: ClassVar[str] = "许可证已续期至新的有效期。"

    new_expires_on: LocalDate = Field(description="New last day of validity")


class LicenceRenewalRefused(_LicenceFact):
    """The authority refused to renew the licence."""

    fact_type: ClassVar[str] = "licence.renewal_refused"
    meaning_en: ClassVar[str] = "The renewal was refused."
    meaning_zh: ClassVar[str] = "许可证续期未获批准。"

    reason: LongText = Field(description="Reason given by the authority")


class LicenceAnnualReportSubmitted(_LicenceFact):
    """The licence's annual report (年报) for a year was submitted, in the first quarter after it."""

    fact_type: ClassVar[str] = "licence.annual_report_submitted"
    meaning_en: ClassVar[str] = "The licence's annual report for a year was submitted."
    meaning_zh: ClassVar[str] = "已报送许可证年报。"

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

    fact_type: ClassVar[str] = "licence.annual_report_returned"
    meaning_en: ClassVar[str] = "The annual report was returned for correction by a date."
    meaning_zh: ClassVar[str] = "年报被退回，须在期限内补正。"

    year: Year = Field(description="The year reported on")
    reason: LongText = Field(description="What must be corrected")
    correct_by: LocalDate = Field(description="Date by which the corrected report is due")


class LicenceAnnualReportAccepted(_LicenceFact):
    """The authority accepted the annual report for a year."""

    fact_type: ClassVar[str] = "licence.annual_report_accepted"
    meaning_en: ClassVar[str] = "The annual report was accepted."
    meaning_zh: ClassVar[str] = "年报已通过。"

    year: Year = Field(description="The year reported on")


class LicenceSuspended(_LicenceFact):
    """The licence was suspended (暂停) by the authority."""

    fact_type: ClassVar[str] = "licence.suspended"
    meaning_en: ClassVar[str] = "The licence was suspended."
    meaning_zh: ClassVar[str] = "许可证被暂停。"

    reason: LongText = Field(description="Reason given")


class LicenceReinstated(_LicenceFact):
    """A suspension of the licence was lifted (恢复 / 解除暂停): the licence may be used again.

    Only a suspended licence can be reinstated; a revoked or cancelled licence is
    not brought back this way. 许可证暂停后经主管部门同意恢复经营。
    """

    fact_type: ClassVar[str] = "licence.reinstated"
    meaning_en: ClassVar[str] = "The suspension was lifted: the licence may be used again."
    meaning_zh: ClassVar[str] = "许可证暂停已解除，可恢复经营。"


class LicenceRevoked(_LicenceFact):
    """The licence was revoked (吊销) as a penalty."""

    fact_type: ClassVar[str] = "licence.revoked"
    meaning_en: ClassVar[str] = "The licence was revoked."
    meaning_zh: ClassVar[str] = "许可证被吊销。"

    reason: LongText = Field(description="Reason given")


class LicenceCancelled(_LicenceFact):
    """The licence was cancelled (注销), e.g. on the company's request or after expiry."""

    fact_type: ClassVar[str] = "licence.cancelled"
    meaning_en: ClassVar[str] = "The licence was cancelled."
    meaning_zh: ClassVar[str] = "许可证已注销。"

    reason: LongText = Field(description="Reason given")


# --- outsourcing.* (licences service, aggregate: the vendor's USCC) ---------------------


class OutsourcingArranged(FactPayload):
    """Call-centre work was arranged with a vendor: seat leasing (租用坐席) or BPO (业务外包).

    Seat leasing does not borrow the vendor's licence: the client still needs its own.
    """

    fact_type: ClassVar[str] = "outsourcing.arranged"
    meaning_en: ClassVar[str] = "Call-centre work was arranged with a vendor, by seat leasing or BPO."
    meaning_zh: ClassVar[str] = "与外包商约定呼叫中心业务合作（租用坐席或业务外包）。"

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

    fact_type: ClassVar[str] = "outsourcing.vendor_verified"
    meaning_en: ClassVar[str] = "The vendor's licence was verified against the public register."
    meaning_zh: ClassVar[str] = "已核验外包商的经营许可资质。"

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

    fact_type: ClassVar[str] = "outsourcing.ended"
    meaning_en: ClassVar[str] = "The outsourcing arrangement with the vendor ended."
    meaning_zh: ClassVar[str] = "与外包商的合作已终止。"

    vendor_uscc: Uscc = Field(description="Vendor's 统一社会信用代码")


# --- number.* / numbering.* / traffic.* (numbers service) ---------------------------------


class _NumberFact(FactPayload):
    number: PhoneNumber = Field(description="The number; stored as digits only (4006001234)")


class NumberAllocated(_NumberFact):
    """A telephone or code number (码号) was allocated to the company."""

    fact_type: ClassVar[str] = "number.allocated"
    meaning_en: ClassVar[str] = "A telephone or code number was allocated to the company."
    meaning_zh: ClassVar[str] = "企业获配电话号码或码号资源。"

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

    fact_type: ClassVar[str] = "number.filed"
    meaning_en: ClassVar[str] = "The number's use was filed with the number authority."
    meaning_zh: ClassVar[str] = "已办理码号使用备案。"


class NumberActivated(_NumberFact):
    """The number was opened for service (开通)."""

    fact_type: ClassVar[str] = "number.activated"
    meaning_en: ClassVar[str] = "The number was opened for service."
    meaning_zh: ClassVar[str] = "号码已开通使用。"


class NumberReleased(_NumberFact):
    """The number was given back (退还/注销)."""

    fact_type: ClassVar[str] = "number.released"
    meaning_en: ClassVar[str] = "The number was given back."
    meaning_zh: ClassVar[str] = "号码已退还。"


class NumberActivationReported(_NumberFact):
    """The opening of the number was reported to the authority (开通报告)."""

    fact_type: ClassVar[str] = "number.activation_reported"
    meaning_en: ClassVar[str] = "The opening of the number was reported to the authority."
    meaning_zh: ClassVar[str] = "已向主管部门报告号码开通情况。"


class NumberContactChangeNotified(_NumberFact):
    """The number authority was told of an address or contact change (码号办法 Art. 26)."""

    fact_type: ClassVar[str] = "number.contact_change_notified"
    meaning_en: ClassVar[str] = "The number authority was notified of an address or contact change."
    meaning_zh: ClassVar[str] = "已向码号主管部门报告地址或联系方式变更。"


class NumberFeePaid(_NumberFact):
    """The quarterly number occupancy fee (码号资源占用费) was paid."""

    fact_type: ClassVar[str] = "number.fee_paid"
    meaning_en: ClassVar[str] = "The number occupancy fee for a quarter was paid."
    meaning_zh: ClassVar[str] = "已缴纳该季度码号资源占用费。"

    quarter: Quarter = Field(description="Quarter paid for, e.g. 2026Q1")


class NumberingAnnualReportSubmitted(FactPayload):
    """The annual report on all the company's numbers (码号年报) was submitted."""

    fact_type: ClassVar[str] = "numbering.annual_report_submitted"
    meaning_en: ClassVar[str] = "The annual report on the company's numbers for a year was submitted."
    meaning_zh: ClassVar[str] = "已报送码号年报。"

    year: Year = Field(description="The year reported on")


class TrafficPeriodReported(FactPayload):
    """Call-traffic figures for a month, as aggregates (no call records, no phone numbers of people)."""

    fact_type: ClassVar[str] = "traffic.period_reported"
    meaning_en: ClassVar[str] = "Monthly call-traffic figures, complaints, recording retention and 95-number revenue."
    meaning_zh: ClassVar[str] = "月度话务量、投诉、录音留存及 95 号码收入等汇总数据。"

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

    fact_type: ClassVar[str] = "traffic.spot_check_recorded"
    meaning_en: ClassVar[str] = "The result of a real-name spot check."
    meaning_zh: ClassVar[str] = "实名制抽查结果。"

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

    fact_type: ClassVar[str] = "workforce.key_person_appointed"
    meaning_en: ClassVar[str] = "Someone (an opaque reference) was appointed to a key role."
    meaning_zh: ClassVar[str] = "关键岗位人员任命（以匿名编号记录）。"

    role: KeyPersonRole = Field(description="The role")
    person_ref: PersonRef = Field(
        description="The tenant's opaque reference for the person (person-001): no name, ID or phone number"
    )


class WorkforceSocialInsuranceReported(FactPayload):
    """Social-insurance (社保) figures for a month, as aggregates."""

    fact_type: ClassVar[str] = "workforce.social_insurance_reported"
    meaning_en: ClassVar[str] = "Monthly social-insurance headcount and contribution base."
    meaning_zh: ClassVar[str] = "月度社保参保人数及缴费基数。"

    month: Month = Field(description="Month reported, e.g. 2026-09")
    insured_headcount: Count = Field(description="Staff insured in the month")
    min_contribution_base: Money = Field(description="Lowest contribution base used, CNY per month")
    local_average_wage: Money = Field(
        description="Local average wage the base is compared with, CNY per month"
    )


class WorkforceSeatsDeclared(FactPayload):
    """The company declared its call-centre seats (坐席): a positive number means it operates."""

    fact_type: ClassVar[str] = "workforce.seats_declared"
    meaning_en: ClassVar[str] = "The company declared its call-centre seats."
    meaning_zh: ClassVar[str] = "企业申报呼叫中心坐席数。"

    declared_seats: Count = Field(description="Seats declared to the authority")
    system_registered_seats: Count = Field(description="Seats registered in the call-centre system")
    overseas_seats: Count = Field(description="Seats located outside China")


class WorkforceThreeWayCheckRecorded(FactPayload):
    """Quarterly comparison of actual seats, system-registered seats and insured headcount (三方核对)."""

    fact_type: ClassVar[str] = "workforce.three_way_check_recorded"
    meaning_en: ClassVar[str] = "A quarterly comparison of actual seats, system seats and insured staff was recorded."
    meaning_zh: ClassVar[str] = "已完成季度坐席、系统登记坐席与参保人数三方核对。"

    quarter: Quarter = Field(description="Quarter checked, e.g. 2026Q3")
    actual_seats: Count = Field(description="Seats actually staffed")
    system_registered_seats: Count = Field(description="Seats registered in the system")
    insured_headcount: Count = Field(description="Staff insured")
    explanation: LongText | None = Field(default=None, description="Explanation of any difference")


# --- site.* / facility.* (premises service) --------------------------------------------------


class SiteLeased(FactPayload):
    """Premises (经营场所) were leased for call-centre operations."""

    fact_type: ClassVar[str] = "site.leased"
    meaning_en: ClassVar[str] = "Premises were leased for call-centre operations."
    meaning_zh: ClassVar[str] = "租赁呼叫中心经营场所。"

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

    fact_type: ClassVar[str] = "site.lease_renewed"
    meaning_en: ClassVar[str] = "The site's lease was extended."
    meaning_zh: ClassVar[str] = "经营场所租约已续签。"

    site_ref: Ref = Field(description="The tenant's reference for the site")
    new_lease_end: LocalDate = Field(description="New last day of the lease")


class SiteVacated(FactPayload):
    """The company moved out of the site."""

    fact_type: ClassVar[str] = "site.vacated"
    meaning_en: ClassVar[str] = "The company moved out of the site."
    meaning_zh: ClassVar[str] = "已退出该经营场所。"

    site_ref: Ref = Field(description="The tenant's reference for the site")


class FacilityMlpsFiled(FactPayload):
    """An information system was filed for 等级保护 (MLPS) at a protection level."""

    fact_type: ClassVar[str] = "facility.mlps_filed"
    meaning_en: ClassVar[str] = "An information system was filed for multi-level protection (MLPS)."
    meaning_zh: ClassVar[str] = "信息系统已办理网络安全等级保护备案。"

    system_ref: Ref = Field(description="The tenant's reference for the system")
    level: MlpsLevel = Field(description="Protection level, 1–5")
    filing_no: ShortText = Field(description="Filing number (备案证明编号)")


class FacilityMlpsAssessed(FactPayload):
    """An MLPS assessment (等保测评) of the system was completed."""

    fact_type: ClassVar[str] = "facility.mlps_assessed"
    meaning_en: ClassVar[str] = "An MLPS assessment of the system was completed."
    meaning_zh: ClassVar[str] = "信息系统已完成等级保护测评。"

    system_ref: Ref = Field(description="The tenant's reference for the system")
    level: MlpsLevel = Field(description="Protection level assessed, 1–5")
    result: ShortText = Field(
        description="Assessment conclusion as written in the report (符合 / 基本符合 …)"
    )


class FacilityEmergencyPlanUpdated(FactPayload):
    """The system's emergency response plan (应急预案) was updated."""

    fact_type: ClassVar[str] = "facility.emergency_plan_updated"
    meaning_en: ClassVar[str] = "The system's emergency response plan was updated."
    meaning_zh: ClassVar[str] = "信息系统应急预案已更新。"

    system_ref: Ref = Field(description="The tenant's reference for the system")


# --- penalty.* / listing.* (penalties service) --------------------------------------------------


class _DecisionFact(FactPayload):
    decision_no: ShortText = Field(
        description="Penalty decision number (处罚决定书文号), e.g. 京通管罚〔2024〕12号"
    )


class PenaltyImposed(_DecisionFact):
    """An administrative penalty decision (行政处罚决定) was made against the company."""

    fact_type: ClassVar[str] = "penalty.imposed"
    meaning_en: ClassVar[str] = "An administrative penalty decision was made against the company."
    meaning_zh: ClassVar[str] = "企业受到行政处罚。"

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


class PenaltyRectificationDeadlineRecorded(_DecisionFact):
    """The correction deadline (责令改正期限) of a decision, recorded after the decision itself.

    For a decision recorded without its deadline (the ledger raises a finding and
    never invents one), or whose deadline the authority later set or extended; the
    latest recorded deadline counts. effective_date is the day the deadline became
    known. 补录处罚决定书（或整改通知）中确定的整改期限；以最后一次记录为准。
    """

    fact_type: ClassVar[str] = "penalty.rectification_deadline_recorded"
    meaning_en: ClassVar[str] = "The correction deadline set by the authority was recorded for a decision (set or extended later)."
    meaning_zh: ClassVar[str] = "补录主管部门确定的整改期限（含事后确定或延期）。"

    rectification_due: LocalDate = Field(
        description="Last day for the correction, as set by the authority (整改期限)"
    )


class PenaltyPaid(_DecisionFact):
    """The fine of a penalty decision was paid (缴纳罚款)."""

    fact_type: ClassVar[str] = "penalty.paid"
    meaning_en: ClassVar[str] = "The fine was paid."
    meaning_zh: ClassVar[str] = "罚款已缴纳。"

    amount: Money = Field(description="Amount paid, CNY")


class PenaltyRectificationSubmitted(_DecisionFact):
    """A rectification report (整改报告) was submitted for the decision."""

    fact_type: ClassVar[str] = "penalty.rectification_submitted"
    meaning_en: ClassVar[str] = "A rectification report was submitted."
    meaning_zh: ClassVar[str] = "已提交整改报告。"

    report_ref: Ref = Field(description="Reference to the submitted report")


class PenaltyRectificationAccepted(_DecisionFact):
    """The authority accepted the rectification."""

    fact_type: ClassVar[str] = "penalty.rectification_accepted"
    meaning_en: ClassVar[str] = "The authority accepted the rectification."
    meaning_zh: ClassVar[str] = "整改已通过验收。"


class PenaltyRevoked(_DecisionFact):
    """The penalty decision was revoked (e.g. on reconsideration or litigation)."""

    fact_type: ClassVar[str] = "penalty.revoked"
    meaning_en: ClassVar[str] = "The penalty decision was revoked."
    meaning_zh: ClassVar[str] = "行政处罚决定已撤销。"


class ListingListed(FactPayload):
    """The company was put on a public list: 不良名单, 失信名单 or 经营异常名录."""

    fact_type: ClassVar[str] = "listing.listed"
    meaning_en: ClassVar[str] = "The company was put on a bad, dishonest or abnormal-operations list."
    meaning_zh: ClassVar[str] = "企业被列入不良名单、失信名单或经营异常名录。"

    list: ListKind = Field(description="Which list")
    authority: ShortText = Field(description="Listing authority")
    reason: LongText = Field(description="Reason given")


class ListingRemoved(FactPayload):
    """The company was removed from a public list."""

    fact_type: ClassVar[str] = "listing.removed"
    meaning_en: ClassVar[str] = "The company was removed from a list."
    meaning_zh: ClassVar[str] = "企业被移出名单。"

    list: ListKind = Field(description="Which list")
