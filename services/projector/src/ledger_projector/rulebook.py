"""The projector's one door into the rule pack (``ledger_rules``).

The rule pack is pure: one company's facts in, obligations, findings and credit
inputs out, valid at any instant. Here that result becomes rows for the read model
(time-independent: dates and intervals, never statuses) and answers at an instant
(statuses, open findings, the credit estimate, the summary). Loaded calendar years
and tenant overrides are state applied from LEDGER, so a rebuild sees the same.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal, Protocol

from ledger_kernel.envelope import format_time
from ledger_rules.calendar import Calendar
from ledger_rules.evaluation import Evaluation
from ledger_rules.history import History
from ledger_rules.instants import local_date
from ledger_rules.model import Finding, Obligation, RecordedFact, as_json, finding_open_at
from ledger_rules.ruleset import RulePack
from ledger_rules.status import status_on

log = logging.getLogger(__name__)
STATUTORY = ("statutory", "notice")  # confidences whose deadlines a regulator counts
TO_DO = ("scheduled", "open", "due_soon")  # statuses of an obligation still ahead (as the summary's next_due)


@cache
def _fn(name: str) -> Any:
    """A function of the rule pack, wherever in the package it lives."""
    try:
        return getattr(importlib.import_module("ledger_rules"), name)
    except AttributeError:
        pass
    for module in ("evaluate", "evaluation", "reminders", "credit", "obligations", "findings", "engine"):
        try:
            mod = importlib.import_module(f"ledger_rules.{module}")
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise ImportError(f"ledger_rules has no {name}")


def _plain(value: Any) -> Any:
    """JSON-ready parameters and evidence (mappings, sequences, dates), quickly."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return as_json(value)


def _iso(at: datetime | None) -> str | None:
    return format_time(at) if at is not None else None


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


