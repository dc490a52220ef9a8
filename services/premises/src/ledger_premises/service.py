"""The premises service: its aggregates behind the shared fact endpoint on ``cmd.premises``."""

from __future__ import annotations

from ledger_domain.endpoint import FactService

from ledger_premises import SERVICE
from ledger_premises.aggregates import AGGREGATES

NAME = SERVICE.name
DESCRIPTION = "Sites and information systems: site.*, facility.*."


def build() -> FactService:
    """A fresh service (a router and an unstarted repository); mount it alone or with the others."""
    return FactService(NAME, AGGREGATES, description=f"Record one fact owned by the premises service. {DESCRIPTION} "
                                                     "Replies with the event or a refusal (docs/internal-protocol.md).")
