"""Running a scenario file: facts in through ``cmd.<service>``, answers out through ``query.projector``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from spec_files import acceptance_scenarios

from projector.ledger_facts import result

OWN = Path(__file__).resolve().parent / "scenarios"
"""The projector's own stories, beside the acceptance scenarios of tests/scenarios."""


def scenario_files() -> list[Path]:
    return acceptance_scenarios() + sorted(OWN.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


async def all_items(nc: Any, op: str, tenant: str, **kw: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = await result(nc, op, tenant, page_size=200, page_token=token, **kw)
        items += page["items"]
        token = page["next_page_token"]
        if token is None:
            return items


def matches(ob: dict[str, Any], want: dict[str, Any]) -> bool:
    return all(ob.get(k) == v for k, v in want.items() if k not in ("status",))


async def check(nc: Any, tenant: str, scenario: dict[str, Any]) -> list[str]:
    """Every way the projector's answers differ from the scenario's expectations (empty: passes)."""
    expect = scenario["expect"]
    as_of = expect["as_of"]
    companies = sorted({f["company"] for f in scenario["facts"]})
    company = expect.get("company", companies[0])
    problems: list[str] = []
    obligations = await all_items(nc, "obligations", tenant, company=company, as_of=as_of)
    for want in expect.get("obligations", []):
        found = [o for o in obligations if matches(o, want)]
        if not found:
            near = [(o["rule"], o.get("about"), o.get("year"), o["due"], o["status"]) for o in obligations
                    if o["rule"] == want["rule"]]
            problems.append(f"no obligation like {want}; same rule: {near}")
        elif "status" in want and not any(o["status"] == want["status"] for o in found):
            problems.append(f"obligation {want} has status {[o['status'] for o in found]}")
    findings = await all_items(nc, "findings", tenant, company=company, as_of=as_of, open=True)
    for want in expect.get("findings", []):
        if not any(f["rule"] == want["rule"] and f["severity"] == want.get("severity", f["severity"])
                   for f in findings):
            problems.append(f"no open finding {want}; open: {[(f['rule'], f['severity']) for f in findings]}")
    for rule in expect.get("absent_findings", []):
        if any(f["rule"] == rule for f in findings):
            problems.append(f"finding {rule} is open but must not be")
    for want in expect.get("absent_obligations", []):
        if any(matches(o, want) for o in obligations):
            problems.append(f"obligation {want} exists but must not")
    if "credit" in expect:
        credit = await result(nc, "credit", tenant, company=company, as_of=as_of)
        for k, v in expect["credit"].items():
            if credit.get(k) != v:
                problems.append(f"credit {k} is {credit.get(k)!r}, expected {v!r}")
    if "summary" in expect:
        summary = await result(nc, "company", tenant, company=company, as_of=as_of)
        for k, v in expect["summary"].items():
            if summary.get(k) != v:
                problems.append(f"summary {k} is {summary.get(k)!r}, expected {v!r}")
    return problems


def as_of(scenario: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(scenario["expect"]["as_of"])
