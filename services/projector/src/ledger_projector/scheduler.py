"""The scheduler: which alerts are due now, decided and recorded in the caller's transaction.

It runs twice over: inside each batch for the companies the batch touched, and on a
clock tick for companies whose reminders or findings cross a step by the passing of
time alone. Both paths go through :meth:`Scheduler.decide`, which records each new
alert in the outbox table (``projector_alerts``) — never one already there — so a
restart neither repeats nor skips an alert. Publishing happens after commit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from ledger_kernel.clock import SHANGHAI
from ledger_kernel.envelope import format_time
from ledger_rules import alert_severity as severity
from sqlalchemy.engine import Connection

from ledger_projector import alerts as A
from ledger_projector import state_feed, tracing
from ledger_projector.projection import chunks
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.tables import TableSet

CLOSED = ("fulfilled_on_time", "fulfilled_late", "waived", "cancelled")
TICK = "main"
FOLDED = ""  # the subject of an outbox row folded into a backlog digest: done, never published itself


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _iso(at: datetime) -> str:
    return format_time(at)


class Scheduler:
    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook

    # --- deciding --------------------------------------------------------------------------------

    def decide(self, conn: Connection, tables: TableSet, views: dict[str, CompanyView], now: datetime,
               waiting: Collection[str] = ()) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """New outbox rows for these companies at ``now``, and each company's summary at ``now``; the
        ``waiting`` companies (facts not yet settled, see :meth:`defer`) get their summary only."""
        if not views:
            return [], {}
        keys = sorted(views)
        sent: dict[str, set[tuple[str, str, str]]] = {k: set() for k in keys}
        ta = tables.alerts
        for part in chunks(keys):
            for r in conn.execute(sa.select(ta.c.company_key, ta.c.type, ta.c.ref, ta.c.step)
                                  .where(ta.c.company_key.in_(part))):
                sent[r.company_key].add((r.type, r.ref, r.step))
        watch: dict[str, Any] = {}
        tw = tables.company_watch
        for part in chunks(keys):
            for m in conn.execute(sa.select(tw).where(tw.c.company_key.in_(part))).mappings():
                watch[m["company_key"]] = m
        rows: list[dict[str, Any]] = []  # to publish
        recorded: list[dict[str, Any]] = []  # folded into a backlog digest: done, never published
        summaries: dict[str, dict[str, Any]] = {}
        watch_rows: list[dict[str, Any]] = []
        for key in keys:
            view = views[key]
            if view.error:
                continue
            if key in waiting:
                summaries[key] = view.summary(now)
                continue
            done = sent[key]
            obligation_rows = self._obligation_alerts(view, now, done)
            backlog, folded = self._backlog(view, now, obligation_rows, done)
            rows += [r for r in obligation_rows if r["alert_id"] not in folded] + backlog
            recorded += [r for r in obligation_rows if r["alert_id"] in folded]
            rows += self._finding_alerts(conn, tables, view, now, done)
            previous = watch.get(key)
            score = view.credit_score(now)
            prev_score = previous["credit_score"] if previous else None
            rows += self._credit_alert(view, now, score, prev_score, done)
            summaries[key] = view.summary(now)
            watch_rows.append({"company_key": key, "tenant": view.tenant, "company": view.company,
                               "credit_score": score, "summary_pending": True, "alerts_pending": False,
                               "_exists": previous is not None})
        if rows or recorded:
            conn.execute(ta.insert(), rows + recorded)
        new = [{k: v for k, v in w.items() if k != "_exists"} for w in watch_rows if not w["_exists"]]
        old = [{"k": w["company_key"], "s": w["credit_score"]} for w in watch_rows if w["_exists"]]
        if new:
            conn.execute(tw.insert(), new)
        if old:
            conn.execute(tw.update().where(tw.c.company_key == sa.bindparam("k"))
                         .values(credit_score=sa.bindparam("s"), summary_pending=True, alerts_pending=False), old)
        return rows, summaries

    def defer(self, conn: Connection, tables: TableSet, views: dict[str, CompanyView],
              now: datetime) -> dict[str, dict[str, Any]]:
        """Mark these companies' alerts as waiting for their facts to settle, in the caller's transaction;
        each company's summary at ``now`` (published at once: only the alerts wait).

        Facts recorded together reach the projector in whatever batches the bus makes of them: an
        onboarding file's licence in one batch and its renewal in the next would otherwise alert an
        expiry that never was. A deferred company is decided by :meth:`decide` once quiet; the flag
        survives a restart, so a deferred alert is late at worst, never lost."""
        keys = sorted(k for k, v in views.items() if not v.error)
        if not keys:
            return {}
        tw = tables.company_watch
        existing: set[str] = set()
        for part in chunks(keys):
            existing.update(conn.execute(sa.select(tw.c.company_key).where(tw.c.company_key.in_(part))).scalars())
        new = [{"company_key": k, "tenant": views[k].tenant, "company": views[k].company, "credit_score": None,
                "summary_pending": True, "alerts_pending": True} for k in keys if k not in existing]
        if new:
            conn.execute(tw.insert(), new)
        old = [{"k": k} for k in keys if k in existing]
        if old:
            conn.execute(tw.update().where(tw.c.company_key == sa.bindparam("k"))
                         .values(summary_pending=True, alerts_pending=True), old)
        return {k: views[k].summary(now) for k in keys}

    @staticmethod
    def deferred_companies(conn: Connection, tables: TableSet) -> list[str]:
        """Companies whose alerts wait for their facts to settle (what a restart must still decide)."""
        tw = tables.company_watch
        return list(conn.execute(sa.select(tw.c.company_key).where(tw.c.alerts_pending.is_(True))
                                 .order_by(tw.c.company_key)).scalars())

    def _row(self, view: CompanyView, alert_type: str, ref: str, step: str, now: datetime,
             data: dict[str, Any]) -> dict[str, Any]:
        aid = A.alert_id(view.tenant, view.company, alert_type, ref, step)
        message = data.get("message") or {}
        data = {**data, "message_zh": message.get("zh"), "message_en": message.get("en"),
                "company_name": view.name}
        event = A.cloud_event(aid=aid, alert_type=alert_type, tenant=view.tenant, company=view.company,
                              subject_ref=ref, decided_at=now, data=data, traceparent=tracing.cause_of(view.key))
        return {"alert_id": aid, "company_key": view.key, "tenant": view.tenant, "company": view.company,
                "type": alert_type, "ref": ref, "step": step,
                "subject": A.nats_subject(view.tenant, view.company, alert_type),
                "event": event, "decided_at": now, "published": False, "published_at": None}

    def _obligation_alerts(self, view: CompanyView, now: datetime, done: set) -> list[dict[str, Any]]:
        out = []
        today = local_day(now)
        sent_refs = {(ref, step) for (t, ref, step) in done if t.startswith("obligation.")}
        for ob in view.obligation_rows:
            if ob["reminders_from"] is None or ob["reminders_from"] > today:
                continue  # no step has come yet
            if view.closed_by(ob["obligation_id"], today):
                continue  # fulfilled, waived and cancelled obligations stop their reminders
            latest = view.latest_step(ob["obligation_id"], today)
            if latest is False:  # milestones: the rule pack knows their steps
                steps = view.pending_steps(ob["obligation_id"], now)
                latest = steps[-1] if steps else None  # no bursts: only the latest step that applies
            if latest is None:
                continue
            step, step_date, alert_type = latest
            if (ob["obligation_id"], step) in sent_refs:
                continue
            alert_type = A.obligation_type(alert_type, step_date, ob["due"], today)
            public = view.obligation_public(ob)
            public["status"] = view.status(ob["obligation_id"], now)
            data = {"obligation": public, "step": step, "step_date": step_date.isoformat(),
                    "rule": {"id": ob["rule"], "source": ob["source"], "confidence": ob["confidence"]},
                    "severity": severity.obligation_alert(public["severity"], alert_type),
                    "message": A.obligation_message(alert_type, public, today)}
            out.append(self._row(view, alert_type, ob["obligation_id"], step, now, data))
        return out

    def _backlog(self, view: CompanyView, now: datetime, candidates: list[dict[str, Any]],
                 done: set) -> tuple[list[dict[str, Any]], set[str]]:
        """One ``company.backlog`` digest when this pass would send at least the tenant's
        ``backlog_threshold`` overdue alerts for the company (facts about the past arriving), and the
        ids of the overdue alerts it folds — recorded as done, so no later pass sends them one by one."""
        threshold = int(view.pack.alerts["backlog_threshold"])
        overdue = [r for r in candidates if r["type"] == "obligation.overdue"]
        if threshold <= 0 or len(overdue) < threshold:
            return [], set()
        step = A.backlog_step([(r["ref"], r["step"]) for r in overdue])
        if (A.BACKLOG, "backlog", step) in done:
            return [], set()
        rank = severity.SCALE.index
        items = []
        for r in overdue:
            data = r["event"]["data"]
            ob = data["obligation"]
            items.append({"id": ob["id"], "rule": ob["rule"], "title": ob["title"], "about": ob["about"],
                          "year": ob["year"], "quarter": ob["quarter"], "due": ob["due"], "step": data["step"],
                          "status": ob["status"], "severity": data["severity"], "confidence": ob["confidence"],
                          "source": ob["source"]})
        items.sort(key=lambda i: (-rank(i["severity"]), i["due"] or "", i["rule"], i["id"]))
        rules: dict[str, dict[str, Any]] = {}
        for i in items:
            entry = rules.setdefault(i["rule"], {"rule": i["rule"], "title": i["title"], "count": 0,
                                                 "severity": i["severity"], "confidence": i["confidence"],
                                                 "source": i["source"], "earliest_due": i["due"]})
            entry["count"] += 1
        by_rule = sorted(rules.values(), key=lambda e: (-rank(e["severity"]), e["earliest_due"] or "", e["rule"]))
        data = {"backlog": {"count": len(items), "threshold": threshold, "by_rule": by_rule,
                            "items": items[:A.BACKLOG_ITEMS], "items_omitted": max(0, len(items) - A.BACKLOG_ITEMS)},
                "severity": severity.highest(i["severity"] for i in items),
                "message": A.backlog_message(items, by_rule)}
        digest = self._row(view, A.BACKLOG, "backlog", step, now, data)
        for r in overdue:
            r.update(published=True, published_at=now, subject=FOLDED,
                     event={"id": r["alert_id"], "type": r["type"], "folded_into": digest["alert_id"]})
        return [digest], {r["alert_id"] for r in overdue}

    def _finding_alerts(self, conn: Connection, tables: TableSet, view: CompanyView, now: datetime,
                        done: set) -> list[dict[str, Any]]:
        out = []
        opened_sent = {(ref, step) for (t, ref, step) in done if t == "finding.opened"}
        resolved_sent = {(ref, step) for (t, ref, step) in done if t == "finding.resolved"}
        current: dict[str, str] = {}  # finding id → the ISO instant its open interval started
        by_id = {f["finding_id"]: f for f in view.finding_rows}
        for f in view.finding_rows:
            for opened, resolved in f["intervals"]:
                if opened <= _iso(now) and (resolved is None or resolved > _iso(now)):
                    current[f["finding_id"]] = opened
        for fid, opened in sorted(current.items()):
            if (fid, opened) in opened_sent:
                continue
            f = by_id[fid]
            public = view.finding_public(f)
            data = {"finding": public, "opened_at": opened,
                    "rule": {"id": f["rule"], "source": f["source"], "confidence": f["confidence"]},
                    "severity": severity.from_rule(f["severity"]),
                    "message": A.finding_message("finding.opened", public)}
            out.append(self._row(view, "finding.opened", fid, opened, now, data))
        for fid, opened in sorted(opened_sent - resolved_sent):
            if current.get(fid) == opened:
                continue  # still open
            found = by_id.get(fid)
            if found is not None:
                public = view.finding_public(found)
                rule = {"id": found["rule"], "source": found["source"], "confidence": found["confidence"]}
            else:  # gone from the evaluation: name it as the opening alert did
                public, rule = self._opened_finding(conn, tables, view, fid, opened)
            data = {"finding": public, "opened_at": opened, "rule": rule,
                    "severity": severity.from_rule(public.get("severity")),
                    "message": A.finding_message("finding.resolved", public)}
            out.append(self._row(view, "finding.resolved", fid, opened, now, data))
        return out

    @staticmethod
    def _opened_finding(conn: Connection, tables: TableSet, view: CompanyView, fid: str,
                        opened: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The finding and rule as the ``finding.opened`` alert carried them (``{"id": …}`` if unknown)."""
        ta = tables.alerts
        aid = A.alert_id(view.tenant, view.company, "finding.opened", fid, opened)
        event = conn.execute(sa.select(ta.c.event).where(ta.c.alert_id == aid)).scalar()
        data = (event or {}).get("data") or {}
        finding = data.get("finding") or {"id": fid}
        return finding, data.get("rule") or {"id": finding.get("rule") or fid}

    def _credit_alert(self, view: CompanyView, now: datetime, score: float | None, previous: float | None,
                      done: set) -> list[dict[str, Any]]:
        if score is None:
            return []
        limits = view.pack.credit.get("alert", {})
        floor, drop = float(limits.get("below", 80)), float(limits.get("drop", 10))
        crossed = score < floor and (previous is None or previous >= floor)
        dropped = previous is not None and previous - score >= drop
        if not (crossed or dropped):
            return []
        step = f"{local_day(now).isoformat()}/{score:g}"
        if ("credit.below_threshold", "credit", step) in done:
            return []
        data = {"credit": view.credit(now), "previous_score": previous, "score": score,
                "rule": {"id": "credit-estimate", "source": "rules.md §4 (our own model)", "confidence": "estimate"},
                "severity": "high", "message": A.credit_message(score, previous)}
        return [self._row(view, "credit.below_threshold", "credit", step, now, data)]

    def observe(self, conn: Connection, tables: TableSet, views: dict[str, CompanyView],
                summaries: dict[str, dict[str, Any]], now: datetime, sequence: int, *,
                known: Mapping[str, state_feed.Said] | None = None,
                said: dict[str, state_feed.Said] | None = None) -> int:
        """Record the change feed's derived state changes of these companies (:mod:`state_feed`) in the
        caller's transaction, after what :meth:`decide` saw at ``now`` (``known``, ``said``: what the
        feed said, as the caller keeps it; see :func:`state_feed.record`)."""
        return state_feed.record(conn, tables, views, summaries, now, sequence, known=known, said=said)

    def moved_companies(self, conn: Connection, tables: TableSet, now: datetime, name: str = TICK) -> list[str]:
        """Companies whose obligation statuses the calendar alone may have moved since the last tick (the
        change feed says so on that day), besides :meth:`due_companies`' reminders and findings. ``name``:
        whose tick (``main``; each partition has its own in the partitioned mode)."""
        last = conn.execute(sa.select(tables.scheduler.c.last_tick_at).where(tables.scheduler.c.name == name)).scalar()
        return state_feed.crossing_companies(conn, tables, self.rulebook, local_day(last) if last else None,
                                             local_day(now))

    # --- the clock -------------------------------------------------------------------------------

    @staticmethod
    def due_companies(conn: Connection, tables: TableSet, now: datetime, name: str = TICK) -> list[str]:
        """Companies with a reminder step or a finding boundary between the last tick (``name``'s) and ``now``."""
        ts = tables.scheduler
        last = conn.execute(sa.select(ts.c.last_tick_at).where(ts.c.name == name)).scalar()
        today = local_day(now)
        since = local_day(last) if last is not None else today - timedelta(days=400)
        to, tf = tables.obligations, tables.findings
        keys = set(conn.execute(
            sa.select(to.c.company_key).distinct()
            .where(to.c.reminders_from <= today, to.c.reminders_until >= min(since, today),
                   to.c.fulfilled_on.is_(None), to.c.waived.is_(False), to.c.cancelled.is_(False))).scalars())
        cond = tf.c.first_opened_at <= now
        if last is not None:
            cond = sa.and_(cond, tf.c.last_change_at > last)
        keys |= set(conn.execute(sa.select(tf.c.company_key).distinct().where(cond)).scalars())
        return sorted(keys)

    def mark_tick(self, conn: Connection, tables: TableSet, now: datetime, name: str = TICK) -> None:
        ts = tables.scheduler
        if conn.execute(sa.select(ts.c.name).where(ts.c.name == name)).first() is None:
            conn.execute(ts.insert().values(name=name, last_tick_at=now))
        else:
            conn.execute(ts.update().where(ts.c.name == name).values(last_tick_at=now))
