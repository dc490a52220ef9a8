"""An aggregate the repository has never seen is guessed new and appended to without a read first.

When the guess is wrong (another process, or this one before a restart, wrote it) JetStream's
expected-last-subject-sequence check says so, the repository reads the aggregate and decides again:
the ledger ends up exactly as if it had read first. A real nats-server; each test starts a second,
cold repository over an aggregate a first one wrote.
"""

from __future__ import annotations

from datetime import date

import pytest
from ledger_kernel.aggregate import Aggregate, Command, Refused
from ledger_kernel.envelope import GENESIS, compute_hash
from ledger_kernel.repository import Conflict, IdempotencyMismatch, Repository
from ledger_kernel.store import LedgerStore
from ledger_kernel.subjects import AggregateAddress

USCC = "91310115MA1K4B8N68"


class Licence(Aggregate):
    aggregate_type = "licence"
    issued: bool = False

    def check_licence_issued(self, data, command):
        if self.issued:
            raise Refused("licence_exists", "data.licence_no", "licence already issued", "许可证已存在")

    def check_licence_renewed(self, data, command):
        if not self.issued:
            raise Refused("unknown_licence", "data.licence_no", "no such licence", "无此许可证")

    def on_licence_issued(self, data, event):
        self.issued = True


def cmd(tenant: str, command_id: str, type_: str = "licence.issued", expected: int | None = None, **data) -> Command:
    return Command(tenant, USCC, type_, date(2022, 3, 15), {"licence_no": "B2-1", **data}, command_id,
                   expected_sequence=expected)


def addr(tenant: str) -> AggregateAddress:
    return AggregateAddress(tenant, USCC, "licence", "B2-1")


def repository(nc) -> Repository:
    return Repository(LedgerStore(nc), "urn:ledger:licences")


async def stored(nc, tenant: str) -> list[dict]:
    return [m.event() for m in await LedgerStore(nc).read_all(addr(tenant).subject)]


async def issued_by_another(nc, tenant: str) -> None:
    await repository(nc).execute(cmd(tenant, "issue"), addr(tenant), Licence, 1)


async def test_a_new_aggregate_is_appended_to_without_a_conflict(nc, tenant):
    repo = repository(nc)
    result = await repo.execute(cmd(tenant, "issue"), addr(tenant), Licence, 1)
    assert (result.sequence, result.duplicate, repo.conflicts) == (1, False, 0)
    assert [e["id"] for e in await stored(nc, tenant)] == [result.event_id]


async def test_a_wrong_guess_reads_the_aggregate_and_continues_its_chain(nc, tenant):
    await issued_by_another(nc, tenant)
    cold = repository(nc)
    result = await cold.execute(cmd(tenant, "renew", "licence.renewed"), addr(tenant), Licence, 1)
    assert result.sequence == 2 and cold.conflicts == 0  # a wrong guess is no race
    events = await stored(nc, tenant)
    assert [e["sequence"] for e in events] == [1, 2]
    assert events[0]["prevhash"] == GENESIS and events[1]["prevhash"] == events[0]["hash"]
    assert all(compute_hash(e) == e["hash"] for e in events)


async def test_a_command_the_real_history_refuses_is_refused_and_appends_nothing(nc, tenant):
    await issued_by_another(nc, tenant)
    with pytest.raises(Refused) as info:
        await repository(nc).execute(cmd(tenant, "issue-again"), addr(tenant), Licence, 1)
    assert info.value.code == "licence_exists"
    assert len(await stored(nc, tenant)) == 1


async def test_a_command_the_empty_guess_refuses_is_judged_on_the_real_history(nc, tenant):
    await issued_by_another(nc, tenant)
    result = await repository(nc).execute(cmd(tenant, "renew", "licence.renewed"), addr(tenant), Licence, 1)
    assert result.sequence == 2


async def test_a_retry_from_a_cold_repository_answers_the_recorded_event(nc, tenant):
    await issued_by_another(nc, tenant)
    again = await repository(nc).execute(cmd(tenant, "issue"), addr(tenant), Licence, 1)
    assert again.duplicate and again.sequence == 1
    with pytest.raises(IdempotencyMismatch):
        await repository(nc).execute(cmd(tenant, "issue", "licence.renewed"), addr(tenant), Licence, 1)
    assert len(await stored(nc, tenant)) == 1


async def test_an_expected_sequence_is_checked_against_the_real_history(nc, tenant):
    await issued_by_another(nc, tenant)
    with pytest.raises(Conflict) as info:
        await repository(nc).execute(cmd(tenant, "r0", "licence.renewed", expected=0), addr(tenant), Licence, 1)
    assert (info.value.expected, info.value.actual) == (0, 1)
    result = await repository(nc).execute(cmd(tenant, "r1", "licence.renewed", expected=1), addr(tenant), Licence, 1)
    assert result.sequence == 2
    assert len(await stored(nc, tenant)) == 2