class CompanyView:
    """One company's evaluation, its read-model rows, and answers at any instant."""

    def __init__(self, key: str, evaluation: Evaluation | None, pack: RulePack, error: str | None = None,
                 name: str | None = None, before: CompanyView | None = None) -> None:
        """``before``: the company's previous view; the rows of obligations and findings that are still
        the same objects (an evaluation re-run rule by rule keeps them) are taken from it, not built again."""
        self.key = key
        self.tenant, self.company = key.split(".", 1)
        self.evaluation = evaluation
        self.pack = pack
        self.error = error
        self.name = name
        self._obs: dict[str, Obligation] = {o.id: o for o in evaluation.obligations} if evaluation else {}
        self._fs: dict[str, Finding] = {f.id: f for f in evaluation.findings} if evaluation else {}
        self._params: dict[int, tuple[Any, Any]] = {}  # converted parameter mappings, by identity
        # statuses on one local day (the scheduler, the change feed and the summary each ask for all of them)
        self._status_day: date | None = None
        self._statuses: dict[str, str] = {}
        self._estimate: tuple[datetime, Any] | None = None  # the credit estimate at one instant
        # id → (obligation or finding, its public form) as the read entries were last built (``entries``)
        self.bodies: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.bodies_before: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.obligation_rows: list[dict[str, Any]]
        self.finding_rows: list[dict[str, Any]]
        same = before is not None and before.pack is pack and before.key == key
        rows: dict[str, dict[str, Any]] = {}
        if same and before is not None:
            old_obs, old_fs = before._obs, before._fs
            rows = {r["obligation_id"]: r for r in before.obligation_rows if old_obs.get(r["obligation_id"]) is not None}
            self.obligation_rows = [row if (row := rows.get(i)) is not None and old_obs[i] is o
                                    else self._obligation_row(o) for i, o in self._obs.items()]
            rows = {r["finding_id"]: r for r in before.finding_rows}
            self.finding_rows = [row if (row := rows.get(i)) is not None and old_fs.get(i) is f
                                 else self._finding_row(f) for i, f in self._fs.items()]
            self.bodies_before = before.bodies or before.bodies_before
            if before._statuses:  # an obligation kept as the same object has the same status on the same day
                self._status_day = before._status_day
                self._statuses = {i: st for i, st in before._statuses.items() if self._obs.get(i) is old_obs.get(i)}
        else:
            self.obligation_rows = [self._obligation_row(o) for o in self._obs.values()]
            self.finding_rows = [self._finding_row(f) for f in self._fs.values()]

    # --- rows (time-independent) -------------------------------------------------------------------

    def _obligation_row(self, o: Obligation) -> dict[str, Any]:
        # informational and before-baseline obligations have no ladder: no reminder, no alert (rules.md §5)
        ladder = () if o.informational or o.before_tracking else tuple(self.pack.params(o.rule).get("reminders", ())) \
            if o.rule in self.pack.rules else tuple(o.params.get("reminders", ()))
        milestones = () if o.before_tracking else o.milestones
        fires = [o.due - timedelta(days=n) for n in ladder] + [m.due for m in milestones]
        return {
            "company_key": self.key, "obligation_id": o.id, "tenant": self.tenant, "company": self.company,
            "rule": o.rule, "kind": o.about_kind, "about": o.about,
            "year": o.year, "quarter": o.quarter, "window_opens": o.window_opens, "due": o.due,
            "fulfilled_on": o.fulfilled_on, "fulfilled_by": o.fulfilled_by,
            "waived": o.waived_on is not None, "cancelled": o.cancelled_on is not None,
            "provisional": o.provisional, "source": o.source, "confidence": o.confidence,
            "reminders_from": min(fires) if fires else None, "reminders_until": max(fires) if fires else None,
        }

    def _params_of(self, params: Mapping[str, Any]) -> Any:
        hit = self._params.get(id(params))
        if hit is None or hit[0] is not params:
            hit = self._params[id(params)] = (params, _plain(params))
        return hit[1]

    def latest_step(self, obligation_id: str, today: date) -> tuple[str, date, str] | None | Literal[False]:
        """The ladder step that applies today for an open obligation without milestones — the same
        answer as the rule pack's ``pending_steps`` (its latest step), computed without building the
        whole schedule; ``False`` when the obligation has milestones (ask the rule pack)."""
        o = self._obs[obligation_id]
        if o.milestones:
            return False
        ladder = self.pack.params(o.rule).get("reminders", ()) if o.rule in self.pack.rules else ()
        passed = [n for n in ladder if o.due - timedelta(days=n) <= today]
        if not passed:
            return None
        n = min(passed)
        if n == 0:
            return "d0", o.due, "obligation.due_today"
        if n > 0:
            return f"d-{n}", o.due - timedelta(days=n), "obligation.due_soon"
        return f"d+{-n}", o.due - timedelta(days=n), "obligation.overdue"

    def closed_by(self, obligation_id: str, today: date) -> bool:
        o = self._obs[obligation_id]
        if o.before_tracking:
            return True  # attested history before the onboarding baseline: never reminded (rules.md §5)
        return any(d is not None and d <= today for d in (o.fulfilled_on, o.waived_on, o.cancelled_on))

    def _finding_row(self, f: Finding) -> dict[str, Any]:
        bounds = [b for i in f.intervals for b in (i.opened_at, i.resolved_at) if b is not None]
        return {
            "company_key": self.key, "finding_id": f.id, "tenant": self.tenant, "company": self.company,
            "rule": f.rule, "severity": f.severity,
            "intervals": [[_iso(i.opened_at), _iso(i.resolved_at)] for i in f.intervals],
            "first_opened_at": f.intervals[0].opened_at if f.intervals else None,
            "last_change_at": max(bounds) if bounds else None,
            "source": f.source, "confidence": f.confidence,
        }

    # --- answers at an instant -----------------------------------------------------------------------

    def obligation(self, obligation_id: str) -> Obligation | None:
        return self._obs.get(obligation_id)

    def status(self, obligation_id: str, at: datetime) -> str:
        """``obligation_status``, remembered for the local day of ``at`` (a status is a function of the day)."""
        day = local_date(at)
        if day != self._status_day:
            self._status_day, self._statuses = day, {}
        status = self._statuses.get(obligation_id)
        if status is None:
            status = self._statuses[obligation_id] = status_on(self._obs[obligation_id], day, self.pack.due_soon_days)
        return status

    def pending_steps(self, obligation_id: str, at: datetime) -> list[tuple[str, date, str]]:
        """The reminder steps due at ``at`` (the rule pack's no-burst semantics: at most the latest)."""
        ob = self._obs.get(obligation_id)
        if ob is None or ob.informational:
            return []
        return [(s.step, s.fires_on, s.alert_type) for s in _fn("pending_steps")(ob, at, self.pack)]

    def obligation_public(self, row: Mapping[str, Any]) -> dict[str, Any]:
        o = self._obs[row["obligation_id"]]
        return {"id": o.id, "rule": o.rule, "title": {"zh": o.title_zh, "en": o.title_en}, "about": o.about,
                "about_kind": o.about_kind, "year": o.year, "quarter": o.quarter,
                "window_opens": _day(o.window_opens), "due": _day(o.due), "legal_due": _day(o.legal_due),
                "due_note": {"en": o.due_note, "zh": o.due_note_zh} if o.due_note else None,
                "born_on": _day(o.born_on), "created_by": o.created_by,
                "fulfilled_on": _day(o.fulfilled_on), "fulfilled_by": o.fulfilled_by,
                "waived_reason": o.waived_reason, "waived_on": _day(o.waived_on),
                "cancelled_on": _day(o.cancelled_on), "cancelled_by": o.cancelled_by,
                "provisional": o.provisional, "informational": o.informational, "severity": o.severity,
                "source": o.source, "confidence": o.confidence, "params": self._params_of(o.params),
                "milestones": [{"key": m.key, "days_before_close": m.days_before_close, "due": _day(m.due),
                                "title": {"zh": m.title_zh, "en": m.title_en},
                                "acknowledged_on": _day(m.acknowledged_on), "acknowledged_by": m.acknowledged_by}
                               for m in o.milestones]}

    def finding_public(self, row: Mapping[str, Any]) -> dict[str, Any]:
        f = self._fs.get(row["finding_id"])
        last = row["intervals"][-1] if row["intervals"] else [None, None]
        base = {"id": row["finding_id"], "rule": row["rule"], "severity": row["severity"],
                "opened_at": last[0], "resolved_at": last[1], "intervals": row["intervals"],
                "source": row["source"], "confidence": row["confidence"]}
        if f is None:
            return base
        return {**base, "subject": f.subject, "title": {"zh": f.title_zh, "en": f.title_en},
                "message": {"zh": f.message_zh, "en": f.message_en}, "evidence": _plain(f.evidence),
                "params": _plain(f.params)}

    def obligations_at(self, at: datetime) -> list[dict[str, Any]]:
        """The obligations that exist at ``at`` (their triggering fact's effective date is on or before
        that day: time travel never shows what had not happened yet), with their statuses then."""
        out = []
        day = local_date(at)
        for row in self.obligation_rows:
            if not self._obs[row["obligation_id"]].exists_on(day):
                continue
            item = self.obligation_public(row)
            item["status"] = self.status(row["obligation_id"], at)
            out.append(item)
        out.sort(key=lambda o: (o["due"] or "9999-12-31", o["rule"], o["id"]))
        return out

    def deadlines_at(self, at: datetime) -> list[dict[str, Any]]:
        """The timeline's deadline entries: what ``obligations_at`` says of each dated obligation, without
        building the whole public form (a company with hundreds of numbers has thousands of them)."""
        day = local_date(at)
        return [{"date": o.due.isoformat(), "kind": "deadline", "obligation_id": o.id, "rule": o.rule,
                 "title": {"zh": o.title_zh, "en": o.title_en}, "about": o.about, "status": self.status(o.id, at)}
                for o in self._obs.values() if o.due is not None and o.exists_on(day)]

    def findings_at(self, at: datetime) -> list[dict[str, Any]]:
        out = []
        for row in self.finding_rows:
            f = self._fs[row["finding_id"]]
            if not f.intervals or f.intervals[0].opened_at > at:
                continue  # not yet raised at that instant
            item = self.finding_public(row)
            item["open"] = finding_open_at(f, at)
            past = [i for i in f.intervals if i.opened_at <= at]
            item["opened_at"] = _iso(past[-1].opened_at)
            item["resolved_at"] = _iso(past[-1].resolved_at) if past[-1].resolved_at and past[-1].resolved_at <= at \
                else None
            out.append(item)
        order = {s: i for i, s in enumerate(("critical", "high", "medium", "advisory", "info"))}
        out.sort(key=lambda f: (not f["open"], order.get(f["severity"], 9), f["rule"], f["id"]))
        return out

    def credit(self, at: datetime) -> dict[str, Any]:
        if self.evaluation is None:
            return {"label": "estimate", "score": None, "band": None, "coverage_months": 0, "components": [],
                    "statement_en": f"not evaluated: {self.error}", "statement_zh": "未能评估"}
        return as_json(self._estimate_at(at))

    def credit_score(self, at: datetime) -> float | None:
        if self.evaluation is None:
            return None
        score: float | None = self._estimate_at(at).score
        return score

    def _estimate_at(self, at: datetime) -> Any:
        """The rule pack's credit estimate at ``at`` (the scheduler and the summary both ask, at one instant)."""
        if self._estimate is None or self._estimate[0] != at:
            self._estimate = (at, _fn("credit_estimate")(self.evaluation, at, self.pack))
        return self._estimate[1]

    def next_statutory_due(self, at: datetime) -> date | None:
        """The next due date among the statutory and notice obligations still to do at ``at`` (the
        deadlines a regulator counts; advisory ones are our own advice): the portfolio's default order.
        An obligation whose triggering fact is later than that day does not exist yet."""
        today = local_date(at)
        dues = [o.due for o in self._obs.values()
                if o.confidence in STATUTORY and not o.informational and o.born_on <= today
                and self.status(o.id, at) in TO_DO]
        return min(dues) if dues else None

    def summary(self, at: datetime, name: str | None = None) -> dict[str, Any]:
        base = {"uscc": self.company, "name": name or self.name, "as_of": format_time(at)}
        if self.evaluation is None:
            return {**base, "risk": "none", "open_findings": {}, "overdue": 0, "due_soon": 0, "next_due": None,
                    "next_due_obligation": None, "tracked_from": None, "next_statutory_due": None,
                    "credit": self.credit(at), "error": self.error}
        s = self.evaluation.summary(at)
        credit = self.credit(at)
        return {**base, "risk": s.risk, "open_findings": dict(s.open_findings), "overdue": s.overdue,
                "due_soon": s.due_soon, "next_due": _day(s.next_due), "next_due_obligation": s.next_due_obligation,
                "tracked_from": _day(self.evaluation.tracked_from),
                "next_statutory_due": _day(self.next_statutory_due(at)),
                "credit": {k: credit.get(k) for k in ("score", "band", "coverage_months", "label")}}


