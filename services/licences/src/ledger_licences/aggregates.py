"""The licences service's aggregates: the company, each licence, each outsourcing arrangement.

Each refuses only what breaks its own history (a licence issued twice, a renewal
of a licence never issued). Whether the company is compliant — operating
without a licence, a late filing — is the projector's judgement, so such facts
are recorded. Facts arrive late and out of order, so no check compares a fact
with the order of effective dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ledger_domain.aggregate import DomainAggregate
from ledger_kernel.aggregate import Aggregate, Command, Refused


def _refuse(code: str, field_path: str, reason_en: str, reason_zh: str) -> Refused:
    return Refused(code, field_path, reason_en, reason_zh)


@dataclass
class Company(DomainAggregate):
    """The company itself: registration, restructurings, declarations (id: the USCC)."""

    aggregate_type: ClassVar[str] = "company"

    registered: bool = False
    restructurings: dict[str, dict[str, bool]] = field(default_factory=dict)  # ref → approved / completed
    tracked_from: str | None = None  # the latest company.tracking_started (ISO date)

    def check_company_registered(self, data: dict[str, Any], command: Command) -> None:
        # A company is registered once; what changes later is company.registration_changed.
        if self.registered:
            raise _refuse("already_registered", "company", f"company {command.company} is already registered; "
                          "record a change of its particulars as company.registration_changed",
                          f"企业 {command.company} 已登记；登记事项变更请记录 company.registration_changed")

    def on_company_registered(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.registered = True

    def _restructuring(self, data: dict[str, Any]) -> dict[str, bool]:
        found = self.restructurings.get(data["ref"])
        if found is None:
            raise _refuse("unknown_restructuring", "data.ref",
                          f"no restructuring {data['ref']!r} was decided; record company.restructuring_decided first",
                          f"未记录重组事项 {data['ref']!r} 的决定，请先记录 company.restructuring_decided")
        return found

    def check_company_restructuring_decided(self, data: dict[str, Any], command: Command) -> None:
        if data["ref"] in self.restructurings:
            raise _refuse("restructuring_exists", "data.ref", f"restructuring {data['ref']!r} was already decided",
                          f"重组事项 {data['ref']!r} 已记录过决定")

    def on_company_restructuring_decided(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.restructurings[data["ref"]] = {"approved": False, "completed": False}

    def check_company_restructuring_approved(self, data: dict[str, Any], command: Command) -> None:
        if self._restructuring(data)["approved"]:
            raise _refuse("already_approved", "data.ref", f"restructuring {data['ref']!r} was already approved",
                          f"重组事项 {data['ref']!r} 已获批准")

    def on_company_restructuring_approved(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.restructurings[data["ref"]]["approved"] = True

    def check_company_restructuring_completed(self, data: dict[str, Any], command: Command) -> None:
        # completed without approval is recorded: that is the restructuring-unapproved finding
        if self._restructuring(data)["completed"]:
            raise _refuse("already_completed", "data.ref", f"restructuring {data['ref']!r} was already completed",
                          f"重组事项 {data['ref']!r} 已实施完成")

    def on_company_restructuring_completed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.restructurings[data["ref"]]["completed"] = True


    def check_company_tracking_started(self, data: dict[str, Any], command: Command) -> None:
        # recording it again moves the baseline (the latest counts); the same date again says nothing new
        if data["tracked_from"] == self.tracked_from:
            raise _refuse("tracking_unchanged", "data.tracked_from",
                          f"tracking already starts on {self.tracked_from}; record another date to move it",
                          f"建账基准日已是 {self.tracked_from}；如需调整请记录其他日期")

    def on_company_tracking_started(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.tracked_from = data["tracked_from"]

@dataclass
class Licence(DomainAggregate):
    """One 增值电信业务经营许可证 (id: the licence number, or a hash of it when not token-safe)."""

    aggregate_type: ClassVar[str] = "licence"

    issued: bool = False
    applied: bool = False  # a licence.applied for this number or application reference
    refused: bool = False  # the latest application was refused (licence.refused)
    suspended: bool = False  # suspended and not reinstated since
    expires_on: str | None = None  # ISO dates compare as strings
    annual_reports: dict[int, str] = field(default_factory=dict)  # year → submitted | returned | accepted
    ended: set[str] = field(default_factory=set)  # revoked, cancelled

    def _require_issued(self, data: dict[str, Any]) -> None:
        if not self.issued:
            raise _refuse("unknown_licence", "data.licence_no",
                          f"licence {data['licence_no']} was never issued; record licence.issued first",
                          f"许可证 {data['licence_no']} 未记录颁发，请先记录 licence.issued")

    def check_licence_applied(self, data: dict[str, Any], command: Command) -> None:
        if self.issued:
            raise _refuse("already_issued", "data.licence_no",
                          f"licence {data['licence_no']} is already issued; a renewal is licence.renewal_applied",
                          f"许可证 {data['licence_no']} 已颁发；续期请记录 licence.renewal_applied")

    def on_licence_applied(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.applied = True
        self.refused = False  # applying again after a refusal starts a new application

    def check_licence_refused(self, data: dict[str, Any], command: Command) -> None:
        no = data["licence_no"]
        if self.issued:
            raise _refuse("already_issued", "data.licence_no",
                          f"licence {no} is already issued, so its application cannot be refused; "
                          "a refused renewal is licence.renewal_refused",
                          f"许可证 {no} 已颁发，不能再记录不予许可；续期未获批准请记录 licence.renewal_refused")
        if not self.applied:
            raise _refuse("unknown_application", "data.licence_no",
                          f"no application {no} was recorded; record licence.applied first",
                          f"未记录申请 {no}，请先记录 licence.applied")
        if self.refused:
            raise _refuse("already_refused", "data.licence_no",
                          f"application {no} was already refused; a new application is licence.applied",
                          f"申请 {no} 已记录不予许可；重新申请请记录 licence.applied")

    def on_licence_refused(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.refused = True

    def check_licence_issued(self, data: dict[str, Any], command: Command) -> None:
        if self.issued:
            raise _refuse("already_issued", "data.licence_no", f"licence {data['licence_no']} was already issued",
                          f"许可证 {data['licence_no']} 已记录颁发")

    def on_licence_issued(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.issued = True
        self.expires_on = data["expires_on"]

    def check_licence_change_filed(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def check_licence_change_approved(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def check_licence_renewal_applied(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def check_licence_renewed(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)
        if self.expires_on is not None and data["new_expires_on"] <= self.expires_on:
            raise _refuse("not_after_current_expiry", "data.new_expires_on",
                          f"new_expires_on {data['new_expires_on']} is not after the current expiry {self.expires_on}",
                          f"新的有效期 {data['new_expires_on']} 不晚于当前有效期 {self.expires_on}")

    def on_licence_renewed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.expires_on = data["new_expires_on"]

    def check_licence_renewal_refused(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def check_licence_annual_report_submitted(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)
        state = self.annual_reports.get(data["year"])
        if state in ("submitted", "accepted"):  # after a return, the corrected report is submitted again
            raise _refuse("annual_report_exists", "data.year",
                          f"the annual report of {data['year']} for {data['licence_no']} was already submitted",
                          f"许可证 {data['licence_no']} 的 {data['year']} 年度年报已报送")

    def on_licence_annual_report_submitted(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.annual_reports[data["year"]] = "submitted"

    def check_licence_annual_report_returned(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def on_licence_annual_report_returned(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.annual_reports[data["year"]] = "returned"

    def check_licence_annual_report_accepted(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def on_licence_annual_report_accepted(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.annual_reports[data["year"]] = "accepted"

    def check_licence_suspended(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)

    def on_licence_suspended(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.suspended = True

    def check_licence_reinstated(self, data: dict[str, Any], command: Command) -> None:
        self._require_issued(data)
        if not self.suspended:
            raise _refuse("not_suspended", "data.licence_no",
                          f"licence {data['licence_no']} is not suspended, so there is nothing to reinstate; "
                          "record licence.suspended first",
                          f"许可证 {data['licence_no']} 未被暂停，无需恢复；请先记录 licence.suspended")

    def on_licence_reinstated(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.suspended = False

    def _require_not(self, ending: str, data: dict[str, Any]) -> None:
        self._require_issued(data)
        if ending in self.ended:
            zh = {"revoked": "吊销", "cancelled": "注销"}[ending]
            raise _refuse(f"already_{ending}", "data.licence_no", f"licence {data['licence_no']} is already {ending}",
                          f"许可证 {data['licence_no']} 已被{zh}")

    def check_licence_revoked(self, data: dict[str, Any], command: Command) -> None:
        self._require_not("revoked", data)

    def on_licence_revoked(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.ended.add("revoked")

    def check_licence_cancelled(self, data: dict[str, Any], command: Command) -> None:
        self._require_not("cancelled", data)

    def on_licence_cancelled(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.ended.add("cancelled")


@dataclass
class Outsourcing(DomainAggregate):
    """The company's arrangement with one vendor (id: the vendor's USCC)."""

    aggregate_type: ClassVar[str] = "outsourcing"

    arranged: bool = False
    active: bool = False

    def _require_arranged(self, data: dict[str, Any]) -> None:
        if not self.arranged:
            raise _refuse("unknown_arrangement", "data.vendor_uscc",
                          f"no outsourcing with vendor {data['vendor_uscc']} was arranged; record outsourcing.arranged "
                          "first", f"未记录与外包商 {data['vendor_uscc']} 的合作，请先记录 outsourcing.arranged")

    def on_outsourcing_arranged(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.arranged = self.active = True  # arranging again while active restates the terms

    def check_outsourcing_vendor_verified(self, data: dict[str, Any], command: Command) -> None:
        self._require_arranged(data)

    def check_outsourcing_ended(self, data: dict[str, Any], command: Command) -> None:
        self._require_arranged(data)
        if not self.active:
            raise _refuse("already_ended", "data.vendor_uscc",
                          f"the outsourcing with vendor {data['vendor_uscc']} has already ended",
                          f"与外包商 {data['vendor_uscc']} 的合作已终止")

    def on_outsourcing_ended(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.active = False


AGGREGATES: dict[str, type[Aggregate]] = {"company": Company, "licence": Licence, "outsourcing": Outsourcing}
