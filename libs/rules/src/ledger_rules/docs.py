"""Generate docs/rules.md from the rules' registrations: `python -m ledger_rules.docs [--check] [--output PATH]`.

With `vocabulary`, the only modules that touch files; the rule pack itself does no I/O.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from .calendar import OFFICIAL_YEARS
from .ruleset import DEFAULT_LADDER, RulePack

DEFAULT_OUTPUT = Path(__file__).resolve().parents[4] / "docs" / "rules.md"

DECISIONS = """\
## Decisions where the design leaves room

- **Instants.** Asia/Shanghai is a fixed UTC+08:00 (no DST since 1991), so no tz database is read. A fact-driven
  finding opens at 00:00 Asia/Shanghai of the fact's effective date; a time-driven one at 00:00 of the first day
  the state holds (e.g. the day after an expiry). A fact's day is its payload date where the catalogue has one
  (`issued_on`, `applied_on`, `submitted_on`, `filed_on`, `verified_on`), else `effective_date`.
- **Art. 203 on fixed dates.** Fixed windows (annual report 31 Mar, the make-up month, number fee on the 10th,
  quarter ends) roll to the next working day like counted periods (`roll: next`). Dates set by an authority
  (rectification, bad-list watch) and contract dates (lease end) do not roll (`roll: none`). Backward deadlines
  (renewal, preparation milestones, vendor re-verification) use the safe previous working day (`roll: previous`)
  and keep the legal last day in `legal_due`: 'overdue' is judged against `due`, on time / late against
  `legal_due`.
- **Fallback calendar.** For a year without official data: weekends plus the statutory holidays of the rules in
  force (2024 revision from 2025: New Year 1 Jan, Spring Festival eve + 3 days, Qingming, 1–2 May, Dragon Boat,
  Mid-Autumn, 1–3 Oct; earlier eras for older years), lunar dates computed astronomically; no 调休. Every
  obligation whose date computation consulted such a year is `provisional`.
- **Active licence.** Issued and not cancelled/revoked, and either before its (latest) expiry or with a renewal
  application made by the expiry and not yet decided (行政许可法 Art. 50). A suspended licence still carries its
  obligations but does not count as licensed for `unlicensed-operation` (`licence.reinstated` lifts it).
  Licences recorded as B21 are treated as the call-centre licence (presumed mislabel) with an info finding.
- **Operating** (for `unlicensed-operation`: an *activated* number, declared seats > 0, or a seat-leasing
  arrangement; for `three-way-check`, `emergency-plan` and `mlps-missing`: those signs or an active
  call-centre licence).
- **Annual report years.** A report for year Y−1 is due when the licence was held in Y−1 and is still active on
  1 Jan of Y, when the window opens: a licence that lapsed or was cancelled during Y−1 owes none (Order 42 Art. 35
  binds operators holding a licence when they report). Overrides of the window are keyed by the *window* year (`"2025"` or `"2025/<authority>"`).
  A returned report reopens the obligation until `correct_by`.
- **Cancellation.** An obligation that has existed is never silently removed. Cancelling or revoking a licence
  cancels every unfulfilled obligation about it; releasing a number cancels its filing/activation/contact
  obligations and the next quarterly fee whose window had opened before the release; a revoked penalty cancels its
  obligations; ending a BPO arrangement cancels its re-verification; operations ending cancel the three-way check
  of the quarter in progress and the emergency-plan update not yet due, each with the fact that ended them
  (`cancelled_by`). Obligations whose trigger had not happened at the instant asked about are absent.
- **Onboarding baseline** (`company.tracking_started`, 建账基准日). The latest one recorded counts. An unfulfilled
  obligation due before `tracked_from` is `before_tracking` instead of `overdue`: no reminder or alert, no
  `bad-list` or `renewal-late` finding from its absence, no credit deduction, not counted as overdue. A fulfilment
  recorded later still makes it `fulfilled_on_time` / `fulfilled_late`; obligations due on or after `tracked_from`
  are judged as usual; recorded listings still raise `bad-list`.
- **Time travel.** At an instant, an obligation exists from its triggering fact's effective date (`born_on`);
  before it the obligation is not listed, counted or offered as `next_due`. A finding exists from its first
  opening.
