"""Facts for the projector itself, recorded on LEDGER so that a rebuild reproduces them.

- ``calendar.year_loaded`` on ``ledger._system._calendar.calendar.<year>``: an operator-loaded
  holiday schedule for a year the official data does not cover (``ledger calendar load FILE``).
- ``rules.overrides_set`` on ``ledger._system._rules.rules.<tenant>``: a tenant's rule-pack
  parameter overrides (reminder ladders per kind, thresholds, …).

The projector applies them in ledger order and re-evaluates every company they affect,
so deadlines that were provisional become firm exactly where the new data says.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_kernel.aggregate import Aggregate, Command
from ledger_kernel.canonical import canonical_json
from ledger_kernel.clock import clock_from_setting, local_today
from ledger_kernel.connection import connect
from ledger_kernel.repository import Recorded, Repository
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_kernel.subjects import AggregateAddress, check_token
from ledger_rules.calendar import YearSchedule
from ledger_rules.ruleset import RulePack

from ledger_projector.decoding import (
    CALENDAR_COMPANY,
    CALENDAR_TYPE,
    RULES_COMPANY,
    RULES_TYPE,
    SYSTEM_TENANT,
)

SOURCE = "urn:ledger:projector"


class CalendarAggregate(Aggregate):
    aggregate_type = "calendar"


class RulesAggregate(Aggregate):
    aggregate_type = "rules"


@dataclass(frozen=True)
class Loaded:
    year: int
    holidays: int
    workdays: int
    ledger_sequence: int
    duplicate: bool


def schedule_data(obj: Any) -> dict[str, Any]:
    """Validate a year schedule (raises ``ScheduleError`` listing every problem) into its ledger form."""
    schedule = YearSchedule.parse(obj)
    data: dict[str, Any] = {"year": schedule.year,
                            "holidays": sorted(d.isoformat() for d in schedule.holidays),
                            "workdays": sorted(d.isoformat() for d in schedule.workdays)}
    if schedule.source:
        data["source"] = schedule.source
    return data


def _command_id(subject: str, version: int, data: dict[str, Any]) -> str:
    """Same content on the same aggregate version, same command: a retried load records it once."""
    digest = hashlib.sha256(canonical_json(data)).hexdigest()[:32]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ledger:projector/{subject}/{version}/{digest}"))


async def _record(settings: Settings, company: str, aggregate_cls: type[Aggregate], aggregate_id: str,
                  fact_type: str, data: dict[str, Any]) -> Recorded:
    nc = await connect(settings.effective_nats_url, "projector-system-fact")
    try:
        await provision(nc, settings.replicas)
        clock = clock_from_setting(settings.clock)
        repo = Repository(LedgerStore(nc), SOURCE, clock=clock)
        address = AggregateAddress(SYSTEM_TENANT, company, aggregate_cls.aggregate_type, aggregate_id)
        agg = await repo.load(address, aggregate_cls)
        last = max(agg.events.values(), key=lambda r: r.sequence, default=None)
        if last is not None:  # unchanged content: nothing new to record
            stored = await LedgerStore(nc).last_on_subject(address.subject)
            if stored is not None and stored.event()["data"] == data:
                return Recorded(stored.event()["id"], fact_type, address.subject, aggregate_id, last.sequence,
                                stored.stream_seq, duplicate=True)
        command = Command(tenant=SYSTEM_TENANT, company=company, type=fact_type, effective_date=local_today(clock),
                          data=data, command_id=_command_id(address.subject, agg.version, data),
                          actor="operator")
        return await repo.execute(command, address, aggregate_cls, 1)
    finally:
        await nc.close()


async def load_calendar(settings: Settings, path: str | Path) -> Loaded:
    """Record a year's holiday schedule (JSON ``{year, holidays, workdays, source?}``) on LEDGER.

    ``ledger calendar load FILE`` calls this. Raises ``ScheduleError`` (a ValueError) with every
    problem of the file; nothing is recorded then.
    """
    obj = json.loads(await asyncio.to_thread(Path(path).read_text, encoding="utf-8"))
    data = schedule_data(obj)
    year = data["year"]
    recorded = await _record(settings, CALENDAR_COMPANY, CalendarAggregate, str(year), CALENDAR_TYPE, data)
    return Loaded(year, len(data["holidays"]), len(data["workdays"]), recorded.ledger_sequence, recorded.duplicate)


async def set_rule_overrides(settings: Settings, tenant: str, overrides: dict[str, Any]) -> Recorded:
    """Record a tenant's rule-pack overrides (e.g. ``{"rules": {"renewal": {"reminders": [60, 30, 0]}}}``).

    Raises ValueError (nothing recorded) when the rule pack refuses them.
    """
    check_token("tenant", tenant)
    RulePack.default().with_overrides(overrides)  # refuse what the pack refuses, before it is a fact
    data = {"tenant": tenant, "overrides": overrides}
    return await _record(settings, RULES_COMPANY, RulesAggregate, tenant, RULES_TYPE, data)
