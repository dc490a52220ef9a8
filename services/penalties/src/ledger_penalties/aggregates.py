"""The penalties service's aggregates: each penalty decision, and the company's public listings.

A decision (id derived from its 文号) is imposed once; payments, rectification
and revocation refer to an imposed decision; a rectification deadline recorded
later needs a decision that orders correction. Partial payments are allowed (a fine
may be paid in instalments); an unpaid fine or a missed rectification deadline
is the projector's finding, not a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ledger_domain.aggregate import DomainAggregate
from ledger_kernel.aggregate import Aggregate, Command, Refused

_LISTS_ZH = {"bad": "不良名单", "dishonest": "失信名单", "abnormal": "经营异常名录"}


@dataclass
class Penalty(DomainAggregate):
    """One administrative penalty decision."""

    aggregate_type: ClassVar[str] = "penalty"

    imposed: bool = False
    revoked: bool = False
    orders_rectification: bool = False
    decided_on: str | None = None  # ISO dates compare as strings

    def _require_imposed(self, data: dict[str, Any]) -> None:
        if not self.imposed:
            raise Refused("unknown_decision", "data.decision_no",
                          f"no penalty decision {data['decision_no']} was imposed; record penalty.imposed first",
                          f"未记录处罚决定 {data['decision_no']}，请先记录 penalty.imposed")

    def check_penalty_imposed(self, data: dict[str, Any], command: Command) -> None:
        if self.imposed:
            raise Refused("duplicate_decision", "data.decision_no",
                          f"penalty decision {data['decision_no']} was already recorded",
                          f"处罚决定 {data['decision_no']} 已记录")

    def on_penalty_imposed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.imposed = True
        self.orders_rectification = data.get("orders_rectification") is True
        self.decided_on = data.get("decided_on")

    def check_penalty_rectification_deadline_recorded(self, data: dict[str, Any], command: Command) -> None:
        # a later deadline (an extension) may be recorded again: the latest recorded one counts
        self._require_imposed(data)
        no = data["decision_no"]
        if not self.orders_rectification:
            raise Refused("no_rectification_ordered", "data.decision_no",
                          f"penalty decision {no} was recorded as not ordering correction, so it has no "
                          "rectification deadline",
                          f"处罚决定 {no} 记录为未责令改正，不存在整改期限")
        if self.decided_on is not None and data["rectification_due"] < self.decided_on:
            raise Refused("before_decision", "data.rectification_due",
                          f"rectification_due ({data['rectification_due']}) cannot be before the decision date "
                          f"({self.decided_on})",
                          f"整改期限（{data['rectification_due']}）不能早于决定日期（{self.decided_on}）")

    def check_penalty_paid(self, data: dict[str, Any], command: Command) -> None:
        self._require_imposed(data)

    def check_penalty_rectification_submitted(self, data: dict[str, Any], command: Command) -> None:
        self._require_imposed(data)

    def check_penalty_rectification_accepted(self, data: dict[str, Any], command: Command) -> None:
        self._require_imposed(data)

    def check_penalty_revoked(self, data: dict[str, Any], command: Command) -> None:
        self._require_imposed(data)
        if self.revoked:
            raise Refused("already_revoked", "data.decision_no",
                          f"penalty decision {data['decision_no']} is already revoked",
                          f"处罚决定 {data['decision_no']} 已撤销")

    def on_penalty_revoked(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.revoked = True


@dataclass
class Listing(DomainAggregate):
    """The public lists the company is on (id: the company)."""

    aggregate_type: ClassVar[str] = "listing"

    on: set[str] = field(default_factory=set)

    def check_listing_listed(self, data: dict[str, Any], command: Command) -> None:
        if data["list"] in self.on:
            raise Refused("already_listed", "data.list", f"the company is already on the {data['list']} list",
                          f"企业已在{_LISTS_ZH.get(data['list'], data['list'])}中")

    def on_listing_listed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.on.add(data["list"])

    def check_listing_removed(self, data: dict[str, Any], command: Command) -> None:
        if data["list"] not in self.on:
            raise Refused("not_listed", "data.list", f"the company is not on the {data['list']} list",
                          f"企业不在{_LISTS_ZH.get(data['list'], data['list'])}中")

    def on_listing_removed(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.on.discard(data["list"])


AGGREGATES: dict[str, type[Aggregate]] = {"penalty": Penalty, "listing": Listing}
