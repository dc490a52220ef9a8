"""The rule pack: obligations, findings and the credit estimate, as pure functions over facts.

    from ledger_rules import RulePack, Calendar, RecordedFact, evaluate
    ev = evaluate(facts, RulePack.default(), Calendar.official())
    obligation_status(ev.obligations[0], at, pack); ev.findings[0].open_at(at); credit_estimate(ev, at, pack)

No I/O, no wall clock: time is always an argument. Each rule is one function declared where it
is written (`registry`: `@obligation` in `obligations`, `@state_finding` / `@timeline_finding` in
`findings`); importing the package imports those modules, so `RulePack.default()` holds them all.
"""

from ledger_contracts.zone import SHANGHAI

from .calendar import Calendar, ScheduleError, YearSchedule
from .credit import CreditAlert, credit_alert, credit_estimate
from .evaluation import Evaluation, Summary, evaluate
from .history import SUPPORTED_FACT_TYPES
from .instants import day_start, local_date
from .model import (
    CreditComponent,
    CreditEstimate,
    CreditInputs,
    Finding,
    Interval,
    Milestone,
    Obligation,
    RecordedFact,
    ReminderStep,
    as_json,
    finding_open_at,
)
from .periods import Due, add_months, days_after, days_before, months_after, working_days_after
from .reminders import pending_steps, reminder_schedule
from .ruleset import DEFAULT_LADDER, Rule, RulePack
from .status import STATUSES, obligation_status

__all__ = [
    "Calendar", "YearSchedule", "ScheduleError",
    "RulePack", "Rule", "DEFAULT_LADDER",
    "RecordedFact", "evaluate", "Evaluation", "Obligation", "Milestone", "Finding", "Interval", "Summary",
    "obligation_status", "STATUSES", "finding_open_at",
    "credit_estimate", "credit_alert", "CreditEstimate", "CreditComponent", "CreditInputs", "CreditAlert",
    "reminder_schedule", "pending_steps", "ReminderStep",
    "Due", "add_months", "days_after", "days_before", "months_after", "working_days_after",
    "SHANGHAI", "local_date", "day_start", "as_json", "SUPPORTED_FACT_TYPES",
]
