"""The personnel service's aggregate: the company's workforce (id: the company).

Appointments, social-insurance months, seat declarations and three-way checks
are observations; a later one corrects or supersedes an earlier one, and a
mismatch between them is the projector's finding. So nothing here is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ledger_domain.aggregate import DomainAggregate
from ledger_kernel.aggregate import Aggregate


@dataclass
class Workforce(DomainAggregate):
    aggregate_type: ClassVar[str] = "workforce"


AGGREGATES: dict[str, type[Aggregate]] = {"workforce": Workforce}
