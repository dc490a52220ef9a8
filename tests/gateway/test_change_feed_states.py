"""The change feed's derived state changes (``include=state``) under a clock the test moves: an obligation
turning overdue appears once — when the clock passes its due date, not when a fact arrives — and ``ledger
rebuild`` neither repeats nor loses one, nor moves the cursor. A cursor past the end is a 422."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from gateway_harness import NOW, LiveStack, run_stack
from ledger_kernel.clock import SHANGHAI, FixedClock
from projector.synthetic import uscc
from typer.testing import CliRunner

CO = uscc(30_001)
LICENCE = "B2-20220110"


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="module")
async def moving(tmp_path_factory: pytest.TempPathFactory, clock: FixedClock) -> AsyncIterator[LiveStack]:
    """A stack of this module's own, on a clock the tests move."""
    async for live in run_stack(tmp_path_factory.mktemp("feed-stack"), clock):
        yield live


def morning(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=SHANGHAI).astimezone(UTC)


async def feed(client: httpx.AsyncClient, after: str = "0", **params) -> tuple[list[dict], str]:
    """Every item after ``after``, a small page at a time; and the cursor to continue from."""
    items = []
    while True:
        r = await client.get("/v1/changes", params={"after": after, "page_size": 3, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if not body["items"]:
            return items, body["next_cursor"]
        after = body["next_cursor"]


def status_changes(items: list[dict], obligation: str) -> list[tuple]:
    return [(i["what"]["before"], i["what"]["after"]) for i in items
            if i["kind"] == "state" and i["what"]["change"] == "obligation.status_changed"
            and i["what"]["obligation"] == obligation]


async def rebuild(stack: LiveStack) -> dict:
    """``ledger rebuild --check`` against this stack (in a thread: the stack keeps serving)."""
    from ledger_cli.main import app

    env = {"LEDGER_DATABASE_URL": stack.settings.database_url, "LEDGER_HOME": str(stack.settings.home),
           "LEDGER_NATS_URL": stack.nats_url, "LEDGER_HTTP_PORT": str(stack.settings.http_port)}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["rebuild", "--json"], env=env,
                                     catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_an_obligation_turns_overdue_once_by_the_clock_and_a_rebuild_keeps_the_cursor(moving, clock):
    _, key = moving.new_tenant("feed")
    projector = moving.service("projector")
    facts = [
        {"type": "company.registered", "company": CO, "effective_date": "2021-06-01",
         "data": {"name": "变更流测试有限公司", "registered_capital": 12_000_000, "province": "31",
                  "industry": "other", "business_scope": ["呼叫中心业务"]}},
        {"type": "licence.issued", "company": CO, "effective_date": "2022-01-10",
         "data": {"licence_no": LICENCE, "category": "B24", "scope": "nationwide", "provinces": [],
                  "issued_on": "2022-01-10", "expires_on": "2027-01-09", "authority": "MIIT"}},
        {"type": "company.registration_changed", "company": CO, "effective_date": "2026-11-02",
         "data": {"field": "legal_representative", "old": "person-001", "new": "person-002"}},
    ]
    async with moving.client(key) as api:
        r = await api.post("/v1/facts:batch", json=facts)
        assert r.status_code == 200 and all(x["ok"] for x in r.json()["results"]), r.text
        last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
        obs = (await api.get(f"/v1/companies/{CO}/obligations",
                             params={"rule": "change-filing", "min_sequence": last})).json()["items"]
        assert [o["status"] for o in obs] == ["due_soon"], obs
        filing, due = obs[0]["id"], date.fromisoformat(obs[0]["due"])

        # the facts, and the states they brought: the filing appears due soon
        items, cursor = await feed(api, include="state")
        assert [i["what"]["fact"] for i in items if i["kind"] == "fact"] == [f["type"] for f in facts]
        assert status_changes(items, filing) == [(None, "due_soon")]
        plain, _ = await feed(api)
        assert all(i["kind"] == "fact" for i in plain) and len(plain) == len(facts)

        # the day after the due date, nothing arrives: the clock alone makes it overdue (ticked twice)
        clock.set(morning(due + timedelta(days=1)))
        await projector.tick()
        await projector.tick()
        moved, cursor2 = await feed(api, cursor, include="state")
        assert status_changes(moved, filing) == [("due_soon", "overdue")]
        change = next(i for i in moved if i["what"].get("obligation") == filing)
        assert change["company"] == CO and change["at"] == morning(due + timedelta(days=1)).isoformat().replace(
            "+00:00", "Z")
        assert change["what"]["rule"] == "change-filing" and change["what"]["due"] == due.isoformat()
        assert {i["what"]["change"] for i in moved} <= {"obligation.status_changed", "company.risk_changed",
                                                        "finding.opened", "finding.resolved"}
        assert all(i["kind"] == "state" for i in moved)

        # a rebuild: the same cursor continues, nothing is said twice
        report = await rebuild(moving)
        assert report["applied_sequence"] >= last
        clock.set(morning(due + timedelta(days=2)))
        await projector.tick()
        again, cursor3 = await feed(api, cursor2, include="state")
        assert status_changes(again, filing) == [] and cursor3 == cursor2, again
        everything, _ = await feed(api, include="state")
        assert status_changes(everything, filing) == [(None, "due_soon"), ("due_soon", "overdue")]
        assert [i["cursor"] for i in everything] == sorted(
            (i["cursor"] for i in everything), key=lambda c: tuple(int(p) for p in c.split(".")))
        assert len({i["cursor"] for i in everything}) == len(everything)

        # and nothing is lost: a fact after the rebuild continues from the same cursor
        filed = {"type": "licence.change_filed", "company": CO, "effective_date": (due + timedelta(days=2)).isoformat(),
                 "data": {"licence_no": LICENCE, "fields": ["legal_representative"],
                          "filed_on": (due + timedelta(days=2)).isoformat()}}
        r = await api.post("/v1/facts", json=filed)
        assert r.status_code == 201, r.text
        after, _ = await feed(api, cursor2, include="state", min_sequence=r.json()["ledger_sequence"])
        assert [i["what"]["fact"] for i in after if i["kind"] == "fact"] == ["licence.change_filed"]
        assert status_changes(after, filing) == [("overdue", "fulfilled_late")]

        # a cursor past the end of the feed is refused, never answered with silence
        applied = int((await api.get("/v1/changes")).headers["ledger-applied-sequence"])
        for ahead in (str(applied + 1000), f"{applied + 1}.1", f"{applied}.999999"):
            r = await api.get("/v1/changes", params={"after": ahead, "include": "state"})
            assert r.status_code == 422, (ahead, r.text)
            assert r.json()["code"] == "cursor-ahead" and r.json()["errors"][0]["field"] == "query.after"
        assert (await api.get("/v1/changes", params={"after": str(applied)})).status_code == 200  # the end itself