class Rulebook:
    """The rule pack, the calendar and each tenant's overrides, as applied from LEDGER so far."""

    def __init__(self) -> None:
        self.calendar = Calendar.official()
        self.overrides: dict[str, Mapping[str, Any]] = {}
        self._packs: dict[str, RulePack] = {}
        self._years: dict[int, Any] = {}
        self.version = 0
        self._lock = threading.Lock()

    def set_calendar_years(self, years: Mapping[int, Mapping[str, Any]]) -> None:
        if dict(years) == self._years:
            return
        calendar = Calendar.official()
        for year in sorted(years):
            schedule = {k: v for k, v in years[year].items() if k in ("year", "holidays", "workdays", "source")}
            try:
                calendar = calendar.with_year(schedule)
            except ValueError as exc:  # validated before it was appended; keep going if not
                log.error("calendar year %s ignored: %s", year, exc)
        with self._lock:
            self._years = dict(years)
            self.calendar = calendar
            self.version += 1

    def set_all_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        if dict(overrides) == self.overrides:
            return
        with self._lock:
            self.overrides = dict(overrides)
            self._packs = {}
            self.version += 1

    def forget(self) -> None:
        with self._lock:
            self._packs = {}
            self.version += 1

    def pack(self, tenant: str) -> RulePack:
        pack = self._packs.get(tenant)
        if pack is None:
            pack = RulePack.default()
            if tenant in self.overrides:
                try:
                    pack = pack.with_overrides(self.overrides[tenant])
                except ValueError as exc:
                    log.error("overrides of tenant %s ignored: %s", tenant, exc)
            self._packs[tenant] = pack
        return pack

    def evaluate(self, key: str, rows: Sequence[Mapping[str, Any]]) -> CompanyView:
        """One company's view over all its fact rows (folded afresh)."""
        tenant, company = key.split(".", 1)
        facts = recorded_facts(company, rows)
        name = company_name_in(facts)
        try:
            history = History.from_facts(facts, self.pack(tenant).licence["validity_years"])
        except Exception as exc:
            return self.failed(key, exc, name)
        return self.view(key, history, name)

    def view(self, key: str, history: History, name: str | None) -> CompanyView:
        """One company's view over its facts already folded (with its pack's licence validity)."""
        pack = self.pack(key.split(".", 1)[0])
        try:
            return CompanyView(key, _fn("evaluate_history")(history, pack, self.calendar), pack, name=name)
        except Exception as exc:
            return self.failed(key, exc, name)

    def failed(self, key: str, exc: Exception, name: str | None) -> CompanyView:
        """The view of a company whose evaluation raised: one company's bad history must not stop the projector."""
        log.error("evaluating %s failed", key, exc_info=exc)
        return CompanyView(key, None, self.pack(key.split(".", 1)[0]), error=f"{type(exc).__name__}: {exc}", name=name)


def recorded_facts(company: str, rows: Sequence[Mapping[str, Any]]) -> list[RecordedFact]:
    """Fact rows of the read model (or of a batch) as the rule pack's RecordedFact."""
    return [RecordedFact(r["event_id"], r["type"], company, r["effective_date"], r["recorded_at"], r["data"],
                         r["ledger_sequence"], r["aggregate_id"]) for r in rows]


class NamingFact(Protocol):
    """A fact as the projector holds it, decoded (AppliedFact) or read back (RecordedFact)."""

    @property
    def type(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


def company_name(fact: NamingFact) -> str | None:
    """The name a fact gives the company, as text (as the companies table and the evaluation hold it), or None."""
    value = None
    if fact.type == "company.registered":
        value = fact.data.get("name")
    elif fact.type == "company.registration_changed" and fact.data.get("field") == "name":
        value = fact.data.get("new")
    return str(value) if value else None


def company_name_in(facts: Iterable[NamingFact], name: str | None = None) -> str | None:
    """The company's name after these facts (``name``: the one before them)."""
    for f in facts:
        name = company_name(f) or name
    return name
