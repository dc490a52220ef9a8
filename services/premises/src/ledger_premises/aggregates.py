"""The premises service's aggregates: each leased site and each information system.

A site's lease is leased → renewed … → vacated (and may be leased again). A lease
whose purpose omits 呼叫中心, or a sublease without consent, is recorded: that is
the projector's finding. Systems (MLPS filings, assessments, emergency plans)
have no invariant of their own: an assessment before a filing, or a plan for an
unfiled system, reveals non-compliance rather than breaking the system's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ledger_domain.aggregate import DomainAggregate
from ledger_kernel.aggregate import Aggregate, Command, Refused


@dataclass
class Site(DomainAggregate):
    """One site (id: the tenant's site_ref)."""

    aggregate_type: ClassVar[str] = "site"

    occupied: bool = False
    vacated: bool = False
    lease_end: str | None = None  # ISO dates compare as strings

    def _require_occupied(self, data: dict[str, Any]) -> None:
        if self.occupied:
            return
        if self.vacated:
            raise Refused("site_vacated", "data.site_ref",
                          f"site {data['site_ref']} was vacated; record site.leased if it is leased again",
                          f"场所 {data['site_ref']} 已退租；如重新租赁，请先记录 site.leased")
        raise Refused("unknown_site", "data.site_ref",
                      f"site {data['site_ref']} was never leased; record site.leased first",
                      f"场所 {data['site_ref']} 未记录租赁，请先记录 site.leased")

    def check_site_leased(self, data: dict[str, Any], command: Command) -> None:
        if self.occupied:
            raise Refused("already_leased", "data.site_ref",
                          f"site {data['site_ref']} is already leased; extend it with site.lease_renewed",
                          f"场所 {data['site_ref']} 已在租；续租请记录 site.lease_renewed")

    def on_site_leased(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.occupied, self.vacated, self.lease_end = True, False, data["lease_end"]

    def check_site_lease_renewed(self, data: dict[str, Any], command: Command) -> None:
        self._require_occupied(data)
        if self.lease_end is not None and data["new_lease_end"] <= self.lease_end:
            raise Refused("not_after_current_end", "data.new_lease_end",
                          f"new_lease_end {data['new_lease_end']} is not after the current lease end {self.lease_end}",
                          f"新的租期截止日 {data['new_lease_end']} 不晚于当前租期截止日 {self.lease_end}")

    def on_site_lease_renewed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.lease_end = data["new_lease_end"]

    def check_site_vacated(self, data: dict[str, Any], command: Command) -> None:
        self._require_occupied(data)

    def on_site_vacated(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.occupied, self.vacated = False, True


@dataclass
class Facility(DomainAggregate):
    """One information system (id: the tenant's system_ref); see the module docstring for why nothing is refused."""

    aggregate_type: ClassVar[str] = "facility"


AGGREGATES: dict[str, type[Aggregate]] = {"site": Site, "facility": Facility}
