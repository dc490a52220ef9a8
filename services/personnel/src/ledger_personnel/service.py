"""The personnel service: its aggregates behind the shared fact endpoint on ``cmd.personnel``."""

from __future__ import annotations

from ledger_domain.endpoint import FactService

from ledger_personnel import SERVICE
from ledger_personnel.aggregates import AGGREGATES

NAME = SERVICE.name
DESCRIPTION = "The company's workforce: workforce.*."


def build() -> FactService:
    """A fresh service (a router and an unstarted repository); mount it alone or with the others."""
    return FactService(NAME, AGGREGATES, description=f"Record one fact owned by the personnel service. {DESCRIPTION} "
                                                     "Replies with the event or a refusal (docs/internal-protocol.md).")