- **Periodic obligations** (number fee, number annual report, three-way check, emergency plan, MLPS, vendor
  re-verification) are generated up to `Evaluation.horizon` (latest fact day + `horizon_days`, or `until`).
  Chains (`emergency-plan`, `mlps-assessment`, `vendor-reverification`) count from the last fulfilment, as
  rules.md says ("after the last …"). The number fee is owed for each quarter the number is held on its first day.
- **Findings over traffic data** look at the latest reported month; social insurance at the last 3 reported months.
- **bad-list** covers recorded listings (bad, dishonest, abnormal lists) and a missing annual report after the
  make-up month (opens the day after it, resolves on submission). **renewal-late** opens the day after E − 90
  without an application and resolves on the decision, on the licence's end, or at expiry (then licence-expired).
  **penalties-unrectified** considers the penalties of the 3 years before the window opens whose decision
  ordered rectification. **three-way-mismatch** is judged on the latest recorded quarterly check only;
  **seat-inflation** on declared seats against insured headcount: one finding per piece of evidence.
- **Credit.** Traffic months are the 12 full months before the current one; dated items (spot checks, penalties)
  the 12 months up to the instant. No score without traffic data or spot checks. Overdue counts exclude
  informational obligations; only statutory and notice ones deduct (`overdue_obligations.confidences`), advisory
  ones are listed with weight 0 (`overdue_advisory_obligations`). Recorded listings (bad, dishonest) deduct 20; a bad-list *finding* counts as a high
  finding.
- **Risk** (portfolio summary, our model): critical if a critical finding is open; high if a high finding is open
  or a statutory obligation is overdue; medium if a medium finding is open or any obligation is overdue; else low.
