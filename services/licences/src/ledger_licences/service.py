"""The licences service: its aggregates behind the shared fact endpoint on ``cmd.licences``."""

from __future__ import annotations

from ledger_domain.endpoint import FactService

from ledger_licences import SERVICE
from ledger_licences.aggregates import AGGREGATES

NAME = SERVICE.name
DESCRIPTION = "Companies, licences and outsourcing arrangements: company.*, licence.*, outsourcing.*."


def build() -> FactService:
    """A fresh service (a router and an unstarted repository); mount it alone or with the others."""
    return FactService(NAME, AGGREGATES, description=f"Record one fact owned by the licences service. {DESCRIPTION} "
                                                     "Replies with the event or a refusal (docs/internal-protocol.md).")
