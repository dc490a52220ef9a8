"""The embedded deployment's backup (docs/operations.md): stop, copy the file store, restore the copy.

A restored stream must hold every fact, pass ``verify``, and take new appends that continue
the same hash chains; and LEDGER still refuses to lose a message (deny_delete, deny_purge).
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from ledger_kernel.aggregate import Aggregate, Command
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.repository import Repository
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import LEDGER, provision
from ledger_kernel.subjects import AggregateAddress
from ledger_kernel.verify import verify_ledger
from nats.js.errors import APIError

USCC = "91310115MA1K4B8N68"


class Licence(Aggregate):
    aggregate_type = "licence"


def noted(tenant: str, n: int) -> tuple[Command, AggregateAddress]:
    return (Command(tenant, USCC, "licence.noted", date(2026, 1, 5), {"n": n}, command_id=f"c{n}"),
            AggregateAddress(tenant, USCC, "licence", f"B2-{n % 4}"))


async def test_a_copied_file_store_restores_the_whole_ledger(tmp_path, tenant, clock):
    original = EmbeddedNats(home=tmp_path / "live", port=free_port(), server_name="backup-live")
    original.start()
    try:
        nc = await connect(original.url, "backup-test")
        await provision(nc)
        repo = Repository(LedgerStore(nc), "urn:ledger:licences", clock=clock)
        for n in range(40):
            await repo.execute(*noted(tenant, n), Licence, 1)
        before = await LedgerStore(nc).read_all("ledger.>")
        await nc.close()
    finally:
        original.stop()  # SIGTERM: the server flushes its store and exits
    shutil.copytree(original.store_dir, tmp_path / "restored" / "nats")

    restored = EmbeddedNats(home=tmp_path / "restored", port=free_port(), server_name="backup-restored")
    restored.start()
    try:
        nc = await connect(restored.url, "restore-test")
        await provision(nc)  # finds the restored streams and keeps them
        store = LedgerStore(nc)
        after = await store.read_all("ledger.>")
        assert [(m.stream_seq, m.subject, m.data) for m in after] == \
               [(m.stream_seq, m.subject, m.data) for m in before]
        report = await verify_ledger(store)
        assert report.intact and report.events == 40 and report.aggregates == 4

        fresh = Repository(LedgerStore(nc), "urn:ledger:licences", clock=clock)
        again = await fresh.execute(*noted(tenant, 3), Licence, 1)  # a retry of a restored command
        assert again.duplicate and again.ledger_sequence == before[3].stream_seq
        added = await fresh.execute(*noted(tenant, 40), Licence, 1)
        assert not added.duplicate and added.sequence == 11 and added.ledger_sequence == 41
        assert (await verify_ledger(store)).intact

        js = nc.jetstream()
        with pytest.raises(APIError):
            await js.delete_msg(LEDGER, 1)
        with pytest.raises(APIError):
            await js.purge_stream(LEDGER)
        assert (await js.stream_info(LEDGER)).state.messages == 41
        await nc.close()
    finally:
        restored.stop()