- **No foreign-ownership finding** (no cap since the 2019 negative list).
"""


def _value(v: Any) -> str:
    if isinstance(v, Mapping):
        return json.dumps({k: _plain(x) for k, x in v.items()}, ensure_ascii=False)
    return json.dumps(_plain(v), ensure_ascii=False)


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, date):
        return v.isoformat()
    return v


def _params(params: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k not in ("enabled", "severity")}
    return "<br>".join(f"`{k}` = `{_value(v)}`" for k, v in shown.items()) or "—"


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def render(pack: RulePack | None = None) -> str:
    pack = pack or RulePack.default()
    lines = [
        "# Rule pack reference",
        "",
        "<!-- Generated by `python -m ledger_rules.docs` from the rules as registered where they are written "
        "(libs/rules/src/ledger_rules/obligations.py, findings.py). Do not edit by hand. -->",
        "",
        "Every obligation and finding carries its rule id, source, confidence and the parameter values it used. "
        "Confidence: **statutory** (a cited article), **notice** (a regulator's notice or practice), "
        "**advisory** (agency practice from the seeds), **estimate** (our own model). "
        "Tenants override parameters with `RulePack.with_overrides({\"rules\": {id: {param: value}}, \"credit\": {…}})`.",
        "",
        "Sources: *Order 42* is 电信业务经营许可管理办法 (MIIT Order No. 42, 2017); *Order 19* its 2001 "
        "predecessor (信息产业部令第19号); *Order 5* the 2009 version; *电信条例* the Telecommunications Regulations; *民法典* the Civil Code (Art. 201–203 "
        "on counting periods); *码号资源管理办法* 电信网码号资源管理办法; *2020 notice* MIIT's "
        "关于加强呼叫中心业务管理的通知. *Seed 000–004* are five Chinese agency articles on call-centre "
        "licensing (BPO models, licence categories, the annual report, annual self-inspection, numbers and "
        "qualifications) from which the rule pack took agency practice; where a seed is the only source the "
        "rule's confidence is `advisory`, and where an official text contradicts a seed the official text wins.",
        "",
        "## §0 The licence",
        "",
        f"- Call-centre categories: {', '.join(pack.licence['call_centre_categories'])} (2015 电信业务分类目录); "
        f"recorded as {', '.join(pack.licence['mislabel_categories'])}: presumed mislabel, `category-mislabel` (info).",
        "- Scope: nationwide (MIIT, registered capital ≥ 10,000,000 CNY) or provincial (≥ 1,000,000 CNY, listed "
        "province only) — Order 42 Art. 6; 电信条例 Art. 9. Paid-in capital is not required.",
        f"- Validity: {pack.licence['validity_years']} years, as recorded: the contract requires a licence's expiry "
        "(`expires_on`), so none is assumed.",
        "- Foreign ownership: no cap for call-centre business since the 2019 negative list: no finding.",
        "",
        "## §1 Time",
        "",
        "- Zone Asia/Shanghai; dates are local, instants UTC. A deadline day runs to 24:00 of the due date.",
        "- 民法典 Art. 201 (first day not counted), Art. 202 (months end on the corresponding day or the month's "
        "last day), Art. 203 (a last day on a rest day moves to the next working day). Backward deadlines: the "
        "latest day still in time; on a rest day the previous working day is shown as the safe deadline.",
        f"- Official schedule (holidays and 调休) {OFFICIAL_YEARS.start}–{OFFICIAL_YEARS.stop - 1} from "
        "chinese-calendar 1.11.0; operators load further years with `Calendar.with_year(YearSchedule.parse(...))`; "
        "other years use the fallback and are marked **provisional**.",
        "",
        "## §2 Obligations",
        "",
        f"Statuses: `scheduled`, `open`, `due_soon` (due within {pack.due_soon_days} days: `due_soon_days`), "
        "`overdue`, `fulfilled_on_time`, `fulfilled_late`, `waived` (reason required), `cancelled` (with the fact "
        "that cancelled it), `before_tracking` (due before the onboarding baseline, nothing recorded: not overdue). "
        f"Default reminder ladder (days before due; 0 = the day; negative = overdue): `{list(DEFAULT_LADDER)}`, "
        "alert id = obligation id + step.",
        "",
        "| id | title | trigger | due | fulfilled by | source · confidence | severity | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for r in pack.obligation_rules():
        info = " (informational)" if r.informational else ""
        lines.append(
            f"| `{r.id}` | {r.title_zh}<br>{r.title_en}{info} | {_cell(r.trigger)} | {_cell(r.outcome)} | "
            f"{_cell(r.fulfilled_by)} | {_cell(r.source)} · {r.confidence} | {r.severity} | {_params(r.params)} |"
        )
        if r.note:
            notes.append(f"- `{r.id}`: {r.note}")
    lines += ["", *notes, "", "## §3 Findings", "",
              "| id | title | raised when | source · confidence | severity | parameters |",
              "|---|---|---|---|---|---|"]
    notes = []
    for r in pack.finding_rules():
        lines.append(
            f"| `{r.id}` | {r.title_zh}<br>{r.title_en} | {_cell(r.trigger)} | {_cell(r.source)} · {r.confidence} | "
            f"{r.severity} | {_params(r.params)} |"
        )
        if r.note:
            notes.append(f"- `{r.id}`: {r.note}")
    c = pack.credit
    lines += ["", *notes, "", "## §4 Credit-score estimate (confidence: estimate)", "",
              "No official formula was found (seed 002's is unsupported). 100 minus capped deductions over the "
              f"trailing {c['window_months']} months; bands good ≥ {c['bands']['good']}, watch "
              f"{c['bands']['watch']}–{c['bands']['good'] - 1}, at_risk < {c['bands']['watch']}; alert below "
              f"{c['alert']['below']} or on a drop of {c['alert']['drop']}. With fewer than "
              f"{c['min_coverage_months']} month(s) of traffic data and no spot checks there is no score.",
              "", "| component | weights |", "|---|---|"]
    for key in ("complaints", "spot_checks", "critical_findings", "high_findings", "overdue_obligations",
                "penalties", "listings"):
        lines.append(f"| `{key}` | `{_value(c[key])}` |")
    lines += ["", DECISIONS]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, DEFAULT_OUTPUT, render, "ledger_rules.docs")


def write_or_check(argv: list[str] | None, default: Path, render: Callable[[], str], command: str) -> int:
    """The command line of a generated file of the rule pack: write it, or with --check exit 1 when stale."""
    parser = argparse.ArgumentParser(description=f"python -m {command}: write {default.name}, or check it")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    parser.add_argument("--output", type=Path, default=default)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m {command}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
