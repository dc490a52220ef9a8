"""The numbers service: its aggregates behind the shared fact endpoint on ``cmd.numbers``."""

from __future__ import annotations

from ledger_domain.endpoint import FactService

from ledger_numbers import SERVICE
from ledger_numbers.aggregates import AGGREGATES

NAME = SERVICE.name
DESCRIPTION = "Telephone and code numbers, 码号 reporting and traffic: number.*, numbering.*, traffic.*."


def build() -> FactService:
    """A fresh service (a router and an unstarted repository); mount it alone or with the others."""
    return FactService(NAME, AGGREGATES, description=f"Record one fact owned by the numbers service. {DESCRIPTION} "
                                                     "Replies with the event or a refusal (docs/internal-protocol.md).")
