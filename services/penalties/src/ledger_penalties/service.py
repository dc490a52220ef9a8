"""The penalties service: its aggregates behind the shared fact endpoint on ``cmd.penalties``."""

from __future__ import annotations

from ledger_domain.endpoint import FactService

from ledger_penalties import SERVICE
from ledger_penalties.aggregates import AGGREGATES

NAME = SERVICE.name
DESCRIPTION = "Penalty decisions and public listings: penalty.*, listing.*."


def build() -> FactService:
    """A fresh service (a router and an unstarted repository); mount it alone or with the others."""
    return FactService(NAME, AGGREGATES, description=f"Record one fact owned by the penalties service. {DESCRIPTION} "
                                                     "Replies with the event or a refusal (docs/internal-protocol.md).")
