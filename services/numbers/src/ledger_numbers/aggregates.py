"""The numbers service's aggregates: each number, the company's 码号 reporting, its traffic.

A number's own life is allocated → filed / activated / reported / fees → released,
and may start again after a release. Facts about a number the company does not
hold are refused; a number held without a licence is recorded (the projector's
number-without-licence finding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ledger_domain.aggregate import DomainAggregate
from ledger_kernel.aggregate import Aggregate, Command, Refused


@dataclass
class Number(DomainAggregate):
    """One telephone or code number (id: its digits)."""

    aggregate_type: ClassVar[str] = "number"

    held: bool = False
    released: bool = False
    filed: bool = False
    activated: bool = False
    fees_paid: set[str] = field(default_factory=set)  # quarters paid in the current allocation

    def _require_held(self, data: dict[str, Any]) -> None:
        if self.held:
            return
        if self.released:
            raise Refused("number_released", "data.number",
                          f"number {data['number']} was released; record number.allocated if it was allocated again",
                          f"号码 {data['number']} 已退还；如重新获配，请先记录 number.allocated")
        raise Refused("unknown_number", "data.number",
                      f"number {data['number']} was never allocated; record number.allocated first",
                      f"号码 {data['number']} 未记录获配，请先记录 number.allocated")

    def check_number_allocated(self, data: dict[str, Any], command: Command) -> None:
        if self.held:
            raise Refused("already_allocated", "data.number", f"number {data['number']} is already allocated",
                          f"号码 {data['number']} 已获配且未退还")

    def on_number_allocated(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.held, self.released, self.filed, self.activated = True, False, False, False
        self.fees_paid = set()

    def check_number_filed(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)
        if self.filed:
            raise Refused("already_filed", "data.number", f"number {data['number']} was already filed",
                          f"号码 {data['number']} 已办理备案")

    def on_number_filed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.filed = True

    def check_number_activated(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)
        if self.activated:
            raise Refused("already_activated", "data.number", f"number {data['number']} was already activated",
                          f"号码 {data['number']} 已开通")

    def on_number_activated(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.activated = True

    def check_number_released(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)

    def on_number_released(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.held, self.released = False, True

    def check_number_activation_reported(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)

    def check_number_contact_change_notified(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)

    def check_number_fee_paid(self, data: dict[str, Any], command: Command) -> None:
        self._require_held(data)
        if data["quarter"] in self.fees_paid:
            raise Refused("fee_already_paid", "data.quarter",
                          f"the fee of {data['quarter']} for number {data['number']} was already paid",
                          f"号码 {data['number']} 的 {data['quarter']} 占用费已缴纳")

    def on_number_fee_paid(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.fees_paid.add(data["quarter"])


@dataclass
class Numbering(DomainAggregate):
    """The company's 码号 annual reporting (id: the company)."""

    aggregate_type: ClassVar[str] = "numbering"

    years_reported: set[int] = field(default_factory=set)

    def check_numbering_annual_report_submitted(self, data: dict[str, Any], command: Command) -> None:
        if data["year"] in self.years_reported:
            raise Refused("annual_report_exists", "data.year",
                          f"the number annual report of {data['year']} was already submitted",
                          f"{data['year']} 年度码号年报已报送")

    def on_numbering_annual_report_submitted(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.years_reported.add(data["year"])


@dataclass
class Traffic(DomainAggregate):
    """The company's traffic reports and spot checks (id: the company).

    No invariant of its own: a month reported again is a correction the projector
    reads as the latest figures.
    """

    aggregate_type: ClassVar[str] = "traffic"


AGGREGATES: dict[str, type[Aggregate]] = {"number": Number, "numbering": Numbering, "traffic": Traffic}
