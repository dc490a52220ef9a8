"""An operator-loaded holiday schedule reaches the projector through LEDGER, in order."""

from __future__ import annotations

import json

import pytest
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_kernel.verify import verify_ledger
from ledger_projector.digest import digest
from ledger_projector.rebuild import rebuild
from ledger_projector.system_facts import load_calendar, set_rule_overrides
from ledger_projector.tables import LIVE
from ledger_rules import ScheduleError

from projector.conftest import projector_stack
from projector.ledger_facts import DirectRecorder, result
from projector.test_scheduler import CO, at, licensed, registered


@pytest.fixture
def provisioned(own_ledger):
    """This module's projectors follow a ledger of their own (see ``own_ledger``)."""
    return own_ledger


SCHEDULE_2027 = {"year": 2027, "source": "国办发明电〔2026〕test",
                 "holidays": [f"2027-10-0{d}" for d in range(1, 8)] + ["2027-01-01"],
                 "workdays": ["2027-09-26", "2027-10-09"]}


def change(day: str) -> dict:
    return {"type": "company.registration_changed", "company": CO, "effective_date": day,
            "data": {"field": "legal_representative", "old": "person-001", "new": "person-002"}}


async def test_loading_a_year_firms_up_provisional_deadlines(fresh_nats, settings_for, clock, tenant, tmp_path):
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    settings = settings_for(fresh_nats).model_copy(update={"clock": at("2027-09-02").isoformat()})
    clock.set(at("2027-09-02"))
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027), encoding="utf-8")
    try:
        async with projector_stack(settings, clock) as svc:
            for fact in (registered(), licensed(), change("2027-09-01")):
                await recorder.record(tenant, fact)
            await svc.catch_up()
            before = (await result(nc, "obligations", tenant, company=CO, rule="change-filing"))["items"]
            assert [(o["due"], o["provisional"]) for o in before] == [("2027-10-04", True)]

            loaded = await load_calendar(settings, path)
            assert (loaded.year, loaded.holidays, loaded.workdays, loaded.duplicate) == (2027, 8, 2, False)
            again = await load_calendar(settings, path)
            assert again.duplicate and again.ledger_sequence == loaded.ledger_sequence
            await svc.catch_up()
            after = (await result(nc, "obligations", tenant, company=CO, rule="change-filing"))["items"]
            assert [(o["due"], o["provisional"]) for o in after] == [("2027-10-08", False)]

            bad = tmp_path / "bad.json"
            bad.write_text(json.dumps({"year": 2027, "holidays": ["2027-02-30"], "workdays": ["2027-10-11"]}))
            with pytest.raises(ScheduleError):
                await load_calendar(settings, bad)
            with pytest.raises(ValueError):
                await set_rule_overrides(settings, tenant, {"rules": {"no-such-rule": {}}})
            live = digest(svc.engine, LIVE)
        assert (await verify_ledger(store)).intact
        clean = await rebuild(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'clean.db'}"}))
        assert clean.digest == live
    finally:
        await nc.close()


async def test_tenant_overrides_change_the_reminder_ladder(provisioned, nc, settings_for, clock, tenant, recorder):
    from projector.test_scheduler import about, alerts_of, rep_changed

    settings = settings_for(provisioned)
    clock.set(at("2026-09-26"))
    async with projector_stack(settings, clock) as svc:
        await set_rule_overrides(settings, tenant, {"rules": {"change-filing": {"reminders": [20, 0]}}})
        for fact in (registered(), licensed(), rep_changed()):
            await recorder.record(tenant, fact)
        await svc.catch_up()
        assert about(await alerts_of(nc, tenant), "change-filing") == []  # d-30 is not on this tenant's ladder
        clock.set(at("2026-10-06"))
        await svc.tick()
        clock.set(at("2026-10-26"))
        await svc.tick()
        steps = [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")]
        assert steps == ["d-20", "d0"]
